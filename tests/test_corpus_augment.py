"""Corpus audio augmentation: measured SNR, RT60, EQ gain and level; no time shift; determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import freqz

from core.corpus.augment import (
    GAIN_RANGE_DB,
    PEAK_CEILING,
    RT60_RANGE_S,
    SNR_RANGE_DB,
    Augmentation,
    Equaliser,
    add_noise,
    augment,
    change_level,
    equalise,
    equaliser_coefficients,
    resample_to,
    reverberate,
    room_impulse_response,
    sample_augmentation,
)
from core.errors import BodyLanguageError

RATE = 22050


def speech_like(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Syllable-like bursts of irregular length and gliding pitch with breath noise, after a
    silent lead-in: aperiodic, so cross-correlation has one clear peak."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    signal = np.zeros(n)
    start = int(0.2 * RATE)
    while start < n:
        length = min(int(rng.uniform(0.08, 0.3) * RATE), n - start)
        t = np.arange(length) / RATE
        f0 = rng.uniform(90, 220) * (1 + rng.uniform(-0.3, 0.3) * t / max(t[-1], 1e-3))
        phase = 2 * np.pi * np.cumsum(f0) / RATE
        buzz = sum(np.sin(k * phase) / k for k in range(1, 25))
        burst = (buzz + 0.3 * rng.standard_normal(length)) * np.hanning(length)
        signal[start:start + length] += rng.uniform(0.3, 1.0) * burst
        start += length + int(rng.uniform(0.02, 0.2) * RATE)
    return (0.5 * signal / np.abs(signal).max()).astype(np.float32)


def lag_of_peak(reference: np.ndarray, processed: np.ndarray, max_lag: int = 2000) -> int:
    """Lag (samples) at which `processed` best matches `reference`: the peak of their
    cross-correlation with phase transform (GCC-PHAT), which weighs all frequencies alike so a
    low-pitched signal's broad correlation lobes cannot pull the peak off the direct path."""
    n = len(reference)
    cross = np.fft.rfft(processed, 2 * n) * np.conj(np.fft.rfft(reference, 2 * n))
    correlation = np.fft.irfft(cross / np.maximum(np.abs(cross), 1e-12), 2 * n)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([correlation[: max_lag + 1], correlation[-max_lag:]])
    return int(lags[np.argmax(values)])


def power_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2)))


def test_noise_lands_at_the_requested_snr():
    clean = speech_like()
    for snr in (20.0, 27.5, 40.0):
        for colour in ("white", "pink"):
            noisy = add_noise(clean, snr, colour, np.random.default_rng(1))
            measured = power_db(clean) - power_db(noisy.astype(np.float64) - clean)
            assert measured == pytest.approx(snr, abs=0.1), (snr, colour)


def test_pink_noise_has_more_low_than_high_energy_and_white_is_flat():
    silent_rate = np.zeros(RATE * 2, np.float32) + 1e-3  # a constant, so the noise dominates
    for colour, expect_tilt in (("white", False), ("pink", True)):
        noise = add_noise(silent_rate, 0.0, colour, np.random.default_rng(2)) - silent_rate
        spectrum = np.abs(np.fft.rfft(noise)) ** 2
        freqs = np.fft.rfftfreq(len(noise), 1 / RATE)
        low = spectrum[(freqs > 100) & (freqs < 500)].mean()
        high = spectrum[(freqs > 4000) & (freqs < 8000)].mean()
        assert (low / high > 5) == expect_tilt, colour


def test_room_response_decays_at_its_rt60_and_keeps_the_direct_path_first():
    for rt60 in RT60_RANGE_S:
        response = room_impulse_response(RATE, rt60, 6.0, np.random.default_rng(3))
        assert np.argmax(np.abs(response)) == 0 and response[0] == 1.0
        tail = response.copy()
        tail[0] = 0.0
        assert np.sum(tail**2) == pytest.approx(10 ** (-6.0 / 10), rel=1e-6)
        # Schroeder backward integration; the slope between -5 and -35 dB gives RT60.
        decay = np.cumsum(tail[::-1] ** 2)[::-1]
        decay_db = 10 * np.log10(decay / decay[0] + 1e-30)
        times = np.arange(len(tail)) / RATE
        fit = (decay_db < -5) & (decay_db > -35)
        slope = np.polyfit(times[fit], decay_db[fit], 1)[0]
        assert -60 / slope == pytest.approx(rt60, rel=0.15)


def test_equaliser_gains_are_what_was_asked():
    checks = (
        (Equaliser("peaking", 1000.0, 6.0, 1.0), {1000.0: 6.0, 20.0: 0.0, 10000.0: 0.0}),
        (Equaliser("low_shelf", 200.0, -6.0, 0.707), {1.0: -6.0, 200.0: -3.0, 10000.0: 0.0}),
        (Equaliser("high_shelf", 4000.0, 4.0, 0.707), {1.0: 0.0, 4000.0: 2.0, 11000.0: 4.0}),
    )
    for equaliser, expected in checks:
        b, a = equaliser_coefficients(equaliser, RATE)
        _, response = freqz(b, a, worN=list(expected), fs=RATE)
        assert 20 * np.log10(np.abs(response)) == pytest.approx(list(expected.values()), abs=0.1)


