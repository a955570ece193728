"""The SMPL-X skeleton: joint names, parents, the four body parts, a default rest pose, and
forward kinematics on numpy arrays (core/skeleton.py adds the torch path and a real SMPL-X body).

Coordinates follow SMPL-X: metres, Y up, the character faces +Z, its left side is +X.
"""

from __future__ import annotations

import numpy as np

from .rotations import axis_angle_to_matrix

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    # SMPL-X calls the eyes left_eye_smplhf/right_eye_smplhf; the short names are the bone
    # names of Meshcapade's SMPL-X add-on, which our users' characters already carry.
    "jaw", "left_eye", "right_eye",
    "left_index1", "left_index2", "left_index3", "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3", "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3", "right_middle1", "right_middle2",
    "right_middle3", "right_pinky1", "right_pinky2", "right_pinky3", "right_ring1",
    "right_ring2", "right_ring3", "right_thumb1", "right_thumb2", "right_thumb3",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)

# The four body parts of the Language of Motion split. Face channels belong to "face" and root
# translation to "lower"; those are not joints, so Motion's part views add them.
PART_JOINTS: dict[str, tuple[int, ...]] = {
    "face": (22, 23, 24),
    "hands": tuple(range(25, 55)),
    "upper": (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21),
    "lower": (0, 1, 2, 4, 5, 7, 8, 10, 11),
}
PARTS: tuple[str, ...] = ("face", "hands", "upper", "lower")


def mirror_joint(index: int) -> int:
    """The index of the joint on the other side (itself for joints on the midline)."""
    name = JOINT_NAMES[index]
    if name.startswith("left_"):
        return JOINT_INDEX["right_" + name[5:]]
    if name.startswith("right_"):
        return JOINT_INDEX["left_" + name[6:]]
    return index


# ---------------------------------------------------------------------------------------------
# Default rest skeleton
# ---------------------------------------------------------------------------------------------

# The top of the skull lies this far above joint 15 'head'; stature = head.y + this.
HEAD_TOP_ABOVE_HEAD_JOINT = 0.115
# Each finger ends this far beyond its *3 joint, along the direction of that last bone.
FINGERTIP_LENGTH = 0.022

# Rest offsets from the parent joint in metres, for the midline and the character's left side
# (+X). The right side is the exact mirror. The pose is SMPL-X's zero pose: a T-pose with the
# palms down, fingers extended along the arm and the thumbs pointing forward (+Z) and down.
_MIDLINE_OFFSETS: dict[str, tuple[float, float, float]] = {
    "pelvis": (0.0, 0.94, 0.0),  # world position: the root stands 0.94 m above the floor
    "spine1": (0.0, 0.105, -0.015),
    "spine2": (0.0, 0.135, 0.005),
    "spine3": (0.0, 0.055, 0.02),
    "neck": (0.0, 0.235, -0.03),
    "head": (0.0, 0.14, 0.045),
    "jaw": (0.0, -0.025, 0.03),
}
_LEFT_OFFSETS: dict[str, tuple[float, float, float]] = {
    "hip": (0.06, -0.085, 0.0),
    "knee": (0.035, -0.38, 0.005),
    "ankle": (-0.01, -0.395, -0.035),
    "foot": (0.025, -0.055, 0.125),
    "collar": (0.07, 0.115, -0.005),
    "shoulder": (0.10, 0.055, -0.015),
    "elbow": (0.26, 0.0, 0.0),
    "wrist": (0.25, 0.0, 0.0),
    "eye": (0.031, 0.012, 0.08),
    "index1": (0.088, -0.006, 0.024),
    "index2": (0.036, -0.002, 0.001),
    "index3": (0.023, -0.002, 0.0),
    "middle1": (0.094, -0.004, 0.003),
    "middle2": (0.041, -0.002, -0.001),
    "middle3": (0.026, -0.002, 0.0),
    "pinky1": (0.078, -0.01, -0.035),
    "pinky2": (0.028, -0.002, -0.005),
    "pinky3": (0.018, -0.002, -0.002),
    "ring1": (0.088, -0.006, -0.017),
    "ring2": (0.037, -0.002, -0.003),
    "ring3": (0.024, -0.002, -0.001),
    "thumb1": (0.025, -0.014, 0.025),
    "thumb2": (0.032, -0.008, 0.022),
    "thumb3": (0.028, -0.006, 0.012),
}


