"""The performer's hands: named hand shapes on the 30 finger joints, blended over time.

Shapes are authored for the left hand in the SMPL-X zero pose (palm down, fingers along +X, thumb
forward and down) and mirrored for the right. A finger curls toward the palm (the -Y side) by a
rotation about -Z; it spreads in the palm plane by a rotation about Y. The thumb's axes come from
its own bone directions, so they follow whatever rest skeleton is in use.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.corpus.signals import smooth_noise
from core.limb_ik import unit
from core.skeleton import JOINT_INDEX, default_rest_positions

FINGER_JOINTS: dict[str, tuple[int, ...]] = {
    "left": tuple(range(25, 40)),
    "right": tuple(range(40, 55)),
}
FINGERS: tuple[str, ...] = ("index", "middle", "pinky", "ring", "thumb")  # SMPL-X joint order

# Spread direction per finger: + fans toward the thumb side (+Z for the left hand).
_SPREAD_SIGN = {"index": 1.0, "middle": 0.2, "ring": -0.6, "pinky": -1.0}

# (curl of joints 1, 2, 3 in radians, spread in radians) per finger; the thumb's triple is
# (opposition across the palm, flexion of joint 2, flexion of joint 3).
_ShapeSpec = dict[str, tuple[float, float, float, float]]

SHAPE_SPECS: dict[str, _ShapeSpec] = {
    "relaxed": {
        "index": (0.2, 0.3, 0.2, 0.02), "middle": (0.3, 0.35, 0.25, 0.0),
        "ring": (0.38, 0.4, 0.25, 0.0), "pinky": (0.45, 0.45, 0.3, 0.02),
        "thumb": (0.25, 0.15, 0.2, 0.0),
    },
    "open": {
        "index": (0.04, 0.05, 0.03, 0.06), "middle": (0.05, 0.05, 0.03, 0.0),
        "ring": (0.07, 0.06, 0.04, 0.04), "pinky": (0.1, 0.08, 0.05, 0.08),
        "thumb": (-0.1, 0.0, 0.05, 0.0),
    },
    "point": {
        "index": (0.02, 0.04, 0.03, 0.03), "middle": (1.35, 1.55, 0.9, 0.0),
        "ring": (1.4, 1.55, 0.9, 0.0), "pinky": (1.45, 1.5, 0.85, 0.0),
        "thumb": (0.75, 0.45, 0.4, 0.0),
    },
    "fist": {
        "index": (1.35, 1.6, 1.0, 0.0), "middle": (1.4, 1.6, 1.0, 0.0),
        "ring": (1.45, 1.6, 1.0, 0.0), "pinky": (1.5, 1.55, 0.95, 0.0),
        "thumb": (0.85, 0.5, 0.45, 0.0),
    },
    "pinch": {
        "index": (0.7, 0.75, 0.45, 0.0), "middle": (0.55, 0.6, 0.4, 0.0),
        "ring": (0.7, 0.7, 0.4, 0.0), "pinky": (0.8, 0.75, 0.4, 0.0),
        "thumb": (0.7, 0.3, 0.35, 0.0),
    },
    "cupped": {
        "index": (0.35, 0.4, 0.3, 0.02), "middle": (0.4, 0.45, 0.3, 0.0),
        "ring": (0.42, 0.45, 0.3, 0.0), "pinky": (0.45, 0.45, 0.3, 0.02),
        "thumb": (0.35, 0.25, 0.2, 0.0),
    },
    "thumbs_up": {
        "index": (1.35, 1.6, 1.0, 0.0), "middle": (1.4, 1.6, 1.0, 0.0),
        "ring": (1.45, 1.6, 1.0, 0.0), "pinky": (1.5, 1.55, 0.95, 0.0),
        "thumb": (-0.25, -0.05, 0.0, 0.0),
    },
    "spread": {
        "index": (0.0, 0.02, 0.02, 0.22), "middle": (0.02, 0.03, 0.02, 0.0),
        "ring": (0.04, 0.04, 0.03, 0.16), "pinky": (0.06, 0.05, 0.03, 0.3),
        "thumb": (-0.35, -0.05, 0.0, 0.0),
    },
}
HAND_SHAPES: tuple[str, ...] = tuple(SHAPE_SPECS)
SHAPE_INDEX: dict[str, int] = {name: i for i, name in enumerate(HAND_SHAPES)}

# The thumb opposes toward the underside of the palm, near the ring finger's base.
_THUMB_OPPOSITION_TARGET = np.array([0.06, -0.045, -0.03])
_CURL_AXIS = np.array([0.0, 0.0, -1.0])
_SPREAD_AXIS = np.array([0.0, -1.0, 0.0])  # rotating +X about -Y moves it toward +Z


def thumb_axes(rest: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotation axes of the left thumb's three joints, from the rest bone directions."""
    wrist = rest[JOINT_INDEX["left_wrist"]]
    t1, t2, t3 = (rest[JOINT_INDEX[f"left_thumb{i}"]] for i in (1, 2, 3))
    tip_direction = unit(t3 - t2)
    # Opposition swings the whole thumb from its base toward the palm's underside.
    opposition = unit(np.cross(unit(t2 - t1), unit(wrist + _THUMB_OPPOSITION_TARGET - t1)))
    # Flexion of the outer joints bends toward the palm side (-Y), across the thumb's length.
    flexion2 = unit(np.cross(unit(t3 - t2), [0.0, -1.0, 0.0]))
    flexion3 = unit(np.cross(tip_direction, [0.0, -1.0, 0.0]))
    return opposition, flexion2, flexion3


