"""Importing this makes the target character "Speaker" and gives it audio that plays scene
frames [10, 70) at 30 fps (params "wav"): a sound strip on 5.0, the same file as the audio
source on 4.2 (no Audaspace there). It gives the scripts each part's bones (params
"part_bones") and readers of a part's keys."""

import hashlib

import numpy as np
from blender_snippet import params
from installed_addon import from_actions, keyframes, rig, scene

armature = rig.create_character("Speaker", with_body=False)
scene.body_language.target = armature
settings = armature.body_language
editor = scene.sequence_editor_create()
if hasattr(editor, "strips"):
    strip = editor.strips.new_sound("line", params["wav"], 1, 10)
    audio_start, audio_end = strip.frame_final_start, strip.frame_final_end
else:
    settings.audio_source = "FILE"
    settings.audio_file = params["wav"]
    settings.audio_start_frame = 10
    audio_start, audio_end = 10, 70
PART_BONES = {part: [armature.pose.bones[name].name for name in names]
              for part, names in params["part_bones"].items()}


def part_keys(part):
    """{(data_path, index): key frames and values} of a part's track."""
    action = keyframes.part_action(armature, part)
    keys = {}
    for fc in from_actions.action_fcurves(action):
        co = np.empty(2 * len(fc.keyframe_points), np.float32)
        fc.keyframe_points.foreach_get("co", co)
        keys[(fc.data_path, fc.array_index)] = co
    return keys


def part_hash(part):
    keys = part_keys(part)
    return hashlib.sha256(b"".join(key[0].encode() + bytes([key[1]]) + keys[key].tobytes()
                                   for key in sorted(keys))).hexdigest()