def test_nothing_shifts_the_timing():
    clean = speech_like()
    delayed = np.concatenate([np.zeros(7, np.float32), clean[:-7]])
    assert lag_of_peak(clean, delayed) == 7  # the probe sees a delay when there is one
    rng = np.random.default_rng(4)
    wet = reverberate(clean, room_impulse_response(RATE, 0.5, 3.0, rng))
    assert len(wet) == len(clean) and lag_of_peak(clean, wet) == 0
    for equaliser in (Equaliser("low_shelf", 300.0, 6.0, 1.4), Equaliser("peaking", 500, -6, 0.5)):
        assert lag_of_peak(clean, equalise(clean, RATE, equaliser)) == 0
    for seed in range(12):
        augmentation = sample_augmentation(np.random.default_rng(seed), 1.0, 1.0, 1.0)
        assert augmentation.rt60 is not None and augmentation.equaliser is not None
        out = augment(clean, RATE, augmentation)
        assert len(out) == len(clean) and lag_of_peak(clean, out) == 0, augmentation


def test_level_change_stays_in_range_and_never_clips():
    clean = speech_like()
    for gain in (-12.0, -6.0, 0.0):
        out = change_level(clean, gain)
        assert power_db(out) - power_db(clean) == pytest.approx(gain, abs=1e-3)
    loud = change_level(clean * 3.0, 0.0)  # peaks at 1.5: must be brought down as a whole
    assert np.abs(loud).max() == pytest.approx(PEAK_CEILING, abs=1e-6)
    assert np.corrcoef(loud, clean)[0, 1] > 0.9999  # scaled, not clipped
    for seed in range(30):
        augmentation = sample_augmentation(np.random.default_rng(seed))
        assert GAIN_RANGE_DB[0] <= augmentation.gain_db <= GAIN_RANGE_DB[1]
        out = augment(clean, RATE, augmentation)
        assert out.dtype == np.float32 and np.abs(out).max() <= PEAK_CEILING + 1e-6
        change = power_db(out) - power_db(clean)
        # Level, plus at most the EQ's +-6 dB and the added noise; never louder than +6 dB.
        assert GAIN_RANGE_DB[0] - 6.5 <= change <= GAIN_RANGE_DB[1] + 6.5, augmentation


def test_sampled_augmentations_stay_in_their_ranges_and_measure_right():
    clean = speech_like()
    seen_snr = []
    for seed in range(40):
        augmentation = sample_augmentation(np.random.default_rng(seed))
        if augmentation.snr_db is None:
            continue
        assert SNR_RANGE_DB[0] <= augmentation.snr_db <= SNR_RANGE_DB[1]
        if augmentation.rt60 is not None:
            assert RT60_RANGE_S[0] <= augmentation.rt60 <= RT60_RANGE_S[1]
        # SNR measured on the pipeline: noise only, no level/EQ/reverb in the way.
        noise_only = Augmentation(None, None, 0.0, augmentation.snr_db,
                                  augmentation.noise_colour, 0.0, augmentation.seed)
        noisy = augment(clean, RATE, noise_only)
        measured = power_db(clean) - power_db(noisy.astype(np.float64) - clean)
        assert SNR_RANGE_DB[0] - 0.1 <= measured <= SNR_RANGE_DB[1] + 0.1
        seen_snr.append(measured)
    assert len(seen_snr) > 20 and np.ptp(seen_snr) > 8  # the draws really vary


def test_same_seed_same_output_and_different_seed_different_output():
    clean = speech_like()
    first = augment(clean, RATE, sample_augmentation(np.random.default_rng(9), 1, 1, 1))
    again = augment(clean, RATE, sample_augmentation(np.random.default_rng(9), 1, 1, 1))
    other = augment(clean, RATE, sample_augmentation(np.random.default_rng(10), 1, 1, 1))
    assert np.array_equal(first, again)
    assert not np.allclose(first, other, atol=1e-3)


def test_resampling_keeps_length_pitch_and_timing():
    t = np.arange(RATE * 2) / RATE
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    tone[RATE] += 0.4  # a click at exactly 1 s
    out = resample_to(tone, RATE, 16000)
    assert out.dtype == np.float32 and len(out) == 32000
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    assert np.fft.rfftfreq(len(out), 1 / 16000)[np.argmax(spectrum)] == pytest.approx(440, abs=1)
    residual = out - 0.5 * np.sin(2 * np.pi * 440 * np.arange(len(out)) / 16000)
    assert abs(int(np.argmax(np.abs(residual[100:-100]))) + 100 - 16000) <= 1
    assert np.array_equal(resample_to(tone, RATE, RATE), tone)


def test_bad_audio_is_refused_with_body_language_errors():
    with pytest.raises(BodyLanguageError, match="mono"):
        change_level(np.zeros((10, 2), np.float32), -3)
    with pytest.raises(BodyLanguageError, match="NaN"):
        add_noise(np.array([0.1, np.nan], np.float32), 30, "white", np.random.default_rng(0))
    with pytest.raises(BodyLanguageError, match="colour"):
        add_noise(np.zeros(10, np.float32), 30, "brown", np.random.default_rng(0))
    with pytest.raises(BodyLanguageError, match="sample rate"):
        resample_to(np.zeros(10, np.float32), 22050, 0)
    with pytest.raises(BodyLanguageError, match="equaliser"):
        equaliser_coefficients(Equaliser("peaking", 20000.0, 3.0, 1.0), RATE)
    with pytest.raises(BodyLanguageError, match="floating"):
        change_level(np.zeros(10, np.int16), -3)
