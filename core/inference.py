"""Generation behind `core.api.generate`: what to condition on, which task token and encoder rows
to build for each window, constrained decoding across windows (core/lm/windows.py), and one Motion
at the end in which kept parts and frames are the caller's arrays, copied bit for bit.

Encoder rows are built with the training code's own pieces (`core.lm.tasks.encoder_input`,
`prompt_ids`, the first training phrasing of each task and `core.lm.batches.collate`), so a window
at inference is formatted exactly as a training example of the same task.

Which task a request becomes:
  frames a..b of a kept motion         edit_frames (with audio) / motion_inbetween (without)
  one part of a kept motion, audio     edit_part
  parts of a kept motion, no audio     the pre-training conversion (upper->lower, body->hands,
                                       body->face) or motion_inbetween
  other edits, and edits that come     the generation task below, the kept codes forced in the
  with a prompt or an emotion          decoder (the edit tasks have no slot for what was asked)
  audio + prompt                       audio_text_to_motion
  audio + transcript                   transcript_audio_to_motion
  audio + emotion                      emotion_to_motion (with audio)
  audio                                audio_to_motion
  prompt (no audio)                    text_to_motion
  emotion (no audio)                   emotion_to_motion
A transcript or emotion given with another task is added to its encoder row (the layout has a slot
for each), so nothing the caller gave is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from core.compose import (  # noqa: F401 (Conditioning, Request and compose are used from here too)
    EDIT_CROSSFADE_FRAMES,
    Conditioning,
    Request,
    compose,
    edit_weights,
)
from core.errors import BodyLanguageError
from core.lm.batches import collate
from core.lm.dataset import AUDIO_PER_STEP, MOTION_STEPS_PER_SECOND
from core.lm.generate import GenerationCancelled, generate_motion_codes
from core.lm.tasks import (
    EMOTION_WORDS,
    PART_WORDS,
    TEMPLATES,
    Example,
    encoder_input,
    prompt_ids,
)
from core.lm.windows import (
    FRAMES_PER_STEP,
    SCHEMES,
    Join,
    Segment,
    Span,
    align_down,
    align_up,
    blend_segments,
    handover_steps,
    plan_joins,
    plan_windows,
)
from core.motion import Motion
from core.skeleton import PARTS

if TYPE_CHECKING:
    from core.api import BodyLanguageModel

ProgressCallback = Callable[[float, str], None]
CancelCallback = Callable[[], bool]

DECODE_CONTEXT_STEPS = 8  # neighbouring codes a segment is decoded with, so its ends are clean
CONVERSIONS: dict[frozenset[str], tuple[str, tuple[str, ...]]] = {
    # regenerated parts -> (pre-training task, the parts its encoder is given)
    frozenset({"lower"}): ("upper_to_lower", ("upper",)),
    frozenset({"hands"}): ("body_to_hands", ("upper", "lower")),
    frozenset({"face"}): ("body_to_face", ("upper", "lower")),
}
# Progress: share of the bar before the language model starts and after it ends.
_PREPARED, _DECODED = 0.05, 0.9


@dataclass(frozen=True)
class Task:
    name: str
    motion_block: bool  # whether the encoder is shown the given motion
    given_parts: tuple[str, ...] = PARTS  # which kept parts that block shows
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = 0.95
    generator: torch.Generator | None = None


# --- task choice ---------------------------------------------------------------------------------


def choose_task(condition: Conditioning, request: Request) -> Task:
    """The task token a request becomes (table in the module docstring)."""
    audio = condition.has_audio
    asked = bool(condition.prompt or condition.emotion)
    if request.edits_frames and not asked:
        return Task("edit_frames" if audio else "motion_inbetween", motion_block=True)
    if request.edits_parts and not asked:
        if audio and len(request.parts) == 1:
            return Task("edit_part", motion_block=True,
                        fields={"part": PART_WORDS[request.parts[0]]})
        if not audio:
            task, given = CONVERSIONS.get(frozenset(request.parts), ("motion_inbetween", PARTS))
            return Task(task, motion_block=True, given_parts=given)
    return Task(_generation_task(condition), motion_block=False)


def _generation_task(condition: Conditioning) -> str:
    if condition.transcript is not None and not condition.has_audio:
        raise BodyLanguageError("a transcript needs the audio it transcribes; give the audio too")
    if condition.has_audio:
        if condition.prompt:
            return "audio_text_to_motion"
        if condition.transcript is not None:
            return "transcript_audio_to_motion"
        if condition.emotion:
            return "emotion_to_motion"
        return "audio_to_motion"
    if condition.prompt:
        return "text_to_motion"
    if condition.emotion:
        return "emotion_to_motion"
    raise BodyLanguageError("nothing to generate from: give audio, a prompt or an emotion")


def bridge_task(condition: Conditioning) -> Task:
    """Bridges re-write a join's span between two given stretches: the frame-edit tasks."""
    return Task("edit_frames" if condition.has_audio else "motion_inbetween", motion_block=True)


