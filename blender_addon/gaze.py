"""Listeners look at whoever is speaking: the neck, head and eyes of a silent character turned
toward the speaker's head (numpy only: no bpy, no core).

The model animates a listener's nods, blinks and breathing but cannot know where the speaker
stands, so the turn toward the speaker is added here, on top of the model's own head motion.

Where a motion stands in the scene follows what retarget.py keys on the add-on's SMPL-X rig: a
motion plays in world axes (SMPL-X turned Y-up to Z-up by SMPLX_TO_BLENDER) turned by the
armature object's heading (its turn about world Z) and by nothing else of its rotation; the
object's location and scale place it, and the rest of its rotation only moves the pelvis's rest
position. A joint at p (SMPL-X FK, default rest skeleton) lands in the world at

    t + M S o + (M O^T H) S (p - o)

with M, t the object matrix's 3x3 part and translation, O the rotation part of M (the polar
decomposition retarget.py takes), H its heading (quaternions.heading), S = SMPLX_TO_BLENDER and
o the pelvis's rest position.

How the job would call it, for a listener hearing one speaker in frames 120-260 and 400-515
(indices into the motions' frames, both ends included), the two motions starting on the same
scene frame with the same frame count and rate (pad the speaker's by repeating its end)::

    speaker_eyes = eye_midpoints(speaker_motion, np.array(speaker_armature.matrix_world))
    weight = listening_weight([(120, 260), (400, 515)], listener_motion.num_frames,
                              listener_motion.fps)
    turned = look_at(listener_motion, np.array(listener_armature.matrix_world), speaker_eyes,
                     weight)
    # then key `turned` onto the listener's armature as any generated motion

With several speakers, call look_at once per speaker on the previous call's result, with
spans that do not overlap between speakers (turns toward two speakers at once would add up):
each call leaves the frames where its weight is 0 untouched, and where two ramps cross (one
speaker's end, the next one's start) the two turns share the frames, so the head turns from one
speaker to the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .motion_arrays import AddonInputError, MotionArrays
from .quaternions import (
    axis_angle_to_matrix,
    heading,
    matrix_to_axis_angle,
    normalized_rotation,
)
from .skeleton_data import (
    JOINT_INDEX,
    ROOT_JOINT,
    SMPLX_TO_BLENDER,
    default_rest_offsets,
    forward_kinematics,
)

__all__ = [
    "GazeLimits", "eye_midpoints", "from_world", "listening_weight", "look_at", "to_world",
    "world_joints",
]

_SPINE3, _NECK, _HEAD = JOINT_INDEX["spine3"], JOINT_INDEX["neck"], JOINT_INDEX["head"]
_EYES = (JOINT_INDEX["left_eye"], JOINT_INDEX["right_eye"])
_OFFSETS = default_rest_offsets()
# The eyes' place ahead of the head shifts as the head turns, which changes the direction to a
# near target a little (5-10 degrees at 0.8 m); each round of aiming again cuts what is left
# about eightfold, so five leave under a hundredth of a degree.
_AIM_ROUNDS = 5


@dataclass(frozen=True)
class GazeLimits:
    """How far a listener turns toward a speaker, in radians from where the torso faces: the
    neck and head together at most `yaw` to either side and `pitch` up or down, the neck taking
    `neck_share` of that; the eyes then turn the rest of the way, at most `eyes` each way."""

    yaw: float = float(np.radians(60.0))
    pitch: float = float(np.radians(30.0))
    eyes: float = float(np.radians(25.0))
    neck_share: float = 0.4


# ------------------------------------------------------------------------ placing the motion


def _placement(armature_world: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M (3x3), t and H^T O (the object's rotation less its heading, which the motion keeps) of
    a finite, invertible 4x4 object matrix."""
    matrix = np.asarray(armature_world, dtype=np.float64)
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
        raise AddonInputError(f"armature matrix must be a finite 4x4 matrix, got {matrix.shape}")
    linear = matrix[:3, :3]
    if abs(np.linalg.det(linear)) < 1e-12:
        raise AddonInputError("armature matrix is singular (a zero scale)")
    rotation = normalized_rotation(linear)
    return linear, matrix[:3, 3], heading(rotation).T @ rotation


def to_world(points: np.ndarray, armature_world: np.ndarray) -> np.ndarray:
    """[..., 3] SMPL-X FK positions of a motion keyed on an armature with this world matrix,
    as Blender world positions (see the module's docstring)."""
    linear, offset, rotation = _placement(armature_world)
    pelvis = _OFFSETS[ROOT_JOINT]
    relative = (np.asarray(points, dtype=np.float64) - pelvis) @ SMPLX_TO_BLENDER.T
    return offset + linear @ SMPLX_TO_BLENDER @ pelvis + relative @ (linear @ rotation.T).T


def from_world(points: np.ndarray, armature_world: np.ndarray) -> np.ndarray:
    """[..., 3] Blender world positions in the SMPL-X FK space of a motion keyed on an armature
    with this world matrix: the inverse of `to_world`."""
    linear, offset, rotation = _placement(armature_world)
    pelvis = _OFFSETS[ROOT_JOINT]
    local = (np.asarray(points, dtype=np.float64) - offset) @ np.linalg.inv(linear).T
    return pelvis + (local - SMPLX_TO_BLENDER @ pelvis) @ rotation.T @ SMPLX_TO_BLENDER


