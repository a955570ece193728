"""core.api end to end on a tiny model: a tiny language model (4 s windows, so clips of tens of
seconds already cross many windows), the motion tokenizer's tiny configuration and a 16-unit
audio tokenizer, all randomly initialised, written with save_model_bundle and read back with
load_model. Random weights make noisy motion, so seam smoothness is checked where it is
decidable: on the blending function with smooth synthetic windows, and at edit boundaries of a
smooth kept motion."""

import json

import numpy as np
import pytest
import torch

from core import api
from core.errors import BodyLanguageError
from core.inference import Conditioning, Request, choose_task
from core.io.audio import save_wav
from core.lm import LMConfig, MotionLanguageModel
from core.lm.config import MINILM_TEXT_SIZE
from core.lm.generate import GenerationCancelled
from core.lm.windows import (
    STEP_ALIGNMENT,
    Segment,
    Span,
    blend_segments,
    joint_speed_ratio,
    plan_joins,
    plan_windows,
)
from core.motion import Motion
from core.skeleton import PART_JOINTS, PARTS, forward_kinematics
from core.tokenizers.audio import AudioTokenizer
from core.tokenizers.motion_features import assemble, motion_features
from core.tokenizers.motion_vqvae import MotionTokenizer, part_config
from core.tokenizers.vocabulary import Vocabulary
from core.train.motion_tokenizer import CONFIGS
from tests.conftest import SHARED

RATE = 16000
UNITS = 16
CODES = 32
WINDOW_SECONDS = 4.0  # 30 motion steps per window


