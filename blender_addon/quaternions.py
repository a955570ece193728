"""Rotation math for the add-on in plain numpy (no bpy, no core: Blender cannot import core).

Conventions match core/rotations.py and Blender: quaternions are (w, x, y, z); matrices act on
column vectors; `quaternion_multiply(a, b)` rotates by b first, then a. Every function is
batched over leading dimensions and works in float64.

Sums over the 3 or 4 components are written out in index order (`_dot`, `_norm`, `_cross`):
numpy adds rows this short in the same order, so results equal np.sum, np.linalg.norm and
np.cross bit for bit, without their per-row overhead, which dominates on (frames, 55, 4) arrays.
For the same reason a per-row factor is applied one component at a time (`_normalized`,
`axis_angle_to_quaternion`): the same elementwise operations as broadcasting over a last axis of
length 1, several times faster. Outputs keep the memory layout of their inputs, so a caller that
stores components in separate blocks (see keyframes.py) keeps that layout throughout.
"""

from __future__ import annotations

import numpy as np

# Below this rotation angle (radians) the series forms are exact to float64 precision.
_SMALL_ANGLE = 1e-6
# Multiplying by these signs negates the vector part exactly, in one pass.
_CONJUGATE_SIGNS = np.array([1.0, -1.0, -1.0, -1.0])


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum of products over the last axis (leading dimensions broadcast), in index order."""
    total = a[..., 0] * b[..., 0]
    for index in range(1, a.shape[-1]):
        total = total + a[..., index] * b[..., index]
    return total


def _norm(v: np.ndarray) -> np.ndarray:
    """Euclidean length over the last axis, keeping it (np.linalg.norm(..., keepdims=True))."""
    return np.sqrt(_dot(v, v))[..., None]


def _normalized(v: np.ndarray) -> np.ndarray:
    """v / _norm(v): each vector over the last axis divided by its length."""
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


def axis_angle_to_quaternion(axis_angle: np.ndarray) -> np.ndarray:
    """[..., 3] axis-angle (axis scaled by the angle in radians) -> [..., 4] unit quaternion."""
    aa = np.asarray(axis_angle, dtype=np.float64)
    angle = np.sqrt(_dot(aa, aa))
    half = angle * 0.5
    small = angle < _SMALL_ANGLE
    if np.any(small):
        safe = np.where(small, 1.0, angle)
        # sin(a/2)/a tends to 1/2 - a^2/48 at zero.
        scale = np.where(small, 0.5 - angle * angle / 48.0, np.sin(safe * 0.5) / safe)
    else:
        scale = np.sin(half) / angle
    quaternion = np.empty_like(aa, shape=aa.shape[:-1] + (4,))
    np.cos(half, out=quaternion[..., 0])
    for index in range(3):
        np.multiply(aa[..., index], scale, out=quaternion[..., index + 1])
    return quaternion


def quaternion_to_axis_angle(quaternion: np.ndarray) -> np.ndarray:
    """[..., 4] quaternion -> [..., 3] axis-angle with the angle in [0, pi]."""
    q = np.asarray(quaternion, dtype=np.float64)
    q = np.where(q[..., :1] < 0, -q, q)
    vector_norm = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(vector_norm, q[..., :1])
    small = vector_norm < _SMALL_ANGLE
    # angle / |v| tends to 2 / w as |v| -> 0.
    near_zero = 2.0 / np.maximum(q[..., :1], 1e-300)
    scale = np.where(small, near_zero, angle / np.where(small, 1.0, vector_norm))
    return q[..., 1:] * scale


def quaternion_to_matrix(quaternion: np.ndarray) -> np.ndarray:
    """[..., 4] quaternion (need not be unit) -> [..., 3, 3] rotation matrix."""
    q = np.asarray(quaternion, dtype=np.float64)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    s = 2.0 / _dot(q, q)
    matrix = np.empty(q.shape[:-1] + (3, 3))
    matrix[..., 0, 0] = 1.0 - s * (y * y + z * z)
    matrix[..., 0, 1] = s * (x * y - z * w)
    matrix[..., 0, 2] = s * (x * z + y * w)
    matrix[..., 1, 0] = s * (x * y + z * w)
    matrix[..., 1, 1] = 1.0 - s * (x * x + z * z)
    matrix[..., 1, 2] = s * (y * z - x * w)
    matrix[..., 2, 0] = s * (x * z - y * w)
    matrix[..., 2, 1] = s * (y * z + x * w)
    matrix[..., 2, 2] = 1.0 - s * (x * x + y * y)
    return matrix


def matrix_to_quaternion(matrix: np.ndarray) -> np.ndarray:
    """[..., 3, 3] rotation matrix -> [..., 4] unit quaternion with w >= 0 (Shepperd's method:
    each entry is read through its largest diagonal term, so nothing divides by a small number)."""
    m = np.asarray(matrix, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    four_sq = np.stack(
        [1.0 + m00 + m11 + m22, 1.0 + m00 - m11 - m22, 1.0 - m00 + m11 - m22,
         1.0 - m00 - m11 + m22], axis=-1)
    d21 = m[..., 2, 1] - m[..., 1, 2]
    d02 = m[..., 0, 2] - m[..., 2, 0]
    d10 = m[..., 1, 0] - m[..., 0, 1]
    s10 = m[..., 1, 0] + m[..., 0, 1]
    s02 = m[..., 0, 2] + m[..., 2, 0]
    s21 = m[..., 2, 1] + m[..., 1, 2]
    candidates = np.stack(
        [
            np.stack([four_sq[..., 0], d21, d02, d10], axis=-1),
            np.stack([d21, four_sq[..., 1], s10, s02], axis=-1),
            np.stack([d02, s10, four_sq[..., 2], s21], axis=-1),
            np.stack([d10, s02, s21, four_sq[..., 3]], axis=-1),
        ],
        axis=-2,
    )
    best = np.argmax(four_sq, axis=-1)
    picked = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    q = _normalized(picked)
    return np.where(q[..., :1] < 0, -q, q)


def axis_angle_to_matrix(axis_angle: np.ndarray) -> np.ndarray:
    return quaternion_to_matrix(axis_angle_to_quaternion(axis_angle))


def matrix_to_axis_angle(matrix: np.ndarray) -> np.ndarray:
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def quaternion_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b (rotate by b, then by a); leading dimensions broadcast."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    product = np.empty(np.broadcast_shapes(a.shape, b.shape))
    product[..., 0] = aw * bw - ax * bx - ay * by - az * bz
    product[..., 1] = aw * bx + ax * bw + ay * bz - az * by
    product[..., 2] = aw * by - ax * bz + ay * bw + az * bx
    product[..., 3] = aw * bz + ax * by - ay * bx + az * bw
    return product


def quaternion_conjugate(quaternion: np.ndarray) -> np.ndarray:
    return np.asarray(quaternion, dtype=np.float64) * _CONJUGATE_SIGNS


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


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation from q0 (t = 0) to q1 (t = 1) along the shorter arc.

    q0, q1: [..., 4] unit quaternions; t broadcasts against [...] (one weight per quaternion).
    Nearly parallel pairs use normalized lerp.
    """
    q0, q1 = np.asarray(q0, dtype=np.float64), np.asarray(q1, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = _dot(q0, q1)[..., None]
    q1 = np.where(dot < 0.0, -q1, q1)
    # The half-chord form stays accurate where arccos(dot) loses precision near dot = 1.
    angle = 2.0 * np.arctan2(_norm(q1 - q0), _norm(q1 + q0))
    parallel = angle < _SMALL_ANGLE
    safe = np.where(parallel, 1.0, angle)
    w0 = np.where(parallel, 1.0 - t, np.sin((1.0 - t) * safe) / np.sin(safe))
    w1 = np.where(parallel, t, np.sin(t * safe) / np.sin(safe))
    result = w0 * q0 + w1 * q1
    return _normalized(result)


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
    # Whole-frame positions (equal frame rates) make slerp 1 * start + 0 * end, normalized:
    # start normalized. Only a -0.0 in start could come out as +0.0 there, so such input takes
    # the full path and the result is the same bit for bit.
    if not np.any(fraction) and not np.any(np.signbit(start) & (start == 0.0)):
        return _normalized(start)
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
