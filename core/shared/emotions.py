"""The eight BEAT2 emotions, in the order every table of the project uses."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = (
    "neutral", "happiness", "anger", "sadness", "contempt", "surprise", "fear", "disgust",
)
