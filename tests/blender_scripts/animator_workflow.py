"""The animator's workflow with a real worker (params "wav"): tooltips, From-To following the
scene's range, generating without audio, timeline markers as timed prompts, audio on or off,
progress in plain words, and the modal operator's "Writing keys" and Esc."""

import hashlib
import importlib
import time
import types

import bpy
import numpy as np
from blender_snippet import emit, params
from installed_addon import (
    MODULE,
    from_actions,
    jobs,
    keyframes,
    rig,
    runtime,
    scene,
    scene_inputs,
    worker_settings,
)
from worker_waits import wait_for_news

operators = importlib.import_module(MODULE + ".operators")
WAV = params["wav"]
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
deadline = time.monotonic() + 120
for _ in range(2400):
    returns.append(sorted(op.modal(context, TIMER)))
    if returns[-1] != ["PASS_THROUGH"]:
        break
    wait_for_news(op._job, deadline)
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