def speech(seconds, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None)
    return (0.3 * envelope * np.sin(2 * np.pi * 150 * t)
            + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def tiny_pieces(window_seconds=WINDOW_SECONDS, units=UNITS):
    torch.manual_seed(0)
    motion = MotionTokenizer.create(
        {part: part_config(part, **{**CONFIGS["tiny"].model, "codebook_size": CODES})
         for part in PARTS}
    )
    for model in motion.models.values():
        with torch.no_grad():
            model.quantizer.codebook.normal_()  # an untrained codebook is all zeros
    audio = AudioTokenizer(units)
    audio.fit_features([audio.features(speech(4.0, 1), RATE)], steps=5, refine_iterations=1)
    vocab = Vocabulary(MINILM_TEXT_SIZE, units, {part: CODES for part in PARTS})
    lm = MotionLanguageModel(LMConfig.tiny(vocabulary=vocab.to_config(), dropout=0.0,
                                           window_seconds=window_seconds))
    return lm, motion, audio


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("model")
    api.save_model_bundle(path, *tiny_pieces(), name="tiny")
    return path


@pytest.fixture(scope="module")
def model(folder, torch_threads_restored):
    return api.load_model(folder, device="cpu")


@pytest.fixture(scope="module")
def base(model):
    """A generated 9 s clip: three windows."""
    return api.generate(model, speech(9.0), RATE, seed=1)


def turning(frames, pose, start=0, turns_per_second=0.5, face_space="arkit52"):
    """A character turning on the spot at a steady rate while holding `pose` (55, 3) from frame
    `start` of its turn on: motion whose joint speed does not change over time, so a faster frame
    can only come from a join."""
    t = (start + np.arange(frames)) / 30.0
    poses = np.repeat(np.asarray(pose, np.float64)[None], frames, axis=0)
    poses[:, 0] = 0.0
    poses[:, 0, 1] = 2 * np.pi * turns_per_second * t
    face = 0.5 + 0.4 * np.sin(2 * np.pi * 0.5 * t[:, None] + np.linspace(0, 6, 52))
    return Motion(poses=poses, trans=np.tile([0.0, 0.9, 0.0], (frames, 1)), face=face,
                  face_space=face_space)


def held_pose(seed, spread=0.2):
    return np.random.default_rng(seed).normal(0.0, spread, (55, 3))


def part_equal(a, b, part):
    joints = list(PART_JOINTS[part])
    same = np.array_equal(a.poses[:, joints], b.poses[:, joints])
    if part == "face":
        same &= np.array_equal(a.face, b.face)
    if part == "lower":
        same &= np.array_equal(a.trans, b.trans)
    return same


# --- the model folder ----------------------------------------------------------------------------


def test_the_folder_holds_three_checkpoints_and_a_manifest(folder, model):
    manifest = json.loads((folder / "model.json").read_text())
    assert manifest["format"] == "body-language-model" and manifest["name"] == "tiny"
    assert set(manifest["pieces"]) == {"lm", "motion_tokenizer", "audio_tokenizer"}
    for entry in manifest["pieces"].values():
        assert (folder / f"{entry['checkpoint']}.safetensors").is_file()
    assert model.face_space == "arkit52" and model.fps == 30.0 and model.name == "tiny"
    assert model.device.type == "cpu" and len(model.emotions) == 8


def test_a_missing_damaged_or_mixed_folder_is_a_clear_error(folder, tmp_path):
    with pytest.raises(BodyLanguageError, match="model folder not found"):
        api.load_model(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BodyLanguageError, match="model.json is missing") as error:
        api.load_model(empty)
    assert error.value.path.endswith("model.json")

    broken = tmp_path / "broken"
    api.save_model_bundle(broken, *tiny_pieces(), name="broken")
    manifest = broken / "model.json"
    text = manifest.read_text()
    manifest.write_text(text[:40])
    with pytest.raises(BodyLanguageError, match="damaged") as error:
        api.load_model(broken)
    assert error.value.path == str(manifest)
    manifest.write_text(text)

    # An audio tokenizer from another training replaces the bundled one.
    _, _, other_audio = tiny_pieces()
    other_audio.save(broken / "audio_tokenizer")
    with pytest.raises(BodyLanguageError, match="not the one the model was assembled with"):
        api.load_model(broken)
    # One that makes a different number of units cannot be bundled at all.
    lm, motion, _ = tiny_pieces()
    with pytest.raises(BodyLanguageError, match="audio units"):
        api.save_model_bundle(tmp_path / "mismatch", lm, motion, AudioTokenizer(8).fit_features(
            [AudioTokenizer(8).features(speech(2.0), RATE)], steps=2, refine_iterations=1))


def test_device_and_threads(monkeypatch):
    assert api.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(BodyLanguageError, match="unknown device"):
        api.resolve_device("abacus")
    monkeypatch.setenv(api.THREADS_ENV, "3")
    assert api.cpu_threads() == 3
    monkeypatch.setenv(api.THREADS_ENV, "many")
    with pytest.raises(BodyLanguageError, match=api.THREADS_ENV):
        api.cpu_threads()
    monkeypatch.delenv(api.THREADS_ENV)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert api.cpu_threads() == 1
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)))
    assert api.cpu_threads() == 8


# --- length, reproducibility, progress, cancel ---------------------------------------------------


@pytest.mark.parametrize("seconds", [0.5, 3.3, 4.05, 13.37])
def test_output_lasts_as_long_as_the_audio(model, seconds):
    motion = api.generate(model, speech(seconds), RATE, seed=0)
    assert motion.num_frames == round(seconds * 30)
    assert motion.fps == 30.0 and motion.face_space == "arkit52"
    assert np.isfinite(motion.poses).all() and np.isfinite(motion.trans).all()


def test_audio_at_another_rate_or_from_a_file(model, tmp_path):
    at_44k = np.interp(np.arange(int(2.5 * 44100)) / 44100, np.arange(2.5 * RATE) / RATE,
                       speech(2.5)).astype(np.float32)
    assert api.generate(model, at_44k, 44100).num_frames == 75
    path = tmp_path / "line.wav"
    save_wav(path, speech(1.9), RATE)
    assert api.generate(model, str(path)).num_frames == 57


def test_text_only_prompts_last_the_requested_duration(model):
    motion = api.generate(model, prompt="wave with the right hand", duration=2.5, seed=2)
    assert motion.num_frames == 75
    assert api.generate(model, emotion="anger", duration=5.0).num_frames == 150
    moved = np.abs(np.diff(motion.poses, axis=0)).max()
    assert moved > 0  # the parts were written, not left at rest


