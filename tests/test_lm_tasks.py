"""Task templates, examples, sampling and collation of the LM's training data, and the tokenized
cache's storage and windows. Clips here are built directly from random codes and units (so every
range is known) with real MiniLM word pieces; tests/test_lm_training.py runs the real tokenizers.
"""

import math
from collections import Counter

import numpy as np
import pytest
import torch

from core.corpus.action_phrases import PHRASES
from core.errors import BodyLanguageError
from core.lm import IGNORE, MOTION_STEP, LMConfig, MotionLanguageModel
from core.lm.batches import allowed_mask, collate
from core.lm.config import MINILM_TEXT_SIZE
from core.lm.dataset import (
    STEP_ALIGNMENT,
    TokenizedClip,
    load_split,
    random_window,
    save_split,
)
from core.lm.task_sampling import STAGE_WEIGHTS, TaskSampler, evaluation_examples, paired_subset
from core.lm.tasks import (
    ELIGIBLE,
    POSTTRAIN_TASKS,
    PRETRAIN_TASKS,
    TEMPLATES,
    TaskContext,
    build_example,
)
from core.skeleton import PARTS
from core.tokenizers.text import TextTokenizer
from core.tokenizers.vocabulary import TASKS, Vocabulary

# Parts of different sizes, so a code that lands in another part's range is caught.
PART_CODES = {"face": 12, "hands": 20, "upper": 9, "lower": 30}
AUDIO_UNITS = 16
VOCAB = Vocabulary(MINILM_TEXT_SIZE, AUDIO_UNITS, PART_CODES)
CONFIG = LMConfig.tiny(vocabulary=VOCAB.to_config(), dropout=0.0)
SENTENCES = (
    "sarah took out the trash this morning didn't she",
    "in my opinion your idea is better than mine",
    "why didn't our manager just wash the car",
    "i think i left my charger in the bathroom",
)
HELDOUT_DESCRIPTIONS = {d for _, heldout in PHRASES.values() for d in heldout}


@pytest.fixture(scope="module")
def text_tokenizer():
    return TextTokenizer.load()


@pytest.fixture(scope="module")
def ctx(text_tokenizer):
    return TaskContext.from_config(CONFIG, text_tokenizer)


def make_clip(text_tokenizer, index, split="train", steps=90, speech=True, action=None,
              emotion="anger", seed=0):
    """A clip of `steps` motion steps with random codes and units; speech spread over the clip;
    an action (with a training phrasing for train clips, a held-out one otherwise)."""
    rng = np.random.default_rng([seed, index])
    codes = np.stack([rng.integers(0, PART_CODES[p], steps) for p in PARTS], axis=1)
    audio = rng.integers(0, AUDIO_UNITS, math.ceil(steps * 10 / 3))
    pieces, times = [], []
    if speech:
        words = SENTENCES[index % len(SENTENCES)].split()
        edges = np.linspace(0.3, steps / 7.5 - 0.3, len(words) + 1)
        for word, start, end in zip(words, edges[:-1], edges[1:], strict=True):
            ids = text_tokenizer.encode(word)
            pieces += ids
            times += [(start, end)] * len(ids)
    description = None
    if action is not None:
        train, heldout = PHRASES[action]
        pool = train if split == "train" else heldout
        description = pool[index % len(pool)]
    return TokenizedClip(
        id=f"{split}_{index:03d}", split=split, codes=codes.astype(np.int64), audio=audio,
        transcript=np.asarray(pieces, np.int64),
        transcript_times=np.asarray(times, np.float32).reshape(-1, 2),
        emotion=emotion, action=action, description=description,
        description_ids=np.asarray(text_tokenizer.encode(description), np.int64)
        if description else np.zeros(0, np.int64),
        voice="en-us", source="synthetic",
    )


