"""End to end: a few real corpus clips, tiny tokenizers trained here by their own training
functions, the tokenized cache, and tiny language-model training (loss, resume, data-parallel)."""

import argparse
import json
import os
import shutil
import socket

import numpy as np
import pytest
import torch
from tiny_corpus import write_clips

from core.checkpoint import checkpoint_files, read_header
from core.corpus.builder import make_clip
from core.errors import BodyLanguageError
from core.io.audio import load_audio
from core.io.beat2 import read_motion_npz
from core.io.textgrid import read_word_tier
from core.lm import MotionLanguageModel
from core.lm.dataset import cache_meta, default_cache_dir, load_tokenized, tokenize_corpus
from core.skeleton import PARTS
from core.tokenizers.audio import AudioTokenizer
from core.tokenizers.motion_vqvae import MotionTokenizer
from core.tokenizers.text import TextTokenizer
from core.train.audio_tokenizer import AudioTrainingConfig, train_audio_tokenizer
from core.train.lm import LOG_NAME, STATE_NAME, train_lm
from core.train.lm_options import LMTrainConfig, add_arguments, config_from_args, stage_plan
from core.train.motion_tokenizer import train_motion_tokenizer, training_config
from core.train.saved_config import load_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CORPUS_SEED = 7
CLIPS = range(7)  # with this seed: speech, speech + action, silent actions, one test clip


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm_data")
    corpus, tokenizers = root / "corpus", root / "tokenizers"
    rows = write_clips(corpus, (make_clip(CORPUS_SEED, index, check=False) for index in CLIPS))
    assert {row["split"] for row in rows} == {"train", "test"}
    train_audio_tokenizer(AudioTrainingConfig(units=16), corpus, tokenizers, progress=False)
    train_motion_tokenizer(training_config("tiny", steps=4, eval_every=0), corpus, tokenizers,
                           device="cpu", progress=False, log=lambda event: None)
    return {"corpus": corpus, "tokenizers": tokenizers, "cache": root / "cache", "rows": rows}


RUN_OPTIONS = ("device", "resume", "progress", "cache_dir", "log")  # train_lm's; the rest: config


def run(data, out, **options):
    settings = dict(device="cpu", progress=False, cache_dir=data["cache"], log=lambda event: None)
    settings.update({name: options.pop(name) for name in RUN_OPTIONS if name in options})
    config = LMTrainConfig(**{"preset": "tiny", "eval_every": 0, "eval_examples": 2, **options})
    return train_lm(config, data["corpus"], data["tokenizers"], out, **settings)


def logged(out, kind="step"):
    lines = (out / LOG_NAME).read_text().splitlines()
    return [event for event in map(json.loads, lines) if event["event"] == kind]


def test_the_cache_holds_what_the_tokenizers_make(data):
    # The cache training reads (so the other tests need not tokenise again), made afresh here.
    cache = default_cache_dir(data["cache"], data["corpus"])
    shutil.rmtree(cache, ignore_errors=True)
    report = tokenize_corpus(data["corpus"], data["tokenizers"], cache, progress=False)
    splits = [row["split"] for row in data["rows"]]
    assert report.rebuilt and report.clips == {s: splits.count(s) for s in set(splits)}
    assert not tokenize_corpus(data["corpus"], data["tokenizers"], cache, progress=False).rebuilt

    motion = MotionTokenizer.load(data["tokenizers"] / "motion_tokenizer")
    audio = AudioTokenizer.load(data["tokenizers"] / "audio_tokenizer")
    text = TextTokenizer.load()
    meta = cache_meta(cache)
    assert meta["audio_units"] == 16
    assert meta["part_codes"] == {part: motion.codebook_size(part) for part in PARTS}
    clips = load_tokenized(cache, "train")
    rows = {row["id"]: row for row in data["rows"]}
    for clip in clips:
        root = data["corpus"]
        codes = motion.tokenize(read_motion_npz(root / "smplxflame_30" / f"{clip.id}.npz"))
        assert np.array_equal(clip.codes, np.stack([codes[p] for p in PARTS], axis=1))
        units = audio.encode(load_audio(root / "wave16k" / f"{clip.id}.wav"), 16000)
        assert np.array_equal(clip.audio, units)
        # 10 audio units per 3 motion steps, up to the rounding of each stream's last step.
        assert abs(clip.audio.size - clip.steps * 10 / 3) <= 4
        words = read_word_tier(root / "textgrid" / f"{clip.id}.TextGrid")
        assert clip.transcript.tolist() == [i for w in words for i in text.encode(w.text)]
        assert (np.diff(clip.transcript_times[:, 0]) >= 0).all()
        row = rows[clip.id]
        assert (clip.emotion, clip.action or "", clip.description or "") == (
            row["emotion"], row["action"], row["description"])
        if clip.description:
            assert clip.description_ids.tolist() == text.encode(clip.description)
    assert all(c.split == "test" for c in load_tokenized(cache, "test"))


