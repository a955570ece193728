"""Add-on preferences: the Python that runs the model worker, its device and checkpoint, and
the "Set up runtime" button that makes such a Python (a venv with the pinned packages)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import bpy

from .runtime_paths import PYTHON_ENV_VAR, SETUP_HINT, RuntimeStatus, resolve_runtime
from .runtime_setup import WHEELS_DIR, RuntimeSetup, blender_python
from .user_folders import user_folder

ADDON_DIR = Path(__file__).resolve().parent
RUNTIME_FOLDER = "runtime"
OFFLINE_REFUSAL = (
    "Online access is off (Preferences > System > Network), and this build bundles no wheels, "
    "so the runtime's packages cannot be downloaded. Allow online access, install the "
    "extension built with `python build.py extension --wheels`, or set Worker Python to a "
    "Python that has torch."
)

# The running setup, if any (one per Blender session); the preferences draw its progress.
_setup: RuntimeSetup | None = None


def runtime_dir(create: bool = False) -> Path:
    """Where "Set up runtime" puts the venv: the extension's user folder, kept across updates."""
    return user_folder(RUNTIME_FOLDER, create)


class BodyLanguagePreferences(bpy.types.AddonPreferences):
    # Blender finds an add-on's preferences by its module name, which for an installed
    # extension is `bl_ext.<repository>.body_language`.
    bl_idname = __package__

    worker_python: bpy.props.StringProperty(
        name="Worker Python",
        description=(
            "Python interpreter with torch that runs the model worker. Empty: use "
            f"{PYTHON_ENV_VAR}, else the .venv of a Body Language checkout above the add-on"
        ),
        subtype="FILE_PATH",
        default="",
    )
    device: bpy.props.EnumProperty(
        name="Device",
        description="Where the worker runs the model",
        items=(
            ("auto", "Auto", "A CUDA GPU when the worker finds one, otherwise the CPU"),
            ("cpu", "CPU", "Always the CPU"),
            ("cuda", "CUDA", "An NVIDIA GPU; the worker reports an error when none is usable"),
        ),
        default="auto",
    )
    checkpoint: bpy.props.StringProperty(
        name="Checkpoint",
        description="Model checkpoint folder. Empty: the checkpoint shipped with the add-on",
        subtype="DIR_PATH",
        default="",
    )

    def runtime_status(self) -> RuntimeStatus:
        return resolve_runtime(
            bpy.path.abspath(self.worker_python),
            bpy.path.abspath(self.checkpoint),
            ADDON_DIR,
            os.environ,
        )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(self, "worker_python")
        layout.prop(self, "device")
        layout.prop(self, "checkpoint")

        status = self.runtime_status()
        box = layout.box()
        if status.python is not None:
            box.label(text=f"Worker Python ({status.python_source}): {status.python}",
                      icon="CHECKMARK")
        if status.core_root is not None:
            box.label(text=f"Model core: {status.core_root / 'core'}", icon="CHECKMARK")
        if status.checkpoint is not None:
            box.label(text=f"Checkpoint: {status.checkpoint}", icon="CHECKMARK")
        for problem in status.problems:
            box.label(text=problem, icon="ERROR")
        if status.python is None:
            column = box.column(align=True)
            # Blender labels do not wrap, so the advice is split into lines here.
            for line in textwrap.wrap(SETUP_HINT, width=90):
                column.label(text=line)

        setup = layout.box()
        progress = None if _setup is None else _setup.snapshot()
        if progress is not None and not progress.done:
            if hasattr(setup, "progress"):
                setup.progress(factor=progress.fraction, type="BAR", text=progress.message)
            else:
                setup.label(text=f"{progress.fraction:.0%} {progress.message}")
        else:
            setup.operator(BODY_LANGUAGE_OT_setup_runtime.bl_idname, icon="CONSOLE")
            if progress is not None and progress.error:
                for line in textwrap.wrap(f"Setup failed: {progress.error}", width=90)[:6]:
                    setup.label(text=line)
            setup.label(text=f"Runtime folder: {runtime_dir()}")


def _refusal(wheels_dir: Path) -> str | None:
    """Why the setup may not run now, or None."""
    offline_wheels = wheels_dir.is_dir() and any(wheels_dir.glob("*.whl"))
    if not bpy.app.online_access and not offline_wheels:
        return OFFLINE_REFUSAL
    if _setup is not None and not _setup.snapshot().done:
        return "A runtime setup is already running."
    return None


class BODY_LANGUAGE_OT_setup_runtime(bpy.types.Operator):
    """Create a Python environment with torch and the model's packages for the worker
    (downloads about 1 GB unless the extension bundles its wheels)"""

    bl_idname = "body_language.setup_runtime"
    bl_label = "Set Up Runtime"

    # For scripted set-ups and tests: another requirements file or target folder.
    requirements: bpy.props.StringProperty(options={"HIDDEN", "SKIP_SAVE"})
    target: bpy.props.StringProperty(options={"HIDDEN", "SKIP_SAVE"})

    _timer: Any = None

    def _begin(self, context: Any) -> bool:
        global _setup
        refusal = _refusal(WHEELS_DIR)
        if refusal is not None:
            self.report({"ERROR"}, refusal)
            return False
        target = Path(self.target) if self.target else runtime_dir(create=True) / "venv"
        options = {"requirements": self.requirements} if self.requirements else {}
        _setup = RuntimeSetup(blender_python(), target, wheels_dir=WHEELS_DIR, **options)
        _setup.start()
        return True

    def _end(self, context: Any) -> set[str]:
        progress = _setup.snapshot()
        if progress.error:
            self.report({"ERROR"}, f"Runtime setup failed: {progress.error}")
            return {"CANCELLED"}
        prefs = context.preferences.addons[__package__].preferences \
            if __package__ in context.preferences.addons else None
        if prefs is not None:
            prefs.worker_python = str(progress.python)
        self.report({"INFO"}, progress.message)
        return {"FINISHED"}

    def execute(self, context: Any) -> set[str]:
        if not self._begin(context):
            return {"CANCELLED"}
        _setup.join()
        return self._end(context)

    def invoke(self, context: Any, event: Any) -> set[str]:
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if not self._begin(context):
            return {"CANCELLED"}
        self._timer = context.window_manager.event_timer_add(0.5, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[str]:
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        for area in context.screen.areas if context.screen else ():
            if area.type == "PREFERENCES":
                area.tag_redraw()
        if not _setup.snapshot().done:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        return self._end(context)


CLASSES = (BodyLanguagePreferences, BODY_LANGUAGE_OT_setup_runtime)

