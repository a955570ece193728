"""The procedural performer: a spoken line (or silence) and an emotion in, a Motion out.

Idle posture, gestures and head come from `upper`, finger shapes from `hands`, stance, weight
shifts and steps from `lower`, the face from `face`; an optional action (a wave, a bow ...)
replaces the body parts it owns last, so speech keeps driving the rest of the body.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from core.corpus.face import animate_face
from core.corpus.hands import animate_hands
from core.corpus.lower import animate_lower
from core.corpus.script import Utterance
from core.corpus.signals import child_rngs
from core.corpus.style import Style
from core.corpus.upper import animate_upper
from core.errors import BodyLanguageError
from core.motion import Motion
from core.rotations import axis_angle_to_quaternion, quaternion_slerp, quaternion_to_axis_angle
from core.skeleton import JOINT_INDEX, PART_JOINTS


class Action(Protocol):
    """What `perform` needs from an action (core.corpus.actions provides them)."""

    parts: frozenset[str] | set[str]  # body parts it owns: "face", "hands", "upper", "lower"

    def animate(self, base: Motion, style: Style, rng: np.random.Generator) -> Motion: ...


# Tense emotions fidget more with their fingers.
_FIDGET = {"fear": 1.8, "anger": 1.3, "surprise": 1.2, "sadness": 0.6}


def _frame_count(utterance: Utterance | None, duration: float | None, fps: float) -> int:
    if not (np.isfinite(fps) and fps > 0):
        raise BodyLanguageError(f"perform() needs a positive fps, got {fps!r}")
    if duration is None:
        if utterance is None:
            raise BodyLanguageError("perform() needs an utterance or a duration in seconds")
        duration = utterance.duration
    if not (np.isfinite(duration) and duration > 0):
        raise BodyLanguageError(f"perform() needs a positive duration, got {duration!r} s")
    frames = int(round(duration * fps))
    if frames < 1:
        raise BodyLanguageError(f"a {duration} s performance at {fps} fps has no frames")
    return frames


# Degrees per frame at 30 fps: under the plausibility bound (25), so the rare fast stroke of an
# angry speaker is slowed into a real arm's reach instead of failing the clip.
ARM_SPEED_LIMIT = 22.0


def limit_rotation_speed(rotations: np.ndarray, max_degrees: float) -> np.ndarray:
    """(T, J, 3) axis-angle rotations where no joint turns more than `max_degrees` between frames:
    a faster step is slerped short and the joint catches up over the following frames."""
    quats = axis_angle_to_quaternion(rotations.astype(np.float64))
    limit = np.radians(max_degrees)
    out = quats.copy()
    for t in range(1, len(quats)):
        previous, target = out[t - 1], quats[t]
        dot = np.abs(np.sum(previous * target, axis=-1))
        angle = 2 * np.arccos(np.clip(dot, 0.0, 1.0))
        fast = angle > limit
        if fast.any():
            fraction = np.ones_like(angle)
            fraction[fast] = limit / angle[fast]
            out[t] = quaternion_slerp(previous, target, fraction[:, None])
    return quaternion_to_axis_angle(out).astype(rotations.dtype)


def perform(
    utterance: Utterance | None,
    style: Style,
    rng: np.random.Generator,
    fps: float = 30.0,
    duration: float | None = None,
    action: Action | None = None,
) -> Motion:
    """A full-body performance of `utterance` in `style`, deterministic for a given `rng` state.

    Without an utterance the clip is `duration` seconds of idle (plus the action, if any); with
    one, the duration defaults to the audio's. Frames = round(duration * fps).
    """
    frames = _frame_count(utterance, duration, fps)
    rng_lower, rng_upper, rng_hands, rng_face, rng_action = child_rngs(rng, 5)

    lower = animate_lower(style, frames, fps, rng_lower)
    upper = animate_upper(utterance, style, frames, fps, rng_upper, pelvis_roll=lower.pelvis_roll)
    fingers = animate_hands(
        upper.shapes["left"], upper.shapes["right"], fps, rng_hands,
        fidget=_FIDGET.get(style.emotion, 1.0),
    )

    poses = np.zeros_like(upper.poses)
    arms = list(PART_JOINTS["upper"])
    upper_poses = upper.poses.copy()
    upper_poses[:, arms] = limit_rotation_speed(upper.poses[:, arms], ARM_SPEED_LIMIT * 30.0 / fps)
    for part, source in (("upper", upper_poses), ("lower", lower.poses)):
        joints = list(PART_JOINTS[part])
        poses[:, joints] = source[:, joints]
    poses[:, list(PART_JOINTS["hands"])] = fingers
    face = animate_face(utterance, style, frames, fps, rng_face)
    poses[:, JOINT_INDEX["jaw"]] = face.jaw
    poses[:, JOINT_INDEX["left_eye"]] = face.left_eye
    poses[:, JOINT_INDEX["right_eye"]] = face.right_eye

    motion = Motion(
        poses=poses.astype(np.float32),
        trans=lower.trans.astype(np.float32),
        face=face.face.astype(np.float32),
        face_space="arkit52",
        fps=fps,
        extras={
            "gestures": upper.gestures,
            "rest": upper.rest,
            "steps": [
                {"side": s.side, "start": round(s.start, 3), "end": round(s.end, 3)}
                for s in lower.steps
            ],
            "planted": lower.planted,
        },
    )
    if action is not None:
        motion = action.animate(motion, style, rng_action)
    return motion
