"""Which torch device a request or a training run gets, and how many CPU threads inference uses:
one rule for generation, evaluation and every trainer, so "auto", "cpu", "cuda" and "cuda:N" mean
the same everywhere and a GPU asked for on a machine without one is a clear error before any
work."""

from __future__ import annotations

import os

import torch

from core.errors import BodyLanguageError

THREADS_ENV = "BODY_LANGUAGE_THREADS"


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """"auto": CUDA when available, else the CPU; "cpu", "cuda", "cuda:N" as asked."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        picked = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise BodyLanguageError(f"unknown device {device!r}: {exc}") from None
    if picked.type == "cuda" and not torch.cuda.is_available():
        raise BodyLanguageError(f"device {device!r} asked for, but torch sees no CUDA GPU; "
                                "use 'auto' or 'cpu'")
    return picked


def cpu_threads() -> int:
    """Threads for CPU inference: `BODY_LANGUAGE_THREADS` when set; else one on machines with
    two cores or fewer (measured: on a busy 2-core machine one thread beats two, the per-step work
    being too small to share), half the cores (at most 8) on bigger ones."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        try:
            threads = int(value)
        except ValueError:
            threads = 0
        if threads < 1:
            raise BodyLanguageError(f"{THREADS_ENV} must be a positive whole number, got "
                                    f"{value!r}")
        return threads
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(8, cores // 2)
