"""Hostile scenes with a real worker: one undo restores a generation, the modal operator
finishes once or cancels on Esc, scene changes under a running job fail it cleanly, a killed or
stopped worker is reported and restarted, an undo while generating is survived (params "wav")."""

import os
import signal
import time
import types

import bpy
from blender_snippet import emit, params
from hostile_scene import (
    SWITCHES,
    bone_map,
    bone_maps,
    differences,
    full_snapshot,
    operator_generate,
    operators,
    partial_rig,
)
from installed_addon import generate_job, rig, runtime, scene
from worker_waits import next_messages, wait_for_news

bone_map.save_bone_map(SWITCHES, bone_maps.user_preset_dir(create=True) / "rig_switches.json")
speaker = rig.create_character("Speaker", with_body=False)
scene.body_language.target = speaker
speaker.body_language.bone_map = "rig_switches"
scene.sequence_editor_create().strips.new_sound("line", params["wav"], 1, 10)
emit(first_take=operator_generate())
client = runtime.current_client()
bpy.ops.ed.undo_push(message="first take")


def live():
    """Fresh references: an undo replaces every Python reference to scene data."""
    scene = bpy.context.scene
    return scene, scene.objects["Speaker"], scene.sequence_editor.strips_all["line"]


# 1. One undo restores everything Generate changed: keys, tracks and the rig's switches.
scene, speaker, strip = live()
speaker.pose.bones["left_shoulder"]["IK_FK"] = 0.0      # the animator went back to IK...
del speaker.pose.bones["spine3"]["neck_follow"]          # ...and dropped a switch
speaker.body_language.seed = 5
bpy.ops.ed.undo_push(message="rig edits")
before = full_snapshot()
result = operator_generate()
after = full_snapshot()
# Blender pushes this step itself when an UNDO-flagged operator returns FINISHED; headless
# Blender does not, so the test makes the same push.
bpy.ops.ed.undo_push(message="Generate")
bpy.ops.ed.undo()
undone = full_snapshot()
bpy.ops.ed.redo()
redone = full_snapshot()
scene, speaker, strip = live()
emit(undo_generate=result, undo_changed=differences(before, after),
     undone_diff=differences(before, undone), redone_diff=differences(after, redone),
     switches_before=before["pose|Speaker"]["left_shoulder"][1],
     switches_after=after["pose|Speaker"]["spine3"][1])


# 2. The modal operator on a rig with 3 of 55 bones: PASS_THROUGH while the worker runs, then
# FINISHED once (one undo step) with a warning report; Esc gives CANCELLED (no step).
class FakeWindowManager:
    body_language_job = property(lambda self: bpy.context.window_manager.body_language_job)

    def progress_update(self, value):
        pass


class ModalGenerate(operators._JobOperator):
    """Generate's own methods on a plain object: Blender makes operator instances only for a
    call, and headless Blender has no event loop to run a modal one."""

    make_job = operators.BODY_LANGUAGE_OT_generate.make_job

    def __init__(self, reports):
        self.reports = reports

    def report(self, level, text):
        self.reports.append([sorted(level), text])


def modal_operator(reports):
    return ModalGenerate(reports)


def drive(op, events):
    context = types.SimpleNamespace(
        scene=bpy.context.scene, window_manager=FakeWindowManager(), workspace=None,
        screen=None, active_object=None, preferences=bpy.context.preferences)
    before = full_snapshot()
    returns, untouched = [], True
    op._create(context)
    deadline = time.monotonic() + 60
    for event in events:
        result = op.modal(context, event)
        returns.append(sorted(result))
        if result != {"PASS_THROUGH"}:
            break
        untouched = untouched and full_snapshot() == before
        wait_for_news(op._job, deadline)
    return returns, untouched


TIMER = types.SimpleNamespace(type="TIMER", value="NOTHING", timer=None)
ESC = types.SimpleNamespace(type="ESC", value="PRESS", timer=None)
three = partial_rig("Three", {"pelvis", "spine1", "head"})
bpy.context.scene.body_language.target = three
reports = []
op = modal_operator(reports)
returns, untouched = drive(op, [TIMER] * 1200)
emit(modal_returns=[returns[-1], returns.count(["FINISHED"]), len(returns)],
     modal_untouched=untouched, modal_reports=reports, modal_warnings=list(op._job.warnings),
     modal_missing=op._job.result.missing)
reports = []
op = modal_operator(reports)
before = full_snapshot()
returns, _untouched = drive(op, [ESC])
late = [m.kind for m in next_messages(client, lambda m: m.type == "error")]
emit(esc_returns=returns, esc_reports=reports, esc_unchanged=full_snapshot() == before,
     esc_late=late)


def start_job(name):
    """A Generate job for the named armature, sent to the worker."""
    _request, job = generate_job(bpy.context.scene.objects[name], client)
    job.start()
    return job


def finish(job, key):
    """Let the job end after the scene was changed under it; the scene must stay as it is."""
    before = full_snapshot()
    state = job.run()
    emit(**{key: [state, job.report, differences(before, full_snapshot())]})


# 3. Deleted, unlinked armatures and deleted or moved strips while the worker runs.
job = start_job("Three")
bpy.data.objects.remove(bpy.context.scene.objects["Three"])
finish(job, "deleted_armature")
partial_rig("Unlinked", {"pelvis", "spine1", "head"})
job = start_job("Unlinked")
bpy.context.scene.collection.objects.unlink(bpy.data.objects["Unlinked"])
finish(job, "unlinked_armature")
job = start_job("Speaker")
scene, speaker, strip = live()
scene.sequence_editor.strips.remove(strip)
finish(job, "deleted_strip")
scene.sequence_editor.strips.new_sound("line", params["wav"], 1, 10)
job = start_job("Speaker")
scene, speaker, strip = live()
strip.frame_start = 15
finish(job, "moved_strip")
strip.frame_start = 10

# 4. A worker killed, then one stopped, mid-job: reported, and the next Generate starts afresh.
bpy.context.scene.body_language.target = live()[1]
job = start_job("Speaker")
os.kill(client.pid, signal.SIGKILL)
finish(job, "killed")
emit(after_kill=operator_generate(), restarts_after_kill=client.restarts)
job = start_job("Speaker")
job.client._pending[job.request_id].deadline_after = 3.0
stopped = client.pid
os.kill(stopped, signal.SIGSTOP)
finish(job, "stopped")
try:
    os.kill(stopped, 0)
    emit(stopped_gone=False)
except ProcessLookupError:
    emit(stopped_gone=True)
emit(after_stop=operator_generate(), restarts_after_stop=client.restarts)

# 5. An undo while the worker runs: the answer goes onto the armature as it is after the undo.
bpy.ops.ed.undo_push(message="before the job")
live()[1].body_language.seed = 9
bpy.ops.ed.undo_push(message="seed")
job = start_job("Speaker")
old_hands = full_snapshot()["action|BL hands Speaker"]
bpy.ops.ed.undo()
state = job.run()
emit(undo_mid_job=[state, job.report],
     hands_replaced=full_snapshot()["action|BL hands Speaker"] != old_hands)
runtime.shutdown_shared()
