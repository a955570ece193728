"""The eight BEAT2 emotions as performance style: tempo, amplitude, space, posture, face."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    emotion: str
    tempo: float  # speech and gesture speed multiplier (1 = neutral)
    amplitude: float  # gesture size multiplier
    space: float  # how far from the body gestures reach (1 = neutral)
    lean: float  # torso pitch in radians, + forward
    head_pitch: float  # radians, + looks down
    shoulder_raise: float  # radians of collar elevation, + raised (fear, tension)
    # ARKit-52 channel name -> resting activation in [0, 1] for this emotion's face.
    face: tuple[tuple[str, float], ...] = ()


STYLES: dict[str, Style] = {
    "neutral": Style("neutral", 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, ()),
    "happiness": Style(
        "happiness", 1.1, 1.2, 1.15, -0.03, -0.05, 0.0,
        (("mouthSmileLeft", 0.6), ("mouthSmileRight", 0.6), ("cheekSquintLeft", 0.3),
         ("cheekSquintRight", 0.3), ("browOuterUpLeft", 0.15), ("browOuterUpRight", 0.15)),
    ),
    "anger": Style(
        "anger", 1.2, 1.35, 1.1, 0.08, 0.05, 0.03,
        (("browDownLeft", 0.7), ("browDownRight", 0.7), ("noseSneerLeft", 0.3),
         ("noseSneerRight", 0.3), ("mouthPressLeft", 0.3), ("mouthPressRight", 0.3),
         ("eyeSquintLeft", 0.3), ("eyeSquintRight", 0.3)),
    ),
    "sadness": Style(
        "sadness", 0.8, 0.6, 0.75, 0.10, 0.18, -0.03,
        (("browInnerUp", 0.6), ("mouthFrownLeft", 0.5), ("mouthFrownRight", 0.5),
         ("eyeLookDownLeft", 0.3), ("eyeLookDownRight", 0.3)),
    ),
    "contempt": Style(
        "contempt", 0.9, 0.8, 0.9, -0.05, -0.10, 0.0,
        (("mouthSmileLeft", 0.45), ("mouthDimpleLeft", 0.3), ("eyeSquintLeft", 0.2),
         ("browDownRight", 0.2)),
    ),
    "surprise": Style(
        "surprise", 1.15, 1.25, 1.2, -0.06, -0.08, 0.04,
        (("browInnerUp", 0.8), ("browOuterUpLeft", 0.7), ("browOuterUpRight", 0.7),
         ("eyeWideLeft", 0.7), ("eyeWideRight", 0.7), ("jawOpen", 0.2)),
    ),
    "fear": Style(
        "fear", 1.25, 0.7, 0.7, 0.04, 0.08, 0.08,
        (("browInnerUp", 0.7), ("eyeWideLeft", 0.5), ("eyeWideRight", 0.5),
         ("mouthStretchLeft", 0.4), ("mouthStretchRight", 0.4)),
    ),
    "disgust": Style(
        "disgust", 0.95, 0.9, 0.85, -0.04, 0.02, 0.02,
        (("noseSneerLeft", 0.6), ("noseSneerRight", 0.6), ("mouthUpperUpLeft", 0.5),
         ("mouthUpperUpRight", 0.5), ("browDownLeft", 0.4), ("browDownRight", 0.4)),
    ),
}
