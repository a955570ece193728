"""The masked model through core.api: load, generate, guidance, edits, emotion, and what changes
the motion (prompt and emotion must, even while speech plays)."""

from __future__ import annotations

import numpy as np
import pytest

from core import api
from core.errors import BodyLanguageError
from core.lm.masked import MaskedMotionModel
from core.lm.masked_generate import passes, plan_windows, timed_windows
from core.skeleton import PART_JOINTS

RATE = 16000


@pytest.fixture(scope="module")
def model(tiny_masked_model):
    return api.load_model(tiny_masked_model, device="cpu")


@pytest.fixture(scope="module")
def speech():
    rng = np.random.default_rng(3)
    envelope = np.repeat(rng.uniform(0.02, 0.4, size=40), RATE // 10)
    return (rng.normal(size=envelope.size) * envelope).astype(np.float32)


def test_the_folder_loads_as_a_masked_model(model):
    assert isinstance(model.lm, MaskedMotionModel)
    assert model.manifest["pieces"]["lm"]["kind"] == "masked_lm"
    assert model.emotions == model.lm.config.emotions


def test_output_lasts_as_long_as_the_audio_and_is_reproducible(model, speech):
    a = api.generate(model, speech, RATE, seed=1)
    b = api.generate(model, speech, RATE, seed=1)
    c = api.generate(model, speech, RATE, seed=2)
    assert a.num_frames == round(speech.size / RATE * 30)
    assert np.array_equal(a.poses, b.poses) and np.array_equal(a.face, b.face)
    assert not np.array_equal(a.poses, c.poses)
    assert np.isfinite(a.poses).all() and np.isfinite(a.face).all()


def _body(motion):
    joints = list(PART_JOINTS["upper"]) + list(PART_JOINTS["hands"])
    return motion.poses[:, joints]


def test_changing_only_the_prompt_changes_the_motion_while_speech_plays(model, speech):
    calm = api.generate(model, speech, RATE, prompt="calm, explaining", seed=0)
    wave = api.generate(model, speech, RATE, prompt="wave hello with the right hand", seed=0)
    assert np.abs(_body(calm) - _body(wave)).mean() > 1e-3


def test_changing_only_the_emotion_changes_the_motion(model, speech):
    anger = api.generate(model, speech, RATE, emotion="anger", seed=0)
    sadness = api.generate(model, speech, RATE, emotion="sadness", seed=0)
    assert np.abs(anger.poses - sadness.poses).mean() > 1e-3


def test_guidance_zero_ignores_the_prompt(model):
    options = {"prompt": 0.0, "audio": 1.0, "emotion": 1.0}
    a = api.generate(model, duration=3.0, prompt="nod", seed=0, guidance=options)
    b = api.generate(model, duration=3.0, prompt="shrug", seed=0, guidance=options)
    assert np.array_equal(a.poses, b.poses)


def test_kept_parts_and_frames_come_back_bit_identical(model, speech):
    base = api.generate(model, speech, RATE, seed=4)
    hands = api.generate(model, speech, RATE, seed=5, parts=["hands"], keep=base)
    for part in ("face", "upper", "lower"):
        joints = list(PART_JOINTS[part])
        assert np.array_equal(hands.poses[:, joints], base.poses[:, joints]), part
    assert np.array_equal(hands.face, base.face) and np.array_equal(hands.trans, base.trans)
    span = api.generate(model, speech, RATE, seed=5, keep=base, frames=(30, 80))
    assert np.array_equal(span.poses[:30], base.poses[:30])
    assert np.array_equal(span.poses[80:], base.poses[80:])


def test_long_clips_go_in_overlapping_windows_written_in_few_passes():
    for steps in (10, 60, 61, 150, 451, 2000):
        starts = plan_windows(steps, 60)
        assert starts[0] == 0 and starts[-1] + 60 >= steps and all(s % 3 == 0 for s in starts)
        assert all(b - a <= 48 for a, b in zip(starts, starts[1:], strict=False))
        groups = passes(starts, 60)
        assert len(groups) <= 3 and sorted(sum(groups, [])) == list(range(len(starts)))


def test_timed_prompt_windows_start_on_their_span_and_stay_inside_it():
    # 7.5 steps a second; starts round up to a multiple of 3 steps (0.4 s).
    assert timed_windows([("a", 2.0, 4.0)], 120, 60) == [("a", 15, 30)]
    assert timed_windows([("a", 1.0, 3.0)], 120, 60) == [("a", 9, 23)]
    # The next span's start and the window's length end a span early; so does the clip's end.
    assert timed_windows([("a", 0.0, 9.0), ("b", 4.0, 30.0)], 60, 60) == [
        ("a", 0, 30), ("b", 30, 60)]
    assert timed_windows([("a", 0.0, 20.0)], 200, 60) == [("a", 0, 60)]


def test_a_timed_prompt_changes_the_motion_and_is_reproducible(model):
    base = api.generate(model, duration=16.0, seed=2)
    timed = api.generate(model, duration=16.0, seed=2, prompts=[("shrug", 10.0, 12.0)])
    assert timed.num_frames == base.num_frames
    assert np.abs(base.poses[300:360] - timed.poses[300:360]).mean() > 1e-3
    assert np.array_equal(timed.poses, api.generate(
        model, duration=16.0, seed=2, prompts=[("shrug", 10.0, 12.0)]).poses)


def test_no_timed_prompts_is_exactly_the_untimed_generation(model, speech):
    a = api.generate(model, speech, RATE, prompt="nod", seed=1)
    b = api.generate(model, speech, RATE, prompt="nod", seed=1, prompts=[])
    assert np.array_equal(a.poses, b.poses) and np.array_equal(a.face, b.face)


@pytest.mark.parametrize("prompts, message", [
    ([("nod", 5.0, 3.0)], "not after its start"),
    ([("nod", 1.0, 4.0), ("shrug", 3.0, 6.0)], "overlap"),
    ([("", 1.0, 2.0)], "has no text"),
    ([("nod", 20.0, None)], "outside the clip"),
    ([("nod", float("nan"), 2.0)], "start must be a number"),
    ([("nod", 1.0)], r"must be \(text, start, end\)"),
    ("nod", "must be a list"),
    ([(3, 1.0, 2.0)], "text must be text"),
])
def test_bad_timed_prompts_are_named(model, prompts, message):
    with pytest.raises(BodyLanguageError, match=message):
        api.generate(model, duration=12.0, prompts=prompts)


def test_timed_prompts_need_the_masked_model(tiny_model):
    autoregressive = api.load_model(tiny_model, device="cpu")
    with pytest.raises(BodyLanguageError, match="timed prompts need a masked model"):
        api.generate(autoregressive, duration=4.0, prompts=[("nod", 1.0, 2.0)])


def test_predict_emotion_is_a_distribution(model, speech):
    motion = api.generate(model, speech, RATE, seed=0)
    probabilities = api.predict_emotion(model, motion)
    assert set(probabilities) == set(model.emotions)
    assert abs(sum(probabilities.values()) - 1.0) < 1e-6


@pytest.mark.parametrize("guidance, message", [
    ({"tempo": 2.0}, "unknown guidance"),
    ({"prompt": float("nan")}, "prompt guidance"),
    ({"audio": -1.0}, "audio guidance"),
])
def test_bad_guidance_is_a_clear_error(model, guidance, message):
    with pytest.raises(BodyLanguageError, match=message):
        api.generate(model, duration=1.0, prompt="nod", guidance=guidance)


def test_bad_emotion_and_temperature_are_clear_errors(model):
    with pytest.raises(BodyLanguageError, match="unknown emotion 'glee'"):
        api.generate(model, duration=1.0, emotion="glee")
    with pytest.raises(BodyLanguageError, match="temperature"):
        api.generate(model, duration=1.0, temperature=float("inf"))


def test_generation_imports_no_corpus_or_training_code(tiny_masked_model):
    script = (
        "import sys, numpy as np\n"
        "from core import api\n"
        f"model = api.load_model({str(tiny_masked_model)!r}, device='cpu')\n"
        "api.generate(model, np.zeros(16000, np.float32), 16000, prompt='nod', emotion='anger')\n"
        "api.predict_emotion(model, api.generate(model, duration=1.0))\n"
        "loaded = [m for m in sys.modules if m.startswith(('core.corpus', 'core.train',"
        " 'core.lm.tasks', 'core.lm.dataset', 'core.inference', 'core.eval'))]\n"
        "print('LOADED', loaded)\n"
    )
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                            text=True, timeout=300, env={**__import__("os").environ,
                                                        "PYTHONPATH": str(root)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "LOADED []" in result.stdout, result.stdout


def _edited_config(folder, tmp_path, change):
    import json
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    path = copy / "lm.json"
    document = json.loads(path.read_text())
    change(document["config"])
    path.write_text(json.dumps(document))
    return copy


@pytest.mark.parametrize("change, words", [
    (lambda c: c.update(hidden=4096, feedforward=32768), ("lm", "tensor")),
    (lambda c: c.update(layers=10**6), ("layers must be a whole number",)),
    (lambda c: c.pop("audio_units"), ("lacks", "audio_units")),
    (lambda c: c.update(hidden="wide"), ("hidden",)),
    (lambda c: c.update(tempo=3), ("unknown keys", "tempo")),
], ids=["oversized", "absurd_layers", "missing_key", "wrong_type", "unknown_key"])
def test_a_damaged_masked_config_is_named_before_anything_is_built(tiny_masked_model, tmp_path,
                                                                   change, words):
    folder = _edited_config(tiny_masked_model, tmp_path, change)
    with pytest.raises(BodyLanguageError) as caught:
        api.load_model(folder, device="cpu")
    message = str(caught.value)
    assert "lm" in message
    for word in words:
        assert word in message, message


def test_prompt_to_steps_adds_the_sentence_to_every_step_only_when_a_prompt_is_given():
    import torch

    from core.lm.masked import Conditions, build_model

    with pytest.raises(BodyLanguageError, match="needs sentence_token"):
        build_model([8] * 4, 10, ["a"], "tiny", prompt_to_steps=True)
    model = build_model([8] * 4, 10, ["a"], "tiny", sentence_token=True, prompt_to_steps=True)
    codes = torch.full((2, 6, 4), -1)
    prompt = torch.randn(1, 17, 384).repeat(2, 1, 1)
    given = torch.tensor([[True] * 17, [False] * 17])
    conditions = Conditions(torch.full((2, 20), 10), prompt, given, torch.tensor([1, 1]))
    steps = model._steps(codes, conditions)
    plain = model._steps(codes, Conditions(conditions.audio, prompt, given.clone().fill_(False),
                                           conditions.emotion))
    assert not torch.allclose(steps[0], plain[0])  # the prompt reaches every step
    assert torch.equal(steps[1], plain[1])  # a dropped prompt adds nothing
