"""Audio tokenizer: 25 Hz features, pitch/onset/energy on known signals, robust units, checkpoints,
the pretrained-model path with a tiny random HuBERT, and training from a corpus folder."""

from __future__ import annotations

import csv
import json
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.signal import butter, resample_poly, sosfilt

from core.checkpoint import checkpoint_files, save_checkpoint
from core.errors import BodyLanguageError
from core.io.audio import load_audio, save_wav
from core.tokenizers.audio import AudioTokenizer, agreement, unit_statistics
from core.tokenizers.audio_features import log_mel_features, prosody

RATES = (8000, 11025, 16000, 22050, 44100, 48000)


# --- signals -----------------------------------------------------------------------------------

def harmonic_tone(f0: float, seconds: float, rate: int, harmonics: int = 8) -> np.ndarray:
    """A tone with `harmonics` partials falling 6 dB per octave, like a glottal source."""
    t = np.arange(int(seconds * rate)) / rate
    partials = [np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, harmonics + 1)
                if k * f0 < rate / 2]
    return 0.3 * np.sum(partials, axis=0)


def babble(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Speech-like sound: vowel-like harmonic segments with formants and pitch glides, fricative
    noise bursts and pauses, at varying levels."""
    rng = np.random.default_rng(seed)
    parts, total = [], int(seconds * rate)
    while sum(p.size for p in parts) < total:
        n = int(rng.uniform(0.06, 0.3) * rate)
        t = np.arange(n) / rate
        kind = rng.choice(3, p=[0.6, 0.25, 0.15])
        if kind == 0:
            f0 = rng.uniform(90, 260) * (1 + rng.uniform(-0.3, 0.3) * t / t[-1])
            phase = 2 * np.pi * np.cumsum(f0) / rate
            formants = (rng.uniform(300, 900), rng.uniform(900, 2500), rng.uniform(2500, 3500))
            segment = np.zeros(n)
            for k in range(1, int(7000 / f0.max())):
                gain = sum(1.0 / (1.0 + ((k * f0.mean() - f) / 120.0) ** 2) for f in formants)
                segment += gain / k**0.5 * np.sin(k * phase)
        elif kind == 1:
            low = rng.uniform(1500, 4000)
            band = butter(4, [low, min(low * 2, 7000)], btype="bandpass", fs=rate, output="sos")
            segment = sosfilt(band, rng.normal(size=n))
        else:
            segment = np.zeros(n)
        fade = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.008 * rate))
        level = 10 ** rng.uniform(-1.5, 0)
        parts.append(segment / (np.abs(segment).max() + 1e-9) * fade * level * 0.5)
    return np.concatenate(parts)[:total].astype(np.float32)


@pytest.fixture(scope="module")
def tokenizer() -> AudioTokenizer:
    clips = [(babble(8.0, 16000, seed), 16000) for seed in range(6)]
    return AudioTokenizer.train(clips, num_units=32)


# --- length ------------------------------------------------------------------------------------

def expected_units(samples: int, rate: int) -> int:
    return math.ceil(Fraction(samples, rate) * 25)


def test_unit_count_is_ceil_of_duration_times_25_for_every_length_and_rate(tokenizer):
    rng = np.random.default_rng(0)
    for rate in RATES:
        frame = Fraction(rate, 25)
        lengths = {1, 2, math.floor(frame), math.ceil(frame), math.ceil(frame) + 1,
                   rate - 1, rate, rate + 1, 3 * rate + 7, int(rng.integers(1, 4 * rate))}
        for n in sorted(lengths):
            audio = rng.normal(scale=0.1, size=n).astype(np.float32)
            units = tokenizer.encode(audio, rate)
            assert units.shape == (expected_units(n, rate),), (rate, n)
            assert units.dtype == np.int64
            assert units.min() >= 0 and units.max() < tokenizer.num_units
            assert tokenizer.features(audio, rate).shape == (expected_units(n, rate),
                                                              tokenizer.feature_dim)


def test_stereo_in_either_layout_gives_the_mono_mix(tokenizer):
    left, right = babble(2.0, 22050, 10), babble(2.0, 22050, 11)
    mono = tokenizer.encode((left + right) / 2, 22050)
    assert np.array_equal(tokenizer.encode(np.stack([left, right], axis=1), 22050), mono)
    assert np.array_equal(tokenizer.encode(np.stack([left, right], axis=0), 22050), mono)


# --- prosody -----------------------------------------------------------------------------------

@pytest.mark.parametrize("f0", [150.0, 220.0])
@pytest.mark.parametrize("rate", [16000, 44100])
def test_pitch_tracker_finds_a_harmonic_tone_within_3_percent(f0, rate):
    p = prosody(harmonic_tone(f0, 1.5, rate), rate)
    inner = p.f0[2:-2]  # the edge frames half-overlap the silence around the clip
    assert np.mean(inner > 0) > 0.95
    assert abs(np.median(inner[inner > 0]) / f0 - 1) < 0.03
    assert np.mean(np.abs(inner / f0 - 1) < 0.03) > 0.9
    assert p.voicing[2:-2].mean() > 0.9
    assert np.abs(p.log_f0[2:-2][inner > 0]).max() < 0.05  # relative to the clip's own pitch


def test_noise_and_silence_are_unvoiced():
    rng = np.random.default_rng(1)
    noise = prosody(rng.normal(scale=0.2, size=32000), 16000)
    assert np.mean(noise.f0 > 0) < 0.1 and noise.voicing.mean() < 0.4
    quiet = np.concatenate([harmonic_tone(150, 1.0, 16000), np.zeros(16000)])
    silent_half = prosody(quiet, 16000)
    assert np.all(silent_half.f0[27:] == 0) and np.all(silent_half.voicing[27:] == 0)


def test_log_f0_is_in_octaves_relative_to_the_clip_and_zero_when_unvoiced():
    rate = 16000
    audio = np.concatenate([harmonic_tone(120, 1.0, rate), np.zeros(rate // 2),
                            harmonic_tone(240, 1.0, rate)])
    p = prosody(audio, rate)
    low, high = p.log_f0[3:22], p.log_f0[41:60]
    assert np.median(high) - np.median(low) == pytest.approx(1.0, abs=0.03)
    assert np.all(p.log_f0[p.f0 == 0] == 0)
    assert np.all(p.log_f0[28:35] == 0)


def test_onset_strength_peaks_at_clicks():
    rate = 16000
    rng = np.random.default_rng(2)
    audio = rng.normal(scale=0.001, size=4 * rate)
    click_times = (0.5, 1.3, 2.22, 3.1)
    for t in click_times:
        start = int(t * rate)
        audio[start : start + 80] += 0.8 * np.hanning(80) * np.sign(rng.normal(size=80))
    onset = prosody(audio, rate).onset
    click_frames = {int(t * 25) for t in click_times}
    peaks = set(np.argsort(onset)[-len(click_times):].tolist())
    assert all(min(abs(peak - frame) for frame in click_frames) <= 1 for peak in peaks)
    assert all(max(onset[max(f - 1, 0) : f + 2]) > 5 * np.median(onset) for f in click_frames)


def test_overall_level_is_normalised_but_level_changes_inside_a_clip_remain():
    rate = 16000
    tone = harmonic_tone(200, 1.0, rate)
    audio = np.concatenate([tone, tone * 0.1])  # second half 20 dB quieter
    loud, quiet = log_mel_features(audio, rate), log_mel_features(audio * 0.05, rate)
    np.testing.assert_allclose(loud, quiet, atol=0.05)
    energy = prosody(audio, rate).energy_db
    assert np.median(energy[3:22]) - np.median(energy[28:47]) == pytest.approx(20.0, abs=0.5)


# --- robustness --------------------------------------------------------------------------------

def variants(audio: np.ndarray, rate: int) -> dict[str, tuple[np.ndarray, int]]:
    """The same sound as the 16 kHz mono reference and as other recordings of it."""
    at44 = resample_poly(audio, 44100 // math.gcd(44100, rate), rate // math.gcd(44100, rate))
    quiet = at44 * 10 ** (-12 / 20)
    return {
        "16k mono": (resample_poly(audio, 16000 // math.gcd(16000, rate),
                                   rate // math.gcd(16000, rate)), 16000),
        "44.1k stereo -12 dB": (np.stack([quiet * 1.2, quiet * 0.8], axis=1), 44100),
        "48k": (resample_poly(audio, 48000 // math.gcd(48000, rate),
                              rate // math.gcd(48000, rate)), 48000),
        "22.05k +6 dB": (resample_poly(audio, 22050 // math.gcd(22050, rate),
                                       rate // math.gcd(22050, rate)) * 2.0, 22050),
    }


def agreement_with_reference(tokenizer: AudioTokenizer, clips: list[tuple[np.ndarray, int]]):
    scores: dict[str, list[float]] = {}
    for audio, rate in clips:
        versions = variants(audio, rate)
        reference = tokenizer.encode(*versions.pop("16k mono"))
        for name, (version, version_rate) in versions.items():
            scores.setdefault(name, []).append(agreement(reference,
                                                         tokenizer.encode(version, version_rate)))
    return {name: float(np.mean(values)) for name, values in scores.items()}


def test_rate_channels_and_level_barely_change_the_units_of_babble(tokenizer):
    clips = [(babble(5.0, 48000, seed), 48000) for seed in (100, 101)]
    for name, score in agreement_with_reference(tokenizer, clips).items():
        assert score >= 0.8, f"{name}: only {score:.0%} of units agree with 16 kHz mono"


def test_units_carry_information_about_the_sound(tokenizer):
    tone = tokenizer.encode(harmonic_tone(150, 2.0, 16000), 16000)
    hiss = tokenizer.encode(np.random.default_rng(3).normal(size=32000), 16000)
    assert not set(tone[3:-3].tolist()) & set(hiss[3:-3].tolist())
    held_out = [tokenizer.encode(babble(6.0, 16000, seed), 16000) for seed in (50, 51)]
    stats = unit_statistics(held_out, tokenizer.num_units)
    assert stats.usage >= 0.5 and stats.perplexity > 8


def test_kmeans_finds_well_separated_clusters():
    rng = np.random.default_rng(4)
    tokenizer = AudioTokenizer(8, context=0, prosody_weight=1.0)
    dim = tokenizer.feature_dim
    centres = rng.normal(scale=20.0, size=(8, dim))
    labels = rng.integers(8, size=4000)
    features = (centres[labels] + rng.normal(size=(4000, dim))).astype(np.float32)
    tokenizer.fit_features([features[:2000], features[2000:]])
    units = tokenizer.encode_features(features)
    for label in range(8):  # every cluster is one unit, and no two clusters share one
        assert np.unique(units[labels == label]).size == 1
    assert np.unique(units).size == 8
    # The centres are the cluster means, not merely points of each cluster (which is where
    # k-means++ seeding leaves them, at twice the error).
    z = (features - tokenizer._mean) / tokenizer._std * tokenizer._weight
    optimum = float(np.mean(((z - np.stack([z[labels == k].mean(axis=0)
                                             for k in range(8)])[labels]) ** 2).sum(axis=1)))
    assert tokenizer.distortion(features) <= 1.02 * optimum


try:
    from core.corpus.script import Sentence
    from core.corpus.speech import espeak_problem, speak
    from core.corpus.voices import VoiceSettings

    ESPEAK_PROBLEM = espeak_problem()
except ImportError as exc:  # the corpus package is optional for the tokenizer
    ESPEAK_PROBLEM = f"core.corpus.speech cannot be imported: {exc}"


def spoken(text: str, voice: tuple[str, str | None], rate: int = 175, pitch: int = 50):
    words = tuple(text.strip(".?!").replace(",", "").split())
    sentence = Sentence(text, words, (False,) * len(words), (None,) * len(words), "statement",
                        "test")
    utterance = speak(sentence, VoiceSettings(voice[0], voice[1], rate=rate, pitch=pitch))
    return utterance.audio, utterance.sample_rate


TRAIN_LINES = (
    "Well, I don't think that's a big deal, you know.",
    "Could you put this one over there, please?",
    "No, we never said that it was all your fault.",
    "The weather was lovely when we arrived at the station.",
    "She told me the whole story again yesterday evening.",
    "Maybe we should just wait and see what happens next.",
)
HELDOUT_LINES = (
    "I really can't believe how fast this summer went by.",
    "Honestly, the results surprised everybody in the room.",
)


@pytest.mark.skipif(bool(ESPEAK_PROBLEM), reason=f"espeak-ng unavailable: {ESPEAK_PROBLEM}")
def test_speech_units_survive_rate_channels_and_level():
    voices = (("en-us", "f3"), ("en", "m3"), ("en-us", "m1"), ("en", "f2"))
    train = [spoken(line, voice, rate=150 + 10 * i, pitch=40 + 5 * i)
             for i, voice in enumerate(voices) for line in TRAIN_LINES]
    tokenizer = AudioTokenizer.train(train, num_units=64)
    heldout = [spoken(line, ("en-gb-scotland", "Lee")) for line in HELDOUT_LINES]
    heldout += [spoken(line, ("en-029", "linda")) for line in HELDOUT_LINES]
    for name, score in agreement_with_reference(tokenizer, heldout).items():
        assert score >= 0.8, f"{name}: only {score:.0%} of speech units agree with 16 kHz mono"
    # Telephone audio lacks everything above 4 kHz, so fewer units survive; leaving the missing
    # bands out of the match keeps ~70 % (scoring them as silence would keep ~45 %).
    at8k = [agreement(tokenizer.encode(*variants(audio, rate)["16k mono"]),
                      tokenizer.encode(resample_poly(audio, 8000, rate), 8000))
            for audio, rate in heldout]
    assert np.mean(at8k) > 0.6


# --- checkpoints -------------------------------------------------------------------------------

def test_save_and_load_give_identical_units(tokenizer, tmp_path):
    files = tokenizer.save(tmp_path / "audio")
    loaded = AudioTokenizer.load(tmp_path / "audio")
    assert files.config.is_file() and files.weights.is_file()
    assert loaded.config == tokenizer.config
    audio = babble(4.0, 44100, 77)
    assert np.array_equal(loaded.encode(audio, 44100), tokenizer.encode(audio, 44100))
    assert json.loads(files.config.read_text())["kind"] == "audio_tokenizer"


def test_wrong_version_kind_or_damaged_checkpoint_is_a_clear_error(tokenizer, tmp_path):
    files = tokenizer.save(tmp_path / "good")
    config = json.loads(files.config.read_text())["config"]
    tensors = {"centroids": tokenizer._centroids, "feature_mean": tokenizer._mean,
               "feature_std": tokenizer._std, "feature_weight": tokenizer._weight}

    save_checkpoint(tmp_path / "future", "audio_tokenizer", config, tensors, format_version=2)
    with pytest.raises(BodyLanguageError, match="version") as error:
        AudioTokenizer.load(tmp_path / "future")
    assert "future" in str(error.value)

    save_checkpoint(tmp_path / "motion", "motion_tokenizer", config, tensors, format_version=1)
    with pytest.raises(BodyLanguageError, match="audio_tokenizer"):
        AudioTokenizer.load(tmp_path / "motion")

    narrow = {**tensors, "centroids": tokenizer._centroids[:, :10]}
    save_checkpoint(tmp_path / "narrow", "audio_tokenizer", config, narrow, format_version=1)
    with pytest.raises(BodyLanguageError, match="centroids"):
        AudioTokenizer.load(tmp_path / "narrow")

    damaged = checkpoint_files(tmp_path / "good").weights
    damaged.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(BodyLanguageError) as error:
        AudioTokenizer.load(tmp_path / "good")
    assert "good" in str(error.value)

    with pytest.raises(BodyLanguageError):
        AudioTokenizer.load(tmp_path / "missing")


# --- bad input ---------------------------------------------------------------------------------

def test_bad_audio_is_refused_with_a_clear_error(tokenizer):
    with pytest.raises(BodyLanguageError, match="zero length"):
        tokenizer.encode(np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(BodyLanguageError, match="zero length"):
        tokenizer.encode(np.zeros((0, 2), dtype=np.float32), 44100)
    with pytest.raises(BodyLanguageError, match="NaN"):
        tokenizer.encode(np.array([0.1, np.nan, 0.2]), 16000)
    with pytest.raises(BodyLanguageError, match="sample rate"):
        tokenizer.encode(np.zeros(100), 1000)
    with pytest.raises(BodyLanguageError, match="shape"):
        tokenizer.encode(np.zeros((2, 2, 100)), 16000)
    with pytest.raises(BodyLanguageError, match="not trained"):
        AudioTokenizer(16).encode(np.zeros(1600), 16000)
    with pytest.raises(BodyLanguageError, match="cannot fit"):
        AudioTokenizer(64).fit([(np.zeros(1600), 16000)])
    with pytest.raises(BodyLanguageError, match="pairs"):
        AudioTokenizer(4).fit([np.zeros(16000)])
    with pytest.raises(BodyLanguageError, match="feature_source"):
        AudioTokenizer(16, feature_source="mfcc")


# --- pretrained speech model -------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_hubert(tmp_path_factory):
    """A randomly initialised two-layer HuBERT saved like a downloaded one; all offline."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

        torch.manual_seed(0)
        config = HubertConfig(
            hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        )
        folder = tmp_path_factory.mktemp("hf") / "tiny-hubert"
        HubertModel(config).save_pretrained(folder)
        Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0,
                                 do_normalize=True, return_attention_mask=False
                                 ).save_pretrained(folder)
        yield folder


