"""The evaluation's judges: the FGD motion feature extractor and the action and emotion
classifiers, saved together in one folder (`core/checkpoints/eval/` by default)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.eval.classifiers import (
    ACTION_KIND,
    EMOTION_KIND,
    MotionClassifier,
    load_classifier,
    read_labelled_clips,
    train_action_classifier,
    train_emotion_classifier,
)
from core.eval.features import MotionFeatureExtractor, load_motion_features, train_motion_features

DEFAULT_JUDGES_DIR = Path(__file__).resolve().parents[1] / "checkpoints" / "eval"
JUDGE_FILES = {"features": "motion_features", ACTION_KIND: ACTION_KIND,
               EMOTION_KIND: EMOTION_KIND}


@dataclass
class Judges:
    """What scores the systems: FGD feature extractor, action judge, emotion judge."""

    features: MotionFeatureExtractor
    action: MotionClassifier
    emotion: MotionClassifier


def load_judges(directory: str | os.PathLike = DEFAULT_JUDGES_DIR) -> Judges:
    """The three judges saved under `directory` (see `JUDGE_FILES`)."""
    directory = Path(directory)
    return Judges(
        features=load_motion_features(directory / JUDGE_FILES["features"]),
        action=load_classifier(directory / JUDGE_FILES[ACTION_KIND], ACTION_KIND),
        emotion=load_classifier(directory / JUDGE_FILES[EMOTION_KIND], EMOTION_KIND),
    )


def train_judges(
    data_dir: str | os.PathLike,
    directory: str | os.PathLike | None = DEFAULT_JUDGES_DIR,
    steps: Mapping[str, int] | None = None,
    progress: bool = True,
    seed: int = 0,
) -> Judges:
    """Train all three judges on `data_dir`'s train split (saved under `directory` when given).

    `steps` may set "features", "action_classifier", "emotion_classifier" training steps.
    """
    steps = dict(steps or {})
    out = None if directory is None else Path(directory)

    def target(name: str) -> Path | None:
        return None if out is None else out / JUDGE_FILES[name]

    def options(name: str) -> dict[str, int]:
        return {"steps": steps[name]} if name in steps else {}

    features = train_motion_features(data_dir, target("features"), seed=seed,
                                     progress=progress, **options("features"))
    clips = read_labelled_clips(data_dir, "train", progress)
    action = train_action_classifier(data_dir, target(ACTION_KIND), seed=seed,
                                     progress=progress, clips=clips, **options(ACTION_KIND))
    emotion = train_emotion_classifier(data_dir, target(EMOTION_KIND), seed=seed,
                                       progress=progress, clips=clips, **options(EMOTION_KIND))
    return Judges(features, action, emotion)


def load_or_train_judges(data_dir: str | os.PathLike,
                         directory: str | os.PathLike = DEFAULT_JUDGES_DIR,
                         progress: bool = True) -> Judges:
    """The saved judges, or freshly trained ones (then saved) when any is missing."""
    directory = Path(directory)
    if all((directory / f"{name}.json").is_file() for name in JUDGE_FILES.values()):
        return load_judges(directory)
    if progress:
        print(f"training the evaluation judges into {directory} ...", file=sys.stderr)
    return train_judges(data_dir, directory, progress=progress)
