"""Generate and Predict emotion as jobs: read the scene, ask the worker, apply its answer.

Operators drive a job either from a timer (modal, the UI stays responsive) or in a blocking loop
(scripts, batch, background mode). The scene is read when the job starts and written only when
the worker's answer has arrived, in one go; cancelling, a worker error or a crash therefore
leave the scene exactly as it was. Objects are looked up by name when the answer arrives,
because an undo while the job runs replaces every Python reference to scene data. What a job
reads from the scene is scene_inputs.py's; which worker and model it asks, worker_settings.py's.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bpy

from . import bone_maps, keyframes
from .face_speakers import face_the_speakers
from .motion_arrays import AddonInputError
from .motion_files import read_motion_file, write_keep_file
from .runtime import WorkerClient, WorkerError, WorkerMessage
from .runtime_paths import SETUP_HINT
from .scene_audio import AudioClip
from .scene_inputs import (
    GenerateRequest,
    check_strips_unchanged,
    existing_parts,
    read_parts_on_clip,
)
from .shared.rates import FPS as MOTION_FPS

# Seconds without any word from the worker before a request is given up (progress counts).
REQUEST_SILENCE_TIMEOUT = 600.0

RUNNING, FINISHED, CANCELLED, FAILED = "RUNNING", "FINISHED", "CANCELLED", "FAILED"

_ERROR_ADVICE = {
    "crashed": " (the worker's log is in the system console)",
    "runtime": f" Use Preferences > Add-ons > Body Language > Set Up Runtime, or: {SETUP_HINT}",
    "timeout": "",
}


class Job:
    """One request to the worker; `step()` advances it without blocking."""

    kind = ""
    timeout: float | None = REQUEST_SILENCE_TIMEOUT
    # What the job says while it applies the answer. Applying blocks Blender, so a job with
    # such a message holds the answer for one step, letting the UI show the message first.
    applying = ""

    def __init__(self, client: WorkerClient, fields: dict[str, Any]) -> None:
        self.client = client
        self.fields = fields
        self.request_id: str | None = None
        self.state = RUNNING
        self.progress = 0.0
        self.message = "Starting the model worker"
        self.report = ""
        # Things the user should know about a finished job (the operator reports a warning).
        self.warnings: tuple[str, ...] = ()
        self._answer: dict[str, Any] | None = None

    def start(self) -> None:
        try:
            self.request_id = self.client.request(self.kind, timeout=self.timeout, **self.fields)
        except WorkerError as exc:
            self._fail(str(exc), exc.kind)

    def step(self, wait: float = 0.0) -> str:
        """Read the worker's news; apply the answer when it has come. Returns the state.

        `wait`: seconds to wait for news when there is none yet (0: never blocks, for the UI).
        """
        if self.state != RUNNING:
            return self.state
        if self._answer is not None:
            self._apply(self._answer)
            return self.state
        for message in self.client.poll(timeout=wait):
            if message.request_id != self.request_id:
                continue  # a cancelled job's late answer
            self._on_message(message)
            if self.state != RUNNING:
                break
        return self.state

    def _on_message(self, message: WorkerMessage) -> None:
        if message.type == "progress":
            self.progress, self.message = message.fraction, message.message or self.message
        elif message.type == "error":
            if message.kind == "cancelled":
                self.state, self.report = CANCELLED, "Cancelled; the scene is unchanged"
            else:
                self._fail(message.message, message.kind)
        elif self.applying:
            self._answer, self.message = dict(message.data), self.applying
        else:
            self._apply(message.data)

    def _apply(self, data: dict[str, Any]) -> None:
        self._answer = None
        try:
            self.report = self.apply(data)
        except (AddonInputError, OSError, RuntimeError, ReferenceError) as exc:
            self._fail(str(exc), "input")
        except Exception as exc:  # a bug here must not leave the job "running" forever
            traceback.print_exc()
            self._fail(f"{type(exc).__name__}: {exc} (traceback in the system console)",
                       "internal")
        else:
            self.state, self.progress = FINISHED, 1.0

    def _fail(self, message: str, kind: str) -> None:
        self.state = FAILED
        text = (f"{self.kind.replace('_', ' ').title()} failed: {message.rstrip()}"
                f"{_ERROR_ADVICE.get(kind, '')}")
        # Some messages are whole sentences (the worker's); the report carries on after them.
        self.report = text + (" The scene is unchanged." if text.endswith(".")
                              else "; the scene is unchanged")

    def cancel(self) -> None:
        """Stop now: the worker is told, and its answer, whatever it is, is ignored."""
        if self.state == RUNNING:
            if self.request_id is not None:
                self.client.cancel(self.request_id)
            if self._answer is not None:
                self.discard(self._answer)
                self._answer = None
            self.state, self.report = CANCELLED, "Cancelled; the scene is unchanged"

    def run(self, on_progress: Callable[[float, str], None] | None = None,
            interval: float = 0.05) -> str:
        """Block until the job ends (scripts, batch, background mode), waiting on the worker's
        news at most `interval` seconds at a time."""
        if self.request_id is None and self.state == RUNNING:
            self.start()
        shown = None
        while self.step(wait=interval) == RUNNING:
            if on_progress is not None and (self.progress, self.message) != shown:
                shown = (self.progress, self.message)
                on_progress(self.progress, self.message)
        return self.state

    def apply(self, data: dict[str, Any]) -> str:
        raise NotImplementedError

    def discard(self, data: dict[str, Any]) -> None:
        """Forget an answer that will not be applied (its files, say)."""


class GenerateJob(Job):
    kind = "generate"
    applying = "Writing keys"

    def __init__(self, client: WorkerClient, request: GenerateRequest, model: dict) -> None:
        super().__init__(client, {**request.fields, "model": model})
        self.request = request
        self.result: keyframes.WriteResult | None = None

    def apply(self, data: dict[str, Any]) -> str:
        try:
            return self._write(read_motion_file(data["motion"]))
        finally:
            self.discard(data)

    def discard(self, data: dict[str, Any]) -> None:
        # The exchange files are of no further use, whether the keys went in or not.
        for path in (data.get("motion"), self.request.fields.get("keep")):
            if path:
                Path(path).unlink(missing_ok=True)

    def _write(self, motion: Any) -> str:
        # Looked up by name: an undo while the job ran replaced every reference to scene data.
        request = self.request
        scene = bpy.data.scenes.get(request.scene)
        armature = bpy.data.objects.get(request.armature)
        if scene is None or armature is None or scene.objects.get(armature.name) is None:
            raise AddonInputError(f"{request.armature} or its scene was deleted while "
                                  "generating")
        check_strips_unchanged(scene, request.strips)
        if request.listening:
            motion = face_the_speakers(motion, armature, scene, request.listening,
                                       request.clip.frame_start, request.clip.fps)
        self.result = keyframes.write_motion(armature, motion, request.parts,
                                             request.clip.frame_start, request.bone_map, scene,
                                             armature.body_language.key_mode)
        self.warnings = (*request.warnings, *self.result.warnings)
        text = (f"Animated {', '.join(self.result.parts)} of {armature.name}: "
                f"{self.result.frame_count} frames from frame {self.result.start_frame}")
        if not request.clip.has_audio:
            text += " (no audio: from the prompt)"
        if request.prompts:
            text += "; timed prompts " + ", ".join(p.describe() for p in request.prompts)
        if request.listening:
            text += "; looking at " + ", ".join(s.describe() for s in request.listening)
        if request.left_out:
            text += ("; markers left out (outside the frames, or on one frame with another): "
                     + ", ".join(f"'{name}'" for name in request.left_out))
        text += "; " + self.result.describe_rig()
        if self.warnings:
            text += " (" + "; ".join(self.warnings) + ")"
        return text


class PredictEmotionJob(Job):
    kind = "predict_emotion"
    timeout = 300.0

    def __init__(self, client: WorkerClient, armature: Any, scene: Any, model: dict) -> None:
        present = existing_parts(armature)
        if not present:
            raise AddonInputError(f"{armature.name} has no Body Language animation to read")
        settings = armature.body_language
        bone_map = bone_maps.chosen_bone_map(settings)
        span = [keyframes.strip_on_track(armature, keyframes.track_name(p)) for p in present]
        start = int(min(strip.frame_start for strip in span))
        end = int(max(strip.frame_end for strip in span)) + 1
        fps = keyframes.scene_fps(scene)
        clip = AudioClip(start, end, fps, {}, ())
        motion = read_parts_on_clip(armature, present, clip, bone_map, scene)
        path = write_keep_file(client.new_file("emotion"), motion["poses"], motion["trans"],
                               motion["face"], motion["face_names"], MOTION_FPS, present)
        super().__init__(client, {"motion": str(path), "model": model})
        self.armature = armature.name
        self.probabilities: dict[str, float] = {}

    def apply(self, data: dict[str, Any]) -> str:
        armature = bpy.data.objects.get(self.armature)
        if armature is None:
            raise AddonInputError(f"{self.armature} was deleted while predicting")
        self.probabilities = {str(k): float(v) for k, v in data["probabilities"].items()}
        scores = armature.body_language.emotion_scores
        scores.clear()
        for name, probability in sorted(self.probabilities.items(), key=lambda kv: -kv[1]):
            score = scores.add()
            score.name, score.probability = name, probability
        best = max(self.probabilities, key=self.probabilities.get)
        Path(self.fields["motion"]).unlink(missing_ok=True)
        return f"{armature.name} looks {best} ({self.probabilities[best]:.0%})"


# ---------------------------------------------------------------------------- one at a time

_active: Job | None = None


def active_job() -> Job | None:
    return _active if _active is not None and _active.state == RUNNING else None


def set_active(job: Job | None) -> None:
    global _active
    _active = job
