"""What the worker tests (tests/test_worker*.py) share: clients of a real worker, a worker spoken
to in raw bytes, test audio and motion files, and the checks they repeat. Every wait is on the
worker's output, never a fixed sleep."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile

from blender_addon.runtime import WorkerClient, WorkerError, worker_environment
from core.face_spaces import ARKIT52
from core.skeleton import PART_JOINTS
from core.worker_audio import SAMPLE_RATE

ROOT = Path(__file__).resolve().parent.parent
RATE = SAMPLE_RATE
TIMEOUT = 120.0
MODEL_TIMEOUT = 300.0


def new_client() -> WorkerClient:
    """A client of a worker running this checkout's core with the test's Python."""
    return WorkerClient(sys.executable, ROOT, startup_timeout=60)


@contextmanager
def running_client() -> Iterator[WorkerClient]:
    """A new client, shut down (its worker stopped, its files removed) when the block ends."""
    made = new_client()
    try:
        yield made
    finally:
        made.shutdown()


class RawWorker:
    """A worker process spoken to in raw bytes; a thread turns its stdout into events."""

    def __init__(self, cwd: Path, command: list[str] | None = None) -> None:
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "core.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
            env=worker_environment(ROOT, os.environ))
        self.events: queue.Queue = queue.Queue()
        self.stderr: list[bytes] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        # Drained so a chatty library can never block the worker on a full stderr pipe.
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr),
                         daemon=True).start()
        ready = self.next_event()
        assert ready is not None and ready["type"] == "ready", ready

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)  # EOF: the worker closed its protocol stream

    def send(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def request(self, request_id: str, kind: str, **fields: object) -> None:
        self.send(json.dumps({"id": request_id, "type": kind, **fields}).encode() + b"\n")

    def next_event(self, timeout: float = TIMEOUT) -> dict | None:
        return self.events.get(timeout=timeout)

    def until_answer(self, request_id: str) -> tuple[list[dict], dict]:
        """(every other event before it, the result or error of `request_id`)."""
        others = []
        while True:
            event = self.next_event()
            assert event is not None, f"the worker stopped: {b''.join(self.stderr)[-2000:]!r}"
            if event.get("id") == request_id and event["type"] != "progress":
                return others, event
            others.append(event)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.request("bye", "shutdown")
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    soundfile.write(path, samples.astype(np.float32), rate, subtype="FLOAT")
    return path


def line_wav(folder: Path) -> Path:
    """Two seconds of a quiet tone, `line.wav` in `folder`."""
    return write_wav(folder / "line.wav", 0.1 * np.sin(np.arange(2 * RATE) / 5.0))


def assert_still_serving(client: WorkerClient, pid: int | None = None) -> None:
    """The worker (the same process when `pid` is given) answers a plain request."""
    info = client.call("hello", timeout=TIMEOUT)
    assert info["pid"] == (pid or client.pid) and client.alive


def error_of(client: WorkerClient, kind: str, timeout: float = TIMEOUT,
             **fields: object) -> WorkerError:
    with pytest.raises(WorkerError) as caught:
        client.call(kind, timeout=timeout, **fields)
    return caught.value




def keep_file(path: Path, frames: int = 60, **changes: object) -> Path:
    arrays = {"poses": np.zeros((frames, 165), np.float32), "trans": np.zeros((frames, 3)),
              "face": np.zeros((frames, len(ARKIT52)), np.float32),
              "face_names": np.array(ARKIT52), "mocap_frame_rate": np.float64(30.0),
              "parts": np.array(["face", "hands", "upper", "lower"])}
    arrays.update(changes)
    np.savez(path, **arrays)
    return path


def assert_kept_bit_identical(edited: object, first: object) -> None:
    """The face, upper and lower body and the root path of `edited` are `first`'s, bit for bit
    (a generate that kept those parts and wrote only the hands)."""
    for part in ("face", "upper", "lower"):
        joints = list(PART_JOINTS[part])
        np.testing.assert_array_equal(edited.poses[:, joints], first.poses[:, joints])
    np.testing.assert_array_equal(edited.trans, first.trans)
    np.testing.assert_array_equal(edited.face, first.face)
