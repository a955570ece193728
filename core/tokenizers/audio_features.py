"""Frame-level audio features at 25 Hz: log-mel plus prosody, from audio at any rate and level.

One feature frame per 40 ms of input (640 samples at the 16 kHz working rate), frame i covering
[i/25, (i+1)/25) s, so a clip of d seconds gives exactly ceil(d * 25) frames. Every clip goes
through the same front end first: channels mixed down, resampled to 16 kHz, rumble removed, then
scaled to one gated loudness, so the same speech recorded louder, quieter, in stereo or at another
rate lands on (nearly) the same features.

Per frame: `n_mels` log-mel bands (mean of four 10 ms sub-frames with 25 ms windows), then four
prosody channels: energy (dB relative to the normalised level), log-f0 in octaves relative to the
clip's median voiced pitch (0 when unvoiced), voicing probability (YIN periodicity), and onset
strength (positive spectral flux of the log-mel sub-frames, the frame's maximum).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import butter, resample_poly, sosfilt

from core.errors import BodyLanguageError
from core.validate import whole_sample_rate

SAMPLE_RATE = 16000
FRAME_RATE = 25
HOP = SAMPLE_RATE // FRAME_RATE  # 640 samples per frame
SUBFRAMES = 4  # 10 ms sub-frames per frame for the spectrum
SUB_HOP = HOP // SUBFRAMES  # 160
WINDOW = 400  # 25 ms analysis window for the spectrum
N_FFT = 512

TARGET_DB = -23.0  # gated mean power after normalisation, dB re full scale
MAX_GAIN_DB = 60.0  # never lift near-silence by more than this
ABSOLUTE_GATE_DB = -70.0  # BS.1770's absolute gate: blocks quieter than this are not speech
RELATIVE_GATE_DB = -10.0  # and blocks 10 dB below the ungated mean do not set the level either
POWER_FLOOR = 1e-9  # -90 dB re full scale: below quantisation noise of the normalised signal

# The mel bank stops below 8 kHz: resampling filters roll off differently near Nyquist, and
# features there would tell a 44.1 kHz recording from a 16 kHz one.
MEL_FMIN, MEL_FMAX = 60.0, 7000.0

F0_MIN, F0_MAX = 50.0, 500.0
YIN_WINDOW = 640  # integration window: two periods of the lowest pitch
YIN_MIN_LAG = int(SAMPLE_RATE / F0_MAX)  # 32
YIN_MAX_LAG = int(math.ceil(SAMPLE_RATE / F0_MIN))  # 320
YIN_THRESHOLD = 0.15  # first dip of the normalised difference below this is the period
VOICED_PERIODICITY = 0.6  # voicing probability above which a frame counts as voiced
SILENCE_DB = -50.0  # frames this far below the normalised level are unvoiced whatever YIN says

PROSODY_NAMES = ("energy_db", "log_f0", "voicing", "onset")
_CHUNK_FRAMES = 1500  # frames (60 s) per spectrum / pitch block: memory stays flat on long clips
_CHUNK_BLOCKS = 600  # 100 ms loudness blocks per block of squares


@dataclass(frozen=True)
class PreparedAudio:
    """Audio after the common front end: mono, 16 kHz, normalised, `frames` * 640 samples."""

    samples: np.ndarray  # float32 (frames * HOP,)
    frames: int
    bandwidth: float  # Hz of real content: half the source rate, at most 8 kHz

    def band_mask(self, n_mels: int) -> np.ndarray:
        """(n_mels,) bool: mel bands that lie inside the source's bandwidth.

        A band whose upper edge passes 90 % of the source's Nyquist frequency holds only the
        resampler's roll-off, not the speech; it says nothing about what was said.
        """
        return _mel_edges(n_mels)[2:] <= 0.9 * self.bandwidth


@dataclass(frozen=True)
class Prosody:
    """Per-frame prosody of one clip at 25 Hz (all arrays (N,))."""

    energy_db: np.ndarray  # frame power in dB relative to the normalised level
    f0: np.ndarray  # Hz, 0 where unvoiced
    voicing: np.ndarray  # YIN periodicity in [0, 1], 0 in silence
    onset: np.ndarray  # positive spectral flux, mean dB rise per band

    @property
    def log_f0(self) -> np.ndarray:
        """log2(f0) minus the clip's median voiced log2(f0); 0 where unvoiced."""
        voiced = self.f0 > 0
        out = np.zeros_like(self.f0)
        if voiced.any():
            logs = np.log2(self.f0[voiced])
            out[voiced] = logs - np.median(logs)
        return out


