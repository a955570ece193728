"""The paper's data-efficiency question on the masked design: does pre-training on motion alone
help when paired data (speech, prompts, emotion with motion) is scarce?

    .venv/bin/python bench/data_efficiency_masked.py --data CORPUS [--pre-min 6] [--post-min 6]

Pre-training is the masked objective with every condition dropped (motion only), on every
training clip. Each share of clips (10 % and 100 %) is then trained with its conditions either
from the pre-trained weights for --post-min CPU-minutes, or from scratch for --pre-min +
--post-min (the same compute). Every run is a learning-curve run (bench/learning_curve.py: the
same model options, resumable, scored on the same held-out panel); this script runs what is
missing, then writes bench/data_efficiency_masked.json and .png from each run's last point.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CURVES = ROOT / "bench" / "curves"
FRACTIONS = (0.1, 1.0)
SHOWN = ("prompt_text", "prompt_speech", "lip_sync", "emotion_judged", "fgd", "real_vowel_r")
MODEL = ["--prompt-rows", "0.3", "--threads", "1"]  # the cpu preset and TrainConfig's defaults


def curve(run: str) -> dict | None:
    path = CURVES / f"{run}.json"
    return json.loads(path.read_text()) if path.exists() else None


def train(args: argparse.Namespace, run: str, minutes: float, extra: list[str]) -> None:
    done = curve(run)
    if done and done["points"] and done["points"][-1]["cpu_min"] >= minutes - 0.05:
        return
    steps = int(minutes * 60 / 0.3)  # the cosine schedule spans the run (~0.3 CPU-s a step)
    subprocess.run([sys.executable, str(ROOT / "bench" / "learning_curve.py"), "--data",
                    str(args.data), "--run", run, "--every-cpu-min", str(minutes),
                    "--max-cpu-min", str(minutes), "--steps", str(steps), *MODEL, *extra],
                   check=True)


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(SHOWN), figsize=(3.2 * len(SHOWN), 3))
    for axis, metric in zip(axes, SHOWN, strict=True):
        for pretrained, colour in ((True, "tab:blue"), (False, "tab:orange")):
            chosen = [r for r in rows if r["pretrained"] == pretrained]
            axis.plot([r["fraction"] * 100 for r in chosen], [r[metric] for r in chosen],
                      marker="o", color=colour, label="pre-trained" if pretrained else "scratch")
        axis.set_xscale("log")
        axis.set_title(metric)
        axis.set_xlabel("% of paired clips")
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="corpus folder")
    parser.add_argument("--pre-min", type=float, default=6.0)
    parser.add_argument("--post-min", type=float, default=6.0)
    args = parser.parse_args()
    pre = "efficiency_pretrain"
    train(args, pre, args.pre_min, ["--drop-all", "1.0"])
    rows = []
    for fraction in FRACTIONS:
        share = ["--train-fraction", str(fraction)]
        for pretrained in (True, False):
            run = f"efficiency_{round(fraction * 100):03d}pct_{'pre' if pretrained else 'scratch'}"
            if pretrained:
                train(args, run, args.post_min,
                      [*share, "--init-from", str(ROOT / "data" / "curves" / pre)])
            else:
                train(args, run, args.pre_min + args.post_min, share)
            last = curve(run)["points"][-1]
            rows.append({"fraction": fraction, "pretrained": pretrained, "run": run,
                         **{metric: last.get(metric) for metric in SHOWN}})
    result = {"pre_min": args.pre_min, "post_min": args.post_min, "runs": rows}
    (ROOT / "bench" / "data_efficiency_masked.json").write_text(json.dumps(result, indent=1))
    plot(rows, ROOT / "bench" / "data_efficiency_masked.png")
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
