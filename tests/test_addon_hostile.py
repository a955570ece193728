"""Hostile inputs to the add-on's Generate (issue 13), in real headless Blender.

- A rig that has only some of the 55 SMPL-X bones: the keys go on, and the operator reports a
  warning naming every joint of the chosen parts that has no bone; a generation that could key
  no bone at all is refused before the worker starts.
- Undo: Generate is one undo step. Headless Blender does not record the step Blender pushes
  for an UNDO-flagged operator when it returns FINISHED, so the tests check the flag, that the
  modal operator returns FINISHED exactly once per job (CANCELLED on Esc or failure: no step),
  and, with that push made by hand (`ed.undo_push`), that one memfile undo restores every
  F-curve, NLA track, custom property and rig switch (IK_FK, neck_follow) and redo brings the
  generation back. The add-on's own restore for failures (staged tracks, pose properties) is
  checked by failing it on purpose at each stage: the scene must come out identical.
- Keeps good: rigs in NLA tweak mode or linked from a library are refused up front; sound
  strips or armatures deleted (or moved, or unlinked) while the worker runs give a clear
  message and leave the scene untouched; a worker killed or stopped mid-job is reported, and
  the next Generate starts a fresh one; an undo while generating is survived.

One Blender process per scenario group keeps the file fast: the tests below read the values
of a module-scoped run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from blender_harness import BPY_VERSIONS, bpy_python, run_in_blender
from test_addon_generate import MODULE, PRELUDE, write_tone
from tiny_model import tiny_model_folder

import build
from core.skeleton import JOINT_NAMES, PART_JOINTS

ROOT = Path(build.__file__).resolve().parent


def missing_listing(present: set[str]) -> str:
    """The coverage warning's list of joints without a bone, built independently of the add-on."""
    listed = []
    for part in ("face", "hands", "upper", "lower"):
        names = [JOINT_NAMES[j] for j in PART_JOINTS[part] if JOINT_NAMES[j] not in present]
        if len(names) == len(PART_JOINTS[part]):
            listed.append(f"{part} (all {len(names)} joints)")
        elif len(names) > 6:
            listed.append(f"{part} ({', '.join(names[:6])} and {len(names) - 6} more)")
        elif names:
            listed.append(f"{part} ({', '.join(names)})")
    return "; ".join(listed)


