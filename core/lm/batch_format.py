"""The motion language model's batch: what `MotionLanguageModel.forward` reads (core/lm/batches.py
builds it from examples) and its checks, which name a bad tensor instead of failing deep in torch.

Every tensor is int64 unless said, B rows, S encoder positions, N decoder motion steps,
M decoder tokens, V = vocabulary size:

  encoder side (also what `encode` and core/lm/generate.py take as `encoder_inputs`)
    "input_ids"        (B, S)  unified-vocabulary ids; MOTION_STEP (-1) at motion-step
                       positions; padding positions may hold anything (they are masked out)
    "attention_mask"   (B, S)  optional, bool or 0/1: 1 at real positions, 0 at padding
    "motion_codes"     (B, S, 4)  needed when input_ids has MOTION_STEP: at those positions the
                       code of each part in PARTS order (face, hands, upper, lower), or -1 where
                       that part is not given (it then adds its `<part_mask>` embedding); values
                       at other positions are ignored
  decoder side, motion rows
    "motion_targets"   (B, N, 4)  the window's codes per step and part, -100 where there is none
                       (steps past a short window's end, parts the data lacks)
    "motion_loss_mask" (B, N, 4)  bool, optional (default: motion_targets >= 0): which codes are
                       trained. Codes present but not trained (kept parts of an edit) are still
                       teacher-forced as decoder inputs, exactly as generation forces them.
  decoder side, token rows
    "token_targets"    (B, M)  unified ids to write, -100 to ignore; end with <eos> where the
                       output has a free length (transcripts, captions)
    "token_allowed"    (V,) or (B, V) bool, optional: the ids the softmax ranges over (e.g. only
                       the eight emotions); use the same mask for `generate_tokens`
A row is a motion row when its motion_loss_mask has a True entry and a token row when its
token_targets have an id >= 0; each row must be exactly one. One batch may mix both kinds: the
encoder runs once, the decoder once per kind. The loss is the mean over rows of each row's mean
cross-entropy, so a one-token emotion row weighs as much as a 75-step motion row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from core.errors import BodyLanguageError
from core.skeleton import PARTS

MOTION_STEP = -1  # input_ids value at an encoder position that holds one motion time step
IGNORE = -100  # target value that is not trained

Batch = Mapping[str, Any]


def _as_long(value: Any, name: str, device: torch.device) -> torch.Tensor:
    tensor = torch.as_tensor(value, device=device)
    if tensor.dtype == torch.bool or tensor.is_floating_point() or tensor.is_complex():
        raise BodyLanguageError(f"{name} must hold integers, got {tensor.dtype}")
    return tensor.long()


def checked_encoder_inputs(
    inputs: Batch, vocab: Any, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(input_ids, attention_mask or None, motion_codes or None) of the encoder keys, as long
    tensors on `device`; codes at positions that are not motion steps become -1."""
    if not isinstance(inputs, Mapping) or "input_ids" not in inputs:
        raise BodyLanguageError("encoder inputs need an 'input_ids' tensor (B, S)")
    input_ids = _as_long(inputs["input_ids"], "input_ids", device)
    if input_ids.dim() != 2 or input_ids.shape[1] == 0:
        raise BodyLanguageError(
            f"input_ids must be (B, S) with S > 0, got {tuple(input_ids.shape)}"
        )
    mask = inputs.get("attention_mask")
    if mask is not None:
        mask = torch.as_tensor(mask, device=device).long()
        if mask.shape != input_ids.shape:
            raise BodyLanguageError(
                f"attention_mask is {tuple(mask.shape)}, input_ids {tuple(input_ids.shape)}"
            )
        if not mask.any(1).all():
            raise BodyLanguageError("a row of attention_mask has no real position")
    real = input_ids if mask is None else input_ids[mask.bool()]
    bad = real[(real != MOTION_STEP) & ((real < 0) | (real >= vocab.size))]
    if bad.numel():
        raise BodyLanguageError(
            f"input id {int(bad[0])} is outside the vocabulary (0..{vocab.size - 1}, or "
            f"{MOTION_STEP} for a motion step)"
        )
    codes = inputs.get("motion_codes")
    steps = input_ids == MOTION_STEP
    if codes is None:
        if steps.any():
            raise BodyLanguageError("input_ids has motion steps but the batch has no motion_codes")
        return input_ids, mask, None
    codes = _as_long(codes, "motion_codes", device)
    if codes.shape != (*input_ids.shape, len(PARTS)):
        raise BodyLanguageError(
            f"motion_codes must be {(*input_ids.shape, len(PARTS))}, got {tuple(codes.shape)}"
        )
    _check_codes(codes[steps], "motion_codes", vocab)
    # Positions that are not motion steps may hold anything; make them harmless for the lookup.
    return input_ids, mask, torch.where(steps.unsqueeze(-1), codes, -1)


def _check_codes(codes: torch.Tensor, name: str, vocab: Any) -> None:
    for index, part in enumerate(PARTS):
        column = codes[..., index]
        over = column[column >= vocab.part_codes[part]]
        if over.numel():
            raise BodyLanguageError(
                f"{name}: {part} code {int(over[0])} is outside 0..{vocab.part_codes[part] - 1}"
            )


def checked_motion_targets(
    batch: Batch, rows: int, sizes: Sequence[int], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(targets, loss mask) of a batch's motion rows, or None when it has none."""
    if batch.get("motion_targets") is None:
        return None
    targets = _as_long(batch["motion_targets"], "motion_targets", device)
    if targets.dim() != 3 or targets.shape[0] != rows or targets.shape[2] != len(PARTS):
        raise BodyLanguageError(
            f"motion_targets must be ({rows}, N, {len(PARTS)}), got {tuple(targets.shape)}"
        )
    for index, part in enumerate(PARTS):
        if (targets[..., index] >= sizes[index]).any():
            raise BodyLanguageError(f"motion_targets: a {part} code is >= {sizes[index]}")
    loss_mask = batch.get("motion_loss_mask")
    if loss_mask is None:
        loss_mask = targets >= 0
    else:
        loss_mask = torch.as_tensor(loss_mask, device=device)
        if loss_mask.dtype != torch.bool or loss_mask.shape != targets.shape:
            raise BodyLanguageError(
                f"motion_loss_mask must be bool {tuple(targets.shape)}, got "
                f"{loss_mask.dtype} {tuple(loss_mask.shape)}"
            )
        if (loss_mask & (targets < 0)).any():
            raise BodyLanguageError("motion_loss_mask trains an entry whose motion_target is -100")
    return targets, loss_mask


def checked_token_targets(
    batch: Batch, rows: int, vocab_size: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """(targets, allowed ids or None) of a batch's token rows, or None when it has none."""
    if batch.get("token_targets") is None:
        return None
    targets = _as_long(batch["token_targets"], "token_targets", device)
    if targets.dim() != 2 or targets.shape[0] != rows:
        raise BodyLanguageError(f"token_targets must be ({rows}, M), got {tuple(targets.shape)}")
    if ((targets >= vocab_size) | ((targets < 0) & (targets != IGNORE))).any():
        raise BodyLanguageError(f"token_targets must be ids 0..{vocab_size - 1} or {IGNORE}")
    allowed = batch.get("token_allowed")
    if allowed is not None:
        allowed = torch.as_tensor(allowed, device=device)
        if allowed.dtype != torch.bool or allowed.shape not in ((vocab_size,), (rows, vocab_size)):
            raise BodyLanguageError(
                f"token_allowed must be bool ({vocab_size},) or ({rows}, {vocab_size}), got "
                f"{allowed.dtype} {tuple(allowed.shape)}"
            )
    return targets, allowed
