"""The model worker: a separate process that keeps the model loaded and serves the add-on by pipes.

Started by the Blender add-on (blender_addon/runtime.py) as `python -m core.worker` with the folder
that holds `core/` on PYTHONPATH. No network port: JSON lines on stdin/stdout, bulk arrays in .npz
files whose paths travel in the JSON (the client owns a private temporary folder for them).

Protocol version 1. Every request is one JSON object on one line with a string `id` and a `type`:

    hello            probe_devices (bool) -> result {protocol, python, numpy, torch, core, model,
                     devices (null unless probed: probing imports torch)}
    load             checkpoint (folder/stem or null: the shipped one), device (auto|cpu|cuda)
                     -> result {model}
    generate         audio, prompt, transcript, emotion, parts, keep, frames, seed, output, model
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
track ends). This is how the add-on hands over several sound strips of one speaker: the files
are decoded and mixed here, with core.io.audio, rather than inside Blender.

Motion files are BEAT2-layout npz (core/io/beat2.py) plus `face_names`, so a result can also be
opened by any BEAT2 or SMPL-X npz reader. A `keep` file holds the parts to keep: `poses`
(K, 165), `trans` (K, 3), `face` (K, F) with `face_names` (F,), `mocap_frame_rate` and
`parts` (the kept part names); it is fitted to the clip's length by holding its last frame.

Events on stdout, each with the request's `id`:
    {"type": "ready", "protocol": 1, "pid": n}        once, first, before anything slow
    {"type": "progress", "fraction": 0..1, "message": str}
    {"type": "result", "data": {...}}
    {"type": "error", "message": str, "kind": str}     never a traceback
Error kinds: protocol (malformed request), input (bad audio, motion or option; the message
names the file), runtime (torch or the model core missing), cancelled, internal (a bug: the
traceback goes to stderr, which the add-on logs).

Anything a library prints goes to stderr: stdout is re-pointed there at start, and protocol
lines are written to a private duplicate of the original stdout.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn

if __name__ == "__main__" and not __package__:
    # Run as a file (`python <extension>/core/worker.py`): Python put core/ itself first on
    # sys.path, where core/tokenizers would shadow Hugging Face's `tokenizers` package. The folder
    # that holds core/ belongs there instead; this must happen before numpy or core is imported.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import numpy as np  # noqa: E402

from core.errors import BodyLanguageError  # noqa: E402

PROTOCOL_VERSION = 1
SAMPLE_RATE = 16000
REQUEST_TYPES = ("hello", "load", "generate", "predict_emotion", "cancel", "shutdown")
PARTS = ("face", "hands", "upper", "lower")
# Progress events are cheap but not free; the add-on polls every ~0.2 s.
PROGRESS_INTERVAL_S = 0.1


class RequestError(Exception):
    """A request that cannot be answered with a result; `kind` tells the client why."""

    def __init__(self, message: str, kind: str = "input") -> None:
        super().__init__(message)
        self.kind = kind


class Cancelled(Exception):
    """The client cancelled the request (or the worker is shutting down)."""


# ---------------------------------------------------------------------------- channel


class Channel:
    """Protocol lines out, one whole line per write, from any thread."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: Mapping[str, Any]) -> None:
        line = json.dumps(message, allow_nan=False, separators=(",", ":"))
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                # The add-on is gone; the stdin reader will see EOF and end the worker.
                pass

    def progress(self, request_id: str, fraction: float, message: str) -> None:
        fraction = min(1.0, max(0.0, float(fraction))) if np.isfinite(fraction) else 0.0
        self.send({"id": request_id, "type": "progress", "fraction": fraction,
                   "message": str(message)})

    def result(self, request_id: str, data: Mapping[str, Any]) -> None:
        self.send({"id": request_id, "type": "result", "data": dict(data)})

    def error(self, request_id: str | None, message: str, kind: str) -> None:
        self.send({"id": request_id, "type": "error", "message": message, "kind": kind})


def protect_stdout() -> Channel:
    """A channel on the real stdout; afterwards fd 1 and sys.stdout write to stderr."""
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Channel(os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1))


# ---------------------------------------------------------------------------- requests in


@dataclass
class Inbox:
    """Requests read by a thread, so a `cancel` lands while the main thread is generating."""

    pending: queue.Queue = field(default_factory=queue.Queue)
    cancelled: set[str] = field(default_factory=set)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def is_cancelled(self, request_id: str) -> bool:
        with self.lock:
            return self.stopping.is_set() or request_id in self.cancelled

    def forget(self, request_id: str) -> None:
        with self.lock:
            self.cancelled.discard(request_id)


