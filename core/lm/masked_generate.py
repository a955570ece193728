"""Writing codes with the masked model: iterative filling (MaskGIT) with classifier-free guidance,
over windows that cover a clip of any length.

Within a window every hidden code is predicted at once; each pass fixes the most confident of the
codes still hidden and hides the rest again, so that after pass i a share cos(pi/2 * i / n) is
still hidden. Codes given by the caller (kept parts, kept frames, a neighbour's overlap) are never
hidden, so an edit keeps them exactly.

Guidance: per condition c (prompt, audio, emotion) with strength s_c,
    logits = full + sum_c (s_c - 1) * (full - without_c)
each `without_c` row being the same window with that condition dropped, as training drops it.
All rows of a pass go through the model as one batch.

Long clips: windows of the model's length overlap by OVERLAP_STEPS; windows that do not overlap
each other are written together in one batch, and a later pass writes the windows between them
with the overlapping codes given, so a clip of any length costs two or three windows' passes.

Timed prompts: the model learned each action from the start of a window that holds only that
action, so a prompt over [start, end) is first written alone in a window that starts at its span
(rounded up to a whole audio group) and ends with it; all such windows form one batch. The
clip's windows are then written around them with those codes given, so each action happens in its
span and the motion between them joins on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.errors import BodyLanguageError
from core.lm.masked import GUIDED, HIDDEN, Conditions, MaskedMotionModel, PromptEncoder
from core.lm.mouth import smooth_step_seams
from core.rates import AUDIO_PER_STEP, MOTION_STEPS_PER_SECOND, STEP_ALIGNMENT
from core.skeleton import PARTS

OVERLAP_STEPS = 12  # 1.6 s shared by neighbouring windows
# Chosen on the learning-curve panel (bench/curves/guidance_sweep.json): 6 passes and no extra
# audio guidance of the codes keep lip sync and emotion, lower FGD, and run 60 s of speech about
# three times faster than 10 passes with audio guidance 1.5.
DEFAULT_ITERATIONS = 6
DEFAULT_GUIDANCE: dict[str, float] = {"prompt": 2.5, "audio": 1.0, "emotion": 2.0}
# The regressed mouth follows the audio this much more strongly than the codes do (one extra
# batched pass): a guided jaw opens wider on vowels (real voices: r 0.47 vs 0.41).
MOUTH_AUDIO_GUIDANCE = 1.5

StepCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class FillOptions:
    """How codes are sampled."""

    iterations: int = DEFAULT_ITERATIONS
    temperature: float = 1.0
    guidance: Mapping[str, float] | None = None  # None: DEFAULT_GUIDANCE
    generator: torch.Generator | None = None

    def strengths(self) -> dict[str, float]:
        # Conditions not named keep their default strength.
        values = {**DEFAULT_GUIDANCE, **(self.guidance or {})}
        unknown = sorted(set(values) - set(GUIDED))
        if unknown:
            raise BodyLanguageError(f"unknown guidance {unknown}; expected some of {GUIDED}")
        for name, value in values.items():
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not \
                    0.0 <= value <= 20.0:
                raise BodyLanguageError(f"{name} guidance must be a number in 0..20, got "
                                        f"{value!r}")
        return values


def _guided_logits(model: MaskedMotionModel, codes: torch.Tensor, valid: torch.Tensor,
                   conditions: Conditions, strengths: Mapping[str, float],
                   present: Mapping[str, bool]) -> list[torch.Tensor]:
    guided = [name for name in GUIDED if present.get(name) and strengths.get(name, 1.0) != 1.0]
    variants = [conditions] + [conditions.without(name, model.null_audio, model.null_emotion)
                               for name in guided]
    rows = codes.shape[0]
    logits = model(codes.repeat(len(variants), 1, 1), valid.repeat(len(variants), 1),
                   Conditions.cat(variants)).parts
    out = []
    for part_logits in logits:
        full = part_logits[:rows].float()
        mixed = full.clone()
        for index, name in enumerate(guided, start=1):
            without = part_logits[index * rows:(index + 1) * rows].float()
            mixed += (strengths[name] - 1.0) * (full - without)
        out.append(mixed)
    return out


@torch.no_grad()
def fill(model: MaskedMotionModel, codes: torch.Tensor, valid: torch.Tensor,
         conditions: Conditions, present: Mapping[str, bool], options: FillOptions,
         on_pass: Callable[[], None] | None = None) -> torch.Tensor:
    """codes (B, W, 4) with HIDDEN where the model writes -> codes with every valid one written."""
    strengths = options.strengths()
    codes = codes.clone()
    free = (codes == HIDDEN) & valid[..., None]
    total = free.flatten(1).sum(1)
    generator = options.generator
    for index in range(options.iterations):
        hidden = (codes == HIDDEN) & valid[..., None]
        if not hidden.any():
            break
        logits = _guided_logits(model, codes, valid, conditions, strengths, present)
        sampled_codes, score = _sample(logits, hidden, options.temperature, generator)
        remaining = torch.floor(total * math.cos(math.pi / 2 * (index + 1) / options.iterations))
        to_fix = hidden.flatten(1).sum(1) - remaining.long()
        order = score.flatten(1).argsort(dim=1, descending=True)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(order.shape[1]).expand_as(order))
        fix = (rank < to_fix[:, None]).reshape(hidden.shape) & hidden
        codes = torch.where(fix, sampled_codes, codes)
        if on_pass is not None:
            on_pass()
    return codes


def _sample(logits: Sequence[torch.Tensor], hidden: torch.Tensor, temperature: float,
            generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """A code and its log-probability at every hidden position (-inf elsewhere), drawn by the
    Gumbel-max trick (one draw per hidden code only; argmax at temperature 0)."""
    codes = torch.zeros(hidden.shape, dtype=torch.int64, device=hidden.device)
    score = torch.full(hidden.shape, -math.inf, device=hidden.device)
    for column, part_logits in enumerate(logits):
        where = hidden[..., column]
        if not where.any():
            continue
        rows = part_logits[where]
        log_probs = torch.log_softmax(rows / max(temperature, 1e-4), -1)
        if temperature <= 1e-4:
            pick = log_probs.argmax(-1)
        else:
            uniform = torch.rand(log_probs.shape, generator=generator, device=log_probs.device)
            gumbel = -torch.log(-torch.log(uniform.clamp(1e-10, 1.0 - 1e-7)))
            pick = (log_probs + gumbel).argmax(-1)
        codes[..., column][where] = pick
        score[..., column][where] = log_probs.gather(1, pick[:, None]).squeeze(1)
    return codes, score


def plan_windows(steps: int, window: int) -> list[int]:
    """Start steps of windows covering [0, steps), on multiples of STEP_ALIGNMENT."""
    if steps <= window:
        return [0]
    stride = window - OVERLAP_STEPS
    starts = list(range(0, steps - window, stride))
    last = (steps - window) // STEP_ALIGNMENT * STEP_ALIGNMENT
    if last + window < steps:
        last += STEP_ALIGNMENT
    if starts[-1] != last:
        starts.append(last)
    return starts


def passes(starts: Sequence[int], window: int) -> list[list[int]]:
    """Windows grouped into passes; windows of one pass never overlap each other."""
    left = list(range(len(starts)))
    groups = []
    while left:
        taken, end = [], -1
        for index in left:
            if starts[index] >= end:
                taken.append(index)
                end = starts[index] + window
        groups.append(taken)
        left = [i for i in left if i not in taken]
    return groups


def window_batch(codes: np.ndarray, starts: Sequence[int],
                 window: int) -> tuple[np.ndarray, np.ndarray]:
    """(B, window, 4) codes of the windows at `starts` (HIDDEN past the clip's end) and their
    (B, window) valid steps."""
    batch = np.full((len(starts), window, len(PARTS)), HIDDEN, np.int64)
    valid = np.zeros((len(starts), window), bool)
    for row, start in enumerate(starts):
        part = codes[start:start + window]
        batch[row, : len(part)] = part
        valid[row, : len(part)] = True
    return batch, valid


@dataclass
class ClipConditions:
    """A whole clip's conditions, before they are cut into windows."""

    units: np.ndarray | None  # audio units (25 Hz) or None
    prompt: str
    emotion: str | None
    timed: tuple[tuple[str, float, float], ...] = ()  # (text, start s, end s), in time order


def timed_windows(timed: Sequence[tuple[str, float, float]], steps: int,
                  window: int) -> list[tuple[str, int, int]]:
    """(text, first step, end step) of each timed prompt's window: starting at its span's start
    rounded up to STEP_ALIGNMENT (0.4 s, so the action stays inside its span), ending with its
    span, the next window's start or `window` steps later, whichever comes first. Spans must be
    in time order and not overlap."""
    rate = float(MOTION_STEPS_PER_SECOND)
    starts = [math.ceil(round(start * rate, 6) / STEP_ALIGNMENT) * STEP_ALIGNMENT
              for _, start, _ in timed]
    out = []
    for index, (text, _, end) in enumerate(timed):
        first = starts[index]
        limit = starts[index + 1] if index + 1 < len(starts) else steps
        last = min(math.ceil(end * rate), limit, first + window, steps)
        if last > first:
            out.append((text, first, last))
    return out


def _window_conditions(model: MaskedMotionModel, prompts: PromptEncoder, clip: ClipConditions,
                       starts: Sequence[int], texts: Sequence[str] | None = None) -> Conditions:
    w = model.config.window_steps
    units = int(w * AUDIO_PER_STEP)
    audio = np.full((len(starts), units), model.null_audio, np.int64)
    if clip.units is not None:
        for row, start in enumerate(starts):
            got = clip.units[int(start * AUDIO_PER_STEP):int(start * AUDIO_PER_STEP) + units]
            audio[row, : got.size] = got
    states, mask = prompts(texts if texts is not None else [clip.prompt] * len(starts))
    emotions = model.config.emotions
    emotion = emotions.index(clip.emotion) if clip.emotion else len(emotions)
    return Conditions(torch.from_numpy(audio), states, mask,
                      torch.full((len(starts),), emotion, dtype=torch.int64))


def generate_codes(model: MaskedMotionModel, prompts: PromptEncoder, clip: ClipConditions,
                   given: np.ndarray, options: FillOptions,
                   on_step: StepCallback | None = None,
                   cancel: Callable[[], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) codes for a clip and its (4N, C) mouth track: `given` (N, 4) holds the codes to
    keep and HIDDEN where the model writes."""
    strengths = options.strengths()
    # Strength 0 ignores a condition: the model is run exactly as if it had not been given.
    ignore_prompt = strengths.get("prompt") == 0
    clip = ClipConditions(
        None if strengths.get("audio") == 0 else clip.units,
        "" if ignore_prompt else clip.prompt,
        None if strengths.get("emotion") == 0 else clip.emotion,
        () if ignore_prompt else clip.timed)
    steps, w = given.shape[0], model.config.window_steps
    starts = plan_windows(steps, w)
    groups = passes(starts, w)
    timed = timed_windows(clip.timed, steps, w)
    codes = given.copy()
    done, total = [0], (len(groups) + bool(timed)) * options.iterations

    def on_pass() -> None:
        done[0] += 1
        if cancel is not None:
            cancel()
        if on_step is not None:
            on_step(done[0], total)

    if timed:
        starts_of = [first for _, first, _ in timed]
        batch, valid = window_batch(codes, starts_of, w)
        for row, (_, first, last) in enumerate(timed):
            valid[row, last - first:] = False
        conditions = _window_conditions(model, prompts, clip, starts_of,
                                        [text for text, _, _ in timed])
        _fill_windows(model, codes, batch, valid, starts_of, conditions, clip, True, options,
                      on_pass)
    for group in groups:
        window_starts = [starts[i] for i in group]
        batch, valid = window_batch(codes, window_starts, w)
        conditions = _window_conditions(model, prompts, clip, window_starts)
        _fill_windows(model, codes, batch, valid, window_starts, conditions, clip,
                      bool(clip.prompt), options, on_pass)
    return codes, mouth_track(model, prompts, clip, codes, starts, strengths)


def _fill_windows(model: MaskedMotionModel, codes: np.ndarray, batch: np.ndarray,
                  valid: np.ndarray, starts: Sequence[int], conditions: Conditions,
                  clip: ClipConditions, prompted: bool, options: FillOptions,
                  on_pass: Callable[[], None]) -> None:
    """Fill a batch of windows and write their valid steps back into the clip's `codes`."""
    present = {"prompt": prompted, "audio": clip.units is not None,
               "emotion": clip.emotion is not None}
    device = model.device
    written = fill(model, torch.from_numpy(batch).to(device), torch.from_numpy(valid).to(device),
                   _to(conditions, device), present, options, on_pass).cpu().numpy()
    for row, start in enumerate(starts):
        length = int(valid[row].sum())
        codes[start:start + length] = written[row, :length]


@torch.no_grad()
def mouth_track(model: MaskedMotionModel, prompts: PromptEncoder, clip: ClipConditions,
                codes: np.ndarray, starts: Sequence[int],
                strengths: Mapping[str, float]) -> np.ndarray:
    """(4N, C) jaw and mouth values for finished codes: every window in one batch (audio
    guidance applied as to the codes), crossfaded where windows overlap."""
    w, per = model.config.window_steps, model.config.frames_per_step
    batch, valid = window_batch(codes, starts, w)
    device = model.device
    conditions = _to(_window_conditions(model, prompts, clip, starts), device)
    variants = [conditions]
    audio_strength = strengths.get("audio", 1.0) * MOUTH_AUDIO_GUIDANCE
    if clip.units is not None and audio_strength != 1.0:
        variants.append(conditions.without("audio", model.null_audio, model.null_emotion))
    rows = len(starts)
    out = model(torch.from_numpy(batch).to(device).repeat(len(variants), 1, 1),
                torch.from_numpy(valid).to(device).repeat(len(variants), 1),
                Conditions.cat(variants)).mouth.float()
    mouth = out[:rows]
    if len(variants) > 1:
        mouth = mouth + (audio_strength - 1.0) * (mouth - out[rows:])
    values = model.mouth_values(mouth).cpu().numpy()
    frames = codes.shape[0] * per
    total = np.zeros((frames, values.shape[-1]))
    weight = np.zeros(frames)
    ramp = OVERLAP_STEPS * per
    for row, start in enumerate(starts):
        length = int(valid[row].sum()) * per
        w_row = np.ones(length)
        edge = np.minimum(np.arange(length) + 1, np.arange(length)[::-1] + 1) / ramp
        w_row = np.minimum(w_row, np.maximum(edge, 1e-3))
        a = start * per
        total[a:a + length] += values[row, :length] * w_row[:, None]
        weight[a:a + length] += w_row
    return smooth_step_seams((total / np.maximum(weight, 1e-9)[:, None]).astype(np.float32),
                             per)


def _to(conditions: Conditions, device: torch.device) -> Conditions:
    return Conditions(conditions.audio.to(device), conditions.prompt.to(device),
                      conditions.prompt_mask.to(device), conditions.emotion.to(device))


@torch.no_grad()
def emotion_probabilities(model: MaskedMotionModel, codes: np.ndarray) -> np.ndarray:
    """(E,) probabilities of each emotion read from (N, 4) codes, windows weighted by length."""
    w = model.config.window_steps
    starts = list(range(0, codes.shape[0], w))
    batch, valid = window_batch(codes, starts, w)
    rows = len(starts)
    units = int(w * AUDIO_PER_STEP)
    tokens = model.config.prompt_length
    conditions = Conditions(
        torch.full((rows, units), model.null_audio, dtype=torch.int64),
        torch.zeros(rows, tokens, 384), torch.zeros(rows, tokens, dtype=torch.bool),
        torch.full((rows,), model.null_emotion, dtype=torch.int64))
    device = model.device
    logits = model(torch.from_numpy(batch).to(device), torch.from_numpy(valid).to(device),
                   _to(conditions, device)).emotion
    probs = torch.softmax(logits.double(), -1).cpu().numpy()
    weights = valid.sum(1).astype(np.float64)
    total = (probs * weights[:, None]).sum(0)
    return total / total.sum()
