"""A trainer's config as JSON beside the checkpoint it wrote (`<checkpoint>.training.json`), so a
finished run says how it was made and can be repeated from that file:

    save_config(out / "lm", config)            ->  out/lm.training.json
    load_config(out / "lm", LMTrainConfig)     ->  the same config
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.errors import BodyLanguageError

SUFFIX = ".training.json"
Config = TypeVar("Config")


def config_path(checkpoint: str | os.PathLike) -> Path:
    """The JSON file that holds the config of `checkpoint` (a path without suffix)."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name + SUFFIX)


def save_config(checkpoint: str | os.PathLike, config: Any) -> Path:
    """Write `config` (a dataclass of JSON values) beside `checkpoint`; returns the file."""
    if not is_dataclass(config):
        raise TypeError(f"expected a dataclass config, got {type(config).__name__}")
    path = config_path(checkpoint)
    path.write_text(json.dumps(asdict(config), indent=2) + "\n", encoding="utf-8")
    return path


def load_config(checkpoint: str | os.PathLike, kind: type[Config]) -> Config:
    """The config of type `kind` saved beside `checkpoint`; fields it lacks take their defaults,
    a field `kind` does not have is an error (the file belongs to another trainer)."""
    path = config_path(checkpoint)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BodyLanguageError("no training config beside the checkpoint", path) from None
    except (OSError, ValueError) as exc:
        raise BodyLanguageError(f"cannot read the training config: {exc}", path) from None
    known = {spec.name for spec in fields(kind)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known) if isinstance(values, dict) else ["<not an object>"]
    if unknown:
        raise BodyLanguageError(f"not a {kind.__name__} (unknown fields {unknown})", path)
    try:
        return kind(**values)
    except TypeError as exc:
        raise BodyLanguageError(f"incomplete {kind.__name__}: {exc}", path) from None
