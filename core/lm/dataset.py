"""Corpora (ours or BEAT2) tokenised once into a compact cache, and aligned windows of its clips.

    tokenize_corpus("corpus/", "tokenizers/", "cache/")   ->  cache/<split>.npz + cache/meta.json
    clips = load_tokenized("cache/", "train")             ->  [TokenizedClip, ...]

Per clip the cache holds the four part code streams (7.5 Hz), the audio units (25 Hz), the
transcript as WordPiece ids with the time span of the word each piece comes from (so a window's
transcript is the words spoken inside it), the emotion, the action and its description, and the
clip's id. One split is one npz of concatenated arrays plus offsets: no pickle, loads in
milliseconds, and clips are views into the big arrays.

The cache remembers which tokenizer checkpoints made it (their save ids) and which clips it holds;
`tokenize_corpus` rebuilds it when either changes and otherwise returns at once.

Alignment: 3 motion steps (12 frames at 30 fps) last 0.4 s, exactly as long as 10 audio units.
Windows therefore start on a multiple of 3 steps, so that their audio starts on a whole unit and
both streams cover the same span.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.checkpoint import checkpoint_files, read_header
from core.corpus.layout import CorpusEntry, iter_corpus
from core.errors import BodyLanguageError
from core.rates import (  # noqa: F401 (re-exported: the cache's readers know them from here)
    AUDIO_PER_STEP,
    AUDIO_UNITS_PER_SECOND,
    MOTION_STEPS_PER_SECOND,
    STEP_ALIGNMENT,
)
from core.skeleton import PARTS

CACHE_VERSION = 1
META_NAME = "meta.json"
MOTION_TOKENIZER_NAME = "motion_tokenizer"  # core/train/motion_tokenizer.py writes this name
AUDIO_TOKENIZER_NAME = "audio_tokenizer"  # core/train/audio_tokenizer.py writes this name
_STRING_FIELDS = ("ids", "splits", "sources", "emotions", "actions", "descriptions", "voices")
_RAGGED_FIELDS = ("codes", "audio", "transcript", "transcript_times", "description_ids")


@dataclass(frozen=True)
class TokenizedClip:
    """One clip as the language model sees it. Arrays may be views into a split's cache."""

    id: str
    split: str
    codes: np.ndarray  # (N, 4) int64 part codes at 7.5 Hz, PARTS order (face, hands, upper, lower)
    audio: np.ndarray  # (A,) int64 audio units at 25 Hz; empty when the clip has no audio
    transcript: np.ndarray  # (P,) int64 WordPiece ids of the spoken words
    transcript_times: np.ndarray  # (P, 2) float32 start/end seconds of each piece's word
    emotion: str | None = None
    action: str | None = None
    description: str | None = None  # how the action was asked for (ours only)
    description_ids: np.ndarray | None = None  # (D,) int64 WordPiece ids of the description
    voice: str | None = None
    source: str = ""  # the data folder's name

    @property
    def steps(self) -> int:
        return int(self.codes.shape[0])

    @property
    def duration(self) -> float:
        return self.steps / float(MOTION_STEPS_PER_SECOND)

    @property
    def has_audio(self) -> bool:
        return self.audio.size > 0

    @property
    def speaks(self) -> bool:
        """Whether the audio is speech the motion follows: a transcript, or no action (a BEAT2
        clip without a TextGrid is still speech; a silent action clip of ours is not)."""
        return self.has_audio and (self.transcript.size > 0 or self.action is None)

    def window(self, start: int, steps: int) -> ClipWindow:
        """Motion steps [start, start + steps) (cut at the clip's end) and the audio units and
        transcript pieces of the same time span. `start` must be a multiple of STEP_ALIGNMENT."""
        if start % STEP_ALIGNMENT or not 0 <= start < max(self.steps, 1):
            raise BodyLanguageError(
                f"window start {start} of clip {self.id} must be a multiple of {STEP_ALIGNMENT} "
                f"inside 0..{self.steps - 1}"
            )
        stop = min(start + steps, self.steps)
        audio_start = int(start * AUDIO_PER_STEP)
        audio_stop = min(math.ceil(stop * AUDIO_PER_STEP), self.audio.size)
        t0, t1 = start / MOTION_STEPS_PER_SECOND, stop / MOTION_STEPS_PER_SECOND
        middle = self.transcript_times.mean(axis=1) if self.transcript.size else np.zeros(0)
        spoken = (middle >= float(t0)) & (middle < float(t1))
        return ClipWindow(
            clip=self,
            start=start,
            codes=self.codes[start:stop],
            audio=self.audio[audio_start:audio_stop] if self.has_audio else self.audio,
            transcript=self.transcript[spoken],
        )


