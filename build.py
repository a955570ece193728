"""Task runner for Body Language (standard library only).

    python build.py demo [--model DIR]      .venv, then a two-speaker demo: out/demo.blend + preview
    python build.py test [pytest args...]   venvs + pinned requirements, ruff, pytest
    python build.py extension [--wheels]    dist/body_language-<version>.zip for Blender
    python build.py lint                    ruff
    python build.py shared                  blender_addon/shared refreshed from core/shared
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REQUIRED_PYTHON = (3, 11)
VENV_DIR_NAME = ".venv"
# A second venv with Blender 4.2 LTS as a module: the add-on's bpy tests also run against it.
BPY42_VENV_DIR_NAME = ".venv-bpy42"
BPY42_REQUIREMENTS = "requirements-bpy42.txt"
STAMP_NAME = "body-language-requirements.sha256"
MANIFEST_NAME = "blender_manifest.toml"

# The worker runtime needs neither Blender itself nor the test and lint tools.
NOT_FOR_WORKER = frozenset({"bpy", "pytest", "hypothesis", "ruff"})

# 1980-01-01 is the earliest time a zip entry can hold; a fixed time keeps builds byte-identical.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o644 << 16
ZIP_UNIX = 3
# Already-compressed files gain nothing from deflate and cost time.
STORED_SUFFIXES = frozenset({".whl", ".zip", ".safetensors"})


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


# ---------------------------------------------------------------------------- python + venv


def python_version_problem(version_info: Sequence[int]) -> str | None:
    """Why this interpreter cannot run the project, or None when it can."""
    major_minor = tuple(version_info[:2])
    if major_minor == REQUIRED_PYTHON:
        return None
    found = ".".join(str(part) for part in version_info[:3])
    wanted = ".".join(str(part) for part in REQUIRED_PYTHON)
    return (
        f"Python {wanted} is required (the bpy wheels and Blender's own Python are {wanted}); "
        f"this is Python {found} at {sys.executable}. Run build.py with a Python {wanted} "
        f"interpreter, e.g. `python{wanted} build.py test`."
    )


def venv_python(venv_dir: Path) -> Path:
    if os.name == "nt":
        return venv_dir / "Scripts" / "python.exe"
    return venv_dir / "bin" / "python"


def requirements_stamp(requirements_text: bytes, python_version: str) -> str:
    """What an install satisfied: the exact requirements and the interpreter version."""
    digest = hashlib.sha256(requirements_text)
    digest.update(b"\0python " + python_version.encode())
    return digest.hexdigest()


def install_needed(venv_dir: Path, requirements: Path, python_version: str) -> bool:
    """True unless the venv exists and its stamp matches these requirements and Python."""
    if not venv_python(venv_dir).exists():
        return True
    stamp = venv_dir / STAMP_NAME
    if not stamp.is_file():
        return True
    expected = requirements_stamp(requirements.read_bytes(), python_version)
    return stamp.read_text().strip() != expected


def venv_version(venv_dir: Path) -> str | None:
    """The Python version a venv was made with, from its pyvenv.cfg."""
    config = venv_dir / "pyvenv.cfg"
    if not config.is_file():
        return None
    for line in config.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() in {"version", "version_info"}:
            return value.strip()
    return None


def ensure_venv(venv_dir: Path, requirements: Path) -> Path:
    """Create or update the venv so it holds the pinned requirements; return its python."""
    current = platform.python_version()
    made_with = venv_version(venv_dir)
    if made_with is not None and not made_with.startswith(f"{current.rsplit('.', 1)[0]}."):
        log(f"{venv_dir} was made with Python {made_with}; recreating it with {current}")
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    elif not venv_python(venv_dir).exists():
        log(f"creating {venv_dir}")
        venv.EnvBuilder(with_pip=True).create(venv_dir)

    python = venv_python(venv_dir)
    if install_needed(venv_dir, requirements, current):
        log(f"installing {requirements.name} into {venv_dir} (a fresh venv downloads GBs)")
        run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
             "-r", str(requirements)])
        stamp = requirements_stamp(requirements.read_bytes(), current)
        (venv_dir / STAMP_NAME).write_text(stamp + "\n")
    log("venv ok")
    return python


# ---------------------------------------------------------------------------- system packages


def ensure_espeak() -> None:
    """Tests of the speech corpus need espeak-ng; install it where we may, else say what skips."""
    if shutil.which("espeak-ng"):
        log("espeak-ng ok")
        return
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if is_root and Path("/etc/debian_version").is_file() and shutil.which("apt-get"):
        log("installing espeak-ng (apt-get)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "--no-install-recommends", "espeak-ng"]
        # The package lists may be stale or absent; refresh them only when the install needs it.
        if subprocess.run(install, env=env).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, check=False)
            subprocess.run(install, env=env, check=False)
        if shutil.which("espeak-ng"):
            log("espeak-ng ok")
            return
    log("espeak-ng not found: tests that need it will skip (install the espeak-ng package)")


# ---------------------------------------------------------------------------- lint + test


def run(command: Sequence[str], cwd: Path = ROOT) -> None:
    completed = subprocess.run(list(command), cwd=cwd)
    if completed.returncode != 0:
        raise SystemExit(f"[build] failed ({completed.returncode}): {' '.join(command)}")


def ruff_check(python: Path) -> bool:
    log("ruff check")
    return subprocess.run([str(python), "-m", "ruff", "check", str(ROOT)], cwd=ROOT).returncode == 0


def pytest_command(python: Path, pytest_args: Sequence[str], root: Path = ROOT) -> list[str]:
    """pytest over tests/, unless the forwarded arguments name test files or folders themselves."""
    names_paths = any(
        not arg.startswith("-") and (root / arg.split("::", 1)[0]).exists() for arg in pytest_args
    )
    targets = [] if names_paths else ["tests"]
    return [str(python), "-m", "pytest", *targets, *pytest_args]


def pytest_run(python: Path, pytest_args: Sequence[str]) -> bool:
    log("pytest")
    return subprocess.run(pytest_command(python, pytest_args), cwd=ROOT).returncode == 0


def require_python_311() -> None:
    problem = python_version_problem(sys.version_info)
    if problem is not None:
        raise SystemExit(f"[build] {problem}")


def command_test(pytest_args: Sequence[str]) -> int:
    python = ensure_venv(ROOT / VENV_DIR_NAME, ROOT / "requirements.txt")
    ensure_venv(ROOT / BPY42_VENV_DIR_NAME, ROOT / BPY42_REQUIREMENTS)
    ensure_espeak()
    lint_ok = ruff_check(python)
    tests_ok = pytest_run(python, pytest_args)
    if not lint_ok:
        log("ruff check failed")
    if not tests_ok:
        log("tests failed")
    return 0 if lint_ok and tests_ok else 1


def command_lint() -> int:
    python = ensure_venv(ROOT / VENV_DIR_NAME, ROOT / "requirements.txt")
    return 0 if ruff_check(python) else 1


# ---------------------------------------------------------------------------- shared modules

# What core and the add-on both need lives in core/shared; the add-on imports a generated copy
# (git ignores it), so there is one source to edit. See core/shared/__init__.py.
SHARED_SOURCE = Path("core") / "shared"
SHARED_COPY = Path("blender_addon") / "shared"


def shared_files(root: Path) -> list[Path]:
    """The files of core/shared, relative to it, sorted (none when the folder is absent)."""
    source = root / SHARED_SOURCE
    if not source.is_dir():
        return []
    return sorted(path.relative_to(source) for path in _shipped_files(source))


def _write_if_changed(target: Path, data: bytes) -> bool:
    """Write `data` to `target` unless it already holds it; True when it wrote."""
    if target.is_file() and target.read_bytes() == data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    # Replacing whole files keeps a test run that imports the copy meanwhile from reading half
    # of one.
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(target)
    return True


def sync_shared(root: Path = ROOT) -> list[Path]:
    """Make blender_addon/shared/ hold exactly the files of core/shared/; the paths it changed.

    Files the source no longer has are removed, so a renamed module cannot linger in the copy.
    """
    source, copy = root / SHARED_SOURCE, root / SHARED_COPY
    wanted = shared_files(root)
    changed = [copy / relative for relative in wanted
               if _write_if_changed(copy / relative, (source / relative).read_bytes())]
    if copy.is_dir():
        for path in _shipped_files(copy):
            if path.relative_to(copy) not in wanted:
                path.unlink()
                changed.append(path)
    return changed


def command_shared() -> int:
    changed = sync_shared(ROOT)
    log(f"{SHARED_COPY.as_posix()}: {len(changed)} file(s) refreshed from "
        f"{SHARED_SOURCE.as_posix()}")
    return 0


# ---------------------------------------------------------------------------- extension


def read_manifest(path: Path) -> dict:
    # Imported here so that an older Python reaches the version message instead of failing here.
    import tomllib

    with path.open("rb") as file:
        return tomllib.load(file)


def _shipped_files(folder: Path) -> Iterable[Path]:
    """Every file under `folder` except caches, compiled bytecode and hidden files."""
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if not path.is_file() or path.suffix == ".pyc":
            continue
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts):
            continue
        yield path


def extension_entries(root: Path) -> list[tuple[str, Path]]:
    """(name in the zip, source file) for the extension, sorted by name.

    The add-on's modules sit at the zip root beside the manifest; the model core goes in
    as `core/` so the worker can import it from the installed extension's folder. The add-on's
    `shared/` comes from core/shared itself, never from the checkout's copy, which may be stale.
    """
    entries = {MANIFEST_NAME: root / MANIFEST_NAME}
    addon_dir = root / "blender_addon"
    for path in _shipped_files(addon_dir):
        relative = path.relative_to(addon_dir)
        if relative.parts[0] != SHARED_COPY.name:
            entries[relative.as_posix()] = path
    for relative in shared_files(root):
        entries[(Path(SHARED_COPY.name) / relative).as_posix()] = root / SHARED_SOURCE / relative
    core_dir = root / "core"
    for path in _shipped_files(core_dir):
        entries[(Path("core") / path.relative_to(core_dir)).as_posix()] = path
    if "__init__.py" not in entries:
        raise SystemExit(f"[build] {addon_dir / '__init__.py'} is missing")
    return sorted(entries.items())


def write_deterministic_zip(entries: Sequence[tuple[str, Path | bytes]], target: Path) -> None:
    """Write a zip whose bytes depend only on the entries' names and contents."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, source in sorted(entries, key=lambda entry: entry[0]):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.external_attr = ZIP_FILE_MODE
            info.create_system = ZIP_UNIX
            stored = Path(name).suffix in STORED_SUFFIXES
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            if isinstance(source, bytes):
                archive.writestr(info, source)
                continue
            info.file_size = source.stat().st_size
            with source.open("rb") as reader, archive.open(info, "w") as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
    partial.replace(target)


