"""The audio of a generate request (core/worker.py), as mono float32 at the model's rate: several
tracks (the add-on's sound strips of one speaker) decoded and mixed with core.io.audio, or one
samples npz, checked and resampled."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from core.worker_errors import RequestError
from core.worker_fields import MAX_CLIP_SECONDS, number_field
from core.worker_npz import npz_arrays

SAMPLE_RATE = 16000


def _track_samples(track: Mapping[str, Any], index: int, rate: int,
                   load: Callable[[str], np.ndarray]) -> tuple[int, np.ndarray]:
    """(start sample in the clip, samples) of one track, volume applied."""
    where = f"audio track {index + 1}"
    path = track.get("path")
    if not isinstance(path, str) or not path:
        raise RequestError(f"{where} has no file path")
    start = number_field(track, "start", 0.0, where)
    offset = number_field(track, "offset", 0.0, where)
    duration = number_field(track, "duration", None, where)
    volume = number_field(track, "volume", 1.0, where)
    samples = load(path)
    first = int(round(offset * rate))
    if first < 0:
        # A negative offset (the strip starts before its sound): silence first.
        samples = np.concatenate([np.zeros(-first, np.float32), samples])
        first = 0
    samples = samples[first:]
    if duration is not None:
        wanted = max(0, int(round(duration * rate)))
        samples = samples[:wanted]
        if len(samples) < wanted:
            samples = np.concatenate([samples, np.zeros(wanted - len(samples), np.float32)])
    return int(round(start * rate)), samples * np.float32(volume)


def mix_tracks(spec: Mapping[str, Any], rate: int = SAMPLE_RATE,
               load: Callable[[str], np.ndarray] | None = None) -> np.ndarray:
    """The mono mix (N,) float32 of a `tracks` audio spec at `rate` Hz (each track's fields are
    core/shared/protocol.py's)."""
    if load is None:
        from core.io.audio import load_audio

        def load(path: str) -> np.ndarray:
            return load_audio(path, rate)

    tracks = spec.get("tracks")
    if not isinstance(tracks, list) or not tracks:
        raise RequestError("audio has no tracks")
    placed = [_track_samples(track, i, rate, load) for i, track in enumerate(tracks)
              if isinstance(track, Mapping)]
    if len(placed) != len(tracks):
        raise RequestError("every audio track must be a JSON object")
    duration = number_field(spec, "duration", None, "audio")
    length = (int(round(duration * rate)) if duration is not None
              else max(start + len(samples) for start, samples in placed))
    if length <= 0:
        raise RequestError("the audio clip is empty (zero length)")
    if length > MAX_CLIP_SECONDS * rate:
        # Tracks placed one after another (or one long file) can pass the per-number limit.
        raise RequestError(f"audio: the clip lasts {length / rate:g} s, beyond the worker's "
                           f"limit of {MAX_CLIP_SECONDS:g} s")
    mix = np.zeros(length, np.float32)
    for start, samples in placed:
        begin, end = max(0, start), min(length, start + len(samples))
        if end > begin:
            mix[begin:end] += samples[begin - start:end - start]
    return np.clip(mix, -1.0, 1.0)

def _source_rate(value: np.ndarray, path: str) -> int:
    """The `sample_rate` of a samples npz as whole Hz within the model core's range."""
    from core.validate import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

    if value.size != 1 or not (np.issubdtype(value.dtype, np.integer)
                               or np.issubdtype(value.dtype, np.floating)):
        raise RequestError(f"{path}: audio sample_rate must be one number, got {value!r}")
    rate = float(value.reshape(()))
    if not np.isfinite(rate) or rate != round(rate):
        raise RequestError(f"{path}: audio sample_rate must be a whole number of Hz, got {rate!r}")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise RequestError(f"{path}: audio sample_rate {rate:g} Hz is outside "
                           f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz")
    return int(rate)


def _npz_samples(path: str, rate: int) -> np.ndarray:
    """The mono samples of a samples npz, checked, resampled to `rate` Hz."""
    arrays = npz_arrays(path, "audio samples")
    if "samples" not in arrays or "sample_rate" not in arrays:
        raise RequestError(f"{path}: audio npz needs `samples` and `sample_rate`")
    source_rate = _source_rate(arrays["sample_rate"], path)
    samples = arrays["samples"]
    if not np.issubdtype(samples.dtype, np.floating):
        # Integer PCM cast to float would be clipped to full scale: loud noise, silently.
        raise RequestError(f"{path}: audio samples must be floats in [-1, 1], got "
                           f"{samples.dtype}")
    samples = samples.astype(np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1 or samples.size == 0 or not np.isfinite(samples).all():
        raise RequestError(f"{path}: samples must be (N,) finite values, N > 0")
    if samples.size > MAX_CLIP_SECONDS * source_rate:
        raise RequestError(f"{path}: the audio lasts {samples.size / source_rate:g} s, beyond "
                           f"the worker's limit of {MAX_CLIP_SECONDS:g} s")
    if source_rate != rate:
        from math import gcd

        from scipy.signal import resample_poly

        common = gcd(source_rate, rate)
        samples = resample_poly(samples, rate // common, source_rate // common)
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


def request_audio(spec: object, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The request's audio as mono float32 at `rate` Hz."""
    if not isinstance(spec, Mapping):
        raise RequestError("generate needs an `audio` object (tracks or samples)")
    if "samples" in spec:
        path = spec["samples"]
        if not isinstance(path, str) or not path:
            raise RequestError("audio samples: no file path given")
        return _npz_samples(path, rate)
    return mix_tracks(spec, rate)
