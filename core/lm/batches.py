"""Examples padded into the motion language model's batch (core/lm/batch_format.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from core.errors import BodyLanguageError
from core.lm.batch_format import IGNORE
from core.lm.tasks import Example
from core.skeleton import PARTS
from core.tokenizers.vocabulary import Vocabulary


def collate(examples: Sequence[Example], vocab: Vocabulary) -> dict[str, torch.Tensor]:
    """Pad examples into the model's batch (core/lm/batch_format.py): encoder rows padded with <pad>
    (attention_mask 0), motion rows padded with IGNORE steps, token rows with IGNORE; a row of
    one kind gets IGNORE/False everywhere on the other kind's targets."""
    if not examples:
        raise BodyLanguageError("cannot collate an empty batch")
    rows = len(examples)
    parts = len(PARTS)
    length = max(len(e.input_ids) for e in examples)
    pad = vocab.special("<pad>")
    input_ids = np.full((rows, length), pad, dtype=np.int64)
    attention = np.zeros((rows, length), dtype=np.int64)
    codes = np.full((rows, length, parts), -1, dtype=np.int64)
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        input_ids[row, :n] = example.input_ids
        attention[row, :n] = 1
        codes[row, :n] = example.motion_codes
    batch = {
        "input_ids": torch.from_numpy(input_ids),
        "attention_mask": torch.from_numpy(attention),
        "motion_codes": torch.from_numpy(codes),
    }
    motion_rows = [e for e in examples if e.is_motion]
    if motion_rows:
        steps = max(len(e.motion_targets) for e in motion_rows)
        targets = np.full((rows, steps, parts), IGNORE, dtype=np.int64)
        mask = np.zeros((rows, steps, parts), dtype=bool)
        for row, example in enumerate(examples):
            if example.is_motion:
                n = len(example.motion_targets)
                targets[row, :n] = example.motion_targets
                mask[row, :n] = example.motion_loss_mask
        batch["motion_targets"] = torch.from_numpy(targets)
        batch["motion_loss_mask"] = torch.from_numpy(mask)
    token_rows = [e for e in examples if e.token_targets is not None]
    if token_rows:
        width = max(len(e.token_targets) for e in token_rows)
        targets = np.full((rows, width), IGNORE, dtype=np.int64)
        allowed = np.ones((rows, vocab.size), dtype=bool)
        for row, example in enumerate(examples):
            if example.token_targets is not None:
                targets[row, :len(example.token_targets)] = example.token_targets
                allowed[row] = allowed_mask(vocab, example.token_allowed)
        batch["token_targets"] = torch.from_numpy(targets)
        batch["token_allowed"] = torch.from_numpy(allowed)
    return batch


_ALLOWED_CACHE: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}


def allowed_mask(vocab: Vocabulary, allowed: Sequence[str]) -> np.ndarray:
    """(V,) bool over the named vocabulary blocks ("text", "emotion", ...) and special tokens
    ("<eos>"); the same mask generation must use for the task's output."""
    key = (hash(vocab), tuple(allowed))
    mask = _ALLOWED_CACHE.get(key)
    if mask is None:
        blocks = [name for name in allowed if not name.startswith("<")]
        mask = vocab.mask(*blocks) if blocks else np.zeros(vocab.size, dtype=bool)
        for name in allowed:
            if name.startswith("<"):
                mask[vocab.special(name)] = True
        mask.setflags(write=False)
        _ALLOWED_CACHE[key] = mask
    return mask