@dataclass(frozen=True)
class ClipWindow:
    """An aligned stretch of a clip: the codes of some motion steps and the audio and words of
    the same time span."""

    clip: TokenizedClip
    start: int  # first motion step in the clip
    codes: np.ndarray  # (n, 4)
    audio: np.ndarray  # (<= ceil(n * 10 / 3),)
    transcript: np.ndarray  # pieces of the words whose middle falls inside the window

    @property
    def steps(self) -> int:
        return int(self.codes.shape[0])


def window_steps(steps_per_window: int) -> int:
    """The motion steps of a window that keeps audio and motion aligned: a multiple of 3."""
    steps = steps_per_window - steps_per_window % STEP_ALIGNMENT
    if steps < STEP_ALIGNMENT:
        raise BodyLanguageError(
            f"a window of {steps_per_window} motion steps is shorter than {STEP_ALIGNMENT} steps"
        )
    return steps


def audio_units_for(steps: int) -> int:
    """Audio units covering `steps` motion steps (10 per 3 steps, rounded up)."""
    return math.ceil(steps * AUDIO_PER_STEP)


def random_window(clip: TokenizedClip, steps: int, rng: np.random.Generator) -> ClipWindow:
    """A window of `steps` motion steps at a random aligned start (the whole clip if shorter)."""
    last = max(clip.steps - steps, 0) // STEP_ALIGNMENT
    start = int(rng.integers(last + 1)) * STEP_ALIGNMENT
    return clip.window(start, steps)


# --- building the cache ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenizeReport:
    cache_dir: Path
    clips: dict[str, int]  # split -> clips in the cache
    rebuilt: bool
    skipped: list[str]  # "clip id: why" for clips that could not be tokenised


def tokenizer_paths(tokenizers_dir: str | os.PathLike) -> tuple[Path, Path]:
    """The motion and audio tokenizer checkpoints in a folder the tokenizer trainers wrote."""
    folder = Path(tokenizers_dir)
    motion, audio = folder / MOTION_TOKENIZER_NAME, folder / AUDIO_TOKENIZER_NAME
    for path, what in ((motion, "motion"), (audio, "audio")):
        if not checkpoint_files(path).config.is_file():
            raise BodyLanguageError(
                f"no {what} tokenizer checkpoint ({path.name}.json) in the tokenizers folder; "
                f"train it first", folder
            )
    return motion, audio


def tokenizer_fingerprint(tokenizers_dir: str | os.PathLike) -> dict[str, Any]:
    """Which checkpoints tokenised the data: their paths and save ids."""
    motion, audio = tokenizer_paths(tokenizers_dir)
    return {
        "motion_tokenizer": {"path": str(motion.resolve()), "save_id": read_header(motion).save_id},
        "audio_tokenizer": {"path": str(audio.resolve()), "save_id": read_header(audio).save_id},
    }


def default_cache_dir(root: str | os.PathLike, data_dir: str | os.PathLike) -> Path:
    """A cache folder under `root` named after the data folder (plus a hash of its full path,
    so two folders of the same name never share a cache)."""
    resolved = str(Path(data_dir).resolve())
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(resolved).name) or "data"
    return Path(root) / f"{name}-{hashlib.sha256(resolved.encode()).hexdigest()[:8]}"


