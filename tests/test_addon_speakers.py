"""Scenes with several speakers in real headless Blender: the warning before mixing them, Bind
Speakers, and a character that looks at the other while it speaks (its request and its gaze)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from blender_harness import BPY_VERSIONS, bpy_python, run_in_blender


def write_tone(path: Path, seconds: float, rate: int = 16000) -> Path:
    samples = 0.3 * np.sin(2 * np.pi * 200 * np.arange(int(seconds * rate)) / rate) * 32767
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(samples.astype("<i2").tobytes())
    return path


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_two_speakers_are_bound_and_each_listens_to_the_other(tmp_path, version):
    params = {"anna": str(write_tone(tmp_path / "anna.wav", 1.5)),
              "ben": str(write_tone(tmp_path / "ben.wav", 2.0)),
              "worker_python": str(bpy_python("5.0"))}
    values = run_in_blender("two_speaker_listening", tmp_path, params=params,
                            python=bpy_python(version)).values
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
