"""Add-on preferences: the Python that runs the model worker, its device and checkpoint."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import bpy

from .runtime_paths import PYTHON_ENV_VAR, SETUP_HINT, RuntimeStatus, resolve_runtime

ADDON_DIR = Path(__file__).resolve().parent


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

