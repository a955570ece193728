"""Generate keys every bone of every part over the audio; regenerating the hands keeps the
other parts byte-identical, regenerating frames 30-50 of the upper body keeps its keys
outside them; Predict Emotion scores every emotion."""

import bpy
import numpy as np
from blender_snippet import emit
from installed_addon import runtime
from speaking_character import (
    PART_BONES,
    armature,
    audio_end,
    audio_start,
    part_hash,
    part_keys,
    settings,
)

result = bpy.ops.body_language.generate()
report = bpy.context.window_manager.body_language_job.last_report
coverage = {}
for part, bones in PART_BONES.items():
    keys = part_keys(part)
    keyed = {path.split('"')[1] for path, _index in keys if path.startswith("pose.bones")}
    frames = np.concatenate([co[0::2] for co in keys.values()])
    coverage[part] = [sorted(set(bones) - keyed), float(frames.min()), float(frames.max())]
emit(result=sorted(result), report=report, coverage=coverage, start=audio_start,
     end=audio_end, tracks=[t.name for t in armature.animation_data.nla_tracks],
     face_props=sorted(k for k in armature.keys() if k.startswith("bl_face_")))

# Regenerate only the hands: the other parts' F-curves stay byte-identical.
before = {part: part_hash(part) for part in PART_BONES}
settings.parts = {"hands"}
settings.seed = 7
bpy.ops.body_language.generate()
after = {part: part_hash(part) for part in PART_BONES}
emit(kept_same=[part for part in before if before[part] == after[part]])

# Only frames 30-50 of the upper body: its keys outside the range stay where they were.
upper_before = part_keys("upper")
settings.parts = {"upper"}
settings.use_frame_range, settings.frame_start, settings.frame_end = True, 30, 50
settings.seed = 11
bpy.ops.body_language.generate()
upper_after = part_keys("upper")


def quaternions(keys, bone):
    path = f'pose.bones["{bone}"].rotation_quaternion'
    return np.stack([keys[(path, axis)][1::2] for axis in range(4)], axis=1)


# Rotations, not raw components: q and -q are one rotation, and the keys stay sign-continuous
# through the edited stretch, so after it a bone's quaternions may all have flipped sign.
frames = upper_before[next(iter(upper_before))][0::2]
out = (frames < 30) | (frames > 50)
outside, inside = 0.0, 0.0
for bone in PART_BONES["upper"]:
    old, new = quaternions(upper_before, bone), quaternions(upper_after, bone)
    change = np.minimum(np.abs(old - new).max(axis=1), np.abs(old + new).max(axis=1))
    outside = max(outside, float(change[out].max()))
    inside = max(inside, float(change[~out].max()))
emit(outside=outside, inside=inside, hands_same=part_hash("hands") == after["hands"])

bpy.ops.body_language.predict_emotion()
scores = {s.name: s.probability for s in settings.emotion_scores}
emit(scores=scores)
runtime.shutdown_shared()
