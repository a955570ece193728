"""Motion <-> the per-part feature arrays the motion VQ-VAEs read and write.

Every part becomes a float32 (T, D) array, one row per frame:

    face   6D rotations of jaw and both eyes (18) + the face channels of the motion's face space
    hands  6D rotations of the 30 finger joints (180)
    upper  6D rotations of the 13 spine/neck/arm joints (78)
    lower  6D rotations of the 9 pelvis/leg joints (54)
           + root velocity: the horizontal step of `trans` since the previous frame, expressed in
             the pelvis-heading frame (2), and the pelvis height trans[:, 1] (1)
           + foot contact: 0/1 for left ankle, left foot, right ankle, right foot (4)

The root velocity is turned into the character's heading frame so that the same walk gives the same
features whichever way the character faces; `trans` is rebuilt by integrating it from a given start
position. Foot contacts are derived channels (they help the lower-body model learn planted feet) and
are not needed to rebuild the motion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from core.errors import BodyLanguageError
from core.face_spaces import channel_names
from core.motion import Motion
from core.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_rot6d,
    rot6d_to_axis_angle,
    rot6d_to_matrix,
)
from core.skeleton import NUM_JOINTS, PARENTS, PART_JOINTS, PARTS, default_rest_offsets

ROT6D = 6
# Lower-body layout after the joint rotations.
ROOT_VELOCITY_CHANNELS = 2  # heading-frame step along the character's left (x) and forward (z)
ROOT_HEIGHT_CHANNELS = 1
# Left ankle, left foot, right ankle, right foot: a foot is planted on its heel, its ball, or both.
CONTACT_JOINTS: tuple[int, ...] = (7, 10, 8, 11)
# Pelvis, hips, knees, ankles, feet: every joint that moves a foot, parents first.
_LEG_CHAIN: tuple[int, ...] = (0, 1, 2, 4, 5, 7, 8, 10, 11)
# A joint is in contact when it is this close to its lowest height in the clip and this slow.
CONTACT_HEIGHT_M = 0.05
CONTACT_SPEED_M_S = 0.3
# Channels whose spread in the data is below this are not blown up by the normalisation.
MIN_FEATURE_STD = 1e-2


@dataclass(frozen=True)
class LowerLayout:
    """Where each kind of channel sits in a lower-body feature row."""

    rotations: slice
    velocity: slice
    height: int
    contacts: slice


LOWER = LowerLayout(
    rotations=slice(0, len(PART_JOINTS["lower"]) * ROT6D),
    velocity=slice(len(PART_JOINTS["lower"]) * ROT6D,
                   len(PART_JOINTS["lower"]) * ROT6D + ROOT_VELOCITY_CHANNELS),
    height=len(PART_JOINTS["lower"]) * ROT6D + ROOT_VELOCITY_CHANNELS,
    contacts=slice(len(PART_JOINTS["lower"]) * ROT6D + ROOT_VELOCITY_CHANNELS
                   + ROOT_HEIGHT_CHANNELS, None),
)


def _check_part(part: str) -> None:
    if part not in PART_JOINTS:
        raise BodyLanguageError(f"unknown body part {part!r}; expected one of {PARTS}")


def rotation_dim(part: str) -> int:
    """How many leading channels of the part's features are 6D joint rotations."""
    _check_part(part)
    return len(PART_JOINTS[part]) * ROT6D


def feature_dim(part: str, face_space: str = "arkit52") -> int:
    """Width D of the part's (T, D) features; the face's depends on its face space."""
    _check_part(part)
    if part == "face":
        return rotation_dim(part) + len(channel_names(face_space))
    if part == "lower":
        return (rotation_dim(part) + ROOT_VELOCITY_CHANNELS + ROOT_HEIGHT_CHANNELS
                + len(CONTACT_JOINTS))
    return rotation_dim(part)


# --- heading ------------------------------------------------------------------------------------


def heading_angles(pelvis_matrices: np.ndarray) -> np.ndarray:
    """(T,) yaw about +Y of the pelvis, 0 when the character faces +Z.

    Read from the pelvis' left axis (its first column), which stays horizontal whether the data is
    Y-up or was captured lying along another axis; the forward direction is that axis turned by -90
    degrees about Y.
    """
    left = np.asarray(pelvis_matrices, dtype=np.float64)[..., :, 0]
    return np.arctan2(-left[..., 2], left[..., 0])


