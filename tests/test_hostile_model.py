"""Hostile model folders, checkpoints and API arguments (issue 13).

Every case must end in a BodyLanguageError whose message names the bad input (file, key, tensor
or argument), raised before any heavy work, with every file of the model folder unchanged. The
folders are copies of the tiny real model of tests/tiny_model.py, damaged one way each.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import pickle
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors
import safetensors.torch
import torch
from folder_snapshot import snapshot

from core import api
from core import checkpoint as ckpt
from core.checkpoint import load_checkpoint, read_header, save_checkpoint
from core.errors import BodyLanguageError
from core.lm.config import LMConfig
from core.motion import Motion
from core.tokenizers.audio import AudioTokenizer
from core.tokenizers.motion_vqvae import MotionTokenizer
from core.tokenizers.text import TextTokenizer
from core.validate import MAX_SECONDS, check_inside

PIECES = ("lm", "motion_tokenizer", "audio_tokenizer")


class Payload:
    """A pickle that, once unpickled, writes `marker`: proof that something ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


@pytest.fixture(scope="module")
def model(tiny_model, torch_threads_restored):
    return api.load_model(tiny_model, device="cpu")


@pytest.fixture
def folder(tiny_model, tmp_path) -> Path:
    """A private copy of the tiny model folder, free to damage."""
    return Path(shutil.copytree(tiny_model, tmp_path / "model"))


def refused(call, *names: str, path: Path | None = None) -> BodyLanguageError:
    """Run `call`, which must raise a BodyLanguageError whose message holds every one of
    `names` (and whose path is `path`, when given); return the error."""
    with pytest.raises(BodyLanguageError) as error:
        call()
    message = str(error.value)
    for name in names:
        assert name in message, f"{name!r} not in {message!r}"
    if path is not None:
        assert error.value.path == str(path), message
    return error.value


def refuse_load(folder: Path, *names: str, path: Path | None = None) -> BodyLanguageError:
    """`load_model(folder)` must fail naming `names` and leave every file of `folder` as is."""
    before = snapshot(folder)
    error = refused(lambda: api.load_model(folder, device="cpu"), *names, path=path)
    assert snapshot(folder) == before
    return error


def rewrite_config(folder: Path, piece: str, change) -> Path:
    """Apply `change(config)` to a piece's stored model config; the save id stays, so only the
    change itself can be refused. Returns the checkpoint's JSON path."""
    path = folder / f"{piece}.json"
    document = json.loads(path.read_text())
    change(document["config"])
    path.write_text(json.dumps(document))
    return path


def rewrite_tensor(folder: Path, piece: str, change) -> tuple[str, Path]:
    """Apply `change(name, tensors)` -> name to a piece's weights, keeping its save id."""
    path = folder / f"{piece}.safetensors"
    with safetensors.safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
    tensors = safetensors.torch.load_file(str(path))
    name = change(tensors)
    safetensors.torch.save_file(tensors, str(path), metadata=metadata)
    return name, path


# --- damaged weights ------------------------------------------------------------------------------


@pytest.mark.parametrize("piece", PIECES)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights_are_refused_at_load_naming_tensor_and_file(folder, piece, value):
    def poison(tensors):
        name = sorted(n for n, t in tensors.items() if t.is_floating_point() and t.numel())[0]
        tensors[name].view(-1)[0] = value
        return name

    name, weights = rewrite_tensor(folder, piece, poison)
    refuse_load(folder, repr(name), "NaN or infinite", path=weights)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_every_checkpoint_kind_and_float_dtype_gets_the_finite_check(tmp_path, dtype):
    weights = {"fine": torch.ones(3, dtype=dtype), "ids": torch.arange(4),
               "bad": torch.tensor([1.0, float("nan")], dtype=dtype)}
    files = save_checkpoint(tmp_path / "any", "some_future_kind", {}, weights)
    refused(lambda: load_checkpoint(tmp_path / "any", "some_future_kind", 1), "'bad'",
            "1 NaN or infinite value", path=files.weights)
    del weights["bad"]
    save_checkpoint(tmp_path / "any", "some_future_kind", {}, weights)
    assert set(load_checkpoint(tmp_path / "any", "some_future_kind", 1)[1]) == {"fine", "ids"}


# --- the speech model an audio tokenizer names ----------------------------------------------------


def point_audio_tokenizer_at(folder: Path, source: str) -> Path:
    return rewrite_config(folder, "audio_tokenizer",
                          lambda config: config.update(feature_source=source))