def tokenize_corpus(
    data_dir: str | os.PathLike,
    tokenizers_dir: str | os.PathLike,
    cache_dir: str | os.PathLike,
    splits: Sequence[str] | None = None,
    progress: bool = True,
    device: str = "cpu",
) -> TokenizeReport:
    """Tokenise every clip of `data_dir` (BEAT2 layout) with the tokenizers of `tokenizers_dir`
    into `cache_dir`; returns at once when the cache already holds exactly this data.

    `splits`: which splits to keep (default: every split the folder has). Clips that cannot be
    read, or whose face space the motion tokenizer does not read, are skipped and reported.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise BodyLanguageError("data folder not found", data_dir)
    cache_dir = Path(cache_dir)
    entries = [e for e in iter_corpus(data_dir)
               if e.split and (splits is None or e.split in splits)]
    if not entries:
        raise BodyLanguageError(
            "no clips with a split in this folder (expected smplxflame_30/*.npz and "
            "train_test_split.csv)", data_dir
        )
    fingerprint = tokenizer_fingerprint(tokenizers_dir)
    wanted = {
        "version": CACHE_VERSION,
        "data_dir": str(data_dir.resolve()),
        "tokenizers": fingerprint,
        "clip_ids": hashlib.sha256("\n".join(f"{e.split}/{e.id}" for e in entries).encode())
        .hexdigest(),
    }
    meta_path = cache_dir / META_NAME
    existing = _read_meta(meta_path)
    if existing is not None and all(existing.get(k) == v for k, v in wanted.items()):
        return TokenizeReport(cache_dir, existing["clips"], False, existing.get("skipped", []))

    from core.tokenizers.audio import AudioTokenizer
    from core.tokenizers.motion_vqvae import MotionTokenizer

    motion_path, audio_path = tokenizer_paths(tokenizers_dir)
    motion_tokenizer = MotionTokenizer.load(motion_path, device)
    audio_tokenizer = AudioTokenizer.load(audio_path)
    by_split, skipped = _tokenize_entries(entries, motion_tokenizer, audio_tokenizer, data_dir,
                                          progress)
    counts = {split: len(clips) for split, clips in sorted(by_split.items())}
    meta = {
        **wanted,
        "clips": counts,
        "skipped": skipped,
        "audio_units": audio_tokenizer.num_units,
        "part_codes": {part: motion_tokenizer.codebook_size(part) for part in PARTS},
        "face_space": motion_tokenizer.face_space,
    }
    _write_cache(cache_dir, by_split, meta)
    return TokenizeReport(cache_dir, counts, True, skipped)


def _tokenize_entries(
    entries: Sequence[CorpusEntry], motion_tokenizer: Any, audio_tokenizer: Any, data_dir: Path,
    progress: bool,
) -> tuple[dict[str, list[TokenizedClip]], list[str]]:
    """The tokenised clips by split, and the clips that could not be read ("<id>: <why>")."""
    from core.tokenizers.text import TextTokenizer

    text_tokenizer = TextTokenizer.load()
    by_split: dict[str, list[TokenizedClip]] = {}
    skipped: list[str] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(entries), desc=f"tokenize {data_dir.name}", unit="clip",
                   file=sys.stderr, dynamic_ncols=True)
    try:
        for entry in entries:
            try:
                clip = tokenize_clip(entry, motion_tokenizer, audio_tokenizer, text_tokenizer,
                                     source=data_dir.name)
            except BodyLanguageError as exc:
                skipped.append(f"{entry.id}: {exc}")
            else:
                by_split.setdefault(clip.split, []).append(clip)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if not by_split:
        raise BodyLanguageError(
            f"none of the {len(entries)} clips could be tokenised; first problem: {skipped[0]}",
            data_dir,
        )
    return by_split, skipped


def _write_cache(cache_dir: Path, by_split: dict[str, list[TokenizedClip]],
                 meta: dict[str, Any]) -> None:
    """Replace the cache's splits; the meta file, written last, marks the cache complete."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    meta_path = cache_dir / META_NAME
    meta_path.unlink(missing_ok=True)  # a half-rewritten cache must never look complete
    for old in cache_dir.glob("*.npz"):
        old.unlink()
    for split, clips in by_split.items():
        save_split(cache_dir / f"{split}.npz", clips)
    _atomic_write(meta_path, lambda tmp: tmp.write_text(json.dumps(meta, indent=2) + "\n"))


