"""Rotation conversions for numpy arrays and torch tensors alike.

Every function takes either a numpy array (or anything `np.asarray` accepts) or a torch tensor and
returns the same kind, with the same float dtype and device, batched over any leading dimensions.
torch is never imported here: a tensor can only exist once its caller imported torch, so the module
is looked up in `sys.modules`, and numpy-only consumers (the Blender side) never pay for it.

Conventions:
- axis-angle: [..., 3], the axis scaled by the angle in radians.
- quaternion: [..., 4] as (w, x, y, z); `quaternion_multiply(a, b)` rotates by b first, then a,
  so `quaternion_to_matrix(a * b) == quaternion_to_matrix(a) @ quaternion_to_matrix(b)`.
- matrix: [..., 3, 3], acting on column vectors (v' = R @ v).
- 6D (Zhou et al. 2019): the first two columns of the matrix, laid out [col0 (3), col1 (3)].
- Euler: intrinsic Tait-Bryan angles, see `euler_to_matrix`; one angle about one coordinate
  axis: `axis_rotation`.

The torch paths are differentiable; the conversions that divide by an angle switch to Taylor series
near zero (with the other branch fed a harmless value), so zero rotation has finite gradients.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from .errors import BodyLanguageError

EULER_ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")

# Below these squared ratios the Taylor series (three terms) are exact to float64 precision, and
# above them the closed forms are accurate, so the switch is invisible in values and gradients.
_SMALL_ANGLE_SQ = 1e-4
_SMALL_TAN_SQ = 1e-6
# Slerp falls back to normalized lerp below this angle (radians) between the two quaternions.
_PARALLEL_ANGLE = 1e-6


class _Ops:
    """The few array operations whose spelling differs between numpy and torch."""

    def __init__(self, torch: Any = None, dtype: Any = None) -> None:
        self.torch = torch
        self.dtype = dtype  # numpy only: the dtype every result is returned in
        # Functions spelled alike in both (sqrt, sin, cos, where, arctan2, zeros_like, ...).
        self.xp = np if torch is None else torch

    def finish(self, x: Any) -> Any:
        """The result in the input's dtype: numpy 1.x promotes float32 scalars (what indexing a
        single vector yields) to float64 when they meet Python floats."""
        return x if self.torch is not None else np.asarray(x, dtype=self.dtype)

    def stack(self, items: list, axis: int = -1) -> Any:
        if self.torch is None:
            return np.stack(items, axis=axis)
        return self.torch.stack(items, dim=axis)

    def concat(self, items: list, axis: int = -1) -> Any:
        if self.torch is None:
            return np.concatenate(items, axis=axis)
        return self.torch.cat(items, dim=axis)

    def sum_last(self, x: Any, keepdims: bool = False) -> Any:
        if self.torch is None:
            return np.sum(x, axis=-1, keepdims=keepdims)
        return x.sum(dim=-1, keepdim=keepdims)

    def argmax_last(self, x: Any) -> Any:
        if self.torch is None:
            return np.argmax(x, axis=-1)
        return x.argmax(dim=-1)

    def cross(self, a: Any, b: Any) -> Any:
        if self.torch is None:
            return np.cross(a, b, axis=-1)
        return self.torch.linalg.cross(a, b, dim=-1)

    def safe_sqrt(self, x: Any) -> Any:
        """sqrt that is 0 (with zero gradient, not NaN) where x <= 0."""
        xp = self.xp
        positive = x > 0
        return xp.where(positive, xp.sqrt(xp.where(positive, x, 1.0)), 0.0)

    def norm_last(self, x: Any, keepdims: bool = False) -> Any:
        return self.safe_sqrt(self.sum_last(x * x, keepdims=keepdims))


def _prepare(*values: Any) -> tuple[Any, ...]:
    """(ops, *values) as float arrays of one kind: torch if any value is a tensor, else numpy.

    The reference (the first tensor, else the first value) keeps its float dtype and device, integer
    input becomes the default float; the other values are converted to match the reference.
    """
    torch = sys.modules.get("torch")
    tensors = [v for v in values if torch is not None and isinstance(v, torch.Tensor)]
    if tensors:
        reference = tensors[0]
        if not reference.is_floating_point():
            reference = reference.to(torch.get_default_dtype())
        converted = [
            torch.as_tensor(v, dtype=reference.dtype, device=reference.device) for v in values
        ]
        return (_Ops(torch), *converted)
    reference = np.asarray(values[0])
    dtype = reference.dtype if np.issubdtype(reference.dtype, np.floating) else np.float64
    return (_Ops(dtype=dtype), *(np.asarray(v, dtype=dtype) for v in values))


def _check_shape(x: Any, tail: tuple[int, ...], what: str, function: str) -> None:
    shape = tuple(x.shape)
    if len(shape) < len(tail) or shape[len(shape) - len(tail) :] != tail:
        want = "[..., " + ", ".join(str(n) for n in tail) + "]"
        raise BodyLanguageError(f"{function} expects {what} of shape {want}, got {shape}")


def _matrix_from_rows(ops: _Ops, rows: list[list[Any]]) -> Any:
    return ops.stack([ops.stack(row, axis=-1) for row in rows], axis=-2)


# --- axis-angle and quaternions ---------------------------------------------------------------


def axis_angle_to_quaternion(aa: Any) -> Any:
    """[..., 3] axis-angle -> [..., 4] unit quaternion (w, x, y, z); w < 0 for angles above pi."""
    ops, aa = _prepare(aa)
    _check_shape(aa, (3,), "axis-angle vectors", "axis_angle_to_quaternion")
    xp = ops.xp
    angle_sq = ops.sum_last(aa * aa, keepdims=True)
    small = angle_sq < _SMALL_ANGLE_SQ
    # sqrt only sees values away from 0, so its gradient never becomes inf * 0 = NaN at rest.
    angle = xp.sqrt(xp.where(small, 1.0, angle_sq))
    half_sin_over_angle = xp.where(
        small,
        0.5 - angle_sq / 48.0 + angle_sq * angle_sq / 3840.0,
        xp.sin(angle * 0.5) / angle,
    )
    w = xp.where(small, 1.0 - angle_sq / 8.0 + angle_sq * angle_sq / 384.0, xp.cos(angle * 0.5))
    return ops.finish(ops.concat([w, aa * half_sin_over_angle], axis=-1))


def quaternion_to_axis_angle(q: Any) -> Any:
    """[..., 4] quaternion (w, x, y, z), unit or not -> [..., 3] axis-angle with angle in [0, pi].

    q and -q give the same result. The angle comes from atan2, so it is accurate at 0 and at pi.
    """
    ops, q = _prepare(q)
    _check_shape(q, (4,), "quaternions", "quaternion_to_axis_angle")
    xp = ops.xp
    q = xp.where(q[..., :1] < 0, -q, q)
    w, v = q[..., :1], q[..., 1:]
    sin_sq = ops.sum_last(v * v, keepdims=True)  # |v|^2 = |q|^2 sin^2(angle / 2)
    small = sin_sq < _SMALL_TAN_SQ * w * w
    sin_half = xp.sqrt(xp.where(small, 1.0, sin_sq))
    # angle / |v| = 2 atan(r) / |v| with r = |v| / w; its series is (2 / w)(1 - r^2/3 + r^4/5).
    w_small = xp.where(small, w, 1.0)
    tan_sq = sin_sq / (w_small * w_small)
    scale = xp.where(
        small,
        (2.0 / w_small) * (1.0 - tan_sq / 3.0 + tan_sq * tan_sq / 5.0),
        2.0 * xp.arctan2(sin_half, w) / sin_half,
    )
    return ops.finish(v * scale)


def quaternion_to_matrix(q: Any) -> Any:
    """[..., 4] quaternion (w, x, y, z) -> [..., 3, 3] rotation matrix (q need not be unit)."""
    ops, q = _prepare(q)
    _check_shape(q, (4,), "quaternions", "quaternion_to_matrix")
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    s = 2.0 / ops.sum_last(q * q)
    rows = [
        [1.0 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
        [s * (x * y + z * w), 1.0 - s * (x * x + z * z), s * (y * z - x * w)],
        [s * (x * z - y * w), s * (y * z + x * w), 1.0 - s * (x * x + y * y)],
    ]
    return ops.finish(_matrix_from_rows(ops, rows))


def matrix_to_quaternion(m: Any) -> Any:
    """[..., 3, 3] rotation matrix -> [..., 4] unit quaternion (w, x, y, z) with w >= 0.

    Shepperd's method: of the four ways to read the quaternion off the matrix, each batch entry uses
    the one whose divisor (4w^2, 4x^2, 4y^2 or 4z^2 from the diagonal) is largest, so nothing is
    divided by a small number. Near 180 degrees that is an x, y or z branch, which reads the axis
    from the symmetric part of the matrix rather than from its vanishing skew part.
    """
    ops, m = _prepare(m)
    _check_shape(m, (3, 3), "rotation matrices", "matrix_to_quaternion")
    xp = ops.xp
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    four_sq = ops.stack(
        [
            1.0 + m00 + m11 + m22,  # 4 w^2
            1.0 + m00 - m11 - m22,  # 4 x^2
            1.0 - m00 + m11 - m22,  # 4 y^2
            1.0 - m00 - m11 + m22,  # 4 z^2
        ]
    )
    # Row r holds 4 q_r * (w, x, y, z); dividing by 4 |q_r| gives +-q for that branch.
    by_branch = ops.stack(
        [
            ops.stack([four_sq[..., 0], m21 - m12, m02 - m20, m10 - m01]),
            ops.stack([m21 - m12, four_sq[..., 1], m10 + m01, m02 + m20]),
            ops.stack([m02 - m20, m10 + m01, four_sq[..., 2], m12 + m21]),
            ops.stack([m10 - m01, m20 + m02, m21 + m12, four_sq[..., 3]]),
        ],
        axis=-2,
    )
    # The floor only matters for branches that are not picked (the picked divisor is >= 2):
    # it keeps their values and gradients finite.
    divisor = 2.0 * xp.clip(ops.safe_sqrt(four_sq), 0.1, None)
    candidates = by_branch / divisor[..., None]
    best = ops.argmax_last(four_sq)[..., None]
    q = candidates[..., 3, :]
    for branch in (2, 1, 0):
        q = xp.where(best == branch, candidates[..., branch, :], q)
    q = xp.where(q[..., :1] < 0, -q, q)
    return ops.finish(quaternion_normalize(q))


def axis_angle_to_matrix(aa: Any) -> Any:
    """[..., 3] axis-angle -> [..., 3, 3] rotation matrix (finite gradients at zero rotation)."""
    ops, aa = _prepare(aa)
    _check_shape(aa, (3,), "axis-angle vectors", "axis_angle_to_matrix")
    return ops.finish(quaternion_to_matrix(axis_angle_to_quaternion(aa)))


def matrix_to_axis_angle(m: Any) -> Any:
    """[..., 3, 3] rotation matrix -> [..., 3] axis-angle with angle in [0, pi].

    Goes through `matrix_to_quaternion`, so near pi the axis comes from the symmetric part of the
    matrix and the angle from atan2; near 0 a series avoids dividing by the vanishing sine.
    """
    ops, m = _prepare(m)
    _check_shape(m, (3, 3), "rotation matrices", "matrix_to_axis_angle")
    return ops.finish(quaternion_to_axis_angle(matrix_to_quaternion(m)))


# --- quaternion algebra -----------------------------------------------------------------------


def quaternion_multiply(a: Any, b: Any) -> Any:
    """Hamilton product a * b of [..., 4] quaternions (w, x, y, z); leading dims broadcast."""
    ops, a, b = _prepare(a, b)
    _check_shape(a, (4,), "quaternions", "quaternion_multiply")
    _check_shape(b, (4,), "quaternions", "quaternion_multiply")
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    product = [
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ]
    return ops.finish(ops.stack(product))


def quaternion_conjugate(q: Any) -> Any:
    """(w, x, y, z) -> (w, -x, -y, -z): the inverse rotation of a unit quaternion."""
    ops, q = _prepare(q)
    _check_shape(q, (4,), "quaternions", "quaternion_conjugate")
    return ops.finish(ops.concat([q[..., :1], -q[..., 1:]], axis=-1))


def quaternion_normalize(q: Any) -> Any:
    """[..., 4] quaternions scaled to unit length (a zero quaternion stays zero)."""
    ops, q = _prepare(q)
    _check_shape(q, (4,), "quaternions", "quaternion_normalize")
    return ops.finish(q / ops.xp.clip(ops.norm_last(q, keepdims=True), 1e-30, None))


def quaternion_slerp(q0: Any, q1: Any, t: Any) -> Any:
    """Spherical linear interpolation from q0 (t = 0) to q1 (t = 1) along the shorter arc.

    q0, q1: [..., 4] quaternions (normalized here). q1 is negated where q0 . q1 < 0, so the result
    never takes the long way round (at t = 1 it may therefore be -q1, the same rotation). Nearly
    parallel pairs use normalized lerp. t is a scalar, [...] (one weight per quaternion: a trailing
    axis is added) or [..., 1] (already aligned with the quaternion axis); a t with more dimensions
    than the quaternions' batch and a last dimension of 1 is read as [..., 1], anything else as
    [...]. E.g. quaternions (T, 55, 4) with t of shape (T, 1, 1), (T, 1), (T, 55) or () all work.
    """
    ops, q0, q1, t = _prepare(q0, q1, t)
    _check_shape(q0, (4,), "quaternions", "quaternion_slerp")
    _check_shape(q1, (4,), "quaternions", "quaternion_slerp")
    xp = ops.xp
    batch_ndim = max(q0.ndim, q1.ndim) - 1
    if t.ndim > 0 and not (t.ndim > batch_ndim and t.shape[-1] == 1):
        t = t[..., None]
    q0, q1 = quaternion_normalize(q0), quaternion_normalize(q1)
    q1 = xp.where(ops.sum_last(q0 * q1, keepdims=True) < 0, -q1, q1)
    # The angle from the half-chord and half-sum is accurate at every angle, unlike arccos(dot)
    # near 1; sum_sq >= 2 here because the dot product is non-negative.
    diff_sq = ops.sum_last((q1 - q0) ** 2, keepdims=True)
    sum_sq = ops.sum_last((q1 + q0) ** 2, keepdims=True)
    angle = 2.0 * xp.arctan2(ops.safe_sqrt(diff_sq), xp.sqrt(sum_sq))
    parallel = angle < _PARALLEL_ANGLE
    angle = xp.where(parallel, 1.0, angle)
    sin_angle = xp.sin(angle)
    w0 = xp.where(parallel, 1.0 - t, xp.sin((1.0 - t) * angle) / sin_angle)
    w1 = xp.where(parallel, t, xp.sin(t * angle) / sin_angle)
    return ops.finish(quaternion_normalize(w0 * q0 + w1 * q1))


# --- 6D ---------------------------------------------------------------------------------------


def matrix_to_rot6d(m: Any) -> Any:
    """[..., 3, 3] rotation matrix -> [..., 6]: column 0 then column 1 (Zhou et al.)."""
    ops, m = _prepare(m)
    _check_shape(m, (3, 3), "rotation matrices", "matrix_to_rot6d")
    return ops.finish(ops.concat([m[..., :, 0], m[..., :, 1]], axis=-1))


def rot6d_to_matrix(d6: Any) -> Any:
    """[..., 6] (col0, col1) -> [..., 3, 3] rotation matrix by Gram-Schmidt.

    Column 0 is d6[:3] normalized, column 1 is d6[3:] with its column-0 component removed and then
    normalized, column 2 is their cross product; any 6-vector with independent halves is valid.
    """
    ops, d6 = _prepare(d6)
    _check_shape(d6, (6,), "6D rotations", "rot6d_to_matrix")
    xp = ops.xp
    a0, a1 = d6[..., :3], d6[..., 3:]
    b0 = a0 / xp.clip(ops.norm_last(a0, keepdims=True), 1e-30, None)
    a1 = a1 - ops.sum_last(b0 * a1, keepdims=True) * b0
    b1 = a1 / xp.clip(ops.norm_last(a1, keepdims=True), 1e-30, None)
    b2 = ops.cross(b0, b1)
    return ops.finish(ops.stack([b0, b1, b2], axis=-1))


def axis_angle_to_rot6d(aa: Any) -> Any:
    """[..., 3] axis-angle -> [..., 6] (col0, col1)."""
    return matrix_to_rot6d(axis_angle_to_matrix(aa))


def rot6d_to_axis_angle(d6: Any) -> Any:
    """[..., 6] (col0, col1) -> [..., 3] axis-angle with angle in [0, pi]."""
    return matrix_to_axis_angle(rot6d_to_matrix(d6))


# --- Euler angles -----------------------------------------------------------------------------


def _axis_indices(order: str) -> tuple[int, int, int]:
    if order not in EULER_ORDERS:
        raise BodyLanguageError(
            f"Euler order must be one of {', '.join(EULER_ORDERS)} (upper case, intrinsic "
            f"rotations as in BVH channel lists), got {order!r}"
        )
    i, j, k = ("XYZ".index(axis) for axis in order)
    return i, j, k


def _elementary(ops: _Ops, axis: int, angle: Any) -> Any:
    """[...] angle -> [..., 3, 3] rotation about the X (0), Y (1) or Z (2) axis."""
    xp = ops.xp
    c, s = xp.cos(angle), xp.sin(angle)
    zero, one = xp.zeros_like(angle), xp.ones_like(angle)
    if axis == 0:
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == 1:
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return _matrix_from_rows(ops, rows)


def axis_rotation(axis: int, angle: Any) -> Any:
    """[...] angles (radians) -> [..., 3, 3] right-handed rotations about X (0), Y (1) or Z (2),
    e.g. axis_rotation(1, yaw) turns about +Y, the SMPL-X up axis."""
    if isinstance(axis, bool) or axis not in (0, 1, 2):
        raise BodyLanguageError(f"axis_rotation's axis must be 0 (X), 1 (Y) or 2 (Z), got {axis!r}")
    ops, angle = _prepare(angle)
    return ops.finish(_elementary(ops, axis, angle))


def euler_to_matrix(angles: Any, order: str = "XYZ", degrees: bool = False) -> Any:
    """[..., 3] Euler angles -> [..., 3, 3] rotation matrix, intrinsic Tait-Bryan rotations.

    `order` names the axes of angles[..., 0], [..., 1], [..., 2] and the matrix is the product in
    that order:  R = R_{order[0]}(a0) @ R_{order[1]}(a1) @ R_{order[2]}(a2).
    This is the BVH convention: a joint whose channels read "Zrotation Xrotation Yrotation" holds
    (a0, a1, a2) = (z, x, y) and is order="ZXY", R = R_Z(z) @ R_X(x) @ R_Y(y): rotate about Z, then
    about the already rotated X, then the twice rotated Y (equivalently, applied to a vector, Y
    acts first in the fixed frame). R_X, R_Y, R_Z are right-handed rotations of column vectors,
    e.g. R_Z(90 deg) maps +X to +Y. It matches scipy's `Rotation.from_euler` with upper-case
    (intrinsic) axes.
    """
    i, j, k = _axis_indices(order)
    ops, angles = _prepare(angles)
    _check_shape(angles, (3,), "Euler angles", "euler_to_matrix")
    if degrees:
        angles = angles * (math.pi / 180.0)
    matrix = (
        _elementary(ops, i, angles[..., 0])
        @ _elementary(ops, j, angles[..., 1])
        @ _elementary(ops, k, angles[..., 2])
    )
    return ops.finish(matrix)


def matrix_to_euler(m: Any, order: str = "XYZ", degrees: bool = False) -> Any:
    """[..., 3, 3] rotation matrix -> [..., 3] intrinsic Euler angles, inverse of `euler_to_matrix`.

    Angles are (a0, a1, a2) for the axes of `order` with a0, a2 in [-pi, pi] and a1 in
    [-pi/2, pi/2]. At gimbal lock (a1 = +-pi/2) only a0 +- a2 is defined; a0 is then whatever the
    rounding gives and a2 is solved from it, so the angles still reproduce the matrix.
    """
    i, j, k = _axis_indices(order)
    ops, m = _prepare(m)
    _check_shape(m, (3, 3), "rotation matrices", "matrix_to_euler")
    xp = ops.xp
    # +1 for cyclic orders (XYZ, YZX, ZXY), -1 for the others: flips the sines' signs.
    s = 1.0 if (j - i) % 3 == 1 else -1.0
    a0 = xp.arctan2(-s * m[..., j, k], m[..., k, k])
    cos_a1 = xp.sqrt(m[..., i, i] ** 2 + m[..., i, j] ** 2)
    a1 = xp.arctan2(s * m[..., i, k], cos_a1)
    # a2 from R_{order[0]}(a0)^T @ m = R_{order[1]}(a1) @ R_{order[2]}(a2), whose row j does not
    # depend on a1: it stays well defined (and consistent with a0) even at gimbal lock.
    c0, s0 = xp.cos(a0), xp.sin(a0)
    a2 = xp.arctan2(
        s * c0 * m[..., j, i] + s0 * m[..., k, i],
        c0 * m[..., j, j] + s * s0 * m[..., k, j],
    )
    angles = ops.stack([a0, a1, a2])
    if degrees:
        angles = angles * (180.0 / math.pi)
    return ops.finish(angles)
