"""The performer's face: visemes with co-articulation, blinks, gaze, brows and emotion.

Output is ARKit-52 channels plus jaw and eye rotations, the face part of a Motion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.corpus.script import Utterance
from core.corpus.style import Style
from core.face_spaces import ARKIT52

CHANNEL = {name: i for i, name in enumerate(ARKIT52)}

# Jaw rotation (radians about +X, which drops the chin) at jawOpen = 1.
JAW_RADIANS_AT_FULL_OPEN = 0.38

# Viseme targets as ARKit activations; "jawOpen" also drives the jaw bone.
VISEMES: dict[str, dict[str, float]] = {
    "rest": {},
    "closed": {"mouthClose": 0.35, "mouthPressLeft": 0.45, "mouthPressRight": 0.45,
               "mouthRollLower": 0.15},
    "labiodental": {"jawOpen": 0.06, "mouthRollLower": 0.55, "mouthUpperUpLeft": 0.2,
                    "mouthUpperUpRight": 0.2},
    "dental": {"jawOpen": 0.12, "mouthStretchLeft": 0.1, "mouthStretchRight": 0.1},
    "alveolar": {"jawOpen": 0.1, "mouthStretchLeft": 0.15, "mouthStretchRight": 0.15},
    "postalveolar": {"jawOpen": 0.12, "mouthFunnel": 0.5, "mouthPucker": 0.2},
    "velar": {"jawOpen": 0.2},
    "r": {"jawOpen": 0.12, "mouthFunnel": 0.3, "mouthPucker": 0.25},
    "w": {"jawOpen": 0.08, "mouthPucker": 0.7, "mouthFunnel": 0.3},
    "open": {"jawOpen": 0.6, "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3},
    "mid": {"jawOpen": 0.35, "mouthStretchLeft": 0.2, "mouthStretchRight": 0.2},
    "spread": {"jawOpen": 0.15, "mouthStretchLeft": 0.35, "mouthStretchRight": 0.35,
               "mouthSmileLeft": 0.15, "mouthSmileRight": 0.15},
    "round": {"jawOpen": 0.25, "mouthPucker": 0.55, "mouthFunnel": 0.45},
}

# espeak-ng English phoneme mnemonics -> viseme. Diphthongs take their first, more open target.
_PHONEME_VISEME: dict[str, str] = {}
for _viseme, _symbols in {
    "closed": "p b m",
    "labiodental": "f v",
    "dental": "T D",
    "alveolar": "t d n l s z t# d# n- l- *",
    "postalveolar": "S Z tS dZ",
    "velar": "k g N h x",
    "r": "r r- 3 3:",
    "w": "w",
    "open": "a A: A@ aI aU a# aa A",
    "mid": "E @ V e@ eI 0 @L @2 @5 e a2",
    "spread": "i: I i j I2 I# iI",
    "round": "u: U O: O oU OI u U@ O@ o@ 0@ aU@",
}.items():
    for _symbol in _symbols.split():
        _PHONEME_VISEME[_symbol] = _viseme

# Consonants whose shape must be reached (lips must close for /p b m/): they dominate neighbours.
_DOMINANCE = {"closed": 3.0, "labiodental": 2.5, "w": 1.6, "round": 1.3, "postalveolar": 1.4}


def viseme_of(symbol: str) -> str:
    """The viseme for an espeak-ng phoneme mnemonic; stress marks and length marks ignored."""
    clean = symbol.strip("'\",%=_:") if symbol not in _PHONEME_VISEME else symbol
    if clean in _PHONEME_VISEME:
        return _PHONEME_VISEME[clean]
    if clean[:2] in _PHONEME_VISEME:
        return _PHONEME_VISEME[clean[:2]]
    if clean[:1] in _PHONEME_VISEME:
        return _PHONEME_VISEME[clean[:1]]
    return "rest" if not clean or clean in {"_", "_:", "_!", "||"} else "mid"


def _target_matrix() -> tuple[list[str], np.ndarray]:
    names = list(VISEMES)
    matrix = np.zeros((len(names), len(ARKIT52)), np.float32)
    for row, name in enumerate(names):
        for channel, value in VISEMES[name].items():
            matrix[row, CHANNEL[channel]] = value
    return names, matrix


_VISEME_NAMES, _VISEME_TARGETS = _target_matrix()


@dataclass(frozen=True)
class FaceTrack:
    face: np.ndarray  # (T, 52) ARKit activations in [0, 1]
    jaw: np.ndarray  # (T, 3) axis-angle
    left_eye: np.ndarray  # (T, 3)
    right_eye: np.ndarray  # (T, 3)


def _speech_channels(utterance: Utterance, times: np.ndarray, style: Style) -> np.ndarray:
    """Co-articulated mouth shapes: each phoneme pulls toward its viseme with a dominance that
    decays with distance from its centre (Cohen–Massaro), so neighbours shape each other."""
    phonemes = [p for p in utterance.phonemes if p.end > p.start]
    out = np.zeros((len(times), len(ARKIT52)), np.float32)
    if not phonemes:
        return out
    centres = np.array([(p.start + p.end) / 2 for p in phonemes])
    widths = np.array([max(p.end - p.start, 0.03) for p in phonemes])
    rows = np.array([_VISEME_NAMES.index(viseme_of(p.symbol)) for p in phonemes])
    strength = np.array([_DOMINANCE.get(_VISEME_NAMES[r], 1.0) for r in rows])
    distance = np.abs(times[:, None] - centres[None, :]) / widths[None, :]
    dominance = strength[None, :] * np.exp(-1.6 * distance**1.3)
    # Silence keeps its own pull so the mouth relaxes in pauses instead of holding the last shape.
    silence = 0.15 * np.ones((len(times), 1))
    blended = (dominance @ _VISEME_TARGETS[rows]) / (dominance.sum(1, keepdims=True) + silence)
    # Louder, livelier emotions articulate more.
    return (blended * np.clip(0.85 + 0.2 * style.amplitude, 0.8, 1.2)).astype(np.float32)


def _bumps(times: np.ndarray, onsets: list[float], rise: float, fall: float) -> np.ndarray:
    """Sum of asymmetric raised-cosine bumps starting at each onset, clipped to 1."""
    out = np.zeros_like(times)
    for onset in onsets:
        t = times - onset
        up = (t >= 0) & (t < rise)
        down = (t >= rise) & (t < rise + fall)
        out[up] += 0.5 - 0.5 * np.cos(np.pi * t[up] / rise)
        out[down] += 0.5 + 0.5 * np.cos(np.pi * (t[down] - rise) / fall)
    return np.clip(out, 0, 1)


def _smooth_steps(times: np.ndarray, changes: list[float], values: np.ndarray, ramp: float):
    """A piecewise-constant signal whose steps at `changes` are eased over `ramp` seconds."""
    out = np.repeat(values[:1], len(times), axis=0).astype(np.float64)
    for when, before, after in zip(changes, values[:-1], values[1:], strict=True):
        u = np.clip((times - when) / ramp, 0, 1)
        ease = u * u * (3 - 2 * u)
        out += ease[:, None] * (after - before)[None, :]
    return out


def animate_face(
    utterance: Utterance | None,
    style: Style,
    frames: int,
    fps: float,
    rng: np.random.Generator,
) -> FaceTrack:
    """The face for `frames` frames: speech visemes (if any), blinks, gaze, brows, emotion."""
    times = np.arange(frames) / fps
    duration = frames / fps
    face = np.zeros((frames, len(ARKIT52)), np.float64)

    for channel, value in style.face:
        # The emotion's expression breathes a little instead of sitting frozen.
        wobble = 1 + 0.12 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * times + rng.uniform(0, 6.3))
        face[:, CHANNEL[channel]] += value * wobble

    if utterance is not None:
        face += _speech_channels(utterance, times, style)
        emphasis = [w.start for w in utterance.words if w.emphasis]
        brow = 0.35 * _bumps(times, emphasis, 0.12, 0.35)
        if utterance.sentence.kind == "question" and utterance.words:
            brow += 0.4 * _bumps(times, [max(utterance.words[-1].start - 0.2, 0.0)], 0.2, 0.6)
        face[:, CHANNEL["browInnerUp"]] += brow
        face[:, CHANNEL["browOuterUpLeft"]] += 0.8 * brow
        face[:, CHANNEL["browOuterUpRight"]] += 0.8 * brow

    # Blinks: roughly every 2-5 s, more often under stress, fast close and slower open.
    rate = {"fear": 0.45, "anger": 0.35, "surprise": 0.2}.get(style.emotion, 0.3)
    blinks, t = [], rng.uniform(0.2, 2.0)
    while t < duration:
        blinks.append(t)
        t += rng.exponential(1 / rate) + 0.6
    blink = _bumps(times, blinks, 0.07, 0.14)
    face[:, CHANNEL["eyeBlinkLeft"]] = np.maximum(face[:, CHANNEL["eyeBlinkLeft"]], blink)
    face[:, CHANNEL["eyeBlinkRight"]] = np.maximum(face[:, CHANNEL["eyeBlinkRight"]], blink)

    # Gaze: saccades between fixations; eyes yaw about +Y and pitch about +X (down).
    changes, targets, t = [], [np.zeros(2)], rng.uniform(0.5, 2.5)
    while t < duration:
        changes.append(t)
        spread = 0.06 if rng.random() < 0.6 else 0.18  # mostly near the listener
        targets.append(rng.normal(0, spread, 2) + [0, style.head_pitch * 0.3])
        t += rng.uniform(0.8, 3.0)
    gaze = _smooth_steps(times, changes, np.array(targets), ramp=0.05)
    yaw, pitch = gaze[:, 0], gaze[:, 1]
    eye = np.stack([pitch, yaw, np.zeros_like(yaw)], axis=1)
    look = np.clip(np.abs(yaw) / 0.3, 0, 1)
    # Looking toward the character's left (+yaw) turns the left eye outward, the right inward.
    face[:, CHANNEL["eyeLookOutLeft"]] += np.where(yaw > 0, look, 0)
    face[:, CHANNEL["eyeLookInRight"]] += np.where(yaw > 0, look, 0)
    face[:, CHANNEL["eyeLookInLeft"]] += np.where(yaw < 0, look, 0)
    face[:, CHANNEL["eyeLookOutRight"]] += np.where(yaw < 0, look, 0)
    vertical = np.clip(np.abs(pitch) / 0.3, 0, 1)
    for side in ("Left", "Right"):
        face[:, CHANNEL["eyeLookDown" + side]] += np.where(pitch > 0, vertical, 0)
        face[:, CHANNEL["eyeLookUp" + side]] += np.where(pitch < 0, vertical, 0)

    face = np.clip(face, 0.0, 1.0)
    jaw = np.zeros((frames, 3))
    jaw[:, 0] = face[:, CHANNEL["jawOpen"]] * JAW_RADIANS_AT_FULL_OPEN
    return FaceTrack(
        face=face.astype(np.float32),
        jaw=jaw.astype(np.float32),
        left_eye=eye.astype(np.float32),
        right_eye=eye.astype(np.float32).copy(),
    )
