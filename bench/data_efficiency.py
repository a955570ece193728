"""The data-efficiency study of "The Language of Motion", repeated on our corpus.

Trains one language model per (share of paired audio-motion data, with / without pre-training)
and scores each on the held-out split with FGD and beat consistency, next to the procedural
teacher; writes `OUT/data_efficiency.png` and `OUT/data_efficiency.json`.

    .venv/bin/python bench/data_efficiency.py --data CORPUS [--config tiny] [--steps 400]

Pre-training (motion-only conversions, audio -> transcript) uses every clip; post-training pairs
audio with motion only on the chosen share of clips, so pre-training is where the unpaired data
helps. Every run has the same number of steps: without pre-training they all go to
post-training. Runs already finished (their `model/model.json` exists) are not trained again, and
an interrupted run resumes, so the study can be stopped and started again.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.api import DEFAULT_MODEL_DIR  # noqa: E402
from core.eval.data_efficiency import EfficiencyRun, data_efficiency_study  # noqa: E402
from core.train.lm import MODEL_DIR_NAME, train_lm  # noqa: E402
from core.train.lm_options import LMTrainConfig  # noqa: E402

FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def run_name(fraction: float, pretrained: bool) -> str:
    return f"{round(fraction * 100):03d}pct_{'pre' if pretrained else 'scratch'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="corpus folder (BEAT2 layout)")
    parser.add_argument("--tokenizers", default=str(DEFAULT_MODEL_DIR),
                        help="folder with the trained tokenizers (default: the shipped ones)")
    parser.add_argument("--runs", default="data_efficiency_runs",
                        help="folder for the trained models")
    parser.add_argument("--out", default=str(ROOT / "bench"), help="folder for the PNG and JSON")
    parser.add_argument("--config", default="tiny", choices=("tiny", "default", "large"))
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--limit", type=int, default=60, help="held-out clips scored per model")
    parser.add_argument("--cache", default=None, help="tokenised-data cache shared by the runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    runs_dir = Path(args.runs)
    cache = Path(args.cache) if args.cache else runs_dir / "tokenized"
    runs = []
    for fraction in FRACTIONS:
        for pretrained in (True, False):
            out = runs_dir / run_name(fraction, pretrained)
            model_dir = out / MODEL_DIR_NAME
            if not (model_dir / "model.json").is_file():
                started = time.monotonic()
                config = LMTrainConfig(preset=args.config, steps=args.steps,
                                       batch_size=args.batch_size, data_fraction=fraction,
                                       pretrain=pretrained, eval_every=0, seed=args.seed)
                train_lm(config, args.data, args.tokenizers, out, progress=False,
                         cache_dir=cache, log=lambda event: None)
                print(f"trained {out.name}: {time.monotonic() - started:.0f} s", flush=True)
            runs.append(EfficiencyRun(fraction, pretrained, str(model_dir)))
    document = data_efficiency_study(runs, args.data, limit=args.limit, out=args.out,
                                     progress=False)
    print(f"{'run':<16}{'FGD':>8}{'BC':>8}")
    for row in document["runs"]:
        name = run_name(row["fraction"], row["pretrained"])
        print(f"{name:<16}{row['fgd']:>8.3f}{row['bc']:>8.3f}")
    teacher = document["teacher"]
    print(f"{'teacher':<16}{teacher['fgd']:>8.3f}{teacher['bc']:>8.3f}")
    print(f"plot: {Path(args.out) / 'data_efficiency.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