# Shared by both scripts: a snapshot of everything Generate may change, rigs with some bones,
# and a bone map that sets Rigify-style switches on the SMPL-X character.
HELPERS = r'''
import json, types
bone_map = importlib.import_module(MODULE + ".bone_map")
bone_maps = importlib.import_module(MODULE + ".bone_maps")
operators = importlib.import_module(MODULE + ".operators")
AddonInputError = importlib.import_module(MODULE + ".motion_arrays").AddonInputError


def plain(value):
    for method in ("to_dict", "to_list"):
        if hasattr(value, method):
            return getattr(value, method)()
    return value


def curve_hash(fc):
    points, arrays = fc.keyframe_points, []
    for name in ("co", "handle_left", "handle_right"):
        values = np.empty(2 * len(points), np.float32)
        points.foreach_get(name, values)
        arrays.append(values.tobytes())
    return hashlib.sha256(b"".join(arrays)).hexdigest()


def strip_state(s):
    return [s.name, s.action.name if s.action else None, s.frame_start, s.frame_end,
            s.action_frame_start, s.action_frame_end, s.extrapolation, s.blend_type, s.mute,
            s.influence]


def full_snapshot():
    """Every action and F-curve key, every ID's animation data, NLA track and strip, every
    object's and pose bone's custom properties, rotation modes and shape-key slider ranges."""
    # Evaluated, as the UI always is: evaluation writes animated custom properties' values.
    bpy.context.view_layer.update()
    state = {"actions": sorted(action.name for action in bpy.data.actions)}
    for action in bpy.data.actions:
        state["action|" + action.name] = [action.users, [
            [fc.data_path, fc.array_index, curve_hash(fc)]
            for fc in from_actions.action_fcurves(action)]]
    for owner in (*bpy.data.objects, *bpy.data.shape_keys):
        data = owner.animation_data
        if data is not None:
            state["anim|" + owner.name] = [
                data.action.name if data.action else None, data.use_tweak_mode,
                len(data.drivers),
                [[t.name, t.mute, t.lock, t.is_solo, [strip_state(s) for s in t.strips]]
                 for t in data.nla_tracks]]
    for obj in bpy.data.objects:
        state["props|" + obj.name] = {key: plain(obj[key]) for key in obj.keys()}
        if obj.pose is not None:
            state["pose|" + obj.name] = {
                bone.name: [bone.rotation_mode, {key: plain(bone[key]) for key in bone.keys()}]
                for bone in obj.pose.bones}
    for key in bpy.data.shape_keys:
        state["sliders|" + key.name] = [[b.name, b.slider_min, b.slider_max]
                                         for b in key.key_blocks]
    # Pointers to data-blocks by name: their addresses change with every undo.
    return json.loads(json.dumps(state, default=lambda v: getattr(v, "name", repr(v))))


def differences(a, b):
    return sorted(key for key in set(a) | set(b) if a.get(key) != b.get(key))[:10]


def partial_rig(name, bones):
    """An armature with only the named SMPL-X bones, at the character's rest positions."""
    armature = bpy.data.objects.new(name, bpy.data.armatures.new(name))
    bpy.context.scene.collection.objects.link(armature)
    bpy.context.view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    edit = armature.data.edit_bones
    for spec in rig.bone_layout():
        if spec.name in bones:
            bone = edit.new(spec.name)
            bone.head, bone.tail = spec.head.tolist(), spec.tail.tolist()
            if spec.parent in bones:
                bone.parent = edit[spec.parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    return armature


SMPLX = bone_map.load_presets()["smplx"]
SWITCHES = bone_map.BoneMap("Rig switches", SMPLX.bones, (
    bone_map.PoseProperty("left_shoulder", "IK_FK", 1.0),
    bone_map.PoseProperty("spine3", "neck_follow", 1.0),
    bone_map.PoseProperty("spine3", "head_follow", 1.0)))


def random_motion(frames, seed):
    rng = np.random.default_rng(seed)
    return MotionArrays.from_arrays(rng.normal(scale=0.2, size=(frames, 55, 3)),
                                    rng.normal(scale=0.05, size=(frames, 3)),
                                    rng.uniform(size=(frames, 2)), ("jawOpen", "eyeBlinkLeft"))


def attempt(call):
    """The AddonInputError message of a refused call, or the call's result."""
    try:
        return call()
    except AddonInputError as exc:
        return "refused: " + str(exc)


def operator_generate():
    """Generate as a user runs it: its result and report (an ERROR report raises)."""
    status = bpy.context.window_manager.body_language_job
    status.last_report = ""
    try:
        result = sorted(bpy.ops.body_language.generate())
    except RuntimeError as exc:
        if "poll()" in str(exc):  # not run at all: say so rather than show an old report
            return ["POLL FAILED"], str(exc)
        result = ["CANCELLED"]
    return result, status.last_report
'''


def run(code: str, tmp_path: Path, version: str, extension_zip: Path,
        checkpoint: Path | None = None):
    checkpoint = checkpoint or (tmp_path / "checkpoint")
    checkpoint.mkdir(exist_ok=True)
    prelude = PRELUDE.format(zip=str(extension_zip), module=MODULE, python=sys.executable,
                             checkpoint=str(checkpoint))
    return run_in_blender(prelude + HELPERS + code, tmp_path, python=bpy_python(version))


@pytest.fixture(scope="module")
def extension_zip(tmp_path_factory) -> Path:
    return build.build_extension(ROOT, tmp_path_factory.mktemp("dist"))


# ---------------------------------------------------------------------------- without a worker

