"""Where the worker runtime lives: its Python interpreter, the model core and the checkpoint.

Plain Python (no bpy) so the decisions can be unit-tested outside Blender. The add-on never
runs torch itself: it starts a separate Python (one that has torch) with the folder that
holds `core/` on its path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PYTHON_ENV_VAR = "BODY_LANGUAGE_PYTHON"

# A venv puts its interpreter in bin/ on Linux and macOS, Scripts/ on Windows.
VENV_PYTHON_CANDIDATES = (Path("bin") / "python", Path("Scripts") / "python.exe")

# Files that mark a source checkout of this project (an installed extension has core/, no build.py).
CHECKOUT_MARKERS = (Path("build.py"), Path("core") / "__init__.py")

DEFAULT_CHECKPOINT = Path("core") / "checkpoints" / "default"

SETUP_HINT = (
    "To create a worker runtime, run `python build.py test` in a Body Language checkout "
    "(it makes .venv with torch), then set Worker Python to that .venv's python "
    f"or set the environment variable {PYTHON_ENV_VAR}."
)


@dataclass(frozen=True)
class RuntimeStatus:
    """The worker runtime as found, with one line per problem (empty when ready)."""

    python: Path | None
    python_source: str
    core_root: Path | None
    checkpoint: Path | None
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


def is_executable_file(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def venv_python(venv_dir: Path) -> Path | None:
    """The interpreter of the venv at `venv_dir`, or None when it has none."""
    for candidate in VENV_PYTHON_CANDIDATES:
        python = venv_dir / candidate
        if is_executable_file(python):
            return python
    return None


def _self_and_parents(start: Path) -> list[Path]:
    # Resolve so that an add-on folder linked into Blender's extensions leads back to its checkout.
    resolved = start.resolve()
    return [resolved, *resolved.parents]


def find_checkout_python(addon_dir: Path) -> Path | None:
    """The `.venv` interpreter of the nearest project checkout at or above `addon_dir`."""
    for folder in _self_and_parents(addon_dir):
        if all((folder / marker).is_file() for marker in CHECKOUT_MARKERS):
            python = venv_python(folder / ".venv")
            if python is not None:
                return python
    return None


def find_core_root(addon_dir: Path) -> Path | None:
    """The nearest folder at or above `addon_dir` that holds the `core` package.

    An installed extension carries `core/` inside its own folder; a checkout has it beside
    `blender_addon/`. The worker gets this folder on its import path.
    """
    for folder in _self_and_parents(addon_dir):
        if (folder / "core" / "__init__.py").is_file():
            return folder
    return None


def _explicit_python(path_text: str, where: str, problems: list[str]) -> Path | None:
    path = Path(path_text).expanduser()
    if is_executable_file(path):
        return path
    what = "does not exist" if not path.exists() else "is not an executable file"
    problems.append(f"The worker Python from {where}, {path}, {what}.")
    return None


def resolve_runtime(
    configured_python: str,
    configured_checkpoint: str,
    addon_dir: Path,
    environ: Mapping[str, str],
) -> RuntimeStatus:
    """Find the worker runtime the way the add-on will use it.

    An explicit choice wins and is never silently replaced: the path from the preferences,
    then the environment variable; only when neither is set is a checkout's `.venv` searched for.
    """
    problems: list[str] = []
    python: Path | None
    if configured_python.strip():
        source = "preferences"
        python = _explicit_python(configured_python.strip(), "the preferences", problems)
    elif environ.get(PYTHON_ENV_VAR, "").strip():
        source = PYTHON_ENV_VAR
        python = _explicit_python(environ[PYTHON_ENV_VAR].strip(), PYTHON_ENV_VAR, problems)
    else:
        source = "checkout .venv"
        python = find_checkout_python(addon_dir)
        if python is None:
            problems.append("No worker Python found: no preference, no environment variable, "
                            "no .venv in a checkout above the add-on.")

    core_root = find_core_root(addon_dir)
    if core_root is None:
        problems.append(f"No model core (core/) at or above {addon_dir}: reinstall the add-on.")

    checkpoint: Path | None = None
    if configured_checkpoint.strip():
        checkpoint = Path(configured_checkpoint.strip()).expanduser()
        if not checkpoint.is_dir():
            problems.append(f"The checkpoint folder {checkpoint} does not exist.")
            checkpoint = None
    elif core_root is not None and (core_root / DEFAULT_CHECKPOINT).is_dir():
        checkpoint = core_root / DEFAULT_CHECKPOINT
    else:
        problems.append("This build ships no default checkpoint: choose a checkpoint folder.")

    return RuntimeStatus(python, source if python else "", core_root, checkpoint, problems)