@pytest.fixture(scope="module")
def clips(text_tokenizer):
    """Train clips of every kind: speech, speech + action, silent action; short and long."""
    emotions = VOCAB.emotions
    made = []
    for i in range(12):
        kind = i % 3
        action = None if kind == 0 else ("nod", "shrug", "wave_right_hand")[i % 3]
        made.append(make_clip(text_tokenizer, i, steps=(90, 40, 130)[kind], speech=kind != 2,
                              action=action, emotion=emotions[i % len(emotions)]))
    return made


@pytest.fixture(scope="module")
def test_clips(text_tokenizer):
    return [make_clip(text_tokenizer, 100 + i, split="test", steps=80, speech=i != 1,
                      action=None if i == 0 else "shrug", emotion="sadness") for i in range(3)]


# --- examples -------------------------------------------------------------------------------------


def blocks(example):
    """The encoder row cut into its delimited blocks: {"<text>": ids, "<audio>": ids, ...}."""
    ids = list(example.input_ids)
    found = {}
    for opening in ("<text>", "<emotion>", "<audio>", "<motion>"):
        start = VOCAB.special(opening)
        if start in ids:
            first = ids.index(start) + 1
            last = ids.index(VOCAB.special("</" + opening[1:]))
            found[opening] = (first, last)
    return found


def check_valid(example, window, ctx):
    vocab = ctx.vocab
    ids, codes = example.input_ids, example.motion_codes
    assert len(ids) <= CONFIG.encoder_max_positions and codes.shape == (len(ids), 4)
    assert ids[0] == vocab.task(example.task)
    found = blocks(example)
    first, last = found["<text>"]
    text = ids[first:last]
    assert len(text) <= CONFIG.position_budget()["text"]
    assert all(t in vocab.range("text") or t == vocab.special("<sep>") for t in text)
    if "<audio>" in found:
        first, last = found["<audio>"]
        assert np.array_equal(vocab.values("audio", ids[first:last]), window.audio)
        assert last - first <= CONFIG.audio_units_per_window
    if "<emotion>" in found:
        first, last = found["<emotion>"]
        assert list(ids[first:last]) == [vocab.emotion(window.clip.emotion)]
    steps = ids == MOTION_STEP
    if "<motion>" in found:
        first, last = found["<motion>"]
        assert steps[first:last].all() and steps.sum() == window.steps
        given = codes[first:last]
        for index, part in enumerate(PARTS):
            column = given[:, index]
            assert ((column == -1) | (column == window.codes[:, index])).all()
            assert column.max() < PART_CODES[part]
    else:
        assert not steps.any()
    # Outside the motion-step positions every id is a real vocabulary id.
    assert ((ids[~steps] >= 0) & (ids[~steps] < vocab.size)).all()
    assert (codes[~steps] == -1).all()
    if example.is_motion:
        targets, mask = example.motion_targets, example.motion_loss_mask
        assert targets.shape == mask.shape == (window.steps, 4)
        assert targets.shape[0] <= CONFIG.decoder_max_positions
        assert mask.any() and (targets[mask] >= 0).all()
        known = targets != IGNORE
        assert np.array_equal(targets[known], window.codes[known])
        assert example.token_targets is None
    else:
        tokens = example.token_targets
        assert 0 < len(tokens) <= CONFIG.decoder_max_positions
        assert allowed_mask(vocab, example.token_allowed)[tokens].all()


def test_every_task_makes_valid_examples_from_every_kind_of_clip(ctx, clips):
    rng = np.random.default_rng(0)
    made = Counter()
    for clip in clips:
        for task in TASKS:
            if not ELIGIBLE[task](clip):
                continue
            for _ in range(3):
                window = random_window(clip, ctx.window_steps, rng)
                check_valid(build_example(task, window, ctx, rng), window, ctx)
                made[task] += 1
    assert set(made) == set(TASKS)