RIG_SCRIPT = r'''
wav = {wav!r}
emit(generate_options=sorted(bpy.types.BODY_LANGUAGE_OT_generate.bl_options))

# A rig with 3 of the 55 bones: keyed, with a warning naming the rest.
three = partial_rig("Three", {{"pelvis", "spine1", "head"}})
result = keyframes.write_motion(three, random_motion(20, 0), start_frame=1)
emit(three_warnings=list(result.warnings), three_missing=result.missing,
     three_bones=result.bones)
before = full_snapshot()
emit(hands_only=attempt(lambda: keyframes.write_motion(three, random_motion(20, 1),
                                                       parts=["hands"])),
     hands_unchanged=full_snapshot() == before)
nothing = partial_rig("Nothing", {{"pelvis"}})
nothing.data.bones["pelvis"].name = "Bone"
before = full_snapshot()
emit(nothing=attempt(lambda: keyframes.write_motion(nothing, random_motion(20, 1))),
     nothing_unchanged=full_snapshot() == before)

# The operator refuses before the worker starts or any file is written.
scene.body_language.target = three
settings = three.body_language
settings.audio_source, settings.audio_file, settings.parts = "FILE", wav, {{"hands"}}
before = full_snapshot()
emit(operator_refusal=operator_generate(), operator_unchanged=full_snapshot() == before)
client = runtime.current_client()
emit(worker_started=client is not None and client.alive,
     exchange_files=[] if client is None else os.listdir(client.exchange_dir))

# Failures at each stage of a write leave the scene identical: rig switches, muted and locked
# tracks, face shape keys and their slider ranges included.
speaker = rig.create_character("Speaker", with_body=True)
keyframes.write_motion(speaker, random_motion(30, 2), start_frame=10)
speaker.pose.bones["left_shoulder"]["IK_FK"] = 0.0
tracks = speaker.animation_data.nla_tracks
tracks["BL upper"].mute, tracks["BL hands"].lock = True, True
real = {{name: getattr(keyframes, name) for name in
        ("stage_on_track", "build_shape_key_actions", "_prepare")}}
failures, staged = {{}}, []


def fail_on_fifth(*args):
    staged.append([type(args[0]).__name__, args[1]])
    if len(staged) == 5:
        raise RuntimeError("injected failure while staging")
    return real["stage_on_track"](*args)


def fail(*args, **kwargs):
    raise RuntimeError("injected failure")


for name, replacement in (("stage_on_track", fail_on_fifth),
                          ("build_shape_key_actions", fail), ("_prepare", fail)):
    setattr(keyframes, name, replacement)
    before = full_snapshot()
    try:
        keyframes.write_motion(speaker, random_motion(40, 3), start_frame=20, bone_map=SWITCHES)
        failures[name] = "written"
    except RuntimeError as exc:
        now = full_snapshot()
        failures[name] = [str(exc), now == before, differences(before, now)]
    setattr(keyframes, name, real[name])
emit(failures=failures, staged=staged)

# The same write, without failures: tracks keep their place, names and switches; the old
# actions go.
result = keyframes.write_motion(speaker, random_motion(40, 3), start_frame=20,
                                bone_map=SWITCHES)
data = speaker.animation_data
emit(written_tracks=[[t.name, t.mute, t.lock, [strip_state(s) for s in t.strips]]
                     for t in data.nla_tracks],
     written_actions=sorted(a.name for a in bpy.data.actions),
     orphans=[a.name for a in bpy.data.actions if a.users == 0],
     switches=[speaker.pose.bones["left_shoulder"]["IK_FK"],
               speaker.pose.bones["spine3"]["neck_follow"],
               speaker.pose.bones["spine3"]["head_follow"]],
     written_warnings=list(result.warnings))

# NLA tweak mode: refused by the writer and by Generate, before anything changes.
hands = data.nla_tracks["BL hands"]
data.nla_tracks.active = hands
hands.select = hands.strips[0].select = True
data.use_tweak_mode = True
scene.body_language.target = speaker
speaker.body_language.audio_source, speaker.body_language.audio_file = "FILE", wav
before = full_snapshot()
emit(tweak_on=data.use_tweak_mode,
     tweak_write=attempt(lambda: keyframes.write_motion(speaker, random_motion(20, 4))),
     tweak_operator=operator_generate(), tweak_unchanged=full_snapshot() == before)
data.use_tweak_mode = False

# A rig linked from a library cannot be animated here: refused, naming the library.
library = os.path.join({tmp!r}, "library.blend")
bpy.data.libraries.write(library, {{three}})
with bpy.data.libraries.load(library, link=True) as (source, target):
    target.objects = ["Three"]
linked = target.objects[0]
scene.collection.objects.link(linked)
before = full_snapshot()
emit(linked=attempt(lambda: keyframes.write_motion(linked, random_motion(20, 5))),
     linked_unchanged=full_snapshot() == before, library=library)
'''