def tokenize_clip(
    entry: CorpusEntry,
    motion_tokenizer: Any,
    audio_tokenizer: Any,
    text_tokenizer: Any,
    source: str = "",
) -> TokenizedClip:
    """One corpus entry through the three tokenizers (errors name the clip's file)."""
    from core.io.audio import load_audio
    from core.io.beat2 import read_motion_npz
    from core.io.textgrid import read_word_tier

    motion = read_motion_npz(entry.npz)
    if motion.face_space != motion_tokenizer.face_space:
        raise BodyLanguageError(
            f"face space {motion.face_space!r}, the motion tokenizer reads "
            f"{motion_tokenizer.face_space!r}", entry.npz
        )
    parts = motion_tokenizer.tokenize(motion)
    codes = np.stack([np.asarray(parts[part], dtype=np.int64) for part in PARTS], axis=1)

    audio = np.zeros(0, dtype=np.int64)
    if entry.wav is not None:
        samples = load_audio(entry.wav, audio_tokenizer.sample_rate)
        audio = np.asarray(audio_tokenizer.encode(samples, audio_tokenizer.sample_rate), np.int64)

    duration = motion.duration
    pieces: list[int] = []
    times: list[tuple[float, float]] = []
    if entry.textgrid is not None:
        for word in read_word_tier(entry.textgrid):
            ids = text_tokenizer.encode(word.text)
            pieces += ids
            times += [(word.xmin, word.xmax)] * len(ids)
    elif entry.transcript:
        # No word timings: spread the pieces evenly over the clip.
        pieces = text_tokenizer.encode(entry.transcript)
        edges = np.linspace(0.0, duration, len(pieces) + 1)
        times = list(zip(edges[:-1], edges[1:], strict=True))

    description_ids = (np.asarray(text_tokenizer.encode(entry.description), np.int64)
                       if entry.description else np.zeros(0, np.int64))
    return TokenizedClip(
        id=entry.id,
        split=entry.split or "",
        codes=codes,
        audio=audio,
        transcript=np.asarray(pieces, dtype=np.int64),
        transcript_times=np.asarray(times, dtype=np.float32).reshape(-1, 2),
        emotion=entry.emotion,
        action=entry.action,
        description=entry.description,
        description_ids=description_ids,
        voice=entry.voice,
        source=source,
    )


