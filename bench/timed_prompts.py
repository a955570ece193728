"""Timed prompts: do two actions asked for at different times in one clip both happen, each in
its span? Prints the action judge's hit rate per span beside the same judge on the same phrasings
asked for over a whole clip, and writes bench/timed_prompts.json.

    python bench/timed_prompts.py [--model core/checkpoints/default] [--pairs 12]

Each case is a text-only clip of CLIP_SECONDS with action A over FIRST and action B over SECOND
(held-out phrasings, A != B); the judge reads the 6 s from each span's start.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core import api  # noqa: E402
from core.corpus.action_phrases import PHRASES  # noqa: E402
from core.eval.judges import DEFAULT_JUDGES_DIR, load_judges  # noqa: E402
from core.eval.panel import PROMPT_SECONDS  # noqa: E402

CLIP_SECONDS = 16.0
FIRST = (1.0, 7.0)
SECOND = (9.0, 15.0)


def cases(pairs: int) -> list[tuple[str, str, str, str]]:
    """(action A, phrasing A, action B, phrasing B): held-out phrasings, B the next action."""
    actions = sorted(PHRASES)
    out = []
    for index in range(pairs):
        a, b = actions[index % len(actions)], actions[(index + 1) % len(actions)]
        text_a = PHRASES[a][1][index // len(actions) % len(PHRASES[a][1])]
        text_b = PHRASES[b][1][index // len(actions) % len(PHRASES[b][1])]
        out.append((a, text_a, b, text_b))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(api.DEFAULT_MODEL_DIR))
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "timed_prompts.json")
    args = parser.parse_args()
    model = api.load_model(args.model)
    judge = load_judges(DEFAULT_JUDGES_DIR).action
    fps = model.fps

    def judged(motion: api.Motion, start: float) -> str:
        a = int(round(start * fps))
        return judge.predict(motion.slice_frames(a, a + int(PROMPT_SECONDS * fps)))

    timed, whole = [], []
    began = time.monotonic()
    for seed, (a, text_a, b, text_b) in enumerate(cases(args.pairs)):
        motion = api.generate(model, duration=CLIP_SECONDS, seed=seed,
                              prompts=[(text_a, *FIRST), (text_b, *SECOND)])
        timed += [judged(motion, FIRST[0]) == a, judged(motion, SECOND[0]) == b]
        for action, text in ((a, text_a), (b, text_b)):
            alone = api.generate(model, prompt=text, duration=PROMPT_SECONDS, seed=seed)
            whole.append(judge.predict(alone) == action)
    result = {"model": str(args.model), "pairs": args.pairs, "clip_seconds": CLIP_SECONDS,
              "spans": [FIRST, SECOND],
              "timed_hits": float(np.mean(timed)),
              "first_span_hits": float(np.mean(timed[0::2])),
              "second_span_hits": float(np.mean(timed[1::2])),
              "whole_clip_hits": float(np.mean(whole)),
              "wall_s": round(time.monotonic() - began, 1)}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
