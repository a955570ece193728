"""Generation with the motion language model: motion codes (four parts per step), tokens, scores.

Motion: one decoder forward per time step for all four parts and every batch row (one row per
window of a clip), with a key/value cache: the encoder output is projected into cross-attention keys
once, and each step only runs the new position. Each part head ranges over its own part's codes, so
decoding is constrained by construction; kept codes are written over the sampled ones before they
become the next step's input, so generated parts condition on them.

Sampling is Gumbel-max over temperature-scaled, top-k/top-p-filtered logits with noise drawn from
the caller's `torch.Generator` (on the generator's device), so a seed gives the same codes on every
run. A temperature of 0 is greedy.

Why there is no static-cache / torch.compile path: with every window of a clip in one batch, a clip
of any length takes one window's steps (75). Measured eagerly on an H100, a step of the default
model costs 3-4 ms for 1 to 64 windows (64 = 10 minutes of audio), so generation takes ~0.25 s; a
static cache with CUDA graphs could save at most those 0.25 s per request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from core.errors import BodyLanguageError
from core.lm.model import Memory, MotionLanguageModel
from core.skeleton import PARTS

ProgressCallback = Callable[[int, int], None]  # (steps done, steps in all)
CancelCallback = Callable[[], bool]  # True: stop now


class GenerationCancelled(Exception):
    """Raised when the cancel callback asked generation to stop; nothing partial is returned."""


def generate_motion_codes(
    model: MotionLanguageModel,
    encoder_inputs: Mapping[str, Any],
    steps: int,
    keep: Mapping[str, Any] | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """Codes (B, steps, 4) int64 on CPU, PARTS order (face, hands, upper, lower).

    `encoder_inputs`: the batch's encoder keys (see core/lm/batch_format.py), one row per window.
    `keep`: part -> (B, steps) codes (tensor or array) or None; a code >= 0 is forced at that step
    and returned unchanged, a negative value leaves that step to the model (frame edits, a carried-
    over prefix). Kept parts should also be in the encoder input, as the edit templates put them.
    `use_cache=False` recomputes the whole prefix at every step (slow; a check of the cache).
    """
    _check_run(model, steps, "steps", temperature, top_k, top_p)
    with _evaluating(model):
        memory = model.encode(encoder_inputs)
        rows = memory.hidden.shape[0]
        kept = _kept_codes(keep, rows, steps, model)
        codes = torch.empty(rows, steps, len(PARTS), dtype=torch.long, device=model.device)
        cache = model.new_cache() if use_cache else None
        inputs = _with_aligned(model, model.start_embedding(rows), memory, 0)
        step_input = inputs  # all decoder inputs so far (above), for the no-cache path
        for step in range(steps):
            _check_cancel(cancel)
            if cache is not None:
                hidden = model.decode(step_input, memory, cache)[:, -1]
            else:
                hidden = model.decode(inputs, memory)[:, -1]
            chosen = torch.stack(
                [_choose(logits, temperature, top_k, top_p, generator)
                 for logits in model.motion_logits(hidden)],
                dim=-1,
            )
            forced = kept[:, step]
            chosen = torch.where(forced >= 0, forced, chosen)
            codes[:, step] = chosen
            step_input = _with_aligned(
                model, model.motion_step_embedding(chosen).unsqueeze(1), memory, step + 1
            )
            if cache is None:
                inputs = torch.cat([inputs, step_input], dim=1)
            if progress is not None:
                progress(step + 1, steps)
    return codes.cpu()


def generate_tokens(
    model: MotionLanguageModel,
    encoder_inputs: Mapping[str, Any],
    allowed_mask: Any,
    max_len: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    cancel: CancelCallback | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """Token ids (B, L<=max_len) int64 on CPU, written in token mode, greedy by default.

    Only ids where `allowed_mask` ((V,) or (B, V) bool, e.g. `vocab.mask("emotion")`) is True can
    appear. A row ends at its first `<eos>` (kept in the output; `<eos>` must be allowed for that),
    later positions hold `<pad>`.
    """
    _check_run(model, max_len, "max_len", temperature, top_k, top_p)
    with _evaluating(model):
        memory = model.encode(encoder_inputs)
        rows = memory.hidden.shape[0]
        candidates, row_allowed = _allowed_ids(allowed_mask, rows, model)
        out = torch.full((rows, max_len), model.pad_id, dtype=torch.long, device=model.device)
        finished = torch.zeros(rows, dtype=torch.bool, device=model.device)
        cache = model.new_cache() if use_cache else None
        inputs = model.start_embedding(rows, token_mode=True)
        step_input = inputs
        for step in range(max_len):
            _check_cancel(cancel)
            source = step_input if cache is not None else inputs
            hidden = model.decode(source, memory, cache)[:, -1]
            logits = model.token_logits(hidden, candidates)
            if row_allowed is not None:
                logits = logits.masked_fill(~row_allowed, float("-inf"))
            chosen = candidates[_choose(logits, temperature, top_k, top_p, generator)]
            chosen = torch.where(finished, model.pad_id, chosen)
            out[:, step] = chosen
            finished |= chosen == model.eos_id
            if bool(finished.all()):
                out = out[:, : step + 1]
                break
            step_input = model.embedding(chosen).unsqueeze(1)
            if cache is None:
                inputs = torch.cat([inputs, step_input], dim=1)
    return out.cpu()


def score_tokens(
    model: MotionLanguageModel, encoder_inputs: Mapping[str, Any], candidates: Sequence[int] | Any
) -> torch.Tensor:
    """Log-probabilities (B, K) on CPU of K single-token answers as the decoder's first token,
    normalised over the candidates (the distribution constrained decoding samples from).
    `exp` of a row gives e.g. the probability of each of the 8 emotions."""
    ids = torch.as_tensor(np.asarray(candidates), dtype=torch.long, device=model.device)
    if ids.dim() != 1 or ids.numel() == 0:
        raise BodyLanguageError("candidates must be a non-empty list of token ids")
    if (ids < 0).any() or (ids >= model.vocab.size).any() or ids.unique().numel() != ids.numel():
        raise BodyLanguageError(
            f"candidates must be distinct ids in 0..{model.vocab.size - 1}, got {ids.tolist()}"
        )
    with _evaluating(model):
        memory: Memory = model.encode(encoder_inputs)
        start = model.start_embedding(memory.hidden.shape[0], token_mode=True)
        hidden = model.decode(start, memory)[:, -1]
        logits = model.token_logits(hidden, ids).float()
    return torch.log_softmax(logits, dim=-1).cpu()


# --- helpers -------------------------------------------------------------------------------------


@contextmanager
def _evaluating(model: MotionLanguageModel):
    """Eval mode (no dropout) and no autograd for the duration; the caller's mode comes back."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)


