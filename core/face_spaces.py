"""Names of the face channel spaces a Motion can carry."""

from __future__ import annotations

ARKIT52: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight", "tongueOut",
)

# FLAME expression coefficients as BEAT2 stores them; the names match the shape keys of
# Meshcapade's SMPL-X add-on so its characters work as targets.
FLAME100: tuple[str, ...] = tuple(f"Exp{i:03d}" for i in range(100))

FACE_SPACES: dict[str, tuple[str, ...]] = {"arkit52": ARKIT52, "flame100": FLAME100}


def channel_names(space: str) -> tuple[str, ...]:
    """The ordered channel names of a face space; raises for an unknown space."""
    from core.errors import BodyLanguageError

    try:
        return FACE_SPACES[space]
    except KeyError:
        known = ", ".join(sorted(FACE_SPACES))
        raise BodyLanguageError(f"unknown face space {space!r}; expected one of {known}") from None