def test_each_task_gives_and_trains_the_right_parts_and_steps(ctx, clips):
    rng = np.random.default_rng(1)
    speech = next(c for c in clips if c.action is None)
    window = speech.window(0, ctx.window_steps)

    def given_columns(example):
        first, last = blocks(example)["<motion>"]
        return (example.motion_codes[first:last] >= 0).all(axis=0)

    example = build_example("upper_to_lower", window, ctx, rng)
    assert list(given_columns(example)) == [p == "upper" for p in PARTS]
    assert list(example.motion_loss_mask.all(axis=0)) == [p == "lower" for p in PARTS]
    assert (example.motion_targets[:, [0, 1]] == IGNORE).all()  # face, hands unknown

    example = build_example("body_to_hands", window, ctx, rng)
    assert list(given_columns(example)) == [p in ("upper", "lower") for p in PARTS]
    assert list(example.motion_loss_mask.any(axis=0)) == [p == "hands" for p in PARTS]

    example = build_example("edit_part", window, ctx, rng)
    part = example.info["part"]
    assert list(given_columns(example)) == [p != part for p in PARTS]
    assert list(example.motion_loss_mask.any(axis=0)) == [p == part for p in PARTS]
    assert (example.motion_targets >= 0).all()  # the kept parts are teacher-forced
    assert {"face": "face", "hands": "hands", "upper": "upper body",
            "lower": "lower body"}[part] in example.prompt

    for task in ("edit_frames", "motion_inbetween"):
        example = build_example(task, window, ctx, rng)
        masked = np.zeros(window.steps, dtype=bool)
        masked[example.info["masked_steps"]] = True
        first, last = blocks(example)["<motion>"]
        given = example.motion_codes[first:last]
        assert 0 < masked.sum() < window.steps
        assert (given[masked] == -1).all() and (given[~masked] >= 0).all()
        assert np.array_equal(example.motion_loss_mask, np.repeat(masked[:, None], 4, axis=1))
        assert ("<audio>" in blocks(example)) == (task == "edit_frames")

    example = build_example("audio_to_motion", window, ctx, rng)
    assert "<motion>" not in blocks(example) and example.motion_loss_mask.all()

    example = build_example("transcript_audio_to_motion", window, ctx, rng)
    first, last = blocks(example)["<text>"]
    text = list(example.input_ids[first:last])
    sep = text.index(VOCAB.special("<sep>"))
    assert text[sep + 1:] == list(window.transcript) and len(window.transcript) > 0

    example = build_example("audio_to_text", window, ctx, rng)
    assert list(example.token_targets) == [*window.transcript, VOCAB.special("<eos>")]

    example = build_example("motion_to_emotion", window, ctx, rng)
    assert list(example.token_targets) == [VOCAB.emotion(speech.emotion)]
    assert example.token_allowed == ("emotion",)
    assert (given_columns(example)).all()

    acted = next(c for c in clips if c.description and c.speaks)
    example = build_example("text_to_motion", acted.window(0, ctx.window_steps), ctx, rng)
    assert acted.description in example.prompt
    first, last = blocks(example)["<text>"]
    pieces = list(example.input_ids[first:last])
    described = list(acted.description_ids)
    assert any(pieces[i:i + len(described)] == described for i in range(len(pieces)))
    assert "<audio>" not in blocks(example)


def test_clips_that_cannot_make_a_task_are_refused(ctx, clips):
    silent = next(c for c in clips if not c.speaks)
    rng = np.random.default_rng(0)
    with pytest.raises(BodyLanguageError, match="cannot make a audio_to_motion"):
        build_example("audio_to_motion", silent.window(0, 75), ctx, rng)
    with pytest.raises(BodyLanguageError, match="unknown task"):
        build_example("dance", silent.window(0, 75), ctx, rng)


def test_long_prompts_are_cut_to_the_text_budget(ctx, text_tokenizer):
    long_speech = make_clip(text_tokenizer, 0, steps=75)
    words = np.tile(long_speech.transcript, 40)
    clip = TokenizedClip(**{**long_speech.__dict__, "transcript": words,
                            "transcript_times": np.tile([[1.0, 2.0]], (len(words), 1))})
    example = build_example("transcript_audio_to_motion", clip.window(0, 75), ctx,
                            np.random.default_rng(0))
    first, last = blocks(example)["<text>"]
    assert last - first == CONFIG.position_budget()["text"]
    # Everything but the unused motion block (75 steps + 2 delimiters) and emotion (3) is used.
    assert len(example.input_ids) == CONFIG.encoder_max_positions - 75 - 2 - 3


