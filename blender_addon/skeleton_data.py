"""The SMPL-X skeleton inside Blender: names, parents, parts, default rest pose, FK (no bpy).

Blender cannot import the project's `core` package, so data/smplx_skeleton.json holds a copy of
what core/skeleton.py defines (tests/test_addon_rig.py keeps the two identical; regenerate with
`.venv/bin/python tests/export_addon_skeleton.py`).

SMPL-X is Y up with the character facing +Z and its left at +X; Blender is Z up with characters
facing -Y. `SMPLX_TO_BLENDER` maps (x, y, z) to (x, -z, y): a +90 degree turn about X, a proper
rotation, so left stays +X.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .quaternions import axis_angle_to_matrix

SKELETON_FILE = Path(__file__).resolve().parent / "data" / "smplx_skeleton.json"

with SKELETON_FILE.open(encoding="utf-8") as _file:
    _DATA = json.load(_file)

JOINT_NAMES: tuple[str, ...] = tuple(_DATA["joint_names"])
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}
PARENTS: tuple[int, ...] = tuple(_DATA["parents"])
PARTS: tuple[str, ...] = tuple(_DATA["parts"])
PART_JOINTS: dict[str, tuple[int, ...]] = {
    part: tuple(joints) for part, joints in _DATA["part_joints"].items()
}
HEAD_TOP_ABOVE_HEAD_JOINT: float = _DATA["head_top_above_head_joint"]
FINGERTIP_LENGTH: float = _DATA["fingertip_length"]
_REST_OFFSETS = np.array(_DATA["rest_offsets"], dtype=np.float64)
_REST_POSITIONS = np.array(_DATA["rest_positions"], dtype=np.float64)

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


def default_rest_offsets() -> np.ndarray:
    """(55, 3) offset of each joint from its parent (the root's is its world position), metres."""
    return _REST_OFFSETS.copy()


def default_rest_positions() -> np.ndarray:
    """(55, 3) world joint positions of the default rest skeleton, SMPL-X coordinates."""
    return _REST_POSITIONS.copy()


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

    Finger ends continue their last bone by FINGERTIP_LENGTH, as core/skeleton.py defines.
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


def _depth_levels() -> tuple[tuple[int, ...], ...]:
    depth = [0] * NUM_JOINTS
    for joint, parent in enumerate(PARENTS):
        depth[joint] = 0 if parent < 0 else depth[parent] + 1
    return tuple(tuple(j for j in range(NUM_JOINTS) if depth[j] == level)
                 for level in range(max(depth) + 1))


# Joints grouped by depth in the tree: FK takes one batched step per level.
DEPTH_LEVELS = _depth_levels()


def world_rotations(local: np.ndarray) -> np.ndarray:
    """[..., 55, 3, 3] world rotations from local ones: R_world[j] = R_world[parent] R_local[j]."""
    world = np.empty_like(local)
    world[..., 0, :, :] = local[..., 0, :, :]
    for level in DEPTH_LEVELS[1:]:
        joints = list(level)
        parents = [PARENTS[j] for j in joints]
        world[..., joints, :, :] = world[..., parents, :, :] @ local[..., joints, :, :]
    return world


def forward_kinematics(
    poses: np.ndarray, trans: np.ndarray | None = None, rest_offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions [..., 55, 3] and rotations [..., 55, 3, 3], SMPL-X coordinates.

    The same definition as core.skeleton.forward_kinematics_with_rotations: poses are axis-angle
    rotations in each parent's frame, p[j] = p[parent] + R_world[parent] offset[j], and the root
    sits at offset[0] + trans.
    """
    offsets = _REST_OFFSETS if rest_offsets is None else np.asarray(rest_offsets, np.float64)
    local = axis_angle_to_matrix(poses)
    world = world_rotations(local)
    positions = np.empty(local.shape[:-1], dtype=np.float64)
    positions[..., 0, :] = offsets[0] + (0.0 if trans is None else np.asarray(trans))
    for level in DEPTH_LEVELS[1:]:
        joints = list(level)
        parents = [PARENTS[j] for j in joints]
        bones = (world[..., parents, :, :] @ offsets[joints, :, None])[..., 0]
        positions[..., joints, :] = positions[..., parents, :] + bones
    return positions, world
