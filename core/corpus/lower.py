"""The performer's lower body: stance, weight shifts, sway and steps, with planted feet.

The feet are the anchors: each foot is planted at a fixed spot (ankle position and yaw) or
swinging between two spots during a step. The pelvis is placed from the feet (between them,
shifted toward the loaded one, the unloaded hip dropping), and an analytic two-bone leg IK
solves hips, knees and ankles so the ankles land exactly on their targets — planted feet do not
slide. The root translation `trans` follows the pelvis.

Coordinates: SMPL-X, metres, Y up, floor at y = 0, the character faces +Z, its left is +X.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.corpus.signals import (
    child_rngs,
    gaussian_smooth,
    interpolate_keys,
    min_jerk,
    smooth_noise,
    yaw_pitch_roll,
)
from core.corpus.style import Style
from core.limb_ik import axis_rotation, limb_rotations, two_bone_ik
from core.rotations import matrix_to_axis_angle
from core.skeleton import JOINT_INDEX, NUM_JOINTS, default_rest_positions

SIDES: tuple[str, str] = ("left", "right")
SIDE_SIGN = {"left": 1.0, "right": -1.0}
MAX_STEP_LENGTH = 0.35  # metres an ankle may travel in one step
_SOLE_CLEARANCE = 0.035  # a foot counts as planted below this height; it moves only above it
_MAX_LEG_REACH = 0.997  # fraction of the leg's length the hip-ankle distance may use


def _rotate_yaw(vector: np.ndarray, yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    x, y, z = vector
    return np.array([c * x + s * z, y, -s * x + c * z])


@dataclass(frozen=True)
class LegRest:
    side: str
    hip: np.ndarray  # hip joint relative to the pelvis joint
    thigh: np.ndarray  # knee relative to hip
    shin: np.ndarray  # ankle relative to knee
    foot: np.ndarray  # foot (ball) joint relative to the ankle
    hinge: np.ndarray  # knee flexion axis: flexing swings the shin backward (-Z)
    ankle: np.ndarray  # rest ankle position in the world


def leg_rest(side: str, rest_positions: np.ndarray | None = None) -> LegRest:
    rest = default_rest_positions() if rest_positions is None else rest_positions
    j = {name: rest[JOINT_INDEX[f"{side}_{name}"]] for name in ("hip", "knee", "ankle", "foot")}
    thigh = j["knee"] - j["hip"]
    return LegRest(
        side=side,
        hip=j["hip"] - rest[JOINT_INDEX["pelvis"]],
        thigh=thigh,
        shin=j["ankle"] - j["knee"],
        foot=j["foot"] - j["ankle"],
        hinge=np.cross(thigh, [0.0, 0.0, -1.0]) / np.linalg.norm(np.cross(thigh, [0, 0, -1.0])),
        ankle=j["ankle"].copy(),
    )


LEGS: dict[str, LegRest] = {side: leg_rest(side) for side in SIDES}
_REST = default_rest_positions()
PELVIS_REST = _REST[JOINT_INDEX["pelvis"]].copy()
LOWER_JOINTS = {name: JOINT_INDEX[name] for name in (
    "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_foot", "right_foot",
)}


@dataclass(frozen=True)
class Step:
    side: str
    start: float  # lift-off, seconds
    end: float  # touch-down
    origin: np.ndarray  # ankle position (3,) before
    goal: np.ndarray  # ankle position after
    yaw_from: float
    yaw_to: float
    lift: float  # peak ankle rise, metres


@dataclass
class LowerTrack:
    poses: np.ndarray  # (T, 55, 3) with pelvis, hips, knees, ankles and feet set
    trans: np.ndarray  # (T, 3)
    pelvis_roll: np.ndarray  # (T,) radians, + lifts the left hip
    planted: np.ndarray  # (T, 2) bool, left and right foot on the floor and still
    steps: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class _LowerStyle:
    half_width: float  # extra half stance width, metres
    shift: float  # idle weight-shift size (fraction of the half stance)
    step_every: float  # mean seconds between steps
    step_scale: float  # step length multiplier
    bend: float  # knee bend, metres of pelvis drop
    sway: float  # metres of slow postural sway


def _lower_style(style: Style) -> _LowerStyle:
    base = {
        "anger": _LowerStyle(0.03, 0.55, 11.0, 1.2, 0.012, 0.006),
        "fear": _LowerStyle(-0.01, 0.25, 14.0, 0.6, 0.018, 0.003),
        "sadness": _LowerStyle(-0.005, 0.35, 20.0, 0.7, 0.01, 0.004),
        "happiness": _LowerStyle(0.01, 0.5, 10.0, 1.0, 0.006, 0.007),
        "surprise": _LowerStyle(0.01, 0.45, 12.0, 1.0, 0.008, 0.005),
    }.get(style.emotion, _LowerStyle(0.0, 0.45, 13.0, 1.0, 0.006, 0.005))
    return base


class _FootPlan:
    """Where one foot is over time: planted spots joined by swings."""

    def __init__(self, side: str, ankle: np.ndarray, yaw: float) -> None:
        self.side = side
        self.ankle = ankle.copy()
        self.yaw = yaw
        self.steps: list[Step] = []

    def step(self, start: float, end: float, goal: np.ndarray, yaw: float, lift: float) -> Step:
        step = Step(self.side, start, end, self.ankle.copy(), goal.copy(), self.yaw, yaw, lift)
        self.steps.append(step)
        self.ankle, self.yaw = goal.copy(), yaw
        return step

    def sample(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ankle positions (T, 3), foot yaw (T,) and planted mask (T,)."""
        first = self.steps[0] if self.steps else None
        ankle = np.tile(first.origin if first else self.ankle, (len(times), 1))
        yaw = np.full(len(times), first.yaw_from if first else self.yaw)
        planted = np.ones(len(times), bool)
        for step in self.steps:
            s = (times - step.start) / (step.end - step.start)
            after = s >= 1
            ankle[after] = step.goal
            yaw[after] = step.yaw_to
            swing = (s > 0) & (s < 1)
            u = s[swing]
            # Lift first, travel only once the sole is clear of the floor, set down last: the
            # foot never scuffs along the ground.
            clear = np.arcsin(min(_SOLE_CLEARANCE / step.lift, 1.0)) / np.pi
            travel = min_jerk((u - clear) / (1 - 2 * clear))[:, None]
            ankle[swing] = step.origin + travel * (step.goal - step.origin)
            ankle[swing, 1] += step.lift * np.sin(np.pi * u)
            yaw[swing] = step.yaw_from + travel[:, 0] * (step.yaw_to - step.yaw_from)
            planted[swing] = False
        return ankle, yaw, planted


