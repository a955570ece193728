"""The choreography of every scripted action: what each does to a Stage over its span.

Hand keys are authored for the right hand in rest-world coordinates (metres; the default body
stands at the origin facing +Z, its left at +X; shoulders at y 1.4, head joint at 1.61) and
mirrored for the left. Times are seconds into the action; every choreography fits whatever span
it is given, so an action can be shortened to fit a clip or slowed down by its style's tempo.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from core.corpus.action_stage import (
    FROM_BASE,
    ArmTrack,
    HandKey,
    LowerPlan,
    Stage,
    ease_keys,
)
from core.corpus.signals import min_jerk

# -- hand keys (right hand; .mirrored() for the left) ------------------------------------------

REST = HandKey((-0.21, 0.86, 0.03), (0.05, -1.0, 0.12), (1.0, 0.0, 0.1), (-0.25, 0.0, -1.0))
WAVE = HandKey((-0.30, 1.62, 0.12), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (-0.6, -1.0, -0.1))
WAVE_HIGH = HandKey((-0.30, 1.84, 0.10), (-0.1, 1.0, 0.0), (0.0, 0.0, 1.0), (-1.0, -0.6, -0.1))
SHRUG = HandKey((-0.30, 1.02, 0.26), (-0.5, 0.1, 1.0), (0.45, 1.0, 0.1), (-0.2, -1.0, -0.4))
POINT_FORWARD = HandKey((-0.12, 1.37, 0.52), (0.05, 0.02, 1.0), (0.4, -1.0, 0.0),
                        (-0.4, -1.0, -0.2))
POINT_SIDE = HandKey((-0.64, 1.40, 0.20), (-1.0, 0.03, 0.2), (0.0, -1.0, 0.2), (0.0, -0.4, -1.0))
POINT_UP = HandKey((-0.20, 1.95, 0.12), (0.0, 1.0, 0.1), (0.6, 0.0, 1.0), (-1.0, -0.2, 0.0))
POINT_DOWN = HandKey((-0.26, 0.98, 0.32), (-0.1, -1.0, 0.45), (0.4, 0.0, -0.3),
                     (-0.3, 0.2, -1.0))
POINT_SELF = HandKey((0.02, 1.28, 0.28), (1.0, 0.0, -1.0), (-1.0, 0.0, -0.6), (-1.0, -0.5, 0.0))
CLAP = HandKey((-0.14, 1.22, 0.33), (0.15, 0.5, 1.0), (1.0, 0.0, 0.0), (-0.6, -1.0, -0.2))
CLAP_HIGH = HandKey((-0.14, 1.96, 0.12), (0.1, 1.0, 0.1), (1.0, 0.0, 0.0), (-1.0, -0.3, 0.0))
CROSS_OVER = HandKey((0.15, 1.19, 0.24), (1.0, -0.05, -0.45), (0.0, -0.1, -1.0),
                     (-1.0, -0.6, 0.2))
CROSS_UNDER = HandKey((0.13, 1.16, 0.15), (1.0, 0.0, -0.3), (0.0, 0.0, -1.0), (-1.0, -0.8, 0.0))
ON_HIP = HandKey((-0.19, 1.0, 0.03), (0.1, -0.4, 1.0), (1.0, 0.0, 0.0), (-1.0, 0.1, -0.4),
                 "pelvis")
THUMBS_UP = HandKey((-0.15, 1.28, 0.34), (0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (-0.4, -1.0, -0.3))
FACEPALM = HandKey((-0.01, 1.65, 0.145), (0.25, 1.0, 0.05), (0.0, 0.0, -1.0),
                   (-0.4, -1.0, 0.3), "head")
SCRATCH = HandKey((-0.09, 1.77, 0.0), (0.6, 0.5, 0.0), (0.6, -0.8, 0.0), (-1.0, -0.2, 0.3),
                  "head")
RAISED = HandKey((-0.20, 1.98, 0.06), (0.02, 1.0, 0.05), (0.3, 0.0, 1.0), (-1.0, -0.1, -0.1))
COUNT = HandKey((-0.12, 1.33, 0.32), (0.1, 1.0, 0.15), (0.2, 0.0, 1.0), (-0.5, -1.0, -0.2))
BECKON = HandKey((-0.18, 1.12, 0.36), (0.1, 0.15, 1.0), (0.5, 1.0, 0.0), (-0.3, -1.0, -0.3))
STOP = HandKey((-0.14, 1.45, 0.43), (0.0, 1.0, -0.1), (0.0, 0.0, 1.0), (-0.5, -1.0, 0.0))
WIDE = HandKey((-0.64, 1.32, 0.22), (-1.0, 0.1, 0.3), (0.0, 0.4, 1.0), (0.0, -1.0, -0.6))
HEART = HandKey((0.07, 1.30, 0.145), (0.5, 0.8, 0.05), (0.0, 0.0, -1.0), (-1.0, -1.0, 0.1))
CHIN = HandKey((-0.01, 1.47, 0.16), (0.1, 0.7, 0.7), (0.0, 0.7, -0.7), (-0.1, -1.0, 0.5),
               "head")
ELBOW_REST = HandKey((-0.10, 1.16, 0.21), (-1.0, 0.05, 0.15), (0.0, 1.0, -0.4),
                    (0.5, -1.0, -0.3))  # the left hand, cradling the right elbow
SALUTE = HandKey((-0.15, 1.61, 0.085), (0.8, 0.45, 0.2), (0.1, -0.5, 0.86), (-1.0, -0.3, 0.1),
                 "head")
STRETCH = HandKey((-0.13, 2.03, 0.0), (0.0, 1.0, 0.0), (0.6, 0.0, 1.0), (-1.0, 0.0, -0.2))
FOLD_OVER = HandKey((-0.02, 1.01, 0.21), (1.0, -0.2, 0.0), (0.0, 0.0, -1.0), (-0.6, -1.0, -0.3))
FOLD_UNDER = HandKey((-0.02, 0.99, 0.18), (1.0, -0.2, 0.0), (0.0, 0.3, -1.0), (-0.6, -1.0, -0.3))
RUB = HandKey((-0.02, 1.16, 0.28), (0.2, 0.5, 1.0), (1.0, 0.0, 0.0), (-0.6, -1.0, -0.2))
WATCH = HandKey((-0.02, 1.26, 0.33), (0.85, 0.1, 0.5), (0.0, -1.0, 0.0), (-1.0, -0.6, -0.2))
HANDS_UP = HandKey((-0.33, 1.68, 0.10), (-0.05, 1.0, 0.0), (0.0, 0.0, 1.0), (-1.0, -1.0, -0.1))
FIST_HIGH = HandKey((-0.28, 1.78, 0.14), (0.1, 1.0, 0.1), (1.0, 0.0, 0.3), (-0.5, -1.0, 0.0))
CUP_EAR = HandKey((-0.22, 1.67, 0.0), (0.7, 0.7, 0.0), (0.0, 0.0, 1.0), (-1.0, -0.3, 0.0),
                  "head")
# Behind the back the left hand lies against the body, palm out; the right one clasps it.
BEHIND_LEFT = HandKey((0.06, 1.0, -0.19), (-0.45, -0.9, 0.0), (0.0, 0.0, -1.0),
                      (0.6, -0.3, -1.0), "pelvis")
BEHIND_RIGHT = HandKey((-0.02, 1.02, -0.22), (0.45, -0.9, 0.0), (0.0, 0.0, -1.0),
                       (-1.0, -0.3, -0.5), "pelvis")
SWING_BACK = HandKey((-0.22, 0.95, -0.2), (0.0, -1.0, -0.3), (1.0, 0.0, 0.0), (-0.2, 0.3, -1.0))
SWING_FORWARD = HandKey((-0.24, 1.45, 0.36), (0.0, 0.3, 1.0), (1.0, 0.0, 0.0), (-0.3, -1.0, -0.3))
SQUAT_REACH = HandKey((-0.17, 1.34, 0.48), (0.0, 0.0, 1.0), (0.0, -1.0, 0.0), (-0.3, -1.0, -0.2))


def mirror(key: HandKey, side: str) -> HandKey:
    return key if side == "right" else key.mirrored()


# -- timing helpers ----------------------------------------------------------------------------


def amplitude(stage: Stage, spread: float = 0.12) -> float:
    """The style's gesture size with a little per-clip variation."""
    return float(stage.style.amplitude * stage.rng.uniform(1.0 - spread, 1.0 + spread))


