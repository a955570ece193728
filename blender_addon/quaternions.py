"""Rotation math for the add-on in plain numpy (no bpy, no core: Blender cannot import core).

The conversions and quaternion algebra are shared/rotations.py's, the code core itself uses,
taken here in float64 (`slerp` is its `quaternion_slerp`); this module adds what only the add-on
needs: sign continuity for keys, resampling to the scene's frame rate, rotating vectors, the
rotation between two directions, and the rotation part of a scaled matrix. Conventions are those of
shared/rotations.py and Blender: quaternions are (w, x, y, z); matrices act on column vectors.

Sums over the 3 or 4 components are written out in index order (`_dot`, `_cross`): numpy adds
rows this short in the same order, so results equal np.sum, np.linalg.norm and np.cross bit for
bit, without their per-row overhead, which dominates on (frames, 55, 4) arrays.
For the same reason a per-row factor is applied one component at a time (`_normalized`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .shared import rotations

__all__ = [
    "axis_angle_to_matrix", "axis_angle_to_quaternion", "heading", "make_continuous",
    "matrix_to_axis_angle",
    "matrix_to_quaternion", "normalized_rotation", "quaternion_apply", "quaternion_between",
    "quaternion_conjugate", "quaternion_multiply", "quaternion_to_axis_angle",
    "quaternion_to_matrix", "resample_linear", "resample_quaternions", "rotation_between",
    "sample_positions", "slerp",
]


def _in_float64(function: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """`function` with every argument as a float64 array: the add-on computes in float64
    whatever dtype a file or Blender hands over (shared/rotations.py keeps the input's dtype)."""

    @functools.wraps(function)
    def in_float64(*arrays: np.ndarray) -> np.ndarray:
        return function(*(np.asarray(array, dtype=np.float64) for array in arrays))

    return in_float64


axis_angle_to_quaternion = _in_float64(rotations.axis_angle_to_quaternion)
quaternion_to_axis_angle = _in_float64(rotations.quaternion_to_axis_angle)
quaternion_to_matrix = _in_float64(rotations.quaternion_to_matrix)
matrix_to_quaternion = _in_float64(rotations.matrix_to_quaternion)
axis_angle_to_matrix = _in_float64(rotations.axis_angle_to_matrix)
matrix_to_axis_angle = _in_float64(rotations.matrix_to_axis_angle)
quaternion_multiply = _in_float64(rotations.quaternion_multiply)
quaternion_conjugate = _in_float64(rotations.quaternion_conjugate)
slerp = _in_float64(rotations.quaternion_slerp)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum of products over the last axis (leading dimensions broadcast), in index order."""
    total = a[..., 0] * b[..., 0]
    for index in range(1, a.shape[-1]):
        total = total + a[..., index] * b[..., index]
    return total


def _normalized(v: np.ndarray) -> np.ndarray:
    """Each vector over the last axis divided by its length (np.linalg.norm's, bit for bit)."""
    length = np.sqrt(_dot(v, v))
    result = np.empty_like(v)
    for index in range(v.shape[-1]):
        np.divide(v[..., index], length, out=result[..., index])
    return result


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross of [..., 3] vectors, term by term as numpy computes it."""
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def make_continuous(quaternions: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 (time) so each quaternion lies in the hemisphere of the previous
    one: q and -q are the same rotation, but Blender interpolates the four numbers, and a sign
    jump between keys would swing the bone the long way round."""
    q = np.array(quaternions, dtype=np.float64)
    if len(q) < 2:
        return q
    flips = _dot(q[1:], q[:-1]) < 0.0
    if np.any(flips):
        signs = np.cumprod(np.where(flips, -1.0, 1.0), axis=0)
        for index in range(q.shape[-1]):
            q[1:, ..., index] *= signs
    return q


def sample_positions(num_frames: int, source_fps: float, target_fps: float) -> np.ndarray:
    """Fractional source-frame positions of every target frame inside the source's time span.

    A motion of `num_frames` at `source_fps` lasts (num_frames - 1) / source_fps seconds from its
    first to its last frame; target frame k sits at k / target_fps seconds. Equal rates give
    0, 1, ..., num_frames - 1 exactly.
    """
    if num_frames < 1:
        return np.zeros(0)
    if source_fps == target_fps:
        return np.arange(num_frames, dtype=np.float64)
    span = (num_frames - 1) * target_fps / source_fps
    # The tolerance keeps a last frame that lands on the end up to float error.
    count = int(np.floor(span + 1e-9)) + 1
    return np.arange(count, dtype=np.float64) * (source_fps / target_fps)


def _neighbours(positions: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lower = np.clip(np.floor(positions).astype(np.int64), 0, max(length - 1, 0))
    upper = np.minimum(lower + 1, length - 1)
    return lower, upper, positions - lower


def resample_quaternions(quaternions: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """quaternions [T, ..., 4] sampled at fractional frame `positions` [K] by slerp."""
    q = np.asarray(quaternions, dtype=np.float64)
    lower, upper, fraction = _neighbours(np.asarray(positions, np.float64), len(q))
    # Every source frame in order (equal frame rates) needs no gathering copy.
    every_frame = len(lower) == len(q) and np.array_equal(lower, np.arange(len(q)))
    start = q if every_frame else q[lower]
    # Whole-frame positions (equal frame rates) make slerp 1 * start + 0 * end, normalized, of its
    # normalized inputs: start normalized twice. Only a -0.0 in start could come out as +0.0
    # there, so such input takes the full path and the result is the same bit for bit.
    if not np.any(fraction) and not np.any(np.signbit(start) & (start == 0.0)):
        return _normalized(_normalized(start))
    fraction = fraction.reshape((-1,) + (1,) * (q.ndim - 2))
    return slerp(start, q[upper], np.broadcast_to(fraction, start.shape[:-1]))


def resample_linear(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """values [T, ...] sampled at fractional frame `positions` [K] by linear interpolation."""
    v = np.asarray(values, dtype=np.float64)
    lower, upper, fraction = _neighbours(np.asarray(positions, np.float64), len(v))
    fraction = fraction.reshape((-1,) + (1,) * (v.ndim - 1))
    return v[lower] * (1.0 - fraction) + v[upper] * fraction


def quaternion_apply(quaternion: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Rotate [..., 3] vectors by unit [..., 4] quaternions (leading dimensions broadcast)."""
    q = np.asarray(quaternion, dtype=np.float64)
    v = np.asarray(vectors, dtype=np.float64)
    w, axis = q[..., :1], q[..., 1:]
    # v' = v + 2w (a x v) + 2 a x (a x v)
    twice_cross = 2.0 * _cross(axis, v)
    return v + w * twice_cross + _cross(axis, twice_cross)


def quaternion_between(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[..., 4] smallest rotations taking vectors `source` [..., 3] onto the direction of
    `target`. Opposite vectors (no unique smallest rotation) turn half a circle about an axis
    perpendicular to the source."""
    u = np.asarray(source, dtype=np.float64)
    v = np.asarray(target, dtype=np.float64)
    u, v = np.broadcast_arrays(u, v)
    u = _normalized(u)
    v = _normalized(v)
    # The quaternion (1 + u.v, u x v) normalized is the half-angle rotation from u to v.
    w = 1.0 + _dot(u, v)[..., None]
    axis = _cross(u, v)
    opposite = w[..., 0] < 1e-12
    if np.any(opposite):
        helper = np.where(np.abs(u[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        perpendicular = _cross(u, helper)
        perpendicular = _normalized(perpendicular)
        axis = np.where(opposite[..., None], perpendicular, axis)
        w = np.where(opposite[..., None], 0.0, w)
    q = np.concatenate([w, axis], axis=-1)
    return _normalized(q)


def rotation_between(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[..., 3, 3] matrix form of `quaternion_between`."""
    return quaternion_to_matrix(quaternion_between(source, target))


def normalized_rotation(matrix: np.ndarray) -> np.ndarray:
    """The rotation part of [..., 3, 3] matrices that may carry scale (polar decomposition)."""
    u, _, vt = np.linalg.svd(np.asarray(matrix, dtype=np.float64))
    rotation = u @ vt
    # A mirrored matrix has no rotation part; keep the closest proper rotation.
    flip = np.linalg.det(rotation) < 0
    if np.any(flip):
        u = u.copy()
        u[flip, :, -1] *= -1
        rotation = u @ vt
    return rotation


def heading(rotation: np.ndarray) -> np.ndarray:
    """[..., 3, 3] the turn about world Z (Blender's up) that a rotation makes: its twist about Z
    in a swing-twist split, so a rig stood up from a Y-up file (90 degrees about X) has none and
    a character turned to face its partner keeps that turn. A rotation that swings Z upside
    down by a half turn has no defined heading: the identity."""
    q = matrix_to_quaternion(np.asarray(rotation, dtype=np.float64))
    twist = np.zeros_like(q)
    twist[..., 0], twist[..., 3] = q[..., 0], q[..., 3]
    norm = np.sqrt(twist[..., 0] ** 2 + twist[..., 3] ** 2)
    undefined = norm < 1e-12
    twist[..., 0] = np.where(undefined, 1.0, twist[..., 0])
    return quaternion_to_matrix(twist / np.where(undefined, 1.0, norm)[..., None])
