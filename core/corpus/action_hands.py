"""Hand shapes for scripted actions: finger rotations of point, fist, thumbs-up, counting, ...

Authored for the left hand in the SMPL-X zero pose (palm down, fingers along +X, thumb forward)
and mirrored for the right. A finger curls toward the palm (-Y) by turning about -Z and fans out
by turning about Y; the thumb's axes come from its rest bones.
"""

from __future__ import annotations

import numpy as np

from core.corpus.hands import finger_rotations, mirror_rotations, thumb_axes
from core.errors import BodyLanguageError
from core.skeleton import default_rest_positions

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

_AXES = thumb_axes(default_rest_positions())
_LEFT_TABLE = {name: finger_rotations(spec, _AXES) for name, spec in SHAPES.items()}


def shape_rotations(name: str, side: str) -> np.ndarray:
    """(15, 3) axis-angle rotations of the finger joints of one hand in a named shape."""
    if name not in _LEFT_TABLE:
        raise BodyLanguageError(f"unknown hand shape {name!r}; expected one of {HAND_SHAPES}")
    left = _LEFT_TABLE[name]
    return left.copy() if side == "left" else mirror_rotations(left)