def rate(stage: Stage) -> float:
    """The style's tempo with a little per-clip variation."""
    return float(stage.style.tempo * stage.rng.uniform(0.92, 1.08))


def phases(stage: Stage, prep: float = 0.6, retract: float = 0.6) -> tuple[float, float]:
    """(ready, release): when the hold of a gesture starts and ends. Preparation and retraction
    scale with tempo but never get so fast that the limbs whip; a span too short for the whole
    gesture gets a smaller one (`stage.reach` < 1), done at the same pace."""
    # Tempo speeds gestures up only partly: the arms must not whip from pose to pose.
    tempo = np.sqrt(stage.style.tempo)
    prep, retract = max(prep / tempo, 0.6), max(retract / tempo, 0.6)
    available = gesture_end(stage) - 0.25  # at least a short hold
    if prep + retract > available:
        squeeze = available / (prep + retract)
        stage.reach = min(stage.reach, max(squeeze, 0.5))
        prep, retract = prep * squeeze, retract * squeeze
    return prep, gesture_end(stage) - retract


def gesture_end(stage: Stage) -> float:
    """When the arms are back where the base has them: before the fade-out, so the fade and the
    retraction do not add up to a whip."""
    return stage.span - 0.5 * stage.blend


def window(stage: Stage, t0: float, t1: float, ramp: float = 0.2) -> np.ndarray:
    """(T,) 1 between t0 and t1, easing in and out over `ramp` seconds."""
    t = stage.t
    ramp = max(1e-3, min(ramp, (t1 - t0) / 2))
    return min_jerk((t - t0) / ramp) * min_jerk((t1 - t) / ramp)


