"""Retargeting: SMPL-X rotations onto any rig's bones (no bpy import).

A bone map (bone_map.py) names the target bone of each SMPL-X joint.

Rest poses differ between rigs (T-pose or A-pose, bone rolls, bone counts), so rotations are
transferred in world space, not copied. Per mapped joint j, with every rotation in the target
armature's space:

    G_j = C R_smplx_world_j C^T         SMPL-X world rotation (its rest is the identity)
    W_j = S_j G_j A_j Rest_j            the target bone's posed world rotation
    basis_j = Rest_j^T Rest_k W_k^T W_j the pose-bone rotation Blender keys (k: the mapped bone
                                        the target bone follows, or none)

C turns SMPL-X axes into the armature's (Y-up to Z-up, the object's heading, then the inverse of the
armature object's rotation: the performance turns with the character about the world's up, and the
rest of the object's rotation, such as a Y-up file stood up, is undone); Rest_j is the target bone's
rest orientation (bone.matrix_local); A_j is the rotation that lays the target's rest bone onto the
SMPL-X rest bone (its direction to the next mapped joint exactly, the twist from the directions to
its other mapped children), which is what makes an A-pose rig's arms follow a T-pose skeleton; S_j,
the identity unless SMPL-X joints between j and that next mapped joint are missing from the rig,
bends the bone to point where the SMPL-X chain ends, so a rig without spine2 still points its spine
at the neck. This is the usual world-space delta transfer R_target_world = R_smplx_world
R_smplx_rest_world^-1 R_target_rest_world, with the target's rest first aligned to SMPL-X's. Root
translation goes onto the pelvis bone, scaled by the ratio of leg lengths.

On Body Language's own SMPL-X rig A_j = S_j = I and basis_j = B_j^T R_local_j B_j with
B_j = C^T Rest_j: the exact local conversion, for any bone roll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bone_map import BoneMap, PoseProperty, resolve_bones
from .motion_arrays import AddonInputError
from .quaternions import (
    axis_angle_to_matrix,
    heading,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    normalized_rotation,
    quaternion_apply,
    quaternion_between,
    quaternion_conjugate,
    quaternion_multiply,
    quaternion_to_matrix,
    rotation_between,
)
from .skeleton_data import (
    DEPTH_LEVELS,
    JOINT_INDEX,
    NUM_JOINTS,
    PARENTS,
    ROOT_JOINT,
    SMPLX_TO_BLENDER,
    children,
    default_rest_offsets,
    default_rest_positions,
    part_of_joint,
    primary_child,
    rest_tail_positions,
)

# Constraints through which an unmapped bone fully takes on another bone's rotation, so the
# bones below it follow that other bone (Rigify's ORG- bones copy their controls this way).
_FOLLOW_CONSTRAINTS = frozenset({"COPY_TRANSFORMS", "COPY_ROTATION"})
_LEG_CHAINS = (("left_hip", "left_knee", "left_ankle"), ("right_hip", "right_knee", "right_ankle"))


# ---------------------------------------------------------------------------------- the target


@dataclass(frozen=True)
class TargetRig:
    """What retargeting needs to know about a rig, as plain arrays in its armature space.

    joints[m] is the SMPL-X joint driving bones[m] (in SMPL-X order, parents before children,
    a joint's extra bones right after its own); rest[m] its rest rotation and heads[m] its rest
    head; follows[m] the index of the mapped bone it moves with (-1: the armature only);
    extra[m] marks the bones a bone map lists as extra.
    """

    joints: tuple[int, ...]
    bones: tuple[str, ...]
    rest: np.ndarray
    heads: np.ndarray
    y_axes: np.ndarray
    follows: tuple[int, ...]
    smplx_to_armature: np.ndarray
    extra: tuple[bool, ...] = ()
    armature_units_per_metre: float = 1.0
    pose_properties: tuple[PoseProperty, ...] = ()
    alignment: np.ndarray = field(init=False, repr=False)
    direction_child: tuple[int, ...] = field(init=False, repr=False)
    leg_scale: float = field(init=False)

    def __post_init__(self) -> None:
        if not self.joints:
            raise AddonInputError("the bone map finds none of its bones in this armature")
        if not self.extra:
            object.__setattr__(self, "extra", (False,) * len(self.joints))
        alignment, direction_child = _alignments(self)
        object.__setattr__(self, "alignment", alignment)
        object.__setattr__(self, "direction_child", direction_child)
        object.__setattr__(self, "leg_scale", _leg_scale(self))

    def index_of_joint(self, joint: int) -> int | None:
        """The index of the joint's own (not extra) bone, or None when it is not mapped."""
        for m, (mapped, extra) in enumerate(zip(self.joints, self.extra, strict=True)):
            if mapped == joint and not extra:
                return m
        return None

    def part_indices(self, part: str) -> list[int]:
        """Indices of the mapped bones whose joints belong to `part`."""
        return [m for m, joint in enumerate(self.joints) if part_of_joint(joint) == part]

    @property
    def root_index(self) -> int | None:
        return self.index_of_joint(ROOT_JOINT)


def _follow_bone(armature: Any, bone_name: str, mapped: set[str], evaluated: Any) -> str | None:
    """The mapped bone whose rotation this bone inherits: the nearest mapped ancestor, looking
    through unmapped bones that fully copy another bone's rotation.

    Constraint influences are read from `evaluated` (the depsgraph's copy of the armature),
    where drivers such as Rigify's IK/FK switch have set them.
    """
    pose_bones = armature.pose.bones
    evaluated_bones = evaluated.pose.bones
    seen = {bone_name}
    bone = pose_bones[bone_name].parent
    while bone is not None and bone.name not in seen:
        seen.add(bone.name)
        if bone.name in mapped:
            return bone.name
        copied = [
            c.subtarget for c in evaluated_bones[bone.name].constraints
            if c.type in _FOLLOW_CONSTRAINTS and not c.mute and c.influence >= 0.999
            and getattr(c, "target", None) in (armature, evaluated)
            and c.subtarget in pose_bones
        ]
        # Of several, the last constraint in the stack decides.
        bone = pose_bones[copied[-1]] if copied else bone.parent
    return None


def read_target_rig(armature: Any, bone_map: BoneMap, evaluated: Any = None) -> TargetRig:
    """Collect a Blender armature object's rest pose for `bone_map` (bpy objects, no bpy import).

    `evaluated`: the armature as the depsgraph evaluated it (for driven constraint influences);
    without it the stored influences are used.
    """
    if getattr(armature, "type", None) != "ARMATURE":
        raise AddonInputError(f"{getattr(armature, 'name', armature)!r} is not an armature")
    names = [bone.name for bone in armature.data.bones]
    resolved = resolve_bones(bone_map, names)
    if not resolved:
        sample = ", ".join(list(bone_map.bones.values())[:3])
        raise AddonInputError(f"armature {armature.name!r} has none of the bones of the bone map "
                              f"{bone_map.name!r} (such as {sample})")
    entries = [(joint, False, bone) for joint, bone in resolved.items()]
    present = set(names)
    for joint_name, extras in bone_map.extra_bones.items():
        if JOINT_INDEX[joint_name] in resolved:
            entries += [(JOINT_INDEX[joint_name], True, bone) for bone in extras if bone in present]
    entries.sort(key=lambda entry: entry[:2])
    joints = tuple(joint for joint, _extra, _bone in entries)
    bones = tuple(bone for _joint, _extra, bone in entries)
    mapped = set(bones)
    data_bones = armature.data.bones
    rest = np.array([np.array(data_bones[b].matrix_local)[:3, :3] for b in bones]).reshape(-1, 3, 3)
    heads = np.array([np.array(data_bones[b].head_local) for b in bones]).reshape(-1, 3)
    follows = []
    for bone in bones:
        followed = _follow_bone(armature, bone, mapped, evaluated or armature)
        follows.append(-1 if followed is None else bones.index(followed))
    world = np.array(armature.matrix_world)[:3, :3]
    scale = float(np.cbrt(abs(np.linalg.det(world)))) or 1.0
    return TargetRig(
        joints=joints,
        bones=bones,
        rest=normalized_rotation(rest),
        heads=heads,
        y_axes=_unit(rest[:, :, 1]),
        follows=tuple(follows),
        smplx_to_armature=smplx_to_armature(world),
        armature_units_per_metre=1.0 / scale,
        pose_properties=bone_map.pose_properties,
        extra=tuple(extra for _joint, extra, _bone in entries),
    )


def smplx_to_armature(object_matrix: np.ndarray) -> np.ndarray:
    """C: SMPL-X axes in the armature's space, for an armature object with this 3x3 world matrix.

    The performance turns with the character's heading, so two characters can face each other;
    the rest of the object's rotation (a Y-up file stood up) is undone."""
    rotation = normalized_rotation(np.asarray(object_matrix, dtype=np.float64))
    return rotation.T @ heading(rotation) @ SMPLX_TO_BLENDER


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


# The SMPL-X tree, looked up once: alignments ask for every mapped joint's children.
_CHILDREN = tuple(children(joint) for joint in range(NUM_JOINTS))
_PRIMARY_CHILD = tuple(primary_child(joint) for joint in range(NUM_JOINTS))


def _direction_child(joint: int, mapped: set[int]) -> int | None:
    """The first mapped joint down this joint's primary chain (spine1 -> spine3 without spine2)."""
    child = _PRIMARY_CHILD[joint]
    while child is not None and child not in mapped:
        child = _PRIMARY_CHILD[child]
    return child


def _twist_about(axis: np.ndarray, moved: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The rotation about unit `axis` that best turns vectors `moved` onto `wanted` (n, 3)."""
    flat_moved = moved - np.outer(moved @ axis, axis)
    flat_wanted = wanted - np.outer(wanted @ axis, axis)
    sin_sum = float(np.sum(np.cross(flat_moved, flat_wanted) @ axis))
    cos_sum = float(np.sum(flat_moved * flat_wanted))
    angle = np.arctan2(sin_sum, cos_sum) if abs(sin_sum) + abs(cos_sum) > 1e-12 else 0.0
    return axis_angle_to_matrix(axis * angle)


def _alignments(target: TargetRig) -> tuple[np.ndarray, tuple[int, ...]]:
    """Per mapped bone: A (rest target -> rest SMPL-X, armature space) and its direction child."""
    smplx_rest = default_rest_positions() @ target.smplx_to_armature.T
    smplx_tails = rest_tail_positions() @ target.smplx_to_armature.T
    mapped = set(target.joints)
    index = {joint: m for m, joint in enumerate(target.joints) if not target.extra[m]}
    count = len(target.joints)
    target_dirs = np.empty((count, 3))
    smplx_dirs = np.empty((count, 3))
    direction_children = []
    for m, joint in enumerate(target.joints):
        if target.extra[m]:
            # Aligned like its joint's own bone (filled in below); any vector serves here.
            target_dirs[m] = smplx_dirs[m] = (0.0, 1.0, 0.0)
            direction_children.append(-1)
            continue
        child = _direction_child(joint, mapped)
        direction_children.append(-1 if child is None else child)
        if child is None:
            # A chain end: the target bone's own axis stands for the SMPL-X bone.
            target_dir = target.y_axes[m]
            smplx_dirs[m] = smplx_tails[joint] - smplx_rest[joint]
        else:
            target_dir = target.heads[index[child]] - target.heads[m]
            smplx_dirs[m] = smplx_rest[child] - smplx_rest[joint]
        target_dirs[m] = target.y_axes[m] if np.linalg.norm(target_dir) < 1e-9 else target_dir
    # One batched call: every step of rotation_between is elementwise, so each bone's swing
    # is what a call of its own would give.
    alignment = rotation_between(target_dirs, smplx_dirs)
    for m, joint in enumerate(target.joints):
        if target.extra[m]:
            # Turned with its joint's own bone (listed just before it), so aligned alike.
            alignment[m] = alignment[index[joint]]
            continue
        child = _direction_child(joint, mapped)
        others = [k for k in _CHILDREN[joint] if k in mapped and k != child]
        if others:
            swing = alignment[m]
            indices = [index[k] for k in others]
            moved = _unit((target.heads[indices] - target.heads[m]) @ swing.T)
            wanted = _unit(smplx_rest[others] - smplx_rest[joint])
            alignment[m] = _twist_about(_unit(smplx_dirs[m]), moved, wanted) @ swing
    return alignment, tuple(direction_children)


def _leg_scale(target: TargetRig) -> float:
    """Target leg length over SMPL-X's (world units), so a shorter rig takes shorter steps."""
    smplx_rest = default_rest_positions()
    ratios = []
    for chain in _LEG_CHAINS:
        indices = [target.index_of_joint(JOINT_INDEX[name]) for name in chain]
        if None in indices:
            continue
        joints = [JOINT_INDEX[name] for name in chain]
        target_length = sum(np.linalg.norm(target.heads[b] - target.heads[a])
                            for a, b in zip(indices[:-1], indices[1:], strict=True))
        smplx_length = sum(np.linalg.norm(smplx_rest[b] - smplx_rest[a])
                           for a, b in zip(joints[:-1], joints[1:], strict=True))
        ratios.append(target_length / target.armature_units_per_metre / smplx_length)
    return float(np.mean(ratios)) if ratios else 1.0


# ---------------------------------------------------------------------------------- solving


@dataclass(frozen=True)
class PoseChannels:
    """What gets keyed: per frame and mapped bone the pose-bone quaternion (w, x, y, z), and
    the root bone's location (armature units, in its rest frame), when the pelvis is mapped."""

    quaternions: np.ndarray  # (K, M, 4)
    root_location: np.ndarray | None  # (K, 3)


def _needs_positions(target: TargetRig) -> bool:
    return any(
        child >= 0 and PARENTS[child] != joint
        for joint, child in zip(target.joints, target.direction_child, strict=True)
    )


def _smplx_positions(world: np.ndarray) -> np.ndarray:
    """(K, 55, 3) SMPL-X joint positions relative to the root, from world quaternions."""
    offsets = default_rest_offsets()
    positions = np.zeros(world.shape[:-1] + (3,))
    for joint in range(1, NUM_JOINTS):
        parent = PARENTS[joint]
        positions[:, joint] = positions[:, parent] + quaternion_apply(world[:, parent],
                                                                      offsets[joint])
    return positions


# The solve keeps quaternions component-major, (4, bones, frames): each of w, x, y, z is one
# contiguous block, the layout keyframes.py hands over and the channels are returned in. The
# products are shared/rotations.py's, on views with the components moved last.


def _components(quaternions: np.ndarray) -> np.ndarray:
    """(K, M, 4) quaternions as a contiguous (4, M, K) array."""
    return np.ascontiguousarray(np.asarray(quaternions, dtype=np.float64).transpose(2, 1, 0))


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b of component-major quaternions ([4, ...], the rest broadcasts)."""
    product = quaternion_multiply(np.moveaxis(a, 0, -1), np.moveaxis(b, 0, -1))
    return np.moveaxis(product, -1, 0)


def _conjugate(quaternions: np.ndarray) -> np.ndarray:
    """Conjugate of component-major quaternions."""
    return np.moveaxis(quaternion_conjugate(np.moveaxis(quaternions, 0, -1)), -1, 0)


def _per_bone(quaternions: np.ndarray) -> np.ndarray:
    """(M, 4) constant quaternions as (4, M, 1), to broadcast over frames."""
    return np.asarray(quaternions, dtype=np.float64).T[:, :, None]


# (joints, their parents) per tree level below the root, for one gather per level.
_LEVEL_INDICES = tuple((np.array(level), np.array([PARENTS[j] for j in level]))
                       for level in DEPTH_LEVELS[1:])


def _world_components(local: np.ndarray) -> np.ndarray:
    """(4, 55, K) world rotations from local ones, one batched product per tree level."""
    world = np.empty_like(local)
    world[:, 0] = local[:, 0]
    for joints, parents in _LEVEL_INDICES:
        world[:, joints] = _product(world[:, parents], local[:, joints])
    return world


def solve_pose_channels(
    target: TargetRig, local_quaternions: np.ndarray, trans: np.ndarray
) -> PoseChannels:
    """Pose-bone channels for every mapped bone.

    local_quaternions: (K, 55, 4) SMPL-X rotations in each parent's frame; trans (K, 3) metres.
    Works on quaternions throughout: the products of many small matrices cost several times
    more in numpy. The quaternions returned are a (K, M, 4) view of component-major memory.
    """
    conversion = matrix_to_quaternion(target.smplx_to_armature)
    world = _world_components(_components(local_quaternions))
    joints = list(target.joints)
    # G = C R C^-1: the SMPL-X world rotations acting in armature space.
    g = _product(_product(conversion[:, None, None], world[:, joints]),
                 quaternion_conjugate(conversion)[:, None, None])
    aligned_rest = matrix_to_quaternion(target.alignment @ target.rest)
    targets = _product(g, _per_bone(aligned_rest))
    if _needs_positions(target):
        world_rows = world.transpose(2, 1, 0)
        positions = _smplx_positions(world_rows) @ target.smplx_to_armature.T
        rest = default_rest_positions() @ target.smplx_to_armature.T
        for m, joint in enumerate(joints):
            child = target.direction_child[m]
            if child < 0 or PARENTS[child] == joint:
                continue
            # The rig skips joints here: bend the bone to aim where the SMPL-X chain arrives.
            aimed = quaternion_apply(g[:, m].T, _unit(rest[child] - rest[joint]))
            actual = positions[:, child] - positions[:, joint]
            targets[:, m] = _product(quaternion_between(aimed, actual).T, targets[:, m])
    rest = matrix_to_quaternion(target.rest)
    for m, joint in enumerate(joints):
        if target.extra[m]:
            own = target.index_of_joint(joint)
            welded = quaternion_multiply(quaternion_conjugate(rest[own]), rest[m])
            targets[:, m] = _product(targets[:, own], welded[:, None])
    # basis = Rest_j^-1 Rest_k W_k^-1 W_j, or Rest_j^-1 W_j for bones that follow nothing.
    follows = np.array(target.follows)
    following = follows >= 0
    relative = quaternion_multiply(quaternion_conjugate(rest), rest[np.maximum(follows, 0)])
    relative = np.where(following[:, None], relative, quaternion_conjugate(rest))
    followed = _conjugate(targets[:, np.maximum(follows, 0)])
    followed[:, ~following] = np.array([1.0, 0.0, 0.0, 0.0])[:, None, None]
    quaternions = _product(_product(_per_bone(relative), followed), targets)
    root = target.root_index
    location = None
    if root is not None:
        metres = np.asarray(trans, dtype=np.float64) @ target.smplx_to_armature.T
        armature = metres * (target.leg_scale * target.armature_units_per_metre)
        location = armature @ target.rest[root]  # = Rest_root^T delta, row-vector form
    return PoseChannels(quaternions.transpose(2, 1, 0), location)


def smplx_from_pose_channels(
    target: TargetRig, indices: Sequence[int], quaternions: np.ndarray,
    root_location: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Invert `solve_pose_channels` for some mapped bones: SMPL-X axis-angle rotations
    (K, len(indices), 3) of their joints in each SMPL-X parent's frame, and the root
    translation (K, 3) when `root_location` is given.

    Exact for rigs that map every joint between a bone and the bone it follows; where joints
    are skipped the whole bend lands on the mapped joint. Extra bones are not read.
    """
    conversion = target.smplx_to_armature
    basis = quaternion_to_matrix(np.asarray(quaternions, dtype=np.float64))
    result = np.empty(basis.shape[:-2] + (3,))
    for n, m in enumerate(indices):
        rest = target.rest[m]
        # G_a^T G_j = A_a Rest_j basis Rest_j^T A_j^T, with a the followed bone's joint.
        relative = rest @ basis[:, n] @ rest.T @ target.alignment[m].T
        followed = target.follows[m]
        if followed >= 0:
            relative = target.alignment[followed] @ relative
        result[:, n] = matrix_to_axis_angle(conversion.T @ relative @ conversion)
    trans = None
    if root_location is not None and target.root_index is not None:
        armature = np.asarray(root_location, dtype=np.float64) @ target.rest[target.root_index].T
        metres = armature / (target.leg_scale * target.armature_units_per_metre)
        trans = metres @ conversion
    return result, trans