@pytest.fixture(scope="module", params=BPY_VERSIONS)
def rig_run(request, tmp_path_factory, extension_zip) -> dict:
    tmp = tmp_path_factory.mktemp(f"rig{request.param}")
    wav = write_tone(tmp / "line.wav", 1.0)
    code = RIG_SCRIPT.format(wav=str(wav), tmp=str(tmp))
    return run(code, tmp, request.param, extension_zip).values


def test_generate_is_one_undo_step_by_its_flag(rig_run):
    assert rig_run["generate_options"] == ["REGISTER", "UNDO"]


def test_a_rig_with_3_of_55_bones_is_keyed_with_a_warning_naming_the_rest(rig_run):
    present = {"pelvis", "spine1", "head"}
    coverage, face = rig_run["three_warnings"]
    assert coverage == ("keyed 3 of the 55 SMPL-X joints on Three: bone map 'SMPL-X' finds no "
                        "bone for " + missing_listing(present))
    assert face.startswith("no child mesh of Three has shape keys")
    assert rig_run["three_missing"] == {
        part: [JOINT_NAMES[j] for j in PART_JOINTS[part] if JOINT_NAMES[j] not in present]
        for part in ("face", "hands", "upper", "lower")}
    assert rig_run["three_bones"] == {"face": [], "hands": [], "upper": ["spine1", "head"],
                                      "lower": ["pelvis"]}


def test_a_generation_that_could_key_no_bone_is_refused(rig_run):
    assert rig_run["hands_only"] == (
        "refused: bone map 'SMPL-X' finds no bone of hands in Three, so there is nothing to "
        "animate: choose the bone map that fits this rig, or other parts")
    assert rig_run["nothing"] == (
        "refused: Nothing has none of the bones bone map 'SMPL-X' looks for (such as pelvis, "
        "left_hip, right_hip): choose the bone map that fits this rig, or fill a custom one")
    assert rig_run["hands_unchanged"] and rig_run["nothing_unchanged"]


def test_generate_refuses_a_rig_without_the_parts_bones_before_the_worker_starts(rig_run):
    result, report = rig_run["operator_refusal"]
    assert result == ["CANCELLED"]
    assert report == ("bone map 'SMPL-X' finds no bone of hands in Three, so there is nothing "
                      "to animate: choose the bone map that fits this rig, or other parts")
    assert rig_run["operator_unchanged"]
    assert not rig_run["worker_started"] and rig_run["exchange_files"] == []


@pytest.mark.parametrize("stage", ["stage_on_track", "build_shape_key_actions", "_prepare"])
def test_a_write_failing_at_any_stage_leaves_the_scene_identical(rig_run, stage):
    message, unchanged, changed = rig_run["failures"][stage]
    assert message.startswith("injected failure")
    assert unchanged, f"changed by a failed write: {changed}"


def test_the_injected_staging_failure_came_after_four_tracks_were_staged(rig_run):
    # Four part tracks and then the body's shape-key track: the rollback had four to undo.
    assert rig_run["staged"] == [["Object", "BL face"], ["Object", "BL hands"],
                                 ["Object", "BL upper"], ["Object", "BL lower"],
                                 ["Key", "BL face"]]


