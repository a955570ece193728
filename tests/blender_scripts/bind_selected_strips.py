"""Bind Selected Strips binds the selected strips (params "wav") to the target speaker, and its
clip reads only them."""

import bpy
from blender_snippet import emit, params
from installed_addon import animated_speaker, runtime, scene, scene_inputs

editor = scene.sequence_editor_create()
for name, channel in (("anna 1", 1), ("anna 2", 2), ("ben", 3)):
    strip = editor.strips.new_sound(name, params["wav"], channel, 10 * channel)
    strip.select = name.startswith("anna")
armature = animated_speaker("Anna")
bpy.ops.body_language.bind_selected_strips()
settings = armature.body_language
emit(bound=[ref.name for ref in settings.strips], source=settings.audio_source)
client = runtime.WorkerClient(params["worker_python"], ".")
clip = scene_inputs.audio_clip(scene, settings, client.exchange_dir)
client.shutdown()
emit(sources=list(clip.sources), start=clip.frame_start)