def test_training_lowers_the_loss_and_writes_a_loadable_checkpoint(data, tmp_path):
    out = tmp_path / "run"
    report = run(data, out, stage="posttrain", steps=30, batch_size=8, eval_every=15)
    losses = [event["loss"] for event in logged(out)]
    assert len(losses) == 30 and all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])
    evaluations = logged(out, "eval")
    assert [e["step"] for e in evaluations] == [15, 30]
    assert {"loss/audio_to_motion", "loss/motion_to_emotion", "motion_accuracy",
            "accuracy/motion_to_emotion"} <= set(evaluations[-1])
    assert evaluations[-1]["loss/audio_to_motion"] < evaluations[0]["loss/audio_to_motion"]
    assert report.evaluation == {k: v for k, v in evaluations[-1].items()
                                 if k not in ("event", "step")}

    model = MotionLanguageModel.load(report.checkpoint)
    meta = cache_meta(next(data["cache"].iterdir()))
    assert model.vocab.audio_units == meta["audio_units"]
    assert model.vocab.part_codes == meta["part_codes"]
    header = read_header(report.checkpoint)
    tokenizers = header.metadata["tokenizers"]
    assert tokenizers["motion_tokenizer"]["save_id"] == read_header(
        data["tokenizers"] / "motion_tokenizer").save_id
    assert header.metadata["training"]["steps"] == 30
    assert header.config["vocabulary"] == model.vocab.to_config()
    # Beside the checkpoint: the config the run was decided by, the preset's schedule filled in.
    saved = load_config(report.checkpoint, LMTrainConfig)
    assert saved == LMTrainConfig(preset="tiny", stage="posttrain", steps=30, batch_size=8,
                                  lr=1e-3, warmup_steps=3, eval_every=15, eval_examples=2)
    assert saved.resolved() == saved

    # The run also leaves a model folder that the API loads and generates with.
    from core.api import generate, load_model

    bundle = load_model(report.model_dir, device="cpu")
    for name, value in model.state_dict().items():
        assert torch.allclose(bundle.lm.state_dict()[name], value, atol=1e-2), name
    motion = generate(bundle, duration=2.0, prompt="wave", seed=0)
    assert motion.num_frames == 60


def test_resume_continues_the_step_count_and_the_loss_trajectory(data, tmp_path):
    options = dict(stage="both", steps=10, batch_size=4, save_every_steps=4)
    straight = run(data, tmp_path / "straight", **options)
    assert stage_plan("both", 10) == [("pretrain", 0, 3), ("posttrain", 3, 10)]

    events = []

    def interrupt_at_six(event):
        events.append(event)
        if event["event"] == "step" and event["step"] == 6:
            raise KeyboardInterrupt

    resumed_out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        run(data, resumed_out, log=interrupt_at_six, **options)
    assert [e["step"] for e in events if e["event"] == "saved"] == [4, 6]
    assert checkpoint_files(resumed_out / STATE_NAME).config.is_file()
    assert not checkpoint_files(resumed_out / "lm").config.is_file()

    resumed = run(data, resumed_out, **options)
    assert logged(resumed_out, "resume") == [{"event": "resume", "step": 6}]
    steps = logged(resumed_out)
    assert [e["step"] for e in steps] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert [e["stage"] for e in steps] == ["pretrain"] * 3 + ["posttrain"] * 7
    reference = {e["step"]: e["loss"] for e in logged(tmp_path / "straight")}
    for event in steps[6:]:
        assert event["loss"] == pytest.approx(reference[event["step"]], rel=1e-5)
    assert resumed.steps == straight.steps == 10
    a = MotionLanguageModel.load(straight.checkpoint).state_dict()
    b = MotionLanguageModel.load(resumed.checkpoint).state_dict()
    for name, tensor in a.items():
        torch.testing.assert_close(b[name], tensor)

    fresh = []

    def stop_at_once(event):
        fresh.append(event)
        if event["event"] == "step":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(data, resumed_out, resume=False, log=stop_at_once, **options)
    assert [e["step"] for e in fresh if e["event"] == "step"] == [1]  # started over

    with pytest.raises(BodyLanguageError, match="other settings"):
        run(data, resumed_out, **{**options, "batch_size": 8})

    # The config saved beside the checkpoint trains the same run again.
    saved = load_config(straight.checkpoint, LMTrainConfig)
    assert saved.steps == 10 and saved.batch_size == 4 and saved.save_every_steps == 4
    again = train_lm(saved, data["corpus"], data["tokenizers"], tmp_path / "again", device="cpu",
                     progress=False, cache_dir=data["cache"], log=lambda event: None)
    assert load_config(again.checkpoint, LMTrainConfig) == saved
    assert [e["loss"] for e in logged(tmp_path / "again")] == list(reference.values())
    c = MotionLanguageModel.load(again.checkpoint).state_dict()
    for name, tensor in a.items():
        assert torch.equal(c[name], tensor), name