# --- windows --------------------------------------------------------------------------------------


def test_windows_align_ten_audio_units_to_three_motion_steps(text_tokenizer):
    clip = make_clip(text_tokenizer, 1, steps=120)
    window = clip.window(30, 75)
    assert np.array_equal(window.codes, clip.codes[30:105])
    assert np.array_equal(window.audio, clip.audio[100:350])  # 30 steps = 4 s = 100 units
    with pytest.raises(BodyLanguageError, match="multiple of 3"):
        clip.window(31, 75)
    end = clip.window(111, 75)  # cut at the clip's end
    assert end.steps == 9 and np.array_equal(end.audio, clip.audio[370:400])
    # Words belong to the window their middle falls in.
    middles = clip.transcript_times.mean(axis=1)
    inside = (middles >= 4.0) & (middles < 14.0)
    assert np.array_equal(window.transcript, clip.transcript[inside])
    rng = np.random.default_rng(0)
    starts = {random_window(clip, 75, rng).start for _ in range(200)}
    assert starts == set(range(0, 46, STEP_ALIGNMENT))
    short = make_clip(text_tokenizer, 2, steps=40)
    assert random_window(short, 75, rng).steps == 40


def test_cache_round_trip_keeps_every_field(tmp_path, clips):
    path = tmp_path / "train.npz"
    save_split(path, clips)
    loaded = load_split(path)
    assert [c.id for c in loaded] == [c.id for c in clips]
    for got, want in zip(loaded, clips, strict=True):
        for name in ("codes", "audio", "transcript", "transcript_times", "description_ids"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
        for name in ("split", "emotion", "action", "description", "voice", "source"):
            assert getattr(got, name) == getattr(want, name), name
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(BodyLanguageError, match="damaged"):
        load_split(path)


# --- held-out phrasings --------------------------------------------------------------------------


def test_heldout_templates_differ_from_training_templates():
    assert set(TEMPLATES) == set(ELIGIBLE) == set(TASKS)  # every task token has its templates
    for task, templates in TEMPLATES.items():
        assert len(templates.train) >= 4 and templates.heldout, task
        assert not set(templates.train) & set(templates.heldout), task


def test_training_never_sees_heldout_phrasings(ctx, clips, test_clips):
    with pytest.raises(BodyLanguageError, match="train split"):
        TaskSampler([*clips, test_clips[0]], ctx, "posttrain")
    heldout_templates = {t for templates in TEMPLATES.values() for t in templates.heldout}
    for stage in ("pretrain", "posttrain"):
        sampler = TaskSampler(clips, ctx, stage, seed=3)
        for example in sampler.batch(0, range(300)):
            assert example.template in TEMPLATES[example.task].train
            assert example.template not in heldout_templates
            assert not any(d in example.prompt for d in HELDOUT_DESCRIPTIONS), example.prompt
    evaluation = evaluation_examples(test_clips, ctx, per_task=3)
    assert set(evaluation) == set(TASKS)
    for task, examples in evaluation.items():
        assert all(e.template in TEMPLATES[task].heldout for e in examples)
        assert all(e.clip_id.startswith("test") for e in examples)
    described = [e for e in evaluation["text_to_motion"]]
    assert all(any(d in e.prompt for d in HELDOUT_DESCRIPTIONS) for e in described)


# --- sampling -------------------------------------------------------------------------------------


def test_sampler_mixes_the_stage_tasks_by_weight_and_is_deterministic(ctx, clips):
    for stage, tasks in (("pretrain", PRETRAIN_TASKS), ("posttrain", POSTTRAIN_TASKS)):
        sampler = TaskSampler(clips, ctx, stage, seed=1)
        assert set(sampler.tasks) == set(tasks)
        drawn = Counter(e.task for e in sampler.batch(0, range(600)))
        weights = STAGE_WEIGHTS[stage]
        total = sum(weights.values())
        for task in tasks:
            assert drawn[task] / 600 == pytest.approx(weights[task] / total, abs=0.05), task
    sampler = TaskSampler(clips, ctx, "posttrain", seed=1)
    again = TaskSampler(clips, ctx, "posttrain", seed=1)
    # A data-parallel rank's rows are exactly those rows of the global batch.
    whole = sampler.batch(5, range(8))
    shard = again.batch(5, range(4, 8))
    for a, b in zip(whole[4:], shard, strict=True):
        assert a.task == b.task and a.clip_id == b.clip_id
        assert np.array_equal(a.input_ids, b.input_ids)
        assert np.array_equal(a.motion_codes, b.motion_codes)
    other = TaskSampler(clips, ctx, "posttrain", seed=2).batch(5, range(8))
    assert [e.clip_id for e in other] != [e.clip_id for e in whole] or [
        e.task for e in other] != [e.task for e in whole]


def test_data_fraction_limits_post_training_to_a_nested_subset(ctx, clips):
    quarter, half = paired_subset(clips, 0.25, seed=0), paired_subset(clips, 0.5, seed=0)
    assert len(quarter) == 3 and len(half) == 6 and quarter <= half
    assert paired_subset(clips, 1.0) == {c.id for c in clips}
    with pytest.raises(BodyLanguageError, match="data_fraction"):
        paired_subset(clips, 0.0)
    post = TaskSampler(clips, ctx, "posttrain", data_fraction=0.25, seed=0)
    assert {e.clip_id for e in post.batch(0, range(200))} <= quarter
    pre = TaskSampler(clips, ctx, "pretrain", data_fraction=0.25, seed=0)
    assert len({e.clip_id for e in pre.batch(0, range(200))} - quarter) > 0


# --- collation ------------------------------------------------------------------------------------


def test_collate_pads_each_kind_and_keeps_rows_apart(ctx, clips):
    rng = np.random.default_rng(4)
    speech, short = clips[0], clips[1]
    examples = [
        build_example("audio_to_motion", speech.window(0, 75), ctx, rng),
        build_example("motion_to_emotion", short.window(0, 75), ctx, rng),
        build_example("edit_part", short.window(0, 75), ctx, rng),
        build_example("audio_to_text", speech.window(0, 75), ctx, rng),
    ]
    batch = collate(examples, VOCAB)
    length = max(len(e.input_ids) for e in examples)
    assert batch["input_ids"].shape == (4, length)
    assert batch["motion_targets"].shape == (4, 75, 4)
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        assert batch["attention_mask"][row].tolist() == [1] * n + [0] * (length - n)
        assert (batch["input_ids"][row, n:] == VOCAB.special("<pad>")).all()
        assert (batch["motion_codes"][row, n:] == -1).all()
        if example.is_motion:
            steps = len(example.motion_targets)
            assert (batch["motion_targets"][row, steps:] == IGNORE).all()
            assert not batch["motion_loss_mask"][row, steps:].any()
            assert (batch["token_targets"][row] == IGNORE).all()
        else:
            m = len(example.token_targets)
            assert batch["token_targets"][row, :m].tolist() == example.token_targets.tolist()
            assert (batch["token_targets"][row, m:] == IGNORE).all()
            assert not batch["motion_loss_mask"][row].any()
            assert torch.equal(batch["token_allowed"][row],
                               torch.tensor(allowed_mask(VOCAB, example.token_allowed)))
    with pytest.raises(BodyLanguageError, match="empty"):
        collate([], VOCAB)

    # Padding changes nothing: the batch loss is the mean of each row's loss alone.
    torch.manual_seed(0)
    model = MotionLanguageModel(CONFIG).eval()
    with torch.no_grad():
        alone = [float(model(collate([e], VOCAB)).loss) for e in examples]
        together = float(model(batch).loss)
    assert all(math.isfinite(v) for v in alone)
    assert together == pytest.approx(np.mean(alone), rel=1e-4)
