"""Command line: `python -m core corpus build|preview`, `train tokenizers|lm`, `eval`.

Every bad input ends as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from core.errors import BodyLanguageError


def _corpus_build(args: argparse.Namespace) -> None:
    from core.corpus.build import build_corpus

    summary = build_corpus(args.out, hours=args.hours, seed=args.seed, workers=args.workers,
                           progress=not args.quiet, check=not args.no_check,
                           overwrite=args.overwrite, listen_share=args.listen_share)
    print(summary)


# Clips on one contact sheet: each is ~400 px tall, and Agg cannot draw an image past 2**16 px.
MAX_PREVIEW_CLIPS = 100


def _corpus_preview(args: argparse.Namespace) -> None:
    from core.corpus.preview import render_preview

    # Checked here: with a count below 1 the sheet would be empty, and the message would blame
    # the corpus ("holds no clips") instead of the option.
    if not 1 <= args.clips <= MAX_PREVIEW_CLIPS:
        raise BodyLanguageError(
            f"--clips must be from 1 to {MAX_PREVIEW_CLIPS}, got {args.clips}")
    if args.ids is not None and len(args.ids) > MAX_PREVIEW_CLIPS:
        raise BodyLanguageError(
            f"--ids names {len(args.ids)} clips; at most {MAX_PREVIEW_CLIPS} fit on one sheet")
    path = render_preview(args.data, args.out, clips=args.clips, ids=args.ids)
    print(f"preview written to {path}")


def _train_tokenizers(args: argparse.Namespace) -> None:
    from core.train.audio_tokenizer import AudioTrainingConfig, train_audio_tokenizer
    from core.train.motion_tokenizer import train_motion_tokenizer, training_config

    if "audio" in args.which:
        audio = AudioTrainingConfig(units=args.audio_units, max_hours=args.audio_hours,
                                    seed=args.seed)
        report = train_audio_tokenizer(audio, args.data, args.out, progress=not args.quiet)
        print(report.summary())
    if "motion" in args.which:
        config = training_config(args.config, steps=args.steps, seed=args.seed)
        train_motion_tokenizer(config, args.data, args.out, device=args.device,
                               progress=not args.quiet, resume=not args.no_resume)
        print(f"motion tokenizer written to {args.out}")


def _train_lm(args: argparse.Namespace) -> None:
    # Only reached for an empty option list: main() hands `train lm ...` to the trainer's own
    # parser, which lives beside it (torchrun launches `python -m core.train.lm` directly) and
    # imports torch, which the corpus commands do not need.
    from core.train.lm import main as train_lm_main

    raise SystemExit(train_lm_main(args.lm_args))


def _train_masked(args: argparse.Namespace) -> None:
    from core.train.masked import run_from_args

    run_from_args(args)


def _eval(args: argparse.Namespace) -> None:
    from core.eval.command_line import run_from_args

    print(run_from_args(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    corpus = commands.add_parser("corpus", help="the project's own aligned training corpus")
    corpus_commands = corpus.add_subparsers(dest="corpus_command", required=True)
    build = corpus_commands.add_parser("build", help="synthesise speech and performances")
    build.add_argument("--hours", type=float, required=True, help="hours of clips to make")
    build.add_argument("--seed", type=int, default=0, help="same seed, same corpus")
    build.add_argument("--out", required=True, help="output folder (BEAT2 layout)")
    build.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.add_argument("--overwrite", action="store_true",
                       help="replace a finished corpus already at --out")
    build.add_argument("--no-check", action="store_true",
                       help="skip the per-clip plausibility checks (faster)")
    build.add_argument("--listen-share", type=float, default=0.0,
                       help="share of listener clips (someone else's line, the performer "
                            "listening), taken from the speech-only clips (default 0)")
    build.set_defaults(run=_corpus_build)

    preview = corpus_commands.add_parser("preview", help="draw clips as a PNG contact sheet")
    preview.add_argument("--data", required=True, help="corpus folder")
    preview.add_argument("--out", required=True, help="PNG file to write")
    preview.add_argument("--clips", type=int, default=3, help="how many clips to draw")
    preview.add_argument("--ids", nargs="*", default=None, help="clip ids to draw")
    preview.set_defaults(run=_corpus_preview)

    train = commands.add_parser("train", help="train the tokenizers and the language model")
    train_commands = train.add_subparsers(dest="train_command", required=True)
    tokenizers = train_commands.add_parser(
        "tokenizers", help="the audio tokenizer and the four part VQ-VAEs (resumable)")
    tokenizers.add_argument("--data", nargs="+", required=True,
                            help="corpus folders in the BEAT2 layout (ours and/or BEAT2)")
    tokenizers.add_argument("--out", required=True, help="folder for the tokenizer checkpoints")
    tokenizers.add_argument("--which", nargs="+", choices=("audio", "motion"),
                            default=["audio", "motion"], help="which tokenizers to train")
    tokenizers.add_argument("--config", choices=("tiny", "default"), default="default",
                            help="motion tokenizer preset")
    tokenizers.add_argument("--steps", type=int, default=None,
                            help="motion tokenizer steps (default: the preset's)")
    tokenizers.add_argument("--audio-units", type=int, default=512)
    tokenizers.add_argument("--audio-hours", type=float, default=10.0,
                            help="at most this many hours of audio for the audio codebook")
    tokenizers.add_argument("--device", default="auto", help="auto, cpu, cuda")
    tokenizers.add_argument("--seed", type=int, default=0)
    tokenizers.add_argument("--no-resume", action="store_true", help="start over")
    tokenizers.add_argument("--quiet", action="store_true", help="no progress bar")
    tokenizers.set_defaults(run=_train_tokenizers)

    lm = train_commands.add_parser(
        "lm", help="pre-train and instruction-tune the language model (see --help)",
        add_help=False)
    lm.add_argument("lm_args", nargs=argparse.REMAINDER,
                    help="options of python -m core.train.lm (--data, --tokenizers, --out ...)")
    lm.set_defaults(run=_train_lm)

    masked = train_commands.add_parser(
        "masked", help="train the masked motion model (the default kind) and write a model "
                       "folder")
    from core.train.masked_options import add_arguments as masked_arguments

    masked_arguments(masked)
    masked.set_defaults(run=_train_masked)

    evaluation = commands.add_parser(
        "eval", add_help=False,
        help="metrics of the model, the corpus teacher and baselines on held-out clips")
    evaluation.add_argument("eval_args", nargs=argparse.REMAINDER)
    return parser


def _eval_parser() -> argparse.ArgumentParser:
    from core.eval.command_line import add_arguments

    parser = argparse.ArgumentParser(prog="python -m core eval")
    add_arguments(parser)
    parser.set_defaults(run=_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 on success, 2 for bad input (one line on stderr), 130 when
    interrupted."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["train", "lm"]:
        # argparse cannot hand options like --help through to a sub-command's own parser.
        from core.train.lm import main as train_lm_main

        return train_lm_main(argv[2:])
    # The trainer and the judges import torch; the corpus commands must not wait for it.
    if argv[:1] == ["eval"]:
        args = _eval_parser().parse_args(argv[1:])
    else:
        args = build_parser().parse_args(argv)
    # A full disk or a folder without write permission is the user's to fix, and the error
    # already names the file; a traceback would only hide that line.
    return exit_code(lambda: args.run(args), (BodyLanguageError, OSError))


def exit_code(command: Callable[[], object],
              user_errors: tuple[type[Exception], ...] = (BodyLanguageError,)) -> int:
    """Run `command`: 0 on success, 2 for one of `user_errors` (one line on stderr, never a
    traceback), 130 when interrupted."""
    try:
        command()
    except user_errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
