"""The checks and conversions of `core.api.generate`'s arguments: each bad value becomes a
BodyLanguageError that names it and says what is expected."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from core.compose import TimedPrompt
from core.errors import BodyLanguageError
from core.lm.windows import Span
from core.motion import Motion
from core.rates import FPS
from core.skeleton import PARTS
from core.tokenizers.audio import AudioTokenizer
from core.validate import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, check_text

if TYPE_CHECKING:
    from core.api import BodyLanguageModel


def checked_parts(parts: Iterable[str]) -> tuple[str, ...]:
    """The chosen body parts in PARTS order (one name alone is one part)."""
    if isinstance(parts, str):
        parts = (parts,)
    try:
        chosen = tuple(parts)
    except TypeError:
        raise BodyLanguageError(f"parts must be a list of {', '.join(PARTS)}") from None
    unknown = [p for p in chosen if p not in PARTS]
    if unknown:
        raise BodyLanguageError(f"unknown body part {unknown[0]!r}; parts are {', '.join(PARTS)}")
    if not chosen:
        raise BodyLanguageError(f"parts is empty; choose some of {', '.join(PARTS)}")
    if len(set(chosen)) != len(chosen):
        raise BodyLanguageError(f"parts lists a part twice: {list(chosen)}")
    return tuple(p for p in PARTS if p in chosen)


def stripped_text(value: str | None, name: str) -> str:
    """Text argument `name` without surrounding whitespace; None is empty."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BodyLanguageError(f"{name} must be text, got {type(value).__name__}")
    return value.strip()


def checked_emotion(model: BodyLanguageModel, emotion: str | None) -> str | None:
    """An emotion the model knows, or None for none ("" included)."""
    if emotion is None or emotion == "":
        return None
    if model.masked is not None:
        if emotion not in model.emotions:
            raise BodyLanguageError(f"unknown emotion {emotion!r}; the model knows "
                                    f"{list(model.emotions)}")
        return emotion
    model.lm.vocab.emotion(emotion)  # raises, naming the known emotions
    return emotion


def checked_timed_prompts(model: BodyLanguageModel, prompts: Any,
                          frames: int) -> tuple[TimedPrompt, ...]:
    """Checked timed prompts in time order; seconds are clamped to the clip."""
    if prompts is None or (isinstance(prompts, Sequence) and not isinstance(prompts, str)
                           and len(prompts) == 0):
        return ()
    if isinstance(prompts, str) or not isinstance(prompts, Sequence):
        raise BodyLanguageError("prompts must be a list of (text, start, end) with start and end "
                                f"in seconds, got {type(prompts).__name__}")
    if model.masked is None:
        raise BodyLanguageError("timed prompts need a masked model; this model takes one prompt "
                                "for the whole clip")
    length = frames / model.fps
    out = []
    for index, item in enumerate(prompts):
        if isinstance(item, str) or not isinstance(item, Sequence) or len(item) != 3:
            raise BodyLanguageError(f"prompts[{index}] must be (text, start, end), got {item!r}")
        text = stripped_text(item[0], f"prompts[{index}] text")
        check_text(text, f"prompts[{index}] text")
        if not text:
            raise BodyLanguageError(f"prompts[{index}] has no text")
        start = seconds_or_default(item[1], 0.0, f"prompts[{index}] start")
        end = seconds_or_default(item[2], length, f"prompts[{index}] end")
        if not 0.0 <= start < length:
            raise BodyLanguageError(f"prompts[{index}] ({text!r}) starts at {start:g} s, outside "
                                    f"the clip's 0..{length:g} s")
        if end <= start:
            raise BodyLanguageError(f"prompts[{index}] ({text!r}) ends at {end:g} s, not after "
                                    f"its start {start:g} s")
        out.append(TimedPrompt(text, start, min(end, length)))
    out.sort(key=lambda t: t.start)
    for before, after in zip(out, out[1:], strict=False):
        if after.start < before.end:
            raise BodyLanguageError(f"prompts {before.text!r} ({before.start:g}-{before.end:g} s) "
                                    f"and {after.text!r} ({after.start:g}-{after.end:g} s) "
                                    "overlap")
    return tuple(out)


