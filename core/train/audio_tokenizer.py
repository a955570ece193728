"""Train the audio tokenizer on corpus folders: features of the train split, normalisation and
k-means, then codebook use on the held-out (test) split.

One pass over the audio computes features (the slow part, ~1/200 of real time), k-means then
runs on the features in memory (10 hours of audio are ~300 MB of features). Clips are taken in a
seeded random order so that `max_hours` samples every speaker of a folder sorted by speaker.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.corpus.layout import CorpusEntry, iter_corpus
from core.errors import BodyLanguageError
from core.io.audio import load_audio
from core.tokenizers.audio import AudioTokenizer, UnitStatistics, unit_statistics
from core.tokenizers.audio_features import FRAME_RATE, SAMPLE_RATE
from core.train import data_folders
from core.train.saved_config import save_config

CHECKPOINT_NAME = "audio_tokenizer"
HELDOUT_SPLITS = ("test", "val")  # the first of these a folder has is the held-out set


@dataclass(frozen=True)
class AudioTokenizerReport:
    """What training saw and how the codebook covers held-out speech."""

    checkpoint: str
    train_clips: int
    train_hours: float
    heldout_clips: int
    heldout_hours: float
    train: UnitStatistics
    heldout: UnitStatistics | None
    train_distortion: float  # mean squared distance to the nearest centre, standardised units
    heldout_distortion: float | None
    feature_seconds: float
    kmeans_seconds: float
    encode_speed: float | None  # seconds of held-out audio encoded per second of compute
    skipped: list[str] = field(default_factory=list)  # clips whose audio could not be read

    def summary(self) -> str:
        lines = [
            f"audio tokenizer -> {self.checkpoint}",
            f"  train: {self.train_clips} clips, {self.train_hours:.2f} h, "
            f"{self.train.usage:.0%} of units used, perplexity {self.train.perplexity:.1f}, "
            f"distortion {self.train_distortion:.2f}",
        ]
        if self.heldout is not None:
            lines.append(
                f"  held-out: {self.heldout_clips} clips, {self.heldout_hours:.2f} h, "
                f"{self.heldout.usage:.0%} of units used, perplexity "
                f"{self.heldout.perplexity:.1f}, distortion {self.heldout_distortion:.2f}"
            )
        timing = f"  features {self.feature_seconds:.1f} s, k-means {self.kmeans_seconds:.1f} s"
        if self.encode_speed:
            timing += f", encode {self.encode_speed:.0f}x real time"
        lines.append(timing)
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} unreadable clips, e.g. {self.skipped[0]}")
        return "\n".join(lines)


@dataclass(frozen=True)
class AudioTrainingConfig:
    """Everything an audio tokenizer fit is decided by; saved beside the tokenizer
    (`audio_tokenizer.training.json`).

    `max_hours` caps the training audio (None: all of it; features take ~30 MB per hour in
    memory), `heldout_hours` the audio evaluated; `tokenizer` holds `AudioTokenizer` options
    (context, feature_source, n_mels, ...).
    """

    units: int = 512
    max_hours: float | None = 10.0
    heldout_hours: float = 0.5
    seed: int = 0
    tokenizer: dict[str, Any] = field(default_factory=dict)


def train_audio_tokenizer(
    config: AudioTrainingConfig,
    data_dirs: str | os.PathLike | Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    progress: bool = True,
) -> AudioTokenizerReport:
    """Fit an audio tokenizer as `config` says on the train-split wavs of `data_dirs` (BEAT2
    layout, ours or real).

    Writes `out_dir/audio_tokenizer.{json,safetensors}`, the report in the checkpoint's
    metadata, and `config` beside it (`audio_tokenizer.training.json`, read back with
    `core.train.saved_config.load_config`).
    """
    for name in ("max_hours", "heldout_hours"):
        value = getattr(config, name)
        if value is not None and not (isinstance(value, int | float) and value > 0):
            raise BodyLanguageError(f"{name} must be a positive number of hours, got {value!r}")
    roots = data_folders(data_dirs)
    tokenizer = AudioTokenizer(config.units, seed=config.seed, **config.tokenizer)

    train_entries = _entries(roots, ("train",), config.seed)
    if not train_entries:
        raise BodyLanguageError(
            f"no train-split clips with audio in {', '.join(map(str, roots))} "
            "(expected wave16k/<id>.wav and train_test_split.csv with type 'train')"
        )
    started = time.perf_counter()
    skipped: list[str] = []
    train_features = _features(tokenizer, train_entries, config.max_hours, progress,
                               "train audio", skipped)
    if not train_features:
        raise BodyLanguageError(f"none of the {len(train_entries)} train clips could be read; "
                                f"first error: {skipped[0] if skipped else '?'}")
    feature_seconds = time.perf_counter() - started

    started = time.perf_counter()
    tokenizer.fit_features(train_features, progress=progress)
    kmeans_seconds = time.perf_counter() - started
    heldout = _heldout(tokenizer, roots, config, progress, skipped)
    frames = sum(len(f) for f in train_features)
    report = AudioTokenizerReport(
        checkpoint=str(Path(out_dir) / CHECKPOINT_NAME),
        train_clips=len(train_features),
        train_hours=frames / FRAME_RATE / 3600.0,
        heldout_clips=heldout.clips,
        heldout_hours=heldout.seconds / 3600.0,
        train=unit_statistics([tokenizer.encode_features(f) for f in train_features],
                              config.units),
        heldout=heldout.statistics,
        train_distortion=float(tokenizer.training_summary["inertia"]),
        heldout_distortion=heldout.distortion,
        feature_seconds=feature_seconds,
        kmeans_seconds=kmeans_seconds,
        encode_speed=heldout.encode_speed,
        skipped=skipped,
    )
    tokenizer.training_summary = {**tokenizer.training_summary, "report": asdict(report)}
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    tokenizer.save(report.checkpoint)
    save_config(report.checkpoint, config)
    if progress:
        print(report.summary(), file=sys.stderr)
    return report


@dataclass(frozen=True)
class _Heldout:
    """How the fitted codebook covers the held-out audio (no statistics without any)."""

    clips: int = 0
    seconds: float = 0.0
    statistics: UnitStatistics | None = None
    distortion: float | None = None
    encode_speed: float | None = None  # seconds of audio encoded per second of compute


def _heldout(tokenizer: AudioTokenizer, roots: list[Path], config: AudioTrainingConfig,
             progress: bool, skipped: list[str]) -> _Heldout:
    """Encode the first held-out split the folders have (HELDOUT_SPLITS), up to
    `config.heldout_hours`; unreadable clips are added to `skipped`."""
    entries: list[CorpusEntry] = []
    for split in HELDOUT_SPLITS:
        entries = _entries(roots, (split,), config.seed)
        if entries:
            break
    if not entries:
        return _Heldout()
    started = time.perf_counter()
    units, distortions, frames, seconds = [], [], 0, 0.0
    for audio in _audio(entries, config.heldout_hours, progress, "held-out audio", skipped):
        features = tokenizer.features(audio, SAMPLE_RATE)
        units.append(tokenizer.encode_features(features))
        distortions.append(tokenizer.distortion(features) * len(features))
        frames += len(features)
        seconds += audio.size / SAMPLE_RATE
    elapsed = time.perf_counter() - started
    if not units:
        return _Heldout(seconds=seconds)
    return _Heldout(len(units), seconds, unit_statistics(units, config.units),
                    float(sum(distortions) / frames),
                    seconds / elapsed if elapsed > 0 else None)


def _entries(roots: list[Path], splits: tuple[str, ...], seed: int) -> list[CorpusEntry]:
    entries = [
        entry for root in roots for split in splits for entry in iter_corpus(root, split)
        if entry.wav is not None
    ]
    random.Random(seed).shuffle(entries)
    return entries


def _audio(
    entries: list[CorpusEntry],
    hours: float | None,
    progress: bool,
    label: str,
    skipped: list[str],
) -> Iterable[np.ndarray]:
    """16 kHz audio of the entries in order until `hours` are reached; unreadable ones are
    noted in `skipped` and passed over."""
    budget = None if hours is None else hours * 3600.0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=budget if budget is not None else len(entries), desc=label,
                   unit="s" if budget is not None else "clip")
    seen = 0.0
    try:
        for entry in entries:
            if budget is not None and seen >= budget:
                break
            try:
                audio = load_audio(entry.wav, SAMPLE_RATE)
            except BodyLanguageError as exc:
                skipped.append(str(exc))
                continue
            seconds = audio.size / SAMPLE_RATE
            seen += seconds
            if bar is not None:
                bar.update(min(seconds, budget - bar.n) if budget is not None else 1)
            yield audio
    finally:
        if bar is not None:
            bar.close()


def _features(
    tokenizer: AudioTokenizer,
    entries: list[CorpusEntry],
    hours: float | None,
    progress: bool,
    label: str,
    skipped: list[str],
) -> list[np.ndarray]:
    return [tokenizer.features(audio, SAMPLE_RATE)
            for audio in _audio(entries, hours, progress, label, skipped)]
