"""Generate with audio that is gone (a strip's file deleted on 5.0, a missing audio file on
4.2; params "wav", "missing"): the operator's report, and the scene unchanged."""

import os

import bpy
from blender_snippet import emit, params
from installed_addon import animated_speaker, runtime, scene, snapshot

armature = animated_speaker()
settings = armature.body_language
missing = params["missing"]
if hasattr(scene.sequence_editor_create(), "strips"):
    strip = scene.sequence_editor.strips.new_sound("line", params["wav"], 1, 10)
    os.remove(params["wav"])
    expected_path = params["wav"]
else:
    settings.audio_source = "FILE"
    settings.audio_file = missing
    expected_path = missing
before = snapshot()
try:
    result = bpy.ops.body_language.generate()
except RuntimeError as exc:  # an operator's ERROR report raises in Python
    result, raised = {"CANCELLED"}, str(exc)
status = bpy.context.window_manager.body_language_job
emit(result=sorted(result), report=status.last_report, expected_path=expected_path,
     raised=raised,
     unchanged=snapshot() == before, running=status.running)
runtime.shutdown_shared()
