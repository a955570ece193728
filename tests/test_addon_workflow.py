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
import sys
from pathlib import Path

import pytest
from blender_harness import BPY_VERSIONS, bpy_python, run_in_blender
from test_addon_generate import MODULE, PRELUDE, write_tone
from tiny_model import tiny_masked_model_folder

import build
from blender_addon.timeline_prompts import marker_prompts

ROOT = Path(build.__file__).resolve().parent

SCRIPT = r'''
import re, types
operators = importlib.import_module(MODULE + ".operators")
WAV = __WAV__
scene.frame_start, scene.frame_end = 5, 64          # 60 frames: 2 s at 30 fps
armature = rig.create_character("Speaker", with_body=False)
scene.body_language.target = armature
settings = armature.body_language
config = worker_settings.runtime_config(bpy.context)
client = worker_settings.worker_for(config)

# Tooltips: every property an add-on class shows, and every fixed enum item, says what it does.
undescribed = []
inherited = {prop.identifier for base in (bpy.types.Operator, bpy.types.Panel, bpy.types.UIList,
                                          bpy.types.AddonPreferences)
             for prop in base.bl_rna.properties}
for name in dir(bpy.types):
    if not name.startswith(("BODY_LANGUAGE", "BodyLanguage")):
        continue
    for prop in getattr(bpy.types, name).bl_rna.properties:
        if prop.identifier in inherited or prop.identifier == "rna_type" or prop.is_hidden:
            continue
        if not prop.description.strip():
            undescribed.append(f"{name}.{prop.identifier}")
        for item in getattr(prop, "enum_items", ()):
            if not item.description.strip():
                undescribed.append(f"{name}.{prop.identifier}:{item.identifier}")
props = settings.bl_rna.properties
emit(undescribed=undescribed, prompt_tooltip=props["prompt"].description,
     generate_tooltip=bpy.ops.body_language.generate.get_rna_type().description,
     cancel_tooltip=bpy.ops.body_language.cancel.get_rna_type().description,
     audio_sources=[item.identifier for item in props["audio_source"].enum_items])

# From-To follow the scene's range until set; setting one fixes the other where it stands.
follows = [settings.frame_start, settings.frame_end]
scene.frame_end = 90
follows.append(settings.frame_end)
scene.frame_end = 64
settings.frame_start = 7
scene.frame_start, scene.frame_end = 1, 250
fixed = [settings.frame_start, settings.frame_end]
other = rig.create_character("Other", with_body=False)
emit(follows=follows, fixed=fixed, other=[other.body_language.frame_start,
                                          other.body_language.frame_end])
bpy.data.objects.remove(other)
settings.frame_start, settings.frame_end = 5, 64


class Recorder:
    """Stands in for UILayout: keeps the labels and which From-To row is active."""

    def __init__(self, log):
        self.__dict__["log"] = log

    def __setattr__(self, name, value):
        self.__dict__[name] = value

    def __getattr__(self, name):
        def call(*args, **kwargs):
            child = Recorder(self.log)
            if name == "label":
                self.log.append(["label", kwargs.get("text", "")])
            if name == "prop" and args[1] == "frame_start":
                self.log.append(["range_active", self.__dict__.get("active", True)])
            return child
        return call


def panel_log():
    log = []
    context = types.SimpleNamespace(scene=scene, window_manager=bpy.context.window_manager,
                                    active_object=armature, preferences=bpy.context.preferences)
    bpy.types.BODY_LANGUAGE_PT_main.draw(types.SimpleNamespace(layout=Recorder(log)), context)
    return log


def run_job(**changes):
    """Generate in the blocking way with the settings changed: (request, messages, report),
    the messages being every one the worker sent and then those the job showed."""
    for key, value in changes.items():
        setattr(settings, key, value)
    request = scene_inputs.build_generate_request(scene, armature, client)
    job = jobs.GenerateJob(client, request, worker_settings.model_spec(config))
    sent, shown = [], []
    on_message = job._on_message
    # The job shows the latest message per step; the worker's every message is recorded here.
    job._on_message = lambda message: (message.type == "progress" and sent.append(
        message.message), on_message(message))
    state = job.run(on_progress=lambda fraction, message: shown.append(message))
    if state != jobs.FINISHED:
        raise RuntimeError(job.report)
    return request, [sent, shown], job.report


def part_frames(part):
    keys = [fc.keyframe_points for fc in
            from_actions.action_fcurves(keyframes.part_action(armature, part))]
    return [min(k[0].co[0] for k in keys), max(k[-1].co[0] for k in keys)]


def upper_hash():
    return hashlib.sha256(b"".join(
        np.array([p.co[1] for p in fc.keyframe_points], np.float32).tobytes()
        for fc in from_actions.action_fcurves(keyframes.part_action(armature, "upper"))
    )).hexdigest()


# 1. No sound strip at all: the From-To frames, from the prompt.
emit(panel_no_audio=panel_log())
settings.prompt, settings.emotion, settings.seed = "wave hello", "happiness", 3
request, messages, report = run_job()
emit(text_only_fields=[request.fields["audio"], request.fields["duration"],
                       "prompts" in request.fields, request.clip.frame_start],
     text_only_report=report, text_only_messages=messages,
     text_only_frames={part: part_frames(part) for part in ("face", "upper")})
plain_upper = upper_hash()

# 2. Markers on the timeline (and some that are not prompts, or miss the range).
for name, frame in (("bl: wave hello", 20), ("bl: nod", 40), ("bl:", 45), ("camera cut", 30),
                    ("BL: shrug", 500), ("bl: too early", 2), ("bl: same frame", 2)):
    scene.timeline_markers.new(name, frame=frame)
request, messages, report = run_job()
emit(marker_fields=request.fields["prompts"], marker_report=report,
     markers_changed_motion=upper_hash() != plain_upper)
for marker in list(scene.timeline_markers):
    scene.timeline_markers.remove(marker)

# 3. With audio: Audio None ignores it, a muted strip is no audio, else the audio is read.
editor = scene.sequence_editor_create()
if hasattr(editor, "strips"):
    strip = editor.strips.new_sound("line", WAV, 1, 10)
    emit(panel_with_audio=panel_log())
    strip.mute = True
    muted = scene_inputs.build_generate_request(scene, armature, client).fields["audio"]
    strip.mute = False
else:
    settings.audio_source, settings.audio_file, settings.audio_start_frame = "FILE", WAV, 10
    emit(panel_with_audio=panel_log())
    muted = None
settings.audio_source = "NONE"
emit(panel_none=panel_log(), none_audio=scene_inputs.build_generate_request(
    scene, armature, client).fields["audio"], muted_audio=muted)
request, messages, report = run_job(audio_source="SCENE" if hasattr(editor, "strips")
                                    else "FILE")
emit(audio_messages=messages, audio_report=report,
     audio_fields=[request.fields["audio"] is not None, "duration" in request.fields])


# 4. Modal: "Writing keys" shows before the keys go in; Esc cancels only a running job.
class FakeWindowManager:
    body_language_job = property(lambda self: bpy.context.window_manager.body_language_job)

    def progress_update(self, value):
        pass


class Workspace:
    def __init__(self):
        self.texts = []

    def status_text_set(self, text):
        self.texts.append(text)


class ModalGenerate(operators._JobOperator):
    make_job = operators.BODY_LANGUAGE_OT_generate.make_job

    def __init__(self):
        self.reports = []

    def report(self, level, text):
        self.reports.append([sorted(level), text])


TIMER = types.SimpleNamespace(type="TIMER", value="NOTHING", timer=None)
ESC = types.SimpleNamespace(type="ESC", value="PRESS", timer=None)
workspace = Workspace()
context = types.SimpleNamespace(scene=scene, window_manager=FakeWindowManager(),
                                workspace=workspace, screen=None, active_object=None,
                                preferences=bpy.context.preferences)
op = ModalGenerate()
op._create(context)
returns = []
for _ in range(2400):
    returns.append(sorted(op.modal(context, TIMER)))
    if returns[-1] != ["PASS_THROUGH"]:
        break
    time.sleep(0.05)
emit(modal_returns=[returns[-1], len(returns)], modal_texts=workspace.texts,
     modal_reports=op.reports)

op = ModalGenerate()
op._create(context)
first = sorted(op.modal(context, TIMER))
op._job.cancel()                    # the Cancel button: the job has ended, the operator not yet
after_end = sorted(op.modal(context, ESC))
finished = sorted(op.modal(context, TIMER))
op = ModalGenerate()
op._create(context)
running_esc = sorted(op.modal(context, ESC))
emit(esc=[first, after_end, finished, running_esc], esc_reports=op.reports)
runtime.shutdown_shared()
'''


@pytest.fixture(scope="module")
def extension_zip(tmp_path_factory) -> Path:
    return build.build_extension(ROOT, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module", params=BPY_VERSIONS)
def workflow(request, tmp_path_factory, extension_zip) -> dict:
    tmp = tmp_path_factory.mktemp(f"workflow-{request.param}")
    wav = write_tone(tmp / "line.wav", 1.0)
    model = tiny_masked_model_folder(tmp_path_factory)
    prelude = PRELUDE.format(zip=str(extension_zip), module=MODULE, python=sys.executable,
                             checkpoint=str(model))
    code = prelude + SCRIPT.replace("__WAV__", repr(str(wav)))
    values = run_in_blender(code, tmp, python=bpy_python(request.param), timeout=600).values
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
