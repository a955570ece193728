"""A motion onto an armature: one action on one NLA track per body part.

Tracks are named "BL face", "BL hands", "BL upper", "BL lower"; each holds one strip whose action
keys that part's bones (quaternions, plus the pelvis location in "BL lower"), so a part can be
regenerated, muted or edited alone. "BL face" also keys the face channels as custom properties
on the armature and, on a "BL face" track of each child mesh's shape keys, the matching keys.

Every new action is filled completely and staged on a track of its own before anything the rig
had changes, and the rig is checked against the bone map first (a part without any bone is
refused, missing bones are named in a warning), so an error leaves the scene as it was. Keys
go in in bulk (`ActionBuilder.add_curve`), one linear key per scene frame, resampled by slerp
when the scene's frame rate differs from the motion's; or, with key_mode REDUCED, Bezier keys
only on the frames each curve needs to play within a tolerance of that (key_reduction.py).
Blend-shape weights (ARKit) are held to 0..1 where the model strays past it, before any key is
chosen. The result names the bone map used and every rig setting it changed, for the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import bpy
import numpy as np

from .actions import (
    ActionBuilder,
    StagedTrack,
    action_fcurves,
    commit_track,
    evaluate_curves,
    remove_track,
    rollback_track,
    stage_on_track,
    strip_action_frames,
    strip_on_track,
)
from .bone_map import DEFAULT_PRESET, BoneMap, detect_bone_map, load_presets, resolve_bones
from .face import (
    ShapeKeyAction,
    add_face_property_curves,
    build_shape_key_actions,
    channel_from_property_path,
    ensure_face_properties,
    is_flame_channel,
    shape_key_meshes,
    untouched_meshes,
)
from .key_reduction import Tolerances, plan_keys
from .motion_arrays import AddonInputError, MotionArrays
from .quaternions import (
    axis_angle_to_quaternion,
    make_continuous,
    resample_linear,
    resample_quaternions,
    sample_positions,
)
from .retarget import TargetRig, read_target_rig, smplx_from_pose_channels, solve_pose_channels
from .shared.rates import FPS
from .skeleton_data import JOINT_NAMES, NUM_JOINTS, PART_JOINTS, PARTS, TRANSLATION_PART

TRACK_PREFIX = "BL "
FACE_PART = "face"
# How write_motion keys: one linear key per frame, or Bezier keys where the curves need them.
EVERY_FRAME, REDUCED = "EVERY_FRAME", "REDUCED"
KEY_MODES = (EVERY_FRAME, REDUCED)


def track_name(part: str) -> str:
    return TRACK_PREFIX + part


def scene_fps(scene: Any) -> float:
    return scene.render.fps / scene.render.fps_base


def _check_parts(parts: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(parts)
    unknown = [part for part in chosen if part not in PARTS]
    if unknown or not chosen:
        raise AddonInputError(f"unknown body parts {unknown}; choose from {', '.join(PARTS)}")
    return tuple(part for part in PARTS if part in chosen)


def bone_map_for(armature: Any, bone_map: BoneMap | None = None) -> BoneMap:
    """The given map, else the shipped preset that finds the most of this rig's bones."""
    if bone_map is not None:
        return bone_map
    presets = load_presets()
    key = detect_bone_map((bone.name for bone in armature.data.bones), presets)
    return presets[key or DEFAULT_PRESET]


# A coverage warning names at most this many missing joints of a part, then counts the rest.
_NAMED_JOINTS = 6