def test_a_speech_model_asking_to_run_its_own_code_is_refused_without_a_prompt(
        folder, monkeypatch):
    """transformers would otherwise ask [y/N] on stdin: in the worker, its request pipe."""
    evil = folder / "speech"
    evil.mkdir()
    marker = folder.parent / "code-ran"
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    for name in ("configuration_evil.py", "modeling_evil.py", "extractor_evil.py"):
        (evil / name).write_text(code)
    (evil / "config.json").write_text(json.dumps({
        "model_type": "evil-speech", "hidden_size": 8,
        "auto_map": {"AutoConfig": "configuration_evil.EvilConfig",
                     "AutoModel": "modeling_evil.EvilModel"}}))
    (evil / "preprocessor_config.json").write_text(json.dumps({
        "auto_map": {"AutoFeatureExtractor": "extractor_evil.EvilExtractor"}}))
    point_audio_tokenizer_at(folder, "hf:speech")

    prompts = []

    def answer_no(*args):  # transformers swallows an exception here: record, then answer
        prompts.append(args)
        return "n"

    monkeypatch.setattr(builtins, "input", answer_no)
    model = api.load_model(folder, device="cpu")  # the speech model loads on first use
    before = snapshot(folder)
    refused(lambda: api.generate(model, np.zeros(16000, np.float32), 16000),
            "cannot load a speech model", path=evil.resolve())
    assert prompts == [] and not marker.exists() and snapshot(folder) == before


@pytest.mark.parametrize("layout", ["dotdot", "absolute", "link_out", "home"])
def test_a_speech_model_outside_the_model_folder_is_refused(folder, tmp_path, layout):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    source = {"dotdot": "hf:../elsewhere", "absolute": f"hf:{outside}", "link_out": "hf:speech",
              "home": "hf:~"}[layout]
    if layout == "link_out":
        (folder / "speech").symlink_to(outside, target_is_directory=True)
    config = point_audio_tokenizer_at(folder, source)
    refuse_load(folder, "speech model folder", repr(source), "outside the model folder")
    if layout in ("dotdot", "link_out"):
        # Relative folders are the checkpoint's own: it refuses them even outside load_model.
        refused(lambda: AudioTokenizer.load(config), "outside the model folder")


def test_a_speech_model_inside_the_folder_is_stored_relative_and_found_again(folder):
    tokenizer = AudioTokenizer.load(folder / "audio_tokenizer")
    speech = folder / "speech"
    speech.mkdir()
    tokenizer.config = dataclasses.replace(tokenizer.config, feature_source=f"hf:{speech}")
    tokenizer.save(folder / "copy")
    assert read_header(folder / "copy").config["feature_source"] == "hf:speech"
    moved = Path(shutil.copytree(folder, folder.parent / "moved"))
    loaded = AudioTokenizer.load(moved / "copy")
    assert loaded.config.feature_source == f"hf:{(moved / 'speech').resolve()}"


# --- traversal, links and files that are not what they say ---------------------------------------


@pytest.mark.parametrize("piece", PIECES)
@pytest.mark.parametrize("suffix", [".json", ".safetensors"])
def test_a_checkpoint_file_linking_out_of_the_folder_is_refused(folder, tmp_path, piece, suffix):
    outside = tmp_path / "outside"
    outside.mkdir()
    file = folder / f"{piece}{suffix}"
    shutil.move(file, outside / file.name)
    file.symlink_to(outside / file.name)
    refuse_load(folder, f"the {piece} checkpoint file", "outside the model folder", path=file)


def test_a_manifest_linking_out_of_the_folder_is_refused(folder, tmp_path):
    outside = tmp_path / "model.json"
    shutil.move(folder / "model.json", outside)
    (folder / "model.json").symlink_to(outside)
    refuse_load(folder, "model.json", "outside the model folder", path=folder / "model.json")


def test_links_inside_the_folder_and_a_linked_folder_load(folder, tmp_path):
    shutil.move(folder / "lm.safetensors", folder / "weights-of-lm")
    (folder / "lm.safetensors").symlink_to("weights-of-lm")
    link = tmp_path / "current"
    link.symlink_to(folder, target_is_directory=True)
    assert api.load_model(link, device="cpu").name == "tiny-test"


@pytest.mark.parametrize("stem, message", [
    ("../elsewhere/lm", "outside the model folder"),
    ("ABSOLUTE", "outside the model folder"),
    ("../missing/lm", "must be a name inside the folder"),
])
def test_traversal_in_the_manifest_is_refused(folder, tmp_path, stem, message):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copy(folder / f"lm{suffix}", elsewhere / f"lm{suffix}")
    stem = str(elsewhere / "lm") if stem == "ABSOLUTE" else stem
    manifest = folder / "model.json"
    document = json.loads(manifest.read_text())
    document["pieces"]["lm"]["checkpoint"] = stem
    manifest.write_text(json.dumps(document))
    refuse_load(folder, message)


