"""The add-on's side of the worker protocol: start, talk to and stop the model worker (no bpy).

The worker (core/worker.py; shared/protocol.py defines what the two say) is a separate Python
with torch. It is started with pipes for stdin, stdout and stderr; two threads read its stdout
(JSON events) and stderr (its log) into a queue, so Blender's UI thread only ever calls `poll()`,
which never blocks. A worker that dies is reported once per waiting request (kind "crashed",
with the last lines of its log) and started again on the next request. Silence past a
request's timeout is reported as kind "timeout" and the worker is replaced, since a stuck
worker cannot be trusted with the next request.

One client is shared by the whole add-on (`shared_client`), so the model stays loaded between
requests; it is shut down when the add-on is unregistered and, failing that, at exit.
"""

from __future__ import annotations

import atexit
import collections
import itertools
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .shared.protocol import PROTOCOL_VERSION, REQUEST_EVENTS, cancel_message, request_message

WORKER_MODULE = "core.worker"
LOG_LINES = 200
# How long a crash report waits for the worker's last log lines: its stderr ends with the process,
# so this bounds only a pipe some child of the worker still holds open.
LOG_DRAIN_TIMEOUT = 1.0
# Environment a host application sets for its own Python that would break a venv's.
_HOST_PYTHON_VARIABLES = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE")