def parse_request(line: str) -> dict[str, Any]:
    """One request line as a dict with a string id and a known type, or RequestError."""
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RequestError(f"request is not JSON: {exc}", "protocol") from None
    if not isinstance(request, dict):
        raise RequestError("request is not a JSON object", "protocol")
    if not isinstance(request.get("id"), str) or not request["id"]:
        raise RequestError("request has no string id", "protocol")
    if request.get("type") not in REQUEST_TYPES:
        raise RequestError(f"unknown request type {request.get('type')!r}; expected one of "
                           f"{', '.join(REQUEST_TYPES)}", "protocol")
    return request


def read_requests(stream: IO[str], inbox: Inbox, channel: Channel) -> None:
    """Reader thread: queue requests, apply cancels at once, stop on `shutdown` or EOF."""
    for line in stream:
        if not line.strip():
            continue
        try:
            request = parse_request(line)
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
            break
        inbox.pending.put(request)
    else:
        # EOF: the add-on (or Blender) is gone; whatever runs is of no use to anyone.
        inbox.stopping.set()
        inbox.pending.put(None)


# ---------------------------------------------------------------------------- audio


def _number(spec: Mapping[str, Any], key: str, default: float | None, where: str) -> float | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise RequestError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _track_samples(track: Mapping[str, Any], index: int, rate: int,
                   load: Callable[[str], np.ndarray]) -> tuple[int, np.ndarray]:
    """(start sample in the clip, samples) of one track, volume applied."""
    where = f"audio track {index + 1}"
    path = track.get("path")
    if not isinstance(path, str) or not path:
        raise RequestError(f"{where} has no file path")
    start = _number(track, "start", 0.0, where)
    offset = _number(track, "offset", 0.0, where)
    duration = _number(track, "duration", None, where)
    volume = _number(track, "volume", 1.0, where)
    samples = load(path)
    first = int(round(offset * rate))
    if first < 0:
        # A negative offset (the strip starts before its sound): silence first.
        samples = np.concatenate([np.zeros(-first, np.float32), samples])
        first = 0
    samples = samples[first:]
    if duration is not None:
        wanted = max(0, int(round(duration * rate)))
        samples = samples[:wanted]
        if len(samples) < wanted:
            samples = np.concatenate([samples, np.zeros(wanted - len(samples), np.float32)])
    return int(round(start * rate)), samples * np.float32(volume)


def mix_tracks(spec: Mapping[str, Any], rate: int = SAMPLE_RATE,
               load: Callable[[str], np.ndarray] | None = None) -> np.ndarray:
    """The mono mix (N,) float32 of a `tracks` audio spec at `rate` Hz (see the module doc)."""
    if load is None:
        from core.io.audio import load_audio

        def load(path: str) -> np.ndarray:
            return load_audio(path, rate)

    tracks = spec.get("tracks")
    if not isinstance(tracks, list) or not tracks:
        raise RequestError("audio has no tracks")
    placed = [_track_samples(track, i, rate, load) for i, track in enumerate(tracks)
              if isinstance(track, Mapping)]
    if len(placed) != len(tracks):
        raise RequestError("every audio track must be a JSON object")
    duration = _number(spec, "duration", None, "audio")
    length = (int(round(duration * rate)) if duration is not None
              else max(start + len(samples) for start, samples in placed))
    if length <= 0:
        raise RequestError("the audio clip is empty (zero length)")
    mix = np.zeros(length, np.float32)
    for start, samples in placed:
        begin, end = max(0, start), min(length, start + len(samples))
        if end > begin:
            mix[begin:end] += samples[begin - start:end - start]
    return np.clip(mix, -1.0, 1.0)


def _npz_arrays(path: object, what: str) -> dict[str, np.ndarray]:
    if not isinstance(path, str) or not path:
        raise RequestError(f"{what}: no file path given")
    if not Path(path).is_file():
        raise RequestError(f"{path}: {what} file not found")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise RequestError(f"{path}: cannot read {what} npz: {exc}") from None