def test_a_write_keeps_track_places_names_and_switches_and_frees_old_actions(rig_run):
    tracks = rig_run["written_tracks"]
    assert [t[:3] for t in tracks] == [["BL face", False, False], ["BL hands", False, True],
                                       ["BL upper", True, False], ["BL lower", False, False]]
    for name, _mute, _lock, strips in tracks:
        assert len(strips) == 1
        assert strips[0][:3] == [name, f"{name} Speaker", 20.0]
        assert strips[0][6:8] == ["HOLD", "REPLACE"]
    assert rig_run["orphans"] == []
    assert [a for a in rig_run["written_actions"] if "Speaker" in a] == [
        "BL face Speaker", "BL face Speaker Key", "BL hands Speaker", "BL lower Speaker",
        "BL upper Speaker"]
    assert rig_run["switches"] == [1.0, 1.0, 1.0]
    assert rig_run["written_warnings"] == []


def test_a_rig_in_nla_tweak_mode_is_refused_before_anything_changes(rig_run):
    assert rig_run["tweak_on"]
    expected = ("the NLA of Speaker is in tweak mode (editing BL hands Speaker): leave tweak "
                "mode in the NLA editor (Tab) and generate again")
    assert rig_run["tweak_write"] == "refused: " + expected
    assert rig_run["tweak_operator"] == [["CANCELLED"], expected]
    assert rig_run["tweak_unchanged"]


def test_a_linked_rig_is_refused_naming_its_library(rig_run):
    assert rig_run["linked"] == (
        f"refused: Three is linked from {rig_run['library']}, so its animation cannot be "
        "changed here: make it local or add a library override first")
    assert rig_run["linked_unchanged"]


# ---------------------------------------------------------------------------- with the worker

WORKER_SCRIPT = r'''
bone_map.save_bone_map(SWITCHES, bone_maps.user_preset_dir(create=True) / "rig_switches.json")
speaker = rig.create_character("Speaker", with_body=False)
scene.body_language.target = speaker
speaker.body_language.bone_map = "rig_switches"
scene.sequence_editor_create().strips.new_sound("line", {wav!r}, 1, 10)
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
    for event in events:
        result = op.modal(context, event)
        returns.append(sorted(result))
        if result != {{"PASS_THROUGH"}}:
            break
        untouched = untouched and full_snapshot() == before
        time.sleep(0.05)
    return returns, untouched


TIMER = types.SimpleNamespace(type="TIMER", value="NOTHING", timer=None)
ESC = types.SimpleNamespace(type="ESC", value="PRESS", timer=None)
three = partial_rig("Three", {{"pelvis", "spine1", "head"}})
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
late = []
for _ in range(1200):
    late += [m.kind for m in client.poll(timeout=0.05) if m.type == "error"]
    if late:
        break
emit(esc_returns=returns, esc_reports=reports, esc_unchanged=full_snapshot() == before,
     esc_late=late)


def start_job(name):
    """A Generate job for the named armature, sent to the worker."""
    config = worker_settings.runtime_config(bpy.context)
    armature = bpy.context.scene.objects[name]
    request = scene_inputs.build_generate_request(bpy.context.scene, armature, client)
    job = jobs.GenerateJob(client, request, worker_settings.model_spec(config))
    job.start()
    return job


def finish(job, key):
    """Let the job end after the scene was changed under it; the scene must stay as it is."""
    before = full_snapshot()
    state = job.run()
    emit(**{{key: [state, job.report, differences(before, full_snapshot())]}})


# 3. Deleted, unlinked armatures and deleted or moved strips while the worker runs.
job = start_job("Three")
bpy.data.objects.remove(bpy.context.scene.objects["Three"])
finish(job, "deleted_armature")
partial_rig("Unlinked", {{"pelvis", "spine1", "head"}})
job = start_job("Unlinked")
bpy.context.scene.collection.objects.unlink(bpy.data.objects["Unlinked"])
finish(job, "unlinked_armature")
job = start_job("Speaker")
scene, speaker, strip = live()
scene.sequence_editor.strips.remove(strip)
finish(job, "deleted_strip")
scene.sequence_editor.strips.new_sound("line", {wav!r}, 1, 10)
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
'''


@pytest.fixture(scope="module")
def worker_run(tmp_path_factory, extension_zip) -> dict:
    tmp = tmp_path_factory.mktemp("worker")
    wav = write_tone(tmp / "line.wav", 1.0)
    model = tiny_model_folder(tmp_path_factory)
    return run(WORKER_SCRIPT.format(wav=str(wav)), tmp, "5.0", extension_zip, model).values


