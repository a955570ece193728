"""Hostile requests to the model worker (issue 13): whatever a request line or field holds, the
worker answers it with a result or an error that names the bad input, and answers the next
request; a failing request reader or an unsendable result never leaves it deaf.

Most tests talk to a real `python -m core.worker` process: raw bytes where the protocol itself
is attacked, the add-on's client (blender_addon/runtime.py) where a request is well formed but
its content is not. Every wait is on the worker's output, never a fixed sleep. Hostile files
(audio, motion, output paths) are tests/test_worker_hostile_files.py's.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tiny_model import tiny_model_folder
from worker_client import (
    MODEL_TIMEOUT,
    TIMEOUT,
    RawWorker,
    assert_still_serving,
    error_of,
    keep_file,
    line_wav,
    new_client,
    running_client,
)

from blender_addon.runtime import WorkerClient
from core import worker
from core.worker_channel import Channel
from core.worker_handlers import HANDLERS, Context
from core.worker_inbox import MAX_REQUEST_BYTES, Inbox, request_lines
from core.worker_model import ModelSlot


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Iterator[RawWorker]:
    """One worker fed every kind of garbage in turn: it must survive them all."""
    made = RawWorker(tmp_path_factory.mktemp("raw-worker"))
    yield made
    made.close()


@pytest.fixture(scope="module")
def client() -> Iterator[WorkerClient]:
    with running_client() as made:
        yield made


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_model_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    return line_wav(tmp_path_factory.mktemp("audio"))


# ---------------------------------------------------------------------------- request lines


HELLO = b'{"id":"a","type":"hello"}'
LIMIT = MAX_REQUEST_BYTES
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
    assert list(request_lines(stream, limit=10)) == [b"a" * 10 + b"\n", None,
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
    code = worker.serve(stream, Channel(out))
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_reader_failure_ends_the_worker_with_a_failure_code(capsys):
    code, events = serve_in_process(FailingStream())
    assert code == 1 and [event["type"] for event in events] == ["ready"]
    assert "Input/output error" in capsys.readouterr().err


def test_request_in_flight_when_the_reader_fails_is_answered_with_the_reason(monkeypatch):
    def hello_until_the_reader_fails(request, context, report):
        assert context.inbox.stopping.wait(TIMEOUT)
        return {"never": "sent"}

    monkeypatch.setitem(HANDLERS, "hello", hello_until_the_reader_fails)
    code, events = serve_in_process(FailingStream(HELLO + b"\n"))
    assert code == 1
    assert events[1]["id"] == "a" and events[1]["kind"] == "internal"
    assert "stopped reading requests" in events[1]["message"]
    assert "OSError" in events[1]["message"] and "new worker" in events[1]["message"]


def test_real_worker_whose_reader_fails_exits_instead_of_going_deaf(tmp_path):
    # The process is the real worker; only its stdin reader is made to fail after one line.
    inject = ("import core.worker as w\n"
              "import core.worker_inbox as inbox\n"
              "real = inbox.request_lines\n"
              "def failing(stream, limit=inbox.MAX_REQUEST_BYTES):\n"
              "    for line in real(stream, limit):\n"
              "        yield line\n"
              "        raise OSError(5, 'injected read failure')\n"
              "inbox.request_lines = failing\n"
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
    context = Context(Channel(out), Inbox(), ModelSlot())
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
    monkeypatch.setitem(HANDLERS, "hello", lambda request, context, report: data)
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
    fresh = new_client()
    try:
        names = {"OUT": str(tmp_path_factory.mktemp("out") / "o.npz"), "WAV": str(wav)}
        error = error_of(fresh, kind, **fill(fields, names))
        assert error.kind == "input"
        for word in words:
            assert word in str(error), str(error)
        assert_still_serving(fresh)
    finally:
        fresh.shutdown()
