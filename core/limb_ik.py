"""Pose building blocks: rotation frames, two-bone IK, hand orientation.

Everything works on numpy arrays batched over leading dimensions (usually frames). The corpus's
scripted actions are authored as hand and foot targets, and generation locks planted feet
(core/foot_contact.py); these helpers turn targets into joint rotations, which is far easier to
get right than guessing axis-angles (SMPL-X: Y up, the body faces +Z, its left is +X). They live
outside core/corpus because generation may not import corpus code.
"""

from __future__ import annotations

import numpy as np

from core import rotations


def unit(v: np.ndarray) -> np.ndarray:
    """Vectors scaled to length 1 along the last axis (zero vectors stay zero)."""
    v = np.asarray(v, dtype=np.float64)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def axis_rotation(axis: int, angle: np.ndarray | float) -> np.ndarray:
    """[...] angles -> [..., 3, 3] float64 right-handed rotations about X (0), Y (1) or Z (2):
    core.rotations.axis_rotation in double precision, which poses are built in here whatever
    precision the angles come in."""
    return rotations.axis_rotation(axis, np.asarray(angle, dtype=np.float64))


def frame(direction: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """[..., 3, 3] orthonormal frame with columns (direction, normal x direction, normal).

    `normal` is made perpendicular to `direction` first, so it need only be roughly right.
    """
    direction, normal = np.broadcast_arrays(np.asarray(direction, dtype=np.float64),
                                            np.asarray(normal, dtype=np.float64))
    # Gram-Schmidt of (direction, normal) gives the columns (e1, e3, e1 x e3 = -e2).
    e1, e3, minus_e2 = np.moveaxis(rotations.rot6d_to_matrix(
        np.concatenate([direction, normal], axis=-1)), -1, 0)
    return np.stack([e1, -minus_e2, e3], axis=-1)


def perpendicular(v: np.ndarray, to: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Unit part of `v` perpendicular to the unit vectors `to`; `fallback` where v is parallel."""
    v = np.broadcast_to(np.asarray(v, dtype=np.float64), np.shape(to))
    part = v - np.sum(v * to, axis=-1, keepdims=True) * to
    fallback = np.broadcast_to(np.asarray(fallback, dtype=np.float64), np.shape(to))
    other = fallback - np.sum(fallback * to, axis=-1, keepdims=True) * to
    degenerate = np.linalg.norm(part, axis=-1, keepdims=True) < 1e-6
    return unit(np.where(degenerate, other, part))


def two_bone_ik(
    root: np.ndarray,
    target: np.ndarray,
    pole: np.ndarray,
    upper_length: float,
    lower_length: float,
    max_reach: float = 0.999,
    soft_from: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Middle joint, reached end and bend-plane normal of a two-bone limb aiming at `target`.

    The middle joint (elbow, knee) is pushed toward `pole`. A target out of reach is approached
    along the same line and stops at `max_reach` of the full length, which keeps the limb from
    locking straight (a fully straight limb has no defined bend plane). With `soft_from` the
    reach saturates smoothly from that fraction on, so a hand passing near the limit of reach
    does not snap the elbow straight and back (arms; feet must reach exactly, so legs don't).
    """
    reach = target - root
    distance = np.linalg.norm(reach, axis=-1, keepdims=True)
    direction = unit(reach)
    shortest = abs(upper_length - lower_length) + 0.02
    longest = max_reach * (upper_length + lower_length)
    if soft_from is not None:
        knee = soft_from * (upper_length + lower_length)
        room = longest - knee
        distance = np.where(distance > knee,
                            knee + room * np.tanh((distance - knee) / room), distance)
    distance = np.clip(distance, shortest, longest)
    side = perpendicular(pole, direction, fallback=np.array([0.0, 0.0, -1.0]))
    along = (upper_length**2 - lower_length**2 + distance**2) / (2.0 * distance)
    height = np.sqrt(np.maximum(upper_length**2 - along**2, 0.0))
    middle = root + along * direction + height * side
    end = root + distance * direction
    normal = unit(np.cross(direction, side))
    return middle, end, normal


def limb_rotations(
    root: np.ndarray,
    middle: np.ndarray,
    end: np.ndarray,
    normal: np.ndarray,
    rest_upper: np.ndarray,
    rest_lower: np.ndarray,
    rest_normal: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """World rotations of the upper and lower bone of a limb posed by `two_bone_ik`.

    Each maps the bone's rest direction onto its posed direction and the rest bend-plane normal
    onto the posed one, so the middle joint turns about a single hinge axis.
    """
    rest_upper_frame = frame(rest_upper, rest_normal)
    rest_lower_frame = frame(rest_lower, rest_normal)
    upper = frame(middle - root, normal) @ np.swapaxes(rest_upper_frame, -1, -2)
    lower = frame(end - middle, normal) @ np.swapaxes(rest_lower_frame, -1, -2)
    return upper, lower


def hand_rotation(fingers: np.ndarray, palm: np.ndarray, side: str) -> np.ndarray:
    """World rotation of a hand whose fingers point along `fingers` and whose palm faces `palm`.

    In the SMPL-X zero pose the left fingers point +X, the right ones -X, both palms face -Y and
    both thumbs point +Z.
    """
    f = unit(fingers)
    n = perpendicular(palm, f, fallback=np.array([0.0, -1.0, 0.0]))
    x_axis = f if side == "left" else -f
    y_axis = -n
    return np.stack([x_axis, y_axis, np.cross(x_axis, y_axis)], axis=-1)


def twist_angle(rotation: np.ndarray, axis: int = 0) -> np.ndarray:
    """[...] angle in [-pi, pi] of the twist of `rotation` about a coordinate axis.

    From the quaternion (w, v) of the rotation the twist is 2 atan2(v[axis], w); written with
    the matrix entries, 4 w v[axis] = R[j, i] - R[i, j] and 4 w^2 = 1 + trace.
    """
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    trace = rotation[..., 0, 0] + rotation[..., 1, 1] + rotation[..., 2, 2]
    return 2.0 * np.arctan2(rotation[..., j, i] - rotation[..., i, j], 1.0 + trace)


def yaw_of(rotation: np.ndarray) -> np.ndarray:
    """[...] heading angle about +Y of the rotated +Z axis (0 = facing +Z, + = turned left)."""
    forward = rotation[..., :, 2]
    return np.arctan2(forward[..., 0], forward[..., 2])
