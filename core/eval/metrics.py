"""Evaluation metrics, numpy only, each written against the definition the field uses.

Beat consistency (BC) follows EMAGE's evaluation code (PantoMatrix, `alignment` class of
`utils/metric.py`, called as `alignment(0.3, 7, avg_vel, upper_body=[3, 6, 9, 12 ... 21])` with
`align_mask = 60` frames), which is how BEAT2 numbers (and the Language of Motion's table) are made:

- audio beats are onsets of the speech: peaks of librosa's onset strength (spectral flux of a
  128-band log-mel spectrogram, n_fft 2048, hop 512) picked as in `librosa.onset.onset_detect`;
- motion beats are found per upper-body joint (SMPL-X joints 3, 6, 9, 12-21): local minima
  (`argrelextrema`, order 7 frames) of the joint's speed divided by its mean speed in the training
  data, where the joint moves (normalised speed above 0.3; a joint at rest has no beats);
- the first and last 2 s of each clip are skipped;
- per joint, BC = mean over **audio onsets** of exp(-d^2 / (2 sigma^2)), d = distance in seconds
  from the onset to the nearest motion beat of that joint, sigma = 0.3 s; the clip's BC is the mean
  over the upper-body joints. That is EMAGE's direction (`GAHR(pose_beats, audio_beats)` loops over
  the audio beats); the older AIST++/Bailando "beat align" score loops over the motion beats
  instead and is available as `direction="motion_to_audio"`.

Where we differ, and why: onsets quieter than -60 dBFS are dropped (librosa normalises the onset
envelope per clip, so a silent room would otherwise yield "onsets" from its noise). EMAGE keeps a
minimum when `speed > 0.3` at the index of the minimum within the window looked up in the
whole-clip mask, i.e. 2 s earlier (a window/clip index mix-up); a strict reading (speed at the
minimum itself above 0.3) would drop every stroke that comes to a full stop. We keep a minimum
when the joint's normalised speed exceeds 0.3 somewhere within +-order frames of it: the joint is
moving there, so jitter of a joint at rest never counts, but a stop between strokes does.

The other metrics: Fréchet distance between Gaussian fits of features (FGD); L1 diversity of joint
positions across clips (the Language of Motion paper's "Div"); face channel MAE; lip-sync
correlation of jaw opening with the audio's RMS envelope; edit consistency (kept channels
bit-identical, speed at the edit seams relative to the median speed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.linalg
import scipy.ndimage
import scipy.signal

from core.errors import BodyLanguageError
from core.motion import Motion
from core.skeleton import JOINT_INDEX, PART_JOINTS, PARTS, forward_kinematics

BC_SIGMA_S = 0.3
BC_SKIP_S = 2.0
BC_ORDER = 7
BC_SPEED_THRESHOLD = 0.3
UPPER_BODY_JOINTS: tuple[int, ...] = PART_JOINTS["upper"]
ONSET_N_FFT = 2048
ONSET_HOP = 512
ONSET_N_MELS = 128
ONSET_DELTA = 0.07  # librosa onset_detect's threshold over the local mean (normalised envelope)
ONSET_MIN_LEVEL_DB = -60.0
LIP_SYNC_MAX_LAG = 2
_JAW = JOINT_INDEX["jaw"]


# --- beat consistency ---------------------------------------------------------------------------


def _mel_filterbank(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters on the Slaney mel scale, area-normalised."""

    def hz_to_mel(hz: np.ndarray) -> np.ndarray:
        hz = np.asarray(hz, np.float64)
        linear = hz / (200.0 / 3)
        log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(hz >= 1000.0, log_part, linear)

    def mel_to_hz(mel: np.ndarray) -> np.ndarray:
        linear = mel * (200.0 / 3)
        log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
        return np.where(mel >= 15.0, log_part, linear)

    bins = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2))
    lower = (bins[None, :] - edges[:-2, None]) / np.maximum(np.diff(edges)[:-1, None], 1e-10)
    upper = (edges[2:, None] - bins[None, :]) / np.maximum(np.diff(edges)[1:, None], 1e-10)
    weights = np.maximum(0.0, np.minimum(lower, upper))
    return weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def _check_audio(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    samples = np.asarray(audio, dtype=np.float64)
    if samples.ndim != 1 or samples.size == 0:
        raise BodyLanguageError(f"audio must be mono (N,) with N > 0, got shape {samples.shape}")
    if not (isinstance(sample_rate, int | float) and sample_rate > 0):
        raise BodyLanguageError(f"sample rate must be positive, got {sample_rate!r}")
    if not np.isfinite(samples).all():
        raise BodyLanguageError("audio holds NaN or infinite samples")
    return samples


def onset_strength(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """librosa-style onset strength: (envelope (F,), frame level in dBFS (F,)), hop 512.

    Mean over mel bands of the positive first difference of the log-mel power, shifted by
    `1 + n_fft // (2 hop)` frames so an onset lines up with its frame as librosa does.
    """
    samples = _check_audio(audio, sample_rate)
    pad = ONSET_N_FFT // 2
    padded = np.pad(samples, (pad, pad))
    frames = 1 + (len(padded) - ONSET_N_FFT) // ONSET_HOP
    frames = max(frames, 1)
    if len(padded) < ONSET_N_FFT:
        padded = np.pad(padded, (0, ONSET_N_FFT - len(padded)))
    index = np.arange(ONSET_N_FFT)[None, :] + ONSET_HOP * np.arange(frames)[:, None]
    windows = padded[index] * scipy.signal.get_window("hann", ONSET_N_FFT, fftbins=True)
    power = np.abs(np.fft.rfft(windows, axis=1)) ** 2
    mel = power @ _mel_filterbank(int(sample_rate), ONSET_N_FFT, ONSET_N_MELS).T
    log_mel = 10.0 * np.log10(np.maximum(mel, 1e-10))
    log_mel = np.maximum(log_mel, log_mel.max() - 80.0)
    flux = np.maximum(0.0, np.diff(log_mel, axis=0)).mean(axis=1)
    shift = 1 + ONSET_N_FFT // (2 * ONSET_HOP)
    envelope = np.concatenate([np.zeros(shift), flux])[:frames]
    level = samples[np.clip(index - pad, 0, len(samples) - 1)]
    rms = np.sqrt(np.mean(level**2, axis=1))
    return envelope, 20.0 * np.log10(np.maximum(rms, 1e-10))


def audio_onsets(
    audio: np.ndarray, sample_rate: int, min_level_db: float = ONSET_MIN_LEVEL_DB
) -> np.ndarray:
    """Onset times in seconds, as `librosa.onset.onset_detect(y, sr, hop_length=512)` picks them.

    The envelope is normalised to [0, 1]; a frame is an onset when it is the largest within
    +-30 ms (at least one frame each side), exceeds the mean of [-100 ms, +100 ms] by 0.07, and
    the audio there is louder than `min_level_db`.
    """
    envelope, level_db = onset_strength(audio, sample_rate)
    envelope = envelope - envelope.min()
    if envelope.max() <= 0:
        return np.zeros(0)
    envelope = envelope / envelope.max()
    frames_per_s = sample_rate / ONSET_HOP
    max_radius = max(1, int(0.03 * frames_per_s))
    avg_before = max(1, int(0.10 * frames_per_s))
    avg_after = int(0.10 * frames_per_s) + 1
    onsets = []
    for n in range(len(envelope)):
        local = envelope[max(0, n - max_radius): n + max_radius + 1]
        mean = envelope[max(0, n - avg_before): n + avg_after].mean()
        if envelope[n] >= local.max() and envelope[n] >= mean + ONSET_DELTA:
            if level_db[n] >= min_level_db and (not onsets or n > onsets[-1]):
                onsets.append(n)
    return np.asarray(onsets, dtype=np.float64) * ONSET_HOP / sample_rate


def joint_speeds(positions: np.ndarray, fps: float) -> np.ndarray:
    """(T, J) joint speeds in m/s; central differences inside, one-sided at the ends (EMAGE)."""
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[-1] != 3 or positions.shape[0] < 2:
        raise BodyLanguageError(
            f"joint positions must be (T >= 2, J, 3), got shape {positions.shape}"
        )
    return np.linalg.norm(np.gradient(positions, 1.0 / fps, axis=0), axis=-1)


def mean_joint_speeds(clips: Sequence[np.ndarray], fps: float) -> np.ndarray:
    """(J,) mean speed of each joint over all frames of `clips` (EMAGE's `avg_vel`)."""
    if not clips:
        raise BodyLanguageError("mean joint speeds need at least one clip")
    speeds = np.concatenate([joint_speeds(clip, fps) for clip in clips], axis=0)
    return speeds.mean(axis=0)


def kinematic_beats(
    positions: np.ndarray,
    fps: float,
    joints: Sequence[int] = UPPER_BODY_JOINTS,
    mean_speed: np.ndarray | None = None,
    order: int = BC_ORDER,
    threshold: float = BC_SPEED_THRESHOLD,
) -> list[np.ndarray]:
    """Per joint in `joints`: frame indices of its motion beats.

    A beat is a strict local minimum of the joint's normalised speed over +-`order` frames
    (scipy's `argrelextrema`, as EMAGE) with normalised speed above `threshold` somewhere within
    +-`order` frames (the joint is moving there; see the module docstring).
    Speeds are normalised by `mean_speed` (per joint of the full skeleton; default: this clip's
    own mean speed per joint).
    """
    speeds = joint_speeds(positions, fps)
    if mean_speed is None:
        mean_speed = speeds.mean(axis=0)
    mean_speed = np.asarray(mean_speed, dtype=np.float64)
    if mean_speed.shape != (speeds.shape[1],):
        raise BodyLanguageError(
            f"mean speeds have shape {mean_speed.shape}, expected ({speeds.shape[1]},)"
        )
    # Compared at 1e-6 resolution: round-off along a steady movement must not make beats.
    normalised = np.round(speeds / np.maximum(mean_speed, 1e-8), 6)
    beats = []
    for joint in joints:
        track = normalised[:, joint]
        (minima,) = scipy.signal.argrelextrema(track, np.less, order=order)
        moving = scipy.ndimage.maximum_filter1d(track, size=2 * order + 1, mode="nearest")
        beats.append(minima[moving[minima] > threshold])
    return beats


def gaussian_beat_alignment(
    reference: np.ndarray, other: np.ndarray, sigma: float = BC_SIGMA_S
) -> float:
    """Mean over `reference` times of exp(-d^2 / 2 sigma^2), d = distance to the nearest `other`.

    EMAGE's `GAHR(a=other, b=reference)`. With no `other` times every term is 0; with no
    `reference` times the score is undefined (NaN).
    """
    reference = np.asarray(reference, dtype=np.float64).reshape(-1)
    other = np.asarray(other, dtype=np.float64).reshape(-1)
    if reference.size == 0:
        return math.nan
    if other.size == 0:
        return 0.0
    nearest = np.min(np.abs(reference[:, None] - other[None, :]), axis=1)
    return float(np.mean(np.exp(-(nearest**2) / (2.0 * sigma**2))))


def beat_consistency(
    positions: np.ndarray,
    fps: float,
    audio: np.ndarray,
    sample_rate: int,
    mean_speed: np.ndarray | None = None,
    sigma: float = BC_SIGMA_S,
    skip: float = BC_SKIP_S,
    joints: Sequence[int] = UPPER_BODY_JOINTS,
    direction: str = "audio_to_motion",
) -> float:
    """BC of one clip (see the module docstring); NaN when the clip is too short or has no onset.

    `positions` are (T, 55, 3) joint positions (root translation removed, as EMAGE poses SMPL-X
    with zero translation); `audio` is the clip's mono audio from the same start time.
    """
    if direction not in ("audio_to_motion", "motion_to_audio"):
        raise BodyLanguageError(
            f"unknown BC direction {direction!r}; expected 'audio_to_motion' or 'motion_to_audio'"
        )
    positions = np.asarray(positions, dtype=np.float64)
    frames = positions.shape[0]
    skip_frames = int(round(skip * fps))
    if frames - 2 * skip_frames < 2 * BC_ORDER + 1:
        return math.nan
    window = slice(skip_frames, frames - skip_frames)
    speeds_reference = mean_speed
    if speeds_reference is None:
        speeds_reference = joint_speeds(positions, fps).mean(axis=0)
    beats = kinematic_beats(positions[window], fps, joints, speeds_reference)
    duration = (frames - 2 * skip_frames) / fps
    onsets = audio_onsets(audio, sample_rate) - skip
    onsets = onsets[(onsets >= 0) & (onsets < duration)]
    if onsets.size == 0:
        return math.nan
    scores = []
    for joint_beats in beats:
        motion_times = joint_beats / fps
        if direction == "audio_to_motion":
            scores.append(gaussian_beat_alignment(onsets, motion_times, sigma))
        else:
            score = gaussian_beat_alignment(motion_times, onsets, sigma)
            scores.append(0.0 if math.isnan(score) else score)
    return float(np.mean(scores))


# --- FGD ----------------------------------------------------------------------------------------


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of (N, D) features; N >= 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise BodyLanguageError(
            f"a Gaussian fit needs (N >= 2, D) features, got shape {features.shape}"
        )
    if not np.isfinite(features).all():
        raise BodyLanguageError("features hold NaN or infinite values")
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(
        features.shape[1], features.shape[1]
    )


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        root = scipy.linalg.sqrtm(matrix)
    return np.asarray(root[0] if isinstance(root, tuple) else root)


def frechet_distance_from_stats(
    mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray,
    eps: float = 1e-6,
) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), never negative.

    When the product is singular (fewer samples than dimensions) its square root is taken of
    the covariances offset by `eps` I, as pytorch-fid does; a tiny imaginary part from round-off
    is dropped.
    """
    mean_a, mean_b = np.atleast_1d(mean_a), np.atleast_1d(mean_b)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    if mean_a.shape != mean_b.shape or cov_a.shape != cov_b.shape:
        raise BodyLanguageError(
            f"feature statistics differ in size: {mean_a.shape} vs {mean_b.shape}"
        )
    diff = mean_a - mean_b
    root = _sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():
        offset = np.eye(cov_a.shape[0]) * eps
        root = _sqrtm((cov_a + offset) @ (cov_b + offset))
    root = np.real(root)
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(root)
    return float(max(value, 0.0))


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussian fits of two (N, D) feature sets (FGD, FID)."""
    return frechet_distance_from_stats(*gaussian_fit(features_a), *gaussian_fit(features_b), eps)


# --- diversity ----------------------------------------------------------------------------------


def _stack_positions(clips: Sequence[np.ndarray]) -> list[np.ndarray]:
    out = []
    for clip in clips:
        array = np.asarray(clip, dtype=np.float64)
        if array.ndim == 3:
            array = array.reshape(array.shape[0], -1)
        if array.ndim != 2 or array.shape[0] == 0:
            raise BodyLanguageError(
                f"each clip must be (T, J, 3) or (T, D) with T > 0, got shape {np.shape(clip)}"
            )
        out.append(array)
    widths = {array.shape[1] for array in out}
    if len(widths) > 1:
        raise BodyLanguageError(f"clips differ in width: {sorted(widths)}")
    return out


def l1_diversity(clips: Sequence[np.ndarray]) -> float:
    """Mean pairwise L1 distance between clips of joint positions (the paper's "Div").

    For each pair of clips the per-frame L1 distance (summed over all joint coordinates) is
    averaged over their common frames (the shorter clip's length); the result is the mean over
    all pairs. Identical clips give 0. Needs two clips or more.
    """
    arrays = _stack_positions(clips)
    if len(arrays) < 2:
        raise BodyLanguageError("diversity needs at least two clips")
    total, pairs = 0.0, 0
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            frames = min(arrays[i].shape[0], arrays[j].shape[0])
            total += float(np.abs(arrays[i][:frames] - arrays[j][:frames]).sum(axis=1).mean())
            pairs += 1
    return total / pairs


def emage_l1_variation(clips: Sequence[np.ndarray]) -> float:
    """EMAGE's `L1div`: per clip, L1 deviation of every frame from the clip's mean pose (summed
    over coordinates), averaged over all frames of all clips; for comparison with BEAT2 papers."""
    arrays = _stack_positions(clips)
    total = sum(float(np.abs(a - a.mean(axis=0)).sum()) for a in arrays)
    return total / sum(a.shape[0] for a in arrays)


# --- face ---------------------------------------------------------------------------------------


def face_mae(predicted: Motion, reference: Motion) -> float:
    """Mean absolute error of the face channels over the common frames (same face space)."""
    if predicted.face_space != reference.face_space:
        raise BodyLanguageError(
            f"face spaces differ: {predicted.face_space!r} vs {reference.face_space!r}"
        )
    frames = min(predicted.num_frames, reference.num_frames)
    return float(np.abs(predicted.face[:frames] - reference.face[:frames]).mean())


def jaw_opening(motion: Motion) -> np.ndarray:
    """(T,) jaw opening: the jaw joint's rotation about +X (radians; + drops the chin).

    Every face space carries the jaw as a joint (BEAT2's FLAME faces and our ARKit faces both
    drive it), so one definition serves both.
    """
    return motion.poses[:, _JAW, 0].astype(np.float64)


def audio_envelope(audio: np.ndarray, sample_rate: int, frames: int, fps: float) -> np.ndarray:
    """(frames,) RMS of the audio in a window of two frame periods centred on each frame's time."""
    samples = _check_audio(audio, sample_rate)
    half = max(1, int(round(sample_rate / fps)))
    centres = np.round(np.arange(frames) * sample_rate / fps).astype(np.int64)
    energy = np.concatenate([[0.0], np.cumsum(samples**2)])
    lo = np.clip(centres - half, 0, len(samples))
    hi = np.clip(centres + half, 0, len(samples))
    counts = np.maximum(hi - lo, 1)
    return np.sqrt((energy[hi] - energy[lo]) / counts)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    norm = math.sqrt(float(a @ a) * float(b @ b))
    return 0.0 if norm < 1e-12 else float(a @ b) / norm


def lip_sync_correlation(
    jaw: np.ndarray, envelope: np.ndarray, max_lag: int = LIP_SYNC_MAX_LAG
) -> float:
    """Pearson correlation of jaw opening with the audio envelope, best over lags of
    -max_lag..max_lag frames (a jaw that leads or trails the sound by a frame or two still counts
    as in sync). A motionless jaw or a silent clip scores 0."""
    jaw = np.asarray(jaw, dtype=np.float64).reshape(-1)
    envelope = np.asarray(envelope, dtype=np.float64).reshape(-1)
    frames = min(len(jaw), len(envelope))
    if frames < 2 * max_lag + 3:
        raise BodyLanguageError(f"lip sync needs more than {2 * max_lag + 2} frames, got {frames}")
    jaw, envelope = jaw[:frames], envelope[:frames]
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        # lag > 0: the jaw moves `lag` frames after the sound.
        if lag >= 0:
            score = _pearson(jaw[lag:], envelope[: frames - lag])
        else:
            score = _pearson(jaw[: frames + lag], envelope[-lag:])
        best = max(best, score)
    return best


def motion_lip_sync(motion: Motion, audio: np.ndarray, sample_rate: int) -> float:
    """`lip_sync_correlation` of a Motion's jaw with its audio at the motion's frame rate."""
    envelope = audio_envelope(audio, sample_rate, motion.num_frames, motion.fps)
    return lip_sync_correlation(jaw_opening(motion), envelope)


# --- edit consistency ---------------------------------------------------------------------------


def _part_channel_mask(motion: Motion, parts: Sequence[str]) -> tuple[np.ndarray, bool, bool]:
    """(55,) joints belonging to `parts`, and whether the face channels / root belong to them."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise BodyLanguageError(f"unknown body parts {unknown}; expected some of {PARTS}")
    joints = np.zeros(motion.poses.shape[1], dtype=bool)
    for part in parts:
        joints[list(PART_JOINTS[part])] = True
    return joints, "face" in parts, "lower" in parts


def edit_consistency(
    original: Motion,
    edited: Motion,
    edited_parts: Sequence[str],
    frames: tuple[int, int] | None = None,
) -> dict[str, float]:
    """How well an edit kept what it was told to keep and joined what it changed.

    `edited_parts` were regenerated over `frames` = [start, stop) (all frames when None);
    everything else must be bit-identical. Returns:
    - `kept_identical`: fraction of kept values (rotations, face channels, root) that are
      bit-identical to the original;
    - `seam_speed_ratio`: mean joint speed across each edit boundary (the frame pair that
      straddles `start` and `stop`) divided by the median per-frame mean joint speed of the edited
      motion; the worst boundary counts. NaN when the edit has no temporal boundary inside the
      clip (a whole-clip part edit). A seamless edit stays near 1; the issue's bound is 1.5.
    """
    if edited.num_frames != original.num_frames:
        raise BodyLanguageError(
            f"edited motion has {edited.num_frames} frames, the original {original.num_frames}"
        )
    if edited.face_space != original.face_space:
        raise BodyLanguageError("edited motion changed the face space")
    total = original.num_frames
    start, stop = (0, total) if frames is None else (int(frames[0]), int(frames[1]))
    if not 0 <= start < stop <= total:
        raise BodyLanguageError(f"edit frames [{start}, {stop}) lie outside [0, {total})")
    joints, face_edited, root_edited = _part_channel_mask(original, edited_parts)
    span = np.zeros(total, dtype=bool)
    span[start:stop] = True

    kept_pose = ~(span[:, None] & joints[None, :])
    same_pose = np.all(original.poses == edited.poses, axis=-1)
    kept_face = ~(span & face_edited)
    same_face = original.face == edited.face
    kept_root = ~(span & root_edited)
    same_root = original.trans == edited.trans
    kept_count = (kept_pose.sum() * 3 + kept_face.sum() * original.face.shape[1]
                  + kept_root.sum() * 3)
    same_count = (same_pose[kept_pose].sum() * 3
                  + same_face[kept_face].sum() + same_root[kept_root].sum())
    kept_identical = 1.0 if kept_count == 0 else float(same_count) / float(kept_count)

    boundaries = [b for b in (start, stop) if 0 < b < total]
    ratio = math.nan
    if boundaries:
        positions = forward_kinematics(edited.poses, edited.trans).astype(np.float64)
        steps = np.linalg.norm(np.diff(positions, axis=0), axis=-1).mean(axis=1) * edited.fps
        median = max(float(np.median(steps)), 1e-6)
        ratio = max(float(steps[b - 1]) for b in boundaries) / median
    return {"kept_identical": kept_identical, "seam_speed_ratio": ratio}
