"""Gesture planning: the wrist keys of beats and of deictic and iconic gestures.

A beat's stroke passes its fastest point on the stressed syllable; deictic and iconic gestures
reach for places that mean something (the chest for "self", far out to the side for "that").
Keys are wrist targets in the chest (spine3) frame, authored for the left hand ("outward" is +X)
and mirrored for the right.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.corpus.arms import POLE_LEFT
from core.corpus.script import Word
from core.corpus.style import Style

# Palm directions in left-hand coordinates (mirrored in x for the right hand).
UP, DOWN = (0.0, 1.0, 0.0), (0.0, -1.0, 0.0)
IN, OUT = (-1.0, 0.0, 0.0), (1.0, 0.0, 0.0)
FORWARD, BACK = (0.0, 0.0, 1.0), (0.0, 0.0, -1.0)
NEUTRAL = (np.nan, np.nan, np.nan)  # the IK's natural forearm twist (thumb up / palm to thigh)

# Left-hand wrist targets, chest frame.
# Arms hanging, wrists ~10 cm clear of the thighs; the arm's soft reach draws this in a little,
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
    pole: tuple[float, float, float] = tuple(POLE_LEFT)  # where the elbow points

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


def stroke_time(word: Word) -> float:
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


Vec = tuple[float, float, float]


@dataclass(frozen=True)
class _Semantic:
    """Where one GESTURE_TAGS word's gesture goes: left-hand wrist targets, chest frame."""

    prep: Vec
    end: Vec
    palm0: Vec  # palm facing during the preparation
    palm: Vec  # palm facing at the stroke's end
    shape: str
    both: bool = False
    wrist_end: tuple[float, float] = (0.0, 0.0)
    pole: Vec = tuple(POLE_LEFT)
    on_body: bool = False  # a contact gesture: lands precisely, lifts off before it drops
    beat: float = 0.0  # seconds between the extra keys, at tempo 1
    extra: tuple[tuple[int, Vec, Vec, tuple[float, float]], ...] = ()  # (beats, pos, palm, wrist)


_SEMANTIC: dict[str, _Semantic] = {
    # Hand flat on the chest: elbow out to the side, wrist flexed so the fingers lie flat.
    "self": _Semantic((0.18, -0.1, 0.3), (0.14, -0.04, 0.18), BACK, BACK, "open",
                      wrist_end=(0.45, 0.0), pole=(0.45, -0.9, 0.25), on_body=True),
    "you": _Semantic((0.17, -0.1, 0.3), (0.15, 0.0, 0.44), IN, UP, "open"),
    "this": _Semantic((0.15, -0.1, 0.32), (0.13, -0.24, 0.33), DOWN, DOWN, "open"),
    "that": _Semantic((0.18, -0.06, 0.3), (0.24, 0.06, 0.46), IN, (-0.5, -0.85, 0.0), "point"),
    "away": _Semantic((0.1, -0.05, 0.32), (0.42, -0.02, 0.28), DOWN, OUT, "open",
                      wrist_end=(-0.3, 0.0)),
    "up": _Semantic((0.18, -0.14, 0.3), (0.2, 0.24, 0.3), UP, IN, "point"),
    "down": _Semantic((0.18, 0.0, 0.32), (0.18, -0.26, 0.32), DOWN, DOWN, "open"),
    "big": _Semantic((0.16, -0.06, 0.32), (0.44, 0.0, 0.28), IN, IN, "open", both=True),
    "small": _Semantic((0.22, -0.06, 0.32), (0.065, -0.05, 0.34), IN, IN, "cupped", both=True),
    "all": _Semantic((0.1, -0.1, 0.34), (0.42, -0.08, 0.28), DOWN, DOWN, "open", both=True),
    "nothing": _Semantic((0.12, -0.12, 0.34), (0.42, -0.2, 0.26), DOWN, DOWN, "open", both=True),
    "many": _Semantic((0.18, -0.04, 0.32), (0.32, 0.0, 0.31), IN, IN, "spread", both=True,
                      beat=0.2, extra=((1, (0.24, -0.02, 0.33), IN, (0.0, 0.0)),
                                       (2, (0.38, 0.03, 0.3), IN, (0.0, 0.0)))),
    "together": _Semantic((0.36, -0.04, 0.3), (0.075, -0.06, 0.34), IN, IN, "cupped", both=True),
    # Forearm upright, palm to the listener, waving side to side.
    "no": _Semantic((0.18, -0.04, 0.3), (0.2, 0.1, 0.28), FORWARD, FORWARD, "open",
                    wrist_end=(-0.4, 0.0), pole=(0.3, -1.0, 0.0), beat=0.16,
                    extra=tuple((k + 1, (0.2 + 0.045 * (-1) ** k, 0.1, 0.28), FORWARD,
                                 (-0.4, 0.25 * (-1) ** k)) for k in range(4))),
    "maybe": _Semantic((0.2, -0.12, 0.3), (0.26, -0.14, 0.32), IN, UP, "open", both=True),
}
_SEMANTIC["here"] = _SEMANTIC["this"]
_SEMANTIC["there"] = _SEMANTIC["that"]
# Random variants, drawn in order: each one replaces these fields when a draw falls below its
# probability ("yes" and tags missing from _SEMANTIC are head-only).
_VARIANTS: dict[str, tuple[tuple[float, dict[str, object]], ...]] = {
    "you": ((0.6, {"palm": (-0.4, -0.9, 0.0), "shape": "point"}),),
    "this": ((0.5, {"shape": "point"}),),
    "that": ((0.6, {"end": (0.4, 0.02, 0.36)}),),
    "up": ((0.6, {"palm": UP, "shape": "open"}), (0.3, {"both": True})),
    "down": ((0.3, {"both": True}),),
    "big": ((0.4, {"shape": "spread"}),),
    "small": ((0.5, {"shape": "pinch"}),),
    "all": ((0.5, {"shape": "spread"}),),
    "no": ((0.5, {"shape": "point"}),),
}
_VARIANTS["here"] = _VARIANTS["this"]
_VARIANTS["there"] = _VARIANTS["that"]


