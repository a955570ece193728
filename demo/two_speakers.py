"""The demo's conversation on the Sequencer: Anna's and Ben's lines cut from their two wavs and
placed so they alternate (Ben, Anna, Ben, Anna), each speaker on a channel of its own, and the
two characters standing apart, turned partly toward each other.

Each character's clip runs from its first line to its last, so each hears the other inside it:
Anna listens to Ben's second line, Ben to Anna's first. Anna's second line (the one with the
timed prompt) comes after Ben's last, outside his clip, so only she gets that prompt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the layout (LINES, PLACES) is read by the tests without Blender
    import bpy

FPS = 30
# A channel above any the demo uses: a line is cut there first, so the untrimmed strip cannot
# collide with its speaker's other line, then moved to its speaker's channel.
SCRATCH_CHANNEL = 32


@dataclass(frozen=True)
class Line:
    """One line: the strip's name (it names the character, so Bind Speakers binds it by name),
    whose wav it is cut from, and the wav's frames [first, end) it plays (end None: to the end
    of the file). Cuts fall in the silence between sentences."""

    name: str
    speaker: str
    first: int
    end: int | None


LINES: tuple[Line, ...] = (
    Line("Ben 1: come on in", "Ben", 0, 70),
    Line("Anna 1: hello", "Anna", 0, 96),
    Line("Ben 2: what is it?", "Ben", 70, None),
    Line("Anna 2: let me show you", "Anna", 96, None),
)
CHANNELS = {"Anna": 1, "Ben": 2}
# Where each character stands (metres) and how far it turns toward the other about world Z
# (degrees; a character faces -Y, toward the camera, unturned).
PLACES = {"Anna": ((-0.8, 0.0, 0.0), 30.0), "Ben": ((0.8, 0.0, 0.0), -30.0)}


def add_line(strips: bpy.types.bpy_prop_collection, line: Line, wav: Path,
             frame: int) -> bpy.types.Strip:
    """`line` as a sound strip whose first audible frame is `frame`, packed into the .blend."""
    strip = strips.new_sound(line.name, str(wav), SCRATCH_CHANNEL, frame - line.first)
    strip.sound.pack()
    length = strip.frame_final_end - strip.frame_start
    strip.frame_offset_start = line.first
    if line.end is not None:
        strip.frame_offset_end = length - line.end
    strip.channel = CHANNELS[line.speaker]
    return strip


def add_conversation(scene: bpy.types.Scene, wavs: dict[str, Path]) -> list[bpy.types.Strip]:
    """Every line back to back from frame 1; the scene's frames span them all."""
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    placed, frame = [], 1
    for line in LINES:
        placed.append(add_line(strips, line, wavs[line.speaker], frame))
        frame = placed[-1].frame_final_end
    scene.frame_start, scene.frame_end = 1, frame - 1
    return placed


def last_line_of(strips: list[bpy.types.Strip], speaker: str) -> bpy.types.Strip:
    return [strip for strip, line in zip(strips, LINES, strict=True)
            if line.speaker == speaker][-1]


def place_character(armature: bpy.types.Object) -> None:
    """Turn the character toward the other (it was made at its place: see cursor_for)."""
    armature.rotation_euler.z = math.radians(PLACES[armature.name][1])


def cursor_for(speaker: str) -> tuple[float, float, float]:
    """Where the 3D cursor goes before Create Character makes `speaker` (it builds there)."""
    return PLACES[speaker][0]
