"""The installed extension's user-facing side in real headless Blender 5.0.1 and 4.2 LTS:
registration, the sound strips as worker audio, Generate's cancel and error paths with a real
worker (scene unchanged), the runtime setup.

The bpy 4.2 module from PyPI is built without Audaspace, so it cannot create sound strips
(`new_sound` raises); on 4.2 the tests use the audio-file source, and strips are tested on 5.0.
"""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from blender_harness import BPY_VERSIONS, bpy_python, run_in_blender
from tiny_model import tiny_model_folder

import build
from blender_addon.runtime_setup import REQUIREMENTS_FILE, RuntimeSetup, requirement_lines
from core.emotions import EMOTIONS
from core.shared.protocol import PROTOCOL_VERSION
from core.worker_audio import SAMPLE_RATE, mix_tracks, request_audio

ROOT = Path(build.__file__).resolve().parent
MODULE = "bl_ext.user_default.body_language"


@pytest.fixture(scope="module")
def extension_zip(tmp_path_factory) -> Path:
    return build.build_extension(ROOT, tmp_path_factory.mktemp("dist"))


def write_tone(path: Path, seconds: float, rate: int = 16000, level: float = 0.3) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (level * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(samples.tobytes())
    return path


# Installs the built zip, points the preferences at this venv's Python (it has torch) and a
# checkpoint folder, and defines helpers the snippets share.
PRELUDE = r'''
import importlib, os, signal, time, hashlib
import addon_utils
bpy.ops.extensions.package_install_files(filepath={zip!r}, repo="user_default",
                                         enable_on_install=True)
MODULE = {module!r}
addon = importlib.import_module(MODULE)
prefs = bpy.context.preferences.addons[MODULE].preferences
prefs.worker_python = {python!r}
prefs.checkpoint = {checkpoint!r}
jobs = importlib.import_module(MODULE + ".jobs")
keyframes = importlib.import_module(MODULE + ".keyframes")
rig = importlib.import_module(MODULE + ".rig")
runtime = importlib.import_module(MODULE + ".runtime")
scene_audio = importlib.import_module(MODULE + ".scene_audio")
scene_inputs = importlib.import_module(MODULE + ".scene_inputs")
worker_settings = importlib.import_module(MODULE + ".worker_settings")
from_actions = importlib.import_module(MODULE + ".actions")
MotionArrays = importlib.import_module(MODULE + ".motion_arrays").MotionArrays
scene = bpy.context.scene
scene.render.fps = 30
scene.render.fps_base = 1.0


def snapshot():
    """Every F-curve's keys, every NLA track and strip, the armatures' custom properties."""
    state = {{}}
    for action in bpy.data.actions:
        for fc in from_actions.action_fcurves(action):
            co = np.empty(2 * len(fc.keyframe_points), np.float32)
            fc.keyframe_points.foreach_get("co", co)
            key = f"{{action.name}}|{{fc.data_path}}|{{fc.array_index}}"
            state[key] = hashlib.sha256(co.tobytes()).hexdigest()
    for obj in bpy.data.objects:
        data = obj.animation_data
        if data is not None:
            state["nla|" + obj.name] = [
                [track.name, [[s.name, s.action.name if s.action else None, s.frame_start,
                               s.frame_end] for s in track.strips]]
                for track in data.nla_tracks]
        if obj.type == "ARMATURE":
            state["props|" + obj.name] = sorted(obj.keys())
    return state


def animated_speaker(name="Speaker", start=10, frames=60):
    """A character with every part keyed (a stand-in for an earlier generation)."""
    armature = rig.create_character(name, with_body=False)
    rng = np.random.default_rng(0)
    motion = MotionArrays.from_arrays(rng.normal(scale=0.2, size=(frames, 55, 3)),
                                      rng.normal(scale=0.05, size=(frames, 3)),
                                      rng.uniform(size=(frames, 2)), ("jawOpen", "eyeBlinkLeft"))
    keyframes.write_motion(armature, motion, start_frame=start)
    scene.body_language.target = armature
    return armature
'''


def run(code: str, tmp_path: Path, version: str, extension_zip: Path,
        checkpoint: Path | None = None, **kwargs):
    checkpoint = checkpoint or (tmp_path / "checkpoint")
    checkpoint.mkdir(exist_ok=True)
    prelude = PRELUDE.format(zip=str(extension_zip), module=MODULE, python=sys.executable,
                             checkpoint=str(checkpoint))
    return run_in_blender(prelude + code, tmp_path, python=bpy_python(version), **kwargs)


# ---------------------------------------------------------------------------- registration


class RecordingLayout:
    """Stands in for UILayout in panel.draw: checks every property and operator it is given."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems

    def __getattr__(self, name):
        def call(*args, **kwargs):
            if name in ("prop", "prop_search") and len(args) >= 2:
                data, prop = args[0], args[1]
                if prop not in data.bl_rna.properties:
                    self.problems.append(f"{type(data).__name__} has no property {prop}")
            if name in ("operator", "operator_menu_enum"):
                idname = args[0]
                category, op = idname.split(".")
                if not hasattr(getattr(__import__("bpy").ops, category), op):
                    self.problems.append(f"no operator {idname}")
            if name == "template_list":
                data, prop = args[2], args[3]
                if prop not in data.bl_rna.properties:
                    self.problems.append(f"{type(data).__name__} has no property {prop}")
            return RecordingLayout(self.problems)
        return call


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_extension_registers_panel_operators_and_settings(tmp_path, version, extension_zip):
    code = r'''
import inspect, types
emit(classes=sorted(name for name in dir(bpy.types) if name.startswith("BODY_LANGUAGE")))
panel = bpy.types.BODY_LANGUAGE_PT_main
emit(panel=[panel.bl_space_type, panel.bl_region_type, panel.bl_category])
properties = importlib.import_module(MODULE + ".properties")
emit(emotions=list(properties.EMOTIONS))
armature = animated_speaker()
settings = armature.body_language
emit(defaults=[settings.audio_source, sorted(settings.parts), settings.emotion, settings.seed,
               settings.bone_map])
emit(emotion_items=[item.identifier for item in
                    settings.bl_rna.properties["emotion"].enum_items])
chosen = []
for key in ("smplx", "mixamo", "rigify", "CUSTOM", "AUTO"):
    settings.bone_map = key  # an enum refuses values its items do not offer
    chosen.append(settings.bone_map)
emit(bone_maps=chosen)

# Every property and operator the panels name exists.
problems = []
exec(__RECORDING__, globals())
context = types.SimpleNamespace(scene=scene, window_manager=bpy.context.window_manager,
                                active_object=armature, preferences=bpy.context.preferences)
for panel_class in (bpy.types.BODY_LANGUAGE_PT_main, bpy.types.BODY_LANGUAGE_PT_emotion,
                    bpy.types.BODY_LANGUAGE_PT_retarget):
    fake = types.SimpleNamespace(layout=RecordingLayout(problems))
    for source in ("STRIPS", "FILE", "SCENE"):
        settings.audio_source = source
        settings.bone_map = "CUSTOM"
        panel_class.draw(fake, context)


class PreferencesProxy:
    """The real preferences, drawn into a recording layout."""

    def __init__(self, prefs):
        self.__dict__["_prefs"] = prefs
        self.__dict__["layout"] = RecordingLayout(problems)

    def __getattr__(self, name):
        return getattr(self._prefs, name)


type(prefs).draw(PreferencesProxy(prefs), context)
emit(problems=problems)

addon_utils.disable(MODULE, default_set=True)
emit(after=[name for name in dir(bpy.types) if name.startswith("BODY_LANGUAGE")],
     object_settings=hasattr(bpy.types.Object, "body_language"))
'''
    import inspect

    recording = inspect.getsource(RecordingLayout)
    result = run(code.replace("__RECORDING__", repr(recording)), tmp_path, version,
                 extension_zip)
    values = result.values
    assert "BODY_LANGUAGE_PT_main" in values["classes"]
    for operator in ("generate", "predict_emotion", "create_character", "cancel",
                     "bind_strip", "setup_runtime", "save_custom_map"):
        assert f"BODY_LANGUAGE_OT_{operator}" in values["classes"]
    assert values["panel"] == ["VIEW_3D", "UI", "Body Language"]
    assert tuple(values["emotions"]) == EMOTIONS
    assert values["emotion_items"] == ["AUTO", *EMOTIONS]
    assert values["defaults"] == ["SCENE", sorted(["face", "hands", "upper", "lower"]), "AUTO",
                                  0, "AUTO"]
    assert values["bone_maps"] == ["smplx", "mixamo", "rigify", "CUSTOM", "AUTO"]
    assert values["problems"] == []
    assert values["after"] == [] and not values["object_settings"]


# ---------------------------------------------------------------------------- sound strips


def test_sound_strips_become_the_worker_audio_exactly(tmp_path, extension_zip):
    a = write_tone(tmp_path / "a.wav", 2.0)
    b = write_tone(tmp_path / "b.wav", 1.0, level=0.5)
    code = rf'''
editor = scene.sequence_editor_create()
first = editor.strips.new_sound("first", {str(a)!r}, 1, 10)
first.frame_offset_start = 6          # trimmed head: plays from 0.2 s into the file
first.volume = 0.5
second = editor.strips.new_sound("second", {str(b)!r}, 2, 100)
second.sound_offset = 0.1
muted = editor.strips.new_sound("muted", {str(b)!r}, 3, 40)
muted.mute = True
strips = scene_audio.sound_strips(scene)
emit(strips=[[s.name, s.frame_start, s.frame_end, s.file_offset, s.volume, s.mute]
             for s in strips])
clip = scene_audio.clip_from_strips(scene_audio.choose_strips(strips, None), 30.0)
emit(spec=clip.spec, start=clip.frame_start, end=clip.frame_end)
chosen = scene_audio.clip_from_strips(scene_audio.choose_strips(strips, ["second"]), 30.0)
emit(chosen_start=chosen.frame_start, chosen_tracks=len(chosen.spec["tracks"]))
try:
    scene_audio.choose_strips(strips, ["renamed"])
except Exception as exc:
    emit(missing=str(exc))
'''
    values = run(code, tmp_path, "5.0", extension_zip).values
    assert values["strips"] == [
        ["first", 16, 70, pytest.approx(0.2), 0.5, False],
        ["muted", 40, 70, 0.0, 1.0, True],
        ["second", 100, 130, pytest.approx(0.1), 1.0, False],
    ]
    assert (values["start"], values["end"]) == (16, 130)
    assert values["chosen_start"] == 100 and values["chosen_tracks"] == 1
    assert "renamed" in values["missing"] and "bind" in values["missing"]

    # The worker's mix is the strips as Blender plays them: placed, trimmed, scaled.
    mix = mix_tracks(values["spec"])
    rate = SAMPLE_RATE
    assert len(mix) == round((130 - 16) / 30 * rate)
    a_samples = request_audio({"tracks": [{"path": str(a)}]})
    b_samples = request_audio({"tracks": [{"path": str(b)}]})
    first_len = round(54 / 30 * rate)
    np.testing.assert_allclose(mix[:first_len], 0.5 * a_samples[int(0.2 * rate):][:first_len],
                               atol=1e-4)
    second_at = round((100 - 16) / 30 * rate)
    np.testing.assert_array_equal(mix[first_len:second_at], 0.0)
    tail = b_samples[int(0.1 * rate):]
    np.testing.assert_allclose(mix[second_at:second_at + len(tail)], tail, atol=1e-4)


def test_strip_collection_is_found_by_feature_on_4_2(tmp_path, extension_zip):
    if bpy_python("4.2") is None:
        pytest.skip(".venv-bpy42 not set up")
    code = r'''
editor = scene.sequence_editor_create()
editor.sequences.new_effect("colour", "COLOR", 1, 1, frame_end=20)
emit(all=[strip.name for strip in scene_audio.all_strips(scene)],
     sounds=scene_audio.sound_strips(scene))
try:
    editor.sequences.new_sound("line", "/nonexistent.wav", 2, 1)
except RuntimeError as exc:
    emit(no_audaspace=str(exc))
'''
    values = run(code, tmp_path, "4.2", extension_zip).values
    assert values["all"] == ["colour"] and values["sounds"] == []
    assert "Audaspace" in values["no_audaspace"]


def test_bind_selected_strips_binds_this_speaker(tmp_path, extension_zip):
    a = write_tone(tmp_path / "a.wav", 1.0)
    code = rf'''
editor = scene.sequence_editor_create()
for name, channel in (("anna 1", 1), ("anna 2", 2), ("ben", 3)):
    strip = editor.strips.new_sound(name, {str(a)!r}, channel, 10 * channel)
    strip.select = name.startswith("anna")
armature = animated_speaker("Anna")
bpy.ops.body_language.bind_selected_strips()
settings = armature.body_language
emit(bound=[ref.name for ref in settings.strips], source=settings.audio_source)
client = runtime.WorkerClient({sys.executable!r}, ".")
clip = scene_inputs.audio_clip(scene, settings, client.exchange_dir)
client.shutdown()
emit(sources=list(clip.sources), start=clip.frame_start)
'''
    values = run(code, tmp_path, "5.0", extension_zip).values
    assert values["bound"] == ["anna 1", "anna 2"] and values["source"] == "STRIPS"
    assert values["sources"] == ["anna 1", "anna 2"] and values["start"] == 10


def test_custom_bone_map_is_edited_and_saved_as_a_user_preset(tmp_path, extension_zip):
    code = r'''
bone_maps = importlib.import_module(MODULE + ".bone_maps")
armature = animated_speaker()
settings = armature.body_language
bpy.ops.body_language.custom_map_from_preset(preset="smplx")
emit(rows=len(settings.custom_bones), chosen=settings.bone_map)
row = next(row for row in settings.custom_bones if row.joint == "left_wrist")
row.bone = ""                                   # this rig's wrist is left unmapped
bpy.ops.body_language.save_custom_map(name="My Rig")
folder = bone_maps.user_preset_dir()
emit(folder=str(folder), files=sorted(p.name for p in folder.glob("*.json")))
settings.bone_map = "My_Rig"
saved = bone_maps.chosen_bone_map(settings)
emit(saved_name=saved.name, has_wrist="left_wrist" in saved.bones,
     elbow=saved.bones["left_elbow"])
'''
    values = run(code, tmp_path, "5.0", extension_zip).values
    assert values["rows"] == 55 and values["chosen"] == "CUSTOM"
    assert values["files"] == ["My_Rig.json"]
    assert Path(values["folder"]).parts[-3:] == ("user_default", "body_language", "bone_maps")
    assert values["saved_name"] == "My Rig" and not values["has_wrist"]
    assert values["elbow"] == "left_elbow"


# ---------------------------------------------------------------------------- error paths

GENERATE_MISSING_AUDIO = r'''
armature = animated_speaker()
settings = armature.body_language
missing = {missing!r}
if hasattr(scene.sequence_editor_create(), "strips"):
    strip = scene.sequence_editor.strips.new_sound("line", {wav!r}, 1, 10)
    os.remove({wav!r})
    expected_path = {wav!r}
else:
    settings.audio_source = "FILE"
    settings.audio_file = missing
    expected_path = missing
before = snapshot()
try:
    result = bpy.ops.body_language.generate()
except RuntimeError as exc:  # an operator's ERROR report raises in Python
    result, raised = {{"CANCELLED"}}, str(exc)
status = bpy.context.window_manager.body_language_job
emit(result=sorted(result), report=status.last_report, expected_path=expected_path,
     raised=raised,
     unchanged=snapshot() == before, running=status.running)
runtime.shutdown_shared()
'''


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_worker_error_leaves_the_scene_unchanged_with_a_clear_report(tmp_path, version,
                                                                     extension_zip):
    wav = write_tone(tmp_path / "line.wav", 1.0)
    code = GENERATE_MISSING_AUDIO.format(missing=str(tmp_path / "gone.wav"), wav=str(wav))
    values = run(code, tmp_path, version, extension_zip).values
    assert values["result"] == ["CANCELLED"]
    assert values["unchanged"] and not values["running"]
    report = values["report"]
    assert "Generate failed" in report and values["expected_path"] in report
    assert "not found" in report and "scene is unchanged" in report
    assert report in values["raised"]


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_worker_crash_mid_job_is_reported_and_scene_unchanged(tmp_path, version,
                                                              extension_zip):
    wav = write_tone(tmp_path / "line.wav", 1.0)
    code = rf'''
armature = animated_speaker()
armature.body_language.audio_source = "FILE"
armature.body_language.audio_file = {str(wav)!r}
armature.body_language.audio_start_frame = 10
before = snapshot()
config = worker_settings.runtime_config(bpy.context)
client = worker_settings.worker_for(config)
job = jobs.GenerateJob(client, scene_inputs.build_generate_request(scene, armature, client),
                       worker_settings.model_spec(config))
job.start()
os.kill(client.pid, signal.SIGKILL)   # the worker dies before it can answer
state = job.run()
emit(state=state, report=job.report, unchanged=snapshot() == before)
# The next request starts a fresh worker.
emit(hello=client.call("hello", timeout=120)["protocol"], restarts=client.restarts)
runtime.shutdown_shared()
'''
    values = run(code, tmp_path, version, extension_zip).values
    assert values["state"] == "FAILED" and values["unchanged"]
    assert "stopped unexpectedly" in values["report"]
    assert "scene is unchanged" in values["report"]
    assert values["hello"] == PROTOCOL_VERSION and values["restarts"] == 1


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_cancel_leaves_the_scene_unchanged_and_ignores_the_late_answer(tmp_path, version,
                                                                       extension_zip):
    wav = write_tone(tmp_path / "line.wav", 1.0)
    code = rf'''
armature = animated_speaker()
settings = armature.body_language
settings.audio_source = "FILE"
settings.audio_file = {str(wav)!r}
settings.parts = {{"hands"}}
settings.prompt_strength = 3.5
before = snapshot()
config = worker_settings.runtime_config(bpy.context)
client = worker_settings.worker_for(config)
request = scene_inputs.build_generate_request(scene, armature, client)
emit(kept=list(request.kept), keep_file=os.path.isfile(request.fields["keep"]),
     guidance=request.fields["guidance"])
job = jobs.GenerateJob(client, request, worker_settings.model_spec(config))
job.start()
job.cancel()
emit(state=job.state, report=job.report)
# The worker still answers the cancelled request; nothing of it reaches the scene.
late = []
for _ in range(1200):
    job.step()
    late += [[m.type, m.kind] for m in client.poll(timeout=0.05) if m.type != "progress"]
    if late:
        break
emit(state_after=job.state, unchanged=snapshot() == before, late=late)
runtime.shutdown_shared()
'''
    values = run(code, tmp_path, version, extension_zip).values
    assert values["kept"] == ["face", "upper", "lower"] and values["keep_file"]
    assert values["guidance"] == {"prompt": 3.5, "emotion": 2.0}
    assert values["state"] == "CANCELLED" and values["state_after"] == "CANCELLED"
    assert "Cancelled" in values["report"] and values["unchanged"]
    assert values["late"] == [["error", "cancelled"]]


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_generate_without_a_runtime_says_what_to_do(tmp_path, version, extension_zip):
    code = r'''
armature = animated_speaker()
prefs.worker_python = "/nowhere/python"
before = snapshot()
try:
    result = bpy.ops.body_language.generate()
except RuntimeError:
    result = {"CANCELLED"}
emit(result=sorted(result), report=bpy.context.window_manager.body_language_job.last_report,
     unchanged=snapshot() == before)
'''
    values = run(code, tmp_path, version, extension_zip).values
    assert values["result"] == ["CANCELLED"] and values["unchanged"]
    assert "/nowhere/python" in values["report"] and "does not exist" in values["report"]


# ---------------------------------------------------------------------------- runtime setup


def test_worker_requirements_match_the_project_pins():
    pinned = build.worker_requirements((ROOT / "requirements.txt").read_text())
    assert requirement_lines(REQUIREMENTS_FILE) == pinned


def test_runtime_setup_creates_a_venv_with_progress(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install\n")
    setup = RuntimeSetup(sys.executable, tmp_path / "venv", requirements)
    setup.start()
    progress = setup.join(timeout=240)
    assert progress.done and progress.error is None, progress
    assert progress.fraction == 1.0 and progress.python is not None
    assert progress.python.is_file() and tmp_path in progress.python.parents


def test_runtime_setup_reports_pip_failure(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("body-language-no-such-package==1.0\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "placeholder-0.0.0-py3-none-any.whl").write_bytes(b"")
    # Bundled wheels mean --no-index: the failure comes without touching the network.
    setup = RuntimeSetup(sys.executable, tmp_path / "venv", requirements, wheels_dir=wheels)
    assert setup.offline
    setup.start()
    progress = setup.join(timeout=240)
    assert progress.done and progress.python is None
    assert "pip install failed" in progress.error
    assert "body-language-no-such-package" in progress.error


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_setup_runtime_refuses_politely_when_online_access_is_off(tmp_path, version,
                                                                  extension_zip):
    code = r'''
bpy.context.preferences.system.use_online_access = False
result, message = None, ""
try:
    result = bpy.ops.body_language.setup_runtime()
except RuntimeError as exc:
    result, message = {"CANCELLED"}, str(exc)
emit(online=bpy.app.online_access, result=sorted(result), message=message,
     worker_python=prefs.worker_python)

# With online access on, the button makes the venv and points the preferences at it (here
# with nothing to install, so no download happens).
bpy.context.preferences.system.use_online_access = True
requirements = os.path.join({tmp!r}, "nothing.txt")
with open(requirements, "w") as file:
    file.write("# nothing")
result = bpy.ops.body_language.setup_runtime(requirements=requirements,
                                             target=os.path.join({tmp!r}, "venv"))
emit(after=sorted(result), made=prefs.worker_python)
'''
    values = run(code.replace("{tmp!r}", repr(str(tmp_path))), tmp_path, version,
                 extension_zip).values
    assert values["online"] is False and values["result"] == ["CANCELLED"]
    assert "Online access is off" in values["message"]
    assert values["worker_python"] == sys.executable  # unchanged by the refusal
    assert values["after"] == ["FINISHED"]
    assert values["made"] == str(tmp_path / "venv" / "bin" / "python")


# ---------------------------------------------------------------------------- generation


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_model_folder(tmp_path_factory)


# The speaker's audio: a sound strip on 5.0, the same file as the audio source on 4.2 (no
# Audaspace there). Either way it plays scene frames [10, 70) at 30 fps.
SPEAKER = r'''
armature = rig.create_character("Speaker", with_body=False)
scene.body_language.target = armature
settings = armature.body_language
editor = scene.sequence_editor_create()
if hasattr(editor, "strips"):
    strip = editor.strips.new_sound("line", {wav!r}, 1, 10)
    audio_start, audio_end = strip.frame_final_start, strip.frame_final_end
else:
    settings.audio_source = "FILE"
    settings.audio_file = {wav!r}
    settings.audio_start_frame = 10
    audio_start, audio_end = 10, 70
PART_BONES = {{part: [armature.pose.bones[name].name for name in names]
              for part, names in {part_bones!r}.items()}}


def part_keys(part):
    """{{(data_path, index): key frames and values}} of a part's track."""
    action = keyframes.part_action(armature, part)
    keys = {{}}
    for fc in from_actions.action_fcurves(action):
        co = np.empty(2 * len(fc.keyframe_points), np.float32)
        fc.keyframe_points.foreach_get("co", co)
        keys[(fc.data_path, fc.array_index)] = co
    return keys


def part_hash(part):
    keys = part_keys(part)
    return hashlib.sha256(b"".join(key[0].encode() + bytes([key[1]]) + keys[key].tobytes()
                                   for key in sorted(keys))).hexdigest()
'''


def part_bone_names() -> dict[str, list[str]]:
    from core.skeleton import JOINT_NAMES, PART_JOINTS

    return {part: [JOINT_NAMES[j] for j in joints] for part, joints in PART_JOINTS.items()}


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_generate_keys_every_bone_then_regenerating_hands_keeps_the_rest(
        tmp_path, version, extension_zip, model_dir):
    wav = write_tone(tmp_path / "line.wav", 2.0)
    code = SPEAKER.format(wav=str(wav), part_bones=part_bone_names()) + r'''
result = bpy.ops.body_language.generate()
report = bpy.context.window_manager.body_language_job.last_report
coverage = {}
for part, bones in PART_BONES.items():
    keys = part_keys(part)
    keyed = {path.split('"')[1] for path, _index in keys if path.startswith("pose.bones")}
    frames = np.concatenate([co[0::2] for co in keys.values()])
    coverage[part] = [sorted(set(bones) - keyed), float(frames.min()), float(frames.max())]
emit(result=sorted(result), report=report, coverage=coverage, start=audio_start,
     end=audio_end, tracks=[t.name for t in armature.animation_data.nla_tracks],
     face_props=sorted(k for k in armature.keys() if k.startswith("bl_face_")))

# Regenerate only the hands: the other parts' F-curves stay byte-identical.
before = {part: part_hash(part) for part in PART_BONES}
settings.parts = {"hands"}
settings.seed = 7
bpy.ops.body_language.generate()
after = {part: part_hash(part) for part in PART_BONES}
emit(kept_same=[part for part in before if before[part] == after[part]])

# Only frames 30-50 of the upper body: its keys outside the range stay where they were.
upper_before = part_keys("upper")
settings.parts = {"upper"}
settings.use_frame_range, settings.frame_start, settings.frame_end = True, 30, 50
settings.seed = 11
bpy.ops.body_language.generate()
upper_after = part_keys("upper")


def quaternions(keys, bone):
    path = f'pose.bones["{bone}"].rotation_quaternion'
    return np.stack([keys[(path, axis)][1::2] for axis in range(4)], axis=1)


# Rotations, not raw components: q and -q are one rotation, and the keys stay sign-continuous
# through the edited stretch, so after it a bone's quaternions may all have flipped sign.
frames = upper_before[next(iter(upper_before))][0::2]
out = (frames < 30) | (frames > 50)
outside, inside = 0.0, 0.0
for bone in PART_BONES["upper"]:
    old, new = quaternions(upper_before, bone), quaternions(upper_after, bone)
    change = np.minimum(np.abs(old - new).max(axis=1), np.abs(old + new).max(axis=1))
    outside = max(outside, float(change[out].max()))
    inside = max(inside, float(change[~out].max()))
emit(outside=outside, inside=inside, hands_same=part_hash("hands") == after["hands"])

bpy.ops.body_language.predict_emotion()
scores = {s.name: s.probability for s in settings.emotion_scores}
emit(scores=scores)
runtime.shutdown_shared()
'''
    values = run(code, tmp_path, version, extension_zip, checkpoint=model_dir).values
    assert values["result"] == ["FINISHED"], values["report"]
    assert values["tracks"] == ["BL face", "BL hands", "BL upper", "BL lower"]
    for part, (missing, first, last) in values["coverage"].items():
        assert missing == [], f"{part} bones without keys: {missing}"
        assert first == values["start"] == 10
        assert abs(last - values["end"]) <= 1.0
    assert "bl_face_jawOpen" in values["face_props"]
    assert sorted(values["kept_same"]) == ["face", "lower", "upper"]
    assert values["outside"] < 1e-4 and values["inside"] > 1e-2, values
    assert values["hands_same"]
    assert set(values["scores"]) == set(EMOTIONS)
    assert sum(values["scores"].values()) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_cancel_mid_generation_leaves_the_scene_unchanged(tmp_path, version, extension_zip,
                                                          model_dir):
    wav = write_tone(tmp_path / "line.wav", 2.0)
    long_wav = write_tone(tmp_path / "long.wav", 60.0)
    code = SPEAKER.format(wav=str(wav), part_bones=part_bone_names()) + rf'''
bpy.ops.body_language.generate()  # a first take, which the cancelled one must not touch
settings.audio_source = "FILE"
settings.audio_file = {str(long_wav)!r}
before = snapshot()
config = worker_settings.runtime_config(bpy.context)
client = worker_settings.worker_for(config)
job = jobs.GenerateJob(client, scene_inputs.build_generate_request(scene, armature, client),
                       worker_settings.model_spec(config))
job.start()
messages = []
while job.step(wait=0.02) == jobs.RUNNING:
    messages.append(job.message)
    if job.message.startswith("Generating motion"):  # decoding: cancel between steps
        job.cancel()
late = []
for _ in range(1200):
    late += [[m.type, m.kind] for m in client.poll(timeout=0.05) if m.type != "progress"]
    if late:
        break
emit(state=job.state, report=job.report, unchanged=snapshot() == before, late=late,
     decoding_seen=any(m.startswith("Generating motion") for m in messages))
runtime.shutdown_shared()
'''
    values = run(code, tmp_path, version, extension_zip, checkpoint=model_dir).values
    assert values["decoding_seen"] and values["state"] == "CANCELLED"
    assert values["unchanged"] and "Cancelled" in values["report"]
    assert values["late"] == [["error", "cancelled"]]
