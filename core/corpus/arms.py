"""The performer's arms in the chest (spine3) frame: rest geometry, collar rotation, IK from
wrist targets to shoulder and elbow rotations, forearm twist toward a palm direction, and the
torso the wrists must stay out of.

Coordinates: SMPL-X, metres, Y up, the character faces +Z, its left is +X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.limb_ik import axis_rotation, limb_rotations, two_bone_ik, unit
from core.skeleton import JOINT_INDEX, default_rest_positions

SIDES: tuple[str, str] = ("left", "right")
SIDE_SIGN = {"left": 1.0, "right": -1.0}


def _transpose(m: np.ndarray) -> np.ndarray:
    return np.swapaxes(m, -1, -2)


def rotation_about(axis: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations by `angles` (N,) about one fixed `axis` (Rodrigues)."""
    k = unit(np.asarray(axis, np.float64))
    cross = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    angles = np.asarray(angles, np.float64)[:, None, None]
    return np.eye(3) + np.sin(angles) * cross + (1 - np.cos(angles)) * (cross @ cross)


@dataclass(frozen=True)
class ArmRest:
    """One arm of the rest skeleton, seen from the spine3 joint."""

    side: str
    collar: np.ndarray  # collar joint relative to spine3
    shoulder: np.ndarray  # shoulder joint relative to the collar joint
    upper: np.ndarray  # elbow relative to shoulder (rest bone vector)
    fore: np.ndarray  # wrist relative to elbow
    hinge: np.ndarray  # elbow flexion axis in rest: flexing swings the forearm forward (+Z)

    @property
    def lengths(self) -> tuple[float, float]:
        return float(np.linalg.norm(self.upper)), float(np.linalg.norm(self.fore))


def arm_rest(side: str, rest_positions: np.ndarray | None = None) -> ArmRest:
    rest = default_rest_positions() if rest_positions is None else rest_positions
    j = {
        name: rest[JOINT_INDEX[f"{side}_{name}"]]
        for name in ("collar", "shoulder", "elbow", "wrist")
    }
    upper = j["elbow"] - j["shoulder"]
    return ArmRest(
        side=side,
        collar=j["collar"] - rest[JOINT_INDEX["spine3"]],
        shoulder=j["shoulder"] - j["collar"],
        upper=upper,
        fore=j["wrist"] - j["elbow"],
        hinge=unit(np.cross(unit(upper), [0.0, 0.0, 1.0])),
    )


ARMS: dict[str, ArmRest] = {side: arm_rest(side) for side in SIDES}

# Where the elbow goes, relative to the shoulder-wrist line: down, out and a little back.
POLE_LEFT = np.array([0.5, -0.8, -0.35])
_PALM_REST = np.array([0.0, -1.0, 0.0])  # palms face down in the zero pose
# Forearm rotation stays within this many radians of the IK's natural (thumb-up) twist.
_TWIST_LIMIT = 1.6


def elbow_poles(side: str, targets: np.ndarray, poles: np.ndarray) -> np.ndarray:
    """Poles swung outward as the wrist nears the midline, so the elbow clears the ribs."""
    s = SIDE_SIGN[side]
    inward = np.clip((0.22 - s * targets[:, 0]) / 0.15, 0.0, 1.0)
    out = np.array(poles, np.float64, copy=True)
    out[:, 0] += s * 0.7 * inward
    return out


def collar_rotation(side: str, raise_: np.ndarray, protract: np.ndarray) -> np.ndarray:
    """(N, 3, 3) collar rotations: raise lifts the shoulder, protraction brings it forward."""
    s = SIDE_SIGN[side]
    # Elevation about the forward axis, then protraction about the vertical.
    return axis_rotation(2, s * raise_) @ axis_rotation(1, -s * protract)


@dataclass(frozen=True)
class ArmPose:
    shoulder: np.ndarray  # (N, 3, 3) local rotation (in the collar's frame)
    elbow: np.ndarray  # (N, 3, 3) local rotation (in the upper arm's frame)
    forearm: np.ndarray  # (N, 3, 3) forearm orientation in the chest frame
    elbow_position: np.ndarray  # (N, 3) chest frame, relative to spine3
    wrist_position: np.ndarray  # (N, 3)


