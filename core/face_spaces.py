"""Names of the face channel spaces a Motion can carry (core/shared/face_spaces.py's)."""

from __future__ import annotations

from core.shared.face_spaces import ARKIT52, FACE_SPACES, FLAME100

__all__ = ["ARKIT52", "FACE_SPACES", "FLAME100", "channel_names"]


def channel_names(space: str) -> tuple[str, ...]:
    """The ordered channel names of a face space; raises for an unknown space."""
    from core.errors import BodyLanguageError

    try:
        return FACE_SPACES[space]
    except KeyError:
        known = ", ".join(sorted(FACE_SPACES))
        raise BodyLanguageError(f"unknown face space {space!r}; expected one of {known}") from None
