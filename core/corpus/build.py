"""Build the corpus: make clips in order until the requested hours are reached, write them."""

from __future__ import annotations

import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from core.corpus.builder import Clip, content_shares, make_clip
from core.corpus.layout import table_row, write_clip, write_tables
from core.errors import BodyLanguageError


def _clips_in_order(seed: int, workers: int, check: bool, listen_share: float
                    ) -> Iterator[Clip]:
    """Clips 0, 1, 2, ... of `seed`, made by `workers` processes but yielded in index order, so
    the corpus does not depend on how many workers made it."""
    if workers <= 1:
        index = 0
        while True:
            yield make_clip(seed, index, check, listen_share)
            index += 1
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: list[Future] = []
        index = 0
        try:
            while True:
                while len(pending) < 2 * workers:
                    pending.append(pool.submit(make_clip, seed, index, check, listen_share))
                    index += 1
                yield pending.pop(0).result()
        finally:
            for future in pending:
                future.cancel()


# Everything a build writes, so a rebuild deletes exactly that: three top-level files and three
# folders of per-clip files named by clip id (`train_000012`); the motion writer's
# `.<name>.partial` is there too when a build was killed mid-write.
_TOP_FILES = frozenset({".building", "clips.csv", "train_test_split.csv"})
_CLIP_ID = r"[a-z]+_[0-9]{6,}"
_CLIP_FILES = {
    "smplxflame_30": re.compile(rf"(\.{_CLIP_ID}\.npz\.partial|{_CLIP_ID}\.npz)"),
    "wave16k": re.compile(rf"{_CLIP_ID}\.wav"),
    "textgrid": re.compile(rf"{_CLIP_ID}\.TextGrid"),
}
MAX_HOURS = 10_000.0  # over a year of audio; more is a typo, not a corpus
_NAMES_SHOWN = 5


def _hours(hours: object) -> float:
    """`hours` as a finite float in (0, MAX_HOURS]; inf would never stop, nan never start."""
    valid = isinstance(hours, (int, float)) and not isinstance(hours, bool)
    if not valid or not (math.isfinite(hours) and 0 < hours <= MAX_HOURS):
        raise BodyLanguageError(
            f"--hours must be a number of hours above 0 and at most {MAX_HOURS:g}, got {hours!r}")
    return float(hours)


def _seed(seed: object) -> int:
    """`seed` as an int numpy's generators take: whole, not negative, within int64."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise BodyLanguageError(f"--seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    return seed


def _workers(workers: object) -> int:
    """`workers` as a process count this machine can run: each is a full Python process, so
    thousands would exhaust memory long before they helped, and Windows allows at most 61."""
    limit = 4 * (os.cpu_count() or 1)
    if sys.platform == "win32":
        limit = min(limit, 61)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= limit:
        raise BodyLanguageError(
            f"--workers must be a whole number from 1 to {limit} on this machine, got {workers!r}")
    return workers


def _corpus_entries(out: Path) -> tuple[list[Path], list[Path], list[str]]:
    """(files a build wrote, its folders, names of everything else) in `out`.

    A symlink is never the build's: it writes none, and following one could reach anything.
    """
    files: list[Path] = []
    folders: list[Path] = []
    foreign: list[str] = []
    with os.scandir(out) as entries:
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                foreign.append(entry.name)
            elif entry.name in _TOP_FILES and entry.is_file():
                files.append(path)
            elif entry.name in _CLIP_FILES and entry.is_dir():
                folders.append(path)
                pattern = _CLIP_FILES[entry.name]
                with os.scandir(path) as inside:
                    for item in inside:
                        if (not item.is_symlink() and item.is_file()
                                and pattern.fullmatch(item.name)):
                            files.append(Path(item.path))
                        else:
                            foreign.append(f"{entry.name}/{item.name}")
            else:
                foreign.append(entry.name)
    return files, folders, sorted(foreign)


def _clear_previous_build(out: Path, overwrite: bool) -> None:
    """Make `out` ready for a build: absent or empty is fine; an interrupted build, or a
    finished one with `overwrite`, has its own files deleted. Anything else there is refused
    and nothing is deleted, so no user file is ever lost to a build."""
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise BodyLanguageError("exists and is not a folder; choose another --out", out)
    try:
        files, folders, foreign = _corpus_entries(out)
    except OSError as exc:
        raise BodyLanguageError(f"cannot list the folder: {exc.strerror or exc}", out) from None
    if not files and not folders and not foreign:
        return
    interrupted = (out / ".building") in files
    if (out / "clips.csv") not in files and not interrupted:
        raise BodyLanguageError("exists and is not a corpus folder; choose another --out", out)
    if foreign:
        shown = ", ".join(foreign[:_NAMES_SHOWN])
        more = f" and {len(foreign) - _NAMES_SHOWN} more" if len(foreign) > _NAMES_SHOWN else ""
        raise BodyLanguageError(
            f"holds files a corpus build does not write ({shown}{more}); nothing was deleted. "
            "Move them away or choose another --out", out)
    if not interrupted and not overwrite:
        raise BodyLanguageError(
            "already holds a finished corpus; pass --overwrite to replace it", out)
    # An interrupted build (or a corpus the user chose to replace) is removed, never mixed
    # with this one. The marker is set first and stays (the build rewrites it), so a failure
    # part-way leaves a folder that reads as interrupted, not as a smaller finished corpus.
    marker = out / ".building"
    try:
        marker.touch()
        for path in files:
            if path != marker:
                path.unlink()
        for folder in folders:
            folder.rmdir()
    except OSError as exc:
        raise BodyLanguageError(f"cannot remove the previous build: {exc}", out) from None


def build_corpus(
    out: str | os.PathLike,
    hours: float,
    seed: int = 0,
    workers: int = 1,
    progress: bool = True,
    check: bool = True,
    overwrite: bool = False,
    listen_share: float = 0.0,
) -> str:
    """Write at least `hours` of clips to `out` (BEAT2 layout); returns a one-paragraph summary.

    The same seed always gives the same clips, byte for byte, whatever the worker count.
    `listen_share` of the clips are listener clips (core/corpus/listener.py), taken from the
    speech-only share. `check` runs the plausibility checks on every clip; a finished corpus at
    `out` is only
    replaced with `overwrite`, an interrupted build always. Replacing deletes only the files a
    build writes: a folder holding anything else is refused, naming what is there.
    """
    hours = _hours(hours)
    seed = _seed(seed)
    workers = _workers(workers)
    content_shares(listen_share)  # a bad share fails before any folder is touched
    out = Path(out)
    _clear_previous_build(out, overwrite)
    marker = out / ".building"
    try:
        out.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"seed={seed} hours={hours} listen_share={listen_share}\n")
    except OSError as exc:
        raise BodyLanguageError(f"cannot create the corpus folder: {exc}", out) from None

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
        for clip in _clips_in_order(seed, workers, check, listen_share):
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
