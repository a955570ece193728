"""Checkpoints of the autoregressive motion language model (kind "lm", format 1): the config and
every weight, except frozen MiniLM word-piece rows, which are referenced by package name and
SHA-256 and read back from the installed package."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import safetensors
import torch

from core.checkpoint import CheckpointFiles, load_checkpoint, read_header, save_checkpoint
from core.errors import BodyLanguageError
from core.lm.config import LMConfig
from core.tokenizers.text import MINILM_DISTRIBUTION, minilm_dir

if TYPE_CHECKING:
    from core.lm.model import MotionLanguageModel

CHECKPOINT_KIND = "lm"
FORMAT_VERSION = 1
TEXT_ROWS_KEY = "encoder.embeddings.word_embeddings.text_weight"
_MINILM_WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


def save_language_model(
    model: MotionLanguageModel, path: str | os.PathLike, dtype: torch.dtype,
    metadata: Mapping[str, Any] | None = None,
) -> CheckpointFiles:
    """Write a checkpoint (kind "lm", format 1), floating weights as `dtype`. Frozen MiniLM
    word-piece rows are referenced by package name and SHA-256, not stored."""
    state = model.state_dict()
    extra = dict(metadata or {})
    if model.config.freeze_text_embeddings:
        rows = state.pop(TEXT_ROWS_KEY)
        extra["text_embeddings"] = {"source": MINILM_DISTRIBUTION, "sha256": _sha256(rows)}
    tensors = {name: t.to(dtype) if t.is_floating_point() else t for name, t in state.items()}
    return save_checkpoint(path, CHECKPOINT_KIND, model.config.to_dict(), tensors,
                           FORMAT_VERSION, extra)


def load_language_model(
    cls: type[MotionLanguageModel], path: str | os.PathLike, device: str | torch.device
) -> MotionLanguageModel:
    """The model (of class `cls`) of a checkpoint written by `save_language_model`, in float32,
    in eval mode, on `device`."""
    stored, tensors = load_checkpoint(path, CHECKPOINT_KIND, FORMAT_VERSION)
    config = LMConfig.from_dict(stored)
    with _skipped_initialisation():  # every weight is overwritten below
        model = cls(config, pretrained=False)
    state = {name: t.float() if t.is_floating_point() else t for name, t in tensors.items()}
    if config.freeze_text_embeddings:
        reference = read_header(path).metadata.get("text_embeddings", {})
        rows = _minilm_word_embeddings()
        if _sha256(rows) != reference.get("sha256"):
            raise BodyLanguageError(
                f"the model was trained with other word embeddings than the installed "
                f"{MINILM_DISTRIBUTION} holds (reinstall the version it was trained with)",
                path,
            )
        state[TEXT_ROWS_KEY] = rows
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise BodyLanguageError(
            f"checkpoint does not fit the model: missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}", path
        )
    model.load_state_dict(state)
    return model.to(device).eval()


def _skipped_initialisation() -> contextlib.AbstractContextManager:
    try:
        from transformers.modeling_utils import no_init_weights
    except ImportError:  # moved in some transformers version: initialising is only slower
        return contextlib.nullcontext()
    return no_init_weights()


def _minilm_word_embeddings() -> torch.Tensor:
    path = minilm_dir() / "model.safetensors"
    try:
        with safetensors.safe_open(str(path), framework="pt", device="cpu") as handle:
            return handle.get_tensor(_MINILM_WORD_EMBEDDINGS).float()
    except (OSError, safetensors.SafetensorError, KeyError) as exc:
        raise BodyLanguageError(f"cannot read MiniLM's word embeddings: {exc}", path) from None


def _sha256(tensor: torch.Tensor) -> str:
    array = tensor.detach().to("cpu", torch.float32).contiguous().numpy()
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