def test_tiny_pretrained_model_gives_units_at_25_hz(tiny_hubert, tmp_path):
    clips = [(babble(4.0, 16000, seed), 16000) for seed in range(3)]
    tokenizer = AudioTokenizer.train(clips, num_units=8, feature_source=f"hf:{tiny_hubert}",
                                     hf_layer=1)
    assert tokenizer.feature_dim == 32 + 4
    audio = babble(3.3, 44100, 9)
    units = tokenizer.encode(audio, 44100)
    assert units.shape == (expected_units(audio.size, 44100),)
    assert units.min() >= 0 and units.max() < 8 and np.unique(units).size > 1
    tokenizer.save(tmp_path / "hf_units")
    loaded = AudioTokenizer.load(tmp_path / "hf_units")
    assert np.array_equal(loaded.encode(audio, 44100), units)


def test_missing_or_unusable_model_folder_is_a_clear_error(tiny_hubert, tmp_path):
    with pytest.raises(BodyLanguageError, match="not found"):
        AudioTokenizer(8, feature_source=f"hf:{tmp_path / 'nowhere'}").features(
            np.zeros(1600), 16000)
    with pytest.raises(BodyLanguageError, match="layer 5 out of range"):
        AudioTokenizer(8, feature_source=f"hf:{tiny_hubert}", hf_layer=5).features(
            np.zeros(1600), 16000)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BodyLanguageError, match="empty"):
        AudioTokenizer(8, feature_source=f"hf:{tmp_path / 'empty'}").features(
            np.zeros(1600), 16000)


