"""What a generation request asks for, and how the written motion is put together with what is
kept: the request types every generator shares, and `compose`, which copies kept parts and
frames bit for bit from `keep` and fades an edited stretch in and out.

Free of the corpus and the training code, so generation imports only what it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from core.lm.windows import FRAMES_PER_STEP, Span
from core.motion import Motion
from core.rotations import axis_angle_to_quaternion, quaternion_slerp, quaternion_to_axis_angle
from core.skeleton import PART_JOINTS, PARTS
from core.tokenizers.motion_features import part_channels

EDIT_CROSSFADE_FRAMES = 12  # 0.4 s: how an edited stretch fades in from and out to kept frames


@dataclass(frozen=True)
class TimedPrompt:
    """An action asked for over part of a clip: performed from `start` (seconds), within
    [start, end)."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Conditioning:
    """What the motion follows, for the whole clip."""

    units: np.ndarray | None = None  # (A,) audio units at 25 Hz
    prompt: str = ""  # the action asked for
    transcript: np.ndarray | None = None  # (P,) WordPiece ids of the spoken words
    transcript_times: np.ndarray | None = None  # (P,) seconds at which each piece is spoken
    emotion: str | None = None
    timed_prompts: tuple[TimedPrompt, ...] = ()  # actions over parts of the clip, in time order

    @property
    def has_audio(self) -> bool:
        return self.units is not None


@dataclass(frozen=True)
class Request:
    """The motion side of a request: how long, which parts and frames the model writes."""

    frames: int  # output length at 30 fps
    parts: tuple[str, ...]  # parts the model writes (the others come from `keep`, or rest)
    span: Span  # frames the model writes for those parts (all frames unless editing frames)
    keep: Motion | None = None
    kept_codes: np.ndarray | None = None  # (steps, 4) codes of `keep`, -1 for parts not encoded

    @property
    def steps(self) -> int:
        return -(-self.frames // FRAMES_PER_STEP)

    @property
    def edits_frames(self) -> bool:
        return self.keep is not None and (self.span.start > 0 or self.span.stop < self.frames)

    @property
    def edits_parts(self) -> bool:
        return self.keep is not None and set(self.parts) != set(PARTS)

    @property
    def fade(self) -> int:
        """Frames over which an edited stretch fades in from (and out to) the kept frames."""
        return min(EDIT_CROSSFADE_FRAMES, self.span.length // 3)

    def written_steps(self) -> Span:
        """The steps whose codes the model writes for the edited parts. For a frame edit these
        stop short of the fades, so that the fades blend the kept motion with a stream that
        still decodes the kept codes there, and the change to new codes happens inside the
        decoded stream (where the model saw the kept codes around it)."""
        a, b = self.span.start, self.span.stop
        first = a + (self.fade if a > 0 else 0)
        last = b - (self.fade if b < self.frames else 0)
        inner = (-(-first // FRAMES_PER_STEP), last // FRAMES_PER_STEP)
        if inner[1] > inner[0]:
            return Span(*inner)
        return Span(a // FRAMES_PER_STEP, -(-b // FRAMES_PER_STEP))

    def free(self) -> np.ndarray:
        """(steps, 4) bool: the codes the language model writes."""
        free = np.ones((self.steps, len(PARTS)), dtype=bool)
        if self.keep is None:
            return free
        steps = self.written_steps()
        free[:] = False
        for part in self.parts:
            free[steps.start:steps.stop, PARTS.index(part)] = True
        return free


def compose(
    features: Mapping[str, np.ndarray], frames: Span, request: Request, face_space: str,
    fps: float,
) -> Motion:
    """The output Motion: the written parts from `features` (covering `frames`), everything else
    copied from `keep` (bit for bit) or at rest; an edited stretch fades in from and out to the
    kept frames around it."""
    keep = request.keep
    total = request.frames
    if keep is not None:
        poses, trans, face = keep.poses.copy(), keep.trans.copy(), keep.face.copy()
    else:
        rest = Motion.rest(total, fps, face_space)
        poses, trans, face = rest.poses, rest.trans, rest.face
    a, b = request.span.start, request.span.stop
    rows = slice(a - frames.start, b - frames.start)
    start = trans[frames.start] if keep is not None else np.zeros(3, np.float32)
    weight = edit_weights(request) if keep is not None else None
    whole = weight is None or bool((weight == 1.0).all())
    for part in request.parts:
        channels = part_channels(part, features[part], start, face_space)
        joints = list(PART_JOINTS[part])
        written = channels.rotations[rows]
        poses[a:b, joints] = written if whole else _slerp(poses[a:b, joints], written, weight)
        if channels.face is not None:
            written = channels.face[rows]
            face[a:b] = written if whole else _lerp(face[a:b], written, weight)
        if channels.trans is not None:
            written = channels.trans[rows]
            if keep is not None:
                written = _anchored_root(trans, written, a, b)
            trans[a:b] = written if whole else _lerp(trans[a:b], written, weight)
    return Motion(poses=poses, trans=trans, face=face, face_space=face_space, fps=fps,
                  betas=None if keep is None else keep.betas,
                  gender="neutral" if keep is None else keep.gender)


def edit_weights(request: Request) -> np.ndarray:
    """(b - a,) share of the written motion over the edited frames: 1 inside, smooth ramps where
    the stretch meets kept frames (none at the clip's ends)."""
    a, b = request.span.start, request.span.stop
    length = b - a
    weight = np.ones(length)
    fade = request.fade
    if fade >= 1:
        ramp = (np.arange(fade) + 0.5) / fade
        ramp = ramp * ramp * (3.0 - 2.0 * ramp)
        if a > 0:
            weight[:fade] = ramp
        if b < request.frames:
            weight[length - fade:] = np.minimum(weight[length - fade:], ramp[::-1])
    return weight


def _slerp(kept: np.ndarray, written: np.ndarray, weight: np.ndarray) -> np.ndarray:
    q0 = axis_angle_to_quaternion(kept.astype(np.float64))
    q1 = axis_angle_to_quaternion(written.astype(np.float64))
    blended = quaternion_slerp(q0, q1, weight[:, None])
    return quaternion_to_axis_angle(blended).astype(np.float32)


def _lerp(kept: np.ndarray, written: np.ndarray, weight: np.ndarray) -> np.ndarray:
    w = weight[:, None]
    return ((1.0 - w) * kept + w * written).astype(np.float32)


def _anchored_root(trans: np.ndarray, written: np.ndarray, a: int, b: int) -> np.ndarray:
    """A written root path moved to start where the kept root is at frame a and, when kept frames
    follow, bent (linearly over the stretch) to arrive where the kept root is at frame b."""
    path = written.astype(np.float64).copy()
    path[:, [0, 2]] += trans[a, [0, 2]] - path[0, [0, 2]]
    if b < trans.shape[0]:
        velocity = path[-1] - path[-2] if len(path) > 1 else np.zeros(3)
        miss = trans[b, [0, 2]] - (path[-1, [0, 2]] + velocity[[0, 2]])
        ramp = np.arange(1, len(path) + 1) / len(path)
        path[:, [0, 2]] += ramp[:, None] * miss
    return path.astype(np.float32)