# --- encoder rows --------------------------------------------------------------------------------


class RowBuilder:
    """Encoder rows of one request's windows, formatted as the training examples of its task."""

    def __init__(self, ctx: Any, condition: Conditioning, total_steps: int) -> None:
        self.ctx, self.condition, self.total_steps = ctx, condition, total_steps
        self._prompts: dict[str, list[int]] = {}

    def prompt(self, task: Task) -> list[int]:
        key = f"{task.name}|{sorted(task.fields.items())}"
        if key not in self._prompts:
            template = TEMPLATES[task.name].train[0]
            emotion = self.condition.emotion or "neutral"
            adjective, noun = EMOTION_WORDS.get(emotion, (emotion, emotion))
            fields = {"adjective": adjective, "emotion": noun, "part": "", **task.fields}
            description = self.condition.prompt.strip()
            ids, _ = prompt_ids(self.ctx, template, self.ctx.text_ids(description),
                                description, **fields)
            self._prompts[key] = ids
        return self._prompts[key]

    def row(self, task: Task, window: Span, given: np.ndarray | None,
            bridge: bool = False) -> Example:
        """The encoder row of `window` (steps; cut at the clip's end). `given`: (n, 4) codes of
        the window's motion block, -1 where not given (None: no motion block)."""
        stop = min(window.stop, self.total_steps)
        condition = self.condition
        units = None
        if condition.has_audio:
            first = int(window.start * AUDIO_PER_STEP)
            last = min(math.ceil(stop * AUDIO_PER_STEP), condition.units.size)
            units = condition.units[first:last] if last > first else condition.units[:0]
        transcript = None
        if condition.transcript is not None and not bridge:
            t0 = window.start / float(MOTION_STEPS_PER_SECOND)
            t1 = stop / float(MOTION_STEPS_PER_SECOND)
            inside = (condition.transcript_times >= t0) & (condition.transcript_times < t1)
            transcript = condition.transcript[inside]
        emotion = None if bridge else condition.emotion
        if task.name == "emotion_to_motion":
            emotion = condition.emotion
        input_ids, codes = encoder_input(
            self.ctx, task.name, self.prompt(task), transcript=transcript, emotion=emotion,
            audio=units, motion=given,
        )
        return Example(task.name, "", "", "", input_ids, codes)


# --- decoding ------------------------------------------------------------------------------------


@dataclass
class _Meter:
    """Monotonic progress over the language model's decoder steps."""

    callback: ProgressCallback | None
    total_steps: int
    done_steps: int = 0
    fraction: float = 0.0

    def report(self, fraction: float, message: str) -> None:
        self.fraction = max(self.fraction, min(1.0, fraction))
        if self.callback is not None:
            self.callback(self.fraction, message)

    def steps(self, message: str) -> Callable[[int, int], None]:
        base = self.done_steps

        def on_step(done: int, total: int) -> None:
            self.done_steps = base + done
            share = self.done_steps / max(self.total_steps, 1)
            self.report(_PREPARED + (_DECODED - _PREPARED) * share, message)

        return on_step


def _check_cancel(cancel: CancelCallback | None) -> None:
    if cancel is not None and cancel():
        raise GenerationCancelled("generation was cancelled")