@dataclass(frozen=True)
class RigCoverage:
    """Which SMPL-X joints of the chosen parts a bone map finds bones for in a rig."""

    armature: str
    bone_map: str
    parts: tuple[str, ...]
    mapped: frozenset[int]  # every joint the map finds a bone for, whatever its part
    examples: tuple[str, ...]  # bones the map looks for, to name in a refusal

    @property
    def total(self) -> int:
        return sum(len(PART_JOINTS[part]) for part in self.parts)

    @property
    def keyed(self) -> int:
        return sum(joint in self.mapped for part in self.parts for joint in PART_JOINTS[part])

    def missing(self) -> dict[str, tuple[str, ...]]:
        """{part: SMPL-X joints without a bone} for the chosen parts that lack any."""
        found = {part: tuple(JOINT_NAMES[j] for j in PART_JOINTS[part] if j not in self.mapped)
                 for part in self.parts}
        return {part: joints for part, joints in found.items() if joints}

    def warning(self) -> str | None:
        """One line naming what is not keyed, or None when every chosen joint has a bone."""
        missing = self.missing()
        if not missing:
            return None
        listed = []
        for part, joints in missing.items():
            if len(joints) == len(PART_JOINTS[part]):
                listed.append(f"{part} (all {len(joints)} joints)")
            elif len(joints) > _NAMED_JOINTS:
                listed.append(f"{part} ({', '.join(joints[:_NAMED_JOINTS])} and "
                              f"{len(joints) - _NAMED_JOINTS} more)")
            else:
                listed.append(f"{part} ({', '.join(joints)})")
        scope = (f"the {NUM_JOINTS} SMPL-X joints" if self.parts == PARTS
                 else f"the {self.total} joints of {', '.join(self.parts)}")
        return (f"keyed {self.keyed} of {scope} on {self.armature}: bone map "
                f"'{self.bone_map}' finds no bone for {'; '.join(listed)}")

    def require(self) -> None:
        """Refuse a generation that could key no bone (face channels alone still count)."""
        if not self.mapped:
            raise AddonInputError(
                f"{self.armature} has none of the bones bone map '{self.bone_map}' looks for "
                f"(such as {', '.join(self.examples)}): choose the bone map that fits this rig, "
                "or fill a custom one")
        if self.keyed == 0 and FACE_PART not in self.parts:
            raise AddonInputError(
                f"bone map '{self.bone_map}' finds no bone of {', '.join(self.parts)} in "
                f"{self.armature}, so there is nothing to animate: choose the bone map that "
                "fits this rig, or other parts")


def rig_coverage(armature: Any, bone_map: BoneMap, parts: Iterable[str]) -> RigCoverage:
    """How much of the chosen parts `bone_map` finds in the armature (by bone name)."""
    resolved = resolve_bones(bone_map, (bone.name for bone in armature.data.bones))
    return RigCoverage(armature.name, bone_map.name, _check_parts(parts), frozenset(resolved),
                       tuple(list(bone_map.bones.values())[:3]))


def check_writable(armature: Any, parts: Iterable[str] = PARTS) -> None:
    """Refuse, before anything is generated, a rig whose tracks cannot be replaced cleanly."""
    if armature.library is not None:
        raise AddonInputError(
            f"{armature.name} is linked from {armature.library.filepath}, so its animation "
            "cannot be changed here: make it local or add a library override first")
    owners = [armature]
    if FACE_PART in tuple(parts):
        owners += [key for key, _meshes in shape_key_meshes(armature)]
    for owner in owners:
        animation = owner.animation_data
        if animation is not None and animation.use_tweak_mode:
            editing = f" (editing {animation.action.name})" if animation.action else ""
            raise AddonInputError(
                f"the NLA of {owner.name} is in tweak mode{editing}: leave tweak mode in the "
                "NLA editor (Tab) and generate again")


def _set_pose_properties(armature: Any, bone_map: BoneMap) -> list[tuple[str, str, Any]]:
    """Apply the map's pose properties; returns (bone, name, old value or None) to undo them."""
    previous = []
    for setting in bone_map.pose_properties:
        pose_bone = armature.pose.bones.get(setting.bone)
        if pose_bone is not None:
            previous.append((setting.bone, setting.name, pose_bone.get(setting.name)))
            pose_bone[setting.name] = setting.value
    return previous