def cycles(stage: Stage, t0: float, t1: float, frequency: float) -> np.ndarray:
    """(T,) phase in cycles since t0, the frequency nudged so whole cycles fit [t0, t1]."""
    count = max(1, round((t1 - t0) * frequency))
    return (stage.t - t0) * count / max(t1 - t0, 1e-6)


def envelope(stage: Stage, ready: float, release: float, start: float = 0.0) -> np.ndarray:
    """(T,) 0 -> reach over [start, ready], held, -> 0 over [release, gesture end]."""
    rise = min_jerk((stage.t - start) / max(ready - start, 1e-3))
    fall = min_jerk((gesture_end(stage) - stage.t) / max(gesture_end(stage) - release, 1e-3))
    return stage.reach * np.minimum(rise, fall)


def hold(stage: Stage, key: HandKey, side: str, ready: float, release: float) -> ArmTrack:
    """From wherever the hand is to `key` (or part-way, on a short span), hold, and back to
    what the base does."""
    return ArmTrack([(0.0, FROM_BASE), (1.0, key)], weight=envelope(stage, ready, release))


def shapes(stage: Stage, side: str, shape: str, ready: float, release: float) -> None:
    """The fingers form `shape` while the gesture holds, from and back to the base's."""
    lead = min(0.25, ready / 2)
    stage.set_hand_shapes(side, [(0.0, None), (max(ready - lead, 0.01), shape),
                                 (release + lead, shape), (stage.span, None)])


def head(stage: Stage, pitch: np.ndarray | float = 0.0, yaw: np.ndarray | float = 0.0,
         roll: np.ndarray | float = 0.0, chest: float = 0.0) -> None:
    """Turn the head, spreading the turn over neck and head (and the chest by `chest`)."""
    base_pitch = stage.style.head_pitch
    pitch = np.asarray(pitch) + base_pitch
    if chest:
        stage.set_euler("spine3", pitch=chest * pitch, yaw=chest * np.asarray(yaw))
    rest = 1.0 - chest
    stage.set_euler("neck", pitch=0.4 * rest * pitch, yaw=0.4 * rest * np.asarray(yaw),
                    roll=0.4 * np.asarray(roll))
    stage.set_euler("head", pitch=0.6 * rest * pitch, yaw=0.6 * rest * np.asarray(yaw),
                    roll=0.6 * np.asarray(roll))


def keyed(stage: Stage, keys: list[tuple[float, float]]) -> np.ndarray:
    """(T,) a scalar eased through (time, value) keys."""
    times = np.array([k[0] for k in keys])
    values = np.stack([np.full((stage.frames, 1), k[1]) for k in keys])
    return ease_keys(stage.t, times, values)[:, 0]


# -- arm gestures ------------------------------------------------------------------------------