def _decode_rows(
    model: BodyLanguageModel, rows: Sequence[Example], forced: np.ndarray, steps: int,
    sampling: Sampling, meter: _Meter, message: str, cancel: CancelCallback | None,
) -> np.ndarray:
    """Codes (B, steps, 4) for encoder rows, `forced` (B, steps, 4) codes >= 0 written as given;
    rows go through the decoder side by side, `model.max_rows` at a time."""
    out = np.empty((len(rows), steps, len(PARTS)), dtype=np.int64)
    vocab = model.lm.vocab
    for first in range(0, len(rows), model.max_rows):
        chunk = slice(first, first + model.max_rows)
        batch = collate(rows[chunk], vocab)
        keep = {part: torch.from_numpy(forced[chunk, :, index])
                for index, part in enumerate(PARTS)}
        codes = generate_motion_codes(
            model.lm, {k: batch[k] for k in ("input_ids", "attention_mask", "motion_codes")},
            steps, keep=keep, temperature=sampling.temperature, top_k=sampling.top_k,
            top_p=sampling.top_p, generator=sampling.generator,
            progress=meter.steps(message), cancel=cancel,
        )
        out[chunk] = codes.numpy()
    return out


def _padded(codes: np.ndarray, steps: int) -> np.ndarray:
    """(n, 4) codes padded with -1 (free) to (steps, 4)."""
    out = np.full((steps, len(PARTS)), -1, dtype=np.int64)
    out[: len(codes)] = codes
    return out


def _given(codes: np.ndarray, free: np.ndarray, task: Task) -> np.ndarray | None:
    if not task.motion_block:
        return None
    given = np.where(free, -1, codes)
    for index, part in enumerate(PARTS):
        if part not in task.given_parts:
            given[:, index] = -1
    return given


@dataclass
class Plan:
    decode: Span  # steps the language model covers
    windows: list[Span]
    joins: list[Join]
    scheme: str


