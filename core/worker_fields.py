"""The fields of a worker request (core/worker.py), checked: each function returns the value the
model core takes or raises RequestError naming the field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from core.worker_errors import RequestError

# The longest clip the worker mixes or accepts; above it a typo (a duration in samples, say)
# would allocate gigabytes or run for hours before anyone learns that it was a typo.
MAX_CLIP_SECONDS = 3600.0


def number_field(spec: Mapping[str, Any], key: str, default: float | None,
                 where: str) -> float | None:
    """A finite number of seconds within MAX_CLIP_SECONDS either way, the default, or None."""
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise RequestError(f"{where}: {key} must be a number, got {value!r}")
    if abs(value) > MAX_CLIP_SECONDS:
        raise RequestError(f"{where}: {key} {value!r} s is beyond the worker's limit of "
                           f"{MAX_CLIP_SECONDS:g} s")
    return float(value)


def choice_field(value: object, allowed: tuple[str, ...] | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or (allowed is not None and value not in allowed):
        options = "" if allowed is None else f"; expected one of {', '.join(allowed)}"
        raise RequestError(f"{name} {value!r} is not valid{options}")
    return value


def frames_field(value: object) -> tuple[int, int] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 0 <= value[0] < value[1]):
        raise RequestError(f"frames must be [start, stop) with 0 <= start < stop, got {value!r}")
    return value[0], value[1]


def output_field(value: object) -> str:
    """The result's path, refused before any work when nothing could be written there."""
    if not isinstance(value, str) or not value:
        raise RequestError("generate needs an `output` npz path")
    if "\0" in value:
        raise RequestError(f"output path {value!r} holds a NUL character")
    path = Path(value)
    if path.is_dir():
        raise RequestError(f"{value}: the output path is a folder; expected an npz file path")
    if not path.parent.is_dir():
        raise RequestError(f"{value}: the output folder {path.parent} does not exist")
    return value


def text_field(value: object, name: str) -> str | None:
    """Request text, or None when empty; JSON can carry lone surrogates, which are no text."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RequestError(f"{name} must be text, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestError(f"{name} is not valid text: a lone surrogate "
                           f"{value[exc.start]!r} at character {exc.start}") from None
    return value


def seed_field(value: object) -> int:
    """The request's seed; the generator takes 64 bits, and a bigger one would fail deep in
    torch or wrap around to another seed's motion."""
    if isinstance(value, bool) or not isinstance(value, int) or not -2**63 <= value < 2**63:
        raise RequestError(f"seed must be an integer in the 64-bit range, got {value!r}")
    return value


GUIDED_CONDITIONS = ("prompt", "audio", "emotion")
MAX_GUIDANCE = 20.0


def guidance_field(value: Any) -> dict[str, float] | None:
    """How strongly to follow each condition: {name: strength in 0..MAX_GUIDANCE}, or None."""
    if value is None:
        return None
    if not isinstance(value, dict) or any(name not in GUIDED_CONDITIONS for name in value):
        raise RequestError(f"guidance must be an object with some of "
                           f"{', '.join(GUIDED_CONDITIONS)}, got {value!r}")
    for name, strength in value.items():
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not (
                math.isfinite(strength) and 0.0 <= strength <= MAX_GUIDANCE):
            raise RequestError(f"guidance {name} must be a number in 0..{MAX_GUIDANCE:g}, got "
                               f"{strength!r}")
    return {name: float(strength) for name, strength in value.items()}


MAX_TIMED_PROMPTS = 256


def timed_prompts_field(value: Any) -> list[tuple[str, float | None, float | None]]:
    """[[text, start, end], ...] in seconds (null: the clip's start / end); the API checks the
    spans against the clip."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TIMED_PROMPTS:
        raise RequestError(f"prompts must be a list of at most {MAX_TIMED_PROMPTS} "
                           f"[text, start, end], got {type(value).__name__}")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, list) or len(item) != 3:
            raise RequestError(f"prompts[{index}] must be [text, start, end], got {item!r}")
        text = text_field(item[0], f"prompts[{index}] text")
        if text is None:
            raise RequestError(f"prompts[{index}] has no text")
        for bound in item[1:]:
            if bound is not None and (isinstance(bound, bool) or not isinstance(
                    bound, (int, float)) or not math.isfinite(bound)):
                raise RequestError(f"prompts[{index}] start and end must be seconds or null, "
                                   f"got {bound!r}")
        out.append((text, item[1], item[2]))
    return out