def world_joints(
    motion: MotionArrays, armature_world: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions (T, 55, 3) and rotations (T, 55, 3, 3) of `motion` keyed on an
    armature with this world matrix. A rotation's columns are the joint's SMPL-X axes (its left,
    up and forward at rest) in the world, exact for a uniformly scaled armature."""
    positions, rotations = forward_kinematics(motion.poses, motion.trans)
    linear, _offset, _rest = _placement(armature_world)
    return (to_world(positions, armature_world),
            heading(normalized_rotation(linear)) @ SMPLX_TO_BLENDER @ rotations)


def eye_midpoints(motion: MotionArrays, armature_world: np.ndarray) -> np.ndarray:
    """(T, 3) world position between the eyes: where a listener looks at this speaker."""
    positions, _ = world_joints(motion, armature_world)
    return positions[:, list(_EYES)].mean(axis=1)


# ---------------------------------------------------------------------------- listening spans


def _smoothstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _merged(spans: Sequence[tuple[int, int]], num_frames: int) -> list[tuple[int, int]]:
    """Spans clipped to the clip, sorted, with overlapping or touching ones joined."""
    clipped = []
    for first, last in spans:
        if int(first) != first or int(last) != last or last < first:
            raise AddonInputError(f"listening span ({first}, {last}) is not a whole-frame "
                                  "(first, last) pair with first <= last")
        if last >= 0 and first < num_frames:
            clipped.append((max(int(first), 0), min(int(last), num_frames - 1)))
    merged: list[tuple[int, int]] = []
    for first, last in sorted(clipped):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def listening_weight(
    spans: Sequence[tuple[int, int]], num_frames: int, fps: float, ramp_seconds: float = 0.3
) -> np.ndarray:
    """(num_frames,) weight for look_at: 1 inside the listening spans (first, last frame, both
    included), 0 away from them, with smoothstep ramps of `ramp_seconds` centred on each span's
    edges (half a frame outside its first and last frame), so the head turns rather than snaps.

    Centred ramps make one span's end and the next span's start, back to back, add up to 1 on
    every frame: the head turns from one speaker to the next without passing through the front.
    A span reaching the clip's first or last frame has no ramp there (the listening goes on
    beyond the clip). Overlapping or touching spans merge. The steepest step between frames is
    1.5 / (ramp_seconds * fps), smoothstep's steepest slope.
    """
    if num_frames < 1:
        raise AddonInputError("a listening weight needs at least one frame")
    ramp = float(ramp_seconds) * float(fps)
    if not np.isfinite(ramp) or ramp < 0:
        raise AddonInputError(f"ramp of {ramp_seconds} s at {fps} fps is not a duration")
    frames = np.arange(num_frames, dtype=np.float64)
    weight = np.zeros(num_frames)
    for first, last in _merged(spans, num_frames):
        rising = np.ones(num_frames) if first == 0 else _edge(frames - (first - 0.5), ramp)
        falling = np.ones(num_frames) if last == num_frames - 1 else _edge(
            (last + 0.5) - frames, ramp)
        weight = np.maximum(weight, np.minimum(rising, falling))
    return weight


def _edge(past_edge: np.ndarray, ramp: float) -> np.ndarray:
    """Smoothstep from 0 to 1 across an edge, `past_edge` frames after it, `ramp` frames wide
    (a step when the ramp is shorter than a frame)."""
    if ramp < 1e-9:
        return (past_edge > 0).astype(np.float64)
    return _smoothstep(past_edge / ramp + 0.5)


# ------------------------------------------------------------------------------- the turning


def _yaw_pitch(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """[..., 3, 3] turns taking +Z to the direction `yaw` toward +X (the left) and `pitch` up:
    a yaw about +Y after a pitch about -X."""
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    zero = np.zeros_like(cy)
    # Ry(yaw) @ Rx(-pitch), written out.
    return np.stack([
        np.stack([cy, -sy * sp, sy * cp], axis=-1),
        np.stack([zero, cp, sp], axis=-1),
        np.stack([-sy, -cy * sp, cy * cp], axis=-1),
    ], axis=-2)


def _angles(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Yaw (toward +X) and pitch (toward +Y) of [..., 3] directions from +Z."""
    x, y, z = direction[..., 0], direction[..., 1], direction[..., 2]
    return np.arctan2(x, z), np.arctan2(y, np.hypot(x, z))


