"""What a folder holds, to check that a refused operation left it exactly as it was."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under `root`, links not followed: a file's SHA-256, where a link points, a
    folder, or another kind of entry (a FIFO, never opened: reading it would block)."""
    entries: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            entries[name] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            entries[name] = "<dir>"
        elif path.is_file():
            entries[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            entries[name] = "<special>"
    return entries