def test_same_seed_same_motion_other_seed_other_motion(model):
    audio = speech(6.0)
    first = api.generate(model, audio, RATE, prompt="nod", seed=5)
    again = api.generate(model, audio, RATE, prompt="nod", seed=5)
    other = api.generate(model, audio, RATE, prompt="nod", seed=6)
    assert np.array_equal(first.poses, again.poses) and np.array_equal(first.face, again.face)
    assert np.array_equal(first.trans, again.trans)
    assert not np.array_equal(first.poses, other.poses)


def test_progress_rises_to_one_and_cancel_stops(model):
    seen = []
    api.generate(model, speech(9.0), RATE, progress=lambda f, message: seen.append((f, message)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > 10
    assert all(isinstance(message, str) and message for _, message in seen)

    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 5

    stopped = []
    with pytest.raises(GenerationCancelled):
        api.generate(model, speech(9.0), RATE, cancel=cancel,
                     progress=lambda f, m: stopped.append(f))
    assert len(calls) == 6 and max(stopped) < 1.0


# --- editing -------------------------------------------------------------------------------------


def test_kept_parts_come_back_bit_identical(model, base):
    edited = api.generate(model, speech(9.0), RATE, parts=("hands",), keep=base, seed=9)
    for part in ("face", "upper", "lower"):
        assert part_equal(edited, base, part)
    assert not part_equal(edited, base, "hands")

    two = api.generate(model, speech(9.0), RATE, parts=("face", "lower"), keep=base, seed=9)
    assert part_equal(two, base, "hands") and part_equal(two, base, "upper")
    assert not part_equal(two, base, "face") and not part_equal(two, base, "lower")

    asked = api.generate(model, speech(9.0), RATE, prompt="clap", parts=("hands",), keep=base)
    for part in ("face", "upper", "lower"):
        assert part_equal(asked, base, part)


def test_requests_become_the_training_tasks():
    keep = Motion.rest(90)
    units, whole = np.zeros(75, np.int64), Span(0, 90)

    def task(parts=PARTS, span=whole, kept=None, **condition):
        return choose_task(Conditioning(**condition), Request(90, parts, span, kept)).name

    assert task(units=units) == "audio_to_motion"
    assert task(units=units, prompt="wave") == "audio_text_to_motion"
    assert task(units=units, transcript=np.array([7592]), transcript_times=np.array([1.0])) \
        == "transcript_audio_to_motion"
    assert task(units=units, emotion="fear") == "emotion_to_motion"
    assert task(prompt="wave") == "text_to_motion"
    assert task(units=units, span=Span(10, 50), kept=keep) == "edit_frames"
    assert task(span=Span(10, 50), kept=keep) == "motion_inbetween"
    assert task(units=units, parts=("hands",), kept=keep) == "edit_part"
    assert task(parts=("lower",), kept=keep) == "upper_to_lower"
    assert task(parts=("face",), kept=keep) == "body_to_face"
    # What was asked for wins over the edit tasks, which have no slot for it.
    assert task(units=units, prompt="wave", parts=("hands",), kept=keep) == "audio_text_to_motion"
    assert task(units=units, parts=("hands", "face"), kept=keep) == "audio_to_motion"


def test_parts_without_keep_stay_at_rest(model):
    motion = api.generate(model, speech(2.0), RATE, parts=("face", "hands"))
    assert not motion.poses[:, list(PART_JOINTS["upper"])].any() and not motion.trans.any()
    assert motion.poses[:, list(PART_JOINTS["hands"])].any()


def test_a_frame_edit_keeps_the_other_frames_and_joins_smoothly(model):
    keep = turning(270, held_pose(0))
    a, b = 100, 190
    edited = api.generate(model, speech(9.0), RATE, keep=keep, frames=(a, b), seed=3)
    for name in ("poses", "trans", "face"):
        ours, theirs = getattr(edited, name), getattr(keep, name)
        assert np.array_equal(ours[:a], theirs[:a]) and np.array_equal(ours[b:], theirs[b:])
        assert not np.allclose(ours[a + 20:b - 20], theirs[a + 20:b - 20])
    positions = forward_kinematics(edited.poses, edited.trans)
    kept_speed = np.linalg.norm(np.diff(forward_kinematics(keep.poses, keep.trans), axis=0),
                                axis=-1).mean(-1)
    speed = np.linalg.norm(np.diff(positions, axis=0), axis=-1).mean(-1)
    # Crossing into and out of the edited stretch is no faster than the kept motion moves.
    for frame in (a - 1, b - 1):
        assert speed[frame] <= 1.5 * np.median(kept_speed)
    # Cutting straight to the written motion would have been a jump.
    cut = forward_kinematics(edited.poses[a + 12:a + 13], edited.trans[a + 12:a + 13])
    assert np.linalg.norm(cut - positions[a - 1:a], axis=-1).mean() > 3 * np.median(kept_speed)

    only_upper = api.generate(model, speech(9.0), RATE, parts=("upper",), keep=keep,
                              frames=(a, b), seed=3)
    for part in ("face", "hands", "lower"):
        assert part_equal(only_upper, keep, part)
    upper = list(PART_JOINTS["upper"])
    assert np.array_equal(only_upper.poses[:a, upper], keep.poses[:a, upper])
    assert not np.array_equal(only_upper.poses[a:b, upper], keep.poses[a:b, upper])


def test_a_kept_motion_alone_drives_a_part_edit(model, base):
    lower = api.generate(model, keep=base, parts=("lower",), seed=4)
    assert lower.num_frames == base.num_frames
    assert part_equal(lower, base, "upper") and not part_equal(lower, base, "lower")


# --- long clips ----------------------------------------------------------------------------------


def test_windows_cover_the_clip_with_aligned_starts_and_overlapping_joins():
    for total in (30, 31, 95, 713, 4500):
        decode = Span(0, total)
        windows = plan_windows(decode, 30)
        assert windows[0].start == 0 and windows[-1].stop >= total
        assert windows[-1].stop - total < STEP_ALIGNMENT
        assert all(w.start % STEP_ALIGNMENT == 0 for w in windows)
        joins = plan_joins(windows, 30, decode) if len(windows) > 1 else []
        pairs = zip(windows[:-1], windows[1:], strict=True)
        for join, (left, right) in zip(joins, pairs, strict=True):
            assert right.start <= join.span.start and join.span.stop <= left.stop
            assert join.bridge.start <= join.span.start < join.span.stop <= join.bridge.stop
            assert join.bridge.start % STEP_ALIGNMENT == 0


def test_blending_joins_disagreeing_windows_without_a_seam():
    """Three windows of one steadily turning character that disagree on the pose it holds (as
    two takes of the same speech disagree), crossfaded over 2 s as the windows of a clip are."""
    window, handover = 150, 60
    starts = [0, 90, 180]
    base = held_pose(0)
    takes = [turning(window, base + held_pose(k + 1, 0.15), start) for k, start in
             enumerate(starts)]
    features = [motion_features(take) for take in takes]
    segments = []
    for k, start in enumerate(starts):
        fade_in = Span(start, start + handover) if k else None
        fade_out = Span(starts[k + 1], starts[k + 1] + handover) if k < 2 else None
        segments.append(Segment(start, features[k], fade_in, fade_out))
    blended = assemble(blend_segments(segments, Span(0, starts[-1] + window)))
    joins = [f for s in starts[1:] for f in range(s - 1, s + handover)]
    positions = forward_kinematics(blended.poses, blended.trans)
    assert joint_speed_ratio(positions, joins) <= 1.5
    # Away from the joins each window's own motion comes through untouched.
    alone = forward_kinematics(takes[0].poses[10:80], takes[0].trans[10:80])
    assert np.allclose(positions[10:80], alone, atol=1e-4)

    # The same windows cut together instead show the seam the blend removes.
    cut = {part: np.concatenate([features[0][part][:90], features[1][part][:90],
                                 features[2][part]]) for part in PARTS}
    naive = assemble(cut)
    assert joint_speed_ratio(forward_kinematics(naive.poses, naive.trans), [89, 179]) > 3.0


def test_long_audio_goes_in_windows_joined_by_bridges(model):
    seconds = 95.0
    messages = []
    motion = api.generate(model, speech(seconds, 4), RATE, seed=2,
                          progress=lambda f, m: messages.append(m))
    assert motion.num_frames == round(seconds * 30)
    # The windows, then the bridges that join them: two passes, told in plain words.
    assert "Generating motion 1/2" in messages and "Generating motion 2/2" in messages
    assert not any("window" in m.lower() for m in messages)
    # The root is integrated once over the joined clip, so no window restarts it: the step of
    # the root at any frame stays within what the clip's steps look like elsewhere.
    steps = np.linalg.norm(np.diff(motion.trans, axis=0), axis=-1)
    assert steps.max() <= 5 * max(np.median(steps), 1e-6)


@pytest.mark.parametrize("windowing", ["sequential", "independent"])
def test_other_windowings_cover_the_clip(model, windowing):
    motion = api.generate(model, speech(11.0), RATE, seed=1, windowing=windowing)
    assert motion.num_frames == 330 and np.isfinite(motion.poses).all()


# --- emotion -------------------------------------------------------------------------------------


def test_predict_emotion_is_a_distribution_over_the_eight_emotions(model, base):
    probabilities = api.predict_emotion(model, base)
    assert list(probabilities) == list(model.emotions)
    values = np.array(list(probabilities.values()))
    assert (values >= 0).all() and abs(values.sum() - 1.0) < 1e-6
    long = api.predict_emotion(model, turning(400, held_pose(1)))
    assert abs(sum(long.values()) - 1.0) < 1e-6 and long != probabilities


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"audio": np.zeros(0, np.float32)}, "empty"),
    ({"audio": np.array([0.1, np.nan] * 800, np.float32)}, "NaN"),
    ({"audio": np.zeros((800, 2), np.float32)}, "mono"),
    ({"audio": np.zeros(1600, np.int16)}, "floats"),
    ({"audio": np.zeros(1600, np.float32), "sample_rate": 100}, "sample_rate"),
    ({"audio": np.zeros(1600, np.float32), "duration": 1.0}, "either audio or a duration"),
    ({"prompt": "walk"}, "duration"),
    ({"prompt": "walk", "duration": -2.0}, "positive"),
    ({"duration": 2.0}, "nothing to generate from"),
    ({"duration": 2.0, "transcript": "hello"}, "needs the audio"),
    ({"duration": 2.0, "emotion": "boredom"}, "unknown emotion"),
    ({"duration": 2.0, "prompt": "jump", "parts": ("face", "tail")}, "unknown body part"),
    ({"duration": 2.0, "prompt": "jump", "parts": ()}, "parts is empty"),
    ({"duration": 2.0, "prompt": "jump", "frames": (0, 10)}, "give keep too"),
    ({"duration": 2.0, "prompt": "jump", "seed": 1.5}, "seed"),
    ({"duration": 2.0, "prompt": "jump", "temperature": -1.0}, "temperature"),
])
def test_bad_inputs_are_clear_errors(model, kwargs, message):
    with pytest.raises(BodyLanguageError, match=message):
        api.generate(model, **kwargs)