def blender_platform() -> str:
    """This machine in Blender's manifest spelling (linux-x64, windows-x64, macos-arm64...)."""
    system = {"darwin": "macos"}.get(platform.system().lower(), platform.system().lower())
    machine = platform.machine().lower()
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(machine, machine)
    return f"{system}-{machine}"


def worker_requirements(requirements_text: str) -> list[str]:
    """The pinned requirement lines the worker process needs (no bpy, no test tools)."""
    lines = []
    for line in requirements_text.splitlines():
        requirement = line.split("#", 1)[0].strip()
        if not requirement:
            continue
        name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
        if name.lower().replace("_", "-") not in NOT_FOR_WORKER:
            lines.append(requirement)
    return lines


def manifest_with_wheels(manifest_text: str, wheel_names: Sequence[str], platform_name: str) -> str:
    """The manifest text plus top-level `wheels` and `platforms` keys.

    tomllib cannot write, so the keys are inserted as text before the first table header
    (after it they would belong to that table).
    """
    wheels = "".join(f'  "./wheels/{name}",\n' for name in sorted(wheel_names))
    addition = f'platforms = ["{platform_name}"]\n\nwheels = [\n{wheels}]\n\n'
    lines = manifest_text.splitlines(keepends=True)
    first_table = next(
        (index for index, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines)
    )
    if first_table == len(lines) and lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(lines[:first_table]) + addition + "".join(lines[first_table:])