def test_the_command_line_options_make_the_config():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--data", "a", "b", "--tokenizers", "t", "--out", "o", "--steps",
                              "5", "--batch-size", "4", "--lr", "0.002", "--eval-every", "0",
                              "--data-fraction", "0.5", "--no-pretrain", "--stage", "posttrain",
                              "--seed", "3", "--config", "tiny"])
    assert config_from_args(args) == LMTrainConfig(
        preset="tiny", stage="posttrain", steps=5, batch_size=4, lr=0.002, eval_every=0,
        data_fraction=0.5, pretrain=False, seed=3)
    defaults = config_from_args(parser.parse_args(["--data", "a", "--tokenizers", "t", "--out",
                                                   "o"]))
    assert defaults == LMTrainConfig(preset="default")
    assert defaults.resolved().steps == 450 and defaults.resolved().warmup_steps == 45
    with pytest.raises(BodyLanguageError, match="data_fraction"):
        LMTrainConfig(data_fraction=1.5).resolved()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank(rank, world, port, data, out, options):
    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    run(data, out, **options)


def test_two_gloo_processes_follow_the_single_process_loss_curve(data, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    # No dropout: each rank draws its own masks, which is noise the comparison does not want.
    options = dict(stage="both", steps=3, batch_size=4, model_overrides={"dropout": 0.0})
    run(data, tmp_path / "single", **options)
    torch.multiprocessing.start_processes(
        _rank, args=(2, _free_port(), data, tmp_path / "ddp", options), nprocs=2,
        start_method="fork",
    )
    single = [e["loss"] for e in logged(tmp_path / "single")]
    parallel = logged(tmp_path / "ddp")
    assert len(parallel) == 3  # only rank 0 logs
    assert [e["loss"] for e in parallel] == pytest.approx(single, abs=1e-4)
    a = MotionLanguageModel.load(tmp_path / "single" / "lm").state_dict()
    b = MotionLanguageModel.load(tmp_path / "ddp" / "lm").state_dict()
    for name, tensor in a.items():
        torch.testing.assert_close(b[name], tensor, atol=2e-3, rtol=1e-2)

    with pytest.raises(Exception, match="multiple of the 2 processes"):
        torch.multiprocessing.start_processes(
            _rank, args=(2, _free_port(), data, tmp_path / "odd", {**options, "batch_size": 3}),
            nprocs=2, start_method="fork",
        )


def test_new_rows_start_from_the_tokenizers_codebooks(data):
    from core.lm.config import LMConfig
    from core.train.lm import _parameter_groups, _vocabulary, init_new_rows_from_tokenizers

    tokenize_corpus(data["corpus"], data["tokenizers"], default_cache_dir(data["cache"],
                    data["corpus"]), progress=False)
    vocab = _vocabulary([default_cache_dir(data["cache"], data["corpus"])])
    torch.manual_seed(0)
    model = MotionLanguageModel(LMConfig.tiny(vocabulary=vocab.to_config()))
    before = model.embedding.extra_weight.detach().clone()
    init_new_rows_from_tokenizers(model, data["tokenizers"], seed=0)
    table = model.embedding
    text_spread = table.text_weight.std(0)
    codebook = MotionTokenizer.load(data["tokenizers"] / "motion_tokenizer").models["face"] \
        .quantizer.codebook.float()
    for name in ("audio", *PARTS):
        span = vocab.range(name)
        rows = table.extra_weight[span.start - vocab.text_size:span.stop - vocab.text_size]
        # As spread out as the word rows, not near-copies of one vector.
        assert torch.allclose(rows.std(0), text_spread, rtol=1e-3)
        if name == "face":
            # Codes far apart in the codebook are far apart as embeddings (random projection).
            near = torch.corrcoef(torch.stack([torch.pdist(codebook), torch.pdist(rows)]))[0, 1]
            assert near > 0.5
    # Special, emotion and task rows keep their initialisation.
    rest = vocab.range("emotion").start - vocab.text_size
    assert torch.equal(table.extra_weight[rest:], before[rest:])
    groups = _parameter_groups(model, 0.01)
    fast = [g for g in groups if g["lr_scale"] == 5.0]
    assert len(fast) == 1 and fast[0]["params"] == [table.extra_weight]  # tiny: random init
    assert sum(len(g["params"]) for g in groups) == sum(
        1 for p in model.parameters() if p.requires_grad)


def test_a_warm_started_model_trains_its_fresh_weights_faster():
    from core.lm.config import LMConfig
    from core.train.lm import _parameter_groups

    model = MotionLanguageModel(LMConfig.default())
    scales = {id(p): g["lr_scale"] for g in _parameter_groups(model, 0.01) for p in g["params"]}
    named = dict(model.named_parameters())
    assert scales[id(named["motion_head.weight"])] == 5.0
    cross = next(n for n in named if "crossattention" in n)
    assert scales[id(named[cross])] == 5.0
    assert scales[id(named["encoder.encoder.layer.0.attention.self.query.weight"])] == 1.0
    assert scales[id(named["decoder.encoder.layer.0.attention.self.query.weight"])] == 1.0
