"""Learning curve of a masked-model configuration: train, and every few CPU-minutes score the quick
held-out panel (core/eval/panel.py); write the points as JSON and plot each metric against
CPU-minutes. Resumable: run the same command again and it goes on where it stopped.

    python bench/learning_curve.py --data data/corpus --run base --max-cpu-min 120
    python bench/learning_curve.py --plot bench/curves/*.json --out bench/learning_curves.png

CPU-minutes are the training process's CPU time (all its threads; evaluation excluded), so two
threads for one wall minute count two. The corpus is tokenised once with the shipped tokenizers
(`core/checkpoints/default`) into `<data>/.lm_cache` unless --cache names another folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle threads sleep: CPU time = work

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.api import DEFAULT_MODEL_DIR  # noqa: E402
from core.checkpoint import load_training_state  # noqa: E402
from core.eval.panel import Panel, teacher_scores  # noqa: E402
from core.lm.dataset import load_tokenized, tokenize_corpus  # noqa: E402
from core.lm.masked import MaskedMotionModel  # noqa: E402
from core.lm.masked_generate import FillOptions  # noqa: E402
from core.lm.mouth import load_mouth_tracks  # noqa: E402
from core.masked_inference import MaskedSystem  # noqa: E402
from core.skeleton import PARTS  # noqa: E402
from core.tokenizers.audio import AudioTokenizer  # noqa: E402
from core.tokenizers.motion_vqvae import MotionTokenizer  # noqa: E402
from core.train.masked import MaskedTrainer, codebooks  # noqa: E402
from core.train.masked_options import TrainConfig  # noqa: E402

CURVES_DIR = ROOT / "bench" / "curves"
SHOWN = ("prompt_text", "prompt_speech", "prompt_effect", "emotion_judged", "emotion_effect",
         "emotion_from_motion",
         "lip_sync", "real_vowel_r", "real_pause_closed", "blinks_per_min", "fgd", "foot_skate",
         "train_accuracy")


def parse_guidance(text: str) -> dict[str, float]:
    values = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        values[name.strip()] = float(value)
    return values


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="corpus folder (BEAT2 layout)")
    parser.add_argument("--cache", type=Path, help="tokenised cache (default <data>/.lm_cache)")
    parser.add_argument("--run", help="run name: bench/curves/<run>.json, runs under --work")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "curves")
    parser.add_argument("--every-cpu-min", type=float, default=10.0)
    parser.add_argument("--max-cpu-min", type=float, default=120.0)
    parser.add_argument("--guidance", type=parse_guidance, default=None,
                        help="e.g. prompt=2.5,audio=1,emotion=2 (default: generation's defaults)")
    parser.add_argument("--speech-clips", type=int, default=16)
    parser.add_argument("--train-fraction", type=float, default=1.0,
                        help="share of the training clips used (corpus size)")
    parser.add_argument("--sentence-token", action="store_true",
                        help="give the model MiniLM's sentence embedding as a prompt token")
    parser.add_argument("--tied-heads", action="store_true",
                        help="score codes against the part's own code embeddings")
    parser.add_argument("--model", action="append", default=[], type=model_setting,
                        metavar="NAME=VALUE",
                        help="a model shape over the preset's, e.g. --model hidden=192")
    parser.add_argument("--init-from", type=Path,
                        help="start from the weights of this model folder (e.g. "
                             "core/checkpoints/default, to fine-tune it) or run folder's state "
                             "(pre-training), not from random ones")
    parser.add_argument("--plot", nargs="*", type=Path, help="plot these curve files and stop")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "learning_curves.png")
    for spec in fields(TrainConfig):
        parser.add_argument(f"--{spec.name.replace('_', '-')}", type=type(spec.default),
                            default=spec.default)
    return parser.parse_args()


def model_setting(text: str) -> tuple[str, bool | int | float]:
    """NAME=VALUE for a model shape (hidden, layers, heads, feedforward, dropout...) or switch
    (prompt_to_steps=true)."""
    name, _, value = text.partition("=")
    if value.lower() in ("true", "false"):
        return name.strip(), value.lower() == "true"
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=NUMBER, got {text!r}") from None
    return name.strip(), int(number) if number.is_integer() and name != "dropout" else number


def switches(args: argparse.Namespace) -> dict[str, bool]:
    """--sentence-token / --tied-heads turn a switch on over the preset's (which may have it)."""
    return {name: True for name in ("sentence_token", "tied_heads") if getattr(args, name)}


def train_clips(cache: Path, fraction: float) -> list:
    clips = load_tokenized(cache, "train")
    if fraction < 1.0:
        rng = np.random.default_rng(0)
        keep = rng.permutation(len(clips))[: max(1, int(len(clips) * fraction))]
        clips = [clips[i] for i in sorted(keep)]
    return clips


