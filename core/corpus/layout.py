"""The corpus on disk, in the BEAT2 layout, so one loader reads our corpus and real BEAT2 alike.

    smplxflame_30/<id>.npz     motion (poses (T,165), trans, betas, face channels + face_space)
    wave16k/<id>.wav           16 kHz mono speech
    textgrid/<id>.TextGrid     "words" and "phones" tiers
    train_test_split.csv       id,type (BEAT2's split table)
    clips.csv                  id, split, duration, emotion, voice, action, description, transcript
                               (ours: BEAT2 has no such table, its emotion comes from the clip name)
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.corpus.builder import CORPUS_SAMPLE_RATE, Clip
from core.errors import BodyLanguageError
from core.io.audio import save_wav
from core.io.beat2 import iter_beat2_clips, write_motion_npz
from core.io.textgrid import Interval, write_textgrid

TABLE = "clips.csv"
TABLE_COLUMNS = ("id", "split", "duration", "emotion", "voice", "action", "description",
                 "transcript")


def write_clip(root: str | os.PathLike, clip: Clip) -> None:
    """Write one clip's motion, audio and TextGrid under `root`."""
    root = Path(root)
    for folder in ("smplxflame_30", "wave16k", "textgrid"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    write_motion_npz(root / "smplxflame_30" / f"{clip.id}.npz", clip.motion)
    save_wav(root / "wave16k" / f"{clip.id}.wav", clip.audio, CORPUS_SAMPLE_RATE)
    end = clip.duration
    words = [Interval(w.start, min(w.end, end), w.text) for w in clip.words if w.start < end]
    phones = [Interval(p.start, min(p.end, end), p.symbol)
              for p in clip.phonemes if p.start < end and p.end > p.start]
    write_textgrid(root / "textgrid" / f"{clip.id}.TextGrid",
                   {"words": words, "phones": phones}, xmax=end)


def table_row(clip: Clip) -> dict[str, str]:
    return {
        "id": clip.id,
        "split": clip.split,
        "duration": f"{clip.duration:.3f}",
        "emotion": clip.emotion,
        "voice": clip.voice,
        "action": clip.action or "",
        "description": clip.description or "",
        "transcript": clip.transcript,
    }


def write_tables(root: str | os.PathLike, rows: Iterable[dict[str, str]]) -> None:
    """Write clips.csv and BEAT2's train_test_split.csv, rows sorted by id."""
    root = Path(root)
    rows = sorted(rows, key=lambda row: row["id"])
    with open(root / TABLE, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, TABLE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with open(root / "train_test_split.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "type"])
        writer.writerows([row["id"], row["split"]] for row in rows)


@dataclass(frozen=True)
class CorpusEntry:
    """A clip of our corpus or of BEAT2, with whatever metadata the folder provides."""

    id: str
    npz: Path
    wav: Path | None
    textgrid: Path | None
    split: str | None
    emotion: str | None
    action: str | None = None
    description: str | None = None
    transcript: str | None = None
    voice: str | None = None


def read_table(root: str | os.PathLike) -> dict[str, dict[str, str]]:
    """clips.csv as id -> row; empty for a real BEAT2 folder, which has no such table."""
    path = Path(root) / TABLE
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"id", "split", "emotion"} - set(reader.fieldnames or ())
        if missing:
            raise BodyLanguageError(f"missing columns {sorted(missing)}", path)
        return {row["id"]: row for row in reader}


def iter_corpus(root: str | os.PathLike, split: str | None = None) -> Iterator[CorpusEntry]:
    """Every clip under `root` (ours or BEAT2), optionally only one split."""
    table = read_table(root)
    for clip in iter_beat2_clips(root):
        row = table.get(clip.id, {})
        entry = CorpusEntry(
            id=clip.id,
            npz=clip.npz,
            wav=clip.wav,
            textgrid=clip.textgrid,
            split=row.get("split") or clip.split,
            emotion=row.get("emotion") or clip.emotion,
            action=row.get("action") or None,
            description=row.get("description") or None,
            transcript=row.get("transcript") or None,
            voice=row.get("voice") or None,
        )
        if split is None or entry.split == split:
            yield entry
