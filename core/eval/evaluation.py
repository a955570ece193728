"""The evaluation behind `python -m core eval`: the model, the procedural teacher and two
baselines on held-out clips.

For every clip of the chosen split (held-out voices, templates and action phrasings), each system
(model, teacher, mean_pose, nearest_clip: see `systems`) makes a motion of the clip's length, and
the table holds, per system (see `metrics` for the definitions):

    bc            beat consistency (EMAGE), speech clips, weighted by evaluated length
    fgd           Fréchet distance of the project's motion features to those of the real motion
                  of the split; the teacher's row compares the split's real motion with the
                  training split's (the floor a perfect model reaches; against itself it is 0)
    div           L1 diversity of joint positions across the system's clips
    face_mae      face channel error against the real clip
    lip_sync      jaw opening vs. audio envelope correlation, speech clips
    emotion_from_motion  model: `predict_emotion` on the real motion; teacher: the emotion judge on
                  the real motion (that is, the judge's own held-out accuracy)
    emotion_judged       the emotion judge on the system's motion vs. the clip's emotion
    prompt_following     the action judge on the system's motion vs. the clip's action (action
                  clips only, their prompts are held-out paraphrases)
    edit_kept / edit_seam  upper body regenerated with the rest kept (kept channels bit-identical
                  fraction), and the middle third regenerated (worst seam speed / median speed);
                  baselines splice their own motion in, the teacher cannot edit

The judges (motion features, action and emotion classifiers) live in `core/checkpoints/eval/`
and are trained from the corpus when missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.errors import BodyLanguageError
from core.eval import systems as eval_systems
from core.eval.baselines import REFERENCE_CLIPS, TrainingReference, build_reference
from core.eval.clips import ClipCase, read_cases
from core.eval.judges import DEFAULT_JUDGES_DIR, Judges, load_or_train_judges
from core.eval.progress import progress_bar
from core.eval.scoring import ClipScores, edit_checks, score_clip, system_values
from core.eval.systems import SYSTEMS
from core.eval.table import EvalTable

EDIT_CLIPS = 8  # speech clips per system used for the edit checks


def evaluate(
    model_or_none: Any,
    data_dir: str | os.PathLike,
    split: str = "test",
    systems: Sequence[str] = SYSTEMS,
    limit: int | None = None,
    progress: bool = True,
    judges: Judges | None = None,
    judges_dir: str | os.PathLike = DEFAULT_JUDGES_DIR,
    out: str | os.PathLike | None = "bench",
    seed: int = 0,
    reference_clips: int = REFERENCE_CLIPS,
    edit_clips: int = EDIT_CLIPS,
    reference: TrainingReference | None = None,
) -> EvalTable:
    """Score `systems` on the clips of `split` (the first `limit` in id order when given).

    "model" needs `model_or_none` (from `core.api.load_model`); without one its row is left out.
    The table is saved as `out/eval_<split>.json` unless `out` is None. `judges` and
    `reference` (from `build_reference`) are loaded or built when not given.
    """
    systems, notes = _chosen_systems(systems, model_or_none)
    if judges is None:
        judges = load_or_train_judges(data_dir, judges_dir, progress)
    if reference is None:
        reference = build_reference(data_dir, judges.features, reference_clips, progress)
    cases = read_cases(data_dir, split, limit, progress)
    real_features = [judges.features.embed(c.real) for c in cases
                     if c.real.face_space == judges.features.face_space]

    values: dict[str, dict[str, float | None]] = {}
    counts: dict[str, dict[str, int]] = {}
    for name in systems:
        scores = _score_system(name, model_or_none, cases, judges, reference, seed, edit_clips,
                               progress)
        values[name] = system_values(name, scores, real_features, reference, model_or_none, seed)
        counts[name] = scores.counts()
    if "teacher" in systems:
        notes.append("teacher fgd: the split's real motion against the training split's "
                     "(against itself it is 0)")
    table = EvalTable(
        split=split, systems=systems, values=values, counts=counts, notes=notes,
        info={"data_dir": str(data_dir), "clips": len(cases), "limit": limit, "seed": seed,
              "judges": {"features": judges.features.metadata,
                         "action": judges.action.metadata,
                         "emotion": judges.emotion.metadata}},
    )
    if out is not None:
        table.save(Path(out) / f"eval_{split}.json")
    return table


def _chosen_systems(systems: Sequence[str], model_or_none: Any) -> tuple[list[str], list[str]]:
    """The systems to score, in table order, and the notes on any left out."""
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise BodyLanguageError(f"unknown systems {unknown}; expected some of {SYSTEMS}")
    notes = []
    systems = [s for s in SYSTEMS if s in systems]
    if "model" in systems and model_or_none is None:
        systems.remove("model")
        notes.append("no model given: the model row is left out")
    if not systems:
        raise BodyLanguageError("no system to evaluate")
    return systems, notes


def _score_system(name: str, model_or_none: Any, cases: Sequence[ClipCase], judges: Judges,
                  reference: TrainingReference, seed: int, edit_clips: int,
                  progress: bool) -> ClipScores:
    """System `name` performs every clip (and edits the first `edit_clips` speech clips)."""
    perform, edit = eval_systems.system_functions(name, model_or_none, reference, seed)
    scores = ClipScores()
    api = eval_systems.model_api() if name == "model" else None
    for case in progress_bar(cases, len(cases), name, progress):
        motion = perform(case)
        score_clip(scores, case, motion, judges, reference)
        if case.entry.emotion:
            if name == "model":
                read = _argmax(api.predict_emotion(model_or_none, case.real))
                scores.emotion_read.append(read == case.entry.emotion)
            elif name == "teacher":
                scores.emotion_read.append(judges.emotion.predict(case.real)
                                           == case.entry.emotion)
    if edit is not None:
        speech = [c for c in cases if c.has_speech][:edit_clips]
        for case in progress_bar(speech, len(speech), f"{name}: edits", progress):
            edit_checks(scores, case, edit)
    return scores


def _argmax(probabilities: Mapping[str, float]) -> str:
    return max(probabilities, key=probabilities.get)