def frame_count(num_samples: int, sample_rate: int) -> int:
    """ceil(duration * 25) in exact integer arithmetic: the number of frames (and units)."""
    return -(-int(num_samples) * FRAME_RATE // int(sample_rate))


def prepare_audio(audio: np.ndarray, sample_rate: int) -> PreparedAudio:
    """Mono 16 kHz audio at the target loudness, zero-padded to whole frames.

    `audio` is (N,) or (N, channels) (a (channels, N) array with fewer rows than columns is
    taken as channels-first). Raises BodyLanguageError for empty, non-finite or badly shaped
    input and for rates outside 8-192 kHz.
    """
    mono = _mono(audio)
    rate = whole_sample_rate(sample_rate)
    frames = frame_count(mono.size, rate)
    if rate != SAMPLE_RATE:
        common = math.gcd(rate, SAMPLE_RATE)
        mono = resample_poly(mono, SAMPLE_RATE // common, rate // common)
    mono = sosfilt(_highpass(), mono).astype(np.float32)
    mono = normalise_loudness(mono)
    padded = np.zeros(frames * HOP, dtype=np.float32)
    keep = min(mono.size, padded.size)
    padded[:keep] = mono[:keep]
    return PreparedAudio(padded, frames, min(rate, SAMPLE_RATE) / 2.0)


def normalise_loudness(audio: np.ndarray) -> np.ndarray:
    """`audio` (16 kHz) scaled so its gated mean power is TARGET_DB; silence stays silence.

    Gating as in BS.1770 (400 ms blocks every 100 ms, absolute then relative gate) so that
    pauses between phrases do not make speech with pauses louder than speech without.
    """
    audio = np.asarray(audio, dtype=np.float32)
    block = SAMPLE_RATE // 10
    whole = audio.size // block
    if whole >= 1:
        blocks = audio[: whole * block].reshape(whole, block)
        short = np.concatenate([
            np.square(blocks[i : i + _CHUNK_BLOCKS], dtype=np.float64).mean(axis=1)
            for i in range(0, whole, _CHUNK_BLOCKS)
        ])
        span = min(4, whole)
        powers = np.convolve(short, np.ones(span) / span, mode="valid")
    else:
        powers = np.array([np.square(audio, dtype=np.float64).mean()])
    level = _gated_power(powers)
    if level <= 0.0:
        return audio  # digital silence: nothing to scale
    gain_db = min(TARGET_DB - 10.0 * math.log10(level), MAX_GAIN_DB)
    return audio * np.float32(10.0 ** (gain_db / 20.0))


def _gated_power(powers: np.ndarray) -> float:
    loud = powers[powers > 10.0 ** (ABSOLUTE_GATE_DB / 10.0)]
    if loud.size == 0:
        return float(powers.mean())  # a very quiet recording: use what there is
    relative = loud.mean() * 10.0 ** (RELATIVE_GATE_DB / 10.0)
    return float(loud[loud > relative].mean())


def log_mel_subframes(audio: np.ndarray, frames: int, n_mels: int) -> np.ndarray:
    """Log-mel power in dB (re full scale) of the 4*frames 10 ms sub-frames, (4*frames, n_mels).

    Sub-frame j is centred on sample 160*j + 80, so four consecutive sub-frames tile one frame.
    """
    count = frames * SUBFRAMES
    left = WINDOW // 2 - SUB_HOP // 2
    right = (count - 1) * SUB_HOP + SUB_HOP // 2 + WINDOW // 2 - audio.size
    padded = np.pad(audio.astype(np.float32), (left, max(right, 0)))
    windows = sliding_window_view(padded, WINDOW)[::SUB_HOP][:count]
    window = _hann()
    # Scaled so band powers sum to the signal's mean square: dB then reads against full scale.
    scale = np.float32(2.0 / (N_FFT * float(window @ window)))
    bank = _mel_bank(n_mels)
    out = np.empty((count, n_mels), dtype=np.float32)
    for start in range(0, count, _CHUNK_FRAMES * SUBFRAMES):  # bounds memory on long clips
        stop = min(start + _CHUNK_FRAMES * SUBFRAMES, count)
        # float32 FFTs (scipy keeps the precision; numpy would promote) are four times faster.
        spectrum = scipy.fft.rfft(windows[start:stop] * window, n=N_FFT, axis=1)
        mel = (spectrum.real**2 + spectrum.imag**2) * scale @ bank
        out[start:stop] = 10.0 * np.log10(np.maximum(mel, POWER_FLOOR))
    return out


def onset_strength(log_mel: np.ndarray, frames: int, bands: np.ndarray | None = None) -> np.ndarray:
    """Positive spectral flux per frame (N,): the largest mean per-band dB rise among its
    sub-frames and across the boundary into it, over the `bands` given (default all)."""
    if bands is not None:
        log_mel = log_mel[:, bands]
    flux = np.zeros(log_mel.shape[0], dtype=np.float32)
    if log_mel.shape[0] > 1 and log_mel.shape[1]:
        flux[1:] = np.maximum(np.diff(log_mel, axis=0), 0.0).mean(axis=1)
    return flux.reshape(frames, SUBFRAMES).max(axis=1)


def frame_energy_db(audio: np.ndarray, frames: int) -> np.ndarray:
    """Mean power of each 40 ms frame in dB relative to the normalised level, (N,)."""
    power = np.square(audio.reshape(frames, HOP), dtype=np.float64).mean(axis=1)
    return (10.0 * np.log10(np.maximum(power, POWER_FLOOR)) - TARGET_DB).astype(np.float32)


def track_pitch(audio: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """YIN pitch per frame of normalised 16 kHz audio: (f0 in Hz, 0 where unvoiced; periodicity).

    The analysis window is centred on the frame centre. The period is the first dip of the
    cumulative-mean-normalised difference below YIN_THRESHOLD (the global minimum if none is),
    refined by parabolic interpolation; periodicity is 1 minus the normalised difference there.
    """
    span = YIN_WINDOW + YIN_MAX_LAG + 1
    left = span // 2 - HOP // 2
    padded = np.pad(audio.astype(np.float32), (left, span))
    windows = sliding_window_view(padded, span)[::HOP][:frames]
    f0 = np.empty(frames, dtype=np.float32)
    periodicity = np.empty(frames, dtype=np.float32)
    for start in range(0, frames, _CHUNK_FRAMES):  # bounds memory on long clips
        stop = min(start + _CHUNK_FRAMES, frames)
        f0[start:stop], periodicity[start:stop] = _yin(windows[start:stop])
    return f0, periodicity


def _yin(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f0, periodicity) of each row of `windows` (YIN_WINDOW + YIN_MAX_LAG + 1 samples)."""
    frames, span = windows.shape
    # Centre each window: a DC offset would otherwise read as periodicity at every lag.
    windows = windows - windows.mean(axis=1, keepdims=True)
    lags = YIN_MAX_LAG + 1
    size = 1 << (span - 1).bit_length()
    head = scipy.fft.rfft(windows[:, :YIN_WINDOW], n=size, axis=1)
    full = scipy.fft.rfft(windows, n=size, axis=1)
    cross = scipy.fft.irfft(np.conj(head) * full, n=size, axis=1)[:, :lags]
    # Energies in float64: the difference below subtracts nearly equal terms for clean tones.
    cumulative = np.concatenate(
        [np.zeros((frames, 1)), np.cumsum(np.square(windows, dtype=np.float64), axis=1)], axis=1
    )
    energy_at = cumulative[:, YIN_WINDOW : YIN_WINDOW + lags] - cumulative[:, :lags]
    difference = np.maximum(energy_at[:, :1] + energy_at - 2.0 * cross, 0.0)
    running = np.cumsum(difference[:, 1:], axis=1) / np.arange(1, lags)
    cmnd = np.ones_like(difference)
    with np.errstate(divide="ignore", invalid="ignore"):
        cmnd[:, 1:] = np.where(running > 0, difference[:, 1:] / running, 1.0)

    search = cmnd[:, YIN_MIN_LAG : lags - 1]
    before, after = cmnd[:, YIN_MIN_LAG - 1 : lags - 2], cmnd[:, YIN_MIN_LAG + 1 : lags]
    dips = (search < YIN_THRESHOLD) & (search <= before) & (search <= after)
    first_dip = np.argmax(dips, axis=1)
    best = np.where(dips.any(axis=1), first_dip, np.argmin(search, axis=1)) + YIN_MIN_LAG

    rows = np.arange(frames)
    at = cmnd[rows, best]
    lower, upper = cmnd[rows, best - 1], cmnd[rows, np.minimum(best + 1, lags - 1)]
    curvature = lower - 2.0 * at + upper
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curvature > 0, 0.5 * (lower - upper) / curvature, 0.0)
    period = best + np.clip(shift, -0.5, 0.5)
    periodicity = np.clip(1.0 - at, 0.0, 1.0)
    f0 = np.where(periodicity >= VOICED_PERIODICITY, SAMPLE_RATE / period, 0.0)
    return f0, periodicity


def prosody(audio: np.ndarray, sample_rate: int) -> Prosody:
    """Energy, pitch, voicing and onset strength of `audio` at 25 Hz."""
    prepared = prepare_audio(audio, sample_rate)
    n_mels = 64
    sub = log_mel_subframes(prepared.samples, prepared.frames, n_mels)
    return _prosody(prepared, sub, prepared.band_mask(n_mels))


def _prosody(prepared: PreparedAudio, log_mel: np.ndarray, bands: np.ndarray) -> Prosody:
    frames = prepared.frames
    energy = frame_energy_db(prepared.samples, frames)
    f0, periodicity = track_pitch(prepared.samples, frames)
    loud = energy > SILENCE_DB
    voicing = np.where(loud, periodicity, 0.0).astype(np.float32)
    f0 = np.where(loud, f0, 0.0).astype(np.float32)
    return Prosody(energy, f0, voicing, onset_strength(log_mel, frames, bands))


def log_mel_features(audio: np.ndarray, sample_rate: int, n_mels: int = 80) -> np.ndarray:
    """(N, n_mels + 4) float32: frame log-mel (dB) then energy, log-f0, voicing, onset."""
    return frame_features(prepare_audio(audio, sample_rate), n_mels)


def frame_features(
    prepared: PreparedAudio, n_mels: int, pretrained: PretrainedSpeechFeatures | None = None
) -> np.ndarray:
    """(N, D + 4) float32 for audio from `prepare_audio`: the spectral block (log-mel, or the
    pretrained model's hidden states when given) then the four prosody channels."""
    frames = prepared.frames
    sub = log_mel_subframes(prepared.samples, frames, n_mels)
    if pretrained is None:
        spectral = sub.reshape(frames, SUBFRAMES, n_mels).mean(axis=1)
    else:
        spectral = pretrained(prepared.samples, frames)
    rhythm = _prosody(prepared, sub, prepared.band_mask(n_mels))
    return np.concatenate([spectral, prosody_matrix(rhythm)], axis=1)


def prosody_matrix(p: Prosody) -> np.ndarray:
    """The four prosody channels as (N, 4) float32 in PROSODY_NAMES order."""
    return np.stack([p.energy_db, p.log_f0, p.voicing, p.onset], axis=1).astype(np.float32)


# --- helpers ---------------------------------------------------------------------------------

def _mono(audio: np.ndarray) -> np.ndarray:
    try:
        samples = np.asarray(audio, dtype=np.float32)
    except (TypeError, ValueError):
        raise BodyLanguageError(
            f"audio must be a numeric array, got {type(audio).__name__}"
        ) from None
    if samples.ndim not in (1, 2):
        raise BodyLanguageError(
            f"audio must be (samples,) or (samples, channels), got shape {samples.shape}"
        )
    if samples.size == 0:
        raise BodyLanguageError(f"audio holds no samples (zero length, shape {samples.shape})")
    if samples.ndim == 2:
        if samples.shape[0] < samples.shape[1]:
            samples = samples.T  # (channels, N) as torch and librosa hold it
        samples = samples.mean(axis=1)
    if not np.isfinite(samples).all():
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise BodyLanguageError(f"audio holds {bad} NaN or infinite samples")
    return samples


_cache: dict[object, np.ndarray] = {}


def _highpass() -> np.ndarray:
    # Removes DC and rumble, which would otherwise set the loudness of a quiet recording.
    if "highpass" not in _cache:
        _cache["highpass"] = butter(2, 40.0, btype="highpass", fs=SAMPLE_RATE, output="sos")
    return _cache["highpass"]


def _hann() -> np.ndarray:
    if "hann" not in _cache:
        # no zero end points, so all 400 samples count
        _cache["hann"] = np.hanning(WINDOW + 2)[1:-1].astype(np.float32)
    return _cache["hann"]


def _mel_edges(n_mels: int) -> np.ndarray:
    """(n_mels + 2,) Hz: band i rises from edge i, peaks at i + 1 and ends at i + 2 (HTK mel)."""
    low, high = (2595.0 * math.log10(1.0 + hz / 700.0) for hz in (MEL_FMIN, MEL_FMAX))
    return 700.0 * (10.0 ** (np.linspace(low, high, n_mels + 2) / 2595.0) - 1.0)


def _mel_bank(n_mels: int) -> np.ndarray:
    """(N_FFT//2 + 1, n_mels) triangular filters, unit peak, ready to right-multiply power."""
    key = ("mel", n_mels)
    if key not in _cache:
        edges = _mel_edges(n_mels)
        bins = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
        low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
        rising = (bins - low) / (centre - low)
        falling = (high - bins) / (high - centre)
        bank = np.maximum(0.0, np.minimum(rising, falling)).T
        _cache[key] = np.ascontiguousarray(bank, dtype=np.float32)
    return _cache[key]


# --- pretrained speech models ----------------------------------------------------------------

HF_PREFIX = "hf:"
HF_CHUNK_FRAMES = 750  # 30 s per forward pass bounds memory on long clips


class PretrainedSpeechFeatures:
    """Hidden states of a local HuBERT / wav2vec2 model, resampled to the 25 Hz frame grid.

    Loaded with `local_files_only=True` from a folder written by `save_pretrained` (model plus
    feature-extractor config); nothing is downloaded. `layer` 0 is the convolutional front end's
    projection, 1..num_hidden_layers the transformer layers.
    """

    def __init__(self, directory: str | os.PathLike, layer: int) -> None:
        import torch  # noqa: F401 - transformers needs it; imported here to keep log-mel light
        from transformers import AutoFeatureExtractor, AutoModel

        self.directory = Path(directory).expanduser()
        if not self.directory.is_dir():
            raise BodyLanguageError("pretrained speech model folder not found", self.directory)
        try:
            # trust_remote_code=False: a folder asking to run its own code is refused instead of
            # transformers asking [y/N] on stdin, the worker's request pipe. use_safetensors: the
            # weights are never unpickled.
            self.extractor = AutoFeatureExtractor.from_pretrained(
                self.directory, local_files_only=True, trust_remote_code=False
            )
            self.model = AutoModel.from_pretrained(
                self.directory, local_files_only=True, trust_remote_code=False,
                use_safetensors=True,
            )
        except (OSError, ValueError, KeyError) as exc:
            raise BodyLanguageError(
                f"cannot load a speech model and feature extractor from this folder "
                f"(HuBERT or wav2vec2 saved with save_pretrained): {exc}",
                self.directory,
            ) from None
        self.model.eval()
        config = self.model.config
        layers = int(getattr(config, "num_hidden_layers", 0))
        if not 0 <= layer <= layers:
            raise BodyLanguageError(
                f"hidden layer {layer} out of range: the model has layers 0..{layers}",
                self.directory,
            )
        self.layer = layer
        self.dim = int(config.hidden_size)
        strides = list(getattr(config, "conv_stride", ()) or ())
        kernels = list(getattr(config, "conv_kernel", ()) or ())
        self._stride = float(np.prod(strides)) if strides else 0.0
        # Receptive field of the conv stack: where the centre of hidden frame 0 lies.
        field, jump = 1, 1
        for kernel, stride in zip(kernels, strides, strict=False):
            field += (kernel - 1) * jump
            jump *= stride
        self._first_centre = (field - 1) / 2.0

    def __call__(self, prepared: np.ndarray, frames: int) -> np.ndarray:
        """(frames, dim) float32 hidden states for loudness-normalised 16 kHz audio."""
        import torch

        out = np.empty((frames, self.dim), dtype=np.float32)
        for start in range(0, frames, HF_CHUNK_FRAMES):
            stop = min(start + HF_CHUNK_FRAMES, frames)
            chunk = prepared[start * HOP : stop * HOP]
            inputs = self.extractor(
                chunk, sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=False
            )
            with torch.inference_mode():
                result = self.model(inputs["input_values"], output_hidden_states=True)
            hidden = result.hidden_states[self.layer][0].float().numpy()
            out[start:stop] = self._to_frames(hidden, stop - start, chunk.size)
        return out

    def _to_frames(self, hidden: np.ndarray, frames: int, samples: int) -> np.ndarray:
        """Average of the hidden sequence, linearly interpolated, at each frame's quarter points."""
        count = hidden.shape[0]
        stride = self._stride or samples / count
        first = self._first_centre if self._stride else stride / 2.0
        quarters = (np.arange(frames * 2) + 0.5) * (HOP / 2.0)
        position = np.clip((quarters - first) / stride, 0.0, count - 1)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, count - 1)
        weight = (position - low)[:, None].astype(np.float32)
        points = hidden[low] * (1.0 - weight) + hidden[high] * weight
        return points.reshape(frames, 2, -1).mean(axis=1)


def is_pretrained_source(feature_source: str) -> bool:
    return feature_source.startswith(HF_PREFIX)