@pytest.mark.parametrize("piece", PIECES)
def test_a_pickle_disguised_as_safetensors_is_never_unpickled(folder, piece):
    marker = folder.parent / "unpickled"
    weights = folder / f"{piece}.safetensors"
    weights.write_bytes(pickle.dumps(Payload(marker)))
    refuse_load(folder, "corrupt or truncated", path=weights)
    torch.save({"w": torch.zeros(2), "payload": Payload(marker)}, weights)  # torch's zip format
    refuse_load(folder, "corrupt or truncated", path=weights)
    assert not marker.exists()


@pytest.mark.parametrize("piece", PIECES)
@pytest.mark.parametrize("damage, suffix, message", [
    ("missing", ".json", "checkpoint config not found"),
    ("missing", ".safetensors", "checkpoint weights not found"),
    ("empty", ".json", "not valid JSON"),
    ("empty", ".safetensors", "corrupt or truncated"),
    ("truncated", ".json", "not valid JSON"),
    ("truncated", ".safetensors", "corrupt or truncated"),
    ("garbage", ".json", "not valid JSON"),
    ("garbage", ".safetensors", "corrupt or truncated"),
    ("fifo", ".json", "not a regular file"),
    ("fifo", ".safetensors", "not a regular file"),
    ("folder", ".safetensors", "not a regular file"),
])
def test_missing_empty_or_corrupt_checkpoint_files_are_named(folder, piece, damage, suffix,
                                                             message):
    file = folder / f"{piece}{suffix}"
    data = file.read_bytes()
    file.unlink()
    if damage == "empty":
        file.write_bytes(b"")
    elif damage == "truncated":
        file.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        file.write_bytes(b"\xff\xfe\x00binary garbage" * 50)
    elif damage == "fifo":
        os.mkfifo(file)  # reading it would block for ever
    elif damage == "folder":
        file.mkdir()
    refuse_load(folder, message, path=file)


# --- JSON that breaks the parser ----------------------------------------------------------------


def test_a_deeply_nested_manifest_is_refused_not_a_recursion_error(folder):
    manifest = folder / "model.json"
    manifest.write_text("[" * 200_000 + "]" * 200_000)
    refuse_load(folder, "model manifest is damaged", "nested too deeply", path=manifest)


@pytest.mark.parametrize("piece", PIECES)
def test_a_deeply_nested_checkpoint_config_is_refused(folder, piece):
    config = folder / f"{piece}.json"
    config.write_text('{"a": ' * 200_000 + "1" + "}" * 200_000)
    refuse_load(folder, "checkpoint config is damaged", "nested too deeply", path=config)


def test_an_oversized_json_file_is_refused_before_it_is_read(folder, monkeypatch):
    config = folder / "lm.json"
    limit = config.stat().st_size - 1
    assert (folder / "model.json").stat().st_size <= limit  # only the LM's file is too big
    monkeypatch.setattr(ckpt, "MAX_JSON_BYTES", limit)
    refuse_load(folder, "checkpoint config is", f"bytes, more than the {limit}", path=config)


# --- configs that do not fit their weights or are absurd -----------------------------------------


@pytest.mark.parametrize("piece, change, names", [
    ("lm", lambda c: c.update(encoder_intermediate=32768), ["encoder", "[32768, 64]"]),
    ("lm", lambda c: c.update(decoder_layers=40), ["'decoder.encoder.layer.", "do not hold"]),
    ("lm", lambda c: c.update(encoder_layers=10**6), ["encoder_layers", "limit of 64"]),
    ("lm", lambda c: c.update(encoder_hidden=2**20, encoder_heads=1), ["encoder_hidden"]),
    ("lm", lambda c: c["vocabulary"].update(text_size=10**9), ["billion parameters"]),
    ("lm", lambda c: c.update(window_seconds=1e308), ["window_seconds"]),
    ("lm", lambda c: c.update(dropout="lots"), ["dropout"]),
    ("motion_tokenizer", lambda c: c["parts"]["face"].update(width=512), ["'face.", "[512"]),
    ("motion_tokenizer", lambda c: c["parts"]["hands"].update(width=10**6),
     ["parts.hands.width", "limit of 4096"]),
    ("motion_tokenizer", lambda c: c["parts"]["upper"].update(depth=10**6),
     ["parts.upper.depth"]),
    ("motion_tokenizer", lambda c: c["parts"]["lower"].update(dilation_growth=16, depth=10),
     ["parts.lower", "dilation_growth"]),
    ("motion_tokenizer", lambda c: c.update(fps=float("nan")), ["fps"]),
    ("audio_tokenizer", lambda c: c.update(num_units=60000), ["'centroids'", "(60000,"]),
])
def test_an_oversized_or_mismatched_config_fails_before_any_model_is_built(
        folder, monkeypatch, piece, change, names):
    config = rewrite_config(folder, piece, change)

    def built(*args, **kwargs):
        raise AssertionError("a model was built from the damaged config")

    if piece == "lm":  # checked before MotionLanguageModel.load allocates anything
        monkeypatch.setattr(api.MotionLanguageModel, "load", built)
    started = time.perf_counter()
    refuse_load(folder, *names, path=config)
    assert time.perf_counter() - started < 20


