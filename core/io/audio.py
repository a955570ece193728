"""Audio files in and out: any of wav/flac/ogg/mp3 at any rate in, mono float32 at the rate we need.

soundfile (libsndfile >= 1.1) decodes all four formats, so there is one reading path; the format is
taken from the file's header, not its extension.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

from core.errors import BodyLanguageError


def load_audio(path: str | os.PathLike, sample_rate: int = 16000) -> np.ndarray:
    """The file's audio as mono float32 in [-1, 1] at `sample_rate` Hz, shape (N,).

    Channels are mixed down by their mean; other rates are resampled with a polyphase filter.
    """
    sample_rate = _whole_rate(sample_rate)
    if not Path(path).is_file():
        raise BodyLanguageError("audio file not found", path)
    try:
        data, source_rate = soundfile.read(os.fspath(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise BodyLanguageError(f"cannot decode audio: {exc}", path) from None
    if data.shape[0] == 0:
        raise BodyLanguageError("holds no audio samples (zero length)", path)
    if not np.isfinite(data).all():
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise BodyLanguageError(f"holds {bad} NaN or infinite samples", path)

    mono = data.mean(axis=1)
    if source_rate != sample_rate:
        common = math.gcd(source_rate, sample_rate)
        mono = resample_poly(mono, sample_rate // common, source_rate // common)
    # The resampling filter rings slightly past full scale on loud material; callers rely on
    # the [-1, 1] range, and float files may exceed it in the first place.
    return np.clip(mono, -1.0, 1.0).astype(np.float32)


def save_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> None:
    """Write `audio` (N,) mono or (N, C) float in [-1, 1] as a 16-bit PCM wav; louder is clipped."""
    sample_rate = _whole_rate(sample_rate)
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim not in (1, 2) or samples.shape[0] == 0 or samples.size == 0:
        raise BodyLanguageError(
            f"audio to save must be (N,) or (N, channels) with N > 0, got shape {samples.shape}",
            path,
        )
    if not np.isfinite(samples).all():
        raise BodyLanguageError("audio to save holds NaN or infinite samples", path)
    # libsndfile wraps around instead of clipping when converting out-of-range floats to PCM.
    samples = np.clip(samples, -1.0, 1.0)
    try:
        soundfile.write(os.fspath(path), samples, sample_rate, subtype="PCM_16", format="WAV")
    except (soundfile.LibsndfileError, RuntimeError, OSError) as exc:
        raise BodyLanguageError(f"cannot write wav: {exc}", path) from None


def _whole_rate(sample_rate: int) -> int:
    """`sample_rate` as a positive int (16000.0 is fine), or an error."""
    try:
        whole = int(sample_rate)
        valid = not isinstance(sample_rate, bool) and whole == sample_rate and whole > 0
    except (TypeError, ValueError, OverflowError):
        valid = False
    if not valid:
        raise BodyLanguageError(f"sample rate must be a positive whole number, got {sample_rate!r}")
    return whole
