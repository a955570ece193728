"""The animator's workflow (issue 14) in real headless Blender 5.0 and 4.2, with a real worker:

- Generate without audio: no sound strip playing (or Audio: None) animates the From-To frames
  from the prompt and emotion; the worker gets `audio` null and a `duration`.
- Prompts on the timeline: markers named `bl: <action>` become timed prompts over their spans
  (to the next `bl:` marker or the range's end, clamped to the range), reach the model and are
  named in the report.
- The panel reads like Blender's own: every property has a tooltip, From-To follow the scene's
  frame range until set, progress is told in plain words ("Writing keys" while the keys go in),
  and Esc cancels only a running job.

One Blender process per version runs every scenario; the tests read its values. The bpy 4.2
module cannot make sound strips (no Audaspace), so there the audio comes from a file.
"""

from __future__ import annotations

import re

import pytest
from blender_harness import BPY_VERSIONS
from extension_runs import run_with_extension, write_tone
from tiny_model import tiny_masked_model_folder

from blender_addon.timeline_prompts import marker_prompts


@pytest.fixture(scope="module", params=BPY_VERSIONS)
def workflow(request, tmp_path_factory, extension_zip) -> dict:
    tmp = tmp_path_factory.mktemp(f"workflow-{request.param}")
    wav = write_tone(tmp / "line.wav", 1.0)
    model = tiny_masked_model_folder(tmp_path_factory)
    values = run_with_extension("animator_workflow", tmp, request.param, extension_zip, model,
                                {"wav": str(wav)}, timeout=600).values
    values["version"] = request.param
    return values


# ---------------------------------------------------------------------------- 1. no audio


def test_without_a_sound_strip_generate_animates_the_from_to_frames(workflow):
    audio, duration, has_prompts, start = workflow["text_only_fields"]
    assert audio is None and duration == pytest.approx(60 / 30) and start == 5
    assert not has_prompts
    assert workflow["text_only_report"].startswith("Animated face, hands, upper, lower of "
                                                   "Speaker: 60 frames from frame 5 (no audio")
    for first, last in workflow["text_only_frames"].values():
        assert (first, last) == (5, 64)
    assert "Reading audio" not in workflow["text_only_messages"][0]
    labels = [text for kind, text in workflow["panel_no_audio"] if kind == "label"]
    assert any(text.startswith("No audio") for text in labels)
    # Without audio From-To are the clip, so they are not greyed out behind Only Frames.
    assert ["range_active", True] in workflow["panel_no_audio"]


def test_audio_none_or_a_muted_strip_is_no_audio_and_a_playing_one_is_read(workflow):
    assert workflow["none_audio"] is None
    assert "NONE" in workflow["audio_sources"]
    assert workflow["audio_fields"] == [True, False]
    report = workflow["audio_report"]
    assert report.startswith("Animated face, hands, upper, lower of Speaker: 30 frames from "
                             "frame 10")
    assert "no audio" not in report and "timed prompts" not in report
    assert not any(text.startswith("No audio") for kind, text in workflow["panel_with_audio"]
                   if kind == "label")
    assert ["range_active", False] in workflow["panel_with_audio"]
    assert any(text.startswith("No audio") for kind, text in workflow["panel_none"]
               if kind == "label")
    if workflow["version"] == "5.0":
        assert workflow["muted_audio"] is None


# ---------------------------------------------------------------------------- 2. markers


def test_bl_markers_are_timed_prompts_over_their_spans(workflow):
    # Spans in seconds from the clip's first frame (5): to the next bl: marker, a bare `bl:`
    # ending the one before, clamped to frames 5-64; markers outside them (or on the frame of
    # another) are left out.
    assert workflow["marker_fields"] == [
        ["too early", 0.0, pytest.approx(15 / 30)],
        ["wave hello", pytest.approx(15 / 30), pytest.approx(35 / 30)],
        ["nod", pytest.approx(35 / 30), pytest.approx(40 / 30)],
    ]
    report = workflow["marker_report"]
    assert ("timed prompts 'too early' (frames 5-19), 'wave hello' (frames 20-39), 'nod' "
            "(frames 40-44); markers left out (outside the frames, or on one frame with "
            "another): 'bl: same frame', 'BL: shrug'") in report
    assert "camera cut" not in report
    assert workflow["markers_changed_motion"]


def test_marker_spans_are_clamped_and_ordered():
    class Marker:
        def __init__(self, name: str, frame: int) -> None:
            self.name, self.frame = name, frame

    used, left_out = marker_prompts(
        [Marker("bl: b", 30), Marker("Bl:  a ", -10), Marker("note", 20), Marker("bl:c", 99)],
        1, 50)
    assert [(p.text, p.first, p.end) for p in used] == [("a", 1, 30), ("b", 30, 51)]
    assert left_out == ("bl:c",)
    assert used[1].seconds(10, 30.0) == ["b", 20 / 30, 41 / 30]


# ---------------------------------------------------------------------------- 3. the panel


def test_every_property_has_a_tooltip_and_the_prompt_promises_no_more_than_it_does(workflow):
    assert workflow["undescribed"] == []
    tooltip = workflow["prompt_tooltip"]
    for example in ("'wave hello'", "'nod'", "'shrug'", "weakly", "bl: "):
        assert example in tooltip
    assert "right hand" not in tooltip and "cross your arms" not in tooltip
    assert "Esc" not in workflow["generate_tooltip"] and "Esc" in workflow["cancel_tooltip"]


def test_from_to_follow_the_scene_range_until_set(workflow):
    assert workflow["follows"] == [5, 64, 90]
    assert workflow["fixed"] == [7, 64]            # set From: To stays where it stood
    assert workflow["other"] == [1, 250]           # another armature follows the scene


def test_progress_is_told_in_plain_words(workflow):
    sent, shown = workflow["audio_messages"]
    assert "Reading audio" in sent and shown[-1] == "Writing keys"
    steps = [m for m in sent if re.fullmatch(r"Generating motion \d+/\d+", m)]
    assert steps, sent
    for message in sent + shown + sum(workflow["text_only_messages"], []):
        assert not re.search(r"Listening|[Ww]indow|Joining|Decoding|pass \d", message), message
    # In the UI "Writing keys" is up for a redraw before the keys are written.
    texts = workflow["modal_texts"]
    assert workflow["modal_returns"][0] == ["FINISHED"]
    assert any(t and t.startswith("Body Language: Writing keys") for t in texts)
    assert all(t is None or "(Esc to cancel)" in t for t in texts)


def test_esc_cancels_a_running_job_and_passes_once_it_has_ended(workflow):
    first, after_end, finished, running_esc = workflow["esc"]
    assert first == ["PASS_THROUGH"]
    assert after_end == ["PASS_THROUGH"]           # not swallowed: nothing runs any more
    assert finished == ["CANCELLED"]
    assert running_esc == ["CANCELLED"]
    assert workflow["esc_reports"] == [[["WARNING"], "Cancelled; the scene is unchanged"]]
