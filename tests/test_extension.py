"""The built extension in real headless Blender; the worker-runtime lookup behind its settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from blender_harness import SCRIPTS

import build
from blender_addon import runtime_paths
from blender_addon.runtime_paths import PYTHON_ENV_VAR, resolve_runtime

ROOT = Path(build.__file__).resolve().parent
MODULE = "bl_ext.user_default.body_language"


def test_extension_installs_and_enables_in_headless_blender(tmp_path):
    zip_path = build.build_extension(ROOT, tmp_path / "dist")
    user_resources = tmp_path / "blender-user"
    env = {
        **os.environ,
        "BLENDER_USER_RESOURCES": str(user_resources),
        PYTHON_ENV_VAR: sys.executable,
    }
    # Its own process, so the install touches neither this process's bpy nor the user's
    # Blender configuration (BLENDER_USER_RESOURCES points at a temporary folder).
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / "install_extension.py"), str(zip_path), MODULE],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (line,) = [line for line in completed.stdout.splitlines() if line.startswith("REPORT ")]
    report = json.loads(line.removeprefix("REPORT "))

    addon_dir = user_resources / "extensions" / "user_default" / "body_language"
    assert report["result"] == ["FINISHED"]
    assert report["enabled"] and report["in_preferences"]
    assert report["prefs_type"] == "BodyLanguagePreferences"
    assert (report["worker_python"], report["checkpoint"], report["device"]) == ("", "", "auto")
    assert report["device_items"] == ["auto", "cpu", "cuda"]
    assert Path(report["addon_dir"]) == addon_dir
    assert report["status_python"] == sys.executable
    assert report["status_source"] == PYTHON_ENV_VAR
    assert Path(report["status_core_root"]) == addon_dir
    assert not report["torch_imported"]
    assert Path(report["core_file"]) == addon_dir / "core" / "motion.py"
    assert not report["enabled_after_disable"]
    assert not report["in_preferences_after_disable"]
    assert not report["class_registered_after_disable"]


# ---------------------------------------------------------------------------- runtime lookup


def write_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def make_checkout(root: Path, with_venv: bool = True) -> Path:
    """A project checkout: build.py, core/, blender_addon/ and optionally .venv/bin/python."""
    (root / "core").mkdir(parents=True)
    (root / "core" / "__init__.py").write_text("")
    (root / "build.py").write_text("")
    (root / "blender_addon").mkdir()
    if with_venv:
        write_executable(root / ".venv" / "bin" / "python")
    return root / "blender_addon"


def test_checkout_venv_found_from_the_addon_folder(tmp_path):
    addon_dir = make_checkout(tmp_path / "checkout")
    status = resolve_runtime("", "", addon_dir, environ={})
    assert status.python == (tmp_path / "checkout" / ".venv" / "bin" / "python").resolve()
    assert status.python_source == "checkout .venv"
    assert status.core_root == (tmp_path / "checkout").resolve()


def test_linked_addon_folder_leads_back_to_its_checkout(tmp_path):
    addon_dir = make_checkout(tmp_path / "checkout")
    extensions = tmp_path / "blender" / "extensions" / "user_default"
    extensions.mkdir(parents=True)
    (extensions / "body_language").symlink_to(addon_dir, target_is_directory=True)
    status = resolve_runtime("", "", extensions / "body_language", environ={})
    assert status.python == (tmp_path / "checkout" / ".venv" / "bin" / "python").resolve()


def test_windows_venv_layout(tmp_path):
    python = write_executable(tmp_path / ".venv" / "Scripts" / "python.exe")
    assert runtime_paths.venv_python(tmp_path / ".venv") == python


def test_checkout_without_venv_reports_what_to_do(tmp_path):
    addon_dir = make_checkout(tmp_path / "checkout", with_venv=False)
    status = resolve_runtime("", "", addon_dir, environ={})
    assert status.python is None and not status.ready
    assert any("No worker Python found" in problem for problem in status.problems)
    assert PYTHON_ENV_VAR in runtime_paths.SETUP_HINT


def test_non_executable_venv_python_is_not_used(tmp_path):
    addon_dir = make_checkout(tmp_path / "checkout", with_venv=False)
    python = tmp_path / "checkout" / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("not a program")
    python.chmod(0o644)
    assert resolve_runtime("", "", addon_dir, environ={}).python is None


def test_environment_variable_wins_over_checkout(tmp_path):
    addon_dir = make_checkout(tmp_path / "checkout")
    other = write_executable(tmp_path / "elsewhere" / "python3")
    status = resolve_runtime("", "", addon_dir, environ={PYTHON_ENV_VAR: str(other)})
    assert status.python == other and status.python_source == PYTHON_ENV_VAR


def test_preference_wins_over_environment(tmp_path):
    addon_dir = make_checkout(tmp_path / "checkout")
    chosen = write_executable(tmp_path / "chosen" / "python")
    other = write_executable(tmp_path / "elsewhere" / "python3")
    status = resolve_runtime(str(chosen), "", addon_dir, environ={PYTHON_ENV_VAR: str(other)})
    assert status.python == chosen and status.python_source == "preferences"


def test_broken_explicit_choice_is_reported_not_replaced(tmp_path):
    addon_dir = make_checkout(tmp_path / "checkout")
    missing = tmp_path / "nowhere" / "python"
    status = resolve_runtime("", "", addon_dir, environ={PYTHON_ENV_VAR: str(missing)})
    assert status.python is None
    assert any(PYTHON_ENV_VAR in p and str(missing) in p and "does not exist" in p
               for p in status.problems)

    not_executable = tmp_path / "plain.txt"
    not_executable.write_text("x")
    not_executable.chmod(0o644)
    status = resolve_runtime(str(not_executable), "", addon_dir, environ={})
    assert status.python is None
    assert any("not an executable file" in p for p in status.problems)


def test_installed_extension_finds_its_own_core_and_checkpoint(tmp_path):
    addon_dir = tmp_path / "extensions" / "user_default" / "body_language"
    (addon_dir / "core" / "checkpoints" / "default").mkdir(parents=True)
    (addon_dir / "core" / "__init__.py").write_text("")
    python = write_executable(tmp_path / "py" / "python")
    status = resolve_runtime("", "", addon_dir, environ={PYTHON_ENV_VAR: str(python)})
    assert status.core_root == addon_dir.resolve()
    assert status.checkpoint == addon_dir.resolve() / "core" / "checkpoints" / "default"
    assert status.ready and status.problems == []


def test_checkpoint_choice_and_missing_default(tmp_path):
    addon_dir = make_checkout(tmp_path / "checkout")
    status = resolve_runtime("", "", addon_dir, environ={})
    assert status.checkpoint is None
    assert any("no default checkpoint" in p for p in status.problems)

    chosen = tmp_path / "my-checkpoint"
    chosen.mkdir()
    assert resolve_runtime("", str(chosen), addon_dir, environ={}).checkpoint == chosen
    status = resolve_runtime("", str(tmp_path / "gone"), addon_dir, environ={})
    assert status.checkpoint is None and any("does not exist" in p for p in status.problems)