def test_bad_keep_and_frames_are_clear_errors(model, base):
    audio = speech(9.0)
    with pytest.raises(BodyLanguageError, match="keep has 269 frames; the output has 270"):
        api.generate(model, audio, RATE, keep=base.slice_frames(0, 269), parts=("face",))
    with pytest.raises(BodyLanguageError, match="out of range"):
        api.generate(model, audio, RATE, keep=base, frames=(200, 271))
    with pytest.raises(BodyLanguageError, match="out of range"):
        api.generate(model, audio, RATE, keep=base, frames=(50, 50))
    with pytest.raises(BodyLanguageError, match="fps"):
        api.generate(model, audio, RATE, keep=base.resample(60.0), parts=("face",))
    with pytest.raises(BodyLanguageError, match="must be a Motion"):
        api.generate(model, audio, RATE, keep=base.poses, parts=("face",))
    with pytest.raises(BodyLanguageError, match="face space"):
        api.predict_emotion(model, Motion.rest(30, face_space="flame100"))
    with pytest.raises(BodyLanguageError, match="audio file not found"):
        api.generate(model, "/no/such/file.wav")



def test_default_folder_without_a_language_model_says_how_to_make_one(tmp_path, monkeypatch):
    import core.model_folder

    shipped = tmp_path / "default"
    shipped.mkdir()
    (shipped / "motion_tokenizer.json").write_text("{}")
    monkeypatch.setattr(core.model_folder, "DEFAULT_MODEL_DIR", shipped.resolve())
    with pytest.raises(BodyLanguageError, match="no trained language model yet.*train lm"):
        api.load_model()


