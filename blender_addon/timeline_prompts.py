"""Prompts on the timeline: markers named `bl: <action>` become actions timed on the clip.

A marker's span runs from its frame to the next `bl:` marker's frame, the last one's to the end
of the frame range, and each span is clamped to the range; the worker gets the spans as
[text, start s, end s] from the clip's first frame (its `prompts` field). Spans found this way
never overlap, which the model requires. A bare `bl:` marker asks for nothing: it ends the
action before it. No bpy here: markers are read through their `name`
and `frame` only, so the rule is testable without Blender.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PREFIX = "bl:"


@dataclass(frozen=True)
class MarkerPrompt:
    """An action over scene frames [first, end)."""

    text: str
    first: int
    end: int

    def seconds(self, clip_start: int, fps: float) -> list[Any]:
        """[text, start s, end s] from the clip's first frame, as the worker takes it."""
        return [self.text, (self.first - clip_start) / fps, (self.end - clip_start) / fps]

    def describe(self) -> str:
        return f"'{self.text}' (frames {self.first}-{self.end - 1})"


def marker_text(name: str) -> str | None:
    """The action a marker names (`bl: wave hello` -> `wave hello`), else None."""
    if name[:len(PREFIX)].lower() != PREFIX:
        return None
    return name[len(PREFIX):].strip()


def marker_prompts(markers: Iterable[Any], first: int, last: int
                   ) -> tuple[tuple[MarkerPrompt, ...], tuple[str, ...]]:
    """(prompts over scene frames first..last inclusive, names of markers left out: those
    whose span misses the range, being outside it or sharing their frame with the next one)."""
    found = sorted((int(marker.frame), marker.name, marker_text(marker.name))
                   for marker in markers if marker_text(marker.name) is not None)
    used: list[MarkerPrompt] = []
    left_out: list[str] = []
    for index, (frame, name, text) in enumerate(found):
        end = found[index + 1][0] if index + 1 < len(found) else last + 1
        start, end = max(frame, first), min(end, last + 1)
        if not text:
            continue
        if start < end:
            used.append(MarkerPrompt(text, start, end))
        else:
            left_out.append(name)
    return tuple(used), tuple(left_out)
