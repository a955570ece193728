"""Planted feet stay planted: the root moves only with steps.

The lower-body tokenizer decodes root velocity and leg rotations separately, so even the
teacher's own codes decode with feet that slide 1-9 cm/s while on the floor (measured on corpus
clips; the teacher's are still). A decoded root drift is therefore taken out where a foot is on
the floor: the root then moves exactly as much as keeps the planted feet where they stand, and
follows the decoded velocity only while no foot is down (a step, a jump). Contacts are read from
the motion itself, as the foot-skate metric reads them (core/eval/performance.py).
"""

from __future__ import annotations

import numpy as np

from core.skeleton import JOINT_INDEX, forward_kinematics

FEET = ("left_ankle", "right_ankle", "left_foot", "right_foot")
CONTACT_HEIGHT_M = 0.04  # within this of a foot joint's lowest point in the clip: on the floor
_HORIZONTAL = [0, 2]


def planted_root(poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """(T, 3) root translation with the horizontal drift of planted feet removed; the height and
    the first frame are unchanged."""
    frames = trans.shape[0]
    if frames < 2:
        return trans.copy()
    local = forward_kinematics(poses)[:, [JOINT_INDEX[name] for name in FEET]]  # (T, 4, 3)
    height = local[..., 1] + trans[:, 1:2]
    contact = height <= height.min(axis=0) + CONTACT_HEIGHT_M  # (T, 4)
    held = contact[1:] & contact[:-1]  # (T-1, 4): on the floor on both frames of a step
    # Where feet are held, the root moves so that they do not: minus their local movement.
    feet_motion = local[:-1][..., _HORIZONTAL] - local[1:][..., _HORIZONTAL]  # (T-1, 4, 2)
    count = held.sum(axis=1)
    pinned = (feet_motion * held[..., None]).sum(axis=1) / np.maximum(count, 1)[:, None]
    decoded = np.diff(trans[:, _HORIZONTAL], axis=0)
    step = np.where((count > 0)[:, None], pinned, decoded)
    out = trans.astype(np.float64).copy()
    out[1:, _HORIZONTAL] = trans[0, _HORIZONTAL] + np.cumsum(step, axis=0)
    return out.astype(trans.dtype)