def download_worker_wheels(requirements: Path, destination: Path) -> list[Path]:
    """Binary wheels of the worker requirements and their dependencies for this platform."""
    wanted = worker_requirements(requirements.read_text())
    listing = destination / "worker-requirements.txt"
    listing.write_text("\n".join(wanted) + "\n")
    wheel_dir = destination / "wheels"
    major, minor = REQUIRED_PYTHON
    log(f"downloading wheels for {blender_platform()} (Python {major}.{minor})")
    run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
         "--only-binary=:all:", "--python-version", f"{major}.{minor}",
         "--dest", str(wheel_dir), "-r", str(listing)])
    wheels = sorted(wheel_dir.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"[build] pip downloaded no wheels into {wheel_dir}")
    return wheels


def build_extension(root: Path, out_dir: Path, with_wheels: bool = False) -> Path:
    """Build the Blender extension zip into `out_dir`; return its path."""
    manifest_path = root / MANIFEST_NAME
    manifest = read_manifest(manifest_path)
    entries: list[tuple[str, Path | bytes]] = list(extension_entries(root))
    name = f"{manifest['id']}-{manifest['version']}"
    if not with_wheels:
        target = out_dir / f"{name}.zip"
        write_deterministic_zip(entries, target)
        return target

    with tempfile.TemporaryDirectory(prefix="body-language-wheels-") as scratch:
        wheels = download_worker_wheels(root / "requirements.txt", Path(scratch))
        platform_name = blender_platform()
        manifest_text = manifest_with_wheels(
            manifest_path.read_text(), [wheel.name for wheel in wheels], platform_name
        )
        entries = [entry for entry in entries if entry[0] != MANIFEST_NAME]
        entries.append((MANIFEST_NAME, manifest_text.encode()))
        entries.extend((f"wheels/{wheel.name}", wheel) for wheel in wheels)
        # Blender names per-platform builds <id>-<version>-<platform>.zip.
        target = out_dir / f"{name}-{platform_name.replace('-', '_')}.zip"
        write_deterministic_zip(entries, target)
    return target


