"""Run Python scripts in real headless Blender (bpy from PyPI) for the add-on's tests.

The scripts are files in tests/blender_scripts/ (linted like all code); `run_in_blender` names
one by its stem. Each run is a fresh subprocess of a bpy venv's interpreter with its own Blender
user folder (BLENDER_USER_RESOURCES in a temporary directory), so nothing touches this process's
bpy or the user's Blender configuration, and one Blender version's state never leaks into
another's.

A script gets what the test passes from the module `blender_snippet`, which the harness makes
inside Blender:
    inputs            dict of the numpy arrays passed as `inputs=`
    params            the JSON-able values passed as `params=`
    emit(**values)    JSON-able results, returned as `run.values`
    save(**arrays)    numpy arrays, returned as `run.arrays`
    ROOT              the repository root (on sys.path, so `import blender_addon...` works)
tests/blender_scripts/ is on sys.path too, so scripts import the helpers they share.

After the script the harness checks that neither torch nor the model core was imported: the
add-on must work inside Blender without them.

Usage:
    run = run_in_blender("export_round_trip", tmp_path, inputs={"poses": poses})
    run = run_in_blender("inspect_blend", tmp_path, params={"blend": str(blend)},
                         python=bpy_python("4.2"))
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BPY42_VENV = ROOT / ".venv-bpy42"
# The Blender versions the add-on tests run on: 5.0 always, 4.2 when its venv is set up.
BPY_VERSIONS = [
    pytest.param("5.0", id="bpy5.0"),
    pytest.param("4.2", id="bpy4.2", marks=pytest.mark.skipif(
        not (BPY42_VENV / "bin" / "python").exists(), reason=".venv-bpy42 not set up")),
]
FORBIDDEN_MODULES = ("torch", "core")

SCRIPTS = Path(__file__).resolve().parent / "blender_scripts"

_WRAPPER = r'''
import json, runpy, sys, traceback, types
from pathlib import Path
sys.path[:0] = [{root!r}, {scripts!r}]
import bpy  # first: it puts Blender's own script modules on the path
import numpy as np

_out = Path({out!r})
_values, _arrays = {{}}, {{}}


def emit(**values):
    _values.update(values)


def save(**arrays):
    _arrays.update({{name: np.asarray(value) for name, value in arrays.items()}})


snippet = types.ModuleType("blender_snippet")
snippet.ROOT, snippet.emit, snippet.save = {root!r}, emit, save
snippet.inputs = dict(np.load({inputs!r})) if {has_inputs!r} else {{}}
snippet.params = json.loads(Path({params!r}).read_text())
sys.modules["blender_snippet"] = snippet
try:
    runpy.run_path({script!r}, run_name="__main__")
except BaseException:
    (_out / "error.txt").write_text(traceback.format_exc())
    raise SystemExit(3)
_loaded = sorted(name for name in sys.modules
                 if name.split(".")[0] in {forbidden!r})
_values["_forbidden_imports"] = _loaded
np.savez(_out / "arrays.npz", **_arrays)
(_out / "values.json").write_text(json.dumps(_values))
'''


class BlenderScriptError(AssertionError):
    """The script failed inside Blender; the message carries its traceback and output."""


@dataclass
class BlenderRun:
    values: dict
    arrays: dict[str, np.ndarray]
    stdout: str = ""
    stderr: str = field(default="", repr=False)


def bpy_python(version: str = "5.0") -> Path | None:
    """The interpreter of the venv holding bpy `version` ("5.0": this venv; "4.2": .venv-bpy42),
    or None when that venv does not exist."""
    if version == "5.0":
        return Path(sys.executable)
    if version == "4.2":
        for candidate in (BPY42_VENV / "bin" / "python", BPY42_VENV / "Scripts" / "python.exe"):
            if candidate.is_file():
                return candidate
        return None
    raise ValueError(f"no bpy venv is set up for Blender {version}")


def run_in_blender(
    script: str,
    tmp_path: Path,
    inputs: dict[str, np.ndarray] | None = None,
    params: dict | None = None,
    python: Path | None = None,
    timeout: float = 300.0,
    forbidden: tuple[str, ...] = FORBIDDEN_MODULES,
) -> BlenderRun:
    """Run the script tests/blender_scripts/`script`.py in a fresh headless Blender process and
    return what it emitted and saved."""
    path = SCRIPTS / f"{script}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no Blender script {path}")
    work = Path(tmp_path) / f"blender-run-{len(list(Path(tmp_path).glob('blender-run-*')))}"
    work.mkdir(parents=True)
    inputs_path, params_path = work / "inputs.npz", work / "params.json"
    if inputs:
        np.savez(inputs_path, **inputs)
    params_path.write_text(json.dumps(params or {}))
    wrapper = work / "wrapper.py"
    wrapper.write_text(_WRAPPER.format(
        root=str(ROOT), scripts=str(SCRIPTS), out=str(work), inputs=str(inputs_path),
        has_inputs=bool(inputs), params=str(params_path), script=str(path),
        forbidden=tuple(forbidden)))
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(work / "blender-user")}
    # The script must find the add-on only through ROOT, never through an inherited path.
    env.pop("PYTHONPATH", None)
    completed = subprocess.run(
        [str(python or bpy_python("5.0")), str(wrapper)],
        cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
    )
    error_file = work / "error.txt"
    if completed.returncode != 0 or not (work / "values.json").is_file():
        detail = error_file.read_text() if error_file.is_file() else ""
        raise BlenderScriptError(
            f"Blender script {script} failed (exit {completed.returncode})\n{detail}\n"
            f"--- stdout ---\n{completed.stdout[-4000:]}\n"
            f"--- stderr ---\n{completed.stderr[-4000:]}"
        )
    values = json.loads((work / "values.json").read_text())
    with np.load(work / "arrays.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    forbidden_loaded = values.pop("_forbidden_imports")
    if forbidden_loaded:
        raise BlenderScriptError(f"the script {script} imported {forbidden_loaded} inside Blender")
    return BlenderRun(values, arrays, completed.stdout, completed.stderr)
