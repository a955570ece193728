"""Listening: asked to listen to someone's line, does the model keep its mouth shut, nod on the
speaker's pauses and keep moving? Prints core.eval.listening's figures for the model asked to
listen, the same model speaking the same audio, and (on corpus clips) the corpus listener and
what of it survives the model's motion tokenizer (encode then decode): the most a model that
writes those tokens can show.

    python bench/listening.py --data <corpus with listener clips> [--model DIR] [--clips 16]
        [--split test] [--out bench/listening.json]

The listener clips are the corpus's (description among core.corpus.listener.PHRASES); the
speaker's pauses are read from the audio (core.eval.listening.silence_onsets), the same way for
every system, and the real voices of ../shared/realspeech are added when that folder exists.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core import api  # noqa: E402
from core.corpus.layout import iter_corpus  # noqa: E402
from core.corpus.listener import LISTEN_PROMPT, PHRASES  # noqa: E402
from core.eval.listening import listening_score, silence_onsets  # noqa: E402
from core.eval.panel import SAMPLE_RATE, read_real_voices  # noqa: E402
from core.io.audio import load_audio  # noqa: E402
from core.io.beat2 import read_motion_npz  # noqa: E402

LISTENING = {phrase for phrases in PHRASES.values() for phrase in phrases}
SHARED = ROOT.parent / "shared" / "realspeech"


def listener_clips(data: Path, split: str, count: int) -> list[tuple[str, np.ndarray, object]]:
    """(id, audio at SAMPLE_RATE, the corpus listener's motion) of the first `count` clips."""
    found = []
    for entry in iter_corpus(data, split):
        if entry.description in LISTENING and entry.wav is not None:
            found.append((entry.id, load_audio(entry.wav, SAMPLE_RATE),
                          read_motion_npz(entry.npz)))
            if len(found) == count:
                break
    return found


def _mean(scores: list) -> dict[str, float]:
    return {key: round(float(np.nanmean([asdict(s)[key] for s in scores])), 3)
            for key in asdict(scores[0])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    model = api.load_model(args.model)
    clips = listener_clips(args.data, args.split, args.clips)
    voices = read_real_voices(SHARED) if SHARED.is_dir() else []
    audios = [audio for _, audio, _ in clips] + [voice.audio for voice in voices]
    systems: dict[str, list] = {"listening": [], "speaking": [], "corpus listener": [],
                                "through the tokenizer": []}
    for index, audio in enumerate(audios):
        pauses = silence_onsets(audio, SAMPLE_RATE)
        for system, prompt in (("listening", LISTEN_PROMPT), ("speaking", "")):
            motion = api.generate(model, audio, SAMPLE_RATE, prompt=prompt, seed=index)
            systems[system].append(listening_score(motion, pauses, seed=index))
        if index < len(clips):
            teacher = clips[index][2]
            systems["corpus listener"].append(listening_score(teacher, pauses, index))
            systems["through the tokenizer"].append(listening_score(
                model.motion_tokenizer.reconstruct(teacher), pauses, index))
    print(f"{len(clips)} corpus listener clips ({args.split}), {len(voices)} real voices")
    print(f"{'system':<21} {'mouth deg':>9} {'nods after pauses':>17} {'at random':>9} "
          f"{'head deg/s':>10}")
    table = {}
    for system, scores in systems.items():
        if not scores:
            continue
        table[system] = _mean(scores)
        row = table[system]
        print(f"{system:<21} {row['mouth_opening']:>9.2f} {row['nod_response']:>17.2f} "
              f"{row['nod_chance']:>9.2f} {row['head_speed']:>10.2f}")
    if args.out:
        args.out.write_text(json.dumps({"model": str(args.model or "default"),
                                        "clips": len(clips), "voices": len(voices),
                                        "systems": table}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
