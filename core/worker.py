"""The model worker: a separate process that keeps the model loaded and serves the add-on by pipes.

Started by the Blender add-on (blender_addon/runtime.py) as `python -m core.worker` with the folder
that holds `core/` on PYTHONPATH. No network port: JSON lines on stdin/stdout, bulk arrays in .npz
files whose paths travel in the JSON (the client owns a private temporary folder for them).

The protocol (requests, events, error kinds) is defined in core/shared/protocol.py, which the
add-on shares. The audio of a generate request may be several tracks: this is how the add-on hands
over several sound strips of one speaker, decoded and mixed here, with core.io.audio, rather than
inside Blender.

Motion files (results, and the `keep` files that hold the parts to keep) are laid out as
core/shared/motion_files.py says. Results are written by core.io.beat2; a kept motion is fitted
to the clip's length by holding its last frame. A `keep` or `motion` file may also be BEAT2
layout (a result of this worker, say): a file without `face` is read by core.io.beat2, the module
that writes results, so both agree on its keys.

Hostile input never silences the worker: a request line must be UTF-8 JSON of at most
MAX_REQUEST_BYTES bytes (else a protocol error, and the next line is read as usual); clips last
at most MAX_CLIP_SECONDS; a result that cannot be sent (a NaN in it, say) becomes an error answer;
and should the request reader itself ever fail, the worker answers what it holds and exits, so
the client sees it stop and starts a new one rather than waiting on a deaf worker.

Errors never carry a traceback: after an internal error the traceback goes to stderr, which the
add-on logs.

Anything a library prints goes to stderr: stdout is re-pointed there at start, and protocol
lines are written to a private duplicate of the original stdout.
"""

from __future__ import annotations

import json
import math
import os
import platform
import queue
import sys
import threading
import time
import traceback
import zipfile
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
from core.rates import FPS  # noqa: E402
from core.shared.motion_files import FACE_NAMES, FRAME_RATE, KEPT_PARTS, POSES, TRANS  # noqa: E402
from core.shared.motion_files import KEEP_FACE as KEEP_FACE_KEY  # noqa: E402
from core.shared.protocol import (  # noqa: E402
    PROTOCOL_VERSION,
    REQUEST_TYPES,
    error_message,
    progress_message,
    ready_message,
    result_message,
)
from core.shared.skeleton import PARTS  # noqa: E402

SAMPLE_RATE = 16000
# Progress events are cheap but not free; the add-on polls every ~0.2 s.
PROGRESS_INTERVAL_S = 0.1
# Requests carry paths and a prompt, never bulk data (that travels in files): a megabyte is far
# above any real request and keeps a runaway writer from filling the worker's memory.
MAX_REQUEST_BYTES = 1 << 20
_DISCARD_CHUNK = 1 << 16
# The longest clip the worker mixes or accepts; above it a typo (a duration in samples, say)
# would allocate gigabytes or run for hours before anyone learns that it was a typo.
MAX_CLIP_SECONDS = 3600.0


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


# ---------------------------------------------------------------------------- requests in


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


# ---------------------------------------------------------------------------- audio


def _number(spec: Mapping[str, Any], key: str, default: float | None, where: str) -> float | None:
    """A finite number of seconds within MAX_CLIP_SECONDS either way, the default, or None."""
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise RequestError(f"{where}: {key} must be a number, got {value!r}")
    if abs(value) > MAX_CLIP_SECONDS:
        raise RequestError(f"{where}: {key} {value!r} s is beyond the worker's limit of "
                           f"{MAX_CLIP_SECONDS:g} s")
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
    if length > MAX_CLIP_SECONDS * rate:
        # Tracks placed one after another (or one long file) can pass the per-number limit.
        raise RequestError(f"audio: the clip lasts {length / rate:g} s, beyond the worker's "
                           f"limit of {MAX_CLIP_SECONDS:g} s")
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
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy: one array, no names
            raise ValueError("it holds a single .npy array, not an npz archive")
        with loaded as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise RequestError(f"{path}: cannot read {what} npz: {exc}") from None


