"""Reduced keys: Bezier keys only where an F-curve needs one to stay within a tolerance of the
every-frame motion, so an animator gets curves to edit instead of one key per frame (no bpy).

The selection is measured on the curve Blender will play. Each stretch between two keys is a
cubic Bezier segment whose two handles sit a third and two thirds of the way along it (so a
frame's place on the segment is linear in the frame) at values fitted by least squares to the
frames in between; the writer keys them as Free handles (`key_handles`). Fitted handles follow a
curve with far fewer keys than Blender's Auto Clamped ones would need (a 60 s performance: 18x
fewer keys in all against 8.8x, the face 11.5x against 5.8x); the price is that a key's two
handles need not line up, so a curve may turn a little at a key.

`reduce_keys` starts from the first and last frame (and the frames that must be kept) and, pass
after pass, puts a key on the worst frame of every stretch between two keys that is out of
tolerance anywhere, until no frame is: a Douglas-Peucker split measured on the played curve.
Channels that must share key frames form a group: a bone's four quaternion components (the
error is the angle between the played and the wanted rotation), the root location's three axes
(the distance), a face channel alone.

`plan_keys` applies this to a performance: 0.5 degrees per bone, 1 mm of root location, 0.005
per face channel. While a foot is on the floor it stays within 2 mm: its worst case, the root's
error plus each bone's angle error times its distance to the foot, is checked on the reduced
curves, and where it is over, the root and the bones above that foot share those 2 mm evenly.
Where the mouth closes (a minimum of jawOpen, or of the jaw's angle, in its closed band) the jaw
and mouth curves keep a key, so the closed value plays exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .face import normalize_channel_name
from .quaternions import quaternion_to_axis_angle
from .skeleton_data import (
    JOINT_INDEX,
    NUM_JOINTS,
    PARENTS,
    default_rest_positions,
    forward_kinematics,
    leaf_tail_offset,
)

ANGLE = "angle"  # groups of quaternion components: the rotation angle, radians
DISTANCE = "distance"  # any other group: the Euclidean distance over its channels

# Pruning judges keys this many apart in one evaluation, in a few rounds over all of them.
_PRUNE_SPACING = 4
_PRUNE_ROUNDS = 3

# A foot joint within this of its lowest point in the clip is on the floor (core/foot_contact.py
# reads contacts the same way).
CONTACT_HEIGHT_M = 0.04
_SIDES = {"left": ("left_ankle", "left_foot"), "right": ("right_ankle", "right_foot")}
# A mouth this much of its usual opening above its most closed (or less) is closed
# (core/eval/performance.py counts a jaw below 35 % of its open-vowel opening as closed).
CLOSED_SHARE = 0.35
_OPEN_PERCENTILE = 95.0
_JAW = JOINT_INDEX["jaw"]


@dataclass(frozen=True)
class Tolerances:
    """How far a reduced curve may play from the every-frame one, per channel kind."""

    rotation_degrees: float = 0.5  # per bone: the angle between played and wanted rotation
    location_m: float = 0.001  # the root's location, metres on an SMPL-X sized body
    face: float = 0.005  # per face channel (shape key or custom property)
    planted_foot_m: float = 0.002  # a foot on the floor, through every bone above it

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not np.isfinite(value) or value <= 0.0:
                raise ValueError(f"tolerance {name} must be a positive number, got {value!r}")


# ------------------------------------------------------------------------------ played curves


# A whisper of pull toward a straight segment's handles: it settles segments with fewer than two
# frames between their keys and changes no fit the frames decide.
_RIDGE = 1e-9


@dataclass(frozen=True)
class _Segments:
    """Each keyed curve cut into cubic Bezier segments between consecutive keys."""

    flat_keys: np.ndarray  # flat (C * N) indices of the keys, curve by curve
    between: np.ndarray  # flat indices of the frames between keys
    segment: np.ndarray  # the segment (its first key's rank in flat_keys) of each such frame
    u: np.ndarray  # where in its segment each such frame lies, 0..1
    right: np.ndarray  # per segment: the value of its first key's right handle
    left: np.ndarray  # per segment: the value of its second key's left handle


def _segments(values: np.ndarray, keys: np.ndarray) -> _Segments:
    """The least-squares handles of every segment of `values` (C, N) keyed on `keys` (C, N).

    A segment's handles sit a third and two thirds of the way along it, so the frame maps to
    the curve parameter linearly and only their values are free: those two are fitted to the
    frames in between (fixed keys at both ends), one 2x2 solve per segment."""
    frames = values.shape[1]
    flat = values.reshape(-1)
    flat_keys = np.flatnonzero(keys)
    between = np.flatnonzero(~keys.reshape(-1))
    k = np.searchsorted(flat_keys, between) - 1
    x0, x3 = flat_keys[k] % frames, flat_keys[k + 1] % frames
    u = ((between % frames) - x0) / (x3 - x0)
    y0, y3 = flat[flat_keys[:-1]], flat[flat_keys[1:]]
    v = 1.0 - u
    b1, b2 = 3.0 * u * v * v, 3.0 * u * u * v
    rest = flat[between] - v * v * v * y0[k] - u * u * u * y3[k]
    count = len(flat_keys) - 1

    def total(weights: np.ndarray) -> np.ndarray:
        return np.bincount(k, weights, minlength=count)

    line1, line2 = y0 + (y3 - y0) / 3.0, y0 + 2.0 * (y3 - y0) / 3.0
    s11, s12, s22 = total(b1 * b1) + _RIDGE, total(b1 * b2), total(b2 * b2) + _RIDGE
    r1, r2 = total(b1 * rest) + _RIDGE * line1, total(b2 * rest) + _RIDGE * line2
    det = s11 * s22 - s12 * s12
    right, left = (s22 * r1 - s12 * r2) / det, (s11 * r2 - s12 * r1) / det
    return _Segments(flat_keys, between, k, u, right, left)


def bezier_curves(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """(C, N): what Blender plays on frames 0..N-1 of C F-curves with Bezier keys of `values`
    (C, N) on the frames `keys` (C, N) marks and key_handles' handles. Every curve keys its
    first and last frame."""
    curves, frames = values.shape
    played = np.array(values, dtype=np.float64).reshape(-1)
    if keys.all():  # every frame keyed: the keys are what plays
        return played.reshape(curves, frames)
    seg = _segments(played.reshape(curves, frames), keys)
    u, k = seg.u, seg.segment
    v = 1.0 - u
    y = played[seg.flat_keys]
    played[seg.between] = (v * v * v * y[k] + 3.0 * u * v * v * seg.right[k]
                           + 3.0 * u * u * v * seg.left[k] + u * u * u * y[k + 1])
    return played.reshape(curves, frames)


def key_handles(values: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left, right): (K,) handle values of the K keys of one curve `values` (N,) keyed on
    `keys` (N,), each handle a third of the way to the neighbouring key (Free handles); the
    first key's left and the last key's right handle are level with their key."""
    curve = _stored(values)[None]
    seg = _segments(curve, np.asarray(keys, bool)[None])
    y = curve[0][seg.flat_keys]
    left, right = y.copy(), y.copy()
    left[1:], right[:-1] = seg.left, seg.right
    return left, right


