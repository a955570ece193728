"""A corpus clip as the evaluation reads it: its entry, its real motion and its audio."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.corpus.layout import CorpusEntry
from core.eval.features import corpus_entries, iter_motions
from core.eval.progress import progress_bar
from core.io.audio import load_audio
from core.motion import Motion

SAMPLE_RATE = 16000


@dataclass
class ClipCase:
    """One held-out clip and what every system needs to perform it."""

    entry: CorpusEntry
    real: Motion
    audio: np.ndarray

    @property
    def has_speech(self) -> bool:
        return bool(self.entry.transcript)


def clip_audio(entry: CorpusEntry, frames: int, fps: float) -> np.ndarray:
    """The clip's audio at SAMPLE_RATE, cut or padded with silence to `frames` at `fps`
    (all silence when the clip has no audio)."""
    samples = int(round(frames / fps * SAMPLE_RATE))
    if entry.wav is None or not Path(entry.wav).is_file():
        return np.zeros(samples, np.float32)
    audio = load_audio(entry.wav, SAMPLE_RATE)
    return np.pad(audio, (0, max(0, samples - len(audio))))[:samples]


def read_cases(data_dir: str | os.PathLike, split: str, limit: int | None,
               progress: bool) -> list[ClipCase]:
    """The clips of `split` (the first `limit` in id order when given) with motion and audio."""
    entries = corpus_entries(data_dir, split, limit)
    cases = []
    for entry, motion in progress_bar(iter_motions(entries), len(entries), f"reading {split}",
                                      progress):
        cases.append(ClipCase(entry, motion, clip_audio(entry, motion.num_frames, motion.fps)))
    return cases
