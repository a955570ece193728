"""The worker's requests in (core/worker.py): a reader thread turns stdin's lines into requests,
answers malformed lines with protocol errors and applies cancels at once."""

from __future__ import annotations

import json
import queue
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from core.shared.protocol import REQUEST_TYPES
from core.worker_channel import Channel
from core.worker_errors import RequestError

# Requests carry paths and a prompt, never bulk data (that travels in files): a megabyte is far
# above any real request and keeps a runaway writer from filling the worker's memory.
MAX_REQUEST_BYTES = 1 << 20
_DISCARD_CHUNK = 1 << 16


@dataclass
class Inbox:
    """Requests read by a thread, so a `cancel` lands while the main thread is generating."""

    pending: queue.Queue = field(default_factory=queue.Queue)
    cancelled: set[str] = field(default_factory=set)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Why the reader stopped, when it failed rather than meeting EOF or `shutdown`.
    failure: str | None = None

    def is_cancelled(self, request_id: str) -> bool:
        with self.lock:
            return self.stopping.is_set() or request_id in self.cancelled

    def forget(self, request_id: str) -> None:
        with self.lock:
            self.cancelled.discard(request_id)

    def close(self, failure: str | None = None) -> None:
        """No more requests: abandon what runs or waits and let the main loop end."""
        self.failure = failure
        self.stopping.set()
        self.pending.put(None)


def parse_request(line: str) -> dict[str, Any]:
    """One request line as a dict with a string id and a known type, or RequestError."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RequestError(f"request is not JSON: {exc}", "protocol") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise RequestError(f"request holds a number JSON cannot read: {exc}", "protocol") from None
    except RecursionError:
        raise RequestError("request is not JSON the worker reads: nested too deeply",
                           "protocol") from None
    if not isinstance(request, dict):
        raise RequestError("request is not a JSON object", "protocol")
    if not isinstance(request.get("id"), str) or not request["id"]:
        raise RequestError("request has no string id", "protocol")
    if request.get("type") not in REQUEST_TYPES:
        raise RequestError(f"unknown request type {request.get('type')!r}; expected one of "
                           f"{', '.join(REQUEST_TYPES)}", "protocol")
    return request


def request_lines(stream: IO[bytes], limit: int = MAX_REQUEST_BYTES) -> Iterator[bytes | None]:
    """Each line of `stream` as bytes, None for a line over `limit` bytes, until EOF.

    An over-long line is read to its end in small pieces and dropped, so memory stays bounded
    and the line after it is read as a request of its own.
    """
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(_DISCARD_CHUNK)
            yield None
        else:
            yield line


def decode_request(raw: bytes | None, limit: int = MAX_REQUEST_BYTES) -> dict[str, Any]:
    """A request from one line's bytes (None: the line was too long), or RequestError."""
    if raw is None:
        raise RequestError(f"request line is longer than {limit} bytes; requests carry file "
                           "paths, never bulk data", "protocol")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(f"request line is not UTF-8 text: byte 0x{raw[exc.start]:02x} at "
                           f"position {exc.start} cannot be decoded", "protocol") from None
    return parse_request(text)


def read_requests(stream: IO[bytes], inbox: Inbox, channel: Channel) -> None:
    """Reader thread: queue requests, apply cancels at once, stop on `shutdown` or EOF.

    If reading itself fails, the inbox is closed with the reason: a worker whose reader died
    would otherwise wait for ever, deaf, while its client waits for an answer.
    """
    try:
        if not _read_until_end(stream, inbox, channel):
            # EOF: the add-on (or Blender) is gone; whatever runs is of no use to anyone.
            inbox.close()
    except BaseException as exc:  # anything at all: the worker must not stay up deaf
        traceback.print_exc(file=sys.stderr)
        inbox.close(f"the worker stopped reading requests ({type(exc).__name__}: {exc}) and "
                    "exits; the next request starts a new worker")


def _read_until_end(stream: IO[bytes], inbox: Inbox, channel: Channel) -> bool:
    """Queue the stream's requests; True once `shutdown` came, False at EOF."""
    for raw in request_lines(stream):
        if raw is not None and not raw.strip():
            continue
        try:
            request = decode_request(raw)
        except RequestError as exc:
            channel.error(None, str(exc), exc.kind)
            continue
        if request["type"] == "cancel":
            target = request.get("target")
            if isinstance(target, str):
                with inbox.lock:
                    inbox.cancelled.add(target)
            continue
        if request["type"] == "shutdown":
            # Whatever runs or waits is abandoned: its client is leaving.
            inbox.stopping.set()
            inbox.pending.put(request)
            return True
        inbox.pending.put(request)
    return False
