"""`python -m core eval`: its options, and the text it prints."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.eval import systems as eval_systems
from core.eval.data_efficiency import data_efficiency_study, parse_efficiency_run
from core.eval.evaluation import evaluate
from core.eval.judges import DEFAULT_JUDGES_DIR
from core.eval.systems import SYSTEMS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m core eval`."""
    parser.add_argument("--data", required=True, help="corpus folder (BEAT2 layout)")
    parser.add_argument("--model", default=None,
                        help="model folder (default: the shipped model)")
    parser.add_argument("--no-model", action="store_true",
                        help="score only the teacher and the baselines")
    parser.add_argument("--split", default="test", help="split to score (default test)")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--limit", type=int, default=None, help="first N clips of the split")
    parser.add_argument("--out", default="bench", help="folder for the JSON (and PNG) figures")
    parser.add_argument("--judges", default=str(DEFAULT_JUDGES_DIR),
                        help="folder of the judges (trained from --data when missing)")
    parser.add_argument("--seed", type=int, default=0, help="generation seed")
    parser.add_argument("--efficiency", nargs="+", default=None, metavar="F:pre|scratch:CKPT",
                        help="run the data-efficiency study on these trained models instead")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run_from_args(args: argparse.Namespace) -> str:
    """Run the evaluation (or the data-efficiency study) and return the text to print."""
    # Judges and model are small per step; on a busy 2-core machine one torch thread is ~10x
    # faster than two spinning against each other: the same rule as generation.
    import torch

    from core.devices import cpu_threads

    torch.set_num_threads(cpu_threads())
    progress = not args.quiet
    if args.efficiency:
        runs = [parse_efficiency_run(text) for text in args.efficiency]
        document = data_efficiency_study(runs, args.data, args.split, args.limit, args.out,
                                         progress, judges_dir=args.judges)
        lines = [f"{'fraction':>8}  {'pre-trained':>11}  {'fgd':>8}  {'bc':>6}"]
        for row in document["runs"]:
            fgd = "-" if row["fgd"] is None else f"{row['fgd']:.3f}"
            bc = "-" if row["bc"] is None else f"{row['bc']:.3f}"
            lines.append(f"{row['fraction']:>8.2f}  {str(row['pretrained']):>11}  {fgd:>8}  "
                         f"{bc:>6}")
        lines.append(f"plot: {Path(args.out) / 'data_efficiency.png'}")
        return "\n".join(lines)
    model = None
    if not args.no_model and "model" in args.systems:
        model = eval_systems.model_api().load_model(args.model)
    table = evaluate(model, args.data, args.split, args.systems, args.limit, progress,
                     judges_dir=args.judges, out=args.out, seed=args.seed)
    return table.format() + f"\nsaved: {Path(args.out) / f'eval_{args.split}.json'}"