def _semantic_pose(tag: str, rng: np.random.Generator) -> _Semantic | None:
    pose = _SEMANTIC.get(tag)
    if pose is None:
        return None
    for probability, changes in _VARIANTS.get(tag, ()):
        if rng.random() < probability:
            pose = replace(pose, **changes)
    return pose


def _semantic(
    tag: str, t: float, d: float, style: Style, rng: np.random.Generator
) -> GestureEvent | None:
    """The deictic or iconic gesture for one GESTURE_TAGS word, or None for head-only tags."""
    hold = rng.uniform(0.3, 0.5) / style.tempo
    pose = _semantic_pose(tag, rng)
    if pose is None:
        return None
    # Contact gestures (hand on the chest) must land where they mean; the rest vary more.
    noise = rng.normal(0, 0.004 if pose.on_body else 0.01, 3)
    end_p = _spaced(np.array(pose.end), style) + noise
    prep_p = end_p + (np.array(pose.prep) - np.array(pose.end)) * style.amplitude
    prep_p[0] = max(prep_p[0], 0.07)  # a bigger swing must not cross the midline
    stroke_vector = end_p - prep_p
    # Long strokes take longer (peak hand speed stays near 2 m/s), still centred on the word.
    d = max(d, 0.9 * float(np.linalg.norm(stroke_vector)) / np.sqrt(style.tempo))
    keys = [
        Key(t - d / 2, tuple(prep_p), pose.palm0, (0.0, 0.0), pose.shape,
            tuple(0.3 * stroke_vector / d), pose.pole),
        Key(t + d / 2, tuple(end_p), pose.palm, pose.wrist_end, pose.shape, pole=pose.pole),
    ]
    step = pose.beat / style.tempo
    for beats, position, palm_k, wrist_k in pose.extra:
        p = _spaced(np.array(position), style) + (end_p - _spaced(np.array(pose.end), style))
        keys.append(Key(t + d / 2 + beats * step, tuple(p), palm_k, wrist_k, pose.shape,
                        pole=pose.pole))
    last = keys[-1]
    settle = np.array(last.position) + np.array([0.0, -0.01, -0.008])
    keys.append(replace(last, time=last.time + hold, position=tuple(settle)))
    if pose.on_body:
        # Lift the hand off the chest before it drops, so the fingers never sweep the belly.
        off = _spaced(np.array([0.2, -0.08, 0.27]), style)
        keys.append(Key(keys[-1].time + 0.3 / style.tempo, tuple(off), IN, (0.0, 0.0), "relaxed"))
    return GestureEvent(tag, t, pose.both, keys, essential=2 + len(pose.extra), priority=2)


def plan_gestures(
    words: list[Word], style: Style, rng: np.random.Generator, duration: float
) -> list[GestureEvent]:
    """Candidate gestures for a line: semantic words, emphasised beats, some minor beats."""
    events: list[GestureEvent] = []
    d = 0.2 / style.tempo
    for word in words:
        t = stroke_time(word)
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
