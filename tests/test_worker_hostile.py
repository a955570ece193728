"""Hostile input to the model worker (issue 13): whatever a request holds, the worker answers it
with a result or an error that names the bad input, and answers the next request.

Most tests talk to a real `python -m core.worker` process: raw bytes where the protocol itself
is attacked, the add-on's client (blender_addon/runtime.py) where a request is well formed but
its content is not. Every wait is on the worker's output, never a fixed sleep.
"""

from __future__ import annotations

import io
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile
from tiny_model import tiny_model_folder

from blender_addon.motion_files import read_motion_file, write_keep_file
from blender_addon.runtime import WorkerClient, WorkerError, worker_environment
from core import worker
from core.face_spaces import ARKIT52
from core.skeleton import PART_JOINTS

ROOT = Path(__file__).resolve().parent.parent
RATE = worker.SAMPLE_RATE
TIMEOUT = 120.0
MODEL_TIMEOUT = 300.0


# ---------------------------------------------------------------------------- helpers


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


def assert_still_serving(client: WorkerClient, pid: int | None = None) -> None:
    """The worker (the same process when `pid` is given) answers a plain request."""
    info = client.call("hello", timeout=TIMEOUT)
    assert info["pid"] == (pid or client.pid) and client.alive


def error_of(client: WorkerClient, kind: str, timeout: float = TIMEOUT,
             **fields: object) -> WorkerError:
    with pytest.raises(WorkerError) as caught:
        client.call(kind, timeout=timeout, **fields)
    return caught.value


def tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Iterator[RawWorker]:
    """One worker fed every kind of garbage in turn: it must survive them all."""
    made = RawWorker(tmp_path_factory.mktemp("raw-worker"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def client() -> Iterator[WorkerClient]:
    made = WorkerClient(sys.executable, ROOT, startup_timeout=60)
    yield made
    made.shutdown()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_model_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def model(model_dir) -> dict[str, str]:
    """The `model` field that makes the worker load (or keep) the tiny model."""
    return {"checkpoint": str(model_dir), "device": "cpu"}


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("audio")
    return write_wav(folder / "line.wav", 0.1 * np.sin(np.arange(2 * RATE) / 5.0))


# ---------------------------------------------------------------------------- request lines


HELLO = b'{"id":"a","type":"hello"}'
LIMIT = worker.MAX_REQUEST_BYTES
GARBAGE = {
    # name: (the line as sent, words the protocol error must hold)
    "non_utf8_byte_in_a_request": (HELLO[:-1] + b',"x":"\xff"}\n', ("not UTF-8", "0xff")),
    "non_utf8_line_alone": (b"\xc3\x28\xa0\xa1\n", ("not UTF-8", "0xc3", "position 0")),
    "latin1_prompt": ('{"id":"p","type":"hello","prompt":"caf\xe9"}\n'.encode("latin-1"),
                      ("not UTF-8", "0xe9")),
    "over_long_line": (HELLO[:-1] + b',"pad":"' + b"x" * (LIMIT + 10) + b'"}\n',
                       ("longer than", str(LIMIT), "bytes")),
    "over_long_line_without_json": (b"\xff" * (3 * LIMIT) + b"\n", ("longer than",)),
    "not_json": (b"not json\n", ("not JSON",)),
    "nested_too_deeply": (b"[" * 200_000 + b"\n", ("nested too deeply",)),
    "integer_of_5000_digits": (HELLO[:-1] + b',"seed":' + b"9" * 5000 + b"}\n", ("number",)),
    "json_array": (b"[1, 2]\n", ("not a JSON object",)),
    "json_string": (b'"hello"\n', ("not a JSON object",)),
    "no_id": (b'{"type":"hello"}\n', ("no string id",)),
    "empty_id": (b'{"id":"","type":"hello"}\n', ("no string id",)),
    "number_id": (b'{"id":7,"type":"hello"}\n', ("no string id",)),
    "unknown_type": (b'{"id":"u","type":"dance"}\n', ("'dance'", "hello")),
    "missing_type": (b'{"id":"u"}\n', ("unknown request type None",)),
    "nul_bytes": (b"\x00\x00\x00\n", ("not JSON",)),
}


@pytest.mark.parametrize("name", list(GARBAGE))
def test_garbage_line_gets_one_protocol_error_and_the_worker_keeps_serving(raw, name):
    line, words = GARBAGE[name]
    raw.send(line)
    raw.request(f"after-{name}", "hello")
    others, answer = raw.until_answer(f"after-{name}")
    (error,) = others
    assert error["type"] == "error" and error["kind"] == "protocol" and error["id"] is None
    for word in words:
        assert word in error["message"], error["message"]
    assert "Traceback" not in error["message"]
    assert answer["type"] == "result" and answer["data"]["pid"] == raw.process.pid


def test_every_kind_of_garbage_in_one_write_then_a_request(raw):
    # The lines arrive in one chunk, so an over-long line must be skipped to exactly its end.
    lines = [line for line, _words in GARBAGE.values()]
    raw.send(b"".join(lines) + b"\n  \n" + json.dumps({"id": "last", "type": "hello"}).encode()
             + b"\n")
    others, answer = raw.until_answer("last")
    assert [event["kind"] for event in others] == ["protocol"] * len(lines)
    assert answer["type"] == "result" and answer["data"]["pid"] == raw.process.pid


def test_cancel_of_nothing_and_malformed_cancel_get_no_answer_and_harm_nothing(raw):
    raw.send(b'{"id":"c1","type":"cancel","target":"nobody"}\n'
             b'{"id":"c2","type":"cancel","target":[1,2]}\n'
             b'{"id":"c3","type":"cancel"}\n')
    raw.request("after-cancels", "hello")
    others, answer = raw.until_answer("after-cancels")
    assert others == [] and answer["type"] == "result"


def test_a_worker_fed_garbage_still_shuts_down_cleanly(tmp_path):
    made = RawWorker(tmp_path)
    made.send(b"\xff\xfe\n" + b"x" * (LIMIT + 1) + b"\n")
    made.request("bye", "shutdown")
    others, answer = made.until_answer("bye")
    assert [event["kind"] for event in others] == ["protocol", "protocol"]
    assert answer == {"id": "bye", "type": "result", "data": {}}
    assert made.process.wait(timeout=30) == 0


def test_request_lines_drop_an_over_long_line_and_keep_the_next():
    stream = io.BytesIO(b"a" * 10 + b"\n" + b"b" * 25 + b"\nshort\n" + b"c" * 11)
    assert list(worker.request_lines(stream, limit=10)) == [b"a" * 10 + b"\n", None,
                                                           b"short\n", None]


# ---------------------------------------------------------------------------- a failing reader


class FailingStream:
    """Hands out `lines`, then fails the way a broken pipe or a bad descriptor would."""

    def __init__(self, *lines: bytes) -> None:
        self._lines = list(lines)

    def readline(self, size: int = -1) -> bytes:
        if self._lines:
            return self._lines.pop(0)
        raise OSError(5, "Input/output error")


def serve_in_process(stream: FailingStream) -> tuple[int, list[dict]]:
    out = io.StringIO()
    code = worker.serve(stream, worker.Channel(out))
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_reader_failure_ends_the_worker_with_a_failure_code(capsys):
    code, events = serve_in_process(FailingStream())
    assert code == 1 and [event["type"] for event in events] == ["ready"]
    assert "Input/output error" in capsys.readouterr().err


def test_request_in_flight_when_the_reader_fails_is_answered_with_the_reason(monkeypatch):
    def hello_until_the_reader_fails(request, context, report):
        assert context.inbox.stopping.wait(TIMEOUT)
        return {"never": "sent"}

    monkeypatch.setitem(worker.HANDLERS, "hello", hello_until_the_reader_fails)
    code, events = serve_in_process(FailingStream(HELLO + b"\n"))
    assert code == 1
    assert events[1]["id"] == "a" and events[1]["kind"] == "internal"
    assert "stopped reading requests" in events[1]["message"]
    assert "OSError" in events[1]["message"] and "new worker" in events[1]["message"]


def test_real_worker_whose_reader_fails_exits_instead_of_going_deaf(tmp_path):
    # The process is the real worker; only its stdin reader is made to fail after one line.
    inject = ("import core.worker as w\n"
              "real = w.request_lines\n"
              "def failing(stream, limit=w.MAX_REQUEST_BYTES):\n"
              "    for line in real(stream, limit):\n"
              "        yield line\n"
              "        raise OSError(5, 'injected read failure')\n"
              "w.request_lines = failing\n"
              "w.main()\n")
    made = RawWorker(tmp_path, [sys.executable, "-c", inject])
    made.send(b"\xff\n")
    events = []
    while (event := made.next_event()) is not None:
        events.append(event)
    assert [event["kind"] for event in events] == ["protocol"]
    assert made.process.wait(timeout=30) == 1
    # The client sees a stopped worker (and starts a new one), never a silent one.
    assert b"injected read failure" in b"".join(made.stderr)


# ---------------------------------------------------------------------------- unsendable results


def answer_in_process(request: dict) -> dict:
    out = io.StringIO()
    context = worker.Context(worker.Channel(out), worker.Inbox(), worker.ModelSlot())
    worker.answer(request, context)
    (line,) = out.getvalue().splitlines()
    return json.loads(line)


@pytest.mark.parametrize("data, words", [
    ({"probabilities": {"joy": float("nan")}}, ("non-finite", "probabilities.joy")),
    ({"values": [1.0, float("inf")]}, ("non-finite", "values[1]")),
    ({"frames": 3, "seconds": float("-inf")}, ("non-finite", "seconds")),
    ({"thing": object()}, ("cannot be sent as JSON", "object")),
], ids=["nan_in_a_mapping", "inf_in_a_list", "minus_inf", "not_json"])
def test_result_that_cannot_be_sent_becomes_an_internal_error(monkeypatch, data, words):
    monkeypatch.setitem(worker.HANDLERS, "hello", lambda request, context, report: data)
    error = answer_in_process({"id": "r", "type": "hello"})
    assert error["id"] == "r" and error["type"] == "error" and error["kind"] == "internal"
    for word in words:
        assert word in error["message"], error["message"]
    monkeypatch.undo()
    assert answer_in_process({"id": "next", "type": "hello"})["type"] == "result"


@pytest.fixture(scope="module")
def damaged_model(model_dir, tmp_path_factory) -> Path:
    """The tiny model with huge but finite language-model weights: the load-time checks pass,
    the forward pass overflows, and the emotion probabilities come out NaN."""
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    folder = tmp_path_factory.mktemp("damaged") / "model"
    shutil.copytree(model_dir, folder)
    weights = folder / "lm.safetensors"
    with safe_open(str(weights), "np") as handle:
        metadata = handle.metadata()  # the save id that ties weights to their config
    tensors = {name: np.full_like(value, 3e38) if value.dtype.kind == "f" else value
               for name, value in load_file(weights).items()}
    save_file(tensors, weights, metadata=metadata)
    return folder


def keep_file(path: Path, frames: int = 60, **changes: object) -> Path:
    arrays = {"poses": np.zeros((frames, 165), np.float32), "trans": np.zeros((frames, 3)),
              "face": np.zeros((frames, len(ARKIT52)), np.float32),
              "face_names": np.array(ARKIT52), "mocap_frame_rate": np.float64(30.0),
              "parts": np.array(["face", "hands", "upper", "lower"])}
    arrays.update(changes)
    np.savez(path, **arrays)
    return path


def test_nan_emotion_probabilities_are_a_clear_error_and_the_worker_survives(
        client, damaged_model, tmp_path):
    motion = keep_file(tmp_path / "motion.npz")
    error = error_of(client, "predict_emotion", timeout=MODEL_TIMEOUT, motion=str(motion),
                     model={"checkpoint": str(damaged_model), "device": "cpu"})
    assert error.kind == "input" and str(damaged_model) in str(error)
    assert "non-finite emotion probabilities" in str(error) and "damaged" in str(error)
    assert "Traceback" not in str(error)
    assert_still_serving(client)


def test_nan_weights_are_refused_naming_the_model(client, model_dir, tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    folder = tmp_path / "nan-model"
    shutil.copytree(model_dir, folder)
    weights = folder / "lm.safetensors"
    with safe_open(str(weights), "np") as handle:
        metadata = handle.metadata()
    tensors = load_file(weights)
    name = sorted(key for key, value in tensors.items() if value.dtype.kind == "f")[0]
    tensors[name] = np.full_like(tensors[name], np.nan)
    save_file(tensors, weights, metadata=metadata)
    error = error_of(client, "predict_emotion", timeout=MODEL_TIMEOUT,
                     motion=str(keep_file(tmp_path / "m.npz")),
                     model={"checkpoint": str(folder), "device": "cpu"})
    # Refused at load (naming the file) or, failing that, at the probabilities: never a NaN.
    assert error.kind == "input" and str(folder) in str(error)
    assert_still_serving(client)


# ---------------------------------------------------------------------------- samples files


def samples_file(path: Path, rate: object, samples: object = None) -> Path:
    samples = np.zeros(RATE, np.float32) if samples is None else samples
    np.savez(path, samples=samples, sample_rate=np.asarray(rate))
    return path


@pytest.mark.parametrize("rate, samples, words", [
    (0, None, ("sample_rate 0 Hz", "8000..192000")),
    (-16000, None, ("sample_rate -16000 Hz", "outside")),
    (1, None, ("sample_rate 1 Hz", "outside")),
    (7999, None, ("sample_rate 7999 Hz",)),
    (192001, None, ("sample_rate 192001 Hz",)),
    (16000.5, None, ("whole number of Hz", "16000.5")),
    (float("nan"), None, ("whole number of Hz", "nan")),
    (float("inf"), None, ("whole number of Hz", "inf")),
    ([16000, 16000], None, ("sample_rate must be one number",)),
    ("16000", None, ("sample_rate must be one number",)),
    (16000, np.zeros(RATE, np.int16), ("floats", "int16")),
    (16000, np.zeros((2, 3, 4), np.float32), ("(N,) finite",)),
    (16000, np.zeros(0, np.float32), ("(N,) finite",)),
    (16000, np.array([0.1, np.nan], np.float32), ("(N,) finite",)),
], ids=["zero", "negative", "one_hz", "just_below", "just_above", "fraction", "nan", "inf",
        "two_rates", "text_rate", "int16_samples", "three_dims", "empty", "nan_sample"])
def test_bad_samples_file_is_an_input_error_naming_it(client, tmp_path, rate, samples, words):
    path = samples_file(tmp_path / "samples.npz", rate, samples)
    output = tmp_path / "out.npz"
    error = error_of(client, "generate", audio={"samples": str(path)}, output=str(output))
    assert error.kind == "input" and str(path) in str(error)
    for word in words:
        assert word in str(error), str(error)
    assert not output.exists()
    assert_still_serving(client)


@pytest.mark.parametrize("content, words", [
    (b"", ("cannot read audio samples npz",)),
    (b"\x00\x01 random bytes, no zip", ("cannot read audio samples npz",)),
    (None, ("single .npy array",)),
], ids=["empty_file", "random_bytes", "bare_npy"])
def test_samples_file_that_is_no_npz_is_an_input_error_naming_it(client, tmp_path, content,
                                                                  words):
    path = tmp_path / "samples.npz"
    if content is None:
        with path.open("wb") as file:
            np.save(file, np.zeros(10, np.float32))
    else:
        path.write_bytes(content)
    error = error_of(client, "generate", audio={"samples": str(path)},
                     output=str(tmp_path / "out.npz"))
    assert error.kind == "input" and str(path) in str(error)
    for word in words:
        assert word in str(error), str(error)
    assert_still_serving(client)


def test_pickled_samples_are_refused_without_unpickling(client, tmp_path):
    path = tmp_path / "samples.npz"
    np.savez(path, samples=np.array([{"a": 1}], dtype=object), sample_rate=np.int64(RATE))
    error = error_of(client, "generate", audio={"samples": str(path)},
                     output=str(tmp_path / "out.npz"))
    assert error.kind == "input" and str(path) in str(error) and "pickle" in str(error)
    assert_still_serving(client)


# ---------------------------------------------------------------------------- clip lengths


@pytest.mark.parametrize("audio, words", [
    ({"duration": 1e12}, ("audio: duration", "limit of 3600 s")),
    ({"duration": 3601}, ("audio: duration 3601",)),
    ({"track": {"start": 1e12}}, ("audio track 1: start",)),
    ({"track": {"duration": 1e15}}, ("audio track 1: duration",)),
    ({"track": {"offset": -1e12}}, ("audio track 1: offset",)),
    ({"second_track": {"start": 3599.5}}, ("the clip lasts 3601.5 s", "limit of 3600 s")),
    ({"track": {"volume": float("nan")}}, ("audio track 1: volume must be a number",)),
    ({"track": {"start": "soon"}}, ("audio track 1: start must be a number",)),
    ({"track": {"path": ""}}, ("audio track 1 has no file path",)),
], ids=["huge_duration", "just_too_long", "huge_start", "huge_track_duration",
        "huge_negative_offset", "tracks_end_too_late", "nan_volume", "text_start", "no_path"])
def test_clip_lengths_and_track_numbers_are_bounded(client, wav, tmp_path, audio, words):
    track = {"path": str(wav), **audio.get("track", {})}
    tracks = [track]
    if "second_track" in audio:
        tracks.append({"path": str(wav), **audio["second_track"]})
    spec = {"tracks": tracks, **({"duration": audio["duration"]} if "duration" in audio else {})}
    error = error_of(client, "generate", audio=spec, output=str(tmp_path / "out.npz"))
    assert error.kind == "input"
    for word in words:
        assert word in str(error), str(error)
    assert_still_serving(client)


# ---------------------------------------------------------------------------- output paths


def test_a_folder_as_output_path_is_refused_and_left_alone(client, wav, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "mine.txt").write_text("the user's file")
    before = tree(tmp_path)
    error = error_of(client, "generate", audio={"tracks": [{"path": str(wav)}]},
                     output=str(folder))
    assert error.kind == "input" and str(folder) in str(error) and "is a folder" in str(error)
    assert tree(tmp_path) == before
    assert_still_serving(client)


@pytest.mark.parametrize("output, words", [
    ("missing/sub/out.npz", ("does not exist",)),
    ("out\x00.npz", ("NUL",)),
    ("", ("needs an `output` npz path",)),
    (7, ("needs an `output` npz path",)),
], ids=["missing_folder", "nul_in_path", "empty", "number"])
def test_unusable_output_path_is_refused_before_any_work(client, wav, tmp_path, output, words):
    target = str(tmp_path / output) if isinstance(output, str) and output else output
    error = error_of(client, "generate", audio={"tracks": [{"path": str(wav)}]}, output=target)
    assert error.kind == "input"
    for word in words:
        assert word in str(error), str(error)
    if isinstance(output, str) and "missing" in output:
        assert str(tmp_path / "missing" / "sub") in str(error)
    assert list(tmp_path.iterdir()) == []
    assert_still_serving(client)


def test_save_failure_names_the_output_and_removes_only_its_partial_file(tmp_path):
    from core.motion import Motion

    folder = tmp_path / "locked"
    folder.mkdir()
    target = folder / "out.npz"
    target.mkdir()  # os.replace cannot put a file over a folder
    (target / "keep-me").write_text("x")
    with pytest.raises(worker.RequestError) as caught:
        worker.save_motion(Motion.rest(4), str(target))
    assert str(target) in str(caught.value) and "cannot write the result" in str(caught.value)
    assert sorted(path.name for path in folder.iterdir()) == ["out.npz"]
    assert (target / "keep-me").read_text() == "x"


# ---------------------------------------------------------------------------- request fields


@pytest.mark.parametrize("fields, words", [
    ({"prompt": "wave \ud800 hello"}, ("prompt is not valid text", "surrogate", "character 5")),
    ({"transcript": "\udfff"}, ("transcript is not valid text",)),
    ({"prompt": 5}, ("prompt must be text", "int")),
    ({"transcript": ["a"]}, ("transcript must be text", "list")),
    ({"seed": 2**63}, ("seed", str(2**63), "64-bit")),
    ({"seed": -(2**63) - 1}, ("seed", "64-bit")),
    ({"seed": 10**30}, ("seed",)),
    ({"seed": 1.5}, ("seed must be an integer",)),
    ({"seed": True}, ("seed must be an integer",)),
    ({"parts": [["face"]]}, ("parts must be a non-empty list",)),
    ({"parts": []}, ("parts must be a non-empty list",)),
    ({"frames": [0, 10**30, 3]}, ("frames must be",)),
    ({"emotion": {"joy": 1}}, ("emotion",)),
    ({"guidance": {"tempo": 2}}, ("guidance must be an object", "tempo")),
    ({"guidance": {"prompt": 1e9}}, ("guidance prompt must be a number in 0..20",)),
    ({"guidance": {"audio": -1}}, ("guidance audio",)),
    ({"guidance": [2.0]}, ("guidance must be an object",)),
    ({"prompts": "wave"}, ("prompts must be a list", "str")),
    ({"prompts": [["wave", 1.0]]}, ("prompts[0] must be [text, start, end]",)),
    ({"prompts": [["", 1.0, 2.0]]}, ("prompts[0] has no text",)),
    ({"prompts": [["wave", "1", 2.0]]}, ("prompts[0] start and end must be seconds", "'1'")),
    ({"prompts": [["wave", 1.0, float("inf")]]}, ("prompts[0] start and end",)),
    ({"prompts": [["wave \ud800", 1.0, 2.0]]}, ("prompts[0] text is not valid text",)),
    ({"duration": 2.0}, ("`audio` or a `duration`, not both",)),
], ids=["lone_surrogate_prompt", "lone_surrogate_transcript", "number_prompt", "list_transcript",
        "seed_2_63", "seed_below_int64", "huge_seed", "float_seed", "bool_seed", "nested_parts",
        "no_parts", "three_frames", "object_emotion", "unknown_guidance", "huge_guidance",
        "negative_guidance", "list_guidance", "prompts_text", "prompt_pair", "prompt_no_text",
        "prompt_string_start", "prompt_infinite_end", "prompt_surrogate",
        "audio_and_duration"])
def test_bad_request_fields_are_input_errors_naming_the_field(client, wav, tmp_path, fields,
                                                               words):
    output = tmp_path / "out.npz"
    error = error_of(client, "generate", audio={"tracks": [{"path": str(wav)}]},
                     output=str(output), **fields)
    assert error.kind == "input"
    for word in words:
        assert word in str(error), str(error)
    assert not output.exists()
    assert_still_serving(client)


def fill(value: object, names: dict[str, str]) -> object:
    """`value` with every string that is a key of `names` replaced by its value."""
    if isinstance(value, dict):
        return {key: fill(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, names) for item in value]
    return names.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize("kind, fields, words", [
    ("generate", {"output": "OUT"}, ("needs an `audio` object", "or a `duration`")),
    ("generate", {"output": "OUT", "audio": None, "duration": 0}, ("positive number",)),
    ("generate", {"output": "OUT", "duration": -2.5}, ("duration must be a positive", "-2.5")),
    ("generate", {"output": "OUT", "duration": "2"}, ("duration must be a number", "'2'")),
    ("generate", {"output": "OUT", "duration": 1e9}, ("duration", "limit of 3600 s")),
    ("generate", {"output": "OUT", "audio": {"tracks": "a.wav"}}, ("audio has no tracks",)),
    ("generate", {"output": "OUT", "audio": {"tracks": ["a.wav"]}}, ("must be a JSON object",)),
    ("generate", {"output": "OUT", "audio": {"samples": 3}}, ("no file path given",)),
    ("generate", {"output": "OUT", "audio": {"tracks": [{"path": "WAV"}]}},
     ("no model is loaded",)),
    ("predict_emotion", {}, ("no model is loaded",)),
    ("predict_emotion", {"model": "tiny"}, ("`model` must be an object",)),
    ("predict_emotion", {"model": {"checkpoint": 3}}, ("checkpoint must be a path",)),
    ("load", {"checkpoint": 5}, ("checkpoint must be a path",)),
    ("load", {"device": "tpu"}, ("unknown device 'tpu'",)),
], ids=["generate_no_audio", "zero_duration", "negative_duration", "text_duration",
        "huge_duration", "tracks_not_a_list", "track_not_an_object", "samples_not_a_path",
        "generate_no_model", "predict_no_model", "model_not_an_object", "checkpoint_number",
        "load_checkpoint_number", "load_unknown_device"])
def test_missing_or_wrong_fields_are_answered_and_the_worker_keeps_serving(
        tmp_path_factory, wav, kind, fields, words):
    # A fresh worker: "no model is loaded" only holds before any test loaded one.
    fresh = WorkerClient(sys.executable, ROOT, startup_timeout=60)
    try:
        names = {"OUT": str(tmp_path_factory.mktemp("out") / "o.npz"), "WAV": str(wav)}
        error = error_of(fresh, kind, **fill(fields, names))
        assert error.kind == "input"
        for word in words:
            assert word in str(error), str(error)
        assert_still_serving(fresh)
    finally:
        fresh.shutdown()


# ---------------------------------------------------------------------------- motion files back


def test_worker_result_is_accepted_back_as_keep_and_as_motion(client, model, wav, tmp_path):
    first_path = client.new_file("first")
    client.call("generate", timeout=MODEL_TIMEOUT, audio={"tracks": [{"path": str(wav)}]},
                output=str(first_path), seed=1, model=model)
    with np.load(first_path) as stored:
        assert "face_arkit52" in stored.files and worker.KEEP_FACE_KEY not in stored.files
    first = read_motion_file(first_path)
    # Kept parts come back bit for bit from the worker's own file, its face included.
    data = client.call("generate", timeout=MODEL_TIMEOUT,
                       audio={"tracks": [{"path": str(wav)}]}, output=str(tmp_path / "b.npz"),
                       seed=2, parts=["hands"], keep=str(first_path), model=model)
    edited = read_motion_file(data["motion"])
    for part in ("face", "upper", "lower"):
        joints = list(PART_JOINTS[part])
        np.testing.assert_array_equal(edited.poses[:, joints], first.poses[:, joints])
    np.testing.assert_array_equal(edited.trans, first.trans)
    np.testing.assert_array_equal(edited.face, first.face)
    probabilities = client.call("predict_emotion", timeout=MODEL_TIMEOUT,
                                motion=str(first_path), model=model)["probabilities"]
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_both_motion_layouts_read_the_same_motion(tmp_path):
    from core.motion import Motion

    rng = np.random.default_rng(0)
    motion = Motion(poses=rng.normal(scale=0.3, size=(12, 55, 3)), trans=rng.normal(size=(12, 3)),
                    face=rng.uniform(size=(12, len(ARKIT52))), face_space="arkit52", fps=30)
    result = tmp_path / "result.npz"
    worker.save_motion(motion, str(result))
    keep = write_keep_file(tmp_path / "keep.npz", motion.poses, motion.trans, motion.face,
                           ARKIT52, 30.0, ["face", "hands", "upper", "lower"])
    from_result, parts = worker.load_motion(str(result), None, "arkit52", "kept motion")
    from_keep, _ = worker.load_motion(str(keep), None, "arkit52", "kept motion")
    assert parts == worker.PARTS
    for loaded in (from_result, from_keep):
        np.testing.assert_allclose(loaded.poses, motion.poses, atol=1e-6)
        np.testing.assert_allclose(loaded.face, motion.face, atol=1e-6)


@pytest.mark.parametrize("make, words", [
    (lambda p: keep_file(p, mocap_frame_rate=np.float64(1e-6)), ("beyond the worker's limit",)),
    (lambda p: keep_file(p, mocap_frame_rate=np.float64(0.0)), ("not a valid motion",)),
    (lambda p: keep_file(p, poses=np.full((60, 165), np.nan, np.float32)),
     ("not a valid motion",)),
    (lambda p: keep_file(p, face=np.zeros((60, 3))), ("face has shape (60, 3)",)),
    (lambda p: keep_file(p, face_names=np.array("jawOpen")), ("face has shape",)),
    (lambda p: keep_file(p, parts=np.array(["tail"])), ("unknown parts ['tail']",)),
    (lambda p: keep_file(p, poses=np.zeros((60, 10))), ("needs poses (K, 165)",)),
    (lambda p: np.savez(p, poses=np.zeros((5, 165)), trans=np.zeros((5, 3)),
                        face_space=np.array("klingon")), ("unknown face_space 'klingon'",)),
    (lambda p: np.savez(p, poses=np.zeros((5, 165)), trans=np.zeros((5, 3))),
     ("'expressions'", "BEAT2-layout")),
    (lambda p: np.savez(p, poses=np.array([object()], dtype=object)), ("pickle",)),
    (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), ("cannot read motion npz",)),
], ids=["fps_one_per_million_seconds", "fps_zero", "nan_poses", "face_too_narrow",
        "face_names_scalar", "unknown_part", "poses_too_narrow", "unknown_face_space",
        "no_face_at_all", "pickled_object", "damaged_zip"])
def test_bad_motion_file_is_an_input_error_naming_it(client, model, tmp_path, make, words):
    path = tmp_path / "motion.npz"
    make(path)
    error = error_of(client, "predict_emotion", timeout=MODEL_TIMEOUT, motion=str(path),
                     model=model)
    assert error.kind == "input" and str(path) in str(error)
    for word in words:
        assert word in str(error), str(error)
    assert_still_serving(client)