def _plan(
    duration: float, style: Style, look: _LowerStyle, rng: np.random.Generator, steps: bool
) -> tuple[dict[str, _FootPlan], list[tuple[float, float]]]:
    """Foot plans and weight keys (time, weight; + on the left foot) for the whole clip."""
    toe_out = rng.uniform(0.05, 0.16)
    half = abs(LEGS["left"].ankle[0]) + look.half_width + rng.uniform(-0.01, 0.015)
    feet = {
        side: _FootPlan(
            side,
            np.array([SIDE_SIGN[side] * half, LEGS[side].ankle[1], LEGS[side].ankle[2]]),
            SIDE_SIGN[side] * toe_out,
        )
        for side in SIDES
    }
    weight = float(rng.uniform(-0.4, 0.4)) * look.shift / 0.45
    keys = [(0.0, weight)]

    def key(when: float, value: float) -> None:
        if when > keys[-1][0] + 1e-3:
            keys.append((when, value))
    center, heading = np.zeros(3), 0.0
    tempo = style.tempo
    t = rng.uniform(0.8, 3.0)
    last_step = -np.inf
    while t < duration - 1.0:
        step_due = steps and t - last_step > 3.0 and rng.random() < 3.5 / look.step_every
        if step_due and t < duration - 2.5:
            # Pick a new place to stand, drawn back toward home so the performer stays on stage.
            move = rng.normal(0, 0.13, 3) * [1, 0, 1] - 0.5 * center * [1, 0, 1]
            move *= look.step_scale
            if np.linalg.norm(move) < 0.06:
                move *= 0.06 / max(np.linalg.norm(move), 1e-6)
            new_center = center + move
            new_heading = float(np.clip(heading + rng.normal(0, 0.15) - 0.4 * heading, -0.5, 0.5))
            lead = "left" if weight < 0 else "right"  # the unloaded foot moves first
            order = [lead, "right" if lead == "left" else "left"]
            if rng.random() < 0.35:
                order = order[:1]  # a single adjusting step
            for side in order:
                other = "right" if side == "left" else "left"
                sign = SIDE_SIGN[side]
                # Load the other foot fully before this one lifts.
                key(t, keys[-1][1])
                key(t + 0.35 / tempo, -0.95 * sign)
                lift_off = t + 0.38 / tempo
                swing = rng.uniform(0.45, 0.6) / tempo**0.5
                spot = new_center + _rotate_yaw(
                    np.array([sign * (half + rng.normal(0, 0.01)), 0.0, LEGS[side].ankle[2]]),
                    new_heading,
                )
                spot = _legal_spot(spot, feet[side].ankle, feet[other].ankle, sign, new_heading)
                spot[1] = LEGS[side].ankle[1]
                feet[side].step(lift_off, lift_off + swing, spot, new_heading + sign * toe_out,
                                lift=rng.uniform(0.06, 0.09))
                t = lift_off + swing
                weight = float(rng.uniform(-0.3, 0.3))
                key(t + 0.05, -0.95 * sign)
                key(t + 0.5 / tempo, weight)
                t += 0.5 / tempo
            center = 0.5 * (feet["left"].ankle + feet["right"].ankle) * [1, 0, 1]
            heading = 0.5 * (feet["left"].yaw + feet["right"].yaw)
            last_step = t
            t += rng.uniform(1.0, 3.0)
        else:
            shift = rng.uniform(0.8, 1.5) / tempo
            weight = float(np.clip(-np.sign(weight) * rng.uniform(0.3, 1.2) * look.shift
                                   + rng.normal(0, 0.1), -0.7, 0.7))
            key(t, keys[-1][1])
            key(t + shift, weight)
            t += shift + rng.uniform(1.5, 5.0) / tempo
    return feet, keys