def _with_aligned(
    model: MotionLanguageModel, embeds: torch.Tensor, memory: Memory, step: int
) -> torch.Tensor:
    """A motion-mode decoder input at `step` plus that step's aligned encoder states."""
    aligned = model.aligned_inputs(memory, step, embeds.shape[1])
    return embeds if aligned is None else embeds + aligned


def _check_cancel(cancel: CancelCallback | None) -> None:
    if cancel is not None and cancel():
        raise GenerationCancelled("generation was cancelled")


def _check_run(model: MotionLanguageModel, length: Any, name: str, temperature: float,
               top_k: int | None, top_p: float | None) -> None:
    """The sampling settings and the output length (argument `name`), before any work."""
    _check_sampling(temperature, top_k, top_p)
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise BodyLanguageError(f"{name} must be a positive int, got {length!r}")
    model.check_decoder_length(length)


def _check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
        temperature >= 0.0
    ):
        raise BodyLanguageError(f"temperature must be >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise BodyLanguageError(f"top_k must be a positive int or None, got {top_k!r}")
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0.0 < top_p <= 1.0):
        raise BodyLanguageError(f"top_p must be in (0, 1] or None, got {top_p!r}")


def _choose(
    logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Index (B,) of the chosen entry of each row of logits (B, n)."""
    logits = logits.float()
    if temperature == 0.0:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        threshold = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < threshold, float("-inf"))
    if top_p is not None and top_p < 1.0:
        ordered, order = logits.sort(dim=-1, descending=True)
        probabilities = ordered.softmax(-1)
        # Keep the smallest prefix of the ranking whose mass reaches top_p (always the best one).
        drop_sorted = probabilities.cumsum(-1) - probabilities >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    device = generator.device if generator is not None else logits.device
    uniform = torch.rand(logits.shape, generator=generator, device=device).to(logits.device)
    gumbel = -torch.log(-torch.log(uniform.clamp(1e-10, 1.0 - 1e-7)))
    return (logits + gumbel).argmax(-1)


def _kept_codes(
    keep: Mapping[str, Any] | None, rows: int, steps: int, model: MotionLanguageModel
) -> torch.Tensor:
    kept = torch.full((rows, steps, len(PARTS)), -1, dtype=torch.long, device=model.device)
    if keep is None:
        return kept
    if not isinstance(keep, Mapping):
        raise BodyLanguageError(f"keep must map parts to codes, got {type(keep).__name__}")
    unknown = sorted(set(keep) - set(PARTS))
    if unknown:
        raise BodyLanguageError(f"keep names unknown parts {unknown}; parts are {', '.join(PARTS)}")
    for index, part in enumerate(PARTS):
        codes = keep.get(part)
        if codes is None:
            continue
        codes = torch.as_tensor(np.asarray(codes) if not torch.is_tensor(codes) else codes)
        if codes.dtype == torch.bool or codes.is_floating_point():
            raise BodyLanguageError(f"kept {part} codes must be integers, got {codes.dtype}")
        if tuple(codes.shape) != (rows, steps):
            raise BodyLanguageError(
                f"kept {part} codes must be ({rows}, {steps}), got {tuple(codes.shape)}"
            )
        limit = model.vocab.part_codes[part]
        if (codes >= limit).any():
            raise BodyLanguageError(f"kept {part} codes must be below {limit}")
        kept[..., index] = codes.to(model.device, torch.long).clamp(min=-1)
    return kept


def _allowed_ids(
    allowed_mask: Any, rows: int, model: MotionLanguageModel
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The ids any row may write (1-D) and, when rows differ, each row's mask over those ids."""
    size = model.vocab.size
    mask = torch.as_tensor(np.asarray(allowed_mask) if not torch.is_tensor(allowed_mask)
                           else allowed_mask, device=model.device)
    if mask.dtype != torch.bool or tuple(mask.shape) not in ((size,), (rows, size)):
        raise BodyLanguageError(
            f"allowed_mask must be bool ({size},) or ({rows}, {size}), got {mask.dtype} "
            f"{tuple(mask.shape)}"
        )
    if not mask.reshape(-1, size).any(-1).all():
        raise BodyLanguageError("allowed_mask allows no token (for some row)")
    if mask.dim() == 1:
        return mask.nonzero()[:, 0], None
    candidates = mask.any(0).nonzero()[:, 0]
    return candidates, mask[:, candidates]