def save_split(path: str | os.PathLike, clips: Sequence[TokenizedClip]) -> None:
    """Write clips as one npz: string columns, and each ragged array concatenated with offsets."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        "version": np.array(CACHE_VERSION),
        "ids": np.array([c.id for c in clips], dtype=str),
        "splits": np.array([c.split for c in clips], dtype=str),
        "sources": np.array([c.source for c in clips], dtype=str),
        "emotions": np.array([c.emotion or "" for c in clips], dtype=str),
        "actions": np.array([c.action or "" for c in clips], dtype=str),
        "descriptions": np.array([c.description or "" for c in clips], dtype=str),
        "voices": np.array([c.voice or "" for c in clips], dtype=str),
    }
    ragged = {
        "codes": ([c.codes for c in clips], np.int16, (0, len(PARTS))),
        "audio": ([c.audio for c in clips], np.int16, (0,)),
        "transcript": ([c.transcript for c in clips], np.int32, (0,)),
        "transcript_times": ([c.transcript_times for c in clips], np.float32, (0, 2)),
        "description_ids": ([_ids_or_empty(c.description_ids) for c in clips], np.int32, (0,)),
    }
    for name, (values, dtype, empty_shape) in ragged.items():
        lengths = [len(v) for v in values]
        arrays[name] = (np.concatenate(values).astype(dtype) if sum(lengths)
                        else np.zeros(empty_shape, dtype))
        arrays[f"{name}_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    # Codes and units are stored in int16 to halve the cache; make sure nothing wraps.
    for name in ("codes", "audio"):
        for clip_values in ragged[name][0]:
            if clip_values.size and (clip_values.min() < 0 or clip_values.max() > 32767):
                raise BodyLanguageError(f"{name} values outside 0..32767 cannot be cached", path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    _atomic_write(path, write)


def load_split(path: str | os.PathLike) -> list[TokenizedClip]:
    """The clips of one split file written by `save_split`."""
    path = Path(path)
    if not path.is_file():
        raise BodyLanguageError("tokenized split not found", path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise BodyLanguageError(f"tokenized split is damaged: {exc}", path) from None
    expected = {"version", *_STRING_FIELDS, *_RAGGED_FIELDS,
                *(f"{name}_offsets" for name in _RAGGED_FIELDS)}
    missing = sorted(expected - set(arrays))
    if missing:
        raise BodyLanguageError(f"tokenized split lacks {', '.join(missing)}", path)
    if int(arrays["version"]) != CACHE_VERSION:
        raise BodyLanguageError(
            f"tokenized split has cache version {int(arrays['version'])}, this code reads "
            f"{CACHE_VERSION}; delete the cache folder to rebuild it", path
        )
    count = len(arrays["ids"])
    columns = {}
    for name in _RAGGED_FIELDS:
        offsets = arrays[f"{name}_offsets"]
        if len(offsets) != count + 1 or offsets[-1] != len(arrays[name]):
            raise BodyLanguageError(f"tokenized split: {name} offsets do not fit", path)
        # One widening copy per split; each clip then gets a view.
        values = arrays[name].astype(np.float32 if name == "transcript_times" else np.int64)
        columns[name] = [values[offsets[i]:offsets[i + 1]] for i in range(count)]
    return [
        TokenizedClip(
            id=str(arrays["ids"][i]),
            split=str(arrays["splits"][i]),
            codes=columns["codes"][i],
            audio=columns["audio"][i],
            transcript=columns["transcript"][i],
            transcript_times=columns["transcript_times"][i],
            emotion=str(arrays["emotions"][i]) or None,
            action=str(arrays["actions"][i]) or None,
            description=str(arrays["descriptions"][i]) or None,
            description_ids=columns["description_ids"][i],
            voice=str(arrays["voices"][i]) or None,
            source=str(arrays["sources"][i]),
        )
        for i in range(count)
    ]


def load_tokenized(
    cache_dirs: str | os.PathLike | Iterable[str | os.PathLike], split: str
) -> list[TokenizedClip]:
    """The clips of `split` from one or more caches (none when a cache lacks that split)."""
    if isinstance(cache_dirs, (str, os.PathLike)):
        cache_dirs = [cache_dirs]
    clips: list[TokenizedClip] = []
    for cache_dir in cache_dirs:
        meta = _read_meta(Path(cache_dir) / META_NAME)
        if meta is None:
            raise BodyLanguageError("not a complete tokenized cache (no meta.json)", cache_dir)
        if split in meta.get("clips", {}):
            clips += load_split(Path(cache_dir) / f"{split}.npz")
    return clips


def cache_meta(cache_dir: str | os.PathLike) -> dict[str, Any]:
    """The meta.json of a cache: tokenizers, code and unit counts, clips per split."""
    meta = _read_meta(Path(cache_dir) / META_NAME)
    if meta is None:
        raise BodyLanguageError("not a complete tokenized cache (no meta.json)", cache_dir)
    return meta


# --- helpers --------------------------------------------------------------------------------------


def _ids_or_empty(ids: np.ndarray | None) -> np.ndarray:
    return np.zeros(0, np.int64) if ids is None else np.asarray(ids)


def _read_meta(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