def _build_default_offsets() -> np.ndarray:
    offsets = np.zeros((NUM_JOINTS, 3), np.float64)
    for index, name in enumerate(JOINT_NAMES):
        if name in _MIDLINE_OFFSETS:
            offsets[index] = _MIDLINE_OFFSETS[name]
        elif name.startswith("left_"):
            offsets[index] = _LEFT_OFFSETS[name[5:]]
        else:
            x, y, z = _LEFT_OFFSETS[name[6:]]
            offsets[index] = (-x, y, z)
    return offsets


def positions_from_offsets(offsets: np.ndarray) -> np.ndarray:
    """World joint positions (..., 55, 3) of a rest skeleton given its offsets (..., 55, 3)."""
    offsets = np.asarray(offsets, dtype=np.float64)
    positions = np.empty_like(offsets)
    for joint, parent in enumerate(PARENTS):
        base = 0.0 if parent < 0 else positions[..., parent, :]
        positions[..., joint, :] = base + offsets[..., joint, :]
    return positions


def offsets_from_positions(positions: np.ndarray) -> np.ndarray:
    """Offsets (..., 55, 3) of each joint from its parent; the root keeps its world position."""
    positions = np.asarray(positions, dtype=np.float64)
    offsets = positions.copy()
    offsets[..., 1:, :] -= positions[..., list(PARENTS[1:]), :]
    return offsets


_DEFAULT_OFFSETS = _build_default_offsets()
_DEFAULT_POSITIONS = positions_from_offsets(_DEFAULT_OFFSETS)


def default_rest_offsets() -> np.ndarray:
    """(55, 3) offset of each joint from its parent in the default rest skeleton, in metres.

    The root's offset is its world position, so a Motion with trans = 0 stands on the floor.
    """
    return _DEFAULT_OFFSETS.copy()


def default_rest_positions() -> np.ndarray:
    """(55, 3) world joint positions of the default adult skeleton in the SMPL-X zero pose.

    Floor at y = 0, pelvis 0.94 m up, stature 1.725 m, left/right mirror-symmetric.
    """
    return _DEFAULT_POSITIONS.copy()


# ---------------------------------------------------------------------------------------------
# Forward kinematics
# ---------------------------------------------------------------------------------------------


def _depth_levels() -> tuple[tuple[int, ...], ...]:
    depth = [0] * NUM_JOINTS
    for joint, parent in enumerate(PARENTS):
        depth[joint] = 0 if parent < 0 else depth[parent] + 1
    return tuple(
        tuple(j for j in range(NUM_JOINTS) if depth[j] == level) for level in range(max(depth) + 1)
    )


# Joints grouped by depth in the tree, so FK runs one batched step per level, not per joint.
DEPTH_LEVELS = _depth_levels()


def forward_kinematics_numpy(
    poses: np.ndarray, trans: np.ndarray | None = None, rest_offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions (..., 55, 3) and world rotation matrices (..., 55, 3, 3).

    `poses` (..., 55, 3) are SMPL-X axis-angle rotations, each in its parent's frame:
    R_world[j] = R_world[parent] @ R_local[j] and p[j] = p[parent] + R_world[parent] @ offset[j];
    the root sits at offset[0] + trans. `rest_offsets` default to `default_rest_offsets()` and
    may carry batch dimensions that broadcast against those of `poses`. Computed in the poses'
    float dtype (at least float32); shapes are the caller's to check.
    """
    poses = np.asarray(poses)
    dtype = np.result_type(poses.dtype, np.float32)
    poses = poses.astype(dtype, copy=False)
    offsets = np.asarray(_DEFAULT_OFFSETS if rest_offsets is None else rest_offsets, dtype=dtype)
    trans = None if trans is None else np.asarray(trans, dtype=dtype)
    batch = np.broadcast_shapes(
        poses.shape[:-2], offsets.shape[:-2], () if trans is None else trans.shape[:-1]
    )
    local = np.asarray(axis_angle_to_matrix(poses), dtype=dtype)
    world = np.empty(batch + (NUM_JOINTS, 3, 3), dtype)
    positions = np.empty(batch + (NUM_JOINTS, 3), dtype)
    world[..., 0, :, :] = local[..., 0, :, :]
    positions[..., 0, :] = offsets[..., 0, :] + (0.0 if trans is None else trans)
    for level in DEPTH_LEVELS[1:]:
        joints = list(level)
        parents = [PARENTS[j] for j in joints]
        parent_world = world[..., parents, :, :]
        world[..., joints, :, :] = parent_world @ local[..., joints, :, :]
        bones = (parent_world @ offsets[..., joints, :, None])[..., 0]
        positions[..., joints, :] = positions[..., parents, :] + bones
    return positions, world