def played_groups(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """(G, N, K): bezier_curves for G groups of K curves, values and keys (G, N, K)."""
    groups, frames, width = values.shape
    played = bezier_curves(values.transpose(0, 2, 1).reshape(-1, frames),
                           keys.transpose(0, 2, 1).reshape(-1, frames))
    return played.reshape(groups, width, frames).transpose(0, 2, 1)


def _stored(values: np.ndarray) -> np.ndarray:
    """Values as an F-curve stores them (float32), in float64 for the arithmetic."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def curve_error(wanted: np.ndarray, played: np.ndarray, metric: str = DISTANCE) -> np.ndarray:
    """(G, N) error of played (G, N, K) against wanted: the distance over K, or for ANGLE the
    angle in radians between the rotations of the two (unnormalized) quaternions."""
    if metric == DISTANCE:
        return np.sqrt(np.sum((played - wanted) ** 2, axis=-1))
    if metric != ANGLE:
        raise ValueError(f"unknown error metric {metric!r}")
    a = wanted / np.linalg.norm(wanted, axis=-1, keepdims=True)
    b = played / np.linalg.norm(played, axis=-1, keepdims=True)
    b = b * np.where(np.sum(a * b, axis=-1) < 0.0, -1.0, 1.0)[..., None]
    # The half-chord form keeps small angles exact where arccos of the dot product would not.
    return 4.0 * np.arctan2(np.linalg.norm(a - b, axis=-1), np.linalg.norm(a + b, axis=-1))


# ------------------------------------------------------------------------------ choosing keys


def _worst_frames(excess: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Flat (C * N) indices of the worst frame of every stretch between keys whose worst
    excess (error / tolerance) is above 1."""
    flat = excess.reshape(-1)
    starts = np.flatnonzero(keys)
    worst = np.maximum.reduceat(flat, starts)
    stretch = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, flat.size]))
    candidates = np.flatnonzero((flat == worst[stretch]) & (worst[stretch] > 1.0))
    _stretches, first = np.unique(stretch[candidates], return_index=True)
    return candidates[first]


