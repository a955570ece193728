"""What Generate and Predict emotion read from the scene when a job starts: the audio clip or the
From-To frames, the timeline's timed prompts, the parts' current keys, and the checked request.
Nothing here changes the scene."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import bone_maps, keyframes
from .bone_map import BoneMap
from .listening import ListeningSpan, listening_spans, within
from .motion_arrays import AddonInputError
from .motion_files import write_keep_file
from .properties import AUTO_EMOTION, chosen_frames
from .runtime import WorkerClient
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
from .speakers import mixing_warning
from .timeline_prompts import MarkerPrompt, marker_prompts


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


def others_lines(scene: Any, armature: Any) -> dict[str, list[str]]:
    """{armature name: its bound strips} for the scene's other characters bound to strips, when
    this one looks at them as they speak (Audio: Chosen Strips, Listen to Others on)."""
    settings = armature.body_language
    if settings.audio_source != "STRIPS" or not settings.listen:
        return {}
    lines = {}
    for other in scene.objects:
        if other.type == "ARMATURE" and other.name != armature.name:
            bound = other.body_language
            if bound.audio_source == "STRIPS" and len(bound.strips):
                lines[other.name] = [ref.name for ref in bound.strips]
    return lines


def listening_stretches(scene: Any, armature: Any, clip: AudioClip) -> list[ListeningSpan]:
    """Where, inside its clip, this character is silent while another speaks (listening.py)."""
    others = others_lines(scene, armature)
    if not others or clip.frame_end is None:
        return []
    strips = {strip.name: strip for strip in sound_strips(scene)}
    own = [strips[ref.name] for ref in armature.body_language.strips if ref.name in strips]
    heard = {name: [strips[s] for s in names if s in strips] for name, names in others.items()}
    return within(listening_spans(own, heard, clip.fps), clip.frame_start, clip.frame_end,
                  clip.fps)


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
    # What the report must say about the inputs (several speakers mixed into one character).
    warnings: tuple[str, ...] = ()
    # Where the character listens to another, whom its head turns to (face_speakers.py).
    listening: tuple[ListeningSpan, ...] = ()


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
    listening = tuple(listening_stretches(scene, armature, clip))
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
    mixed = mixing_warning(sound_strips(scene)) \
        if settings.audio_source == "SCENE" and clip.has_audio else None
    return GenerateRequest(armature.name, scene.name, clip, parts, kept, frames, bone_map, fields,
                           strips, prompts, left_out, (mixed,) if mixed else (), listening)