# --- training from a corpus folder -------------------------------------------------------------

def write_corpus(root, clips: dict[str, tuple[str, np.ndarray]]) -> None:
    """A BEAT2-layout folder: wave16k/<id>.wav, smplxflame_30/<id>.npz, train_test_split.csv."""
    from core.io.beat2 import write_motion_npz
    from core.motion import Motion

    (root / "wave16k").mkdir(parents=True)
    (root / "smplxflame_30").mkdir()
    for clip_id, (_, audio) in clips.items():
        save_wav(root / "wave16k" / f"{clip_id}.wav", audio, 16000)
        frames = int(audio.size / 16000 * 30)
        write_motion_npz(root / "smplxflame_30" / f"{clip_id}.npz", Motion(
            poses=np.zeros((frames, 55, 3), np.float32), trans=np.zeros((frames, 3), np.float32),
            face=np.zeros((frames, 52), np.float32)))
    with open(root / "train_test_split.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "type"])
        writer.writerows([clip_id, split] for clip_id, (split, _) in clips.items())


def test_training_from_corpus_folders_reports_heldout_use_and_saves(tmp_path):
    root = tmp_path / "corpus"
    clips = {f"1_a_0_{i}_{i}": ("train", babble(4.0, 16000, 200 + i)) for i in range(6)}
    clips.update({f"2_b_0_{i}_{i}": ("test", babble(4.0, 16000, 300 + i)) for i in range(2)})
    write_corpus(root, clips)
    (root / "wave16k" / "1_a_0_5_5.wav").write_bytes(b"not a wav file")
    report = train_and_check(root, tmp_path / "out")
    assert report.train_clips == 5 and report.heldout_clips == 2
    assert len(report.skipped) == 1 and "1_a_0_5_5.wav" in report.skipped[0]
    assert report.train_hours == pytest.approx(5 * 4.0 / 3600, rel=0.01)
    assert report.heldout.usage >= 0.5 and report.heldout.perplexity > 4
    assert report.heldout_distortion < 3 * report.train_distortion

    loaded = AudioTokenizer.load(report.checkpoint)
    heldout_units = [loaded.encode(load_audio(root / "wave16k" / f"{clip_id}.wav"), 16000)
                     for clip_id, (split, _) in clips.items() if split == "test"]
    assert unit_statistics(heldout_units, 16) == report.heldout
    assert "report" in json.loads(checkpoint_files(report.checkpoint).config.read_text()
                                  )["metadata"]["training"]

    # The config it was fitted with lies beside the checkpoint, and fits the same codebook again.
    from core.train.audio_tokenizer import AudioTrainingConfig
    from core.train.saved_config import load_config

    saved = load_config(report.checkpoint, AudioTrainingConfig)
    assert saved == AudioTrainingConfig(units=16)
    again = train_and_check(root, tmp_path / "again", **vars(saved))
    assert again.train == report.train and again.heldout == report.heldout
    assert np.array_equal(AudioTokenizer.load(again.checkpoint).centroids, loaded.centroids)

    capped = train_and_check(root, tmp_path / "capped", max_hours=6.0 / 3600)
    assert capped.train_clips == 2  # 4 s clips until 6 s are reached


def train_and_check(root, out, **options):
    from core.train.audio_tokenizer import AudioTrainingConfig, train_audio_tokenizer

    config = AudioTrainingConfig(**{"units": 16, **options})
    return train_audio_tokenizer(config, [root], out, progress=False)


def test_training_without_train_audio_is_a_clear_error(tmp_path):
    from core.train.audio_tokenizer import AudioTrainingConfig, train_audio_tokenizer

    root = tmp_path / "corpus"
    write_corpus(root, {"1_a_0_1_1": ("test", babble(2.0, 16000, 1))})
    with pytest.raises(BodyLanguageError, match="no train-split clips"):
        train_audio_tokenizer(AudioTrainingConfig(units=8), root, tmp_path / "out",
                              progress=False)
    with pytest.raises(BodyLanguageError, match="not found"):
        train_audio_tokenizer(AudioTrainingConfig(units=8), tmp_path / "nowhere",
                              tmp_path / "out", progress=False)