def initial_weights(folder: Path) -> dict:
    """Weights to start from: a model folder's language model (the shipped one, to fine-tune
    it) or a run folder's training state (pre-training)."""
    if (folder / "lm.json").is_file():
        return MaskedMotionModel.load(folder / "lm").state_dict()
    return load_training_state(folder / "state").model_state


def run(args: argparse.Namespace) -> None:
    cache = args.cache or args.data / ".lm_cache"
    tokenize_corpus(args.data, DEFAULT_MODEL_DIR, cache, progress=True)
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    motion_tokenizer = MotionTokenizer.load(DEFAULT_MODEL_DIR / "motion_tokenizer").eval()
    audio_tokenizer = AudioTokenizer.load(DEFAULT_MODEL_DIR / "audio_tokenizer")
    clips = train_clips(cache, args.train_fraction)
    emotions = sorted({c.emotion for c in clips if c.emotion})
    mouth = load_mouth_tracks(args.data, [c.id for c in load_tokenized(cache, "train")],
                              cache / "mouth_train.npz")
    trainer = MaskedTrainer(config, clips, [motion_tokenizer.codebook_size(p) for p in PARTS],
                            audio_tokenizer.num_units, emotions, args.work / args.run,
                            mouth=mouth, codebooks=codebooks(motion_tokenizer),
                            **switches(args), **dict(args.model))
    if args.init_from is not None and trainer.step == 0:
        trainer.model.load_state_dict(initial_weights(args.init_from))
    panel = Panel.build(args.data, "val", args.speech_clips)
    curve_path = CURVES_DIR / f"{args.run}.json"
    curve = json.loads(curve_path.read_text()) if curve_path.exists() else {
        "run": args.run, "config": config.to_dict(), "guidance": args.guidance,
        "model": trainer.model.config.to_dict(),
        "init_from": None if args.init_from is None else args.init_from.name,
        "train_clips": len(clips), "teacher": teacher_scores(panel), "points": []}
    system = MaskedSystem(trainer.model, motion_tokenizer, audio_tokenizer)
    recent: list[float] = []

    def evaluate(t: MaskedTrainer) -> None:
        t.model.eval()
        point = {"step": t.step, "cpu_min": round(t.cpu_seconds / 60, 2),
                 "train_accuracy": float(np.mean(recent[-50:])) if recent else None}
        began = time.monotonic()
        point.update(panel.score(lambda audio, rate, prompt, emotion, duration: system.quick(
            audio, rate, prompt, emotion, duration,
            FillOptions(guidance=args.guidance, generator=torch.Generator().manual_seed(0))),
            lambda motion: emotions[int(np.argmax(system.emotion(motion)))]))
        point["panel_wall_s"] = round(time.monotonic() - began, 1)
        t.model.train()
        t.model.save(args.work / args.run / "model", {"step": t.step, "point": point})
        curve["points"] = [p for p in curve["points"] if p["step"] != t.step] + [point]
        CURVES_DIR.mkdir(parents=True, exist_ok=True)
        curve_path.write_text(json.dumps(curve, indent=1) + "\n")
        print(json.dumps(point), flush=True)

    original = trainer.train_step

    def train_step() -> dict:
        stats = original()
        recent.append(stats["accuracy"])
        return stats

    trainer.train_step = train_step
    trainer.run(config.steps, args.every_cpu_min * 60, evaluate, args.max_cpu_min * 60)


def plot(paths: list[Path], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [json.loads(p.read_text()) for p in paths]
    columns = 4
    rows = -(-len(SHOWN) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows))
    for axis, metric in zip(axes.flat, SHOWN, strict=False):
        for curve in curves:
            points = [p for p in curve["points"] if p.get(metric) is not None]
            axis.plot([p["cpu_min"] for p in points], [p[metric] for p in points], marker="o",
                      label=curve["run"])
            teacher = curve.get("teacher", {}).get(metric)
            if teacher is not None and curve is curves[0]:
                axis.axhline(teacher, color="grey", linestyle="--", linewidth=1)
        axis.set_title(metric)
        axis.set_xlabel("CPU-minutes")
    axes.flat[0].legend(fontsize=7)
    for axis in list(axes.flat)[len(SHOWN):]:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(out, dpi=80)
    print(f"wrote {out}")


def main() -> None:
    args = arguments()
    if args.plot is not None:
        plot(args.plot, args.out)
        return
    if args.data is None or args.run is None:
        raise SystemExit("--data and --run are needed to train")
    run(args)


if __name__ == "__main__":
    main()
