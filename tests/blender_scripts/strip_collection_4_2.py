"""Blender 4.2's strips (`sequences`, no Audaspace): found by feature, and sound strips refused."""

from blender_snippet import emit
from installed_addon import scene, scene_audio

editor = scene.sequence_editor_create()
editor.sequences.new_effect("colour", "COLOR", 1, 1, frame_end=20)
emit(all=[strip.name for strip in scene_audio.all_strips(scene)],
     sounds=scene_audio.sound_strips(scene))
try:
    editor.sequences.new_sound("line", "/nonexistent.wav", 2, 1)
except RuntimeError as exc:
    emit(no_audaspace=str(exc))
