"""Build the corpus: make clips in order until the requested hours are reached, write them."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from core.corpus.builder import Clip, make_clip
from core.corpus.layout import table_row, write_clip, write_tables
from core.errors import BodyLanguageError


def _clips_in_order(seed: int, workers: int, check: bool) -> Iterator[Clip]:
    """Clips 0, 1, 2, ... of `seed`, made by `workers` processes but yielded in index order, so
    the corpus does not depend on how many workers made it."""
    if workers <= 1:
        index = 0
        while True:
            yield make_clip(seed, index, check)
            index += 1
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: list[Future] = []
        index = 0
        try:
            while True:
                while len(pending) < 2 * workers:
                    pending.append(pool.submit(make_clip, seed, index, check))
                    index += 1
                yield pending.pop(0).result()
        finally:
            for future in pending:
                future.cancel()


def build_corpus(
    out: str | os.PathLike,
    hours: float,
    seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    check: bool = True,
    overwrite: bool = False,
) -> str:
    """Write at least `hours` of clips to `out` (BEAT2 layout); returns a one-paragraph summary.

    The same seed always gives the same clips, byte for byte, whatever the worker count.
    `check` runs the plausibility checks on every clip; a finished corpus at `out` is only
    replaced with `overwrite`, an interrupted build always.
    """
    if not hours > 0:
        raise BodyLanguageError(f"--hours must be positive, got {hours}")
    if workers < 1:
        raise BodyLanguageError(f"--workers must be at least 1, got {workers}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        interrupted = (out / ".building").is_file()
        if not (out / "clips.csv").is_file() and not interrupted:
            raise BodyLanguageError("exists and is not a corpus folder; choose another --out", out)
        if not interrupted and not overwrite:
            raise BodyLanguageError(
                "already holds a finished corpus; pass --overwrite to replace it", out)
        # An interrupted build (or a corpus the user chose to replace) is removed, never mixed
        # with this one.
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / ".building"
    marker.write_text(f"seed={seed} hours={hours}\n")

    target = hours * 3600.0
    total, rows, splits, redrawn = 0.0, [], Counter(), 0
    started = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=round(target), unit="s", desc="corpus", file=sys.stderr,
                   bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} s of audio "
                   "[{elapsed}<{remaining}]")
    try:
        for clip in _clips_in_order(seed, workers, check):
            write_clip(out, clip)
            rows.append(table_row(clip))
            splits[clip.split] += 1
            redrawn += clip.redrawn > 0
            total += clip.duration
            if bar is not None:
                bar.update(min(round(total), round(target)) - bar.n)
            if total >= target:
                break
    finally:
        if bar is not None:
            bar.close()
    write_tables(out, rows)
    marker.unlink()
    elapsed = time.perf_counter() - started
    per_split = ", ".join(f"{name} {count}" for name, count in sorted(splits.items()))
    return (
        f"{len(rows)} clips, {total / 3600:.2f} h of audio ({per_split}) in {elapsed:.1f} s "
        f"({total / max(elapsed, 1e-9):.0f}x real time); {redrawn} clips performed again after "
        f"failing a plausibility check -> {out}"
    )
