"""Audio files in and out: wav/flac/ogg/mp3 at 8-192 kHz in, mono float32 at the rate we need.

soundfile (libsndfile >= 1.1) decodes all four formats, so there is one reading path; the format is
taken from the file's header, not its extension. Every file that cannot be used ends in a
BodyLanguageError naming it: missing, a folder, empty, not audio, truncated, another rate,
or NaN samples.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

from core.errors import BodyLanguageError
from core.validate import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, whole_sample_rate

# The rates the model core accepts anywhere (the array path of core.api refuses the same): below
# 8 kHz speech is unintelligible, above 192 kHz no recorder writes, and a header claiming 1 Hz or
# 4 GHz is damage, which resampling would turn into nonsense or a huge allocation.
# The WAV data size that streaming writers (ffmpeg to a pipe) leave: "length unknown", not a
# truncation.
_UNKNOWN_WAV_SIZE = 0xFFFFFFFF
# Chunks walked before the data chunk; real files have a handful, a crafted one may have millions.
_MAX_WAV_CHUNKS = 256
_FORMATS = "wav, flac, ogg or mp3"


def load_audio(path: str | os.PathLike, sample_rate: int = 16000) -> np.ndarray:
    """The file's audio as mono float32 in [-1, 1] at `sample_rate` Hz, shape (N,).

    Channels are mixed down by their mean; other rates are resampled with a polyphase filter.
    """
    sample_rate = whole_sample_rate(sample_rate)
    data, source_rate = _read(path)
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
    sample_rate = whole_sample_rate(sample_rate)
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


def _read(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """All frames of the file as (N, channels) float32 and its rate, after checking that the
    file is there, is audio, is whole, and has a rate in [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE]."""
    file = Path(path)
    if file.is_dir():
        raise BodyLanguageError("is a folder, not an audio file", path)
    if not file.is_file():
        raise BodyLanguageError("audio file not found", path)
    try:
        size = file.stat().st_size
        if size == 0:
            raise BodyLanguageError("cannot decode audio: the file is empty (0 bytes)", path)
        _check_wav(path, size)
    except OSError as exc:
        raise BodyLanguageError(f"cannot read audio file: {exc.strerror or exc}", path) from None
    try:
        with soundfile.SoundFile(os.fspath(path)) as sound:
            rate = int(sound.samplerate)
            if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
                raise BodyLanguageError(
                    f"sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz",
                    path)
            return sound.read(dtype="float32", always_2d=True), rate
    except soundfile.LibsndfileError as exc:
        raise BodyLanguageError(f"cannot decode audio: {_not_audio(exc)}", path) from None
    except (RuntimeError, TypeError, ValueError) as exc:
        raise BodyLanguageError(f"cannot decode audio: {exc}", path) from None


def _not_audio(exc: soundfile.LibsndfileError) -> str:
    """Why libsndfile refused a file that exists. For bytes it cannot place, its mp3 reader
    answers 'File does not exist or is not a regular file', which sends the user looking for a
    missing file; the content is what is wrong."""
    detail = exc.error_string.strip().rstrip(".")
    reason = f"its content is not {_FORMATS} audio, or the audio is damaged"
    if not detail or "does not exist" in detail or "not a regular file" in detail:
        return reason
    return f"{reason} (libsndfile: {detail})"


def _check_wav(path: str | os.PathLike, size: int) -> None:
    """Refuse a RIFF WAV whose header declares a rate outside [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE]
    or whose data chunk claims more bytes than the file has after it; other files pass unread.

    libsndfile quietly reads what is there, so a half-copied file would pass as a shorter one,
    and it answers a 4 GHz rate with "SF_INFO struct incomplete", which names no cause.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return
        order = "<" if head[:4] == b"RIFF" else ">"
        position = 12
        for _ in range(_MAX_WAV_CHUNKS):
            chunk = handle.read(16)
            if len(chunk) < 8:
                return
            (length,) = struct.unpack(order + "I", chunk[4:8])
            if chunk[:4] == b"fmt " and len(chunk) == 16:
                (rate,) = struct.unpack(order + "I", chunk[12:16])
                if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
                    raise BodyLanguageError(
                        f"sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz",
                        path)
            if chunk[:4] == b"data":
                held = size - position - 8
                if length != _UNKNOWN_WAV_SIZE and length > held:
                    raise BodyLanguageError(
                        f"is a truncated WAV: its header promises {length} bytes of samples but "
                        f"the file holds only {held} (an interrupted copy or download?)", path)
                return
            position += 8 + length + (length & 1)  # chunks are padded to an even length
            handle.seek(position)