def command_extension(with_wheels: bool, out_dir: Path) -> int:
    target = build_extension(ROOT, out_dir, with_wheels)
    log(f"extension: {target} ({target.stat().st_size / 1e6:.1f} MB)")
    return 0


# ---------------------------------------------------------------------------- demo

DEMO_DIR = ROOT / "demo"
DEMO_AUDIO = DEMO_DIR / "sample_dialogue.wav"
DEMO_TRANSCRIPT = DEMO_DIR / "sample_dialogue.txt"
DEMO_REPLY_AUDIO = DEMO_DIR / "sample_reply.wav"
DEMO_REPLY_TRANSCRIPT = DEMO_DIR / "sample_reply.txt"
DEMO_SCRIPT = DEMO_DIR / "run_demo.py"
DEMO_PROMPT = "wave hello, then talk with your hands"
DEMO_REPLY_PROMPT = "nod, then talk with your hands"
# The demo's timed prompt (a `bl:` marker pair) over the sample's second sentence, in seconds
# into its wav (Anna's last line, after Ben's: demo/two_speakers.py); the shipped model follows
# it (its right wrist goes above the head, seeds 0-2).
DEMO_TIMED_ACTION = ("raise your right hand", 3.4, 6.2)
# Only the masked model takes timed prompts; a model of the other kind gets no markers.
TIMED_PROMPT_LM_KIND = "masked_lm"
DEFAULT_MODEL_DIR = ROOT / "core" / "checkpoints" / "default"
MODEL_MANIFEST = "model.json"
DEMO_RESOLUTION = (480, 360)
DEMO_SAMPLES = 16


def demo_model_problem(model_dir: Path, is_default: bool) -> str | None:
    """One line saying why `model_dir` cannot animate the demo, or None when it can."""
    if (model_dir / MODEL_MANIFEST).is_file():
        return None
    if is_default:
        return (f"the shipped model is missing ({model_dir / MODEL_MANIFEST}); restore it with "
                "`git checkout -- core/checkpoints/default`, or train one (README, 'Training "
                "your own model') and run `python build.py demo --model data/lm/model`")
    return (f"{model_dir} is not a model folder (it has no {MODEL_MANIFEST}); pass a folder "
            "written by core.api.save_model_bundle")


def positive_int(text: str) -> int:
    """A whole number of at least 1 (an argparse type)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def parse_resolution(text: str) -> tuple[int, int]:
    """'WIDTHxHEIGHT' as two positive whole numbers (an argparse type)."""
    match = re.fullmatch(r"(\d+)x(\d+)", text.strip().lower())
    if match is None or min(int(match[1]), int(match[2])) < 16:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT of at least 16x16, got {text!r}")
    return int(match[1]), int(match[2])


def takes_timed_prompts(model_dir: Path) -> bool:
    """Whether the model folder's language model is the kind that takes timed prompts."""
    manifest = json.loads((model_dir / MODEL_MANIFEST).read_text())
    return manifest.get("pieces", {}).get("lm", {}).get("kind") == TIMED_PROMPT_LM_KIND


def demo_command(python: Path, extension: Path, model_dir: Path, out_dir: Path,
                 resolution: tuple[int, int], samples: int, prompt: str) -> list[str]:
    """The Blender-side demo script run by the venv's Python (bpy is a module there)."""
    text, start, end = DEMO_TIMED_ACTION
    timed = ["--timed-action", text, str(start), str(end)] \
        if takes_timed_prompts(model_dir) else []
    return [str(python), str(DEMO_SCRIPT),
            "--extension", str(extension), "--worker-python", str(python),
            "--model", str(model_dir.resolve()),
            "--speaker", "Anna", str(DEMO_AUDIO), str(DEMO_TRANSCRIPT), prompt,
            "--speaker", "Ben", str(DEMO_REPLY_AUDIO), str(DEMO_REPLY_TRANSCRIPT),
            DEMO_REPLY_PROMPT,
            "--out", str(out_dir.resolve()), "--resolution", "x".join(map(str, resolution)),
            "--samples", str(samples), *timed]


