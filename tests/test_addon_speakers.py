"""Scenes with several speakers in real headless Blender: the warning before mixing them, Bind
Speakers, and a character that looks at the other while it speaks (its request and its gaze)."""

from __future__ import annotations

import pytest
from blender_harness import bpy_python, run_in_blender
from extension_runs import write_tone


# Blender 5.0 only: the bpy 4.2 module has no Audaspace, so it cannot make sound strips (the
# speaker rules read strips through the same API on both; test_addon_generate covers 4.2's).
def test_two_speakers_are_bound_and_each_looks_at_the_other(tmp_path):
    params = {"anna": str(write_tone(tmp_path / "anna.wav", 1.5)),
              "ben": str(write_tone(tmp_path / "ben.wav", 2.0)),
              "worker_python": str(bpy_python("5.0"))}
    values = run_in_blender("two_speaker_listening", tmp_path, params=params).values
    # All Sound Strips: both voices would go to Anna; the request says so and nobody listens.
    assert len(values["mixed_warnings"]) == 1
    assert "2 speakers (channels 1, 2)" in values["mixed_warnings"][0]
    assert values["mixed_listening"] == 0
    # Bind Speakers: by name, and the rest of Ben's channel with him; Extra has no channel left.
    assert values["bind_result"] == ["FINISHED"]
    assert values["bound"] == {"Anna": ["Anna line 1", "Anna line 2"],
                               "Ben": ["ben 01", "take 3"]}
    assert values["sources"] == ["STRIPS", "STRIPS"]
    # Anna speaks her own lines only, listens to Ben's between them, and is warned of nothing.
    assert values["warnings"] == []
    assert values["listening"] == [[60, 120, "Ben"], [130, 190, "Ben"]]
    assert values["prompts"] is None
    assert values["tracks"] == pytest.approx([0.0, 199 / 30])
    assert values["clip"] == [1, 245]
    assert values["quiet_listening"] == 0
    # Her eyes turn from straight ahead (45 degrees off Ben) to Ben while she listens.
    assert values["error_speaking"] == pytest.approx(45.0, abs=1.0)
    assert values["error_at_rest"] == pytest.approx(45.0, abs=1.0)
    assert values["error_listening"] < 3.0 and values["error_listening_2"] < 3.0


def test_batch_binds_unbound_speakers_and_warns_a_lone_character(tmp_path):
    values = run_in_blender("batch_binds_speakers", tmp_path,
                            params={"wav": str(write_tone(tmp_path / "line.wav", 1.0))}).values
    assert values["lone"] == ["Anna"]
    assert len(values["lone_printed"]) == 1 and "2 speakers" in values["lone_printed"][0]
    assert values["found"] == ["Anna", "Ben"]
    assert values["bound"] == {"Anna": ["anna 1", "line 2"], "Ben": ["ben"]}
    assert values["printed"] == ["bound speakers: Anna: anna 1, line 2 (by name); "
                                 "Ben: ben (by name)"]
    # Once bound, a second run keeps the bindings and says nothing.
    assert values["again"] == ["Anna", "Ben"] and values["again_printed"] == []
