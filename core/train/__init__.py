"""Training entry points: each trains one kind of model from corpus folders into a checkpoint."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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


class StateSaver:
    """When a trainer writes its resumable state: every `every_steps` steps (when set) or
    `every_s` seconds, on Ctrl-C (only whole steps count: a step cut short before the optimiser
    stepped changed nothing and simply runs again on resume) and at the end."""

    def __init__(self, save: Callable[[int], None], step: int, every_s: float,
                 every_steps: int | None = None) -> None:
        self.save, self.every_s, self.every_steps = save, every_s, every_steps
        self.saved_step = step
        self.last_save = time.monotonic()

    def step_done(self, completed: int) -> None:
        due = bool(self.every_steps) and completed % self.every_steps == 0
        if due or time.monotonic() - self.last_save >= self.every_s:
            self._save(completed)

    def interrupted(self, completed: int) -> None:
        if completed > self.saved_step:
            self._save(completed)

    def finished(self, completed: int, state_exists: bool) -> None:
        if completed > self.saved_step or not state_exists:
            self._save(completed)

    def _save(self, completed: int) -> None:
        self.save(completed)
        self.saved_step, self.last_save = completed, time.monotonic()


def progress_bar(show: bool, total: int, initial: int, desc: str) -> Any:
    """A tqdm bar of training steps on stderr, or None when progress is not shown."""
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="step", file=sys.stderr,
                dynamic_ncols=True)


def run_steps(
    start: int, stop: int, train_step: Callable[[int], Any],
    after_step: Callable[[int, Any], None], saver: StateSaver, state_file: Path, bar: Any = None,
) -> int:
    """Steps `start` .. `stop - 1`: `train_step(step)` steps the optimiser, then
    `after_step(completed, its result)` logs and evaluates; the state is saved as `saver` says,
    on Ctrl-C (counting a step once its optimiser stepped, even if logging it was cut short) and
    at the end. Returns the number of completed steps."""
    completed = start
    try:
        for step in range(start, stop):
            result = train_step(step)
            completed = step + 1
            after_step(completed, result)
            saver.step_done(completed)
    except KeyboardInterrupt:
        saver.interrupted(completed)
        raise
    finally:
        if bar is not None:
            bar.close()
    saver.finished(completed, state_file.is_file())
    return completed