def test_the_shipped_model_animates_the_sample_dialogue():
    from pathlib import Path

    from core.io.audio import load_audio

    shipped = api.load_model(device="cpu")
    assert shipped.path == api.DEFAULT_MODEL_DIR / "model.json"
    assert shipped.masked is not None and shipped.lm.config.preset == "cpu"
    wav = Path(__file__).resolve().parent.parent / "demo" / "sample_dialogue.wav"
    rate = 16000
    audio = load_audio(wav, rate)[: 3 * rate]  # three seconds keep the test short
    motion = api.generate(shipped, audio, rate, prompt="wave hello", seed=3)
    assert motion.num_frames == 90
    again = api.generate(shipped, audio, rate, prompt="wave hello", seed=3)
    assert np.array_equal(motion.poses, again.poses)
    # The body moves, within joint rotations a human body makes.
    assert np.ptp(motion.poses, axis=0).max() > 0.05
    assert np.abs(motion.poses).max() < np.pi
    emotions = api.predict_emotion(shipped, motion)
    assert len(emotions) == 8 and abs(sum(emotions.values()) - 1.0) < 1e-5
    # What is asked changes what is done, while the same speech plays.
    other = api.generate(shipped, audio, rate, prompt="cross your arms", seed=3)
    assert np.abs(other.poses - motion.poses).mean() > 1e-3
    sad = api.generate(shipped, audio, rate, prompt="wave hello", emotion="sadness", seed=3)
    assert np.abs(sad.poses - motion.poses).mean() > 1e-3