def _number(value: Any) -> str:
    return "unset" if value is None else f"{value:g}" if isinstance(value, float) else repr(value)


def describe_pose_changes(armature: Any, previous: list[tuple[str, str, Any]]
                          ) -> tuple[str, ...]:
    """'bone name old -> new' for each pose property the map changed (not those already set)."""
    changes = []
    for bone, name, value in previous:
        now = armature.pose.bones[bone].get(name)
        if value != now:
            changes.append(f"{bone} {name} {_number(value)} \u2192 {_number(now)}")
    return tuple(changes)


def _restore_pose_properties(armature: Any, previous: list[tuple[str, str, Any]]) -> None:
    for bone, name, value in reversed(previous):
        pose_bone = armature.pose.bones[bone]
        if value is None:
            del pose_bone[name]
        else:
            pose_bone[name] = value


def _read_target(armature: Any, bone_map: BoneMap) -> TargetRig:
    """The rig as retargeting sees it, with driven constraint influences evaluated."""
    # Custom properties set from Python do not tag the armature; its drivers need the tag.
    armature.update_tag()
    bpy.context.view_layer.update()
    evaluated = armature.evaluated_get(bpy.context.evaluated_depsgraph_get())
    return read_target_rig(armature, bone_map, evaluated)


def _bone_path(bone: str, channel: str) -> str:
    return f'pose.bones["{bpy.utils.escape_identifier(bone)}"].{channel}'


@dataclass(frozen=True)
class WriteResult:
    """What `write_motion` keyed, for the operator's report."""

    parts: tuple[str, ...]
    start_frame: int
    frame_count: int
    fps: float
    bone_map: str
    bones: dict[str, tuple[str, ...]]
    shape_key_sets: int
    warnings: tuple[str, ...]
    # {part: SMPL-X joints of the chosen parts that the rig has no bone for}
    missing: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The rig settings the bone map changed ("upper_arm_parent.L IK_FK 0 -> 1"), for the report.
    rig_changes: tuple[str, ...] = ()

    def describe_rig(self) -> str:
        """The bone map used and every rig setting it changed, for the report."""
        text = f"bone map '{self.bone_map}'"
        if self.rig_changes:
            text += "; rig settings changed (Undo restores them): " + ", ".join(self.rig_changes)
        return text


@dataclass(frozen=True)
class _Prepared:
    frames: np.ndarray
    quaternions: np.ndarray
    root_location: np.ndarray | None
    face: np.ndarray
    # The SMPL-X motion at the scene's frames: where feet are planted and the mouth closes.
    smplx_local: np.ndarray
    smplx_trans: np.ndarray
    # Reduced keys (None: every frame): per mapped bone (N, 4), the root (N, 3), the face (N, F).
    bone_keys: dict[int, np.ndarray] | None = None
    root_keys: np.ndarray | None = None
    face_keys: np.ndarray | None = None


