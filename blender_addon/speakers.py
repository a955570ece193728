"""Who speaks in a scene: sound strips grouped into speakers, and which character each speaker's
strips belong to (no bpy import).

A speaker is a channel of the Sequencer: dialogue editors put each character's lines on a track
of their own, so strips on one channel are one voice and strips on several channels are several.
Mixing them into one character would make it mouth every line, so the add-on binds each
character to its own strips instead:

1. by name: a strip whose name or file name contains a character's name (case, spaces and
   punctuation ignored; the longest matching name wins, so "Annabel" is not "Ann") is that
   character's, and so is the rest of its channel;
2. by order: when as many characters as channels are still unbound, the characters in name
   order take the channels from the lowest up; every such pairing is named in the summary, so
   the user can check it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from .scene_audio import SoundStripInfo, sound_strips


def _folded(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def speaker_channels(strips: Iterable[SoundStripInfo]) -> dict[int, list[str]]:
    """{channel: names of its unmuted strips}, channels ascending."""
    channels: dict[int, list[str]] = {}
    for strip in sorted(strips, key=lambda s: (s.channel, s.frame_start, s.name)):
        if not strip.mute:
            channels.setdefault(strip.channel, []).append(strip.name)
    return dict(sorted(channels.items()))


def several_speakers(strips: Iterable[SoundStripInfo]) -> bool:
    """Whether the unmuted strips come from more than one channel (more than one voice)."""
    return len(speaker_channels(strips)) > 1


def mixing_warning(strips: Iterable[SoundStripInfo]) -> str | None:
    """The warning for mixing every strip into one character, or None with one speaker."""
    channels = speaker_channels(strips)
    if len(channels) < 2:
        return None
    listed = ", ".join(str(channel) for channel in channels)
    return (f"All Sound Strips mixes {len(channels)} speakers (channels {listed}) into one "
            "character, which then mouths every line: use Bind Speakers to give each character "
            "its own strips")


@dataclass
class Bindings:
    """Strip names per character, and how each binding was found."""

    strips: dict[str, list[str]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    unbound_characters: list[str] = field(default_factory=list)
    unbound_channels: list[int] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{name}: {', '.join(self.strips[name])} ({self.reasons[name]})"
                 for name in sorted(self.strips)]
        if self.unbound_characters:
            lines.append(f"not bound: {', '.join(self.unbound_characters)}")
        if self.unbound_channels:
            lines.append("channels without a character: "
                         f"{', '.join(str(c) for c in self.unbound_channels)}")
        return "; ".join(lines) if lines else "no sound strips to bind"


def _named_character(strip: SoundStripInfo, folded: dict[str, str]) -> str | None:
    """The character whose name the strip's name or file stem contains (longest name first)."""
    haystacks = (_folded(strip.name), _folded(PurePath(strip.path).stem))
    for name in sorted(folded, key=lambda n: (-len(folded[n]), n)):
        if folded[name] and any(folded[name] in text for text in haystacks):
            return name
    return None


def suggest_bindings(characters: Sequence[str], strips: Sequence[SoundStripInfo]) -> Bindings:
    """Each character's strips, by name and then by channel order (see the module text)."""
    channels = speaker_channels(strips)
    by_name = {strip.name: strip for strip in strips}
    folded = {name: _folded(name) for name in characters}
    owner: dict[int, str] = {}
    reasons: dict[str, str] = {}
    for channel, names in channels.items():
        named = {_named_character(by_name[name], folded) for name in names} - {None}
        if len(named) == 1:
            owner[channel] = named.pop()
            reasons[owner[channel]] = "by name"
    free_characters = sorted(set(characters) - set(owner.values()))
    free_channels = [channel for channel in channels if channel not in owner]
    if free_characters and len(free_characters) == len(free_channels):
        for name, channel in zip(free_characters, free_channels, strict=True):
            owner[channel] = name
            reasons[name] = f"channel {channel}, by order"
        free_characters, free_channels = [], []
    bindings = Bindings(unbound_characters=free_characters, unbound_channels=free_channels)
    for channel, name in owner.items():
        bindings.strips.setdefault(name, []).extend(channels[channel])
        bindings.reasons[name] = reasons[name]
    return bindings


def bind_strips(settings: Any, names: Iterable[str]) -> None:
    """Make these strips a character's audio (Audio: Chosen Strips), in place of its others."""
    settings.strips.clear()
    for name in names:
        settings.strips.add().name = name
    settings.audio_source = "STRIPS"


def bind_speakers(scene: Any) -> Bindings:
    """Bind every armature of `scene` that `suggest_bindings` finds strips for to those strips
    (Audio: Chosen Strips); the others keep their settings."""
    characters = {obj.name: obj for obj in scene.objects if obj.type == "ARMATURE"}
    bindings = suggest_bindings(sorted(characters), sound_strips(scene))
    for name, strip_names in bindings.strips.items():
        bind_strips(characters[name].body_language, strip_names)
    return bindings
