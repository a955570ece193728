"""What an autoregressive LM training run is decided by (`LMTrainConfig`, saved beside its
checkpoint as `lm.training.json`), the presets' schedules, the stage plan, and the command-line
options of `python -m core train lm`."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.errors import BodyLanguageError
from core.lm.config import PRESETS

STAGE_CHOICES = ("pretrain", "posttrain", "both")


@dataclass(frozen=True)
class Schedule:
    """Per-preset training defaults (every one can be overridden by `LMTrainConfig`)."""

    steps: int
    batch_size: int
    lr: float
    warmup_steps: int
    eval_every: int
    weight_decay: float = 0.01


SCHEDULES: dict[str, Schedule] = {
    "tiny": Schedule(steps=200, batch_size=8, lr=1e-3, warmup_steps=20, eval_every=100),
    # The shipped model's run, sized for this project's 2-core CPU: a step of 16 windows took
    # 6-11 s on one thread there, 450 steps ~80 minutes.
    "default": Schedule(steps=450, batch_size=16, lr=3e-4, warmup_steps=50, eval_every=150),
    "large": Schedule(steps=100_000, batch_size=64, lr=1e-4, warmup_steps=2000,
                      eval_every=2000),
}


@dataclass(frozen=True)
class LMTrainConfig:
    """Everything an LM training run is decided by.

    `preset`: "tiny" | "default" | "large" (core/lm/config.py); `model_overrides` change single
    LMConfig fields (e.g. dropout). `stage`: "pretrain", "posttrain" or "both" (`pretrain_share`
    of the steps pre-training first); `pretrain=False` skips pre-training (the ablation).
    `data_fraction`: the share of clips whose audio and motion post-training may pair (the
    data-efficiency study). `steps`, `batch_size` (global, over all ranks), `lr`, `warmup_steps`,
    `eval_every` left None take the preset's `SCHEDULES` entry (`resolved()` fills them in);
    `eval_every=0` evaluates only at the end.
    """

    preset: str = "tiny"
    stage: str = "both"
    steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    warmup_steps: int | None = None
    eval_every: int | None = None
    data_fraction: float = 1.0
    pretrain: bool = True
    pretrain_share: float = 0.3
    seed: int = 0
    save_every_s: float = 300.0  # wall seconds between resumable states
    save_every_steps: int | None = None
    eval_examples: int = 8  # held-out examples per task
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def resolved(self) -> LMTrainConfig:
        """This config with the preset's schedule filled in where a field is None, checked."""
        if self.preset not in PRESETS:
            raise BodyLanguageError(
                f"unknown LM config {self.preset!r}; configs are {', '.join(PRESETS)}")
        schedule = SCHEDULES[self.preset]
        steps = schedule.steps if self.steps is None else self.steps
        warmup_steps = min(schedule.warmup_steps, max(1, steps // 10)) \
            if self.warmup_steps is None else self.warmup_steps
        config = replace(
            self, steps=steps, warmup_steps=warmup_steps,
            batch_size=schedule.batch_size if self.batch_size is None else self.batch_size,
            eval_every=schedule.eval_every if self.eval_every is None else self.eval_every,
            lr=schedule.lr if self.lr is None else self.lr,
            model_overrides=dict(self.model_overrides),
        )
        for name in ("steps", "batch_size", "warmup_steps"):
            _positive(name, getattr(config, name))
        _positive("eval_every", config.eval_every, allow_zero=True)
        _positive("eval_examples", config.eval_examples)
        if not (isinstance(config.lr, (int, float)) and config.lr > 0):
            raise BodyLanguageError(f"lr must be a positive number, got {config.lr!r}")
        fraction = config.data_fraction
        if not (isinstance(fraction, (int, float)) and 0.0 < fraction <= 1.0):
            raise BodyLanguageError(f"data_fraction must be in (0, 1], got {fraction!r}")
        config = replace(config, lr=float(config.lr), data_fraction=float(fraction))
        config.plan()  # an unknown stage is named before any work
        return config

    @property
    def weight_decay(self) -> float:
        return SCHEDULES[self.preset].weight_decay

    def plan(self) -> list[tuple[str, int, int]]:
        """The stages of a resolved config (see `stage_plan`)."""
        assert self.steps is not None, "resolve the config first"
        return stage_plan(self.stage, self.steps, self.pretrain, self.pretrain_share)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _positive(name: str, value: Any, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise BodyLanguageError(f"{name} must be a {kind} integer, got {value!r}")


def stage_plan(
    stage: str, steps: int, pretrain: bool = True, pretrain_share: float = 0.3
) -> list[tuple[str, int, int]]:
    """[(stage, first step, last step + 1)]: "both" spends `pretrain_share` of the steps on
    pre-training first; `pretrain=False` (the ablation) skips pre-training."""
    if stage not in STAGE_CHOICES:
        raise BodyLanguageError(f"stage must be one of {', '.join(STAGE_CHOICES)}, got {stage!r}")
    if stage == "pretrain" and not pretrain:
        raise BodyLanguageError("stage 'pretrain' with pretrain=False trains nothing")
    if stage == "both" and pretrain:
        if not 0.0 < pretrain_share < 1.0:
            raise BodyLanguageError(f"pretrain_share must be in (0, 1), got {pretrain_share!r}")
        split = min(max(1, int(round(steps * pretrain_share))), steps - 1) if steps > 1 else steps
        return [("pretrain", 0, split), ("posttrain", split, steps)]
    name = "pretrain" if stage == "pretrain" else "posttrain"
    return [(name, 0, steps)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m core train lm` (core/cli.py adds them to its sub-command)."""
    parser.add_argument("--data", nargs="+", required=True,
                        help="corpus folders in the BEAT2 layout (ours and/or BEAT2)")
    parser.add_argument("--tokenizers", required=True,
                        help="folder with motion_tokenizer.* and audio_tokenizer.*")
    parser.add_argument("--out", required=True, help="output folder (checkpoint, state, log)")
    parser.add_argument("--config", choices=PRESETS, default="default", help="model preset")
    parser.add_argument("--stage", choices=STAGE_CHOICES, default="both")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="global batch, split over data-parallel processes")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--data-fraction", type=float, default=1.0,
                        help="share of paired audio-motion clips post-training may use")
    parser.add_argument("--no-pretrain", action="store_true", help="skip pre-training")
    parser.add_argument("--no-resume", action="store_true", help="start over")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="tokenised-data cache folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> LMTrainConfig:
    return LMTrainConfig(
        preset=args.config, stage=args.stage, steps=args.steps, batch_size=args.batch_size,
        lr=args.lr, eval_every=args.eval_every, data_fraction=args.data_fraction,
        pretrain=not args.no_pretrain, seed=args.seed,
    )
