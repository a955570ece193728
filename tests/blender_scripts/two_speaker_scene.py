"""Two speakers bound to their sound strips and an unbound armature, saved (params "anna", "ben":
audio, "blend": where)."""

import bpy
from blender_snippet import emit, params
from enabled_addon import scene

from blender_addon import batch, rig, scene_inputs

scene.render.fps = 30
editor = scene.sequence_editor_create()
for name, path, channel, start in (("anna 1", params["anna"], 1, 1),
                                   ("anna 2", params["anna"], 1, 70),
                                   ("ben", params["ben"], 2, 30)):
    editor.strips.new_sound(name, path, channel, start)
anna = rig.create_character("Anna", with_body=False)
ben = rig.create_character("Ben", with_body=False)
rig.create_character("Extra", with_body=False)     # not bound: not a speaker
for armature, strips in ((anna, ["anna 1", "anna 2"]), (ben, ["ben"])):
    armature.body_language.audio_source = "STRIPS"
    for name in strips:
        armature.body_language.strips.add().name = name

emit(speakers=[obj.name for obj in batch.speakers(scene)])
clips = {obj.name: scene_inputs.audio_clip(scene, obj.body_language, None)
         for obj in (anna, ben)}
emit(clips={name: [list(clip.sources), clip.frame_start, clip.frame_end]
            for name, clip in clips.items()})
bpy.ops.wm.save_as_mainfile(filepath=params["blend"])
