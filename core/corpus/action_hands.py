"""Hand shapes for scripted actions: finger rotations of point, fist, thumbs-up, counting, ...

Authored for the left hand in the SMPL-X zero pose (palm down, fingers along +X, thumb forward)
and mirrored for the right. A finger curls toward the palm (-Y) by turning about -Z and fans out
by turning about Y; the thumb's axes come from its rest bones.
"""

from __future__ import annotations

import numpy as np

from core.errors import BodyLanguageError
from core.limb_ik import unit
from core.skeleton import JOINT_INDEX, default_rest_positions

FINGERS: tuple[str, ...] = ("index", "middle", "pinky", "ring", "thumb")  # SMPL-X joint order
FINGER_JOINTS: dict[str, tuple[int, ...]] = {
    "left": tuple(range(25, 40)),
    "right": tuple(range(40, 55)),
}

_CURL_AXIS = np.array([0.0, 0.0, -1.0])
_SPREAD_AXIS = np.array([0.0, -1.0, 0.0])  # turns +X toward +Z, the thumb side
_SPREAD_SIGN = {"index": 1.0, "middle": 0.2, "ring": -0.6, "pinky": -1.0}

_OPEN = (0.05, 0.05, 0.03, 0.05)
_STRAIGHT = (0.0, 0.02, 0.02, 0.0)
_CURLED = (1.4, 1.55, 0.95, 0.0)
_THUMB_TUCKED = (0.85, 0.5, 0.45)
_THUMB_OUT = (-0.25, -0.05, 0.0)

# Per finger: (curl of joints 1, 2, 3, spread) in radians; thumb: (opposition, flex 2, flex 3).
SHAPES: dict[str, dict[str, tuple[float, ...]]] = {
    "relaxed": {"index": (0.2, 0.3, 0.2, 0.02), "middle": (0.3, 0.35, 0.25, 0.0),
                "ring": (0.38, 0.4, 0.25, 0.0), "pinky": (0.45, 0.45, 0.3, 0.02),
                "thumb": (0.25, 0.15, 0.2)},
    "open": {"index": _OPEN, "middle": _OPEN, "ring": _OPEN, "pinky": (0.08, 0.06, 0.04, 0.08),
             "thumb": (-0.1, 0.0, 0.05)},
    "flat": {"index": _STRAIGHT, "middle": _STRAIGHT, "ring": _STRAIGHT, "pinky": _STRAIGHT,
             "thumb": (0.1, 0.05, 0.05)},
    "spread": {"index": (0.0, 0.02, 0.02, 0.22), "middle": (0.02, 0.03, 0.02, 0.0),
               "ring": (0.04, 0.04, 0.03, 0.16), "pinky": (0.06, 0.05, 0.03, 0.3),
               "thumb": (-0.35, -0.05, 0.0)},
    "fist": {"index": _CURLED, "middle": _CURLED, "ring": _CURLED, "pinky": _CURLED,
             "thumb": _THUMB_TUCKED},
    "point": {"index": _STRAIGHT, "middle": _CURLED, "ring": _CURLED, "pinky": _CURLED,
              "thumb": (0.75, 0.45, 0.4)},
    "thumbs_up": {"index": _CURLED, "middle": _CURLED, "ring": _CURLED, "pinky": _CURLED,
                  "thumb": _THUMB_OUT},
    "count1": {"index": _STRAIGHT, "middle": _CURLED, "ring": _CURLED, "pinky": _CURLED,
               "thumb": _THUMB_TUCKED},
    "count2": {"index": (0.0, 0.02, 0.02, 0.12), "middle": _STRAIGHT, "ring": _CURLED,
               "pinky": _CURLED, "thumb": _THUMB_TUCKED},
    "count3": {"index": (0.0, 0.02, 0.02, 0.12), "middle": _STRAIGHT,
               "ring": (0.0, 0.02, 0.02, 0.1), "pinky": _CURLED, "thumb": _THUMB_TUCKED},
    "count4": {"index": (0.0, 0.02, 0.02, 0.15), "middle": _STRAIGHT,
               "ring": (0.0, 0.02, 0.02, 0.12), "pinky": (0.0, 0.02, 0.02, 0.22),
               "thumb": _THUMB_TUCKED},
    "claw": {"index": (0.5, 0.8, 0.6, 0.08), "middle": (0.5, 0.8, 0.6, 0.0),
             "ring": (0.55, 0.8, 0.6, 0.05), "pinky": (0.6, 0.8, 0.6, 0.1),
             "thumb": (0.3, 0.3, 0.3)},
    "curled": {"index": (1.1, 1.3, 0.8, 0.0), "middle": (1.1, 1.3, 0.8, 0.0),
               "ring": (1.15, 1.3, 0.8, 0.0), "pinky": (1.2, 1.3, 0.8, 0.0),
               "thumb": (0.3, 0.2, 0.2)},
    "cupped": {"index": (0.35, 0.4, 0.3, 0.02), "middle": (0.4, 0.45, 0.3, 0.0),
               "ring": (0.42, 0.45, 0.3, 0.0), "pinky": (0.45, 0.45, 0.3, 0.02),
               "thumb": (0.35, 0.25, 0.2)},
}
HAND_SHAPES: tuple[str, ...] = tuple(SHAPES)

# The thumb opposes toward the underside of the palm, near the ring finger's base.
_THUMB_OPPOSITION_TARGET = np.array([0.06, -0.045, -0.03])


def _thumb_axes(rest: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    wrist = rest[JOINT_INDEX["left_wrist"]]
    t1, t2, t3 = (rest[JOINT_INDEX[f"left_thumb{i}"]] for i in (1, 2, 3))
    opposition = unit(np.cross(unit(t2 - t1), unit(wrist + _THUMB_OPPOSITION_TARGET - t1)))
    flex2 = unit(np.cross(unit(t3 - t2), [0.0, -1.0, 0.0]))
    flex3 = unit(np.cross(unit(t3 - t2), [0.0, -1.0, 0.0]))
    return opposition, flex2, flex3


def _left_rotations(spec: dict[str, tuple[float, ...]], thumb_axes: tuple) -> np.ndarray:
    out = np.zeros((15, 3))
    for f, finger in enumerate(FINGERS):
        values = spec[finger]
        if finger == "thumb":
            for k in range(3):
                out[3 * f + k] = values[k] * thumb_axes[k]
            continue
        c1, c2, c3, spread = values
        out[3 * f] = c1 * _CURL_AXIS + _SPREAD_SIGN[finger] * spread * _SPREAD_AXIS
        out[3 * f + 1] = c2 * _CURL_AXIS
        out[3 * f + 2] = c3 * _CURL_AXIS
    return out


def mirror(rotations: np.ndarray) -> np.ndarray:
    """Axis-angle rotations reflected through the X = 0 plane (left side <-> right side)."""
    return rotations * np.array([1.0, -1.0, -1.0])


_AXES = _thumb_axes(default_rest_positions())
_LEFT_TABLE = {name: _left_rotations(spec, _AXES) for name, spec in SHAPES.items()}


def shape_rotations(name: str, side: str) -> np.ndarray:
    """(15, 3) axis-angle rotations of the finger joints of one hand in a named shape."""
    if name not in _LEFT_TABLE:
        raise BodyLanguageError(f"unknown hand shape {name!r}; expected one of {HAND_SHAPES}")
    left = _LEFT_TABLE[name]
    return left.copy() if side == "left" else mirror(left)