def wave(stage: Stage, side: str) -> None:
    """Raise the hand (`side` "left", "right" or "both") by the head and sweep it to and fro."""
    ready, release = phases(stage, 0.7, 0.6)
    sides = ("left", "right") if side == "both" else (side,)
    key = WAVE_HIGH if side == "both" else WAVE
    phase = cycles(stage, ready - 0.1, release + 0.1, 2.0 * rate(stage))
    envelope = window(stage, ready - 0.15, release + 0.15, 0.3)
    swing = amplitude(stage) * envelope * np.sin(2 * np.pi * phase)
    tracks = {}
    for s in sides:
        # Both hands sweep the same way, like one person waving to a crowd.
        offset = np.stack([0.085 * swing, 0.012 * np.abs(swing), np.zeros_like(swing)], 1)
        fingers = np.stack([0.45 * swing, np.zeros_like(swing), np.zeros_like(swing)], 1)
        track = hold(stage, mirror(key, s), s, ready, release)
        track.offset, track.finger_offset = offset, fingers
        tracks[s] = track
        shapes(stage, s, "open", ready, release)
    stage.drive_arms(tracks)
    head(stage, pitch=-0.05 * window(stage, ready, release))


def point(stage: Stage, direction: str) -> None:
    """Point with the index finger; the left hand points left, the right hand elsewhere."""
    keys = {"forward": POINT_FORWARD, "right": POINT_SIDE, "left": POINT_SIDE.mirrored(),
            "up": POINT_UP, "down": POINT_DOWN, "self": POINT_SELF}
    side = "left" if direction == "left" else "right"
    ready, release = phases(stage, 0.6, 0.6)
    key = keys[direction]
    track = hold(stage, key, side, ready, release)
    # A small stab along the pointing direction marks the stroke.
    stab = 0.03 * amplitude(stage) * window(stage, ready - 0.1, ready + 0.35, 0.15)
    track.offset = stab[:, None] * np.asarray(key.fingers) / np.linalg.norm(key.fingers)
    stage.drive_arms({side: track})
    shapes(stage, side, "point", ready, release)
    if direction in ("left", "right"):
        turn = 0.35 if direction == "left" else -0.35
        head(stage, yaw=turn * window(stage, ready - 0.2, release, 0.3))
    elif direction == "up":
        head(stage, pitch=-0.3 * window(stage, ready - 0.2, release, 0.3))
    elif direction == "down":
        head(stage, pitch=0.3 * window(stage, ready - 0.2, release, 0.3))


def held_gesture(stage: Stage, key: HandKey, shape: str, sides: tuple[str, ...] = ("right",),
                 prep: float = 0.6) -> None:
    """The hands of `sides` go to `key` (mirrored for the left), hold `shape`, come back."""
    ready, release = phases(stage, prep, 0.6)
    stage.drive_arms({side: hold(stage, mirror(key, side), side, ready, release)
                      for side in sides})
    for side in sides:
        shapes(stage, side, shape, ready, release)


def shrug(stage: Stage) -> None:
    ready, release = phases(stage, 0.5, 0.6)
    raise_ = 0.28 * amplitude(stage) * window(stage, ready - 0.3, release, 0.3)
    tracks = {}
    for side in ("left", "right"):
        track = hold(stage, mirror(SHRUG, side), side, ready, release)
        track.collar_raise = raise_
        tracks[side] = track
        shapes(stage, side, "open", ready, release)
    stage.drive_arms(tracks)
    tilt = stage.rng.choice([-1.0, 1.0]) * 0.12
    head(stage, pitch=-0.05, roll=tilt * window(stage, ready - 0.2, release, 0.3))


def clap(stage: Stage, high: bool) -> None:
    """Clap in front of the chest, or above the head when `high`."""
    ready, release = phases(stage, 0.7 if high else 0.5, 0.6)
    phase = cycles(stage, ready, release, 2.4 * rate(stage))
    gap = 0.12 * min(amplitude(stage), 1.3)
    # |sin| closes the hands sharply at each clap and opens them smoothly.
    closing = np.abs(np.sin(np.pi * phase)) * window(stage, ready, release, 0.15)
    tracks = {}
    for side in ("left", "right"):
        inward = 1.0 if side == "right" else -1.0
        key = mirror(CLAP_HIGH if high else CLAP, side)
        # Apart by `gap` each; at contact the palm centres are 2.4 cm apart.
        key = key.moved(dx=-inward * (0.012 + gap) - key.position[0])
        offset = np.zeros((stage.frames, 3))
        offset[:, 0] = inward * gap * closing
        track = hold(stage, key, side, ready, release)
        track.offset = offset
        tracks[side] = track
        shapes(stage, side, "flat", ready, release)
    stage.drive_arms(tracks)
    if high:
        head(stage, pitch=-0.2 * window(stage, ready - 0.2, release, 0.3))


