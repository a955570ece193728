"""Choreographies that move the legs: steps, walks, turns, jumps, squats, bows, idling.

Foot steps become a LowerPlan (feet and pelvis shifts over the frames); the arms follow where
the whole body moves.
"""

from __future__ import annotations

import numpy as np

from core.corpus.action_keys import REST, SQUAT_REACH, SWING_BACK, SWING_FORWARD, mirror
from core.corpus.action_stage import FROM_BASE, ArmTrack, LowerPlan, Stage
from core.corpus.action_timing import amplitude, gesture_end, head, hold_pose, phases, rate, window
from core.corpus.signals import min_jerk


def _swing(t: np.ndarray, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """(progress, lift) of a foot swinging over [t0, t1]: the foot rises first and only then
    travels, so it never slides while near the floor."""
    u = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    return min_jerk((u - 0.16) / 0.68), np.sin(np.pi * u)


def _smooth(values: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """Moving average along the first axis, edges held."""
    width = max(1, int(round(seconds * fps / 2)))
    padded = np.pad(values, [(width, width)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    kernel = np.ones(2 * width + 1) / (2 * width + 1)
    return np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="valid"), 0, padded)


def step_plan(stage: Stage, steps: list[tuple[int, float, float, np.ndarray, float]],
              lift: float = 0.08, sway: float = 0.02, dip: float = 0.0) -> LowerPlan:
    """A plan from foot steps (foot 0 = left, start, end, target shift (x, z), target yaw).

    The pelvis follows the mean of the feet, swaying over the stance foot, smoothed so it moves
    ahead of the steps a little, like a walking body's centre of mass.
    """
    t, plan = stage.t, LowerPlan.still(stage.frames)
    for foot, t0, t1, target, yaw in steps:
        progress, rise = _swing(t, t0, t1)
        shift_before = plan.foot_shift[foot][np.searchsorted(t, t0) - 1 if t0 > 0 else 0].copy()
        yaw_before = plan.foot_yaw[foot][np.searchsorted(t, t0) - 1 if t0 > 0 else 0]
        after = t >= t0
        shift = shift_before[None] + progress[:, None] * (
            np.array([target[0], 0.0, target[1]]) - shift_before)[None]
        shift[:, 1] = lift * rise
        plan.foot_shift[foot][after] = shift[after]
        plan.foot_yaw[foot][after] = (yaw_before + progress * (yaw - yaw_before))[after]
        # The pelvis leans over the foot that stays down.
        plan.pelvis_shift[:, 0] += (1.0 if foot == 1 else -1.0) * sway * rise
    mean = plan.foot_shift.mean(axis=0)
    mean[:, 1] = 0.0
    plan.pelvis_shift += _smooth(mean, stage.fps, 0.35)
    plan.pelvis_yaw = _smooth(plan.foot_yaw.mean(axis=0), stage.fps, 0.35)
    if dip and steps:
        first, last = steps[0][1], steps[-1][2]
        plan.pelvis_shift[:, 1] -= dip * window(stage, first - 0.1, last + 0.1, 0.25)
    return plan


def _step_times(stage: Stage, count: int, step: float,
                shortest: float = 0.38) -> tuple[list[float], float]:
    """Start times of up to `count` steps that fit between the blend windows, and the step time
    (shortened to fit, but never below `shortest`: then fewer steps are taken)."""
    first = stage.blend + 0.2
    available = stage.span - stage.blend - 0.25 - first
    count = int(min(count, max(0.0, available) // shortest))
    if count == 0:
        return [], step
    step = min(step, available / count)
    return [first + k * step for k in range(count)], step


def walk(stage: Stage, direction: float) -> None:
    """Steps along the facing (+1) or backwards (-1), as many as the span holds."""
    amp = float(np.clip(amplitude(stage), 0.75, 1.3))
    length = (0.4 if direction > 0 else 0.28) * np.sqrt(amp)
    step = (0.58 if direction > 0 else 0.66) / stage.style.tempo
    available = stage.span - 2 * stage.blend - 0.45
    starts, step = _step_times(stage, int(np.clip(available // step, 2, 10)), step)
    count = len(starts)
    lead = int(stage.rng.integers(2))
    total = (count - 1) * length * direction
    steps = []
    for k, start in enumerate(starts):
        foot = (lead + k) % 2
        forward = min((k + 1) * length, abs(total)) * direction
        steps.append((foot, start, start + 0.8 * step, np.array([0.0, forward]), 0.0))
    stage.drive_lower(step_plan(stage, steps, lift=0.07 * np.sqrt(amp), dip=0.02))


def turn(stage: Stage, direction: float) -> None:
    """Step round about a quarter turn to the left (+1) or right (-1)."""
    angle = direction * float(np.clip(np.pi / 2 * stage.rng.uniform(0.85, 1.1)
                                      * stage.style.amplitude ** 0.3, 1.1, 1.9))
    starts, step = _step_times(stage, 3, 0.55 / stage.style.tempo)
    lead = 0 if direction > 0 else 1  # turning left, the left foot opens first
    # Three steps keep each foot within half the turn of the pelvis; two if time is short.
    plan = [(lead, angle / 2), (1 - lead, angle), (lead, angle)]
    if len(starts) == 2:
        plan = [(lead, angle * 0.6), (1 - lead, angle * 0.6)]
    elif len(starts) < 2:
        plan = []
    steps = [(foot, start, start + 0.8 * step, np.zeros(2), yaw)
             for (foot, yaw), start in zip(plan, starts, strict=False)]
    stage.drive_lower(step_plan(stage, steps, lift=0.06, sway=0.015, dip=0.015))


def side_step(stage: Stage, direction: float) -> None:
    """Step sideways to the left (+1) or right (-1), the other foot following."""
    width = 0.3 * float(np.clip(amplitude(stage), 0.8, 1.25)) * direction
    pairs = 2 if stage.span > 3.2 / stage.style.tempo else 1
    starts, step = _step_times(stage, 2 * pairs, 0.55 / stage.style.tempo)
    pairs = len(starts) // 2
    lead = 0 if direction > 0 else 1
    steps = []
    for k in range(pairs):
        target = np.array([width * (k + 1), 0.0])
        steps.append((lead, starts[2 * k], starts[2 * k] + 0.75 * step, target, 0.0))
        steps.append((1 - lead, starts[2 * k + 1], starts[2 * k + 1] + 0.75 * step,
                      target, 0.0))
    stage.drive_lower(step_plan(stage, steps, lift=0.06, sway=0.0, dip=0.02))


def _hermite(t: np.ndarray, t0: float, t1: float, y0: float, y1: float, v0: float,
             v1: float) -> np.ndarray:
    u = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    h = t1 - t0
    return ((2 * u**3 - 3 * u**2 + 1) * y0 + (u**3 - 2 * u**2 + u) * h * v0
            + (-2 * u**3 + 3 * u**2) * y1 + (u**3 - u**2) * h * v1)


def jump(stage: Stage) -> None:
    gravity = 9.81
    tempo = stage.style.tempo
    crouch, push, land, recover = 0.45 / tempo, 0.22, 0.22, 0.45 / tempo
    ground = crouch + push + land + recover
    # A short span gets a lower jump with quicker ground phases (down to half), and below
    # that only a crouch and rise.
    available = stage.span - 2 * stage.blend - 0.2
    height = 0.16 * float(np.clip(amplitude(stage), 0.7, 1.3))
    flight = 2 * np.sqrt(2 * gravity * height) / gravity
    squeeze = float(np.clip((available - flight) / ground, 0.5, 1.0))
    if available < flight + 0.5 * ground:
        squeeze = float(np.clip(available / ground, 0.2, 1.0))
        height = max(0.0, (available - squeeze * ground) / flight) ** 2 * height
        flight = 2 * np.sqrt(2 * gravity * height) / gravity
    launch = gravity * flight / 2
    crouch, push, land, recover = (v * squeeze for v in (crouch, push, land, recover))
    need = ground * squeeze + flight
    t0 = stage.blend + 0.1 + max(0.0, (available - need) / 2)
    t1, t2 = t0 + crouch, t0 + crouch + push
    t3, t4 = t2 + flight, t2 + flight + land
    t5 = t4 + recover
    t = stage.t
    depth = -max(0.05, 0.13 * height / 0.16)
    y = np.zeros(stage.frames)
    y = np.where(t < t1, _hermite(t, t0, t1, 0.0, depth, 0.0, 0.0), y)
    y = np.where((t >= t1) & (t < t2), _hermite(t, t1, t2, depth, 0.0, 0.0, launch), y)
    airborne = (t >= t2) & (t < t3)
    y = np.where(airborne, launch * (t - t2) - 0.5 * gravity * (t - t2) ** 2, y)
    y = np.where((t >= t3) & (t < t4), _hermite(t, t3, t4, 0.0, depth * 0.8, -launch, 0.0), y)
    y = np.where(t >= t4, _hermite(t, t4, t5, depth * 0.8, 0.0, 0.0, 0.0), y)
    plan = LowerPlan.still(stage.frames)
    # The knees never lock straight during the jump, so landing does not snap them.
    plan.pelvis_shift[:, 1] = y - 0.04 * window(stage, t0, t5, 0.3)
    # Feet leave the floor only while the pelvis is above standing height.
    lift = np.maximum(y, 0.0)
    tuck = 0.06 * np.sin(np.pi * np.clip((t - t2) / max(flight, 1e-3), 0, 1)) * airborne
    plan.foot_shift[:, :, 1] = lift + tuck
    plan.pelvis_tilt[:, 0] = -0.35 * np.minimum(y, 0.0) / 0.13
    stage.drive_lower(plan)
    tracks = {}
    for side in ("left", "right"):
        tracks[side] = ArmTrack([(0.0, FROM_BASE), (t1, mirror(SWING_BACK, side)),
                                 (t3, mirror(SWING_FORWARD, side)),
                                 (t5, mirror(REST, side)), (gesture_end(stage), FROM_BASE)])
        stage.set_hand_shapes(side, [(0.0, None), (t1, "relaxed"), (t5, "relaxed"),
                                     (gesture_end(stage), None)])
    stage.drive_arms(tracks)


def body_room(stage: Stage, needed: float) -> float:
    """Fraction (0.3 to 1) of a whole-body movement that fits the span at a safe pace."""
    return float(np.clip((stage.span - 2 * stage.blend) / needed, 0.3, 1.0))


def squat(stage: Stage) -> None:
    ready, release = phases(stage, 1.0, 0.9)
    depth = float(np.clip(amplitude(stage), 0.75, 1.15)) * body_room(stage, 2.0)
    down = window(stage, stage.blend, stage.span - stage.blend, max(ready - stage.blend, 0.4))
    plan = LowerPlan.still(stage.frames)
    plan.pelvis_shift[:, 1] = -0.38 * depth * down
    plan.pelvis_shift[:, 2] = -0.10 * depth * down
    plan.pelvis_tilt[:, 0] = 0.4 * depth * down
    stage.drive_lower(plan)
    for joint in ("spine1", "spine2"):
        stage.set_euler(joint, pitch=0.05 * down)
    head(stage, pitch=-0.3 * down)
    hold_pose(stage, SQUAT_REACH, "flat", ready, release, ("left", "right"))


def bow(stage: Stage) -> None:
    ready, release = phases(stage, 0.8, 0.8)
    depth = float(np.clip(amplitude(stage), 0.7, 1.25)) * body_room(stage, 1.8)
    down = window(stage, stage.blend, stage.span - stage.blend, max(ready - stage.blend, 0.4))
    plan = LowerPlan.still(stage.frames)
    plan.pelvis_tilt[:, 0] = 0.5 * depth * down
    plan.pelvis_shift[:, 2] = -0.06 * depth * down
    stage.drive_lower(plan)
    for joint in ("spine1", "spine2", "spine3"):
        stage.set_euler(joint, pitch=0.08 * depth * down)
    head(stage, pitch=0.2 * down)
    hold_pose(stage, REST.moved(dz=0.03), "flat", ready, release, ("left", "right"))


def stand_idle(stage: Stage) -> None:
    t = stage.t
    inside = window(stage, stage.blend, stage.span - stage.blend, 0.5)
    sway_rate = 0.22 * rate(stage)
    plan = LowerPlan.still(stage.frames)
    phase = stage.rng.uniform(0, 2 * np.pi)
    plan.pelvis_shift[:, 0] = 0.02 * np.sin(2 * np.pi * sway_rate * t + phase) * inside
    plan.pelvis_tilt[:, 2] = 0.02 * np.sin(2 * np.pi * sway_rate * t + phase) * inside
    stage.drive_lower(plan)
    breath = 0.015 * np.sin(2 * np.pi * 0.25 * t) * inside
    stage.set_euler("spine2", pitch=-breath)
    stage.set_euler("spine3", pitch=-breath)
    head(stage, yaw=0.12 * np.sin(2 * np.pi * 0.13 * t + 2 * phase) * inside)
    tracks = {}
    for side in ("left", "right"):
        drift = 0.01 * np.sin(2 * np.pi * 0.22 * t + phase + (0 if side == "left" else 1.3))
        track = ArmTrack([(0.0, mirror(REST, side))],
                         offset=np.stack([drift, np.zeros_like(drift), drift], 1))
        tracks[side] = track
        stage.set_hand_shapes(side, [(0.0, "relaxed")])
    stage.drive_arms(tracks)
