"""The performer's upper body: posture, breathing, gestures, head and torso.

Gestures (core.corpus.gestures) are scheduled onto the hands (core.corpus.gesture_schedule) as
timed wrist targets in the chest (spine3) frame, interpolated between keys with minimum-jerk
timing, kept outside the torso, and turned into collar, shoulder, elbow and wrist rotations by
an analytic two-bone IK (core.corpus.arms), vectorised over frames.

Coordinates: SMPL-X, metres, Y up, the character faces +Z, its left is +X.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.corpus.arms import (
    ARMS,
    SIDE_SIGN,
    SIDES,
    collar_rotation,
    elbow_poles,
    keep_outside_torso,
    palm_twist,
    solve_arm,
)
from core.corpus.gesture_schedule import hand_keys, schedule
from core.corpus.gestures import (
    FRONT_REST,
    SIDE_REST,
    GestureEvent,
    Key,
    plan_gestures,
    stroke_time,
)
from core.corpus.script import Utterance, Word
from core.corpus.signals import (
    bump,
    child_rngs,
    gaussian_smooth,
    interpolate_keys,
    limit_key_rates,
    plateau,
    smooth_noise,
    yaw_pitch_roll,
)
from core.corpus.style import Style
from core.rotations import matrix_to_axis_angle
from core.skeleton import JOINT_INDEX, NUM_JOINTS

# ---------------------------------------------------------------------------------------------
# Head and torso
# ---------------------------------------------------------------------------------------------


def _nod(times: np.ndarray, t: float, amplitude: float, width: float) -> np.ndarray:
    # Down, then a small rebound up: a nod is not a symmetric pulse.
    return amplitude * (bump(times, t, width) - 0.3 * bump(times, t + 0.45 * width, width))


def head_motion(
    words: list[Word],
    kind: str,
    style: Style,
    times: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) head (pitch +down, yaw +left, roll +toward left shoulder) and (T,) shrug."""
    head = np.zeros((len(times), 3))
    shrug = np.zeros(len(times))
    a = style.amplitude
    for word in words:
        t = stroke_time(word)
        if word.gesture == "yes":
            count = int(rng.integers(2, 4))
            for k in range(count):
                head[:, 0] += _nod(times, t + k * 0.36 / style.tempo, 0.11 * a * 0.8**k, 0.34)
        elif word.gesture == "no":
            window = plateau(times, t - 0.1, t + 0.75 / style.tempo, 0.2)
            phase = 2 * np.pi * 2.6 * style.tempo * (times - t)
            head[:, 1] += 0.14 * a * np.sin(phase) * window
        elif word.gesture == "maybe":
            head[:, 2] += rng.choice([-1, 1]) * 0.12 * a * plateau(times, t - 0.15, t + 0.5, 0.3)
            shrug += 0.14 * a * plateau(times, t - 0.1, t + 0.35, 0.25)
        elif word.emphasis and rng.random() < 0.6:
            head[:, 0] += _nod(times, t + 0.03, 0.06 * a, 0.35)
    if kind == "question" and words:
        last = words[-1]
        window = plateau(times, last.start - 0.35, last.end + 0.3, 0.35)
        head[:, 2] += rng.choice([-1, 1]) * rng.uniform(0.06, 0.11) * window
        head[:, 0] -= 0.04 * window  # chin up, waiting for the answer
    return head, shrug


# ---------------------------------------------------------------------------------------------
# The upper body
# ---------------------------------------------------------------------------------------------

UPPER_JOINTS = {name: JOINT_INDEX[name] for name in (
    "spine1", "spine2", "spine3", "neck", "head", "left_collar", "right_collar",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)}


@dataclass
class UpperTrack:
    poses: np.ndarray  # (T, 55, 3) with the upper-body joints set, the rest zero
    shapes: dict[str, np.ndarray]  # side -> (T, S) hand-shape weights, HAND_SHAPES order
    targets: dict[str, np.ndarray]  # side -> (T, 3) wrist targets in the chest frame
    gestures: list[dict] = field(default_factory=list)  # scheduled gestures, for extras
    rest: str = "side"  # where the hands rest between gestures: "side" or "front"


@dataclass
class _HandTrack:
    """One hand's wrist path and the channels that ride along with it, per frame."""

    target: np.ndarray  # (T, 3) wrist target, chest frame, outside the torso
    twist: np.ndarray  # (T,) forearm twist
    wrist: np.ndarray  # (T, 2) wrist flexion and deviation
    shapes: np.ndarray  # (T, S) hand-shape weights summing to 1
    pole: np.ndarray  # (T, 3) where the elbow points