def cross_arms(stage: Stage) -> None:
    ready, release = phases(stage, 0.8, 0.7)
    # The right forearm goes over the left: the left hand arrives first, tucks under.
    stage.drive_arms({
        "left": ArmTrack([(0.0, FROM_BASE), (1.0, CROSS_UNDER.mirrored())],
                         weight=envelope(stage, ready * 0.85, release)),
        "right": ArmTrack([(0.0, FROM_BASE), (1.0, CROSS_OVER)],
                          weight=envelope(stage, ready, release, start=0.1 * ready)),
    })
    shapes(stage, "left", "relaxed", ready, release)
    shapes(stage, "right", "cupped", ready, release)


def thumbs_up(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.6)
    track = hold(stage, THUMBS_UP, "right", ready, release)
    push = 0.04 * amplitude(stage) * window(stage, ready - 0.15, ready + 0.35, 0.15)
    track.offset = np.stack([np.zeros_like(push), 0.5 * push, push], 1)
    stage.drive_arms({"right": track})
    shapes(stage, "right", "thumbs_up", ready, release)
    head(stage, pitch=0.08 * window(stage, ready, ready + 0.5, 0.2))


def facepalm(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.6)
    bow = window(stage, ready - 0.3, release + 0.1, 0.35)
    head(stage, pitch=0.22 * bow, yaw=-0.06 * bow)
    stage.drive_arms({"right": hold(stage, FACEPALM, "right", ready, release)})
    shapes(stage, "right", "flat", ready, release)


def scratch_head(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.6)
    head(stage, pitch=0.1, roll=-0.12 * window(stage, ready - 0.3, release, 0.3))
    phase = cycles(stage, ready, release, 4.0 * rate(stage))
    scrub = 0.018 * amplitude(stage) * window(stage, ready, release, 0.15)
    track = hold(stage, SCRATCH, "right", ready, release)
    track.offset = np.stack([scrub * np.sin(2 * np.pi * phase), np.zeros_like(scrub),
                             scrub * np.cos(2 * np.pi * phase)], 1)
    stage.drive_arms({"right": track})
    shapes(stage, "right", "claw", ready, release)


def raise_hand(stage: Stage, side: str) -> None:
    ready, release = phases(stage, 0.75, 0.7)
    stage.drive_arms({side: hold(stage, mirror(RAISED, side), side, ready, release)})
    shapes(stage, side, "flat", ready, release)


def count_on_fingers(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.6)
    # One finger per beat; a short span counts fewer fingers rather than flicking them.
    count_shapes = ["count1", "count2", "count3", "count4", "spread"]
    count_shapes = count_shapes[:max(1, min(5, int((release - ready) / 0.4)))]
    beat = (release - ready) / len(count_shapes)
    keys: list[tuple[float, str | None]] = [(0.0, None), (max(ready - 0.15, 0.05), "fist")]
    for k, shape in enumerate(count_shapes):
        keys.append((ready + k * beat + 0.12, shape))
        keys.append((ready + (k + 1) * beat - 0.05, shape))
    keys.append((gesture_end(stage), None))
    stage.set_hand_shapes("right", keys)
    # The hand bobs a little with each new finger.
    phase = np.clip((stage.t - ready) / beat, 0, len(count_shapes))
    bob = 0.015 * amplitude(stage) * np.sin(np.pi * (phase % 1.0)) * window(stage, ready, release)
    track = hold(stage, COUNT, "right", ready, release)
    track.offset = np.stack([np.zeros_like(bob), bob, 0.5 * bob], 1)
    stage.drive_arms({"right": track})
    head(stage, pitch=0.1 * window(stage, ready - 0.2, release, 0.3))


def beckon(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.6)
    phase = cycles(stage, ready, release, 1.5 * rate(stage))
    pull = 0.5 * (1 - np.cos(2 * np.pi * phase)) * window(stage, ready, release, 0.1)
    track = hold(stage, BECKON, "right", ready, release)
    track.finger_offset = np.stack([np.zeros_like(pull), 0.5 * pull, -0.1 * pull], 1)
    stage.drive_arms({"right": track})
    stage.set_hand_shapes("right", [(0.0, None), (max(ready - 0.1, 0.05), "open"),
                                    (release + 0.1, "open"), (gesture_end(stage), None)],
                          curl=1.1 * min(amplitude(stage), 1.2) * pull)


