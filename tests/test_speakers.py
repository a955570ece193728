"""Speakers of a scene from its sound strips, and each character bound to its own strips."""

from __future__ import annotations

from blender_addon.scene_audio import SoundStripInfo
from blender_addon.speakers import (
    mixing_warning,
    several_speakers,
    speaker_channels,
    suggest_bindings,
)


def strip(name: str, channel: int, start: int = 1, path: str = "", mute: bool = False
          ) -> SoundStripInfo:
    return SoundStripInfo(name=name, path=path or f"/lines/{name}.wav", channel=channel,
                          frame_start=start, frame_end=start + 30, file_offset=0.0, volume=1.0,
                          mute=mute)


def test_channels_are_speakers_and_muted_strips_do_not_speak():
    strips = [strip("b", 2, 40), strip("a", 1, 50), strip("a0", 1, 10), strip("c", 3, mute=True)]
    assert speaker_channels(strips) == {1: ["a0", "a"], 2: ["b"]}
    assert several_speakers(strips)
    assert not several_speakers(strips[1:3])
    assert mixing_warning(strips[1:3]) is None
    warning = mixing_warning(strips)
    assert "2 speakers (channels 1, 2)" in warning and "Bind Speakers" in warning


def test_strips_go_to_the_character_named_in_them_with_the_rest_of_their_channel():
    strips = [strip("ANNA_line01", 1), strip("take 7", 1, 90), strip("ben-02", 2),
              strip("room tone", 3, path="/x/Annabel_room.wav")]
    bindings = suggest_bindings(["Ann", "Annabel", "Ben"], strips)
    assert bindings.strips == {"Ann": ["ANNA_line01", "take 7"], "Ben": ["ben-02"],
                               "Annabel": ["room tone"]}
    assert bindings.reasons["Ben"] == "by name"
    assert not bindings.unbound_characters and not bindings.unbound_channels


def test_unnamed_channels_pair_with_characters_in_order_and_say_so():
    strips = [strip("line 1", 4), strip("line 2", 2), strip("line 3", 4, 80)]
    bindings = suggest_bindings(["Zoe", "Adam"], strips)
    assert bindings.strips == {"Adam": ["line 2"], "Zoe": ["line 1", "line 3"]}
    assert bindings.reasons == {"Adam": "channel 2, by order", "Zoe": "channel 4, by order"}
    assert "Adam: line 2 (channel 2, by order)" in bindings.summary()


def test_what_cannot_be_paired_is_left_unbound_and_named():
    strips = [strip("x", 1), strip("y", 2), strip("z", 3)]
    bindings = suggest_bindings(["Anna", "Ben"], strips)
    assert bindings.strips == {}
    assert bindings.unbound_characters == ["Anna", "Ben"]
    assert bindings.unbound_channels == [1, 2, 3]
    assert "not bound: Anna, Ben" in bindings.summary()
    mixed = suggest_bindings(["Anna", "Ben"], [strip("anna", 1), strip("ben", 1)])
    assert mixed.strips == {} and mixed.unbound_channels == [1]
