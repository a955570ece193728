"""Command line: `python -m core corpus build|preview`.

Every bad input ends as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from core.errors import BodyLanguageError


def _corpus_build(args: argparse.Namespace) -> None:
    from core.corpus.build import build_corpus

    summary = build_corpus(args.out, hours=args.hours, seed=args.seed, workers=args.workers,
                           progress=not args.quiet, check=not args.no_check)
    print(summary)


def _corpus_preview(args: argparse.Namespace) -> None:
    from core.corpus.preview import render_preview

    path = render_preview(args.data, args.out, clips=args.clips, ids=args.ids)
    print(f"preview written to {path}")


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
    build.add_argument("--no-check", action="store_true",
                       help="skip the per-clip plausibility checks (faster)")
    build.set_defaults(run=_corpus_build)

    preview = corpus_commands.add_parser("preview", help="draw clips as a PNG contact sheet")
    preview.add_argument("--data", required=True, help="corpus folder")
    preview.add_argument("--out", required=True, help="PNG file to write")
    preview.add_argument("--clips", type=int, default=3, help="how many clips to draw")
    preview.add_argument("--ids", nargs="*", default=None, help="clip ids to draw")
    preview.set_defaults(run=_corpus_preview)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except BodyLanguageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
