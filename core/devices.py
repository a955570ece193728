"""Which torch device a request or a training run gets: one rule for generation and every
trainer, so "auto", "cpu", "cuda" and "cuda:N" mean the same everywhere and a GPU asked for on a
machine without one is a clear error before any work."""

from __future__ import annotations

import torch

from core.errors import BodyLanguageError


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
