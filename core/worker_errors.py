"""The two ways a worker request ends without a result (core/worker.py)."""

from __future__ import annotations


class RequestError(Exception):
    """A request that cannot be answered with a result; `kind` tells the client why."""

    def __init__(self, message: str, kind: str = "input") -> None:
        super().__init__(message)
        self.kind = kind


class Cancelled(Exception):
    """The client cancelled the request (or the worker is shutting down)."""
