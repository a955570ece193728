"""Corpus generation speed on one core: seconds of clip per second of CPU time.

    .venv/bin/python bench/bench_corpus.py [--clips 40] [--seed 0]

CPU time of this process is measured (not wall time), so other load on the machine does not
inflate the figure; the target is >= 50x real time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.corpus.builder import make_clip  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_clip(args.seed, 10_000)  # imports and first-call set-up are not corpus speed
    for check in (False, True):
        audio = 0.0
        started = time.process_time()
        for index in range(args.clips):
            audio += make_clip(args.seed, index, check=check).duration
        cpu = time.process_time() - started
        label = "with plausibility checks" if check else "generation only"
        print(f"{label:26s} {args.clips} clips, {audio:7.1f} s of clip in {cpu:6.2f} s CPU "
              f"-> {audio / cpu:6.1f}x real time")


if __name__ == "__main__":
    main()