def solve_arm(
    arm: ArmRest,
    targets: np.ndarray,
    collar: np.ndarray,
    twist: np.ndarray | None = None,
    pole: np.ndarray | None = None,
) -> ArmPose:
    """Shoulder and elbow rotations that put the wrist on `targets` (N, 3), chest frame.

    The elbow goes to the side of `pole` (down, out and back by default) and is a hinge;
    `twist` (N,) turns the forearm about its own axis (pronation/supination).
    """
    n = len(targets)
    if pole is None:
        pole = POLE_LEFT * np.array([SIDE_SIGN[arm.side], 1.0, 1.0])
    pole = np.broadcast_to(pole, (n, 3))
    shoulder = arm.collar + (collar @ arm.shoulder[:, None])[..., 0]
    # Reach eases off from 85% of the arm's length, so the elbow never snaps straight.
    elbow, wrist, normal = two_bone_ik(
        shoulder, targets, pole, *arm.lengths, max_reach=0.985, soft_from=0.85
    )
    # limb_ik's bend-plane normal points against the flexion axis.
    upper_world, fore_world = limb_rotations(
        shoulder, elbow, wrist, normal, arm.upper, arm.fore, -arm.hinge
    )
    if twist is not None:
        fore_world = fore_world @ rotation_about(arm.fore, twist)
    return ArmPose(
        shoulder=_transpose(collar) @ upper_world,
        elbow=_transpose(upper_world) @ fore_world,
        forearm=fore_world,
        elbow_position=elbow,
        wrist_position=wrist,
    )


def palm_twist(
    arm: ArmRest,
    targets: np.ndarray,
    collar: np.ndarray,
    palms: np.ndarray,
    pole: np.ndarray | None = None,
) -> np.ndarray:
    """(N,) forearm twist that turns the palm toward `palms` (N, 3); NaN rows mean "neutral"."""
    pose = solve_arm(arm, targets, collar, pole=pole)
    forearm_axis = pose.forearm @ unit(arm.fore)
    palm = pose.forearm @ _PALM_REST
    want = np.nan_to_num(palms) - np.sum(np.nan_to_num(palms) * forearm_axis, -1, keepdims=True) * (
        forearm_axis
    )
    angle = np.arctan2(np.sum(np.cross(palm, want) * forearm_axis, -1), np.sum(palm * want, -1))
    usable = np.isfinite(palms).all(axis=-1) & (np.linalg.norm(want, axis=-1) > 0.2)
    return np.where(usable, np.clip(angle, -_TWIST_LIMIT, _TWIST_LIMIT), 0.0)


# ---------------------------------------------------------------------------------------------
# Keeping the hands out of the body
# ---------------------------------------------------------------------------------------------

# The torso as an elliptic cylinder about the spine, chest frame (spine3 at the origin).
TORSO_HALF_WIDTH = 0.17
TORSO_FRONT = 0.14
TORSO_BACK = 0.12
TORSO_TOP, TORSO_BOTTOM = 0.25, -0.45
WRIST_MARGIN = 0.04


def torso_clearance(points: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """(...) elliptic radius of `points` (..., 3) around the torso: < 1 means inside."""
    depth = np.where(points[..., 2] > 0, TORSO_FRONT, TORSO_BACK) + margin
    radius = np.hypot(points[..., 0] / (TORSO_HALF_WIDTH + margin), points[..., 2] / depth)
    within_height = (points[..., 1] < TORSO_TOP) & (points[..., 1] > TORSO_BOTTOM)
    return np.where(within_height, radius, np.inf)


def keep_outside_torso(targets: np.ndarray, side: str) -> np.ndarray:
    """Wrist targets pushed radially out of the torso (plus a margin) and off the far side."""
    out = targets.copy()
    s = SIDE_SIGN[side]
    # A hand may reach a little past the midline, not across the body.
    out[:, 0] = s * np.maximum(s * out[:, 0], 0.06)
    radius = torso_clearance(out, WRIST_MARGIN)
    inside = radius < 1.0
    out[inside, 0] /= radius[inside]
    out[inside, 2] /= radius[inside]
    return out
