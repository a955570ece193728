"""The SMPL-X skeleton: joint names, parents, the four body parts, a default rest pose, FK.

Coordinates follow SMPL-X: metres, Y up, the character faces +Z, its left side is +X.
"""

from __future__ import annotations

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