def _turn_about_y(xz: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(T, 2) horizontal vectors (x, z) rotated by `angle` (T,) about +Y."""
    cos, sin = np.cos(angle), np.sin(angle)
    x, z = xz[:, 0], xz[:, 1]
    return np.stack([x * cos + z * sin, -x * sin + z * cos], axis=1)


def root_velocity(trans: np.ndarray, headings: np.ndarray) -> np.ndarray:
    """(T, 2) horizontal step of `trans` into frame t, in the heading frame of frame t.

    Frame 0 has no previous frame and repeats frame 1's step, so a clip starts in motion if it is
    in motion (a zero there would read as a sudden stop at every clip start).
    """
    trans = np.asarray(trans, dtype=np.float64)
    steps = np.zeros((trans.shape[0], 2), np.float64)
    if trans.shape[0] > 1:
        steps[1:] = trans[1:, [0, 2]] - trans[:-1, [0, 2]]
        steps[0] = steps[1]
    return _turn_about_y(steps, -headings)


def integrate_root(
    velocity: np.ndarray, height: np.ndarray, headings: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """(T, 3) translation rebuilt from heading-frame steps, starting at `start` (x, z used)."""
    steps = _turn_about_y(np.asarray(velocity, dtype=np.float64), np.asarray(headings))
    steps[0] = 0.0  # frame 0's step is a copy of frame 1's, not a real move
    start = np.asarray(start, dtype=np.float64).reshape(3)
    trans = np.empty((steps.shape[0], 3), np.float64)
    trans[:, 0] = start[0] + np.cumsum(steps[:, 0])
    trans[:, 2] = start[2] + np.cumsum(steps[:, 1])
    trans[:, 1] = height
    return trans


# --- foot contact -------------------------------------------------------------------------------


def _leg_positions(poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """(T, 4, 3) world positions of CONTACT_JOINTS: forward kinematics of the pelvis and legs
    only, on the default skeleton (the rest of the body cannot move the feet)."""
    offsets = default_rest_offsets()
    local = axis_angle_to_matrix(np.asarray(poses, np.float32)[:, list(_LEG_CHAIN)])
    index = {joint: k for k, joint in enumerate(_LEG_CHAIN)}
    world = {0: local[:, 0]}
    position = {0: offsets[0] + np.asarray(trans, np.float64)}
    for joint in _LEG_CHAIN[1:]:
        parent = PARENTS[joint]
        world[joint] = world[parent] @ local[:, index[joint]]
        position[joint] = position[parent] + world[parent] @ offsets[joint]
    return np.stack([position[joint] for joint in CONTACT_JOINTS], axis=1)


def foot_contacts(poses: np.ndarray, trans: np.ndarray, fps: float) -> np.ndarray:
    """(T, 4) float32 0/1 contacts of left ankle, left foot, right ankle, right foot.

    A joint is planted when it is within CONTACT_HEIGHT_M of its lowest height in the clip (the
    floor's height is unknown for BEAT2 data, so the clip's lowest point stands in for it) and
    moves slower than CONTACT_SPEED_M_S. Positions come from FK on the default skeleton.
    """
    positions = _leg_positions(poses, trans)
    height = positions[..., 1]
    near_floor = height - height.min(axis=0, keepdims=True) < CONTACT_HEIGHT_M
    speed = np.zeros(height.shape, np.float64)
    if positions.shape[0] > 1:
        speed[1:] = np.linalg.norm(np.diff(positions, axis=0), axis=-1) * fps
        speed[0] = speed[1]
    return (near_floor & (speed < CONTACT_SPEED_M_S)).astype(np.float32)


# --- Motion -> features -------------------------------------------------------------------------


def part_features(motion: Motion, part: str) -> np.ndarray:
    """(T, D) float32 features of one body part of `motion` (see the module docstring)."""
    _check_part(part)
    joints = list(PART_JOINTS[part])
    rotations = axis_angle_to_rot6d(motion.poses[:, joints])
    columns = [rotations.reshape(motion.num_frames, -1)]
    if part == "face":
        columns.append(motion.face)
    elif part == "lower":
        headings = heading_angles(axis_angle_to_matrix(motion.poses[:, 0]))
        columns.append(root_velocity(motion.trans, headings))
        columns.append(motion.trans[:, 1:2])
        columns.append(foot_contacts(motion.poses, motion.trans, motion.fps))
    return np.concatenate([c.astype(np.float32) for c in columns], axis=1)


def motion_features(motion: Motion, parts: Iterable[str] = PARTS) -> dict[str, np.ndarray]:
    """Features of every requested part: part name -> (T, D) float32."""
    return {part: part_features(motion, part) for part in parts}


# --- features -> Motion -------------------------------------------------------------------------


@dataclass(frozen=True)
class PartChannels:
    """What a part's features rebuild: joint rotations, and the face channels or root."""

    part: str
    rotations: np.ndarray  # (T, J, 3) axis-angle of PART_JOINTS[part]
    face: np.ndarray | None = None  # (T, F) for the face
    trans: np.ndarray | None = None  # (T, 3) for the lower body


def _checked_features(part: str, features: np.ndarray, face_space: str) -> np.ndarray:
    features = np.asarray(features)
    width = feature_dim(part, face_space)
    if features.ndim != 2 or features.shape[1] != width or features.shape[0] == 0:
        raise BodyLanguageError(
            f"{part} features have shape {features.shape}, expected (T, {width}) with T > 0"
            + (f" for face space {face_space!r}" if part == "face" else "")
        )
    if not np.isfinite(features).all():
        raise BodyLanguageError(f"{part} features hold NaN or infinite values")
    return features.astype(np.float32)


def part_channels(
    part: str,
    features: np.ndarray,
    start_trans: np.ndarray | None = None,
    face_space: str = "arkit52",
) -> PartChannels:
    """Rebuild one part's channels from its (T, D) features.

    6D rotations are orthonormalised (decoded features need not be exact rotations); the lower
    body's `trans` is integrated from `start_trans` (x, z; the height comes from the features),
    the origin when not given.
    """
    features = _checked_features(part, features, face_space)
    frames = features.shape[0]
    count = rotation_dim(part)
    rot6d = features[:, :count].reshape(frames, -1, ROT6D)
    rotations = rot6d_to_axis_angle(rot6d).astype(np.float32)
    if part == "face":
        return PartChannels(part, rotations, face=features[:, count:].astype(np.float32))
    if part == "lower":
        headings = heading_angles(rot6d_to_matrix(rot6d[:, 0]))
        start = np.zeros(3) if start_trans is None else start_trans
        trans = integrate_root(
            features[:, LOWER.velocity], features[:, LOWER.height], headings, start
        )
        return PartChannels(part, rotations, trans=trans.astype(np.float32))
    return PartChannels(part, rotations)


def assemble(
    parts: Mapping[str, np.ndarray],
    start_trans: np.ndarray | None = None,
    fps: float = 30.0,
    face_space: str = "arkit52",
) -> Motion:
    """A Motion from the features of some or all parts; parts not given stay at rest.

    Without a lower body the root stays at `start_trans` (the origin when not given).
    """
    if not parts:
        raise BodyLanguageError("cannot assemble a motion from zero parts")
    lengths = {part: int(np.shape(features)[0]) for part, features in parts.items()}
    if len(set(lengths.values())) != 1:
        raise BodyLanguageError(f"part features differ in length: {lengths}")
    frames = next(iter(lengths.values()))
    poses = np.zeros((frames, NUM_JOINTS, 3), np.float32)
    face = np.zeros((frames, len(channel_names(face_space))), np.float32)
    start = np.zeros(3) if start_trans is None else np.asarray(start_trans, np.float64)
    trans = np.repeat(start.reshape(1, 3), frames, axis=0).astype(np.float32)
    for part, features in parts.items():
        channels = part_channels(part, features, start, face_space)
        poses[:, list(PART_JOINTS[part])] = channels.rotations
        if channels.face is not None:
            face = channels.face
        if channels.trans is not None:
            trans = channels.trans
    return Motion(poses=poses, trans=trans, face=face, face_space=face_space, fps=fps)


# --- normalisation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureStats:
    """Per-channel mean and spread of a part's features, learned from data, kept with the model."""

    mean: np.ndarray  # (D,) float32
    std: np.ndarray  # (D,) float32, never below MIN_FEATURE_STD

    @classmethod
    def from_arrays(cls, arrays: Iterable[np.ndarray]) -> FeatureStats:
        """Statistics over every frame of every (T, D) array (accumulated in float64)."""
        count, total, squares = 0, None, None
        for array in arrays:
            array = np.asarray(array, dtype=np.float64)
            if array.ndim != 2 or array.shape[0] == 0:
                raise BodyLanguageError(f"feature arrays must be (T, D), got {array.shape}")
            if total is None:
                total, squares = np.zeros(array.shape[1]), np.zeros(array.shape[1])
            elif array.shape[1] != total.shape[0]:
                raise BodyLanguageError(
                    f"feature arrays differ in width: {array.shape[1]} vs {total.shape[0]}"
                )
            count += array.shape[0]
            total += array.sum(axis=0)
            squares += (array * array).sum(axis=0)
        if total is None:
            raise BodyLanguageError("no feature arrays to compute statistics from")
        mean = total / count
        variance = np.maximum(squares / count - mean * mean, 0.0)
        std = np.maximum(np.sqrt(variance), MIN_FEATURE_STD)
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def normalise(self, features: np.ndarray) -> np.ndarray:
        return ((np.asarray(features, np.float32) - self.mean) / self.std).astype(np.float32)

    def denormalise(self, features: np.ndarray) -> np.ndarray:
        return (np.asarray(features, np.float32) * self.std + self.mean).astype(np.float32)
