"""Tiny corpora of the real corpus builder's clips (core.corpus.builder.make_clip), written in
the corpus layout with both split tables, for tests that train or tokenize on real clips."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.corpus.builder import Clip
from core.corpus.layout import table_row, write_clip, write_tables


def write_clips(root: Path, clips: Iterable[Clip], split: str | None = None) -> list[dict]:
    """Write `clips` under `root` with clips.csv and train_test_split.csv; every clip goes to
    `split` when it is given, else to the clip's own split. Returns the table rows."""
    rows = []
    for clip in clips:
        write_clip(root, clip)
        rows.append({**table_row(clip), "split": split or clip.split})
    write_tables(root, rows)
    return rows