def test_one_undo_restores_keys_tracks_and_rig_switches_and_redo_brings_them_back(worker_run):
    assert worker_run["first_take"][0] == ["FINISHED"]
    assert worker_run["undo_generate"][0] == ["FINISHED"]
    # The generation changed keys and switches ...
    assert "pose|Speaker" in worker_run["undo_changed"]
    assert any(key.startswith("action|BL ") for key in worker_run["undo_changed"])
    assert worker_run["switches_before"] == {"IK_FK": 0.0}
    assert worker_run["switches_after"] == {"neck_follow": 1.0, "head_follow": 1.0}
    # ... one undo takes all of it back, and redo brings it again.
    assert worker_run["undone_diff"] == [] and worker_run["redone_diff"] == []


def test_modal_generate_finishes_once_with_a_warning_naming_missing_bones(worker_run):
    last, finished, steps = worker_run["modal_returns"]
    assert last == ["FINISHED"] and finished == 1 and steps > 1
    assert worker_run["modal_untouched"]
    warning = ("keyed 3 of the 55 SMPL-X joints on Three: bone map 'SMPL-X' finds no bone for "
               + missing_listing({"pelvis", "spine1", "head"}))
    assert worker_run["modal_warnings"][0] == warning
    (level, report), = worker_run["modal_reports"]
    assert level == ["WARNING"] and warning in report
    assert report.startswith("Animated face, hands, upper, lower of Three: ")
    assert set(worker_run["modal_missing"]) == {"face", "hands", "upper", "lower"}
    assert len(worker_run["modal_missing"]["hands"]) == 30


def test_esc_cancels_without_an_undo_step_or_a_change(worker_run):
    assert worker_run["esc_returns"] == [["CANCELLED"]]
    assert worker_run["esc_reports"] == [[["WARNING"], "Cancelled; the scene is unchanged"]]
    assert worker_run["esc_unchanged"] and worker_run["esc_late"] == ["cancelled"]


@pytest.mark.parametrize("case, message", [
    ("deleted_armature", "Three or its scene was deleted while generating"),
    ("unlinked_armature", "Unlinked or its scene was deleted while generating"),
    ("deleted_strip", "the sound strip 'line' was deleted (or renamed) while generating: "
                      "generate again"),
    ("moved_strip", "the sound strip 'line' was moved or trimmed while generating (frames "
                    "10-39, now 15-44): generate again"),
])
def test_scene_changes_under_a_running_job_fail_it_clearly_and_touch_nothing(
        worker_run, case, message):
    state, report, changed = worker_run[case]
    assert state == "FAILED"
    assert report == f"Generate failed: {message}; the scene is unchanged"
    assert changed == []


def test_a_killed_worker_is_reported_and_the_next_generate_restarts_it(worker_run):
    state, report, changed = worker_run["killed"]
    assert state == "FAILED" and changed == []
    assert report.startswith("Generate failed: The model worker stopped unexpectedly "
                             "(exit code -9).")
    assert report.endswith("(the worker's log is in the system console); the scene is "
                           "unchanged")
    assert worker_run["after_kill"][0] == ["FINISHED"], worker_run["after_kill"]
    assert worker_run["restarts_after_kill"] == 1


def test_a_stopped_worker_times_out_is_killed_and_the_next_generate_restarts_it(worker_run):
    state, report, changed = worker_run["stopped"]
    assert state == "FAILED" and changed == []
    assert report == ("Generate failed: The model worker did not answer for 3 s; it was stopped "
                      "and will start afresh on the next request. The scene is unchanged.")
    assert worker_run["stopped_gone"]
    assert worker_run["after_stop"][0] == ["FINISHED"], worker_run["after_stop"]
    assert worker_run["restarts_after_stop"] == 2


def test_an_undo_while_generating_still_animates_the_armature(worker_run):
    state, report = worker_run["undo_mid_job"]
    assert state == "FINISHED", report
    assert report.startswith("Animated face, hands, upper, lower of Speaker")
    assert worker_run["hands_replaced"]
