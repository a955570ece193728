"""The progress bars of the evaluation's long loops (on stderr, gone when done)."""

from __future__ import annotations

import sys
from collections.abc import Iterable


def progress_bar(iterable: Iterable, total: int | None, desc: str, enabled: bool) -> Iterable:
    """`iterable` itself, or wrapped in a tqdm bar when `enabled`."""
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False)
