"""Actions from text: described body actions (wave, nod, walk, jump ...) that own body parts.

An action replaces the channels of the parts it owns over its span and fades in from, and back
out to, whatever the base motion (speech) does there, so it can run alone or while speaking.
Actions that move the feet also move the root: after a walk or a turn the base carries on from
the new place and heading. Choreographies are registered in `action_library` (written in
`action_gestures` and `action_moves`), phrasings live in `action_phrases`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from core.corpus.action_library import CHOREOGRAPHIES
from core.corpus.action_phrases import PHRASES
from core.corpus.action_stage import Stage
from core.corpus.style import Style
from core.errors import BodyLanguageError
from core.limb_ik import axis_rotation
from core.motion import Motion
from core.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    quaternion_slerp,
    quaternion_to_axis_angle,
)
from core.skeleton import PART_JOINTS, PARTS, default_rest_offsets

SPLITS: tuple[str, ...] = ("train", "heldout")
_PELVIS_OFFSET = default_rest_offsets()[0]
_LEG_JOINTS = frozenset(PART_JOINTS["lower"])


@dataclass(frozen=True)
class Action:
    """A described action: the parts it owns, how people ask for it, how long it usually takes."""

    name: str
    parts: frozenset[str]
    descriptions: tuple[str, ...]
    heldout_descriptions: tuple[str, ...]
    duration: float  # typical seconds at neutral tempo
    choreography: Callable[[Stage], None] = field(compare=False, repr=False)

    def animate(
        self,
        base: Motion,
        style: Style,
        rng: np.random.Generator,
        start: float = 0.0,
        end: float | None = None,
    ) -> Motion:
        """`base` with this action performed from `start` seconds.

        It lasts `duration / style.tempo` seconds (or until `end`), cut short at the clip's end;
        the choreography fits whatever time it gets. Channels of parts the action does not own
        are untouched.
        """
        fps = base.fps
        if not np.isfinite(start) or start < 0:
            raise BodyLanguageError(f"action {self.name!r}: start {start!r} must be >= 0 seconds")
        first = int(round(start * fps))
        if first > base.num_frames - 2:
            raise BodyLanguageError(
                f"action {self.name!r} starts at {start:.2f} s but the clip is only "
                f"{base.duration:.2f} s long"
            )
        length = self.duration / style.tempo if end is None else end - start
        if not np.isfinite(length) or length <= 0:
            raise BodyLanguageError(f"action {self.name!r}: end {end!r} is not after start {start}")
        stop = min(base.num_frames, first + max(2, int(round(length * fps))))
        stage = Stage(base, style, rng, first, stop)
        self.choreography(stage)
        stage.flush()
        self._check_ownership(stage)
        return _compose(base, stage, self.name)

    def _check_ownership(self, stage: Stage) -> None:
        owned = {j for part in self.parts for j in PART_JOINTS[part]}
        stray = sorted(set(np.flatnonzero(stage.blended)) - owned)
        if stray or (stage.root_driven and "lower" not in self.parts):
            raise BodyLanguageError(
                f"action {self.name!r} drives joints {stray or ['root']} outside its parts "
                f"{sorted(self.parts)}"
            )


# Most a driven joint turns between frames at 30 fps; the plausibility bound is 25 (40 for
# fingers). A hand path that the base's own motion speeds up is slowed to this.
_MAX_STEP = np.radians(20.0)
_MAX_FINGER_STEP = np.radians(32.0)


def _limit_speed(poses: np.ndarray, joints: np.ndarray, first: int, fps: float) -> None:
    """Cap the rotation of `joints` between consecutive frames from `first` on, in place.

    A forward pass: each frame turns from the previous output toward its target by at most
    the cap, so a too-fast stretch lags a few frames and then catches up (past the action's
    span the targets are the base's own frames).
    """
    if len(joints) == 0:
        return
    cap = np.where(joints >= 25, _MAX_FINGER_STEP, _MAX_STEP) * (30.0 / fps)
    target = axis_angle_to_quaternion(poses[first:, joints])
    dot = np.abs(np.sum(target[1:] * target[:-1], axis=-1))
    too_fast = np.flatnonzero((2 * np.arccos(np.clip(dot, 0.0, 1.0)) > cap).any(axis=1)) + 1
    if len(too_fast) == 0:
        return
    out = target.copy()
    t = int(too_fast[0])
    while t < len(out):
        previous, wanted = out[t - 1], target[t]
        dot = np.sum(previous * wanted, axis=-1)
        wanted = np.where(dot[:, None] < 0, -wanted, wanted)
        angle = 2 * np.arccos(np.clip(np.abs(dot), 0.0, 1.0))
        fast = angle > cap
        if fast.any():
            fraction = np.where(fast, cap / np.maximum(angle, 1e-9), 1.0)
            out[t] = quaternion_slerp(previous, wanted, fraction)
            t += 1
            continue
        # Caught up: skip ahead to the next frame where the targets themselves jump.
        later = too_fast[too_fast > t]
        if len(later) == 0:
            break
        t = int(later[0])
    poses[first:, joints] = quaternion_to_axis_angle(out)


def _compose(base: Motion, stage: Stage, name: str) -> Motion:
    """Base poses with the stage's driven joints faded in over the span and, for actions that
    move the root, the base's root carried along by the final turn and shift afterwards."""
    poses = base.poses.astype(np.float64)
    trans = base.trans.astype(np.float64)
    span = slice(stage.first, stage.stop)
    joints = np.flatnonzero(stage.blended)
    if len(joints):
        slerped = quaternion_slerp(
            axis_angle_to_quaternion(poses[span][:, joints]),
            axis_angle_to_quaternion(stage.poses[:, joints]),
            stage.weights()[:, None],
        )
        poses[span, joints] = quaternion_to_axis_angle(slerped)
        # Legs posed by IK to planted feet must not lag behind the pelvis: they are exempt.
        free = [j for j in joints if not (stage.root_driven and j in _LEG_JOINTS)]
        _limit_speed(poses, np.array(free, dtype=int), stage.first, base.fps)
    if stage.root_driven:
        poses[span, 0] = stage.poses[:, 0]
        trans[span] = stage.trans
        after = slice(stage.stop, None)
        if stage.stop < base.num_frames:
            turn = axis_rotation(1, stage.after_yaw)
            poses[after, 0] = matrix_to_axis_angle(turn @ axis_angle_to_matrix(poses[after, 0]))
            pelvis = trans[after] + _PELVIS_OFFSET - stage.after_pivot
            trans[after] = (pelvis @ turn.T + stage.after_pivot + stage.after_shift
                            - _PELVIS_OFFSET)
    extras = {**base.extras, "action": name, "action_frames": (stage.first, stage.stop)}
    return replace(base, poses=poses.astype(np.float32), trans=trans.astype(np.float32),
                   extras=extras)


def _build() -> dict[str, Action]:
    missing = set(CHOREOGRAPHIES) ^ set(PHRASES)
    if missing:
        raise BodyLanguageError(f"actions without both choreography and phrases: {missing}")
    actions = {}
    for name, (parts, duration, choreography) in CHOREOGRAPHIES.items():
        if not parts <= set(PARTS):
            raise BodyLanguageError(f"action {name!r} owns unknown parts {sorted(parts)}")
        train, heldout = PHRASES[name]
        actions[name] = Action(name, parts, train, heldout, duration, choreography)
    return actions


ACTIONS: dict[str, Action] = _build()


def action_names() -> tuple[str, ...]:
    """Every action's name, in a fixed order (corpus sampling depends on it)."""
    return tuple(ACTIONS)


def describe(rng: np.random.Generator, name: str, split: str) -> str:
    """One description of action `name`: a training phrasing or, for "heldout", an unseen one."""
    if name not in ACTIONS:
        raise BodyLanguageError(f"unknown action {name!r}; expected one of {action_names()}")
    if split not in SPLITS:
        raise BodyLanguageError(f"unknown description split {split!r}; expected one of {SPLITS}")
    action = ACTIONS[name]
    pool = action.descriptions if split == "train" else action.heldout_descriptions
    return pool[int(rng.integers(len(pool)))]