def stop_sign(stage: Stage) -> None:
    ready, release = phases(stage, 0.5, 0.6)
    track = hold(stage, STOP, "right", ready, release)
    push = 0.03 * amplitude(stage) * window(stage, ready - 0.15, ready + 0.4, 0.15)
    track.offset = np.stack([np.zeros_like(push), np.zeros_like(push), push], 1)
    stage.drive_arms({"right": track})
    shapes(stage, "right", "flat", ready, release)


def arms_wide(stage: Stage) -> None:
    ready, release = phases(stage, 0.7, 0.7)
    reach = float(np.clip(stage.style.space, 0.8, 1.2))
    tracks = {}
    for side in ("left", "right"):
        key = mirror(WIDE, side)
        x, y, z = key.position
        key = key.moved(dx=x * (reach - 1.0) * 0.3, dz=z * (reach - 1.0))
        tracks[side] = hold(stage, key, side, ready, release)
        shapes(stage, side, "spread", ready, release)
    stage.drive_arms(tracks)
    head(stage, pitch=-0.1 * window(stage, ready - 0.2, release, 0.3))


def hand_on_heart(stage: Stage) -> None:
    ready, release = phases(stage, 0.7, 0.6)
    stage.drive_arms({"right": hold(stage, HEART, "right", ready, release)})
    shapes(stage, "right", "flat", ready, release)
    head(stage, pitch=0.15 * window(stage, ready - 0.2, release, 0.3),
         roll=-0.06 * window(stage, ready, release, 0.3))


def think(stage: Stage) -> None:
    ready, release = phases(stage, 0.8, 0.7)
    head(stage, pitch=0.08 * window(stage, ready - 0.2, release, 0.3),
         roll=-0.1 * window(stage, ready - 0.2, release, 0.3))
    stage.drive_arms({
        "right": hold(stage, CHIN, "right", ready, release),
        "left": hold(stage, ELBOW_REST, "left", ready * 0.9, release),
    })
    shapes(stage, "right", "curled", ready, release)
    shapes(stage, "left", "relaxed", ready, release)


def salute(stage: Stage) -> None:
    ready, release = phases(stage, 0.5, 0.5)
    stage.drive_arms({"right": hold(stage, SALUTE, "right", ready, release)})
    shapes(stage, "right", "flat", ready, release)
    head(stage, pitch=-0.05 * window(stage, ready - 0.2, release, 0.2))


def stretch_arms(stage: Stage) -> None:
    ready, release = phases(stage, 0.9, 0.8)
    arch = window(stage, ready - 0.4, release + 0.2, 0.5)
    for joint in ("spine1", "spine2", "spine3"):
        stage.set_euler(joint, pitch=-0.06 * amplitude(stage, 0.05) * arch)
    head(stage, pitch=-0.2 * arch)
    stage.drive_arms({s: hold(stage, mirror(STRETCH, s), s, ready, release)
                      for s in ("left", "right")})
    for side in ("left", "right"):
        shapes(stage, side, "spread", ready, release)


def fold_hands(stage: Stage) -> None:
    ready, release = phases(stage, 0.7, 0.6)
    stage.drive_arms({"right": hold(stage, FOLD_OVER, "right", ready, release),
                      "left": hold(stage, FOLD_UNDER.mirrored(), "left", ready, release)})
    shapes(stage, "right", "cupped", ready, release)
    shapes(stage, "left", "relaxed", ready, release)


def rub_hands(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.6)
    phase = cycles(stage, ready, release, 2.8 * rate(stage))
    rub = 0.03 * amplitude(stage) * np.sin(2 * np.pi * phase) * window(stage, ready, release, 0.2)
    tracks = {}
    for side in ("left", "right"):
        direction = 1.0 if side == "right" else -1.0
        track = hold(stage, mirror(RUB, side), side, ready, release)
        track.offset = np.stack([np.zeros_like(rub), direction * rub, 0.5 * direction * rub], 1)
        tracks[side] = track
        shapes(stage, side, "flat", ready, release)
    stage.drive_arms(tracks)
    head(stage, pitch=0.12 * window(stage, ready - 0.2, release, 0.3))


def check_watch(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.6)
    stage.drive_arms({"left": hold(stage, WATCH.mirrored(), "left", ready, release)})
    shapes(stage, "left", "relaxed", ready, release)
    look = window(stage, ready - 0.1, release, 0.3)
    head(stage, pitch=0.38 * look, yaw=0.12 * look)