def _source_rate(value: np.ndarray, path: str) -> int:
    """The `sample_rate` of a samples npz as whole Hz within the model core's range."""
    from core.validate import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

    if value.size != 1 or not (np.issubdtype(value.dtype, np.integer)
                               or np.issubdtype(value.dtype, np.floating)):
        raise RequestError(f"{path}: audio sample_rate must be one number, got {value!r}")
    rate = float(value.reshape(()))
    if not np.isfinite(rate) or rate != round(rate):
        raise RequestError(f"{path}: audio sample_rate must be a whole number of Hz, got {rate!r}")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise RequestError(f"{path}: audio sample_rate {rate:g} Hz is outside "
                           f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz")
    return int(rate)


def _npz_samples(path: str, rate: int) -> np.ndarray:
    """The mono samples of a samples npz, checked, resampled to `rate` Hz."""
    arrays = _npz_arrays(path, "audio samples")
    if "samples" not in arrays or "sample_rate" not in arrays:
        raise RequestError(f"{path}: audio npz needs `samples` and `sample_rate`")
    source_rate = _source_rate(arrays["sample_rate"], path)
    samples = arrays["samples"]
    if not np.issubdtype(samples.dtype, np.floating):
        # Integer PCM cast to float would be clipped to full scale: loud noise, silently.
        raise RequestError(f"{path}: audio samples must be floats in [-1, 1], got "
                           f"{samples.dtype}")
    samples = samples.astype(np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1 or samples.size == 0 or not np.isfinite(samples).all():
        raise RequestError(f"{path}: samples must be (N,) finite values, N > 0")
    if samples.size > MAX_CLIP_SECONDS * source_rate:
        raise RequestError(f"{path}: the audio lasts {samples.size / source_rate:g} s, beyond "
                           f"the worker's limit of {MAX_CLIP_SECONDS:g} s")
    if source_rate != rate:
        from math import gcd

        from scipy.signal import resample_poly

        common = gcd(source_rate, rate)
        samples = resample_poly(samples, rate // common, source_rate // common)
    return np.clip(samples, -1.0, 1.0).astype(np.float32)


def request_audio(spec: object, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The request's audio as mono float32 at `rate` Hz."""
    if not isinstance(spec, Mapping):
        raise RequestError("generate needs an `audio` object (tracks or samples)")
    if "samples" in spec:
        path = spec["samples"]
        if not isinstance(path, str) or not path:
            raise RequestError("audio samples: no file path given")
        return _npz_samples(path, rate)
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
    try:
        write_motion_npz(partial, motion,
                         extra={FACE_NAMES: np.array(channel_names(motion.face_space))})
        os.replace(partial, target)
    except OSError as exc:
        raise RequestError(f"{path}: cannot write the result: {exc.strerror or exc}") from None
    finally:
        # Only this function's own partial file goes; after os.replace it is already gone.
        partial.unlink(missing_ok=True)


def _keep_layout(arrays: Mapping[str, np.ndarray], path: str,
                 what: str) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, tuple[str, ...]]:
    """(poses (K, 55, 3), trans, fps, face (K, F), face names) of an add-on keep file."""
    try:
        poses = np.asarray(arrays[POSES], np.float32).reshape(len(arrays[POSES]), 55, 3)
        trans = np.asarray(arrays[TRANS], np.float32)
        fps = float(arrays[FRAME_RATE])
        given = np.asarray(arrays[KEEP_FACE_KEY], np.float32)
    except (KeyError, ValueError, TypeError) as exc:
        raise RequestError(f"{path}: {what} needs poses (K, 165), trans (K, 3), "
                           f"{KEEP_FACE_KEY} (K, F) and mocap_frame_rate: {exc}") from None
    names = tuple(str(name) for name in arrays.get(FACE_NAMES, np.array([], str)).reshape(-1))
    if given.shape != (len(poses), len(names)):
        raise RequestError(f"{path}: {what} face has shape {given.shape}, expected "
                           f"({len(poses)}, {len(names)}) for its face_names")
    return poses, trans, fps, given, names


def _beat2_layout(path: str,
                  what: str) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, tuple[str, ...]]:
    """The same from a BEAT2-layout npz, read by the module that writes the worker's results."""
    from core.face_spaces import channel_names
    from core.io.beat2 import read_motion_npz

    try:
        motion = read_motion_npz(path)
    except BodyLanguageError as exc:  # it names the file
        raise RequestError(f"{what}: {exc} (expected an add-on keep file with "
                           f"`{KEEP_FACE_KEY}` or a BEAT2-layout motion npz)") from None
    return (motion.poses, motion.trans, motion.fps, motion.face,
            tuple(channel_names(motion.face_space)))


def load_motion(path: object, frames: int | None, face_space: str, what: str) -> tuple[Any, tuple]:
    """A Motion from an add-on keep file or a BEAT2-layout npz (see the module doc) and the part
    names it holds.

    With `frames`, the motion is cut or padded (holding its last frame) to that length.
    """
    from core.face_spaces import channel_names
    from core.motion import Motion

    arrays = _npz_arrays(path, what)
    path = str(path)  # _npz_arrays refused anything but a non-empty string
    poses, trans, fps, given, names = (_keep_layout(arrays, path, what)
                                       if KEEP_FACE_KEY in arrays else _beat2_layout(path, what))
    space = face_space_of(names, face_space)
    wanted = channel_names(space)
    face = np.zeros((len(poses), len(wanted)), np.float32)
    column = {name: i for i, name in enumerate(wanted)}
    for i, name in enumerate(names):
        if name in column:
            face[:, column[name]] = given[:, i]
    parts = tuple(str(part) for part in arrays.get(KEPT_PARTS, np.array(PARTS)).reshape(-1))
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise RequestError(f"{path}: {what} names unknown parts {unknown}")
    try:
        motion = Motion(poses=poses, trans=trans, face=face, face_space=space, fps=fps)
    except Exception as exc:  # BodyLanguageError: shapes or NaNs
        raise RequestError(f"{path}: {what} is not a valid motion: {exc}") from None
    if motion.duration > MAX_CLIP_SECONDS:
        # Checked before resampling: 100 frames at 1e-6 fps would become 3e9 frames.
        raise RequestError(f"{path}: {what} lasts {motion.duration:g} s ({len(poses)} frames at "
                           f"{fps:g} fps), beyond the worker's limit of {MAX_CLIP_SECONDS:g} s")
    if fps != FPS:
        motion = motion.resample(FPS)
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


def _output_path(value: object) -> str:
    """The result's path, refused before any work when nothing could be written there."""
    if not isinstance(value, str) or not value:
        raise RequestError("generate needs an `output` npz path")
    if "\0" in value:
        raise RequestError(f"output path {value!r} holds a NUL character")
    path = Path(value)
    if path.is_dir():
        raise RequestError(f"{value}: the output path is a folder; expected an npz file path")
    if not path.parent.is_dir():
        raise RequestError(f"{value}: the output folder {path.parent} does not exist")
    return value


def _text_field(value: object, name: str) -> str | None:
    """Request text, or None when empty; JSON can carry lone surrogates, which are no text."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RequestError(f"{name} must be text, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestError(f"{name} is not valid text: a lone surrogate "
                           f"{value[exc.start]!r} at character {exc.start}") from None
    return value


def _seed(value: object) -> int:
    """The request's seed; the generator takes 64 bits, and a bigger one would fail deep in
    torch or wrap around to another seed's motion."""
    if isinstance(value, bool) or not isinstance(value, int) or not -2**63 <= value < 2**63:
        raise RequestError(f"seed must be an integer in the 64-bit range, got {value!r}")
    return value


GUIDED_CONDITIONS = ("prompt", "audio", "emotion")
MAX_GUIDANCE = 20.0


def _guidance(value: Any) -> dict[str, float] | None:
    """How strongly to follow each condition: {name: strength in 0..MAX_GUIDANCE}, or None."""
    if value is None:
        return None
    if not isinstance(value, dict) or any(name not in GUIDED_CONDITIONS for name in value):
        raise RequestError(f"guidance must be an object with some of "
                           f"{', '.join(GUIDED_CONDITIONS)}, got {value!r}")
    for name, strength in value.items():
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not (
                math.isfinite(strength) and 0.0 <= strength <= MAX_GUIDANCE):
            raise RequestError(f"guidance {name} must be a number in 0..{MAX_GUIDANCE:g}, got "
                               f"{strength!r}")
    return {name: float(strength) for name, strength in value.items()}


MAX_TIMED_PROMPTS = 256


def _timed_prompts(value: Any) -> list[tuple[str, float | None, float | None]]:
    """[[text, start, end], ...] in seconds (null: the clip's start / end); the API checks the
    spans against the clip."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TIMED_PROMPTS:
        raise RequestError(f"prompts must be a list of at most {MAX_TIMED_PROMPTS} "
                           f"[text, start, end], got {type(value).__name__}")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, list) or len(item) != 3:
            raise RequestError(f"prompts[{index}] must be [text, start, end], got {item!r}")
        text = _text_field(item[0], f"prompts[{index}] text")
        if text is None:
            raise RequestError(f"prompts[{index}] has no text")
        for bound in item[1:]:
            if bound is not None and (isinstance(bound, bool) or not isinstance(
                    bound, (int, float)) or not math.isfinite(bound)):
                raise RequestError(f"prompts[{index}] start and end must be seconds or null, "
                                   f"got {bound!r}")
        out.append((text, item[1], item[2]))
    return out


def _audio_or_duration(request: Mapping[str, Any],
                       report: Reporter) -> tuple[np.ndarray | None, float | None]:
    """(the request's audio, None), or (None, seconds) for motion from the prompt alone."""
    spec = request.get("audio")
    duration = _number(request, "duration", None, "generate")
    if spec is not None:
        if duration is not None:
            # Which one sets the length would be a guess; the client meant one of them.
            raise RequestError("generate takes `audio` or a `duration`, not both: with audio "
                               "the motion lasts as long as the audio")
        report(0.0, "Reading audio")
        return request_audio(spec), None
    if duration is None:
        raise RequestError("generate needs an `audio` object (tracks or samples), or a "
                           "`duration` in seconds for motion from the prompt alone")
    if duration <= 0:
        raise RequestError(f"generate: duration must be a positive number of seconds, got "
                           f"{duration!r}")
    return None, duration


def handle_generate(request: Mapping[str, Any], context: Context, report: Reporter) -> dict:
    output = _output_path(request.get("output"))
    parts = request.get("parts", list(PARTS))
    if (not isinstance(parts, list) or not parts
            or any(not isinstance(part, str) or part not in PARTS for part in parts)):
        raise RequestError(f"parts must be a non-empty list of {', '.join(PARTS)}, got {parts!r}")
    prompt = _text_field(request.get("prompt"), "prompt") or ""
    transcript = _text_field(request.get("transcript"), "transcript")
    seed = _seed(request.get("seed", 0))
    frames = _frames(request.get("frames"))
    from core.emotions import EMOTIONS

    emotion = _choice(request.get("emotion"), EMOTIONS, "emotion")
    guidance = _guidance(request.get("guidance"))
    timed = _timed_prompts(request.get("prompts"))

    # Inputs first: a wrong file is reported before minutes of model loading.
    audio, duration = _audio_or_duration(request, report)
    report.check()
    seconds = len(audio) / SAMPLE_RATE if audio is not None else duration
    clip_frames = max(1, int(round(seconds * FPS)))
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
            parts=tuple(parts), keep=keep, frames=frames, seed=seed, duration=duration,
            guidance=guidance, prompts=timed, cancel=report.cancelled,
            progress=lambda fraction, message="Generating": report(fraction, message),
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
    values = {str(name): float(p) for name, p in probabilities.items()}
    if not all(np.isfinite(p) for p in values.values()):
        # Damaged weights give NaN, not an exception; a NaN would reach the user as a number.
        raise RequestError(f"{context.slot.checkpoint or 'the shipped model'}: the model "
                           "produced non-finite emotion probabilities; its weights may be "
                           "damaged")
    return {"probabilities": values}


HANDLERS: dict[str, Callable[[Mapping[str, Any], Context, Reporter], dict]] = {
    "hello": handle_hello,
    "load": handle_load,
    "generate": handle_generate,
    "predict_emotion": handle_predict_emotion,
}


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


def answer(request: Mapping[str, Any], context: Context) -> None:
    """Run one request and send its result or error; never raises."""
    request_id = request["id"]
    report = Reporter(context, request_id)
    try:
        report.check()
        data = HANDLERS[request["type"]](request, context, report)
        report.check()
        # Encoding is part of answering: a result that cannot be sent must become an error.
        line = result_line(request, data)
    except Cancelled:
        if context.inbox.failure is not None:
            context.channel.error(request_id, context.inbox.failure, "internal")
        else:
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
        context.channel.write_line(line)
    finally:
        context.inbox.forget(request_id)


def serve(stdin: IO[bytes], channel: Channel) -> int:
    """Answer requests until `shutdown` or EOF on stdin; 1 when the request reader failed.

    stdin is read as bytes: a line that is not UTF-8 must be answered, not kill the reader.
    """
    context = Context(channel, Inbox(), ModelSlot())
    # "ready" goes first, before the reader could answer a malformed line.
    channel.send(ready_message(os.getpid()))
    reader = threading.Thread(target=read_requests, args=(stdin, context.inbox, channel),
                              name="body-language-requests", daemon=True)
    reader.start()
    for request in _requests(context.inbox):
        if request["type"] == "shutdown":
            channel.result(request["id"], {})
            break
        answer(request, context)
    return 0 if context.inbox.failure is None else 1


def _requests(inbox: Inbox) -> Iterator[dict[str, Any]]:
    while True:
        request = inbox.pending.get()
        if request is None:
            return
        yield request


def main() -> NoReturn:
    channel = protect_stdout()
    code = serve(sys.stdin.buffer, channel)
    # Tearing down torch and transformers at interpreter exit takes seconds and does nothing
    # useful here: every file was written atomically, the answers were flushed.
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
