"""A listener's head and eyes turned toward whoever it listens to, before its keys are written.

The speaker's head is read from the speaker's armature as it stands when the keys are written
(its mapped head bone, else a standing height above its origin): one point per speaker, which
holds for characters that talk in place. Blender objects are read by attribute only (no bpy
import), so the rule runs on any object that looks like an armature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import bone_maps
from .bone_map import resolve_bones
from .gaze import listening_weight, look_at
from .keyframes import bone_map_for
from .listening import ListeningSpan
from .motion_arrays import MotionArrays
from .skeleton_data import JOINT_INDEX

# Eye height above the origin of a rig whose head bone is not mapped (metres).
STANDING_EYES_M = 1.6


def speaker_head(speaker: Any) -> np.ndarray:
    """(3,) world position of the speaker's head."""
    world = np.array(speaker.matrix_world)
    bones = resolve_bones(bone_map_for(speaker, bone_maps.chosen_bone_map(speaker.body_language)),
                          (bone.name for bone in speaker.data.bones))
    head = bones.get(JOINT_INDEX["head"])
    if head is None:
        scale = float(np.cbrt(abs(np.linalg.det(world[:3, :3])))) or 1.0
        return world[:3, 3] + np.array([0.0, 0.0, STANDING_EYES_M * scale])
    bone = speaker.pose.bones[head]
    # Between the head bone's ends: about where the eyes are on most rigs.
    local = (np.array(bone.head) + np.array(bone.tail)) / 2
    return world[:3, :3] @ local + world[:3, 3]


def face_the_speakers(motion: MotionArrays, listener: Any, scene: Any,
                      spans: Sequence[ListeningSpan], clip_start: int,
                      scene_fps: float) -> MotionArrays:
    """`motion` (starting on scene frame `clip_start`) with the head turned toward each span's
    speaker over that span; speakers no longer in the scene are skipped."""
    frames = motion.poses.shape[0]
    for name in sorted({span.speaker for span in spans}):
        speaker = scene.objects.get(name)
        if speaker is None or speaker.type != "ARMATURE":
            continue
        ranges = [(int(round((span.first - clip_start) * motion.fps / scene_fps)),
                   int(round((span.end - clip_start) * motion.fps / scene_fps)) - 1)
                  for span in spans if span.speaker == name]
        weight = listening_weight(ranges, frames, motion.fps)
        target = np.broadcast_to(speaker_head(speaker), (frames, 3))
        motion = look_at(motion, np.array(listener.matrix_world), target, weight)
    return motion