def finger_rotations(
    spec: Mapping[str, tuple[float, ...]], thumb_axes: tuple[np.ndarray, ...]
) -> np.ndarray:
    """(15, 3) left-hand axis-angle rotations of one shape, in SMPL-X finger-joint order.

    `spec` gives each finger's (curl of joints 1, 2, 3, spread); the thumb's first three values
    turn it about `thumb_axes` (opposition, flexion of joint 2, flexion of joint 3).
    """
    out = np.zeros((15, 3))
    for f, finger in enumerate(FINGERS):
        values = spec[finger]
        if finger == "thumb":
            for k, axis in enumerate(thumb_axes):
                out[3 * f + k] = values[k] * axis
            continue
        curl1, curl2, curl3, spread = values
        out[3 * f] = curl1 * _CURL_AXIS + _SPREAD_SIGN[finger] * spread * _SPREAD_AXIS
        out[3 * f + 1] = curl2 * _CURL_AXIS
        out[3 * f + 2] = curl3 * _CURL_AXIS
    return out


def mirror_rotations(left: np.ndarray) -> np.ndarray:
    """Axis-angle rotations reflected through the X = 0 plane (left side -> right side)."""
    return left * np.array([1.0, -1.0, -1.0])


def shape_table(rest_positions: np.ndarray | None = None) -> np.ndarray:
    """(S, 15, 3) left-hand rotations of every shape in HAND_SHAPES order."""
    rest = default_rest_positions() if rest_positions is None else rest_positions
    axes = thumb_axes(rest)
    return np.stack([finger_rotations(SHAPE_SPECS[name], axes) for name in HAND_SHAPES])


_TABLE = shape_table()


def one_hot(name: str) -> np.ndarray:
    """The weight vector that selects one shape."""
    weights = np.zeros(len(HAND_SHAPES))
    weights[SHAPE_INDEX[name]] = 1.0
    return weights


def hand_pose(name: str, side: str = "left") -> np.ndarray:
    """(15, 3) finger rotations of one named shape for the given side."""
    left = _TABLE[SHAPE_INDEX[name]]
    return left.copy() if side == "left" else mirror_rotations(left)


def animate_hands(
    left_weights: np.ndarray,
    right_weights: np.ndarray,
    fps: float,
    rng: np.random.Generator,
    fidget: float = 1.0,
) -> np.ndarray:
    """(T, 30, 3) finger rotations (joints 25-54) from per-frame shape weights (T, S) per hand.

    Each weight row is a convex mix of HAND_SHAPES; idle motion adds a slow, per-finger curl
    wobble so held shapes never freeze (scaled by `fidget`: tense styles fidget more).
    """
    frames = len(left_weights)
    out = np.empty((frames, 30, 3))
    for h, weights in enumerate((left_weights, right_weights)):
        pose = np.einsum("ts,sjk->tjk", weights, _TABLE)
        # Neighbouring fingers move together: one shared wobble plus a smaller own part.
        shared = smooth_noise(rng, frames, fps, period=2.2)
        own = smooth_noise(rng, frames, fps, period=1.6, dims=5)
        wobble = 0.06 * shared + 0.035 * own  # (T, 5) radians of extra curl
        for f in range(4):  # the four fingers; the thumb keeps its shape
            # Outer joints follow the first one, like tendons coupling the phalanges.
            for k, share in enumerate((1.0, 0.8, 0.5)):
                pose[:, 3 * f + k] += fidget * share * wobble[:, f : f + 1] * _CURL_AXIS
        out[:, 15 * h : 15 * h + 15] = pose if h == 0 else mirror_rotations(pose)
    return out