@pytest.mark.parametrize("piece, key", [
    ("lm", "encoder_hidden"),
    ("lm", "vocabulary"),
    ("lm", "aligned_memory"),
    ("motion_tokenizer", "fps"),
    ("motion_tokenizer", "face_space"),
    ("motion_tokenizer", "parts"),
    ("motion_tokenizer", "parts.face.input_dim"),
    ("audio_tokenizer", "feature_dim"),
    ("audio_tokenizer", "num_units"),
    ("audio_tokenizer", "feature_source"),
])
def test_a_config_missing_a_key_names_it(folder, piece, key):
    *parents, last = key.split(".")

    def drop(config):
        for parent in parents:
            config = config[parent]
        del config[last]

    config = rewrite_config(folder, piece, drop)
    refuse_load(folder, last, path=config)


def test_direct_loaders_check_their_configs_too(folder):
    config = rewrite_config(folder, "motion_tokenizer",
                            lambda c: c["parts"]["face"].update(code_dim=4096))
    refused(lambda: MotionTokenizer.load(folder / "motion_tokenizer"), "face.encoder",
            "[4096, 32, 3]", path=config)
    with pytest.raises(BodyLanguageError, match="LM config lacks decoder_heads"):
        values = LMConfig.tiny().to_dict()
        del values["decoder_heads"]
        LMConfig.from_dict(values)
    values = LMConfig.tiny().to_dict()
    del values["preset"], values["dropout"]  # training-only keys may be left out
    assert LMConfig.from_dict(values).dropout == LMConfig.tiny().dropout


# --- API arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, names", [
    ({"seed": 2**63}, ["seed", str(2**63)]),
    ({"seed": -(2**63) - 1}, ["seed"]),
    ({"seed": np.uint64(2**64 - 1)}, ["seed"]),
    ({"seed": 10**30}, ["seed"]),
    ({"prompt": "wave \ud800 hello"}, ["prompt", "surrogate", "position 5"]),
    ({"prompt": "wave", "transcript": "\udcff"}, ["transcript", "surrogate"]),
    ({"duration": 1e12}, ["duration", "3600 s"]),
    ({"duration": MAX_SECONDS + 1}, ["duration", "3601"]),
    ({"duration": None, "audio": np.broadcast_to(np.float32(0), (8000 * 3601,)),
      "sample_rate": 8000}, ["audio", "3601"]),
    ({"duration": None, "keep": Motion.rest(3601, fps=1.0)}, ["keep", "3601"]),
])
def test_bad_arguments_are_named_before_any_work(model, kwargs, names):
    arguments = {"prompt": "wave", "duration": 1.0, **kwargs}
    started = time.perf_counter()
    refused(lambda: api.generate(model, **arguments), *names)
    assert time.perf_counter() - started < 1.0


def test_extreme_but_valid_seeds_still_generate(model):
    for seed in (2**63 - 1, -(2**63), np.int64(7)):
        motion = api.generate(model, prompt="wave", duration=0.5, seed=seed)
        assert motion.num_frames == 15 and np.isfinite(motion.poses).all()


def test_a_motion_longer_than_the_limit_is_refused_by_predict_emotion(model):
    refused(lambda: api.predict_emotion(model, Motion.rest(3601, fps=1.0)), "motion", "3601")


def test_the_text_tokenizer_names_a_lone_surrogate():
    refused(lambda: TextTokenizer.load().encode("ok \udfff"), "text to encode", "surrogate")


def test_check_inside_accepts_the_folder_and_refuses_its_parent(tmp_path):
    (tmp_path / "a").mkdir()
    inner = tmp_path / "a" / "b"
    assert check_inside(inner, tmp_path / "a", "x") == inner.resolve()
    refused(lambda: check_inside(tmp_path / "a" / ".." / "b", tmp_path / "a", "the thing"),
            "the thing", "outside the model folder")


def test_a_text_tokenizer_folder_asking_to_run_its_own_code_is_refused(tmp_path, monkeypatch):
    from core.tokenizers.text import minilm_dir

    folder = tmp_path / "tokenizer"
    folder.mkdir()
    shutil.copy(minilm_dir() / "vocab.txt", folder / "vocab.txt")
    marker = tmp_path / "code-ran"
    (folder / "tokenizer_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "EvilTokenizer",
         "auto_map": {"AutoTokenizer": ["tokenizer_evil.EvilTokenizer", None]}}))
    prompts = []
    monkeypatch.setattr(builtins, "input", lambda *args: prompts.append(args) or "n")
    refused(lambda: TextTokenizer.load(folder), "cannot load the text tokenizer", path=folder)
    assert prompts == [] and not marker.exists()