def _legal_spot(
    spot: np.ndarray, origin: np.ndarray, stance: np.ndarray, sign: float, heading: float
) -> np.ndarray:
    """A foot spot no farther than one step away, beside (not across) the stance foot."""
    relative = _rotate_yaw(spot - stance, -heading)
    relative[0] = sign * np.clip(sign * relative[0], 0.14, 0.3)
    relative[2] = np.clip(relative[2], -0.18, 0.18)
    spot = stance + _rotate_yaw(relative, heading)
    travel = spot - origin
    length = np.linalg.norm(travel[[0, 2]])
    if length > MAX_STEP_LENGTH:
        spot = origin + travel * (MAX_STEP_LENGTH / length)
    return spot


def _soft_min(a: np.ndarray, b: np.ndarray, sharpness: float = 300.0) -> np.ndarray:
    low = np.minimum(a, b)
    return low - np.log1p(np.exp(-sharpness * np.abs(a - b))) / sharpness


def solve_leg(
    leg: LegRest,
    hip: np.ndarray,
    pelvis: np.ndarray,
    ankle: np.ndarray,
    foot: np.ndarray,
    knee_pole: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local hip, knee and ankle rotations (T, 3, 3) that put the ankle on `ankle` (T, 3).

    `hip` is the hip joint's world position, `pelvis` the pelvis world rotation, `foot` the
    foot's world rotation (flat on the floor: yaw only) and `knee_pole` where the knee points.
    """
    lengths = float(np.linalg.norm(leg.thigh)), float(np.linalg.norm(leg.shin))
    knee, reached, normal = two_bone_ik(hip, ankle, knee_pole, *lengths, max_reach=0.9995)
    # limb_ik's bend-plane normal points against the flexion axis.
    thigh, shin = limb_rotations(hip, knee, reached, normal, leg.thigh, leg.shin, -leg.hinge)
    t = np.swapaxes
    return t(pelvis, -1, -2) @ thigh, t(thigh, -1, -2) @ shin, t(shin, -1, -2) @ foot


def _pelvis_over_feet(
    ankles: dict[str, np.ndarray],
    yaws: dict[str, np.ndarray],
    weight: np.ndarray,
    sway: np.ndarray,
    drift: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pelvis positions (T, 3; height still to set), rotations (T, 3, 3) and roll (T,): between
    the feet, toward the loaded one, the unloaded hip dropping."""
    middle = 0.5 * (ankles["left"] + ankles["right"])
    half_span = 0.5 * (ankles["left"] - ankles["right"])
    heading = 0.5 * (yaws["left"] + yaws["right"])
    forward = PELVIS_REST[2] - 0.5 * (LEGS["left"].ankle[2] + LEGS["right"].ankle[2])
    pelvis = middle + 0.8 * weight[:, None] * half_span
    pelvis[:, 0] += np.sin(heading) * forward + sway[:, 0]
    pelvis[:, 2] += np.cos(heading) * forward + sway[:, 2]

    roll = 0.045 * weight + 0.01 * drift[:, 0]
    yaw = heading + 0.02 * drift[:, 1]
    pitch = 0.01 * drift[:, 2]
    return pelvis, yaw_pitch_roll(yaw, pitch, roll), roll


def _pelvis_height(
    pelvis: np.ndarray,
    rotation: np.ndarray,
    ankles: dict[str, np.ndarray],
    swinging: np.ndarray,
    drift: np.ndarray,
    look: _LowerStyle,
    fps: float,
) -> np.ndarray:
    """(T,) pelvis height: a soft knee bend that breathes a little, dipping while a foot swings,
    and never more than the legs can reach."""
    dip = 0.008 * gaussian_smooth(swinging.astype(float), 0.1 * fps)
    height = PELVIS_REST[1] - 0.004 - look.bend - 0.003 * (drift[:, 3] + 1) - dip
    for side in SIDES:
        leg = LEGS[side]
        offset = rotation @ leg.hip
        reach = _MAX_LEG_REACH * (np.linalg.norm(leg.thigh) + np.linalg.norm(leg.shin))
        horizontal = np.hypot(
            ankles[side][:, 0] - pelvis[:, 0] - offset[:, 0],
            ankles[side][:, 2] - pelvis[:, 2] - offset[:, 2],
        )
        highest = ankles[side][:, 1] + np.sqrt(np.maximum(reach**2 - horizontal**2, 0.0))
        height = _soft_min(height, highest - offset[:, 1])
    return height


def _leg_matrices(
    side: str, pelvis: np.ndarray, rotation: np.ndarray, ankle: np.ndarray, yaw: np.ndarray
) -> dict[str, np.ndarray]:
    """(T, 3, 3) local hip, knee and ankle rotations of one leg, its foot flat at `yaw`."""
    leg = LEGS[side]
    hip = pelvis + rotation @ leg.hip
    foot = axis_rotation(1, yaw)
    # Knees track the toes (a little outward): the natural knee alignment.
    pole = foot @ np.array([SIDE_SIGN[side] * 0.15, 0.0, 1.0])
    hip_local, knee_local, ankle_local = solve_leg(leg, hip, rotation, ankle, foot, pole)
    return {f"{side}_hip": hip_local, f"{side}_knee": knee_local, f"{side}_ankle": ankle_local}


def animate_lower(
    style: Style,
    frames: int,
    fps: float,
    rng: np.random.Generator,
    steps: bool = True,
) -> LowerTrack:
    """Pelvis, legs and root translation for `frames` frames, feet planted between steps."""
    times = np.arange(frames) / fps
    duration = frames / fps
    look = _lower_style(style)
    rng_plan, rng_noise = child_rngs(rng, 2)
    feet, weight_keys = _plan(duration, style, look, rng_plan, steps)
    weight = interpolate_keys(
        np.array([k[0] for k in weight_keys]), np.array([[k[1]] for k in weight_keys]), times
    )[:, 0]

    ankles, yaws, planted = {}, {}, {}
    for side in SIDES:
        ankles[side], yaws[side], planted[side] = feet[side].sample(times)
    sway = smooth_noise(rng_noise, frames, fps, period=3.5, dims=3) * look.sway
    drift = smooth_noise(rng_noise, frames, fps, period=2.5, dims=4)
    pelvis, pelvis_rotation, roll = _pelvis_over_feet(ankles, yaws, weight, sway, drift)
    swinging = ~(planted["left"] & planted["right"])
    pelvis[:, 1] = _pelvis_height(pelvis, pelvis_rotation, ankles, swinging, drift, look, fps)

    matrices = {"pelvis": pelvis_rotation}
    for side in SIDES:
        matrices.update(_leg_matrices(side, pelvis, pelvis_rotation, ankles[side], yaws[side]))
    poses = np.zeros((frames, NUM_JOINTS, 3))
    names = list(matrices)
    poses[:, [LOWER_JOINTS[n] for n in names]] = matrix_to_axis_angle(
        np.stack([matrices[n] for n in names], axis=1)
    )

    trans = pelvis - PELVIS_REST
    return LowerTrack(
        poses=poses,
        trans=trans,
        pelvis_roll=roll,
        planted=np.stack([planted["left"], planted["right"]], axis=1),
        steps=sorted(feet["left"].steps + feet["right"].steps, key=lambda s: s.start),
    )
