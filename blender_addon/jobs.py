"""Generate and Predict emotion as jobs: read the scene, ask the worker, apply its answer.

Operators drive a job either from a timer (modal, the UI stays responsive) or in a blocking loop
(scripts, batch, background mode). The scene is read when the job starts and written only when
the worker's answer has arrived, in one go; cancelling, a worker error or a crash therefore
leave the scene exactly as it was. Objects are looked up by name when the answer arrives,
because an undo while the job runs replaces every Python reference to scene data.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from . import bone_maps, keyframes
from .bone_map import BoneMap
from .motion_arrays import AddonInputError
from .motion_files import read_motion_file, write_keep_file
from .properties import AUTO_EMOTION, chosen_frames
from .runtime import WorkerClient, WorkerError, WorkerMessage, shared_client
from .runtime_paths import SETUP_HINT, resolve_runtime
from .scene_audio import (
    AudioClip,
    all_strips,
    choose_strips,
    clip_from_file,
    clip_from_strips,
    has_unmuted_sound,
    silent_clip,
    sound_strips,
)
from .shared.rates import FPS as MOTION_FPS
from .skeleton_data import NUM_JOINTS, PART_JOINTS, PARTS
from .timeline_prompts import MarkerPrompt, marker_prompts

# Seconds without any word from the worker before a request is given up (progress counts).
REQUEST_SILENCE_TIMEOUT = 600.0
ADDON_DIR = Path(__file__).resolve().parent

RUNNING, FINISHED, CANCELLED, FAILED = "RUNNING", "FINISHED", "CANCELLED", "FAILED"

_ERROR_ADVICE = {
    "crashed": " (the worker's log is in the system console)",
    "runtime": f" Use Preferences > Add-ons > Body Language > Set Up Runtime, or: {SETUP_HINT}",
    "timeout": "",
}


# ---------------------------------------------------------------------------- runtime


@dataclass(frozen=True)
class RuntimeConfig:
    python: Path
    core_root: Path
    checkpoint: Path | None
    device: str


def addon_preferences(context: Any) -> Any | None:
    addon = context.preferences.addons.get(__package__)
    return None if addon is None else addon.preferences


def runtime_config(context: Any) -> RuntimeConfig:
    """The worker runtime the preferences point at, or AddonInputError saying what to fix."""
    prefs = addon_preferences(context)
    python = bpy.path.abspath(prefs.worker_python) if prefs else ""
    checkpoint = bpy.path.abspath(prefs.checkpoint) if prefs else ""
    status = resolve_runtime(python, checkpoint, ADDON_DIR, os.environ)
    if not status.ready:
        advice = "" if status.python is not None else f" {SETUP_HINT}"
        raise AddonInputError("The model runtime is not ready: " + " ".join(status.problems)
                              + advice)
    return RuntimeConfig(status.python, status.core_root, status.checkpoint,
                         prefs.device if prefs else "auto")


def _log_worker_line(line: str) -> None:
    print(f"[Body Language worker] {line}", flush=True)


def worker_for(config: RuntimeConfig) -> WorkerClient:
    return shared_client(config.python, config.core_root, log=_log_worker_line)


def model_spec(config: RuntimeConfig) -> dict[str, Any]:
    return {"checkpoint": None if config.checkpoint is None else str(config.checkpoint),
            "device": config.device}


# ---------------------------------------------------------------------------- scene inputs


def audio_clip(scene: Any, settings: Any, unpack_dir: Path | None) -> AudioClip:
    """The armature's audio: all the scene's strips, its bound strips, or a file."""
    fps = keyframes.scene_fps(scene)
    if settings.audio_source == "FILE":
        return clip_from_file(settings.audio_file, settings.audio_start_frame, fps)
    names = None if settings.audio_source == "SCENE" else [ref.name for ref in settings.strips]
    if names == []:
        raise AddonInputError("no sound strips are bound to this armature: bind its strips or "
                              "choose another audio source")
    return clip_from_strips(choose_strips(sound_strips(scene, unpack_dir), names), fps)


def without_audio(scene: Any, settings: Any) -> bool:
    """Motion from the prompt alone: Audio is None, or it is all strips and none plays."""
    return settings.audio_source == "NONE" or (
        settings.audio_source == "SCENE" and not has_unmuted_sound(scene))


def generation_clip(scene: Any, settings: Any, unpack_dir: Path | None) -> AudioClip:
    """The frames to animate: the armature's audio, or without audio the From-To frames."""
    if without_audio(scene, settings):
        return silent_clip(*chosen_frames(settings, scene), keyframes.scene_fps(scene))
    return audio_clip(scene, settings, unpack_dir)


