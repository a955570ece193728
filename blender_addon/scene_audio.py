"""The scene's sound strips as the worker's audio input.

Strips live in `sequence_editor.strips_all` on Blender 5.x and `sequences_all` on 4.x; which
one is decided by feature. A sound strip plays scene frames [frame_final_start,
frame_final_end); at its first audible frame the file is at (frame_offset_start +
animation_offset_start) / fps + sound_offset seconds, which is how Blender itself positions the
sound. Retiming (speed changes) of sound strips is not followed.

The add-on does not decode audio: Blender's own decoder is not there in every build (the bpy
4.2 module has no Audaspace), and the worker already reads every format with core.io.audio.
So the strips of one speaker become a list of tracks (file, place in the clip, offset into the
file, duration, volume) that the worker decodes and mixes into one mono clip.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .motion_arrays import AddonInputError


@dataclass(frozen=True)
class SoundStripInfo:
    """One sound strip: where it plays in the scene and which part of which file."""

    name: str
    path: str
    channel: int
    frame_start: int  # first audible scene frame
    frame_end: int  # one past the last audible frame
    file_offset: float  # seconds into the file at frame_start
    volume: float
    mute: bool
    packed: bool = False


@dataclass(frozen=True)
class AudioClip:
    """One speaker's audio: scene frames [frame_start, frame_end) and the worker's audio spec."""

    frame_start: int
    frame_end: int | None  # None: until the file ends (an audio file, length unknown here)
    fps: float
    spec: dict
    sources: tuple[str, ...]

    @property
    def duration(self) -> float | None:
        if self.frame_end is None:
            return None
        return (self.frame_end - self.frame_start) / self.fps

    @property
    def has_audio(self) -> bool:
        """False for a silent clip: frames to animate from the prompt alone."""
        return bool(self.spec)


def scene_fps(scene: Any) -> float:
    return scene.render.fps / scene.render.fps_base


def all_strips(scene: Any) -> list[Any]:
    """Every strip of the scene, inside meta strips too; [] without a sequence editor."""
    editor = scene.sequence_editor
    if editor is None:
        return []
    for name in ("strips_all", "sequences_all"):
        if hasattr(editor, name):
            return list(getattr(editor, name))
    return []


def _strip_path(strip: Any, unpack_dir: Path | None) -> tuple[str, bool]:
    import bpy

    sound = strip.sound
    if sound.packed_file is not None and unpack_dir is not None:
        # A sound packed into the .blend has no file the worker could read: write it out.
        suffix = Path(sound.filepath).suffix or ".wav"
        target = unpack_dir / f"packed-{bpy.path.clean_name(sound.name)}{suffix}"
        target.write_bytes(bytes(sound.packed_file.data))
        return str(target), True
    # Relative to the .blend ("//"), then to Blender's working folder: the worker runs elsewhere.
    return os.path.abspath(bpy.path.abspath(sound.filepath, library=sound.library)), False


def strip_info(strip: Any, fps: float, unpack_dir: Path | None = None) -> SoundStripInfo:
    """A sound strip's timing and file, with its path made absolute."""
    frames_skipped = strip.frame_offset_start + getattr(strip, "animation_offset_start", 0)
    path, packed = _strip_path(strip, unpack_dir)
    return SoundStripInfo(
        name=strip.name,
        path=path,
        channel=int(strip.channel),
        frame_start=int(strip.frame_final_start),
        frame_end=int(strip.frame_final_end),
        file_offset=frames_skipped / fps + float(getattr(strip, "sound_offset", 0.0)),
        volume=float(strip.volume),
        mute=bool(strip.mute),
        packed=packed,
    )


def sound_strips(scene: Any, unpack_dir: Path | None = None) -> list[SoundStripInfo]:
    """The scene's sound strips with a sound, by start frame then channel."""
    fps = scene_fps(scene)
    found = [strip_info(strip, fps, unpack_dir) for strip in all_strips(scene)
             if strip.type == "SOUND" and strip.sound is not None]
    return sorted(found, key=lambda info: (info.frame_start, info.channel, info.name))


def sound_strip_names(scene: Any) -> list[str]:
    return [strip.name for strip in all_strips(scene)
            if strip.type == "SOUND" and strip.sound is not None]


def has_unmuted_sound(scene: Any) -> bool:
    """Whether any sound strip of the scene would play (cheap: nothing is resolved)."""
    return any(strip.type == "SOUND" and strip.sound is not None and not strip.mute
               for strip in all_strips(scene))


def choose_strips(strips: Sequence[SoundStripInfo], names: Iterable[str] | None
                  ) -> list[SoundStripInfo]:
    """The unmuted strips named in `names` (all unmuted strips when None).

    A name that matches no sound strip is an error rather than silently less audio.
    """
    if names is None:
        chosen = list(strips)
    else:
        wanted = list(dict.fromkeys(names))
        by_name = {strip.name: strip for strip in strips}
        missing = [name for name in wanted if name not in by_name]
        if missing:
            raise AddonInputError(
                f"bound sound strips not in the scene: {', '.join(missing)} (renamed or "
                "deleted? bind the strips again)")
        chosen = [by_name[name] for name in wanted]
    playing = [strip for strip in chosen if not strip.mute]
    if not playing:
        raise AddonInputError("no unmuted sound strip to animate from: add a sound strip "
                              "or bind this armature to one")
    return sorted(playing, key=lambda info: (info.frame_start, info.channel, info.name))


def clip_from_strips(strips: Sequence[SoundStripInfo], fps: float) -> AudioClip:
    """The strips as one clip from the first strip's start to the last one's end."""
    if not strips:
        raise AddonInputError("no sound strips given")
    start = min(strip.frame_start for strip in strips)
    end = max(strip.frame_end for strip in strips)
    tracks = [{
        "path": strip.path,
        "start": (strip.frame_start - start) / fps,
        "offset": strip.file_offset,
        "duration": (strip.frame_end - strip.frame_start) / fps,
        "volume": strip.volume,
    } for strip in strips]
    spec = {"tracks": tracks, "duration": (end - start) / fps}
    return AudioClip(start, end, fps, spec, tuple(strip.name for strip in strips))


def clip_from_file(path: str, start_frame: int, fps: float) -> AudioClip:
    """A whole audio file starting at `start_frame`."""
    import bpy

    absolute = os.path.abspath(bpy.path.abspath(path)) if path else ""
    if not absolute:
        raise AddonInputError("no audio file chosen")
    spec = {"tracks": [{"path": absolute}]}
    return AudioClip(int(start_frame), None, fps, spec, (absolute,))


def silent_clip(first: int, last: int, fps: float) -> AudioClip:
    """Scene frames first..last (inclusive) without audio: motion from the prompt alone."""
    if last < first:
        raise AddonInputError(f"the frame range {first}-{last} ends before it starts: set To "
                              "at or after From")
    return AudioClip(int(first), int(last) + 1, fps, {}, ())
