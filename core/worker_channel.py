"""The worker's protocol lines out (core/worker.py): one whole JSON line per write, from any
thread, on a private duplicate of the real stdout; and the check that a result can be sent."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import IO, Any

import numpy as np

from core.shared.protocol import error_message, progress_message, result_message
from core.worker_errors import RequestError


class Channel:
    """Protocol lines out, one whole line per write, from any thread."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    @staticmethod
    def encode(message: Mapping[str, Any]) -> str:
        """One protocol line; ValueError for a non-finite number, TypeError for a non-JSON value.

        NaN is refused because the client's JSON reader (and the user) would take it for data.
        """
        return json.dumps(message, allow_nan=False, separators=(",", ":"))

    def send(self, message: Mapping[str, Any]) -> None:
        self.write_line(self.encode(message))

    def write_line(self, line: str) -> None:
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                # The add-on is gone; the stdin reader will see EOF and end the worker.
                pass

    def progress(self, request_id: str, fraction: float, message: str) -> None:
        fraction = min(1.0, max(0.0, float(fraction))) if np.isfinite(fraction) else 0.0
        self.send(progress_message(request_id, fraction, str(message)))

    def result(self, request_id: str, data: Mapping[str, Any]) -> None:
        self.send(result_message(request_id, data))

    def error(self, request_id: str | None, message: str, kind: str) -> None:
        self.send(error_message(request_id, str(message), kind))


def protect_stdout() -> Channel:
    """A channel on the real stdout; afterwards fd 1 and sys.stdout write to stderr."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Channel(os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1))


def non_finite_at(value: object, where: str = "") -> str | None:
    """The place (`a.b[2]`) of the first NaN or infinity in a JSON-like value, else None."""
    if isinstance(value, float):
        return None if np.isfinite(value) else (where or "the value")
    if isinstance(value, Mapping):
        items: Iterator[tuple[str, object]] = (
            (f"{where}.{key}" if where else str(key), item) for key, item in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{where}[{i}]", item) for i, item in enumerate(value))
    else:
        return None
    for place, item in items:
        found = non_finite_at(item, place)
        if found is not None:
            return found
    return None


def result_line(request: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """The protocol line of a result, or RequestError saying why it cannot be sent."""
    place = non_finite_at(data)
    if place is not None:
        raise RequestError(f"the {request['type']} result holds a non-finite number at {place}; "
                           "the model's weights may be damaged, or this is a bug", "internal")
    try:
        return Channel.encode(result_message(request["id"], data))
    except (TypeError, ValueError) as exc:
        raise RequestError(f"the {request['type']} result cannot be sent as JSON: {exc}",
                           "internal") from None