def clip_prompts(scene: Any, settings: Any, clip: AudioClip
                 ) -> tuple[tuple[MarkerPrompt, ...], tuple[str, ...]]:
    """The timeline's `bl:` markers as prompts over the From-To frames the clip covers, and
    the names of those left out."""
    first, last = chosen_frames(settings, scene)
    first = max(first, clip.frame_start)
    if clip.frame_end is not None:
        last = min(last, clip.frame_end - 1)
    return marker_prompts(scene.timeline_markers, first, last)


def existing_parts(armature: Any) -> tuple[str, ...]:
    return tuple(part for part in PARTS if keyframes.part_action(armature, part) is not None)


def _motion_frames(clip: AudioClip, scene_frames: int) -> int:
    return int(round(scene_frames * MOTION_FPS / clip.fps))


def read_parts_on_clip(armature: Any, parts: Sequence[str], clip: AudioClip,
                       bone_map: BoneMap | None, scene: Any) -> dict[str, np.ndarray]:
    """The parts' current keys as one SMPL-X motion at 30 fps from the clip's first frame.

    Each part is read from its own track (keyframes.read_part) and placed by scene time, so a
    track that starts elsewhere than the clip still lines up; outside its keys a part holds
    its first or last pose, as its NLA strip does.
    """
    readings = [keyframes.read_part(armature, part, MOTION_FPS, bone_map, scene)
                for part in parts]
    if clip.frame_end is not None:
        frames = _motion_frames(clip, clip.frame_end - clip.frame_start)
    else:
        frames = max(len(reading.frames) for reading in readings)
    times = clip.frame_start + np.arange(frames) * clip.fps / MOTION_FPS
    poses = np.zeros((frames, NUM_JOINTS, 3))
    trans = np.zeros((frames, 3))
    face, face_names = None, ()
    for reading in readings:
        step = clip.fps / reading.fps
        index = np.clip(np.round((times - reading.frames[0]) / step).astype(int), 0,
                        len(reading.frames) - 1)
        joints = list(PART_JOINTS[reading.part])
        poses[:, joints] = reading.poses[index][:, joints]
        if reading.trans is not None and reading.part == keyframes.TRANSLATION_PART:
            trans = reading.trans[index]
        if reading.face is not None and reading.part == keyframes.FACE_PART:
            face, face_names = reading.face[index], reading.face_names
    return {"poses": poses, "trans": trans, "face": face, "face_names": face_names}


@dataclass(frozen=True)
class GenerateRequest:
    """What one Generate sends and where its answer goes."""

    armature: str
    scene: str
    clip: AudioClip
    parts: tuple[str, ...]
    kept: tuple[str, ...]
    frames: tuple[int, int] | None
    bone_map: BoneMap | None
    fields: dict[str, Any]
    # (name, first frame, end frame) of each sound strip the audio came from: the keys are
    # only right for the strips as they were when the job started.
    strips: tuple[tuple[str, int, int], ...] = ()
    # The timeline's `bl:` markers sent as timed prompts, and those left out, for the report.
    prompts: tuple[MarkerPrompt, ...] = ()
    left_out: tuple[str, ...] = ()


