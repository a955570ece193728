"""Light acoustic augmentation so that audio features learn speech, not espeak's clean signal.

Equalisation, a small room, background noise and a level change, each drawn from a generator
and written down as an `Augmentation` so a clip can say what was done to it. Nothing here shifts
time: the filters are causal with their main response at lag 0, the reverb tail is cut at the
clip's end, so word and phoneme timings stay valid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft
from scipy.signal import lfilter, resample_poly

from core.errors import BodyLanguageError

EQ_KINDS: tuple[str, ...] = ("low_shelf", "high_shelf", "peaking")
NOISE_COLOURS: tuple[str, ...] = ("white", "pink")

SNR_RANGE_DB = (20.0, 40.0)
RT60_RANGE_S = (0.1, 0.5)
DIRECT_TO_REVERB_RANGE_DB = (3.0, 12.0)  # the direct sound dominates: a small room, near mic
EQ_GAIN_RANGE_DB = (-6.0, 6.0)
GAIN_RANGE_DB = (-12.0, 0.0)
PEAK_CEILING = 0.98  # louder results are scaled down as a whole, never clipped


@dataclass(frozen=True)
class Equaliser:
    kind: str  # one of EQ_KINDS
    frequency: float  # Hz: shelf corner or peak centre
    gain_db: float
    q: float


@dataclass(frozen=True)
class Augmentation:
    """What is done to one clip; `seed` draws the noise and impulse-response samples."""

    equaliser: Equaliser | None
    rt60: float | None  # seconds; None = dry
    direct_to_reverb_db: float
    snr_db: float | None  # None = no added noise
    noise_colour: str
    gain_db: float
    seed: int


def sample_augmentation(
    rng: np.random.Generator,
    p_equaliser: float = 0.7,
    p_reverb: float = 0.5,
    p_noise: float = 0.8,
) -> Augmentation:
    """A random augmentation within the module's ranges; deterministic for the generator's state."""
    equaliser = None
    if rng.random() < p_equaliser:
        kind = EQ_KINDS[int(rng.integers(len(EQ_KINDS)))]
        low, high = {"low_shelf": (100, 400), "high_shelf": (2500, 6000), "peaking": (300, 4000)}[
            kind
        ]
        equaliser = Equaliser(
            kind=kind,
            frequency=float(np.exp(rng.uniform(np.log(low), np.log(high)))),
            gain_db=float(rng.uniform(*EQ_GAIN_RANGE_DB)),
            q=float(rng.uniform(0.5, 1.5)),
        )
    rt60 = float(rng.uniform(*RT60_RANGE_S)) if rng.random() < p_reverb else None
    direct_to_reverb_db = float(rng.uniform(*DIRECT_TO_REVERB_RANGE_DB))
    snr_db = float(rng.uniform(*SNR_RANGE_DB)) if rng.random() < p_noise else None
    noise_colour = NOISE_COLOURS[int(rng.integers(len(NOISE_COLOURS)))]
    gain_db = float(rng.uniform(*GAIN_RANGE_DB))
    seed = int(rng.integers(2**31))
    return Augmentation(
        equaliser, rt60, direct_to_reverb_db, snr_db, noise_colour, gain_db, seed
    )


def augment(audio: np.ndarray, sample_rate: int, augmentation: Augmentation) -> np.ndarray:
    """`audio` (N,) float with the augmentation applied: float32, same length, peak <= 0.98."""
    signal = _mono(audio)
    rng = np.random.default_rng(augmentation.seed)
    if augmentation.equaliser is not None:
        signal = equalise(signal, sample_rate, augmentation.equaliser)
    if augmentation.rt60 is not None:
        response = room_impulse_response(
            sample_rate, augmentation.rt60, augmentation.direct_to_reverb_db, rng
        )
        signal = reverberate(signal, response)
    if augmentation.snr_db is not None:
        signal = add_noise(signal, augmentation.snr_db, augmentation.noise_colour, rng)
    return change_level(signal, augmentation.gain_db)


def equaliser_coefficients(equaliser: Equaliser, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(b, a) of the biquad (Audio EQ Cookbook, R. Bristow-Johnson), normalised so a[0] = 1."""
    if equaliser.kind not in EQ_KINDS:
        raise BodyLanguageError(f"unknown equaliser kind {equaliser.kind!r}; expected {EQ_KINDS}")
    if not 0.0 < equaliser.frequency < sample_rate / 2 or equaliser.q <= 0.0:
        raise BodyLanguageError(
            f"equaliser frequency must lie in (0, {sample_rate / 2}) Hz and q be positive, got "
            f"{equaliser.frequency} Hz, q {equaliser.q}"
        )
    amplitude = 10.0 ** (equaliser.gain_db / 40.0)
    w0 = 2.0 * math.pi * equaliser.frequency / sample_rate
    cos_w0, alpha = math.cos(w0), math.sin(w0) / (2.0 * equaliser.q)
    if equaliser.kind == "peaking":
        b = [1 + alpha * amplitude, -2 * cos_w0, 1 - alpha * amplitude]
        a = [1 + alpha / amplitude, -2 * cos_w0, 1 - alpha / amplitude]
    else:
        root = 2.0 * math.sqrt(amplitude) * alpha
        sign = 1.0 if equaliser.kind == "low_shelf" else -1.0
        b = [
            amplitude * ((amplitude + 1) - sign * (amplitude - 1) * cos_w0 + root),
            sign * 2 * amplitude * ((amplitude - 1) - sign * (amplitude + 1) * cos_w0),
            amplitude * ((amplitude + 1) - sign * (amplitude - 1) * cos_w0 - root),
        ]
        a = [
            (amplitude + 1) + sign * (amplitude - 1) * cos_w0 + root,
            -sign * 2 * ((amplitude - 1) + sign * (amplitude + 1) * cos_w0),
            (amplitude + 1) + sign * (amplitude - 1) * cos_w0 - root,
        ]
    b_array, a_array = np.array(b), np.array(a)
    return b_array / a_array[0], a_array / a_array[0]


