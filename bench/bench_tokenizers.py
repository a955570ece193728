"""The shipped tokenizers on held-out clips: reconstruction, codebook use, seams and speed.

    .venv/bin/python bench/bench_tokenizers.py --data CORPUS [--split test] [--max-clips N]

Prints the figures and writes them to bench/tokenizers.json. Speed is the median of 5 runs of
60 s of motion (encode + decode, all four parts) and of 60 s of audio, on this process's threads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.corpus.layout import iter_corpus  # noqa: E402
from core.io.audio import load_audio  # noqa: E402
from core.io.beat2 import read_motion_npz  # noqa: E402
from core.tokenizers.audio import AudioTokenizer, unit_statistics  # noqa: E402
from core.tokenizers.motion_vqvae import MotionTokenizer  # noqa: E402
from core.train.motion_tokenizer import evaluate_motion_tokenizer  # noqa: E402

DEFAULT = ROOT / "core" / "checkpoints" / "default"


def _median_seconds(work, runs: int = 5) -> float:
    work()  # first call pays for lazy set-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-clips", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    motion_tokenizer = MotionTokenizer.load(DEFAULT / "motion_tokenizer")
    audio_tokenizer = AudioTokenizer.load(DEFAULT / "audio_tokenizer")
    figures: dict[str, object] = {"data": str(args.data), "split": args.split}
    figures["motion"] = evaluate_motion_tokenizer(motion_tokenizer, args.data, args.split,
                                                  max_clips=args.max_clips)

    entries = list(iter_corpus(args.data, args.split))[: args.max_clips]
    units = [audio_tokenizer.encode(load_audio(e.wav, 16000), 16000) for e in entries if e.wav]
    stats = unit_statistics(units, audio_tokenizer.num_units)
    figures["audio"] = {"clips": len(units), "usage": stats.usage, "perplexity": stats.perplexity}

    # 60 s of real motion and audio: held-out clips joined end to end.
    motions, audio = [], []
    for entry in entries:
        motions.append(read_motion_npz(entry.npz))
        audio.append(load_audio(entry.wav, 16000))
        if sum(len(m) for m in motions) >= 1800:
            break
    poses = np.concatenate([m.poses for m in motions])[:1800]
    minute = motions[0].__class__(
        poses=poses, trans=np.concatenate([m.trans for m in motions])[:1800],
        face=np.concatenate([m.face for m in motions])[:1800], face_space=motions[0].face_space)
    samples = np.concatenate(audio)[: 60 * 16000]
    figures["speed"] = {
        "threads": args.threads,
        "motion_60s_encode_decode_s": _median_seconds(lambda: motion_tokenizer.reconstruct(minute)),
        "audio_60s_encode_s": _median_seconds(lambda: audio_tokenizer.encode(samples, 16000)),
    }
    figures["speed"]["audio_real_time_factor"] = 60.0 / figures["speed"]["audio_60s_encode_s"]

    print(json.dumps(figures, indent=2))
    (ROOT / "bench" / "tokenizers.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