def strip_spans(scene: Any, names: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    """(name, frame_final_start, frame_final_end) of the named sound strips the scene has."""
    wanted = set(names)
    return tuple((strip.name, int(strip.frame_final_start), int(strip.frame_final_end))
                 for strip in all_strips(scene) if strip.type == "SOUND" and strip.name in wanted)


def check_strips_unchanged(scene: Any, spans: tuple[tuple[str, int, int], ...]) -> None:
    """AddonInputError when a strip the audio came from was deleted, moved or trimmed."""
    now = {name: (start, end) for name, start, end in strip_spans(scene, [s[0] for s in spans])}
    for name, start, end in spans:
        if name not in now:
            raise AddonInputError(f"the sound strip '{name}' was deleted (or renamed) while "
                                  "generating: generate again")
        if now[name] != (start, end):
            raise AddonInputError(
                f"the sound strip '{name}' was moved or trimmed while generating (frames "
                f"{start}-{end - 1}, now {now[name][0]}-{now[name][1] - 1}): generate again")


def frame_range_on_clip(settings: Any, clip: AudioClip, scene: Any
                        ) -> tuple[int, int] | None:
    """The settings' scene frame range as motion frames [start, stop) of the clip, or None."""
    if not settings.use_frame_range:
        return None
    chosen = first, last = chosen_frames(settings, scene)
    end = clip.frame_end if clip.frame_end is not None else last + 1
    first, last = max(first, clip.frame_start), min(last, end - 1)
    if last < first:
        raise AddonInputError(f"frames {chosen[0]}-{chosen[1]} are outside the audio (frames "
                              f"{clip.frame_start}-{end - 1})")
    start = _motion_frames(clip, first - clip.frame_start)
    stop = max(start + 1, _motion_frames(clip, last + 1 - clip.frame_start))
    return start, stop


def build_generate_request(scene: Any, armature: Any, client: WorkerClient) -> GenerateRequest:
    """Everything Generate needs from the scene, checked; nothing in the scene changes."""
    if armature is None or armature.type != "ARMATURE":
        raise AddonInputError("choose an armature to animate")
    settings = armature.body_language
    parts = tuple(part for part in PARTS if part in settings.parts)
    if not parts:
        raise AddonInputError("choose at least one part to generate")
    # Check the rig against the map now, not after minutes of generation.
    keyframes.check_writable(armature, parts)
    bone_map = bone_maps.chosen_bone_map(settings)
    keyframes.rig_coverage(armature, keyframes.bone_map_for(armature, bone_map), parts).require()
    clip = generation_clip(scene, settings, client.exchange_dir)
    frames = frame_range_on_clip(settings, clip, scene)
    present = existing_parts(armature)
    if frames is not None:
        missing = [part for part in parts if part not in present]
        if missing:
            raise AddonInputError(f"'Only Frames' edits existing keys, and {armature.name} has "
                                  f"no {', '.join(missing)} yet: generate the whole clip first")
    kept = tuple(part for part in PARTS if part in present and (part not in parts or frames))
    prompts, left_out = clip_prompts(scene, settings, clip)
    fields: dict[str, Any] = {
        "audio": clip.spec if clip.has_audio else None,
        "prompt": settings.prompt,
        "transcript": settings.transcript.as_string() if settings.transcript else None,
        "emotion": None if settings.emotion == AUTO_EMOTION else settings.emotion,
        "parts": list(parts),
        "frames": None if frames is None else list(frames),
        "seed": int(settings.seed),
        "guidance": {"prompt": float(settings.prompt_strength),
                     "emotion": float(settings.emotion_strength)},
        "output": str(client.new_file("motion")),
        "keep": None,
    }
    if not clip.has_audio:
        fields["duration"] = clip.duration
    if prompts:
        fields["prompts"] = [prompt.seconds(clip.frame_start, clip.fps) for prompt in prompts]
    if kept:
        motion = read_parts_on_clip(armature, kept, clip, bone_map, scene)
        fields["keep"] = str(write_keep_file(
            client.new_file("keep"), motion["poses"], motion["trans"], motion["face"],
            motion["face_names"], MOTION_FPS, kept))
    strips = () if settings.audio_source == "FILE" else strip_spans(scene, clip.sources)
    return GenerateRequest(armature.name, scene.name, clip, parts, kept, frames, bone_map, fields,
                           strips, prompts, left_out)


# ---------------------------------------------------------------------------- jobs


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
        self.result = keyframes.write_motion(armature, motion, request.parts,
                                             request.clip.frame_start, request.bone_map, scene,
                                             armature.body_language.key_mode)
        self.warnings = self.result.warnings
        text = (f"Animated {', '.join(self.result.parts)} of {armature.name}: "
                f"{self.result.frame_count} frames from frame {self.result.start_frame}")
        if not request.clip.has_audio:
            text += " (no audio: from the prompt)"
        if request.prompts:
            text += "; timed prompts " + ", ".join(p.describe() for p in request.prompts)
        if request.left_out:
            text += ("; markers left out (outside the frames, or on one frame with another): "
                     + ", ".join(f"'{name}'" for name in request.left_out))
        text += "; " + self.result.describe_rig()
        if self.result.warnings:
            text += " (" + "; ".join(self.result.warnings) + ")"
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