@pytest.mark.skipif(not (SHARED / "realspeech").is_dir(), reason="shared/realspeech absent")
def test_the_shipped_model_opens_the_mouth_on_a_real_voices_vowels():
    from core.eval import performance
    from core.eval.metrics import jaw_opening
    from core.eval.panel import read_real_voices

    shipped = api.load_model(device="cpu")
    voice = next(v for v in read_real_voices(SHARED / "realspeech")
                 if v.name == "librivox_0880")
    motion = api.generate(shipped, voice.audio, 16000, seed=0)
    score = performance.mouth_against_phones(motion, voice.phones)
    jaw = jaw_opening(motion)
    track = performance.openness_track(voice.phones, motion.num_frames, motion.fps)
    assert score.vowel_r > 0.3, score
    # Open on open vowels, (nearly) closed on silence and on M, P, B.
    assert jaw[track >= 0.7].mean() > 1.5 * jaw[track == 0].mean(), (
        jaw[track >= 0.7].mean(), jaw[track == 0].mean())


def test_a_new_language_model_joins_the_tokenizers_already_in_a_folder(folder, model, tmp_path):
    import shutil

    target = tmp_path / "shipped"
    target.mkdir()
    for stem in ("motion_tokenizer", "audio_tokenizer"):
        for suffix in (".json", ".safetensors"):
            shutil.copy(folder / f"{stem}{suffix}", target / f"{stem}{suffix}")
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    api.save_model_bundle(target, model.lm, None, None, name="joined")
    for name, data in before.items():
        assert (target / name).read_bytes() == data  # the tokenizers are not rewritten
    joined = api.load_model(target, device="cpu")
    assert joined.name == "joined"
    with pytest.raises(BodyLanguageError):
        api.save_model_bundle(tmp_path / "empty", model.lm, None, None)
