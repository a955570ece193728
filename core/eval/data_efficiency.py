"""The data-efficiency study: models trained on shares of the paired audio-motion data, with and
without pre-training, scored (FGD, BC) and plotted against the share."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BodyLanguageError
from core.eval import systems as eval_systems
from core.eval.baselines import build_reference
from core.eval.evaluation import evaluate
from core.eval.judges import DEFAULT_JUDGES_DIR, Judges, load_or_train_judges


@dataclass(frozen=True)
class EfficiencyRun:
    """One trained model of the data-efficiency study."""

    fraction: float  # share of the paired audio-motion training data, 0 < fraction <= 1
    pretrained: bool
    checkpoint: str


def data_efficiency_study(
    runs: Sequence[EfficiencyRun],
    data_dir: str | os.PathLike,
    split: str = "test",
    limit: int | None = None,
    out: str | os.PathLike = "bench",
    progress: bool = True,
    judges: Judges | None = None,
    judges_dir: str | os.PathLike = DEFAULT_JUDGES_DIR,
    load_model: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Evaluate each run's model (FGD, BC) and the teacher; plot FGD and BC against the data
    fraction, with and without pre-training, to `out/data_efficiency.png`; save the figures as
    `out/data_efficiency.json`. Returns that JSON document."""
    if not runs:
        raise BodyLanguageError("the data-efficiency study needs at least one trained model")
    if load_model is None:
        load_model = eval_systems.model_api().load_model
    if judges is None:
        judges = load_or_train_judges(data_dir, judges_dir, progress)
    reference = build_reference(data_dir, judges.features, progress=progress)
    rows = []
    teacher = evaluate(None, data_dir, split, ("teacher",), limit, progress, judges, out=None,
                       reference=reference)
    for run in runs:
        if not 0 < run.fraction <= 1:
            raise BodyLanguageError(f"data fraction {run.fraction} is not in (0, 1]")
        table = evaluate(load_model(run.checkpoint), data_dir, split, ("model",), limit,
                         progress, judges, out=None, edit_clips=0, reference=reference)
        rows.append({"fraction": run.fraction, "pretrained": run.pretrained,
                     "checkpoint": str(run.checkpoint), **table.values["model"]})
    document = {"split": split, "limit": limit, "runs": rows,
                "teacher": teacher.values["teacher"]}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_data_efficiency(rows, out / "data_efficiency.png", teacher.values["teacher"])
    (out / "data_efficiency.json").write_text(json.dumps(document, indent=2, allow_nan=False)
                                              + "\n", encoding="utf-8")
    return document


def plot_data_efficiency(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike,
                         teacher: Mapping[str, float | None] | None = None) -> Path:
    """FGD and BC against data fraction, one line with and one without pre-training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for metric, axis, label in (("fgd", axes[0], "FGD (lower is better)"),
                                ("bc", axes[1], "BC (higher is better)")):
        for pretrained, style in ((True, "o-"), (False, "s--")):
            points = sorted((row["fraction"], row[metric]) for row in rows
                            if bool(row["pretrained"]) == pretrained and row.get(metric)
                            is not None)
            if points:
                xs, ys = zip(*points, strict=True)
                axis.plot([100 * x for x in xs], ys, style,
                          label="with pre-training" if pretrained else "without pre-training")
        if teacher is not None and teacher.get(metric) is not None:
            axis.axhline(teacher[metric], color="grey", linestyle=":", label="teacher")
        axis.set_xscale("log")
        axis.set_xticks([10, 25, 50, 100], labels=["10 %", "25 %", "50 %", "100 %"])
        axis.set_xlabel("paired audio-motion training data")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.suptitle("Data efficiency")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def parse_efficiency_run(text: str) -> EfficiencyRun:
    """"FRACTION:pre|scratch:CHECKPOINT", e.g. "0.25:pre:out/lm_25" -> EfficiencyRun."""
    try:
        fraction, kind, checkpoint = text.split(":", 2)
        value = float(fraction)
    except ValueError:
        raise BodyLanguageError(
            f"efficiency run {text!r} is not FRACTION:pre|scratch:CHECKPOINT"
        ) from None
    if kind not in ("pre", "scratch") or not checkpoint:
        raise BodyLanguageError(
            f"efficiency run {text!r}: the middle field must be 'pre' or 'scratch'"
        )
    return EfficiencyRun(value, kind == "pre", checkpoint)