def _hand_track(
    side: str,
    keys: list[Key],
    names: tuple[str, ...],
    times: np.ndarray,
    idle: np.ndarray,
    style: Style,
) -> _HandTrack:
    """Interpolate one hand's keys over `times`; `idle` (T, 3) is its small postural drift."""
    key_times = np.array([k.time for k in keys])
    positions = np.array([k.position for k in keys])
    velocities = np.array([k.velocity for k in keys])
    palms = np.array([k.palm for k in keys])
    key_poles = np.array([k.pole for k in keys])
    collar_keys = collar_rotation(
        side, np.full(len(keys), style.shoulder_raise), np.zeros(len(keys))
    )
    key_twist = palm_twist(
        ARMS[side], positions, collar_keys, palms, elbow_poles(side, positions, key_poles)
    )
    scalars = np.column_stack([
        key_twist,
        [k.wrist[0] for k in keys],
        [k.wrist[1] for k in keys],
        np.array([[n == k.shape for n in names] for k in keys], np.float64),
        key_poles,
    ])
    path = interpolate_keys(key_times, positions, times, velocities)
    # Forearm twist, wrist and fingers turn no faster than real ones (rad/s, weights/s):
    # a palm that must flip during a 0.2 s stroke finishes turning in the hold.
    rates = np.concatenate([[6.0, 5.0, 5.0], np.full(len(names), 5.0), [4.0, 4.0, 4.0]])
    mixed = interpolate_keys(key_times, limit_key_rates(key_times, scalars, rates), times)
    weights = np.clip(mixed[:, 3:-3], 0.0, None)
    return _HandTrack(
        target=keep_outside_torso(path + idle, side),
        twist=mixed[:, 0],
        wrist=mixed[:, 1:3],
        shapes=weights / weights.sum(axis=1, keepdims=True),
        pole=mixed[:, -3:],
    )


def _head_follow(
    hands: dict[str, _HandTrack], rest_left: np.ndarray, frames: int, fps: float
) -> np.ndarray:
    """(T,) -1..1: how far to the side the working hands are, smoothed and lagging ~0.1 s."""
    lateral = np.zeros(frames)
    for side in SIDES:
        rest = rest_left * np.array([SIDE_SIGN[side], 1.0, 1.0])
        target = hands[side].target
        activity = np.clip(np.linalg.norm(target - rest, axis=1) / 0.25, 0, 1)
        lateral += activity * target[:, 0]
    follow = gaussian_smooth(np.clip(lateral / 0.35, -1, 1), 0.12 * fps)
    lag = min(int(round(0.1 * fps)), frames - 1)  # the head lags the hand by ~0.1 s
    return np.concatenate([np.full(lag, follow[0]), follow[: frames - lag]])


def _spine_and_head(
    style: Style,
    lean: np.ndarray,
    follow: np.ndarray,
    breath: np.ndarray,
    head: np.ndarray,
    pelvis_roll: np.ndarray | None,
    rng_idle: np.random.Generator,
    fps: float,
) -> dict[str, np.ndarray]:
    """(T, 3, 3) rotations of spine1-3, neck and head: posture, lean, drift and head motion."""
    frames = len(lean)
    drift = smooth_noise(rng_idle, frames, fps, period=3.0, dims=3) * 0.012
    head_drift = smooth_noise(rng_idle, frames, fps, period=2.0, dims=3) * 0.03
    roll_fix = np.zeros(frames) if pelvis_roll is None else -np.asarray(pelvis_roll)
    torso_pitch = style.lean + lean + drift[:, 0] - 0.012 * breath
    torso_yaw = 0.05 * follow + drift[:, 1]
    matrices: dict[str, np.ndarray] = {}
    for name, share, roll_share in (("spine1", 0.4, 0.5), ("spine2", 0.3, 0.3),
                                    ("spine3", 0.3, 0.1)):
        matrices[name] = yaw_pitch_roll(
            share * torso_yaw, share * torso_pitch, roll_share * roll_fix + share * drift[:, 2]
        )
    # The head keeps its own pitch in the world: undo most of the torso lean.
    head_pitch = style.head_pitch - 0.8 * (style.lean + lean) + head[:, 0] + head_drift[:, 0]
    head_yaw = head[:, 1] + 0.12 * follow + head_drift[:, 1]
    head_roll = head[:, 2] + head_drift[:, 2]
    for name, share in (("neck", 0.4), ("head", 0.6)):
        matrices[name] = yaw_pitch_roll(share * head_yaw, share * head_pitch, share * head_roll)
    return matrices


def _arm_matrices(
    side: str, hand: _HandTrack, style: Style, breath: np.ndarray, shrug: np.ndarray
) -> dict[str, np.ndarray]:
    """(T, 3, 3) collar, shoulder and elbow rotations that carry the wrist along its target."""
    target = hand.target
    # Shoulders rise when the hand goes above the chest and come forward when it reaches.
    raise_ = (
        style.shoulder_raise + 0.012 * breath + shrug
        + 0.1 * np.clip((target[:, 1] + 0.05) / 0.3, 0, 1)
    )
    protract = 0.1 * np.clip((target[:, 2] - 0.25) / 0.25, 0, 1)
    collar = collar_rotation(side, raise_, protract)
    arm = solve_arm(ARMS[side], target, collar, hand.twist, elbow_poles(side, target, hand.pole))
    return {f"{side}_collar": collar, f"{side}_shoulder": arm.shoulder,
            f"{side}_elbow": arm.elbow}


