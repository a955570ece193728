"""Which examples training sees: a weighted task sampler per training stage, deterministic from
(seed, step, row), the fixed paired subset of a data-efficiency run, and the held-out evaluation
examples (the tasks themselves are in core/lm/tasks.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.errors import BodyLanguageError
from core.lm.dataset import TokenizedClip, random_window
from core.lm.tasks import (
    BUILDERS,
    ELIGIBLE,
    PRETRAIN_TASKS,
    Example,
    TaskContext,
    build_example,
)
from core.tokenizers.vocabulary import TASKS

STAGES: tuple[str, ...] = ("pretrain", "posttrain")
STAGE_WEIGHTS: dict[str, dict[str, float]] = {
    "pretrain": {task: 1.0 for task in PRETRAIN_TASKS},
    # Speech-driven full-body motion is the product's main use: it gets the largest share.
    "posttrain": {
        "audio_to_motion": 3.0,
        "text_to_motion": 2.0,
        "audio_text_to_motion": 1.5,
        "transcript_audio_to_motion": 1.0,
        "emotion_to_motion": 1.0,
        "motion_to_emotion": 1.0,
        "edit_part": 1.0,
        "edit_frames": 1.0,
    },
}

def paired_subset(clips: Sequence[TokenizedClip], fraction: float, seed: int = 0) -> set[str]:
    """The ids of a fixed, seeded `fraction` of the clips (at least one): the paired data a
    data-efficiency run may use. Smaller fractions are subsets of larger ones."""
    if not 0.0 < fraction <= 1.0:
        raise BodyLanguageError(f"data_fraction must be in (0, 1], got {fraction!r}")
    ids = sorted(c.id for c in clips)
    order = np.random.default_rng([seed, 0xDA7A]).permutation(len(ids))
    keep = max(1, int(round(fraction * len(ids)))) if ids else 0
    return {ids[i] for i in order[:keep]}


class TaskSampler:
    """Draws examples of a stage's task mix, deterministically from (seed, step, row).

    A task is drawn by weight (tasks no clip can make are left out), then a clip that can make it
    (longer clips more often: they hold more windows), then a random aligned window. Only clips
    of the training splits are accepted, so held-out voices, sentence templates and action
    phrasings of the test split never enter training.
    """

    def __init__(
        self,
        clips: Sequence[TokenizedClip],
        ctx: TaskContext,
        stage: str,
        weights: Mapping[str, float] | None = None,
        data_fraction: float = 1.0,
        seed: int = 0,
        splits: Sequence[str] = ("train",),
    ) -> None:
        if stage not in STAGES:
            raise BodyLanguageError(f"unknown stage {stage!r}; stages are {', '.join(STAGES)}")
        foreign = [c.id for c in clips if c.split not in splits]
        if foreign:
            raise BodyLanguageError(
                f"training clips must come from the {'/'.join(splits)} split; {foreign[0]} and "
                f"{len(foreign) - 1} more do not"
            )
        weights = dict(STAGE_WEIGHTS[stage] if weights is None else weights)
        unknown = sorted(set(weights) - set(BUILDERS))
        if unknown:
            raise BodyLanguageError(f"unknown tasks in weights: {', '.join(unknown)}")
        self.clips, self.ctx, self.stage, self.seed = list(clips), ctx, stage, seed
        subset = paired_subset(self.clips, data_fraction, seed) if stage == "posttrain" else None
        self.eligible: dict[str, np.ndarray] = {}
        for task, weight in weights.items():
            if weight <= 0:
                continue
            indices = [i for i, c in enumerate(self.clips) if ELIGIBLE[task](c)
                       and (subset is None or c.id in subset)
                       and (task not in ("emotion_to_motion", "motion_to_emotion")
                            or c.emotion in ctx.vocab.emotions)]
            if indices:
                self.eligible[task] = np.asarray(indices)
        if not self.eligible:
            raise BodyLanguageError(f"no clip can make any task of the {stage} stage")
        self.tasks = tuple(self.eligible)
        raw = np.asarray([weights[t] for t in self.tasks], dtype=np.float64)
        self.task_probabilities = raw / raw.sum()
        self._clip_probabilities = {
            task: _by_length([self.clips[i] for i in indices])
            for task, indices in self.eligible.items()
        }
        self._stage_code = STAGES.index(stage)

    def example(self, step: int, row: int) -> Example:
        rng = np.random.default_rng([self.seed, self._stage_code, step, row])
        task = self.tasks[int(rng.choice(len(self.tasks), p=self.task_probabilities))]
        indices = self.eligible[task]
        clip = self.clips[int(indices[rng.choice(len(indices),
                                                 p=self._clip_probabilities[task])])]
        return build_example(task, random_window(clip, self.ctx.window_steps, rng), self.ctx, rng)

    def batch(self, step: int, rows: Sequence[int]) -> list[Example]:
        """Rows `rows` of step `step`'s global batch (a data-parallel rank asks for its share)."""
        return [self.example(step, row) for row in rows]


def evaluation_examples(
    clips: Sequence[TokenizedClip],
    ctx: TaskContext,
    tasks: Sequence[str] = TASKS,
    per_task: int = 8,
    seed: int = 0,
    heldout: bool = True,
) -> dict[str, list[Example]]:
    """A fixed set of examples per task from `clips` (the test split), phrased with held-out
    templates; tasks no clip can make are left out."""
    out: dict[str, list[Example]] = {}
    for task_index, task in enumerate(tasks):
        eligible = [c for c in clips if ELIGIBLE[task](c) and (
            task not in ("emotion_to_motion", "motion_to_emotion")
            or c.emotion in ctx.vocab.emotions)]
        if not eligible:
            continue
        examples = []
        for i in range(per_task):
            rng = np.random.default_rng([seed, task_index, i, 0xE7A1])
            clip = eligible[i % len(eligible)]
            window = random_window(clip, ctx.window_steps, rng)
            examples.append(build_example(task, window, ctx, rng, heldout=heldout))
        out[task] = examples
    return out


def _by_length(clips: Sequence[TokenizedClip]) -> np.ndarray:
    # Clips longer than a window count for the windows they hold; shorter ones for one.
    weights = np.asarray([max(c.steps, 1) for c in clips], dtype=np.float64)
    return weights / weights.sum()
