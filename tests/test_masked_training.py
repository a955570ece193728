"""`python -m core train masked`: a resumable run on a real (tiny) corpus that ends in a model
folder core.api loads and generates with."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_corpus import write_clips

from core import api
from core.cli import main
from core.corpus.builder import make_clip
from core.train.masked import STATE_NAME


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("masked-corpus")
    write_clips(root, (make_clip(11, index, check=False) for index in range(6)), split="train")
    return root


def _train(corpus, out, minutes):
    return main(["train", "masked", "--data", str(corpus), "--tokenizers",
                 str(api.DEFAULT_MODEL_DIR), "--out", str(out), "--preset", "tiny",
                 "--batch", "4", "--threads", "1", "--max-cpu-min", str(minutes), "--quiet"])


def test_a_run_writes_a_model_folder_and_resumes(corpus, tmp_path):
    out = tmp_path / "run"
    assert _train(corpus, out, 0.05) == 0
    model = api.load_model(out / "model", device="cpu")
    assert model.manifest["pieces"]["lm"]["kind"] == "masked_lm"
    motion = api.generate(model, duration=2.0, prompt="nod", emotion="anger", seed=0)
    assert motion.num_frames == 60 and np.isfinite(motion.poses).all()
    first = json.loads((out / f"{STATE_NAME}.json").read_text())["config"]["config"]
    assert _train(corpus, out, 0.1) == 0
    second = json.loads((out / f"{STATE_NAME}.json").read_text())["config"]["config"]
    assert second["cpu_seconds"] > first["cpu_seconds"]
    logged = [json.loads(line)["step"] for line in (out / "train_log.jsonl").open()]
    assert logged == sorted(logged) and len(set(logged)) == len(logged)


def test_bad_options_are_one_line_errors(corpus, tmp_path, capsys):
    assert _train(corpus, tmp_path / "run", float("inf")) == 2
    assert "--max-cpu-min" in capsys.readouterr().err


def test_code_embeddings_start_from_the_tokenizers_codebooks(corpus, tmp_path):
    """Codes whose codebook vectors are near start with near embeddings (on by default), and
    `--code-init false` really turns it off (a plain bool("false") would be True)."""
    import torch

    from core.lm.masked import MaskedMotionModel
    from core.tokenizers.motion_vqvae import MotionTokenizer
    from core.train.masked import codebooks

    books = codebooks(MotionTokenizer.load(api.DEFAULT_MODEL_DIR / "motion_tokenizer"))

    def agreement(run: str, *extra: str) -> float:
        out = tmp_path / run
        assert main(["train", "masked", "--data", str(corpus), "--tokenizers",
                     str(api.DEFAULT_MODEL_DIR), "--out", str(out), "--preset", "tiny",
                     "--batch", "2", "--steps", "1", "--threads", "1", "--max-cpu-min", "1",
                     "--quiet", *extra]) == 0
        model = MaskedMotionModel.load(out / "model" / "lm")
        table = model.part_embeddings[2].weight[:-1].detach().float()
        book = books[2].float()
        return float(torch.corrcoef(torch.stack([torch.cdist(book, book).flatten(),
                                                 torch.cdist(table, table).flatten()]))[0, 1])

    assert agreement("on") > 0.5
    assert abs(agreement("off", "--code-init", "false")) < 0.2


def test_a_boolean_option_takes_only_true_or_false(corpus, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "masked", "--data", str(corpus), "--tokenizers",
              str(api.DEFAULT_MODEL_DIR), "--out", str(tmp_path / "run"), "--code-init", "maybe"])
    assert "expected true or false" in capsys.readouterr().err


@pytest.mark.parametrize("device, words", [("tpu", "unknown device 'tpu'"),
                                           ("cuda", "torch sees no CUDA GPU")])
def test_a_device_it_cannot_use_is_a_one_line_error(corpus, tmp_path, capsys, device, words):
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert main(["train", "masked", "--data", str(corpus), "--tokenizers",
                 str(api.DEFAULT_MODEL_DIR), "--out", str(tmp_path / "run"), "--preset", "tiny",
                 "--max-cpu-min", "1", "--device", device, "--quiet"]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "run" / f"{STATE_NAME}.json").exists()
