"""Set up a worker runtime: a venv with the pinned worker requirements, with progress (no bpy).

The preferences' "Set up runtime" button runs this on a thread and polls `snapshot()`. Pins come
from data/worker_requirements.txt (the project's requirements.txt without Blender and the test
tools; a test keeps the two in step). When the extension was built with bundled wheels
(`python build.py extension --wheels`), pip installs from those alone, with no network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from .runtime_paths import venv_python

ADDON_DIR = Path(__file__).resolve().parent
REQUIREMENTS_FILE = ADDON_DIR / "data" / "worker_requirements.txt"
WHEELS_DIR = ADDON_DIR / "wheels"
# Share of the progress bar for creating the venv; pip's collecting and installing share the rest.
_VENV_SHARE, _COLLECT_SHARE = 0.1, 0.6
_COLLECTING = re.compile(r"^\s*(Collecting|Processing|Requirement already satisfied)\b")


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            lines.append(requirement)
    return lines


@dataclass(frozen=True)
class SetupProgress:
    fraction: float
    message: str
    done: bool
    error: str | None
    python: Path | None


class RuntimeSetup:
    """Create `venv_dir` with `base_python` and pip-install the requirements into it."""

    def __init__(self, base_python: str | os.PathLike, venv_dir: str | os.PathLike,
                 requirements: str | os.PathLike = REQUIREMENTS_FILE,
                 wheels_dir: str | os.PathLike | None = None) -> None:
        self.base_python = Path(base_python)
        self.venv_dir = Path(venv_dir)
        self.requirements = Path(requirements)
        self.wheels_dir = None if wheels_dir is None else Path(wheels_dir)
        self._lock = threading.Lock()
        self._state = SetupProgress(0.0, "Waiting", False, None, None)
        self._log: deque[str] = deque(maxlen=12)
        self._process: subprocess.Popen | None = None
        self._cancelled = False
        self._thread: threading.Thread | None = None

    @property
    def offline(self) -> bool:
        """True when every package comes from bundled wheels (no network needed)."""
        return self.wheels_dir is not None and any(self.wheels_dir.glob("*.whl"))

    def snapshot(self) -> SetupProgress:
        with self._lock:
            return self._state

    def _set(self, fraction: float, message: str, done: bool = False,
             error: str | None = None, python: Path | None = None) -> None:
        with self._lock:
            self._state = SetupProgress(fraction, message, done, error, python)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="body-language-setup",
                                        daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> SetupProgress:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot()

    def cancel(self) -> None:
        self._cancelled = True
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()

    def _run(self) -> None:
        try:
            wanted = requirement_lines(self.requirements)
        except OSError as exc:
            self._set(0.0, "Failed", True, f"cannot read {self.requirements}: {exc}")
            return
        self._set(0.0, f"Creating {self.venv_dir}")
        if not self._command([str(self.base_python), "-m", "venv", str(self.venv_dir)], None,
                             "creating the venv"):
            return
        python = venv_python(self.venv_dir)
        if python is None:
            self._fail(f"no Python in the new venv {self.venv_dir}")
            return
        command = [str(python), "-m", "pip", "install", "--disable-pip-version-check",
                   "--progress-bar", "off", "-r", str(self.requirements)]
        if self.offline:
            command += ["--no-index", "--find-links", str(self.wheels_dir)]
        self._set(_VENV_SHARE, f"Installing {len(wanted)} packages")
        if not self._command(command, len(wanted), "pip install"):
            return
        self._set(1.0, f"Runtime ready: {python}", True, None, python)

    def _command(self, command: list[str], packages: int | None, step: str) -> bool:
        """Run one step, turning pip's lines into progress; False (state set) on failure."""
        if self._cancelled:
            self._fail("cancelled")
            return False
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if os.name == "nt" else 0
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONHOME", "PYTHONPATH")}
        try:
            self._process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                encoding="utf-8", errors="replace", env=env, creationflags=flags)
        except OSError as exc:
            self._fail(f"cannot run {command[0]}: {exc}")
            return False
        collected = 0
        for line in self._process.stdout:
            line = line.rstrip()
            if not line:
                continue
            self._log.append(line)
            if packages is None:
                continue
            fraction = self.snapshot().fraction
            if _COLLECTING.match(line):
                collected += 1
                share = min(1.0, collected / max(1, packages))
                fraction = _VENV_SHARE + _COLLECT_SHARE * share
            elif line.startswith("Installing collected packages"):
                fraction = _VENV_SHARE + _COLLECT_SHARE
            self._set(fraction, line[:120])
        code = self._process.wait()
        if self._cancelled:
            self._fail("cancelled")
            return False
        if code != 0:
            self._fail(f"{step} failed (exit {code}): " + " | ".join(self._log))
            return False
        return True

    def _fail(self, message: str) -> None:
        self._set(self.snapshot().fraction, "Failed", True, message)


def blender_python() -> Path:
    """The Python that runs Blender's own scripts (a base for the venv)."""
    return Path(sys.executable)
