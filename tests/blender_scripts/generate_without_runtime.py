"""Generate with a worker Python that does not exist: refused with a report naming it."""

import bpy
from blender_snippet import emit
from installed_addon import animated_speaker, prefs, snapshot

animated_speaker()
prefs.worker_python = "/nowhere/python"
before = snapshot()
try:
    result = bpy.ops.body_language.generate()
except RuntimeError:
    result = {"CANCELLED"}
emit(result=sorted(result), report=bpy.context.window_manager.body_language_job.last_report,
     unchanged=snapshot() == before)