def _wrist_rotation(side: str, hand: _HandTrack) -> np.ndarray:
    """(T, 3) wrist axis-angles: flexion curls toward the palm (about -Z on the left),
    deviation toward the thumb (about -Y on the left); mirrored on the right."""
    s = SIDE_SIGN[side]
    flex, deviation = hand.wrist[:, 0], hand.wrist[:, 1]
    return np.column_stack([np.zeros(len(flex)), -s * deviation, -s * flex])


def _gesture_log(placed: dict[str, list[GestureEvent]]) -> list[dict]:
    """Scheduled gestures by stroke time; a two-handed one is listed once."""
    gestures: list[dict] = []
    for side in SIDES:
        for event in placed[side]:
            if event.side == side or (event.side == "both" and side == "left"):
                gestures.append(
                    {"kind": event.kind, "stroke": round(event.stroke, 3), "hands": event.side}
                )
    gestures.sort(key=lambda g: g["stroke"])
    return gestures


def animate_upper(
    utterance: Utterance | None,
    style: Style,
    frames: int,
    fps: float,
    rng: np.random.Generator,
    pelvis_roll: np.ndarray | None = None,
    shape_names: tuple[str, ...] | None = None,
) -> UpperTrack:
    """Spine, neck, head, collars and arms for `frames` frames; hand-shape weights per hand.

    `pelvis_roll` (T,) from the lower body is partly undone by the spine so the chest stays
    upright during weight shifts. `shape_names` orders the hand-shape weights (HAND_SHAPES).
    """
    from core.corpus.hands import HAND_SHAPES

    names = HAND_SHAPES if shape_names is None else shape_names
    times = np.arange(frames) / fps
    duration = frames / fps
    words = list(utterance.words) if utterance is not None else []
    kind = utterance.sentence.kind if utterance is not None else "statement"
    rng_plan, rng_idle, rng_head = child_rngs(rng, 3)

    # Gestures -> a wrist path per hand.
    dominant = "right" if rng_plan.random() < 0.7 else "left"
    home_front = rng_plan.random() < {"fear": 0.6, "sadness": 0.15}.get(style.emotion, 0.35)
    rest_left = np.array(FRONT_REST if home_front else SIDE_REST)
    events = plan_gestures(words, style, rng_plan, duration)
    placed = schedule(events, dominant, style, rng_plan)
    jitter = float(rng_plan.uniform(0.0, 0.04))
    idle = smooth_noise(rng_idle, frames, fps, period=2.0, dims=6) * 0.01
    hands: dict[str, _HandTrack] = {}
    for h, side in enumerate(SIDES):
        rest = rest_left * np.array([SIDE_SIGN[side], 1.0, 1.0])
        keys = hand_keys(
            side, placed[side], rest, style, rng_plan, jitter if side == "left" else 0.0
        )
        hands[side] = _hand_track(side, keys, names, times, idle[:, 3 * h : 3 * h + 3], style)

    # Posture, breathing, idle drift, head.
    head, shrug = head_motion(words, kind, style, times, rng_head)
    breath_rate = rng_idle.uniform(0.22, 0.3)
    breath = np.sin(2 * np.pi * breath_rate * times + rng_idle.uniform(0, 2 * np.pi))
    # Torso leans into strokes and turns toward the working hand; the head follows the hands.
    lean = np.zeros(frames)
    for event in {id(e): e for side in SIDES for e in placed[side]}.values():
        lean += 0.03 * style.amplitude * bump(times, event.stroke + 0.05, 0.5 / style.tempo)
    follow = _head_follow(hands, rest_left, frames, fps)
    # Every joint's rotation matrix first, then one batched conversion to axis-angle.
    matrices = _spine_and_head(style, lean, follow, breath, head, pelvis_roll, rng_idle, fps)
    poses = np.zeros((frames, NUM_JOINTS, 3))
    for side in SIDES:
        matrices.update(_arm_matrices(side, hands[side], style, breath, shrug))
        poses[:, UPPER_JOINTS[f"{side}_wrist"]] = _wrist_rotation(side, hands[side])
    names_order = list(matrices)
    rotations = matrix_to_axis_angle(np.stack([matrices[n] for n in names_order], axis=1))
    poses[:, [UPPER_JOINTS[n] for n in names_order]] = rotations
    return UpperTrack(
        poses=poses,
        shapes={side: hands[side].shapes for side in SIDES},
        targets={side: hands[side].target for side in SIDES},
        gestures=_gesture_log(placed),
        rest="front" if home_front else "side",
    )