def hands_up(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.7)
    stage.drive_arms({s: hold(stage, mirror(HANDS_UP, s), s, ready, release)
                      for s in ("left", "right")})
    for side in ("left", "right"):
        shapes(stage, side, "spread", ready, release)
    head(stage, pitch=-0.06 * window(stage, ready, release, 0.3))


def fist_pump(stage: Stage) -> None:
    ready, release = phases(stage, 0.5, 0.6)
    phase = cycles(stage, ready, release, 1.6 * rate(stage))
    pump = amplitude(stage) * 0.5 * (1 - np.cos(2 * np.pi * phase)) * window(
        stage, ready, release, 0.1)
    track = hold(stage, FIST_HIGH, "right", ready, release)
    track.offset = np.stack([0.03 * pump, -0.22 * pump, 0.06 * pump], 1)
    stage.drive_arms({"right": track})
    shapes(stage, "right", "fist", ready, release)
    head(stage, pitch=-0.08 * window(stage, ready, release, 0.3))


def cup_ear(stage: Stage) -> None:
    ready, release = phases(stage, 0.7, 0.7)
    listen = window(stage, ready - 0.2, release, 0.3)
    head(stage, yaw=0.3 * listen, roll=0.1 * listen)
    stage.drive_arms({"right": hold(stage, CUP_EAR, "right", ready, release)})
    shapes(stage, "right", "cupped", ready, release)


def hands_behind_back(stage: Stage) -> None:
    ready, release = phases(stage, 0.9, 0.9)
    stage.drive_arms({"right": hold(stage, BEHIND_RIGHT, "right", ready, release),
                      "left": hold(stage, BEHIND_LEFT, "left", ready, release)})
    shapes(stage, "right", "cupped", ready, release)
    shapes(stage, "left", "relaxed", ready, release)
    head(stage, pitch=-0.04)


# -- head and torso ----------------------------------------------------------------------------


def nod(stage: Stage) -> None:
    ready, release = phases(stage, 0.3, 0.3)
    phase = cycles(stage, ready - 0.1, release + 0.1, 1.8 * rate(stage))
    depth = 0.28 * amplitude(stage)
    dip = depth * 0.5 * (1 - np.cos(2 * np.pi * phase)) * window(stage, ready - 0.1,
                                                                  release + 0.1, 0.05)
    head(stage, pitch=dip)


def shake_head(stage: Stage) -> None:
    ready, release = phases(stage, 0.3, 0.3)
    phase = cycles(stage, ready - 0.1, release + 0.1, 2.2 * rate(stage))
    turn = 0.42 * amplitude(stage) * np.sin(2 * np.pi * phase) * window(stage, ready - 0.1,
                                                                         release + 0.1, 0.2)
    head(stage, yaw=turn, pitch=0.04)


def look_around(stage: Stage) -> None:
    ready, release = phases(stage, 0.3, 0.3)
    reach = 0.9 * min(amplitude(stage), 1.2)
    first = float(stage.rng.choice([-1.0, 1.0]))
    third = (release - ready) / 3
    yaw = keyed(stage, [(0.0, 0.0), (ready + 0.6 * third, first * reach),
                        (ready + third, first * reach), (ready + 2.2 * third, -first * reach),
                        (ready + 2.6 * third, -first * reach), (stage.span - 0.1, 0.0)])
    head(stage, yaw=yaw, pitch=-0.05, chest=0.2)


def look_up(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.6)
    head(stage, pitch=-0.55 * min(amplitude(stage), 1.2) * window(stage, 0.0, stage.span,
                                                                   ready))


def tilt_head(stage: Stage) -> None:
    ready, release = phases(stage, 0.5, 0.5)
    side = float(stage.rng.choice([-1.0, 1.0]))
    head(stage, roll=side * 0.42 * min(amplitude(stage), 1.2) * window(stage, 0.0, stage.span,
                                                                        ready))


def lean_forward(stage: Stage) -> None:
    ready, release = phases(stage, 0.7, 0.7)
    lean = min(amplitude(stage), 1.25) * window(stage, 0.0, stage.span, ready)
    for joint, angle in (("spine1", 0.2), ("spine2", 0.14), ("spine3", 0.08)):
        stage.set_euler(joint, pitch=angle * lean + stage.style.lean / 3)
    head(stage, pitch=-0.25 * lean)