def _apply(frames: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """[T, 3, 3] rotations applied to [T, 3] (or one [3]) vectors."""
    return np.einsum("tij,tj->ti", frames, np.broadcast_to(vectors, frames.shape[:-1]))


def _head_aim(
    torso: np.ndarray, neck: np.ndarray, target: np.ndarray, limits: GazeLimits
) -> tuple[np.ndarray, np.ndarray]:
    """Yaw and pitch (T,) from the torso's facing that point the head's gaze, started from the
    neck joint with the model's neck and head at rest, at the target, within the limits.

    The aim is taken from this neutral head, not from the model's: aiming the model's head
    would cancel its nods, which must survive on top of the turn."""
    yaw = pitch = np.zeros(len(torso))
    eyes_ahead = _OFFSETS[list(_EYES)].mean(axis=0)
    for _ in range(_AIM_ROUNDS):
        neck_turn = _yaw_pitch(limits.neck_share * yaw, limits.neck_share * pitch)
        head_turn = _yaw_pitch(yaw, pitch)
        # Eye midpoint in torso axes: the head joint on the turned neck, the eyes on the head.
        eyes = _apply(neck_turn, _OFFSETS[_HEAD]) + _apply(head_turn, eyes_ahead)
        seen = np.einsum("tji,tj->ti", torso, target - neck) - eyes
        yaw, pitch = _angles(seen)
        yaw = np.clip(yaw, -limits.yaw, limits.yaw)
        pitch = np.clip(pitch, -limits.pitch, limits.pitch)
    return yaw, pitch


def _eye_turns(
    head: np.ndarray, head_position: np.ndarray, target: np.ndarray, weight: np.ndarray,
    limits: GazeLimits,
) -> list[np.ndarray]:
    """Per eye, the turn in the (turned) head's axes that points its gaze at the target, within
    the eye's limit, scaled by the weight. Taken from the final head, nods included, the eyes
    hold the target while the head nods, as a person's do."""
    turns = []
    for eye in _EYES:
        position = head_position + _apply(head, _OFFSETS[eye])
        yaw, pitch = _angles(np.einsum("tji,tj->ti", head, target - position))
        yaw = np.clip(yaw, -limits.eyes, limits.eyes)
        pitch = np.clip(pitch, -limits.eyes, limits.eyes)
        turns.append(_yaw_pitch(weight * yaw, weight * pitch))
    return turns


def _checked(
    motion: MotionArrays, targets: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    frames = motion.num_frames
    targets = np.asarray(targets, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    if targets.shape != (frames, 3) or not np.all(np.isfinite(targets)):
        raise AddonInputError(f"gaze targets must be finite ({frames}, 3), got {targets.shape}")
    if weight.shape != (frames,) or not np.all((weight >= 0.0) & (weight <= 1.0)):
        raise AddonInputError(f"gaze weight must be ({frames},) values in [0, 1]")
    return targets, weight


def look_at(
    motion: MotionArrays,
    armature_world: np.ndarray,
    targets: np.ndarray,
    weight: np.ndarray,
    limits: GazeLimits = GazeLimits(),
) -> MotionArrays:
    """`motion` with the neck, head and eyes turned toward `targets` (T, 3), Blender world
    positions (the speaker's eye_midpoints), by `weight` (T,) in [0, 1] (listening_weight);
    `armature_world` is the listener armature's 4x4 world matrix.

    The turn is reckoned from where the torso (spine3) faces and added in front of the model's
    own neck and head rotations (in their parents' axes), so the model's nods go on inside the
    turned head. The neck takes limits.neck_share of the yaw and pitch, the head the rest; the
    eyes turn the rest of the way to the target, within their limit. Only the neck, head and eye
    joints change, and frames whose weight is 0 come back bit for bit as they were.
    """
    targets, weight = _checked(motion, targets, weight)
    active = np.flatnonzero(weight > 0.0)
    poses = motion.poses.copy()
    if len(active) == 0:
        return replace(motion, poses=poses)
    amount = weight[active]
    positions, rotations = forward_kinematics(motion.poses[active], motion.trans[active])
    torso = rotations[:, _SPINE3]
    target = from_world(targets[active], armature_world)
    yaw, pitch = _head_aim(torso, positions[:, _NECK], target, limits)
    yaw, pitch = amount * yaw, amount * pitch
    neck_turn = _yaw_pitch(limits.neck_share * yaw, limits.neck_share * pitch)
    whole_turn = _yaw_pitch(yaw, pitch)
    neck = axis_angle_to_matrix(motion.poses[active, _NECK])
    head = axis_angle_to_matrix(motion.poses[active, _HEAD])
    turned_neck = neck_turn @ neck
    # The head's share, in the neck's axes: the neck turn and this one make the whole turn.
    head_share = np.swapaxes(neck, -1, -2) @ np.swapaxes(neck_turn, -1, -2) @ whole_turn @ neck
    turned_head = head_share @ head
    head_world = torso @ turned_neck @ turned_head
    head_position = positions[:, _NECK] + _apply(torso @ turned_neck, _OFFSETS[_HEAD])
    eye_turns = _eye_turns(head_world, head_position, target, amount, limits)
    poses[active, _NECK] = matrix_to_axis_angle(turned_neck)
    poses[active, _HEAD] = matrix_to_axis_angle(turned_head)
    for eye, turn in zip(_EYES, eye_turns, strict=True):
        poses[active, eye] = matrix_to_axis_angle(turn @ axis_angle_to_matrix(poses[active, eye]))
    return replace(motion, poses=poses)
