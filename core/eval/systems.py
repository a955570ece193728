"""The systems the evaluation scores, each as a function from a held-out clip to a motion of its
length (and one that edits the clip's real motion):

    model         core.api.generate from the clip's audio, transcript, emotion and, for action
                  clips, the held-out description as the prompt
    teacher       the corpus's own motion (the procedural performer); it cannot edit
    mean_pose     the training split's mean pose, held still
    nearest_clip  the training clip whose audio is most alike, fit to the length

Baselines "edit" by pasting their own motion into the edited channels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from core.errors import BodyLanguageError
from core.eval.baselines import TrainingReference, fit_length, hold_mean_pose, nearest_clip
from core.eval.clips import SAMPLE_RATE, ClipCase
from core.motion import Motion

SYSTEMS: tuple[str, ...] = ("model", "teacher", "mean_pose", "nearest_clip")

SystemFn = Callable[[ClipCase], Motion]
EditFn = Callable[[ClipCase, Sequence[str], tuple[int, int] | None], Motion]


def model_api() -> Any:
    """`core.api`, imported on first use (it loads the model stack); tests put a fake here."""
    from core import api

    return api


def _match_length(motion: Motion, frames: int) -> Motion:
    if motion.num_frames == frames:
        return motion
    return fit_length(motion, frames)


def system_functions(
    name: str, model: Any, reference: TrainingReference, seed: int
) -> tuple[SystemFn, EditFn | None]:
    """System `name`'s perform function and its edit function (None: it cannot edit)."""
    if name == "teacher":
        return (lambda case: case.real), None
    if name == "mean_pose":
        def perform(case: ClipCase) -> Motion:
            return hold_mean_pose(reference, case.real.num_frames)
    elif name == "nearest_clip":
        def perform(case: ClipCase) -> Motion:
            return nearest_clip(reference, case.audio, case.real.num_frames)
    elif name == "model":
        api = model_api()

        def perform(case: ClipCase) -> Motion:
            motion = api.generate(
                model, audio=case.audio, sample_rate=SAMPLE_RATE,
                prompt=case.entry.description, transcript=case.entry.transcript or None,
                emotion=case.entry.emotion, seed=seed,
            )
            return _match_length(motion, case.real.num_frames)

        def edit(case: ClipCase, parts: Sequence[str], frames: tuple[int, int] | None) -> Motion:
            motion = api.generate(
                model, audio=case.audio, sample_rate=SAMPLE_RATE, prompt=None,
                transcript=case.entry.transcript or None, emotion=case.entry.emotion,
                parts=tuple(parts), keep=case.real, frames=frames, seed=seed,
            )
            return _match_length(motion, case.real.num_frames)

        return perform, edit
    else:
        raise BodyLanguageError(f"unknown system {name!r}; expected one of {SYSTEMS}")

    def splice(case: ClipCase, parts: Sequence[str], frames: tuple[int, int] | None) -> Motion:
        # A baseline "edits" by pasting its own motion into the edited channels.
        own = perform(case)
        edited = case.real
        for part in parts:
            edited = edited.with_part(part, own)
        if frames is None:
            return edited
        start, stop = frames
        poses, trans, face = (case.real.poses.copy(), case.real.trans.copy(),
                              case.real.face.copy())
        poses[start:stop], trans[start:stop] = edited.poses[start:stop], edited.trans[start:stop]
        face[start:stop] = edited.face[start:stop]
        return replace(case.real, poses=poses, trans=trans, face=face)

    return perform, splice
