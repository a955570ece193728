"""The SMPL-X skeleton inside Blender: names, parents, parts, default rest pose, FK (no bpy).

The skeleton itself comes from shared/skeleton.py (core/shared/skeleton.py in a checkout, the one
definition core uses too); this module adds what only Blender needs: bone tails and the turn into
Blender's frame.

SMPL-X is Y up with the character facing +Z and its left at +X; Blender is Z up with characters
facing -Y. `SMPLX_TO_BLENDER` maps (x, y, z) to (x, -z, y): a +90 degree turn about X, a proper
rotation, so left stays +X.
"""

from __future__ import annotations

import numpy as np

from .shared.skeleton import (
    DEPTH_LEVELS,
    FINGERTIP_LENGTH,
    HEAD_TOP_ABOVE_HEAD_JOINT,
    JOINT_INDEX,
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    PART_JOINTS,
    PARTS,
    default_rest_offsets,
    default_rest_positions,
    forward_kinematics_numpy,
)

__all__ = [
    "DEPTH_LEVELS", "FINGERTIP_LENGTH", "HEAD_TOP_ABOVE_HEAD_JOINT", "JOINT_INDEX", "JOINT_NAMES",
    "NUM_JOINTS", "PARENTS", "PARTS", "PART_JOINTS", "ROOT_JOINT", "SMPLX_TO_BLENDER",
    "TRANSLATION_PART", "children", "default_rest_offsets", "default_rest_positions",
    "forward_kinematics", "leaf_tail_offset", "part_of_joint", "primary_child",
    "rest_tail_positions", "smplx_to_blender",
]

_REST_OFFSETS = default_rest_offsets()
_REST_POSITIONS = default_rest_positions()

# Root translation is keyed with the lower body (as core's part views do).
ROOT_JOINT = 0
TRANSLATION_PART = "lower"

SMPLX_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

# Where a joint with several children points: its bone runs towards this child.
_PRIMARY_CHILD_NAMES = {"pelvis": "spine1", "spine3": "neck", "left_wrist": "left_middle1",
                        "right_wrist": "right_middle1"}

# Ends of the chains, in SMPL-X coordinates from the joint: the skull top above the head joint,
# the toes ahead of the foot (ball) joint, the chin from the jaw joint, the gaze of the eyes.
_LEAF_TAILS = {
    "head": (0.0, HEAD_TOP_ABOVE_HEAD_JOINT, 0.0),
    "jaw": (0.0, -0.04, 0.07),
    "left_eye": (0.0, 0.0, 0.02),
    "right_eye": (0.0, 0.0, 0.02),
    "left_foot": (0.0, 0.0, 0.06),
    "right_foot": (0.0, 0.0, 0.06),
}


def part_of_joint(joint: int) -> str:
    for part in PARTS:
        if joint in PART_JOINTS[part]:
            return part
    raise ValueError(f"joint {joint} belongs to no body part")


def children(joint: int) -> tuple[int, ...]:
    return tuple(j for j, parent in enumerate(PARENTS) if parent == joint)


def primary_child(joint: int) -> int | None:
    """The child a joint's bone points at, or None for chain ends (and the head)."""
    name = JOINT_NAMES[joint]
    if name in _PRIMARY_CHILD_NAMES:
        return JOINT_INDEX[_PRIMARY_CHILD_NAMES[name]]
    kids = children(joint)
    if len(kids) == 1 and name not in _LEAF_TAILS:
        return kids[0]
    return None


def leaf_tail_offset(joint: int, rest_offsets: np.ndarray | None = None) -> np.ndarray:
    """SMPL-X offset from a joint without a primary child to its bone's tail.

    Finger ends continue their last bone by FINGERTIP_LENGTH, as shared/skeleton.py defines.
    """
    name = JOINT_NAMES[joint]
    if name in _LEAF_TAILS:
        return np.array(_LEAF_TAILS[name], dtype=np.float64)
    offsets = _REST_OFFSETS if rest_offsets is None else rest_offsets
    last_bone = offsets[joint]
    return FINGERTIP_LENGTH * last_bone / np.linalg.norm(last_bone)


def rest_tail_positions(rest_positions: np.ndarray | None = None) -> np.ndarray:
    """(55, 3) SMPL-X positions of each joint's bone tail: its primary child or its leaf tail."""
    positions = _REST_POSITIONS if rest_positions is None else np.asarray(rest_positions)
    offsets = positions.copy()
    offsets[1:] -= positions[list(PARENTS[1:])]
    tails = np.empty_like(positions)
    for joint in range(NUM_JOINTS):
        child = primary_child(joint)
        if child is None:
            tails[joint] = positions[joint] + leaf_tail_offset(joint, offsets)
        else:
            tails[joint] = positions[child]
    return tails


def smplx_to_blender(vectors: np.ndarray) -> np.ndarray:
    """[..., 3] SMPL-X vectors in Blender's Z-up frame."""
    return np.asarray(vectors, dtype=np.float64) @ SMPLX_TO_BLENDER.T


def forward_kinematics(
    poses: np.ndarray, trans: np.ndarray | None = None, rest_offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions [..., 55, 3] and rotations [..., 55, 3, 3], SMPL-X coordinates, in
    float64: shared.skeleton.forward_kinematics_numpy, which core's FK is too."""
    return forward_kinematics_numpy(np.asarray(poses, dtype=np.float64), trans, rest_offsets)