def _insert_keys(values: np.ndarray, limit: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """More keys (C, N) until every curve of values (C, N) plays within limit (C, N)."""
    keys = keys.copy()
    keys[:, [0, -1]] = True
    active = np.arange(values.shape[0])
    while active.size:
        excess = np.abs(bezier_curves(values[active], keys[active]) - values[active])
        new = _worst_frames(excess / limit[active], keys[active])
        rows, frames = np.divmod(new, values.shape[1])
        keys[active[rows], frames] = True
        active = np.unique(active[rows])
    return keys


def _removable(values: np.ndarray, limit: np.ndarray, keys: np.ndarray, fixed: np.ndarray,
               residue: int) -> np.ndarray:
    """Flat indices of the keys of rank `residue` modulo _PRUNE_SPACING in their curve that can
    go: each only merges the two segments beside it, so at that spacing every removal
    changes the curve on frames no other one does, and all are judged from one evaluation."""
    flat_keys = np.flatnonzero(keys)
    curve = flat_keys // values.shape[1]
    index = np.arange(flat_keys.size)
    first = np.searchsorted(curve, curve, side="left")
    last = np.searchsorted(curve, curve, side="right") - 1
    chosen = np.flatnonzero(((index - first) % _PRUNE_SPACING == residue) & (index > first)
                            & (index < last) & ~fixed.reshape(-1)[flat_keys])
    if not chosen.size:
        return chosen
    trial = keys.copy()
    trial[np.divmod(flat_keys[chosen], values.shape[1])] = False
    excess = np.abs(bezier_curves(values, trial) - values) / limit
    worst = np.maximum.reduceat(excess.reshape(-1), flat_keys)  # per stretch between old keys
    # A removal refits the stretch from its key before to its key after (the reach below is
    # wider, which costs nothing).
    reach = [np.clip(chosen + offset, first[chosen], last[chosen] - 1) for offset in (-2, -1, 0, 1)]
    return flat_keys[chosen[np.max(worst[np.stack(reach)], axis=0) <= 1.0]]


def _prune_keys(values: np.ndarray, limit: np.ndarray, keys: np.ndarray, fixed: np.ndarray
                ) -> np.ndarray:
    """Keys (C, N) with those the curves can do without removed, `fixed` ones kept: splitting
    at the worst frame leaves keys that later splits made unnecessary."""
    keys = keys.copy()
    for _round in range(_PRUNE_ROUNDS):
        removed = 0
        for residue in range(_PRUNE_SPACING):
            gone = _removable(values, limit, keys, fixed, residue)
            keys[np.divmod(gone, values.shape[1])] = False
            removed += gone.size
        if not removed:
            break
    return keys


def _curve_shares(tolerance: np.ndarray, metric: str, width: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per-curve tolerances of a group's (loose, safe): loose is what one curve erring alone may
    err, safe what each may err when all err at once."""
    if metric == DISTANCE:
        return tolerance, tolerance / np.sqrt(width)
    if metric != ANGLE:
        raise ValueError(f"unknown error metric {metric!r}")
    # A quaternion off by d turns by 2 asin(|d| / (1 - |d|)) at most: sin(angle / 2) bounds |d|.
    sine = np.sin(0.5 * np.minimum(tolerance, np.pi))
    return sine / (1.0 + sine), sine / (np.sqrt(width) * (1.0 + sine))


def _hold_groups(values: np.ndarray, limit: np.ndarray, metric: str, keys: np.ndarray,
                 shares: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Keys (G * K, N) with frames added until every group of values (G, N, K) is within
    limit (G, N) under `metric`: where a group is out, its curves get the safe share there."""
    groups, frames, width = values.shape
    curves = values.transpose(0, 2, 1).reshape(-1, frames)
    share, safe = (np.repeat(np.broadcast_to(s, (groups, frames)), width, axis=0).copy()
                   for s in shares)
    keys = keys.copy()
    while True:
        played = bezier_curves(curves, keys).reshape(groups, width, frames).transpose(0, 2, 1)
        out = np.repeat(curve_error(values, played, metric) > limit, width, axis=0)
        if not out.any():
            return keys
        # Where even the safe share is out by rounding, a key there plays the value itself.
        keys |= out & (share <= safe)
        share[out] = safe[out]
        rows = np.flatnonzero(out.any(axis=1))
        keys[rows] = _insert_keys(curves[rows], share[rows], keys[rows])


def reduce_keys(values: np.ndarray, tolerance: float | np.ndarray, metric: str = DISTANCE,
                forced: np.ndarray | None = None) -> np.ndarray:
    """(G, N, K) key frames for each of the K curves of G groups `values` (G, N, K): the played
    Bezier curves of each group stay within `tolerance` (a number, or per group and frame
    (G, N)) of `values` at every frame, measured by `metric` over the group.

    Each curve gets its own keys. Values are compared as float32, as F-curves store them.
    `forced` marks frames that keep a key whatever the error, per group (G, N) or per curve
    (G, N, K); the first and last frame always do.
    """
    values = _stored(values)
    groups, frames, width = values.shape
    if frames <= 2:
        return np.ones(values.shape, bool)
    limit = np.broadcast_to(np.asarray(tolerance, dtype=np.float64), (groups, frames))
    if not np.all(limit > 0.0):
        raise ValueError("key tolerances must be positive")
    fixed = np.zeros(values.shape, bool)
    if forced is not None:
        fixed |= forced if np.ndim(forced) == 3 else np.asarray(forced, bool)[..., None]
    fixed[:, [0, -1]] = True
    fixed = fixed.transpose(0, 2, 1).reshape(-1, frames)
    curves = values.transpose(0, 2, 1).reshape(-1, frames)
    loose, safe = _curve_shares(limit, metric, width)
    loose = np.repeat(loose, width, axis=0)
    keys = _prune_keys(curves, loose, _insert_keys(curves, loose, fixed), fixed)
    keys = _hold_groups(values, limit, metric, keys, (loose[::width], safe))
    return keys.reshape(groups, width, frames).transpose(0, 2, 1)


# --------------------------------------------------------------------------- the performance


def planted_frames(positions: np.ndarray) -> np.ndarray:
    """(N, 2) bool: frames where the left / right foot is on the floor, from SMPL-X joint
    positions (N, 55, 3), Y up."""
    planted = np.zeros((positions.shape[0], len(_SIDES)), bool)
    for side, names in enumerate(_SIDES.values()):
        height = positions[:, [JOINT_INDEX[name] for name in names], 1]
        planted[:, side] = np.any(height <= height.min(axis=0) + CONTACT_HEIGHT_M, axis=1)
    return planted


def closure_frames(openness: np.ndarray) -> np.ndarray:
    """(N,) bool: the frames where the mouth closes, the local minima of how open it is that
    lie in its closed band."""
    openness = np.asarray(openness, dtype=np.float64)
    closes = np.zeros(openness.shape, bool)
    if openness.size < 3:
        return closes
    low = openness.min()
    closed = openness <= low + CLOSED_SHARE * (np.percentile(openness, _OPEN_PERCENTILE) - low)
    middle = openness[1:-1]
    closes[1:-1] = (middle <= openness[:-2]) & (middle < openness[2:]) & closed[1:-1]
    return closes


def is_mouth_channel(name: str) -> bool:
    """True for face channels that open or shape the mouth (ARKit's jaw* and mouth*)."""
    return normalize_channel_name(name).startswith(("jaw", "mouth"))


def _lever_arms() -> np.ndarray:
    """(55, 2): how far each joint is from the farthest floor contact point of the left / right
    foot below it (ankle, ball, toe tip), in rest pose metres; 0 for joints not above it."""
    rest = default_rest_positions()
    arms = np.zeros((NUM_JOINTS, len(_SIDES)))
    for side, (ankle, ball) in enumerate(_SIDES.values()):
        ball_index = JOINT_INDEX[ball]
        points = [rest[JOINT_INDEX[ankle]], rest[ball_index],
                  rest[ball_index] + leaf_tail_offset(ball_index)]
        joint = ball_index
        while joint >= 0:
            arms[joint, side] = max(np.linalg.norm(point - rest[joint]) for point in points)
            joint = PARENTS[joint]
    return arms


@dataclass(frozen=True)
class KeyPlan:
    """Which scene frames keep a key on each F-curve of a performance."""

    bones: np.ndarray  # (N, M, 4) per keyed bone, its quaternion curves w, x, y, z
    root: np.ndarray | None  # (N, 3) the root location curves
    face: np.ndarray  # (N, F) per face channel (custom property and shape keys alike)

    @property
    def count(self) -> int:
        """Keys on the armature's curves (shape-key curves repeat the face's)."""
        root = 0 if self.root is None else int(self.root.sum())
        return int(self.bones.sum()) + root + int(self.face.sum())


@dataclass
class _Body:
    """The bone and root curves being reduced, with their tolerances per frame."""

    bones: np.ndarray  # (M, N, 4) stored quaternions
    arms: np.ndarray  # (M, 2) each bone's lever arm on the left / right foot, metres
    bone_limit: np.ndarray  # (M, N) radians
    bone_keys: np.ndarray  # (M, N, 4)
    root: np.ndarray | None  # (1, N, 3) stored location
    root_limit: np.ndarray  # (1, N) location units
    root_keys: np.ndarray | None  # (1, N, 3)
    units_per_metre: float

    def foot_slide(self) -> np.ndarray:
        """(N, 2) metres the left / right foot may be off at most: the root's error plus every
        bone's angle error times its lever arm on the foot."""
        error = curve_error(self.bones, played_groups(self.bones, self.bone_keys), ANGLE)
        slide = error.T @ self.arms
        if self.root is not None:
            root_error = curve_error(self.root, played_groups(self.root, self.root_keys))
            slide += root_error[0, :, None] / self.units_per_metre
        return slide

    def tighten(self, frames: np.ndarray, side: int, planted_foot_m: float) -> None:
        """Split the foot's tolerance evenly over the root and the bones above it, there."""
        chain = self.arms[:, side] > 0.0
        share = planted_foot_m / (np.count_nonzero(_lever_arms()[:, side]) + 1)
        rows = np.flatnonzero(chain)
        limit = share / self.arms[rows, side][:, None]
        self.bone_limit[np.ix_(rows, frames)] = np.minimum(self.bone_limit[np.ix_(rows, frames)],
                                                           limit)
        self.root_limit[0, frames] = np.minimum(self.root_limit[0, frames],
                                                share * self.units_per_metre)

    def rekey(self) -> None:
        """More keys where the tightened tolerances need them; the keys already chosen stay."""
        chain = np.flatnonzero(np.any(self.arms > 0.0, axis=1))
        self.bone_keys[chain] = reduce_keys(self.bones[chain], self.bone_limit[chain], ANGLE,
                                            self.bone_keys[chain])
        if self.root is not None:
            self.root_keys = reduce_keys(self.root, self.root_limit, DISTANCE, self.root_keys)


def _plan_body(body: _Body, planted: np.ndarray, forced: np.ndarray,
               tolerances: Tolerances) -> _Body:
    """Keys for the bones and root: each within its tolerance, and a planted foot within its
    own. The foot's bound is checked on the reduced curves first and tightened only on the
    frames where it fails, since the errors of a chain seldom all peak on one frame."""
    body.bone_keys = reduce_keys(body.bones, body.bone_limit, ANGLE, forced)
    if body.root is not None:
        body.root_keys = reduce_keys(body.root, body.root_limit)
    tightened = np.zeros(planted.shape, bool)
    while True:
        over = planted & ~tightened & (body.foot_slide() > tolerances.planted_foot_m)
        if not over.any():
            return body
        tightened |= over
        for side in range(planted.shape[1]):
            if over[:, side].any():
                body.tighten(np.flatnonzero(over[:, side]), side, tolerances.planted_foot_m)
        body.rekey()


def _openness(smplx_poses: np.ndarray, face: np.ndarray, face_names: Sequence[str]
              ) -> np.ndarray:
    """How open the mouth is per frame: the jawOpen channel, else the jaw's rotation angle."""
    for column, name in enumerate(face_names):
        if normalize_channel_name(name) == "jawopen":
            return face[:, column]
    return np.linalg.norm(smplx_poses[:, _JAW], axis=-1)


def plan_keys(
    quaternions: np.ndarray,
    bone_joints: Sequence[int],
    root_location: np.ndarray | None,
    face: np.ndarray,
    face_names: Sequence[str],
    smplx_local: np.ndarray,
    smplx_trans: np.ndarray,
    units_per_metre: float = 1.0,
    tolerances: Tolerances | None = None,
) -> KeyPlan:
    """The reduced keys of a performance on N scene frames.

    quaternions (N, M, 4) are the keyed pose-bone rotations of bones driven by SMPL-X joints
    `bone_joints`; root_location (N, 3) the keyed root location, `units_per_metre` its units in
    one SMPL-X metre; face (N, F) the face channels; smplx_local (N, 55, 4) and smplx_trans
    (N, 3) the SMPL-X motion at the same frames, which tells where the feet are planted and the
    mouth closes.
    """
    tolerances = tolerances or Tolerances()
    poses = quaternion_to_axis_angle(smplx_local)
    positions, _rotations = forward_kinematics(poses, smplx_trans)
    planted = planted_frames(positions)
    closes = closure_frames(_openness(poses, face, face_names))
    frames = closes.size
    bones = _stored(np.swapaxes(quaternions, 0, 1))
    root = None if root_location is None else _stored(np.asarray(root_location)[None])
    body = _Body(bones, _lever_arms()[list(bone_joints)],
                 np.full(bones.shape[:2], np.radians(tolerances.rotation_degrees)),
                 np.zeros(bones.shape, bool),
                 root, np.full((1, frames), tolerances.location_m * units_per_metre), None,
                 units_per_metre)
    forced = np.zeros(bones.shape, bool)
    forced[[m for m, joint in enumerate(bone_joints) if joint == _JAW]] = closes[:, None]
    body = _plan_body(body, planted, forced, tolerances)
    face_forced = np.zeros((len(face_names), frames), bool)
    face_forced[[c for c, name in enumerate(face_names) if is_mouth_channel(name)]] = closes
    face_keys = reduce_keys(np.asarray(face).T[..., None], tolerances.face, DISTANCE, face_forced)
    return KeyPlan(np.swapaxes(body.bone_keys, 0, 1),
                   None if body.root_keys is None else body.root_keys[0], face_keys[..., 0].T)
