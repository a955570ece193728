"""Evaluation metrics on synthetic signals whose right answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.errors import BodyLanguageError
from core.eval import metrics
from core.motion import Motion
from core.skeleton import PART_JOINTS

SR = 16000
FPS = 30.0


def _bursts(times: np.ndarray, duration: float, seed: int = 0) -> np.ndarray:
    """Quiet room noise with a sharp-attack tone burst (a syllable onset) at each time."""
    rng = np.random.default_rng(seed)
    audio = rng.normal(0.0, 1e-3, int(duration * SR))
    t = np.arange(len(audio)) / SR
    for start in times:
        inside = (t >= start) & (t < start + 0.4)
        local = t[inside] - start
        audio[inside] += (0.5 * np.sin(2 * np.pi * 220 * t[inside]) * np.exp(-local / 0.05)
                          * (1 - np.exp(-local / 0.003)))
    return audio.astype(np.float32)


def _positions_with_beats(beats: np.ndarray, duration: float) -> np.ndarray:
    """(T, 55, 3) joints sliding along x whose speed dips (a motion beat) at each beat time."""
    frames = int(duration * FPS)
    t = np.arange(frames) / FPS
    speed = np.ones(frames)
    for beat in beats:
        speed -= 0.9 * np.exp(-((t - beat) ** 2) / (2 * 0.06**2))
    x = np.cumsum(speed) / FPS
    positions = np.zeros((frames, 55, 3))
    positions[:, :, 0] = x[:, None] * np.linspace(0.5, 1.5, 55)[None]
    return positions


@pytest.fixture(scope="module")
def beat_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(7)
    duration = 20.0
    gaps = rng.uniform(0.7, 1.5, 40)
    onsets = np.cumsum(gaps)
    onsets = onsets[onsets < duration - 0.5]
    shuffled = np.cumsum(rng.permutation(gaps))
    shuffled = shuffled[shuffled < duration - 0.5]
    return _bursts(onsets, duration), onsets, shuffled, duration


def test_audio_onsets_find_each_burst(beat_scene):
    audio, onsets, _, _ = beat_scene
    found = metrics.audio_onsets(audio, SR)
    assert len(found) == len(onsets)
    # librosa's framing puts an onset up to about two hops (64 ms) after the attack.
    assert np.all(np.abs(found - onsets) < 0.07)


def test_silence_has_no_onsets():
    noise = np.random.default_rng(0).normal(0, 10 ** (-70 / 20), SR * 5).astype(np.float32)
    assert metrics.audio_onsets(noise, SR).size == 0


def test_kinematic_beats_at_speed_minima_of_upper_body(beat_scene):
    _, onsets, _, duration = beat_scene
    beats = metrics.kinematic_beats(_positions_with_beats(onsets, duration), FPS)
    assert len(beats) == len(PART_JOINTS["upper"])
    for joint_beats in beats:
        assert np.allclose(joint_beats / FPS, onsets, atol=1.5 / FPS)


def test_joint_at_rest_has_no_beats():
    still = np.zeros((300, 55, 3))
    still += np.random.default_rng(0).normal(0, 1e-6, still.shape)  # numerical jitter
    mean_speed = np.full(55, 0.5)  # what a moving performer averages
    assert all(b.size == 0 for b in metrics.kinematic_beats(still, FPS, mean_speed=mean_speed))


def test_beat_consistency_high_when_aligned_low_when_shuffled(beat_scene):
    audio, onsets, shuffled, duration = beat_scene
    aligned = metrics.beat_consistency(_positions_with_beats(onsets, duration), FPS, audio, SR)
    off = metrics.beat_consistency(_positions_with_beats(shuffled, duration), FPS, audio, SR)
    late = metrics.beat_consistency(_positions_with_beats(onsets + 0.5, duration), FPS, audio, SR)
    assert aligned > 0.9
    assert off < aligned - 0.2
    assert late < 0.5  # every beat 0.5 s late: exp(-0.25 / 0.18) ~ 0.25
    both_ways = metrics.beat_consistency(_positions_with_beats(onsets, duration), FPS, audio, SR,
                                         direction="motion_to_audio")
    assert both_ways > 0.9


def test_beat_consistency_skips_the_first_and_last_two_seconds(beat_scene):
    _, onsets, _, duration = beat_scene
    # Audio onsets only inside the first 2 s: nothing left to score.
    early = _bursts(np.array([0.5, 1.2, 1.8]), duration)
    positions = _positions_with_beats(onsets, duration)
    assert math.isnan(metrics.beat_consistency(positions, FPS, early, SR))
    assert math.isnan(metrics.beat_consistency(positions[:100], FPS, early[: SR * 3], SR))


def test_gaussian_beat_alignment_definition():
    assert metrics.gaussian_beat_alignment(np.array([1.0, 2.0]), np.array([1.0, 2.3])) == (
        pytest.approx((1.0 + math.exp(-0.09 / 0.18)) / 2)
    )
    assert metrics.gaussian_beat_alignment(np.array([1.0]), np.array([])) == 0.0
    assert math.isnan(metrics.gaussian_beat_alignment(np.array([]), np.array([1.0])))


def test_frechet_distance_zero_for_same_set_and_grows_with_shift():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 16))
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    shifts = [metrics.frechet_distance(features, features + s) for s in (0.5, 1.0, 2.0)]
    # A pure mean shift by s in 16 dimensions adds exactly 16 s^2.
    assert shifts == pytest.approx([16 * 0.25, 16 * 1.0, 16 * 4.0], rel=1e-6)


def test_frechet_distance_with_fewer_samples_than_dimensions_is_finite():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(10, 32)), rng.normal(size=(12, 32)) + 1.0
    value = metrics.frechet_distance(a, b)
    assert math.isfinite(value) and value > 0
    with pytest.raises(BodyLanguageError):
        metrics.frechet_distance(a[:1], b)


def test_l1_diversity():
    rng = np.random.default_rng(0)
    clip = rng.normal(size=(40, 55, 3))
    assert metrics.l1_diversity([clip, clip, clip]) == 0.0
    other = clip + 0.01
    # Each of the 165 coordinates differs by 0.01 in one of the three pairs.
    assert metrics.l1_diversity([clip, clip, other]) == pytest.approx(2 / 3 * 165 * 0.01)
    # Clips of different lengths are compared over their common frames.
    assert metrics.l1_diversity([clip, other[:10]]) == pytest.approx(165 * 0.01)
    still = np.repeat(clip[:1], 10, axis=0)
    assert metrics.emage_l1_variation([still]) == pytest.approx(0.0, abs=1e-9)
    assert metrics.emage_l1_variation([clip]) > 1.0
    with pytest.raises(BodyLanguageError):
        metrics.l1_diversity([clip])


def _speaking(frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Speech-like audio (a tone under a syllable-rate envelope) and that envelope per frame."""
    rng = np.random.default_rng(seed)
    knots = np.clip(rng.normal(0.3, 0.25, frames // 5 + 2), 0, None)
    per_frame = np.interp(np.arange(frames) / 5, np.arange(len(knots)), knots)
    t = np.arange(int(frames / FPS * SR)) / SR
    amplitude = np.interp(t * FPS, np.arange(frames), per_frame)
    return (amplitude * np.sin(2 * np.pi * 180 * t)).astype(np.float32), per_frame


def test_lip_sync_correlation_follows_the_envelope_not_noise():
    frames = 900
    audio, envelope = _speaking(frames)
    measured = metrics.audio_envelope(audio, SR, frames, FPS)
    assert np.corrcoef(measured, envelope)[0, 1] > 0.95
    following = 0.4 * envelope + np.random.default_rng(1).normal(0, 0.005, frames)
    assert metrics.lip_sync_correlation(following, measured) > 0.95
    late = np.concatenate([np.full(2, following[0]), following[:-2]])  # two frames behind
    assert metrics.lip_sync_correlation(late, measured) > 0.95
    noise = np.random.default_rng(2).normal(0, 0.1, frames)
    assert abs(metrics.lip_sync_correlation(noise, measured)) < 0.15
    assert metrics.lip_sync_correlation(np.zeros(frames), measured) == 0.0


def test_motion_lip_sync_reads_the_jaw():
    frames = 600
    audio, envelope = _speaking(frames, seed=3)
    motion = Motion.rest(frames)
    poses = motion.poses.copy()
    poses[:, 22, 0] = 0.3 * envelope
    speaking = Motion(poses=poses, trans=motion.trans, face=motion.face)
    assert metrics.motion_lip_sync(speaking, audio, SR) > 0.95
    assert metrics.motion_lip_sync(motion, audio, SR) == 0.0


def test_face_mae():
    a = Motion.rest(20)
    b = Motion(poses=a.poses, trans=a.trans, face=a.face + 0.25)
    assert metrics.face_mae(b, a) == pytest.approx(0.25)
    flame = Motion.rest(20, face_space="flame100")
    with pytest.raises(BodyLanguageError):
        metrics.face_mae(flame, a)


def _moving(frames: int, seed: int) -> Motion:
    t = np.arange(frames)[:, None, None] / FPS
    phase = np.random.default_rng(seed).uniform(0, 6, (1, 55, 3))
    poses = 0.3 * np.sin(2 * np.pi * 0.7 * t + phase)
    return Motion(poses=poses, trans=np.zeros((frames, 3)), face=np.full((frames, 52), 0.2))


def test_edit_consistency_kept_fraction_and_seams():
    original = _moving(120, 0)
    other = _moving(120, 1)
    part_edit = original.with_part("upper", other)
    result = metrics.edit_consistency(original, part_edit, ["upper"])
    assert result["kept_identical"] == 1.0
    assert math.isnan(result["seam_speed_ratio"])  # a whole-clip part edit has no time seam
    # Claiming only the hands were edited: the upper-body change now counts against it.
    wrong = metrics.edit_consistency(original, part_edit, ["hands"])
    assert wrong["kept_identical"] < 0.9

    span = (40, 80)
    pasted = Motion(
        poses=np.concatenate([original.poses[:40], other.poses[40:80], original.poses[80:]]),
        trans=original.trans, face=original.face,
    )
    jumped = metrics.edit_consistency(original, pasted, ["face", "hands", "upper", "lower"], span)
    assert jumped["kept_identical"] == 1.0
    assert jumped["seam_speed_ratio"] > 3.0  # a hard cut jumps far further than one frame's step
    smooth = metrics.edit_consistency(original, original, ["upper"], span)
    assert smooth["seam_speed_ratio"] == pytest.approx(1.0, abs=0.6)
    with pytest.raises(BodyLanguageError):
        metrics.edit_consistency(original, original, ["tail"])
    with pytest.raises(BodyLanguageError):
        metrics.edit_consistency(original, original.slice_frames(0, 100), ["upper"])
