"""Where a character listens: other characters' strips playing while its own do not."""

from __future__ import annotations

from blender_addon.listening import ListeningSpan, listening_spans, within
from blender_addon.scene_audio import SoundStripInfo

FPS = 30.0


def strip(name: str, first: int, end: int, channel: int = 1, mute: bool = False
          ) -> SoundStripInfo:
    return SoundStripInfo(name=name, path=f"/lines/{name}.wav", channel=channel,
                          frame_start=first, frame_end=end, file_offset=0.0, volume=1.0,
                          mute=mute)


def test_a_character_listens_where_others_speak_and_it_does_not():
    own = [strip("anna 1", 1, 100), strip("anna 2", 250, 400)]
    others = {"Ben": [strip("ben 1", 90, 260)], "Cleo": [strip("cleo", 400, 520, 3)]}
    spans = listening_spans(own, others, FPS)
    assert spans == [ListeningSpan(100, 250, "Ben"), ListeningSpan(400, 520, "Cleo")]
    assert spans[0].describe() == "Ben (frames 100-249)"


def test_short_gaps_muted_strips_and_no_others_give_no_listening():
    own = [strip("anna", 1, 100)]
    assert listening_spans(own, {"Ben": [strip("ben", 100, 125)]}, FPS) == []  # < 1 s
    assert listening_spans(own, {"Ben": [strip("ben", 100, 300, mute=True)]}, FPS) == []
    assert listening_spans(own, {}, FPS) == []
    assert listening_spans([], {"Ben": [strip("ben", 10, 70)]}, FPS) == [
        ListeningSpan(10, 70, "Ben")]


def test_when_two_others_talk_at_once_the_first_by_name_is_the_speaker():
    others = {"Zed": [strip("z", 0, 120)], "Ben": [strip("b", 60, 200)]}
    assert listening_spans([], others, FPS) == [ListeningSpan(0, 60, "Zed"),
                                                ListeningSpan(60, 200, "Ben")]


def test_spans_are_cut_to_the_clip_and_short_pieces_dropped():
    spans = [ListeningSpan(0, 100, "Ben"), ListeningSpan(200, 400, "Cleo")]
    assert within(spans, 50, 380, FPS) == [ListeningSpan(50, 100, "Ben"),
                                           ListeningSpan(200, 380, "Cleo")]
    assert within(spans, 90, 215, FPS) == []  # 10 and 15 frames: under a second
