"""Keys for the face with free Bezier segments, against Keys: Reduced's auto-clamped handles.

    .venv/bin/python bench/bench_free_segments.py [--seconds 60] [--tolerance 0.005]

The shipped model performs --seconds of the real voices of ../shared/realspeech (as
bench_key_reduction.py does, without Blender). For each face channel, Keys: Reduced's key count
(key_reduction.reduce_keys, Blender's auto-clamped handles) is set beside the count a greedy fit
of free cubic Bezier segments needs: from each key the segment is stretched as far as a
least-squares choice of its two inner control values keeps every frame within the tolerance.
Segments meet with C0 only (a kink at a key is allowed), so this is the most free handles could
save, not what an animator-friendly (aligned) fit would.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from blender_addon import key_reduction  # noqa: E402
from core import api  # noqa: E402
from core.io.audio import load_audio  # noqa: E402

SPEECH = ROOT.parent / "shared" / "realspeech"


def _speech(seconds: float, rate: int = 16000) -> np.ndarray:
    gap = np.zeros(rate // 2, np.float32)
    lines = [np.concatenate([load_audio(path, rate), gap]) for path in sorted(SPEECH.glob("*.wav"))]
    joined = np.concatenate(lines)
    return np.tile(joined, int(np.ceil(seconds * rate / len(joined))))[: int(seconds * rate)]


def _segment_fits(values: np.ndarray, first: int, last: int, tolerance: float) -> bool:
    t = np.arange(last - first + 1) / (last - first)
    basis = np.stack([3 * t * (1 - t) ** 2, 3 * t**2 * (1 - t)], axis=1)
    rest = values[first:last + 1] - (1 - t) ** 3 * values[first] - t**3 * values[last]
    inner, *_ = np.linalg.lstsq(basis, rest, rcond=None)
    return bool(np.abs(basis @ inner - rest).max() <= tolerance)


def free_segment_keys(values: np.ndarray, tolerance: float) -> int:
    """Keys of a greedy free-segment fit of one curve (its first and last frame included)."""
    keys, first = 1, 0
    while first < len(values) - 1:
        last = first + 1
        while last + 1 < len(values) and _segment_fits(values, first, last + 1, tolerance):
            last += 1
        keys, first = keys + 1, last
    return keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--tolerance", type=float, default=0.005)
    args = parser.parse_args()
    if not SPEECH.is_dir():
        print(f"needs {SPEECH}")
        return 1
    motion = api.generate(api.load_model(), _speech(args.seconds), 16000)
    face = motion.face.astype(np.float64)
    auto = int(np.asarray(key_reduction.reduce_keys(face.T[:, :, None], args.tolerance)).sum())
    # A hair under the tolerance: the greedy fit's worst frame may sit exactly on it.
    free = sum(free_segment_keys(face[:, c], args.tolerance * 0.999) for c in range(face.shape[1]))
    print(f"{face.shape[1]} face curves x {face.shape[0]} frames = {face.size} every-frame keys")
    print(f"  Keys: Reduced (auto-clamped handles): {auto} keys, {face.size / auto:.1f}x fewer")
    print(f"  free cubic segments (C0 at keys):     {free} keys, {face.size / free:.1f}x fewer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