def run_demo(python: Path, model_dir: Path, out_dir: Path,
             resolution: tuple[int, int] = DEMO_RESOLUTION, samples: int = DEMO_SAMPLES,
             prompt: str = DEMO_PROMPT) -> tuple[Path, Path] | None:
    """Build the extension, run the demo in headless Blender; (blend, preview) or None."""
    with tempfile.TemporaryDirectory(prefix="body-language-demo-") as scratch:
        log("building the extension")
        extension = build_extension(ROOT, Path(scratch) / "dist")
        # Installing the extension writes to Blender's user folder: a throwaway one, so the
        # user's own Blender configuration is never touched.
        env = {**os.environ, "BLENDER_USER_RESOURCES": str(Path(scratch) / "blender-user")}
        # The add-on must come from the installed extension, not from an inherited path.
        env.pop("PYTHONPATH", None)
        command = demo_command(python, extension, model_dir, out_dir, resolution, samples,
                               prompt)
        if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
            return None
    outputs = (out_dir / "demo.blend", out_dir / "demo_preview.png")
    return outputs if all(path.is_file() for path in outputs) else None


def command_demo(model_dir: Path | None, out_dir: Path, resolution: tuple[int, int],
                 samples: int, prompt: str) -> int:
    started = time.monotonic()
    # Checked before the venv: a missing model should not cost an install first.
    chosen = model_dir or DEFAULT_MODEL_DIR
    problem = demo_model_problem(chosen, is_default=model_dir is None)
    if problem is not None:
        print(f"[build] demo: {problem}", file=sys.stderr)
        return 2
    for path in (DEMO_AUDIO, DEMO_TRANSCRIPT, DEMO_REPLY_AUDIO, DEMO_REPLY_TRANSCRIPT):
        if not path.is_file():
            print(f"[build] demo: {path} is missing; make it with "
                  f"`.venv/bin/python {DEMO_DIR.name}/make_sample_dialogue.py`", file=sys.stderr)
            return 2
    python = ensure_venv(ROOT / VENV_DIR_NAME, ROOT / "requirements.txt")
    outputs = run_demo(python, chosen, out_dir, resolution, samples, prompt)
    if outputs is None:
        print("[build] demo failed (the reason is above)", file=sys.stderr)
        return 1
    blend, preview = outputs
    log(f"demo done in {time.monotonic() - started:.0f} s")
    log(f"scene:   {blend}")
    log(f"preview: {preview}")
    return 0


# ---------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("test", help="set up .venv, run ruff and pytest (extra args go to pytest)")
    extension = commands.add_parser("extension", help="build the Blender extension zip")
    extension.add_argument("--wheels", action="store_true",
                           help="bundle this platform's wheels for the worker runtime")
    extension.add_argument("--out-dir", type=Path, default=ROOT / "dist",
                           help="where the zip goes (default: dist/)")
    commands.add_parser("lint", help="ruff check")
    commands.add_parser("shared", help="refresh blender_addon/shared from core/shared")
    demo = commands.add_parser(
        "demo", help="animate the sample conversation: out/demo.blend and out/demo_preview.png")
    demo.add_argument("--model", type=Path, default=None,
                      help="model folder (default: the shipped core/checkpoints/default)")
    demo.add_argument("--out", type=Path, default=ROOT / "out",
                      help="where demo.blend and demo_preview.png go (default: out/)")
    demo.add_argument("--resolution", type=parse_resolution, default=DEMO_RESOLUTION,
                      help="size of one preview frame, WIDTHxHEIGHT (default: 480x360)")
    demo.add_argument("--samples", type=positive_int, default=DEMO_SAMPLES,
                      help="Cycles samples per preview frame (default: 16)")
    demo.add_argument("--prompt", default=DEMO_PROMPT,
                      help=f"what Anna, the first speaker, does (default: {DEMO_PROMPT!r})")
    args, extra = parser.parse_known_args(list(argv))
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args, extra


def main(argv: Sequence[str]) -> int:
    args, extra = parse_args(argv)
    require_python_311()
    if args.command in ("test", "demo", "extension", "shared"):
        # A checkout's add-on (tested, or linked into Blender) imports the copy: keep it current.
        command_shared()
    if args.command == "shared":
        return 0
    if args.command == "test":
        return command_test(extra)
    if args.command == "extension":
        return command_extension(args.wheels, args.out_dir)
    if args.command == "demo":
        return command_demo(args.model, args.out, args.resolution, args.samples, args.prompt)
    return command_lint()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