def request_audio(spec: object, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The request's audio as mono float32 at `rate` Hz."""
    if not isinstance(spec, Mapping):
        raise RequestError("generate needs an `audio` object (tracks or samples)")
    if "samples" in spec:
        arrays = _npz_arrays(spec["samples"], "audio samples")
        if "samples" not in arrays or "sample_rate" not in arrays:
            raise RequestError(f"{spec['samples']}: audio npz needs `samples` and `sample_rate`")
        samples = np.asarray(arrays["samples"], np.float32)
        source_rate = int(arrays["sample_rate"])
        if samples.ndim == 2:
            samples = samples.mean(axis=1)
        if samples.ndim != 1 or samples.size == 0 or not np.isfinite(samples).all():
            raise RequestError(f"{spec['samples']}: samples must be (N,) finite values, N > 0")
        if source_rate != rate:
            from math import gcd

            from scipy.signal import resample_poly

            common = gcd(source_rate, rate)
            samples = resample_poly(samples, rate // common, source_rate // common)
        return np.clip(samples, -1.0, 1.0).astype(np.float32)
    return mix_tracks(spec, rate)


# ---------------------------------------------------------------------------- motion files


def face_space_of(names: tuple[str, ...], default: str) -> str:
    """The face space whose channel names these are (by majority), else `default`."""
    from core.face_spaces import FACE_SPACES

    if not names:
        return default
    best = max(FACE_SPACES, key=lambda space: len(set(FACE_SPACES[space]) & set(names)))
    return best if set(FACE_SPACES[best]) & set(names) else default


def save_motion(motion: Any, path: str) -> None:
    """Write a Motion as a BEAT2-layout npz with `face_names`, atomically."""
    from core.face_spaces import channel_names
    from core.io.beat2 import write_motion_npz

    target = Path(path)
    partial = target.with_name(target.name + ".partial.npz")
    write_motion_npz(partial, motion,
                     extra={"face_names": np.array(channel_names(motion.face_space))})
    os.replace(partial, target)


def load_motion(path: object, frames: int | None, face_space: str, what: str) -> tuple[Any, tuple]:
    """A Motion from an add-on motion npz (see the module doc) and the part names it holds.

    With `frames`, the motion is cut or padded (holding its last frame) to that length.
    """
    from core.face_spaces import channel_names
    from core.motion import Motion

    arrays = _npz_arrays(path, what)
    try:
        poses = np.asarray(arrays["poses"], np.float32).reshape(len(arrays["poses"]), 55, 3)
        trans = np.asarray(arrays["trans"], np.float32)
        fps = float(arrays["mocap_frame_rate"])
    except (KeyError, ValueError, TypeError) as exc:
        raise RequestError(f"{path}: {what} needs poses (K, 165), trans (K, 3) and "
                           f"mocap_frame_rate: {exc}") from None
    names = tuple(str(name) for name in arrays.get("face_names", np.array([], str)))
    given = np.asarray(arrays.get("face", np.zeros((len(poses), 0))), np.float32)
    space = face_space_of(names, face_space)
    wanted = channel_names(space)
    face = np.zeros((len(poses), len(wanted)), np.float32)
    column = {name: i for i, name in enumerate(wanted)}
    if given.shape != (len(poses), len(names)):
        raise RequestError(f"{path}: {what} face has shape {given.shape}, expected "
                           f"({len(poses)}, {len(names)}) for its face_names")
    for i, name in enumerate(names):
        if name in column:
            face[:, column[name]] = given[:, i]
    parts = tuple(str(part) for part in arrays.get("parts", np.array(PARTS)))
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise RequestError(f"{path}: {what} names unknown parts {unknown}")
    try:
        motion = Motion(poses=poses, trans=trans, face=face, face_space=space, fps=fps)
    except Exception as exc:  # BodyLanguageError: shapes or NaNs
        raise RequestError(f"{path}: {what} is not a valid motion: {exc}") from None
    if fps != 30.0:
        motion = motion.resample(30.0)
    if frames is not None:
        motion = _fit_length(motion, frames)
    return motion, parts


def _fit_length(motion: Any, frames: int) -> Any:
    from dataclasses import replace

    have = motion.num_frames
    if have >= frames:
        return motion.slice_frames(0, frames)
    held = np.full(frames, have - 1)
    held[:have] = np.arange(have)
    return replace(motion, poses=motion.poses[held], trans=motion.trans[held],
                   face=motion.face[held])


# ---------------------------------------------------------------------------- the model


def _api() -> Any:
    try:
        import core.api as api
    except ImportError as exc:
        raise RequestError(f"the worker Python cannot load the model core: {exc}.",
                           "runtime") from None
    return api


@dataclass
class ModelSlot:
    """The loaded model (kept between requests) and what it was loaded from."""

    model: Any = None
    checkpoint: str | None = None
    device: str | None = None

    def info(self) -> dict[str, Any] | None:
        if self.model is None:
            return None
        info = {"checkpoint": self.checkpoint or "default", "device": self.device}
        for name in ("face_space", "config_name", "name"):
            value = getattr(self.model, name, None)
            if isinstance(value, str | int | float):
                info[name] = value
        return info

    def ensure(self, checkpoint: str | None, device: str,
               report: Callable[[float, str], None]) -> Any:
        if device not in ("auto", "cpu", "cuda"):
            raise RequestError(f"unknown device {device!r}; expected auto, cpu or cuda")
        if self.model is not None and (checkpoint, device) == (self.checkpoint, self.device):
            return self.model
        api = _api()
        report(0.0, "Loading the model")
        self.model = None
        try:
            self.model = api.load_model(checkpoint, device=device)
        except BodyLanguageError as exc:
            raise RequestError(f"cannot load the model: {exc}") from None
        self.checkpoint, self.device = checkpoint, device
        return self.model


def _model_spec(request: Mapping[str, Any], slot: ModelSlot) -> tuple[str | None, str]:
    spec = request.get("model")
    if spec is None:
        if slot.model is None:
            raise RequestError("no model is loaded: send `load` first or give `model`")
        return slot.checkpoint, slot.device or "auto"
    if not isinstance(spec, Mapping):
        raise RequestError("`model` must be an object {checkpoint, device}")
    checkpoint = spec.get("checkpoint") or None
    if checkpoint is not None and not isinstance(checkpoint, str):
        raise RequestError("model checkpoint must be a path")
    return checkpoint, str(spec.get("device") or "auto")


# ---------------------------------------------------------------------------- handlers


@dataclass
class Context:
    channel: Channel
    inbox: Inbox
    slot: ModelSlot


class Reporter:
    """Progress for one request, thinned out, and its cancel check."""

    def __init__(self, context: Context, request_id: str) -> None:
        self._context = context
        self._id = request_id
        self._last = (-1.0, "", 0.0)

    def __call__(self, fraction: float, message: str = "") -> None:
        last_fraction, last_message, last_time = self._last
        now = time.monotonic()
        if (message != last_message or fraction >= 1.0 or abs(fraction - last_fraction) >= 0.01
                or now - last_time >= PROGRESS_INTERVAL_S):
            self._last = (fraction, message, now)
            self._context.channel.progress(self._id, fraction, message)

    def cancelled(self) -> bool:
        return self._context.inbox.is_cancelled(self._id)

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled()


def handle_hello(request: Mapping[str, Any], context: Context, report: Reporter) -> dict:
    """Versions and model; the devices only with `probe_devices` (that imports torch, seconds)."""
    from importlib import metadata

    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    info: dict[str, Any] = {
        "protocol": PROTOCOL_VERSION,
        "pid": os.getpid(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "numpy": np.__version__,
        "torch": torch_version,
        "core": str(Path(__file__).resolve().parent),
        "model": context.slot.info(),
        "devices": None,
    }
    if request.get("probe_devices") and torch_version is not None:
        import torch

        devices = ["cpu"]
        if torch.cuda.is_available():
            devices += [f"cuda:{i} {torch.cuda.get_device_name(i)}"
                        for i in range(torch.cuda.device_count())]
        info["devices"] = devices
    return info


def handle_load(request: Mapping[str, Any], context: Context, report: Reporter) -> dict:
    checkpoint = request.get("checkpoint") or None
    if checkpoint is not None and not isinstance(checkpoint, str):
        raise RequestError("load: checkpoint must be a path or null")
    context.slot.ensure(checkpoint, str(request.get("device") or "auto"), report)
    report.check()
    return {"model": context.slot.info()}


def _choice(value: object, allowed: tuple[str, ...] | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or (allowed is not None and value not in allowed):
        options = "" if allowed is None else f"; expected one of {', '.join(allowed)}"
        raise RequestError(f"{name} {value!r} is not valid{options}")
    return value


def _frames(value: object) -> tuple[int, int] | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 0 <= value[0] < value[1]):
        raise RequestError(f"frames must be [start, stop) with 0 <= start < stop, got {value!r}")
    return value[0], value[1]


def handle_generate(request: Mapping[str, Any], context: Context, report: Reporter) -> dict:
    output = request.get("output")
    if not isinstance(output, str) or not output:
        raise RequestError("generate needs an `output` npz path")
    parts = request.get("parts", list(PARTS))
    if (not isinstance(parts, list) or not parts
            or any(part not in PARTS for part in parts)):
        raise RequestError(f"parts must be a non-empty list of {', '.join(PARTS)}, got {parts!r}")
    prompt = request.get("prompt") or ""
    transcript = request.get("transcript") or None
    if not isinstance(prompt, str) or (transcript is not None and not isinstance(transcript, str)):
        raise RequestError("prompt and transcript must be text")
    seed = request.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise RequestError(f"seed must be an integer, got {seed!r}")
    frames = _frames(request.get("frames"))
    from core.corpus.style import EMOTIONS

    emotion = _choice(request.get("emotion"), EMOTIONS, "emotion")

    # Inputs first: a wrong file is reported before minutes of model loading.
    report(0.0, "Reading audio")
    audio = request_audio(request.get("audio"))
    report.check()
    clip_frames = max(1, int(round(len(audio) / SAMPLE_RATE * 30.0)))
    model = context.slot.ensure(*_model_spec(request, context.slot), report)
    report.check()
    keep = None
    if request.get("keep") is not None:
        face_space = getattr(model, "face_space", "arkit52")
        keep, _kept_parts = load_motion(request["keep"], clip_frames, face_space, "kept motion")

    api = _api()
    started = time.monotonic()
    try:
        motion = api.generate(
            model, audio, SAMPLE_RATE, prompt=prompt, transcript=transcript, emotion=emotion,
            parts=tuple(parts), keep=keep, frames=frames, seed=seed,
            progress=lambda fraction, message="Generating": report(fraction, message),
            cancel=report.cancelled,
        )
    except BodyLanguageError as exc:
        if report.cancelled():
            raise Cancelled() from None
        raise RequestError(str(exc)) from None
    except Exception:
        # The api's own cancellation exception, whatever its name, ends up here.
        if report.cancelled():
            raise Cancelled() from None
        raise
    report.check()
    save_motion(motion, output)
    return {"motion": output, "frames": motion.num_frames, "fps": motion.fps,
            "face_space": motion.face_space, "seconds": round(time.monotonic() - started, 3)}


def handle_predict_emotion(request: Mapping[str, Any], context: Context,
                           report: Reporter) -> dict:
    model = context.slot.ensure(*_model_spec(request, context.slot), report)
    face_space = getattr(model, "face_space", "arkit52")
    motion, _parts = load_motion(request.get("motion"), None, face_space, "motion")
    report(0.5, "Predicting emotion")
    try:
        probabilities = _api().predict_emotion(model, motion)
    except BodyLanguageError as exc:
        raise RequestError(str(exc)) from None
    report.check()
    return {"probabilities": {str(name): float(p) for name, p in probabilities.items()}}


HANDLERS: dict[str, Callable[[Mapping[str, Any], Context, Reporter], dict]] = {
    "hello": handle_hello,
    "load": handle_load,
    "generate": handle_generate,
    "predict_emotion": handle_predict_emotion,
}


def answer(request: Mapping[str, Any], context: Context) -> None:
    """Run one request and send its result or error; never raises."""
    request_id = request["id"]
    report = Reporter(context, request_id)
    try:
        report.check()
        data = HANDLERS[request["type"]](request, context, report)
        report.check()
    except Cancelled:
        context.channel.error(request_id, "cancelled", "cancelled")
    except RequestError as exc:
        context.channel.error(request_id, str(exc), exc.kind)
    except BodyLanguageError as exc:  # bad input found deep in core: the message names it
        context.channel.error(request_id, str(exc), "input")
    except Exception as exc:  # a bug: keep serving, show the traceback in the log
        traceback.print_exc(file=sys.stderr)
        context.channel.error(
            request_id, f"internal error in the worker: {type(exc).__name__}: {exc} "
            "(the traceback is in the worker log)", "internal")
    else:
        context.channel.result(request_id, data)
    finally:
        context.inbox.forget(request_id)


def serve(stdin: IO[str], channel: Channel) -> int:
    """Answer requests until `shutdown` or EOF on stdin."""
    context = Context(channel, Inbox(), ModelSlot())
    # "ready" goes first, before the reader could answer a malformed line.
    channel.send({"type": "ready", "protocol": PROTOCOL_VERSION, "pid": os.getpid()})
    reader = threading.Thread(target=read_requests, args=(stdin, context.inbox, channel),
                              name="body-language-requests", daemon=True)
    reader.start()
    for request in _requests(context.inbox):
        if request["type"] == "shutdown":
            channel.result(request["id"], {})
            break
        answer(request, context)
    return 0


def _requests(inbox: Inbox) -> Iterator[dict[str, Any]]:
    while True:
        request = inbox.pending.get()
        if request is None:
            return
        yield request


def main() -> NoReturn:
    channel = protect_stdout()
    code = serve(sys.stdin, channel)
    # Tearing down torch and transformers at interpreter exit takes seconds and does nothing
    # useful here: every file was written atomically, the answers were flushed.
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