def plan_request(request: Request, window: int, scheme: str) -> Plan:
    """Windows over the steps the model must write (with context around an edited stretch)."""
    if scheme not in SCHEMES:
        raise BodyLanguageError(f"unknown windowing {scheme!r}; expected one of {SCHEMES}")
    total = request.steps
    written = np.flatnonzero(request.free().any(axis=1))
    first, last = int(written[0]), int(written[-1]) + 1
    if total <= window:
        decode = Span(0, total)
    elif last - first <= window:
        # One window centred on the edit, as much context either side as fits.
        start = align_down(max(0, (first + last - window) // 2))
        start = min(start, align_up(total - window))
        decode = Span(start, min(total, start + window))
    else:
        margin = handover_steps(window)
        decode = Span(align_down(max(0, first - margin)), min(total, last + margin))
    windows = plan_windows(decode, window)
    joins = plan_joins(windows, window, decode) if len(windows) > 1 else []
    return Plan(decode, windows, joins, scheme)


def write_codes(
    model: BodyLanguageModel, condition: Conditioning, request: Request, plan: Plan,
    sampling: Sampling, meter: _Meter, cancel: CancelCallback | None,
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The language model's codes: (reference stream (steps, 4) — kept codes outside the decoded
    range, each window's codes in the stretch it owns —, each window's codes, each bridge's
    codes). Window k's array covers its span (cut at the clip's end); bridge j's covers
    [bridge.start, span.stop)."""
    total = request.steps
    free = request.free()
    kept = (np.full((total, len(PARTS)), -1, dtype=np.int64) if request.kept_codes is None
            else request.kept_codes)
    forced_all = np.where(free, -1, kept)
    task = choose_task(condition, request)
    rows = RowBuilder(model.context, condition, total)
    windows, joins = plan.windows, plan.joins
    length = max(w.length for w in windows)

    def clipped(span: Span) -> slice:
        return slice(span.start, min(span.stop, total))

    window_codes: list[np.ndarray] = []
    if plan.scheme == "sequential":
        for index, window in enumerate(windows):
            part = clipped(window)
            forced = forced_all[part].copy()
            if index:
                previous, previous_codes = windows[index - 1], window_codes[-1]
                overlap = slice(0, min(previous.stop, total) - window.start)
                carried = previous_codes[window.start - previous.start:]
                forced[overlap] = np.where(free[part][overlap], carried[: overlap.stop],
                                           forced[overlap])
            row = rows.row(task, window, _given(kept[part], free[part], task))
            codes = _decode_rows(model, [row], _padded(forced, length)[None], length, sampling,
                                 meter, f"Generating motion {index + 1}/{len(windows)}", cancel)
            window_codes.append(codes[0, : part.stop - part.start])
    else:
        batch = [rows.row(task, w, _given(kept[clipped(w)], free[clipped(w)], task))
                 for w in windows]
        forced = np.stack([_padded(forced_all[clipped(w)], length) for w in windows])
        # With bridges, writing is two passes: the windows, then the joins between them.
        message = "Generating motion 1/2" if plan.scheme == "two_pass" and joins else (
            "Generating motion")
        codes = _decode_rows(model, batch, forced, length, sampling, meter, message, cancel)
        window_codes = [codes[k, : clipped(w).stop - w.start] for k, w in enumerate(windows)]

    reference = kept.copy()
    for index, window in enumerate(windows):
        own_start = joins[index - 1].span.start if index else plan.decode.start
        own_stop = joins[index].span.start if index < len(joins) else plan.decode.stop
        reference[own_start:own_stop] = window_codes[index][own_start - window.start:
                                                            own_stop - window.start]

    bridge_codes: list[np.ndarray] = []
    if plan.scheme == "two_pass" and joins:
        bridge = bridge_task(condition)
        steps = max(j.span.stop - j.bridge.start for j in joins)
        batch, forced = [], []
        for join in joins:
            part = clipped(join.bridge)
            open_ = free[part].copy()
            inside = np.zeros(len(open_), dtype=bool)
            inside[join.span.start - join.bridge.start: join.span.stop - join.bridge.start] = True
            open_ &= inside[:, None]
            batch.append(rows.row(bridge, join.bridge, _given(reference[part], open_, bridge),
                                  bridge=True))
            forced.append(_padded(np.where(open_, -1, reference[part])[:steps], steps))
        codes = _decode_rows(model, batch, np.stack(forced), steps, sampling, meter,
                             "Generating motion 2/2", cancel)
        bridge_codes = [codes[k, : j.span.stop - j.bridge.start] for k, j in enumerate(joins)]
    return reference, window_codes, bridge_codes


def lm_steps(plan: Plan, rows_per_batch: int) -> int:
    """Decoder steps the plan takes (for progress)."""
    windows, joins = plan.windows, plan.joins
    length = max(w.length for w in windows)
    if plan.scheme == "sequential":
        return length * len(windows)
    chunks = -(-len(windows) // rows_per_batch)
    total = length * chunks
    if plan.scheme == "two_pass" and joins:
        total += max(j.span.stop - j.bridge.start for j in joins) * -(-len(joins) //
                                                                        rows_per_batch)
    return total


# --- codes -> features ---------------------------------------------------------------------------


def segments_of(
    model: BodyLanguageModel, request: Request, plan: Plan, reference: np.ndarray,
    window_codes: Sequence[np.ndarray], bridge_codes: Sequence[np.ndarray],
) -> list[Segment]:
    """Each window and bridge decoded to the features of the parts the model writes, with the
    fades that join them.

    With bridges, every fade is between two segments that hold the same codes there: left window
    -> bridge just before the span (the bridge was forced to the left window's codes), bridge ->
    right window just after it (the bridge's stream continues with the right window's codes). The
    change from the bridge's own codes to the right window's happens inside one decoded stream,
    like any step-to-step change. Without bridges the windows crossfade over the span."""
    joins, windows = plan.joins, plan.windows
    bridged = bool(bridge_codes)
    fades = _bridge_fades(plan) if bridged else []
    pieces: list[tuple[Span, np.ndarray, Span | None, Span | None]] = []
    for index, window in enumerate(windows):
        fade_in = fade_out = None
        if index:
            fade_in = fades[index - 1][1] if bridged else joins[index - 1].span
        if index < len(joins):
            fade_out = fades[index][0] if bridged else joins[index].span
        own = Span(window.start, window.start + len(window_codes[index]))
        pieces.append((own, window_codes[index], fade_in, fade_out))
    for index, join in enumerate(joins if bridged else []):
        codes = bridge_codes[index]
        own = Span(join.bridge.start, join.bridge.start + len(codes))
        pieces.append((own, codes, *fades[index]))

    streams: list[tuple[Span, np.ndarray]] = []
    for own, codes, fade_in, fade_out in pieces:
        used = Span(fade_in.start if fade_in else plan.decode.start,
                    fade_out.stop if fade_out else plan.decode.stop)
        # The segment's own codes, continued on either side by the codes the clip holds there,
        # so that its ends decode as they would inside the whole clip.
        reach = Span(max(0, used.start - DECODE_CONTEXT_STEPS),
                     min(request.steps, used.stop + DECODE_CONTEXT_STEPS))
        stream = reference[reach.start:reach.stop].copy()
        lo, hi = max(own.start, reach.start), min(own.stop, reach.stop)
        stream[lo - reach.start:hi - reach.start] = codes[lo - own.start:hi - own.start]
        streams.append((reach, stream))
    features = _decode_features(model, request.parts, [stream for _, stream in streams])
    return [
        Segment(reach.start * FRAMES_PER_STEP, decoded,
                fade_in.frames() if fade_in else None, fade_out.frames() if fade_out else None)
        for (reach, _), decoded, (_, _, fade_in, fade_out) in zip(
            streams, features, pieces, strict=True)
    ]


def _bridge_fades(plan: Plan) -> list[tuple[Span, Span]]:
    """Per join, the steps over which the left window hands over to the bridge (just before the
    span, inside the bridge's forced lead) and the bridge to the right window (just after the
    span): up to a hand-over span each, the room between two joins shared between them."""
    joins = plan.joins
    fades = []
    previous_stop = plan.decode.start  # where the last fade into the current window ended
    for index, join in enumerate(joins):
        span = join.span
        room_before = span.start - previous_stop
        lead = max(1, min(span.length, span.start - join.bridge.start, room_before))
        next_start = joins[index + 1].span.start if index + 1 < len(joins) else None
        room_after = (plan.decode.stop - span.stop if next_start is None
                      else (next_start - span.stop) // 2)
        tail = max(1, min(span.length, room_after))
        fades.append((Span(span.start - lead, span.start), Span(span.stop, span.stop + tail)))
        previous_stop = span.stop + tail
    return fades


def _decode_features(
    model: BodyLanguageModel, parts: Sequence[str], streams: Sequence[np.ndarray]
) -> list[dict[str, np.ndarray]]:
    """Features of each (n, 4) code stream for `parts`; streams of one length decode as a batch."""
    out: list[dict[str, np.ndarray]] = [{} for _ in streams]
    by_length: dict[int, list[int]] = {}
    for index, stream in enumerate(streams):
        by_length.setdefault(len(stream), []).append(index)
    tokenizer = model.motion_tokenizer
    for indices in by_length.values():
        for part in parts:
            column = PARTS.index(part)
            codes = torch.from_numpy(np.stack([streams[i][:, column] for i in indices]))
            if (codes < 0).any():
                raise BodyLanguageError(f"internal: a {part} code was left unwritten")
            decoded = tokenizer.models[part].decode(codes).cpu().numpy()
            for row, index in enumerate(indices):
                out[index][part] = decoded[row]
    return out


# --- features -> Motion --------------------------------------------------------------------------


# --- the whole request ---------------------------------------------------------------------------


def generate_motion(
    model: BodyLanguageModel, condition: Conditioning, request: Request, sampling: Sampling,
    progress: ProgressCallback | None = None, cancel: CancelCallback | None = None,
    scheme: str = "two_pass",
) -> Motion:
    """Motion for a validated request (core.api.generate checks the inputs)."""
    plan = plan_request(request, model.context.window_steps, scheme)
    meter = _Meter(progress, lm_steps(plan, model.max_rows))
    meter.report(_PREPARED, "Generating motion")
    _check_cancel(cancel)
    reference, window_codes, bridge_codes = write_codes(
        model, condition, request, plan, sampling, meter, cancel
    )
    _check_cancel(cancel)
    meter.report(_DECODED, "Finishing the motion")
    segments = segments_of(model, request, plan, reference, window_codes, bridge_codes)
    frames = Span(plan.decode.start * FRAMES_PER_STEP,
                  min(plan.decode.stop * FRAMES_PER_STEP, request.frames))
    features = blend_segments(segments, frames)
    _check_cancel(cancel)
    motion = compose(features, frames, request, model.face_space, model.fps)
    meter.report(1.0, "Done")
    return motion