def _weights_in_range(face: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Blend-shape weights (ARKit) held to 0..1, their defined range, where the model strays
    past it; FLAME coefficients are signed and left as they are."""
    weights = [column for column, name in enumerate(names) if not is_flame_channel(name)]
    face[:, weights] = np.clip(face[:, weights], 0.0, 1.0)
    return face


def _prepare(motion: MotionArrays, target: TargetRig, start_frame: int, fps: float) -> _Prepared:
    positions = sample_positions(motion.num_frames, motion.fps, fps)
    # The rotations are laid out component-major in memory: (3, 55, frames) behind the usual
    # (frames, 55, 3) view. The quaternion math keeps that layout, so each component of each bone
    # is one contiguous run, and it is the layout solve_pose_channels works in: it takes these
    # quaternions without a transposing copy. Only memory order changes, never a value.
    poses = np.ascontiguousarray(motion.poses.transpose(2, 1, 0)).transpose(2, 1, 0)
    local = make_continuous(axis_angle_to_quaternion(poses))
    local = resample_quaternions(local, positions)
    trans = resample_linear(motion.trans, positions)
    channels = solve_pose_channels(target, local, trans)
    return _Prepared(
        frames=start_frame + np.arange(len(positions), dtype=np.float64),
        quaternions=make_continuous(channels.quaternions),
        root_location=channels.root_location,
        face=_weights_in_range(resample_linear(motion.face, positions), motion.face_names),
        smplx_local=local,
        smplx_trans=trans,
    )


def _reduce(prepared: _Prepared, target: TargetRig, parts: tuple[str, ...],
            face_names: tuple[str, ...], tolerances: Tolerances | None) -> _Prepared:
    """`prepared` with the keys each curve of `parts` needs (key_reduction.plan_keys)."""
    bones = [m for part in parts for m in target.part_indices(part)]
    root = target.root_index if TRANSLATION_PART in parts else None
    face = prepared.face if FACE_PART in parts else prepared.face[:, :0]
    plan = plan_keys(
        prepared.quaternions[:, bones], [target.joints[m] for m in bones],
        None if root is None else prepared.root_location, face,
        face_names if FACE_PART in parts else (), prepared.smplx_local, prepared.smplx_trans,
        target.leg_scale * target.armature_units_per_metre, tolerances)
    return replace(prepared, bone_keys={m: plan.bones[:, n] for n, m in enumerate(bones)},
                   root_keys=plan.root, face_keys=plan.face)


def _add_curve(builder: ActionBuilder, path: str, index: int, group: str, frames: np.ndarray,
               values: np.ndarray, keys: np.ndarray | None) -> None:
    builder.add_curve(path, index, group, frames, values, keys)


def _build_part(armature: Any, part: str, target: TargetRig, prepared: _Prepared,
                motion: MotionArrays) -> ActionBuilder:
    builder = ActionBuilder.create(f"{track_name(part)} {armature.name}", "OBJECT", armature.name)
    reduced = prepared.bone_keys is not None
    try:
        frames = prepared.frames
        for m in target.part_indices(part):
            bone = target.bones[m]
            path = _bone_path(bone, "rotation_quaternion")
            for axis in range(4):
                _add_curve(builder, path, axis, bone, frames, prepared.quaternions[:, m, axis],
                           prepared.bone_keys[m][:, axis] if reduced else None)
        root = target.root_index
        if part == TRANSLATION_PART and root is not None:
            bone = target.bones[root]
            for axis in range(3):
                _add_curve(builder, _bone_path(bone, "location"), axis, bone, frames,
                           prepared.root_location[:, axis],
                           prepared.root_keys[:, axis] if reduced else None)
        if part == FACE_PART and motion.face_names:
            add_face_property_curves(builder, frames, prepared.face, motion.face_names,
                                     prepared.face_keys)
    except Exception:
        builder.discard()
        raise
    return builder


def _stage_parts(armature: Any, parts: tuple[str, ...], target: TargetRig, prepared: _Prepared,
                 motion: MotionArrays, start_frame: int
                 ) -> tuple[list[StagedTrack], list[ShapeKeyAction]]:
    """Build every new action and stage it next to its track; returns the staged tracks and
    the shape-key sets keyed. On failure whatever was built or staged is removed again."""
    builders: list[ActionBuilder] = []
    key_actions: list[ShapeKeyAction] = []
    staged: list[StagedTrack] = []
    try:
        for part in parts:
            builders.append(_build_part(armature, part, target, prepared, motion))
        if FACE_PART in parts and motion.face_names:
            key_actions = build_shape_key_actions(
                armature, prepared.frames, prepared.face, motion.face_names,
                f"{track_name(FACE_PART)} {armature.name}", prepared.face_keys)
        for part, builder in zip(parts, builders, strict=True):
            staged.append(stage_on_track(armature, track_name(part), builder, start_frame))
        for item in key_actions:
            staged.append(stage_on_track(item.key, track_name(FACE_PART), item.builder,
                                         start_frame))
    except Exception:
        for track in reversed(staged):
            rollback_track(track)
        for builder in (*builders, *(item.builder for item in key_actions)):
            builder.discard()
        raise
    return staged, key_actions


def _commit_parts(armature: Any, parts: tuple[str, ...], target: TargetRig, motion: MotionArrays,
                  staged: list[StagedTrack], key_actions: list[ShapeKeyAction]) -> None:
    """Swap the staged tracks in: the only step that changes what the rig had."""
    for index in (m for part in parts for m in target.part_indices(part)):
        armature.pose.bones[target.bones[index]].rotation_mode = "QUATERNION"
    if FACE_PART in parts:
        ensure_face_properties(armature, motion.face_names)
        keyed = {item.key.name for item in key_actions}
        for key, _meshes in shape_key_meshes(armature):
            if key.name not in keyed:
                remove_track(key, track_name(FACE_PART))
    for item in key_actions:
        item.widen_sliders()
    for track in staged:
        commit_track(track)


def write_motion(
    armature: Any,
    motion: MotionArrays,
    parts: Iterable[str] = PARTS,
    start_frame: int = 1,
    bone_map: BoneMap | None = None,
    scene: Any = None,
    key_mode: str = EVERY_FRAME,
    tolerances: Tolerances | None = None,
) -> WriteResult:
    """Key `parts` of `motion` onto `armature`, replacing only those parts' tracks.

    The first key sits at `start_frame`; with key_mode EVERY_FRAME there is one linear key per
    frame of the scene's frame rate over the motion's duration, with REDUCED Bezier keys only on
    the frames each curve needs to play within `tolerances` of those (key_reduction.Tolerances'
    defaults when None). Other parts' actions are not touched. Everything is built and staged
    before the rig's own data changes, so an error leaves the scene as it was.
    """
    if key_mode not in KEY_MODES:
        raise AddonInputError(f"unknown key mode {key_mode!r}; choose from {', '.join(KEY_MODES)}")
    parts = _check_parts(parts)
    scene = scene or bpy.context.scene
    fps = scene_fps(scene)
    check_writable(armature, parts)
    bone_map = bone_map_for(armature, bone_map)
    coverage = rig_coverage(armature, bone_map, parts)
    coverage.require()
    # Switches such as Rigify's IK_FK change which bones follow which, so they are set first.
    previous = _set_pose_properties(armature, bone_map)
    try:
        target = _read_target(armature, bone_map)
        prepared = _prepare(motion, target, int(start_frame), fps)
        if key_mode == REDUCED:
            prepared = _reduce(prepared, target, parts, motion.face_names, tolerances)
        staged, key_actions = _stage_parts(armature, parts, target, prepared, motion,
                                           int(start_frame))
    except Exception:
        _restore_pose_properties(armature, previous)
        raise
    _commit_parts(armature, parts, target, motion, staged, key_actions)

    warnings = [text for text in (coverage.warning(),) if text]
    animation = armature.animation_data
    if animation is not None and animation.action is not None:
        warnings.append(f"{armature.name} has an active action ({animation.action.name}) that "
                        "overrides the Body Language tracks for the channels it keys")
    if FACE_PART in parts and motion.face_names:
        untouched = untouched_meshes(armature, (item.key for item in key_actions),
                                     motion.face_names)
        if not key_actions and not untouched:
            untouched = [f"no child mesh of {armature.name} has shape keys for the face "
                         "channels; they are keyed as custom properties only"]
        warnings += untouched
    return WriteResult(
        parts=parts,
        start_frame=int(start_frame),
        frame_count=len(prepared.frames),
        fps=fps,
        bone_map=bone_map.name,
        bones={part: tuple(target.bones[m] for m in target.part_indices(part)) for part in parts},
        shape_key_sets=len(key_actions),
        warnings=tuple(warnings),
        missing=coverage.missing(),
        rig_changes=describe_pose_changes(armature, previous),
    )


def remove_part(armature: Any, part: str) -> bool:
    """Delete a part's tracks (armature and shape keys); True when any existed."""
    _check_parts([part])
    removed = remove_track(armature, track_name(part))
    if part == FACE_PART:
        for key, _meshes in shape_key_meshes(armature):
            removed = remove_track(key, track_name(part)) or removed
    return removed


def part_action(armature: Any, part: str) -> Any | None:
    """The action on a part's track of the armature, or None."""
    strip = strip_on_track(armature, track_name(part))
    return None if strip is None else strip.action


@dataclass(frozen=True)
class PartReading:
    """A part read back from its track as SMPL-X data, sampled at `fps` from the strip's first
    frame. poses (K, 55, 3) hold the part's mapped joints (`joints`), zeros elsewhere; trans
    (K, 3) comes with the lower body, face (K, F) named `face_names` with the face."""

    part: str
    frames: np.ndarray
    fps: float
    joints: tuple[int, ...]
    poses: np.ndarray
    trans: np.ndarray | None
    face: np.ndarray | None
    face_names: tuple[str, ...]


def read_part(
    armature: Any, part: str, fps: float = FPS, bone_map: BoneMap | None = None,
    scene: Any = None,
) -> PartReading:
    """A part's keys as SMPL-X rotations, for conditioning the model on the parts kept.

    F-curves are evaluated, so keys an animator edited afterwards are read as they play.
    """
    _check_parts([part])
    strip = strip_on_track(armature, track_name(part))
    if strip is None or strip.action is None:
        raise AddonInputError(f"{armature.name} has no '{track_name(part)}' track to read")
    scene = scene or bpy.context.scene
    target = _read_target(armature, bone_map_for(armature, bone_map))
    span = (strip.frame_end - strip.frame_start) * fps / scene_fps(scene)
    count = int(np.floor(span + 1e-6)) + 1
    frames = strip.frame_start + np.arange(count) * scene_fps(scene) / fps
    action_frames = strip_action_frames(strip, frames)
    curves = {(fc.data_path, fc.array_index): fc for fc in action_fcurves(strip.action)}

    indices, quaternion_curves = [], []
    for m in target.part_indices(part):
        if target.extra[m]:
            continue
        path = _bone_path(target.bones[m], "rotation_quaternion")
        found = [curves.get((path, axis)) for axis in range(4)]
        if all(fc is not None for fc in found):
            indices.append(m)
            quaternion_curves.extend(found)
    quaternions = evaluate_curves(quaternion_curves, action_frames).reshape(count, -1, 4)
    quaternions /= np.linalg.norm(quaternions, axis=-1, keepdims=True)

    root_location = None
    root = target.root_index
    if root is not None and root in indices:
        path = _bone_path(target.bones[root], "location")
        found = [curves.get((path, axis)) for axis in range(3)]
        if all(fc is not None for fc in found):
            root_location = evaluate_curves(found, action_frames)
    rotations, trans = smplx_from_pose_channels(target, indices, quaternions, root_location)
    joints = tuple(target.joints[m] for m in indices)
    poses = np.zeros((count, NUM_JOINTS, 3))
    poses[:, list(joints)] = rotations

    face_curves = [(channel_from_property_path(fc.data_path), fc)
                   for fc in action_fcurves(strip.action)]
    face_curves = [(name, fc) for name, fc in face_curves if name is not None]
    face = None
    if face_curves:
        face = evaluate_curves([fc for _name, fc in face_curves], action_frames)
    return PartReading(
        part=part,
        frames=frames,
        fps=float(fps),
        joints=joints,
        poses=poses,
        trans=trans,
        face=face,
        face_names=tuple(name for name, _fc in face_curves),
    )