class WorkerError(Exception):
    """A request that ended without a result; `kind` is the worker's error kind or one of
    the client's own: crashed, timeout, runtime (the worker could not be started)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class WorkerMessage:
    """One event about a request: type "progress", "result" or "error"."""

    request_id: str | None
    type: str
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return float(self.data.get("fraction", 0.0))

    @property
    def message(self) -> str:
        return str(self.data.get("message", ""))

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    def raise_for_error(self) -> None:
        if self.type == "error":
            raise WorkerError(self.message, self.kind)


@dataclass
class _Pending:
    kind: str
    deadline_after: float | None
    last_heard: float


def worker_environment(core_root: Path, base: Mapping[str, str]) -> dict[str, str]:
    """The environment for the worker: the host's, minus its Python settings, with the folder
    holding `core/` as the only PYTHONPATH entry."""
    env = {key: value for key, value in base.items() if key not in _HOST_PYTHON_VARIABLES}
    env["PYTHONPATH"] = str(core_root)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


class WorkerClient:
    """A model worker process and the requests in flight to it."""

    def __init__(
        self,
        python: str | os.PathLike,
        core_root: str | os.PathLike,
        *,
        startup_timeout: float = 120.0,
        log: Callable[[str], None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.python = Path(python)
        self.core_root = Path(core_root)
        self.startup_timeout = startup_timeout
        self.restarts = 0
        self.exchange_dir = Path(tempfile.mkdtemp(prefix="body-language-"))
        self._log = log
        self._environ = dict(os.environ if environ is None else environ)
        self._process: subprocess.Popen | None = None
        self._log_reader: threading.Thread | None = None
        self._events: queue.Queue = queue.Queue()
        self._held: list[WorkerMessage] = []
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._files = itertools.count(1)
        self._log_lines: collections.deque[str] = collections.deque(maxlen=LOG_LINES)
        self._started_at = 0.0
        self._ready = False
        self._write_lock = threading.Lock()
        self._closed = False

    # -------------------------------------------------------------------- process

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def ready(self) -> bool:
        """True once the running worker has announced itself."""
        return self.alive and self._ready

    def log_tail(self, lines: int = 20) -> list[str]:
        return list(self._log_lines)[-lines:]

    def start(self) -> None:
        """Start the worker unless one is running (a restart after a crash counts)."""
        if self._closed:
            raise WorkerError("the worker client was shut down", "runtime")
        if self.alive:
            return
        if self._process is not None:
            self.restarts += 1
            self._forget_process()
        command = [str(self.python), "-m", WORKER_MODULE]
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if os.name == "nt" else 0
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                cwd=str(self.exchange_dir), env=worker_environment(self.core_root, self._environ),
                text=True, encoding="utf-8", errors="replace", bufsize=1, creationflags=flags,
            )
        except OSError as exc:
            raise WorkerError(f"cannot start the worker Python {self.python}: {exc}",
                              "runtime") from None
        self._process = process
        self._ready = False
        self._started_at = time.monotonic()
        threading.Thread(target=self._read_stdout, args=(process, process.stdout),
                         name="body-language-worker-out", daemon=True).start()
        self._log_reader = threading.Thread(target=self._read_stderr, args=(process.stderr,),
                                            name="body-language-worker-log", daemon=True)
        self._log_reader.start()

    def _read_stdout(self, process: subprocess.Popen, stream: IO[str]) -> None:
        for line in _lines(stream):
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                self._note(f"[worker stdout, not protocol] {line}")
                continue
            if isinstance(event, dict):
                self._events.put((process, event))
        self._events.put((process, None))  # EOF: the process is ending

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in _lines(stream):
            self._note(line.rstrip("\n"))

    def _note(self, line: str) -> None:
        self._log_lines.append(line)
        if self._log is not None:
            try:
                self._log(line)
            except Exception:  # a logging hook must never take the reader thread down
                pass

    def _forget_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout, process.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    def kill(self) -> None:
        """Stop the worker at once (requests in flight are reported as crashed)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    # -------------------------------------------------------------------- requests

    def new_file(self, stem: str, suffix: str = ".npz") -> Path:
        """A fresh path in the private exchange folder for an array file."""
        return self.exchange_dir / f"{stem}-{next(self._files)}{suffix}"

    def request(self, kind: str, timeout: float | None = None, **fields: Any) -> str:
        """Send a request, starting the worker if needed; returns its id.

        `timeout`: seconds without any event about this request (progress counts) before it is
        given up as kind "timeout" (None: no limit).
        """
        request_id = f"r{next(self._ids)}"
        line = json.dumps(request_message(request_id, kind, **fields)) + "\n"
        self.start()
        try:
            self._write(line)
        except OSError:
            # It died before we noticed: one fresh start, then give up.
            self.start()
            try:
                self._write(line)
            except OSError as exc:
                raise WorkerError(f"cannot send to the worker: {exc}; "
                                  f"its log: {' | '.join(self.log_tail(5))}", "crashed") from None
        self._pending[request_id] = _Pending(kind, timeout, time.monotonic())
        return request_id

    def _write(self, line: str) -> None:
        if self._process is None or self._process.stdin is None:
            raise BrokenPipeError("no worker process")
        with self._write_lock:
            self._process.stdin.write(line)
            self._process.stdin.flush()

    def cancel(self, request_id: str) -> None:
        """Ask the worker to stop a request; it answers with an error of kind "cancelled"."""
        if request_id not in self._pending or not self.alive:
            return
        try:
            self._write(json.dumps(cancel_message(f"c{request_id}", request_id)) + "\n")
        except OSError:
            pass  # it is dying anyway; poll() reports that

    def pending(self) -> list[str]:
        return list(self._pending)

    def wait_for_news(self, timeout: float) -> bool:
        """Block until the worker has sent an event that poll() has not read yet, or until
        `timeout` seconds have passed; whether one is there. Unlike poll(timeout), it leaves the
        event for the next poll (a script driving a modal operator by hand waits with it)."""
        if self._held:
            return True
        events = self._events
        with events.not_empty:
            return events.not_empty.wait_for(lambda: len(events.queue) > 0, max(timeout, 0.0))

    def poll(self, timeout: float = 0.0) -> list[WorkerMessage]:
        """Every event since the last call; a result or error ends a request.

        With nothing to report, waits up to `timeout` seconds for the worker's next event (0:
        never blocks, as Blender's UI thread needs).
        """
        messages, self._held = self._held, []
        wait = timeout if not messages else 0.0
        while True:
            try:
                process, event = (self._events.get(timeout=wait) if wait > 0
                                  else self._events.get_nowait())
            except queue.Empty:
                break
            wait = 0.0
            if process is not self._process:
                continue  # from a worker already replaced
            if event is None:
                messages.extend(self._crashed())
                continue
            message = self._accept(event)
            if message is not None:
                messages.append(message)
        messages.extend(self._check_time())
        return messages

    def _accept(self, event: dict) -> WorkerMessage | None:
        kind = event.get("type")
        if kind == "ready":
            self._ready = True
            if event.get("protocol") != PROTOCOL_VERSION:
                self._note(f"worker speaks protocol {event.get('protocol')}, this add-on "
                           f"{PROTOCOL_VERSION}")
            return None
        request_id = event.get("id")
        if kind not in REQUEST_EVENTS:
            return None
        if request_id is None:
            # A request the worker could not even parse: a bug on this side, so log it.
            self._note(f"worker rejected a request: {event.get('message')}")
            return None
        pending = self._pending.get(request_id)
        if pending is None:
            return None  # e.g. a cancelled request's late answer after a timeout
        pending.last_heard = time.monotonic()
        if kind == "progress":
            data = {"fraction": event.get("fraction", 0.0), "message": event.get("message", "")}
        elif kind == "result":
            data = event.get("data") or {}
            del self._pending[request_id]
        else:
            data = {"message": event.get("message", ""), "kind": event.get("kind", "internal")}
            del self._pending[request_id]
        return WorkerMessage(request_id, kind, data)

    def _crashed(self) -> list[WorkerMessage]:
        """Errors for every request in flight when the worker process ended."""
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
        # The stderr thread may still be catching the last lines; they end with the process.
        if self._log_reader is not None:
            self._log_reader.join(timeout=LOG_DRAIN_TIMEOUT)
        tail = " | ".join(line for line in self.log_tail(8) if line.strip())
        message = f"The model worker stopped unexpectedly (exit code {code})."
        if tail:
            message += f" Its last log lines: {tail}"
        failed = [WorkerMessage(request_id, "error", {"message": message, "kind": "crashed"})
                  for request_id in self._pending]
        self._pending.clear()
        return failed

    def _check_time(self) -> list[WorkerMessage]:
        now = time.monotonic()
        if self._process is not None and not self._ready and self.alive and self._pending:
            if now - self._started_at > self.startup_timeout:
                return self._give_up(
                    f"The model worker did not start within {self.startup_timeout:.0f} s "
                    f"({self.python}).")
        late = [request_id for request_id, pending in self._pending.items()
                if pending.deadline_after is not None
                and now - pending.last_heard > pending.deadline_after]
        if late:
            limit = self._pending[late[0]].deadline_after
            return self._give_up(f"The model worker did not answer for {limit:.0f} s; "
                                 "it was stopped and will start afresh on the next request.")
        return []

    def _give_up(self, message: str) -> list[WorkerMessage]:
        failed = [WorkerMessage(request_id, "error", {"message": message, "kind": "timeout"})
                  for request_id in self._pending]
        self._pending.clear()
        self.kill()
        return failed

    def wait(
        self,
        request_id: str,
        timeout: float | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        interval: float = 0.02,
    ) -> Mapping[str, Any]:
        """Block until the request ends: its result data, or WorkerError.

        Events of other requests are kept for the next `poll()`. `timeout` bounds the whole
        wait (kind "timeout"); `should_cancel` returning True sends a cancel once. Between
        events it waits on the worker's output, looking at `should_cancel` and the clock at
        least every `interval` seconds.
        """
        started = time.monotonic()
        cancel_sent = False
        others: list[WorkerMessage] = []
        try:
            while True:
                for message in self.poll(timeout=interval):
                    if message.request_id != request_id:
                        others.append(message)
                    elif message.type == "progress":
                        if on_progress is not None:
                            on_progress(message.fraction, message.message)
                    else:
                        message.raise_for_error()
                        return message.data
                if request_id not in self._pending:
                    raise WorkerError(f"request {request_id} is not in flight", "protocol")
                if not cancel_sent and should_cancel is not None and should_cancel():
                    self.cancel(request_id)
                    cancel_sent = True
                if timeout is not None and time.monotonic() - started > timeout:
                    self.cancel(request_id)
                    self._pending.pop(request_id, None)
                    raise WorkerError(f"no answer from the model worker within {timeout:.0f} s",
                                      "timeout")
        finally:
            # Held here, not in self._held, so that poll() waits instead of handing them back.
            self._held = others + self._held

    def call(self, kind: str, timeout: float | None = None, **fields: Any) -> Mapping[str, Any]:
        """Send a request and wait for its result (WorkerError otherwise)."""
        return self.wait(self.request(kind, **fields), timeout=timeout)

    # -------------------------------------------------------------------- shutdown

    def shutdown(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit, kill it if it does not, and delete the exchange folder."""
        self._closed = True
        process = self._process
        if process is not None and process.poll() is None:
            try:
                self._write(json.dumps(request_message("shutdown", "shutdown")) + "\n")
                process.stdin.close()
            except (OSError, ValueError):
                pass
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._forget_process()
        self._pending.clear()
        shutil.rmtree(self.exchange_dir, ignore_errors=True)


# ---------------------------------------------------------------------------- the shared one

_shared: WorkerClient | None = None
_shared_lock = threading.Lock()


def shared_client(python: str | os.PathLike, core_root: str | os.PathLike,
                  log: Callable[[str], None] | None = None) -> WorkerClient:
    """The add-on's one worker client; a different Python or core replaces it."""
    global _shared
    with _shared_lock:
        current = _shared
        if current is not None and not current._closed and (
                current.python, current.core_root) == (Path(python), Path(core_root)):
            return current
        if current is not None:
            current.shutdown()
        _shared = WorkerClient(python, core_root, log=log)
        return _shared


def current_client() -> WorkerClient | None:
    """The shared client if one exists (nothing is started)."""
    return _shared


def shutdown_shared() -> None:
    """Stop the shared worker (add-on unregister, Blender exit)."""
    global _shared
    with _shared_lock:
        client, _shared = _shared, None
    if client is not None:
        client.shutdown()


atexit.register(shutdown_shared)


def _lines(stream: IO[str]) -> Iterator[str]:
    """A pipe's lines until its end, or until the client closes it under the reader thread (a
    forgotten process): reading a closed file raises ValueError, which must not kill the thread
    with a traceback."""
    try:
        yield from stream
    except (ValueError, OSError):
        return
