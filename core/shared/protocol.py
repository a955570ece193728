"""The worker protocol: what the add-on (blender_addon/runtime.py) and the model worker
(core/worker.py) say to each other over the worker's stdin and stdout.

JSON lines: every message is one JSON object on one line. Bulk arrays travel in .npz files whose
paths are in the JSON (the client owns a private temporary folder for them; their layout is
shared/motion_files.py's).

Every request has a string `id` and a `type`:

    hello            probe_devices (bool) -> result {protocol, python, numpy, torch, core, model,
                     devices (null unless probed: probing imports torch)}
    load             checkpoint (folder/stem or null: the shipped one), device (auto|cpu|cuda)
                     -> result {model}
    generate         audio (or null with duration), prompt, transcript, emotion, parts, keep,
                     frames, seed, output, model,
                     guidance ({prompt, audio, emotion}: strengths, each optional),
                     prompts ([[text, start s, end s], ...]: actions timed on the clip),
                     duration (seconds; only without audio: motion from the prompt alone)
                     -> progress events, then result {motion, frames, fps, face_space, seconds}
    predict_emotion  motion (npz path), model -> result {probabilities: {emotion: p}}
    cancel           target: the id of a running or queued request (answered by that request's
                     error of kind "cancelled"; cancel itself gets no answer)
    shutdown         -> result {}, then the worker exits

`model` (optional on generate and predict_emotion) is {checkpoint, device}: the worker loads it
first unless that model is already loaded, so a client can send one request and wait.

`audio` is either {"samples": npz path with `samples` (N,) and `sample_rate`} or
{"tracks": [{path, start, offset, duration, volume}], "duration"}: each track is a file whose
audio from `offset` seconds on, for `duration` seconds (null: to its end), scaled by `volume`,
plays `start` seconds into the clip; the clip lasts `duration` seconds (null: until the last
track ends). A generate request without `audio` (absent or null) gives motion from the prompt
and emotion alone, lasting `duration` seconds (round(duration * FPS) frames); a request with
both is refused.

Events from the worker, each with the request's `id`:
    {"type": "ready", "protocol": 1, "pid": n}        once, first, before anything slow
    {"type": "progress", "fraction": 0..1, "message": str}
    {"type": "result", "data": {...}}
    {"type": "error", "message": str, "kind": str}     never a traceback
Error kinds: protocol (malformed request, with id null when the line could not be read: not
UTF-8, not JSON, too long), input (bad audio, motion, model or option; the message names the
file or field), runtime (torch or the model core missing), cancelled, internal (a bug, a result
that cannot be sent, or a failed request reader, after which the worker exits).

The functions below build each message, so both sides spell them alike; each side encodes them
with its own json.dumps settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROTOCOL_VERSION = 1
REQUEST_TYPES = ("hello", "load", "generate", "predict_emotion", "cancel", "shutdown")
# The events that concern one request; "ready" concerns the worker.
REQUEST_EVENTS = ("progress", "result", "error")


def request_message(request_id: str, request_type: str, **fields: Any) -> dict[str, Any]:
    return {"id": request_id, "type": request_type, **fields}


def cancel_message(request_id: str, target: str) -> dict[str, Any]:
    return {"id": request_id, "type": "cancel", "target": target}


def ready_message(pid: int) -> dict[str, Any]:
    return {"type": "ready", "protocol": PROTOCOL_VERSION, "pid": pid}


def progress_message(request_id: str, fraction: float, message: str) -> dict[str, Any]:
    return {"id": request_id, "type": "progress", "fraction": fraction, "message": message}


def result_message(request_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": request_id, "type": "result", "data": dict(data)}


def error_message(request_id: str | None, message: str, kind: str) -> dict[str, Any]:
    return {"id": request_id, "type": "error", "message": message, "kind": kind}