def seconds_or_default(value: Any, default: float, name: str) -> float:
    """A finite number of seconds, or `default` for None."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise BodyLanguageError(f"{name} must be a number of seconds, got {value!r}")
    return float(value)


def checked_temperature(value: Any) -> float:
    """A sampling temperature in 0..10."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
            math.isfinite(value) and 0 <= value <= 10):
        raise BodyLanguageError(f"temperature must be a number in 0..10, got {value!r}")
    return float(value)


def audio_samples(audio: Any, sample_rate: Any) -> tuple[np.ndarray, int]:
    """(mono float32 samples, rate) of an array at `sample_rate` or of an audio file (read at
    the audio tokenizer's rate)."""
    if isinstance(audio, (str, os.PathLike)):
        from core.io.audio import load_audio  # soundfile: only needed for files

        return load_audio(audio, AudioTokenizer.sample_rate), AudioTokenizer.sample_rate
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer, float)) or (
            sample_rate != int(sample_rate)):
        raise BodyLanguageError(f"sample_rate must be a whole number of Hz, got {sample_rate!r}")
    rate = int(sample_rate)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise BodyLanguageError(f"sample_rate {rate} Hz is outside {MIN_SAMPLE_RATE}.."
                                f"{MAX_SAMPLE_RATE} Hz")
    try:
        samples = np.asarray(audio)
    except (TypeError, ValueError) as exc:
        raise BodyLanguageError(f"audio is not an array of samples: {exc}") from None
    if samples.ndim != 1:
        raise BodyLanguageError(f"audio must be mono samples of shape (N,), got {samples.shape}")
    if samples.size == 0:
        raise BodyLanguageError("audio is empty (zero samples)")
    if not np.issubdtype(samples.dtype, np.floating):
        raise BodyLanguageError(f"audio samples must be floats in [-1, 1], got {samples.dtype}")
    if not np.isfinite(samples).all():
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise BodyLanguageError(f"audio holds {bad} NaN or infinite samples")
    return samples.astype(np.float32, copy=False), rate


def frames_of_duration(duration: Any) -> int:
    """Output frames (at least one) of a positive duration in seconds."""
    if isinstance(duration, bool) or not isinstance(duration, (int, float, np.number)) or not (
            math.isfinite(duration) and duration > 0):
        raise BodyLanguageError(f"duration must be a positive number of seconds, got "
                                f"{duration!r}")
    return max(1, round(float(duration) * FPS))


def checked_keep(model: BodyLanguageModel, keep: Any, total: int) -> Motion | None:
    """The motion an edit keeps: in the model's face space and frame rate, `total` frames."""
    if keep is None:
        return None
    if not isinstance(keep, Motion):
        raise BodyLanguageError(f"keep must be a Motion, got {type(keep).__name__}")
    if keep.face_space != model.face_space:
        raise BodyLanguageError(f"keep has face space {keep.face_space!r}; the model writes "
                                f"{model.face_space!r}")
    if keep.fps != model.fps:
        raise BodyLanguageError(f"keep is at {keep.fps} fps; the model writes {model.fps} fps "
                                "(resample it with Motion.resample first)")
    if keep.num_frames != total:
        raise BodyLanguageError(f"keep has {keep.num_frames} frames; the output has {total} "
                                f"(the audio's length at {model.fps:g} fps)")
    return keep


def frame_span(frames: Any, total: int, keep: Motion | None) -> Span:
    """The frames to write: all of them, or (start, stop) of a kept motion."""
    if frames is None:
        return Span(0, total)
    if keep is None:
        raise BodyLanguageError("frames=(a, b) regenerates part of a kept motion: give keep too")
    try:
        a, b = frames
    except (TypeError, ValueError):
        raise BodyLanguageError(f"frames must be a pair (start, stop), got {frames!r}") from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (a, b)):
        raise BodyLanguageError(f"frames must be whole frame numbers, got {frames!r}")
    if not 0 <= a < b <= total:
        raise BodyLanguageError(f"frames ({a}, {b}) are out of range: need 0 <= start < stop <= "
                                f"{total}")
    return Span(int(a), int(b))
