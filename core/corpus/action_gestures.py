"""Choreographies of the arms, hands, head and torso: waves, points, claps, nods, leans ...

Times are seconds into the action; each choreography fits whatever span it is given.
"""

from __future__ import annotations

import numpy as np

from core.corpus.action_keys import (
    BECKON,
    BEHIND_LEFT,
    BEHIND_RIGHT,
    CHIN,
    CLAP,
    CLAP_HIGH,
    COUNT,
    CROSS_OVER,
    CROSS_UNDER,
    CUP_EAR,
    ELBOW_REST,
    FACEPALM,
    FIST_HIGH,
    FOLD_OVER,
    FOLD_UNDER,
    HANDS_UP,
    HEART,
    POINT_DOWN,
    POINT_FORWARD,
    POINT_SELF,
    POINT_SIDE,
    POINT_UP,
    RAISED,
    RUB,
    SALUTE,
    SCRATCH,
    SHRUG,
    STOP,
    STRETCH,
    THUMBS_UP,
    WATCH,
    WAVE,
    WAVE_HIGH,
    WIDE,
    mirror,
)
from core.corpus.action_stage import FROM_BASE, ArmTrack, HandKey, Stage
from core.corpus.action_timing import (
    amplitude,
    cycles,
    envelope,
    gesture_end,
    head,
    hold,
    hold_pose,
    keyed,
    phases,
    rate,
    shapes,
    window,
)

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
    hold_pose(stage, key, shape, ready, release, sides)


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
    hold_pose(stage, FACEPALM, "flat", ready, release)


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
    hold_pose(stage, RAISED, "flat", ready, release, (side,))


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
    hold_pose(stage, HEART, "flat", ready, release)
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
    hold_pose(stage, SALUTE, "flat", ready, release)
    head(stage, pitch=-0.05 * window(stage, ready - 0.2, release, 0.2))


def stretch_arms(stage: Stage) -> None:
    ready, release = phases(stage, 0.9, 0.8)
    arch = window(stage, ready - 0.4, release + 0.2, 0.5)
    for joint in ("spine1", "spine2", "spine3"):
        stage.set_euler(joint, pitch=-0.06 * amplitude(stage, 0.05) * arch)
    head(stage, pitch=-0.2 * arch)
    hold_pose(stage, STRETCH, "spread", ready, release, ("left", "right"))


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
    hold_pose(stage, WATCH, "relaxed", ready, release, ("left",))
    look = window(stage, ready - 0.1, release, 0.3)
    head(stage, pitch=0.38 * look, yaw=0.12 * look)


def hands_up(stage: Stage) -> None:
    ready, release = phases(stage, 0.6, 0.7)
    hold_pose(stage, HANDS_UP, "spread", ready, release, ("left", "right"))
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
    hold_pose(stage, CUP_EAR, "cupped", ready, release)


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
