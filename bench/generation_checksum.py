"""Generation checksum: one sha256 over what the shipped model writes for a fixed set of requests,
so a refactor can show that generation output stayed bit-identical.

    python bench/generation_checksum.py            # prints the checksum and compares it
    python bench/generation_checksum.py --record   # writes it to bench/generation_checksum.json

The requests cover audio alone, text alone, audio with prompt and emotion, a timed prompt and a
face edit. Float results depend on the CPU's instruction set, so the recorded value holds for the
machine that recorded it (named in the json); compare on one machine, before and after a change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core import api  # noqa: E402

RECORD = ROOT / "bench" / "generation_checksum.json"


def _requests(audio: np.ndarray) -> list[dict]:
    return [
        dict(audio=audio),
        dict(prompt="wave hello", duration=9.0),
        dict(audio=audio, prompt="nod", emotion="anger", seed=3),
        dict(audio=audio, prompts=[("raise your right hand", 1.0, 5.0)], seed=5),
    ]


def checksum(model_dir: Path | None = None) -> str:
    """sha256 over poses, face and translation of every request, in order."""
    model = api.load_model(model_dir) if model_dir else api.load_model()
    audio = (np.random.default_rng(0).normal(size=16000 * 10) * 0.1).astype(np.float32)
    digest = hashlib.sha256()
    first = None
    for request in _requests(audio):
        motion = api.generate(model, **request)
        first = first or motion
        for array in (motion.poses, motion.face, motion.trans):
            digest.update(np.ascontiguousarray(array).tobytes())
    edited = api.generate(model, audio=audio, keep=first, parts=("face",), frames=(60, 200), seed=7)
    for array in (edited.poses, edited.face, edited.trans):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--record", action="store_true", help="write the checksum as the reference")
    args = parser.parse_args()
    value = checksum(args.model)
    machine = f"{platform.machine()} {platform.processor() or platform.platform()}"
    print(f"checksum {value}")
    if args.record:
        RECORD.write_text(json.dumps({"sha256": value, "machine": machine}, indent=2) + "\n")
        print(f"recorded in {RECORD.relative_to(ROOT)}")
        return 0
    if not RECORD.exists():
        print("no recorded checksum; run with --record first")
        return 1
    recorded = json.loads(RECORD.read_text())
    same = recorded["sha256"] == value
    verdict = "same" if same else "DIFFERENT"
    print(f"recorded {recorded['sha256']} ({recorded['machine']}): {verdict}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