# -- lower body --------------------------------------------------------------------------------


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
    stage.drive_arms({s: hold(stage, mirror(SQUAT_REACH, s), s, ready, release)
                      for s in ("left", "right")})
    for side in ("left", "right"):
        shapes(stage, side, "flat", ready, release)


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
    stage.drive_arms({s: hold(stage, mirror(REST, s).moved(dz=0.03), s, ready, release)
                      for s in ("left", "right")})
    for side in ("left", "right"):
        shapes(stage, side, "flat", ready, release)


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


Choreography = Callable[[Stage], None]

# name -> (parts it owns, typical duration in seconds, choreography)
CHOREOGRAPHIES: dict[str, tuple[frozenset[str], float, Choreography]] = {}


def _add(name: str, parts: str, duration: float, perform: Choreography) -> None:
    CHOREOGRAPHIES[name] = (frozenset(parts.split()), duration, perform)


_add("wave_right_hand", "upper hands", 2.6, partial(wave, side="right"))
_add("wave_left_hand", "upper hands", 2.6, partial(wave, side="left"))
_add("wave_both_hands", "upper hands", 2.8, partial(wave, side="both"))
_add("nod", "upper", 1.8, nod)
_add("shake_head", "upper", 1.8, shake_head)
_add("shrug", "upper hands", 2.0, shrug)
_add("point_forward", "upper hands", 2.2, partial(point, direction="forward"))
_add("point_left", "upper hands", 2.2, partial(point, direction="left"))
_add("point_right", "upper hands", 2.2, partial(point, direction="right"))
_add("point_up", "upper hands", 2.2, partial(point, direction="up"))
_add("point_down", "upper hands", 2.2, partial(point, direction="down"))
_add("point_at_self", "upper hands", 2.0, partial(point, direction="self"))
_add("clap", "upper hands", 2.6, partial(clap, high=False))
_add("applaud_overhead", "upper hands", 2.8, partial(clap, high=True))
_add("cross_arms", "upper hands", 3.2, cross_arms)
_add("hands_on_hips", "upper hands", 3.0,
     partial(held_gesture, key=ON_HIP, shape="flat", sides=("left", "right"), prep=0.8))
_add("bow", "upper hands lower", 2.8, bow)
_add("thumbs_up", "upper hands", 2.2, thumbs_up)
_add("facepalm", "upper hands", 2.6, facepalm)
_add("scratch_head", "upper hands", 2.6, scratch_head)
_add("walk_forward", "lower", 4.0, partial(walk, direction=1.0))
_add("walk_backward", "lower", 4.0, partial(walk, direction=-1.0))
_add("turn_left", "lower", 2.8, partial(turn, direction=1.0))
_add("turn_right", "lower", 2.8, partial(turn, direction=-1.0))
_add("side_step_left", "lower", 2.4, partial(side_step, direction=1.0))
_add("side_step_right", "lower", 2.4, partial(side_step, direction=-1.0))
_add("jump", "upper hands lower", 2.6, jump)
_add("squat", "upper hands lower", 3.2, squat)
_add("raise_right_hand", "upper hands", 2.6, partial(raise_hand, side="right"))
_add("raise_left_hand", "upper hands", 2.6, partial(raise_hand, side="left"))
_add("count_on_fingers", "upper hands", 3.6, count_on_fingers)
_add("beckon", "upper hands", 2.6, beckon)
_add("stop_sign", "upper hands", 2.2, stop_sign)
_add("arms_wide", "upper hands", 2.6, arms_wide)
_add("hand_on_heart", "upper hands", 2.6, hand_on_heart)
_add("think", "upper hands", 3.2, think)
_add("look_around", "upper", 3.4, look_around)
_add("salute", "upper hands", 2.2, salute)
_add("stretch_arms_up", "upper hands", 3.2, stretch_arms)
_add("fold_hands", "upper hands", 3.0, fold_hands)
_add("rub_hands", "upper hands", 2.6, rub_hands)
_add("check_watch", "upper hands", 2.6, check_watch)
_add("lean_forward", "upper", 2.6, lean_forward)
_add("stand_idle", "upper hands lower", 3.0, stand_idle)
_add("look_up", "upper", 2.2, look_up)
_add("tilt_head", "upper", 2.0, tilt_head)
_add("hands_up", "upper hands", 2.6, hands_up)
_add("fist_pump", "upper hands", 2.4, fist_pump)
_add("cup_ear", "upper hands", 2.6, cup_ear)
_add("hands_behind_back", "upper hands", 3.2, hands_behind_back)
