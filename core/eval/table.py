"""The evaluation's result: per system, per metric, a value and how many clips gave it; as an
aligned text table (what `python -m core eval` prints) and as JSON."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METRICS: tuple[str, ...] = (
    "bc", "fgd", "div", "face_mae", "lip_sync", "emotion_from_motion", "emotion_judged",
    "prompt_following", "prompt_following_speech", "edit_kept", "edit_seam", "foot_skate",
    "blinks_per_min", "real_vowel_r", "real_pause_closed",
)



@dataclass
class EvalTable:
    """Per system, per metric: a value (None where it does not apply) and how many clips."""

    split: str
    systems: list[str]
    values: dict[str, dict[str, float | None]]
    counts: dict[str, dict[str, int]]
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def format(self) -> str:
        """An aligned text table, one row per system."""
        header = ["system", *METRICS]
        rows = [header]
        for system in self.systems:
            row = [system]
            for metric in METRICS:
                value = self.values[system].get(metric)
                row.append("-" if value is None else f"{value:.3f}")
            rows.append(row)
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w)
                           for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                 for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        clips = self.info.get("clips")
        title = f"evaluation on split {self.split!r}" + (f" ({clips} clips)" if clips else "")
        return "\n".join([title, *lines, *(f"note: {note}" for note in self.notes)])

    def to_json(self) -> dict[str, Any]:
        return {"split": self.split, "systems": self.systems, "values": self.values,
                "counts": self.counts, "notes": self.notes, "info": self.info}

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, allow_nan=False) + "\n",
                        encoding="utf-8")
        return path
