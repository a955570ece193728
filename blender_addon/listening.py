"""Listening: while another character speaks and this one does not (no bpy import).

A character bound to its own strips (Audio: Chosen Strips) with Listen to Others on is silent
where its strips do not play, so the model gives it a closed mouth, blinks and idle motion
there; where a strip bound to another character plays meanwhile, face_speakers.py turns its head
and eyes toward that speaker. Stretches shorter than MIN_SECONDS are left alone (a breath
between two lines is no time to turn and look).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .scene_audio import SoundStripInfo

MIN_SECONDS = 1.0


@dataclass(frozen=True)
class ListeningSpan:
    """Scene frames [first, end) where this character listens to `speaker` (an armature)."""

    first: int
    end: int
    speaker: str

    def describe(self) -> str:
        return f"{self.speaker} (frames {self.first}-{self.end - 1})"


def _playing(strips: Iterable[SoundStripInfo], start: int, frames: int) -> np.ndarray:
    playing = np.zeros(frames, bool)
    for strip in strips:
        if not strip.mute:
            playing[max(0, strip.frame_start - start):max(0, strip.frame_end - start)] = True
    return playing


def listening_spans(own: Sequence[SoundStripInfo],
                    others: Mapping[str, Sequence[SoundStripInfo]],
                    fps: float, min_seconds: float = MIN_SECONDS) -> list[ListeningSpan]:
    """Where another character's strips play and none of `own` do, by speaker (the first in
    name order where two talk at once), each at least `min_seconds` long."""
    every = [strip for strips in others.values() for strip in strips] + list(own)
    if not every or not others:
        return []
    start = min(strip.frame_start for strip in every)
    frames = max(strip.frame_end for strip in every) - start
    speaker = np.full(frames, -1)
    names = sorted(others)
    for index in reversed(range(len(names))):
        speaker[_playing(others[names[index]], start, frames)] = index
    speaker[_playing(own, start, frames)] = -1
    spans, minimum = [], int(np.ceil(min_seconds * fps))
    edges = np.flatnonzero(np.diff(speaker)) + 1
    for first, end in zip(np.r_[0, edges], np.r_[edges, frames], strict=True):
        if speaker[first] >= 0 and end - first >= minimum:
            spans.append(ListeningSpan(int(start + first), int(start + end),
                                       names[speaker[first]]))
    return spans


def within(spans: Sequence[ListeningSpan], first: int, end: int, fps: float,
           min_seconds: float = MIN_SECONDS) -> list[ListeningSpan]:
    """The spans cut to scene frames [first, end), pieces at least `min_seconds` long."""
    cut = [ListeningSpan(max(span.first, first), min(span.end, end), span.speaker)
           for span in spans]
    return [span for span in cut if span.end - span.first >= np.ceil(min_seconds * fps)]
