"""The performer's upper body: posture, breathing, gestures, head and torso.

Gestures are planned as timed wrist targets in the chest (spine3) frame: a beat's stroke passes
its fastest point on the stressed syllable, deictic and iconic gestures reach for places that
mean something (the chest for "self", far out to the side for "that"). Targets are interpolated
between keys with minimum-jerk timing, kept outside the torso, and turned into collar, shoulder,
elbow and wrist rotations by an analytic two-bone IK, vectorised over frames.

Coordinates: SMPL-X, metres, Y up, the character faces +Z, its left is +X. Gesture keys are
authored for the left hand ("outward" is +X) and mirrored for the right.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

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
from core.limb_ik import axis_rotation, limb_rotations, two_bone_ik, unit
from core.rotations import matrix_to_axis_angle
from core.skeleton import JOINT_INDEX, NUM_JOINTS, default_rest_positions

# ---------------------------------------------------------------------------------------------
# Arm geometry and analytic IK (in the chest frame, relative to the spine3 joint)
# ---------------------------------------------------------------------------------------------

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
_POLE_LEFT = np.array([0.5, -0.8, -0.35])
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
        pole = _POLE_LEFT * np.array([SIDE_SIGN[arm.side], 1.0, 1.0])
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


# ---------------------------------------------------------------------------------------------
# Gesture keys
# ---------------------------------------------------------------------------------------------

# Palm directions in left-hand coordinates (mirrored in x for the right hand).
UP, DOWN = (0.0, 1.0, 0.0), (0.0, -1.0, 0.0)
IN, OUT = (-1.0, 0.0, 0.0), (1.0, 0.0, 0.0)
FORWARD, BACK = (0.0, 0.0, 1.0), (0.0, 0.0, -1.0)
NEUTRAL = (np.nan, np.nan, np.nan)  # the IK's natural forearm twist (thumb up / palm to thigh)

# Left-hand wrist targets, chest frame.
# Arms hanging, wrists ~10 cm clear of the thighs; comfortable_reach draws this in a little,
# which softens the elbows.
SIDE_REST = (0.256, -0.36, 0.056)
FRONT_REST = (0.12, -0.22, 0.22)  # hands loosely in front of the belly
GESTURE_LOCUS = (0.17, -0.08, 0.30)  # the centre of the gesture space
_SPACE_ANCHOR = np.array([0.10, -0.12, 0.16])  # "space" scales distances from here


@dataclass(frozen=True)
class Key:
    """One wrist key, left-hand coordinates."""

    time: float
    position: tuple[float, float, float]
    palm: tuple[float, float, float] = NEUTRAL
    wrist: tuple[float, float] = (0.0, 0.0)  # flexion (+ toward the palm), radial deviation
    shape: str = "relaxed"
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pole: tuple[float, float, float] = tuple(_POLE_LEFT)  # where the elbow points

    def mirrored(self) -> Key:
        def flip(v: tuple[float, float, float]) -> tuple[float, float, float]:
            return (-v[0], v[1], v[2])

        return replace(
            self, position=flip(self.position), palm=flip(self.palm),
            velocity=flip(self.velocity), pole=flip(self.pole),
        )

    def shifted(self, dt: float) -> Key:
        return replace(self, time=self.time + dt)


@dataclass
class GestureEvent:
    """A planned gesture: keys for one hand (or both, mirrored), stroke at `stroke`."""

    kind: str  # "beat", "minor" or a GESTURE_TAGS tag
    stroke: float  # time of the stroke's fastest point, seconds
    both: bool
    keys: list[Key]
    essential: int  # keys up to the stroke's end; later ones are a hold that may be cut
    priority: int
    side: str = ""  # "left", "right" or "both" once scheduled

    @property
    def start(self) -> float:
        return self.keys[0].time

    @property
    def stroke_end(self) -> float:
        return self.keys[self.essential - 1].time


_BEAT_STROKES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    # stroke direction (left coordinates) and palm
    "baton": ((-0.15, -1.0, 0.1), (-0.7, -0.7, 0.0)),
    "palm_up": ((0.35, -0.7, 0.3), (-0.3, 0.95, 0.0)),
    "chop": ((-0.1, -1.0, 0.25), IN),
    "press": ((0.0, -1.0, 0.2), DOWN),
}
_BEAT_SHAPES = {
    "baton": ("relaxed", "point", "pinch", "fist"),
    "palm_up": ("open", "cupped", "open", "relaxed"),
    "chop": ("open", "open", "relaxed", "spread"),
    "press": ("open", "spread", "relaxed", "open"),
}
# Beat kinds and hand shapes each emotion favours.
_BEAT_STYLE: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    #            baton palm_up chop press     shape weights
    "neutral": ((0.35, 0.3, 0.2, 0.15), (0.4, 0.2, 0.3, 0.1)),
    "happiness": ((0.25, 0.5, 0.1, 0.15), (0.35, 0.15, 0.3, 0.2)),
    "anger": ((0.4, 0.05, 0.35, 0.2), (0.2, 0.3, 0.1, 0.4)),
    "sadness": ((0.45, 0.35, 0.05, 0.15), (0.7, 0.0, 0.3, 0.0)),
    "contempt": ((0.3, 0.45, 0.15, 0.1), (0.4, 0.3, 0.3, 0.0)),
    "surprise": ((0.25, 0.45, 0.1, 0.2), (0.3, 0.1, 0.2, 0.4)),
    "fear": ((0.5, 0.2, 0.05, 0.25), (0.5, 0.0, 0.4, 0.1)),
    "disgust": ((0.35, 0.25, 0.2, 0.2), (0.4, 0.2, 0.3, 0.1)),
}


def _spaced(position: np.ndarray, style: Style) -> np.ndarray:
    return _SPACE_ANCHOR + (np.asarray(position) - _SPACE_ANCHOR) * style.space


def _stroke_time(word: Word) -> float:
    # The stressed syllable of a content word is usually its first; strokes peak just after it.
    return word.start + min(0.1, 0.5 * max(word.end - word.start, 0.0))


def _beat(
    t: float, d: float, style: Style, rng: np.random.Generator, size: float, kind: str
) -> GestureEvent:
    mix, shape_mix = _BEAT_STYLE.get(style.emotion, _BEAT_STYLE["neutral"])
    beat_kind = ("baton", "palm_up", "chop", "press")[rng.choice(4, p=mix)]
    direction, palm = _BEAT_STROKES[beat_kind]
    shape = _BEAT_SHAPES[beat_kind][rng.choice(4, p=shape_mix)]
    locus = _spaced(np.array(GESTURE_LOCUS) + rng.normal(0, [0.04, 0.04, 0.03]), style)
    vector = np.asarray(direction) / np.linalg.norm(direction) * size
    prep, end = locus - 0.5 * vector, locus + 0.5 * vector
    hold = rng.uniform(0.1, 0.3) / style.tempo
    settle = end + np.array([0.0, 0.012, -0.008])
    keys = [
        # Arriving at the prep point still moving keeps the prep and stroke one fluent motion.
        Key(t - d / 2, tuple(prep), palm, (-0.15, 0.0), shape, tuple(0.3 * vector / d)),
        Key(t + d / 2, tuple(end), palm, (0.2, 0.0), shape),
        Key(t + d / 2 + hold, tuple(settle), palm, (0.1, 0.0), shape),
    ]
    both = rng.random() < 0.2 * style.amplitude and kind == "beat"
    return GestureEvent(kind, t, both, keys, essential=2, priority=1 if kind == "beat" else 0)


def _semantic(
    tag: str, t: float, d: float, style: Style, rng: np.random.Generator
) -> GestureEvent | None:
    """The deictic or iconic gesture for one GESTURE_TAGS word, or None for head-only tags."""
    a = style.amplitude
    hold = rng.uniform(0.3, 0.5) / style.tempo
    both = False
    extra: list[tuple[float, tuple, tuple, tuple, str]] = []
    wrist_end: tuple[float, float] = (0.0, 0.0)
    pole = tuple(_POLE_LEFT)
    if tag == "self":
        # Hand flat on the chest: elbow out to the side, wrist flexed so the fingers lie flat.
        prep, end, palm0, palm, shape = (0.18, -0.1, 0.3), (0.14, -0.04, 0.18), BACK, BACK, "open"
        wrist_end, pole = (0.45, 0.0), (0.45, -0.9, 0.25)
    elif tag == "you":
        prep, end, palm0 = (0.17, -0.1, 0.3), (0.15, 0.0, 0.44), IN
        palm, shape = ((-0.4, -0.9, 0.0), "point") if rng.random() < 0.6 else (UP, "open")
    elif tag in ("this", "here"):
        prep, end, palm0, palm = (0.15, -0.1, 0.32), (0.13, -0.24, 0.33), DOWN, DOWN
        shape = "point" if rng.random() < 0.5 else "open"
    elif tag in ("that", "there"):
        end = (0.4, 0.02, 0.36) if rng.random() < 0.6 else (0.24, 0.06, 0.46)
        prep, palm0, palm, shape = (0.18, -0.06, 0.3), IN, (-0.5, -0.85, 0.0), "point"
    elif tag == "away":
        prep, end, palm0, palm, shape = (0.1, -0.05, 0.32), (0.42, -0.02, 0.28), DOWN, OUT, "open"
        wrist_end = (-0.3, 0.0)
    elif tag == "up":
        prep, end, palm0 = (0.18, -0.14, 0.3), (0.2, 0.24, 0.3), UP
        palm, shape = (UP, "open") if rng.random() < 0.6 else (IN, "point")
        both = rng.random() < 0.3
    elif tag == "down":
        prep, end, palm0, palm, shape = (0.18, 0.0, 0.32), (0.18, -0.26, 0.32), DOWN, DOWN, "open"
        both = rng.random() < 0.3
    elif tag == "big":
        prep, end, palm0, palm, both = (0.16, -0.06, 0.32), (0.44, 0.0, 0.28), IN, IN, True
        shape = "spread" if rng.random() < 0.4 else "open"
    elif tag == "small":
        prep, end, palm0, palm, both = (0.22, -0.06, 0.32), (0.065, -0.05, 0.34), IN, IN, True
        shape = "pinch" if rng.random() < 0.5 else "cupped"
    elif tag == "all":
        prep, end, palm0, palm, both = (0.1, -0.1, 0.34), (0.42, -0.08, 0.28), DOWN, DOWN, True
        shape = "spread" if rng.random() < 0.5 else "open"
    elif tag == "nothing":
        prep, end, palm0, palm, both = (0.12, -0.12, 0.34), (0.42, -0.2, 0.26), DOWN, DOWN, True
        shape = "open"
    elif tag == "many":
        prep, end, palm0, palm, both = (0.18, -0.04, 0.32), (0.32, 0.0, 0.31), IN, IN, True
        shape = "spread"
        step = 0.2 / style.tempo
        extra = [(step, (0.24, -0.02, 0.33), IN, (0.0, 0.0), shape),
                 (2 * step, (0.38, 0.03, 0.3), IN, (0.0, 0.0), shape)]
    elif tag == "together":
        prep, end, palm0, palm, both = (0.36, -0.04, 0.3), (0.075, -0.06, 0.34), IN, IN, True
        shape = "cupped"
    elif tag == "no":
        # Forearm upright, palm to the listener, waving side to side.
        prep, end, palm0, palm = (0.18, -0.04, 0.3), (0.2, 0.1, 0.28), FORWARD, FORWARD
        shape = "point" if rng.random() < 0.5 else "open"
        wrist_end, pole = (-0.4, 0.0), (0.3, -1.0, 0.0)
        step = 0.16 / style.tempo
        extra = [(step * (k + 1), (0.2 + 0.045 * (-1) ** k, 0.1, 0.28), FORWARD,
                  (-0.4, 0.25 * (-1) ** k), shape) for k in range(4)]
    elif tag == "maybe":
        prep, end, palm0, palm, both = (0.2, -0.12, 0.3), (0.26, -0.14, 0.32), IN, UP, True
        shape = "open"
    elif tag == "yes":
        return None
    else:
        return None

    # Contact gestures (hand on the chest) must land where they mean; the rest vary more.
    end_p = _spaced(np.array(end), style) + rng.normal(0, 0.004 if tag == "self" else 0.01, 3)
    prep_p = end_p + (np.array(prep) - np.array(end)) * a
    prep_p[0] = max(prep_p[0], 0.07)  # a bigger swing must not cross the midline
    stroke_vector = end_p - prep_p
    # Long strokes take longer (peak hand speed stays near 2 m/s), still centred on the word.
    d = max(d, 0.9 * float(np.linalg.norm(stroke_vector)) / np.sqrt(style.tempo))
    keys = [
        Key(t - d / 2, tuple(prep_p), palm0, (0.0, 0.0), shape, tuple(0.3 * stroke_vector / d),
            pole),
        Key(t + d / 2, tuple(end_p), palm, wrist_end, shape, pole=pole),
    ]
    for dt, position, palm_k, wrist_k, shape_k in extra:
        p = _spaced(np.array(position), style) + (end_p - _spaced(np.array(end), style))
        keys.append(Key(t + d / 2 + dt, tuple(p), palm_k, wrist_k, shape_k, pole=pole))
    last = keys[-1]
    settle = np.array(last.position) + np.array([0.0, -0.01, -0.008])
    keys.append(replace(last, time=last.time + hold, position=tuple(settle)))
    if tag == "self":
        # Lift the hand off the chest before it drops, so the fingers never sweep the belly.
        off = _spaced(np.array([0.2, -0.08, 0.27]), style)
        keys.append(Key(keys[-1].time + 0.3 / style.tempo, tuple(off), IN, (0.0, 0.0), "relaxed"))
    return GestureEvent(tag, t, both, keys, essential=2 + len(extra), priority=2)


def plan_gestures(
    words: list[Word], style: Style, rng: np.random.Generator, duration: float
) -> list[GestureEvent]:
    """Candidate gestures for a line: semantic words, emphasised beats, some minor beats."""
    events: list[GestureEvent] = []
    d = 0.2 / style.tempo
    for word in words:
        t = _stroke_time(word)
        if t - d / 2 < 0.55 / style.tempo or t > duration - 0.05:
            continue
        event = _semantic(word.gesture, t, d, style, rng) if word.gesture else None
        if event is None and word.emphasis:
            event = _beat(t, d, style, rng, 0.14 * style.amplitude, "beat")
        elif event is None and len(word.text) >= 4 and rng.random() < 0.22 * style.amplitude:
            event = _beat(t, d * 1.1, style, rng, 0.07 * style.amplitude, "minor")
        if event is not None:
            events.append(event)
    return events


# ---------------------------------------------------------------------------------------------
# Scheduling gestures onto the two hands
# ---------------------------------------------------------------------------------------------

_LEAD = 0.15  # shortest time (s) between one gesture's stroke end and the next one's start


def _transit(a: tuple, b: tuple, tempo: float) -> float:
    """Seconds a hand needs to travel from a to b without whipping."""
    return (_LEAD + 0.8 * float(np.linalg.norm(np.subtract(a, b)))) / tempo


def schedule(
    events: list[GestureEvent], dominant: str, style: Style, rng: np.random.Generator
) -> dict[str, list[GestureEvent]]:
    """Assign events to hands, most meaningful first; a hand does one thing at a time and
    has time to travel between one gesture's stroke and the next one's preparation."""
    placed: dict[str, list[GestureEvent]] = {side: [] for side in SIDES}

    def fits(side: str, event: GestureEvent) -> bool:
        for other in placed[side]:
            first, second = (other, event) if other.stroke < event.stroke else (event, other)
            held = first.keys[first.essential - 1].position
            if second.start - first.stroke_end < _transit(held, second.keys[0].position,
                                                          style.tempo):
                return False
        return True

    other_hand = "left" if dominant == "right" else "right"
    for event in sorted(events, key=lambda e: (-e.priority, e.stroke)):
        if event.both:
            if fits("left", event) and fits("right", event):
                event.side = "both"
            elif event.kind == "beat":
                event.both = False
        if not event.both:
            order = [dominant, other_hand] if rng.random() < 0.8 else [other_hand, dominant]
            event.side = next((s for s in order if fits(s, event)), "")
        if not event.side:
            continue
        for side in SIDES if event.side == "both" else (event.side,):
            placed[side].append(event)
    for side in SIDES:
        placed[side].sort(key=lambda e: e.start)
    return placed


def _hand_keys(
    side: str,
    events: list[GestureEvent],
    rest: np.ndarray,
    style: Style,
    rng: np.random.Generator,
    jitter: float,
) -> list[Key]:
    """One hand's key list: rest, gestures, partial or full retractions in the gaps."""
    # Hanging hands face the thighs, a little backward; hands resting in front face up and in.
    rest_palm = (-1.0, 0.0, -0.25) if rest[2] < 0.15 else (-0.6, 0.8, 0.0)
    mirror = side == "right"

    def rest_key(t: float) -> Key:
        # Authored in left coordinates like every gesture key, mirrored for the right hand.
        p = rest * np.array([SIDE_SIGN[side], 1.0, 1.0]) + rng.normal(0, 0.008, 3)
        key = Key(t, tuple(p), rest_palm, (0.12, 0.0), "relaxed")
        return key.mirrored() if mirror else key

    def travel(a: tuple, b: tuple, base: float, per_metre: float, lo: float, hi: float) -> float:
        dist = float(np.linalg.norm(np.subtract(a, b)))
        return float(np.clip(base + per_metre * dist, lo, hi)) / style.tempo

    keys = [rest_key(0.0)]
    at_rest = True
    for i, event in enumerate(events):
        own = [k.mirrored() if mirror else k for k in event.keys]
        if event.side == "both" and jitter:
            # The two hands of a symmetric gesture are never perfectly in step.
            own = [k.shifted(jitter) for k in own]
        if i + 1 < len(events):
            # Cut the hold where the hand must leave to reach the next gesture unhurried.
            following = events[i + 1].keys[0]
            nxt = following.mirrored() if mirror else following
            own = own[: event.essential] + [
                k for k in own[event.essential :]
                if k.time + _transit(k.position, nxt.position, style.tempo) <= nxt.time
            ]
        first = own[0]
        last = keys[-1]
        if at_rest:
            prep = travel(last.position, first.position, 0.3, 1.2, 0.4, 0.9)
            if first.time - prep > last.time + 0.05:
                keys.append(rest_key(first.time - prep))
        else:
            gap = first.time - last.time
            retract = travel(last.position, tuple(rest), 0.35, 0.8, 0.45, 0.9)
            prep = travel(tuple(rest), first.position, 0.3, 1.2, 0.4, 0.9)
            if gap > retract + prep + 0.35 / style.tempo:
                keys.append(rest_key(last.time + retract))
                keys.append(rest_key(first.time - prep))
            elif gap > 0.6 / style.tempo:
                # Within a gesture unit: sag toward rest, but stay up for the next stroke.
                sag = np.asarray(last.position) + 0.3 * (rest - np.asarray(last.position))
                keys.append(replace(last, time=last.time + 0.45 * gap, position=tuple(sag),
                                    shape="relaxed", velocity=(0.0, 0.0, 0.0)))
        keys.extend(k for k in own if k.time > keys[-1].time + 1e-3)
        at_rest = False
    if not at_rest:
        retract = travel(keys[-1].position, tuple(rest), 0.35, 0.8, 0.45, 0.9)
        keys.append(rest_key(keys[-1].time + retract))
    return keys


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
        t = _stroke_time(word)
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

    # --- gestures -> wrist targets per hand
    dominant = "right" if rng_plan.random() < 0.7 else "left"
    home_front = rng_plan.random() < {"fear": 0.6, "sadness": 0.15}.get(style.emotion, 0.35)
    rest_left = np.array(FRONT_REST if home_front else SIDE_REST)
    events = plan_gestures(words, style, rng_plan, duration)
    placed = schedule(events, dominant, style, rng_plan)
    jitter = float(rng_plan.uniform(0.0, 0.04))

    targets: dict[str, np.ndarray] = {}
    shapes: dict[str, np.ndarray] = {}
    twists: dict[str, np.ndarray] = {}
    wrists: dict[str, np.ndarray] = {}
    poles: dict[str, np.ndarray] = {}
    idle = smooth_noise(rng_idle, frames, fps, period=2.0, dims=6) * 0.01
    for h, side in enumerate(SIDES):
        s = SIDE_SIGN[side]
        rest = rest_left * np.array([s, 1.0, 1.0])
        keys = _hand_keys(
            side, placed[side], rest, style, rng_plan, jitter if side == "left" else 0.0
        )
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
        targets[side] = keep_outside_torso(path + idle[:, 3 * h : 3 * h + 3], side)
        twists[side], wrists[side] = mixed[:, 0], mixed[:, 1:3]
        weights = np.clip(mixed[:, 3:-3], 0.0, None)
        shapes[side] = weights / weights.sum(axis=1, keepdims=True)
        poles[side] = mixed[:, -3:]

    # --- posture, breathing, idle drift, head
    head, shrug = head_motion(words, kind, style, times, rng_head)
    breath_rate = rng_idle.uniform(0.22, 0.3)
    breath = np.sin(2 * np.pi * breath_rate * times + rng_idle.uniform(0, 2 * np.pi))
    drift = smooth_noise(rng_idle, frames, fps, period=3.0, dims=3) * 0.012
    head_drift = smooth_noise(rng_idle, frames, fps, period=2.0, dims=3) * 0.03

    # Torso leans into strokes and turns toward the working hand; the head follows the hands.
    lean = np.zeros(frames)
    for event in {id(e): e for side in SIDES for e in placed[side]}.values():
        lean += 0.03 * style.amplitude * bump(times, event.stroke + 0.05, 0.5 / style.tempo)
    lateral = np.zeros(frames)
    for side in SIDES:
        rest = rest_left * np.array([SIDE_SIGN[side], 1.0, 1.0])
        activity = np.clip(np.linalg.norm(targets[side] - rest, axis=1) / 0.25, 0, 1)
        lateral += activity * targets[side][:, 0]
    follow = gaussian_smooth(np.clip(lateral / 0.35, -1, 1), 0.12 * fps)
    lag = min(int(round(0.1 * fps)), frames - 1)  # the head lags the hand by ~0.1 s
    follow = np.concatenate([np.full(lag, follow[0]), follow[: frames - lag]])

    roll_fix = np.zeros(frames) if pelvis_roll is None else -np.asarray(pelvis_roll)
    torso_pitch = style.lean + lean + drift[:, 0] - 0.012 * breath
    torso_yaw = 0.05 * follow + drift[:, 1]
    # Every joint's rotation matrix first, then one batched conversion to axis-angle.
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

    poses = np.zeros((frames, NUM_JOINTS, 3))
    gestures: list[dict] = []
    for side in SIDES:
        target = targets[side]
        # Shoulders rise when the hand goes above the chest and come forward when it reaches.
        raise_ = (
            style.shoulder_raise + 0.012 * breath + shrug
            + 0.1 * np.clip((target[:, 1] + 0.05) / 0.3, 0, 1)
        )
        protract = 0.1 * np.clip((target[:, 2] - 0.25) / 0.25, 0, 1)
        collar = collar_rotation(side, raise_, protract)
        arm = solve_arm(
            ARMS[side], target, collar, twists[side], elbow_poles(side, target, poles[side])
        )
        matrices[f"{side}_collar"] = collar
        matrices[f"{side}_shoulder"] = arm.shoulder
        matrices[f"{side}_elbow"] = arm.elbow
        # Wrist: flexion curls toward the palm (about -Z on the left), deviation toward the
        # thumb (about -Y on the left); mirrored on the right.
        s = SIDE_SIGN[side]
        flex, deviation = wrists[side][:, 0], wrists[side][:, 1]
        poses[:, UPPER_JOINTS[f"{side}_wrist"]] = np.column_stack(
            [np.zeros(frames), -s * deviation, -s * flex]
        )
        for event in placed[side]:
            if event.side == side or (event.side == "both" and side == "left"):
                gestures.append(
                    {"kind": event.kind, "stroke": round(event.stroke, 3), "hands": event.side}
                )
    names_order = list(matrices)
    rotations = matrix_to_axis_angle(np.stack([matrices[n] for n in names_order], axis=1))
    poses[:, [UPPER_JOINTS[n] for n in names_order]] = rotations
    gestures.sort(key=lambda g: g["stroke"])
    return UpperTrack(
        poses=poses, shapes=shapes, targets=targets, gestures=gestures,
        rest="front" if home_front else "side",
    )