def equalise(audio: np.ndarray, sample_rate: int, equaliser: Equaliser) -> np.ndarray:
    """`audio` through one biquad (a gentle shelf or bell), float32."""
    b, a = equaliser_coefficients(equaliser, sample_rate)
    return lfilter(b, a, _mono(audio)).astype(np.float32)


def room_impulse_response(
    sample_rate: int, rt60: float, direct_to_reverb_db: float, rng: np.random.Generator
) -> np.ndarray:
    """A small room: a unit direct path at lag 0 and an exponentially decaying noise tail.

    The tail falls 60 dB in `rt60` seconds and carries `direct_to_reverb_db` less energy than
    the direct path; it starts a few milliseconds later (the first reflections).
    """
    if not 0.0 < rt60 <= 5.0:
        raise BodyLanguageError(f"rt60 must be in (0, 5] seconds, got {rt60}")
    length = int(round(rt60 * sample_rate))
    onset = int(round(rng.uniform(0.002, 0.006) * sample_rate))
    times = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-math.log(1000.0) * times / rt60)
    tail[:onset] = 0.0
    # Walls absorb highs first: a gentle one-pole low-pass darkens the tail.
    tail = lfilter([0.4], [1.0, -0.6], tail)
    tail *= math.sqrt(10.0 ** (-direct_to_reverb_db / 10.0) / max(float(np.sum(tail**2)), 1e-12))
    response = tail
    response[0] = 1.0
    return response.astype(np.float64)


def reverberate(audio: np.ndarray, response: np.ndarray) -> np.ndarray:
    """`audio` convolved with `response`, cut to the input length (the tail past the end goes)."""
    signal = _mono(audio).astype(np.float32)
    # FFT convolution at a fast transform length long enough that nothing wraps around into
    # the kept part; float32 is plenty for audio and twice as fast.
    size = fft.next_fast_len(len(signal) + len(response) - 1, real=True)
    spectrum = fft.rfft(signal, size) * fft.rfft(response.astype(np.float32), size)
    wet = fft.irfft(spectrum, size)[: len(signal)].astype(np.float64)
    # Keep the loudness of the dry signal: reverb should colour, not level.
    dry_power, wet_power = float(np.mean(signal.astype(np.float64) ** 2)), float(np.mean(wet**2))
    if wet_power > 0.0:
        wet *= math.sqrt(dry_power / wet_power)
    return wet.astype(np.float32)


def add_noise(
    audio: np.ndarray, snr_db: float, colour: str, rng: np.random.Generator
) -> np.ndarray:
    """`audio` plus white or pink noise whose power is `snr_db` below the clip's mean power."""
    if colour not in NOISE_COLOURS:
        raise BodyLanguageError(f"unknown noise colour {colour!r}; expected one of {NOISE_COLOURS}")
    signal = _mono(audio).astype(np.float64)
    if colour == "pink":
        # Shaped at a fast transform length and cut to size (an awkward length costs 10x).
        size = fft.next_fast_len(len(signal), real=True)
        spectrum = fft.rfft(rng.standard_normal(size))
        spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum), dtype=np.float64), 1.0))  # 1/f
        noise = fft.irfft(spectrum, size)[: len(signal)]
    else:
        noise = rng.standard_normal(len(signal))
    signal_power = float(np.mean(signal**2))
    noise_power = float(np.mean(noise**2))
    if signal_power == 0.0 or noise_power == 0.0:
        return signal.astype(np.float32)
    noise *= math.sqrt(signal_power / noise_power / 10.0 ** (snr_db / 10.0))
    return (signal + noise).astype(np.float32)


def change_level(audio: np.ndarray, gain_db: float) -> np.ndarray:
    """`audio` scaled by `gain_db`; if that peaks above 0.98 the whole clip is scaled down to it."""
    signal = _mono(audio).astype(np.float64) * 10.0 ** (gain_db / 20.0)
    peak = float(np.max(np.abs(signal))) if signal.size else 0.0
    if peak > PEAK_CEILING:
        signal *= PEAK_CEILING / peak
    return signal.astype(np.float32)


def resample_to(audio: np.ndarray, sample_rate_in: int, sample_rate_out: int) -> np.ndarray:
    """`audio` at another rate with a zero-phase polyphase filter (no delay), float32."""
    for name, rate in (("input", sample_rate_in), ("output", sample_rate_out)):
        if int(rate) != rate or rate <= 0:
            raise BodyLanguageError(
                f"{name} sample rate must be a positive whole number, got {rate}"
            )
    signal = _mono(audio)
    if sample_rate_in == sample_rate_out:
        return signal.astype(np.float32, copy=True)
    common = math.gcd(int(sample_rate_in), int(sample_rate_out))
    up, down = int(sample_rate_out) // common, int(sample_rate_in) // common
    return resample_poly(signal.astype(np.float64), up, down).astype(np.float32)


def _mono(audio: np.ndarray) -> np.ndarray:
    signal = np.asarray(audio)
    if signal.ndim != 1:
        raise BodyLanguageError(f"audio must be mono with shape (N,), got shape {signal.shape}")
    if not np.issubdtype(signal.dtype, np.floating):
        raise BodyLanguageError(f"audio must be floating point in [-1, 1], got {signal.dtype}")
    if not np.isfinite(signal).all():
        raise BodyLanguageError("audio holds NaN or infinite samples")
    return signal
