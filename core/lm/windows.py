"""Long clips in windows: where the language model's windows sit, where neighbours hand over, and
the crossfade that joins their motion.

Units: a STEP is one motion step (4 frames at 30 fps, 7.5 per second), the decoder's unit; a FRAME
is one 30 fps frame. Windows start on multiples of STEP_ALIGNMENT (3 steps = 0.4 s = 10 audio
units), so each window's audio starts on a whole unit, exactly as in training.

Context across windows (the default, "two-pass"):
  pass 1  every window is decoded on its own, all windows of a clip in one batch, so a clip of any
          length costs one window's sequential steps;
  pass 2  every join between two windows gets a BRIDGE: a short window around the join's span
          (HANDOVER_STEPS long, inside both windows' overlap) whose decoder is forced to the left
          window's codes before the span, writes the span freely, and whose encoder is shown the
          right window's codes after it (the edit-frames task), so the span is written knowing both
          neighbours. All bridges again run as one batch, and stop after their span: one pass
          costs BRIDGE_LEAD_STEPS + HANDOVER_STEPS decoder steps, and bridges are shorter than
          windows (BRIDGE_STEPS) because the encoder's cost grows with its input.
The alternative, "sequential", decodes the windows one after another, each forced to start with
the codes its left neighbour wrote over their overlap; it needs n times one window's steps.

Joining motion (`blend_segments`): each window and bridge is decoded to features on its own
(continued on either side by the clip's neighbouring codes, so its ends decode cleanly), and the
features are crossfaded with smoothstep weights that sum to one at every frame. With bridges
every crossfade is between two segments that hold the SAME codes there: left window -> bridge
over the steps just before the span (the bridge was forced to the left window's codes), bridge ->
right window over the steps just after it (the bridge's stream goes on with the right window's
codes). The change from one window's content to the next thus happens inside one decoded code
stream, written by a model that saw both sides, like any step-to-step change. Without bridges
("independent") the windows crossfade over the span itself. Features are blended before they
become a Motion: 6D rotations are re-orthonormalised and the root is integrated from its blended
velocity afterwards, so the root never jumps.

Measured (random weights, default shapes; bench/bench_generate.py): on an H100, 60 s of audio
takes 1.4 s two-pass, 6.2 s sequential, 1.1 s independent; 10 minutes 3.8 s two-pass and 56 s
sequential. On this 2-core CPU (one thread, busy machine, CPU seconds) 60 s costs 6.5 s two-pass,
15.7 s sequential, 4.7 s independent. Two-pass is the default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import BodyLanguageError
from core.rates import (
    FRAMES_PER_STEP,  # noqa: E402 (re-exported)
    STEP_ALIGNMENT,
)

HANDOVER_STEPS = 15  # 2 s: the span over which one window hands over to the next
# A bridge is a short window: 9 steps of forced left context (its decoder must start at a window
# start, so these are decoded step by step), the span, then right context only the encoder reads.
BRIDGE_STEPS = 45  # 6 s
BRIDGE_LEAD_STEPS = 9  # 1.2 s
SCHEMES = ("two_pass", "sequential", "independent")


def align_down(step: int) -> int:
    return step - step % STEP_ALIGNMENT


def align_up(step: int) -> int:
    return -(-step // STEP_ALIGNMENT) * STEP_ALIGNMENT


@dataclass(frozen=True)
class Span:
    """Steps (or frames) [start, stop)."""

    start: int
    stop: int

    def __post_init__(self) -> None:
        if self.stop <= self.start:
            raise ValueError(f"empty span [{self.start}, {self.stop})")

    @property
    def length(self) -> int:
        return self.stop - self.start

    def frames(self) -> Span:
        return Span(self.start * FRAMES_PER_STEP, self.stop * FRAMES_PER_STEP)


@dataclass(frozen=True)
class Join:
    """Where window `left` hands over to window `left + 1`."""

    left: int
    span: Span  # steps crossfaded (and, two-pass, re-written by the bridge)
    bridge: Span  # the bridge window: aligned start, contains `span` with context either side


def handover_steps(window: int) -> int:
    """The hand-over span for a window of `window` steps: 2 s, or a third of a short window."""
    return max(STEP_ALIGNMENT, min(HANDOVER_STEPS, align_down(window // 3)))


def plan_windows(decode: Span, window: int) -> list[Span]:
    """Windows of `window` steps covering `decode` (whose start must be aligned).

    One window when it fits (then exactly `decode`); otherwise windows one hop apart that overlap
    by at least the hand-over span, the last one moved back so that it ends at or just after
    `decode.stop` (by less than STEP_ALIGNMENT steps, which the caller discards).
    """
    if decode.start % STEP_ALIGNMENT:
        raise ValueError(f"window range must start on a multiple of {STEP_ALIGNMENT}")
    if decode.length <= window:
        return [decode]
    hop = window - handover_steps(window)
    starts = []
    start = decode.start
    while start + window < decode.stop:
        starts.append(start)
        start += hop
    starts.append(min(start, align_up(decode.stop - window)))
    return [Span(s, s + window) for s in starts]


def plan_joins(windows: Sequence[Span], window: int, decode: Span) -> list[Join]:
    """The join of each pair of neighbouring windows: the hand-over span in the middle of their
    overlap, and a bridge window that starts a little before it (aligned, inside `decode` where
    possible) and reaches past it."""
    handover = handover_steps(window)
    length = min(window, BRIDGE_STEPS)
    lead = max(STEP_ALIGNMENT, min(BRIDGE_LEAD_STEPS, align_down((length - handover) // 2)))
    latest = max(decode.start, align_up(decode.stop - length))
    joins = []
    for left, (a, b) in enumerate(zip(windows[:-1], windows[1:], strict=True)):
        overlap = a.stop - b.start
        if overlap < handover:
            raise ValueError(f"windows {left} and {left + 1} overlap by {overlap} steps only")
        start = b.start + (overlap - handover) // 2
        span = Span(start, start + handover)
        bridge_start = min(max(align_down(span.start - lead), decode.start), latest)
        joins.append(Join(left, span, Span(bridge_start, bridge_start + length)))
    return joins


# --- joining motion ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """Features of one decoded window or bridge and where its weight rises and falls.

    `start` is the frame of `features`' first row; `fade_in`/`fade_out` are frame spans (None: the
    weight is already 1 at the segment's start / stays 1 to its end). Outside
    [fade_in.start, fade_out.stop) the weight is 0.
    """

    start: int
    features: Mapping[str, np.ndarray]  # part -> (n, D)
    fade_in: Span | None = None
    fade_out: Span | None = None

    @property
    def length(self) -> int:
        return int(next(iter(self.features.values())).shape[0])

    def weights(self, frames: Span) -> np.ndarray:
        """(frames.length,) weight of this segment at each frame of `frames`."""
        t = np.arange(frames.start, frames.stop)
        weight = ((t >= self.start) & (t < self.start + self.length)).astype(np.float64)
        if self.fade_in is not None:
            weight *= smoothstep(t, self.fade_in)
        if self.fade_out is not None:
            weight *= 1.0 - smoothstep(t, self.fade_out)
        return weight


def smoothstep(t: np.ndarray, span: Span) -> np.ndarray:
    """0 before `span`, 1 after it, 3x^2 - 2x^3 across it (sampled at frame centres), so a rising
    and a falling ramp over the same span sum to exactly 1."""
    x = np.clip((np.asarray(t, np.float64) - span.start + 0.5) / span.length, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def blend_segments(segments: Sequence[Segment], frames: Span) -> dict[str, np.ndarray]:
    """Per part, the weighted mean of the segments' features at every frame of `frames`.

    Every frame must be covered by some segment with a positive weight."""
    if not segments:
        raise BodyLanguageError("no segments to blend")
    parts = list(segments[0].features)
    total = np.zeros(frames.length)
    out = {part: np.zeros((frames.length, segments[0].features[part].shape[1])) for part in parts}
    for segment in segments:
        if list(segment.features) != parts:
            raise BodyLanguageError("segments to blend hold different parts")
        weight = segment.weights(frames)
        used = np.flatnonzero(weight > 0)
        if not used.size:
            continue
        rows = used + frames.start - segment.start
        total[used] += weight[used]
        for part in parts:
            out[part][used] += weight[used, None] * segment.features[part][rows]
    if (total <= 0).any():
        first = int(np.flatnonzero(total <= 0)[0]) + frames.start
        raise BodyLanguageError(f"frame {first} is covered by no segment")
    return {part: (values / total[:, None]).astype(np.float32) for part, values in out.items()}


def joint_speed_ratio(positions: np.ndarray, frames: Sequence[int]) -> float:
    """How visible joins are: the fastest mean joint speed (over joints) at the given frames over
    the median of that speed across the clip; 1 means no faster than usual. `positions` is
    (T, J, 3); speed at frame t is the step from t to t + 1."""
    steps = np.diff(np.asarray(positions, np.float64), axis=0)
    speed = np.linalg.norm(steps, axis=-1).mean(axis=-1)  # (T - 1,)
    at = [f for f in frames if 0 <= f < speed.shape[0]]
    median = float(np.median(speed)) if speed.size else 0.0
    if not at:
        return 0.0
    if median <= 0:
        return 0.0 if float(speed[at].max()) == 0 else float("inf")
    return float(speed[at].max() / median)
