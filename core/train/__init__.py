"""Training entry points: each trains one kind of model from corpus folders into a checkpoint."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from core.errors import BodyLanguageError


def data_folders(data_dirs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """One folder or several as a list of existing folders; a missing one is a clear error."""
    if isinstance(data_dirs, str | os.PathLike):
        data_dirs = [data_dirs]
    roots = [Path(d) for d in data_dirs]
    if not roots:
        raise BodyLanguageError("no data folders given")
    for root in roots:
        if not root.is_dir():
            raise BodyLanguageError("data folder not found", root)
    return roots
