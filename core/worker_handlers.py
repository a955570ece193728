"""What the worker (core/worker.py) does for each request type: hello, load, generate and
predict_emotion, each a function of (request, context, reporter) that returns the result data."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BodyLanguageError
from core.rates import FPS
from core.shared.protocol import PROTOCOL_VERSION
from core.shared.skeleton import PARTS
from core.worker_audio import SAMPLE_RATE, request_audio
from core.worker_channel import Channel
from core.worker_errors import Cancelled, RequestError
from core.worker_fields import (
    choice_field,
    frames_field,
    guidance_field,
    number_field,
    output_field,
    seed_field,
    text_field,
    timed_prompts_field,
)
from core.worker_inbox import Inbox
from core.worker_model import ModelSlot, core_api, requested_model
from core.worker_npz import load_motion, save_motion

# Progress events are cheap but not free; the add-on polls every ~0.2 s.
PROGRESS_INTERVAL_S = 0.1


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


def _audio_or_duration(request: Mapping[str, Any],
                       report: Reporter) -> tuple[np.ndarray | None, float | None]:
    """(the request's audio, None), or (None, seconds) for motion from the prompt alone."""
    spec = request.get("audio")
    duration = number_field(request, "duration", None, "generate")
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
    output = output_field(request.get("output"))
    parts = request.get("parts", list(PARTS))
    if (not isinstance(parts, list) or not parts
            or any(not isinstance(part, str) or part not in PARTS for part in parts)):
        raise RequestError(f"parts must be a non-empty list of {', '.join(PARTS)}, got {parts!r}")
    prompt = text_field(request.get("prompt"), "prompt") or ""
    transcript = text_field(request.get("transcript"), "transcript")
    seed = seed_field(request.get("seed", 0))
    frames = frames_field(request.get("frames"))
    from core.emotions import EMOTIONS

    emotion = choice_field(request.get("emotion"), EMOTIONS, "emotion")
    guidance = guidance_field(request.get("guidance"))
    timed = timed_prompts_field(request.get("prompts"))

    # Inputs first: a wrong file is reported before minutes of model loading.
    audio, duration = _audio_or_duration(request, report)
    report.check()
    seconds = len(audio) / SAMPLE_RATE if audio is not None else duration
    clip_frames = max(1, int(round(seconds * FPS)))
    model = context.slot.ensure(*requested_model(request, context.slot), report)
    report.check()
    keep = None
    if request.get("keep") is not None:
        face_space = getattr(model, "face_space", "arkit52")
        keep, _kept_parts = load_motion(request["keep"], clip_frames, face_space, "kept motion")

    api = core_api()
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
    model = context.slot.ensure(*requested_model(request, context.slot), report)
    face_space = getattr(model, "face_space", "arkit52")
    motion, _parts = load_motion(request.get("motion"), None, face_space, "motion")
    report(0.5, "Predicting emotion")
    try:
        probabilities = core_api().predict_emotion(model, motion)
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
