"""The installed extension's user-facing side in real headless Blender 5.0.1 and 4.2 LTS:
registration, the sound strips as worker audio, Generate's cancel and error paths with a real
worker (scene unchanged), the runtime setup.

The bpy 4.2 module from PyPI is built without Audaspace, so it cannot create sound strips
(`new_sound` raises); on 4.2 the tests use the audio-file source, and strips are tested on 5.0.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from blender_harness import BPY_VERSIONS, bpy_python
from extension_runs import run_with_extension, write_tone
from tiny_model import tiny_model_folder

import build
from blender_addon.runtime_setup import REQUIREMENTS_FILE, RuntimeSetup, requirement_lines
from core.emotions import EMOTIONS
from core.shared.protocol import PROTOCOL_VERSION
from core.worker_audio import SAMPLE_RATE, mix_tracks, request_audio

ROOT = Path(build.__file__).resolve().parent


# ---------------------------------------------------------------------------- registration


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_extension_registers_panel_operators_and_settings(tmp_path, version, extension_zip):
    result = run_with_extension("addon_registration", tmp_path, version, extension_zip)
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
    values = run_with_extension("sound_strips_to_clip", tmp_path, "5.0", extension_zip,
                                params={"a": str(a), "b": str(b)}).values
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
    values = run_with_extension("strip_collection_4_2", tmp_path, "4.2", extension_zip).values
    assert values["all"] == ["colour"] and values["sounds"] == []
    assert "Audaspace" in values["no_audaspace"]


def test_bind_selected_strips_binds_this_speaker(tmp_path, extension_zip):
    a = write_tone(tmp_path / "a.wav", 1.0)
    values = run_with_extension("bind_selected_strips", tmp_path, "5.0", extension_zip,
                                params={"wav": str(a)}).values
    assert values["bound"] == ["anna 1", "anna 2"] and values["source"] == "STRIPS"
    assert values["sources"] == ["anna 1", "anna 2"] and values["start"] == 10


def test_custom_bone_map_is_edited_and_saved_as_a_user_preset(tmp_path, extension_zip):
    values = run_with_extension("custom_bone_map_preset", tmp_path, "5.0", extension_zip).values
    assert values["rows"] == 55 and values["chosen"] == "CUSTOM"
    assert values["files"] == ["My_Rig.json"]
    assert Path(values["folder"]).parts[-3:] == ("user_default", "body_language", "bone_maps")
    assert values["saved_name"] == "My Rig" and not values["has_wrist"]
    assert values["elbow"] == "left_elbow"


# ---------------------------------------------------------------------------- error paths


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_worker_error_leaves_the_scene_unchanged_with_a_clear_report(tmp_path, version,
                                                                     extension_zip):
    wav = write_tone(tmp_path / "line.wav", 1.0)
    values = run_with_extension("generate_with_missing_audio", tmp_path, version, extension_zip,
                                params={"missing": str(tmp_path / "gone.wav"),
                                        "wav": str(wav)}).values
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
    values = run_with_extension("worker_crash_mid_job", tmp_path, version, extension_zip,
                                params={"wav": str(wav)}).values
    assert values["state"] == "FAILED" and values["unchanged"]
    assert "stopped unexpectedly" in values["report"]
    assert "scene is unchanged" in values["report"]
    assert values["hello"] == PROTOCOL_VERSION and values["restarts"] == 1


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_cancel_leaves_the_scene_unchanged_and_ignores_the_late_answer(tmp_path, version,
                                                                       extension_zip):
    wav = write_tone(tmp_path / "line.wav", 1.0)
    values = run_with_extension("cancel_ignores_late_answer", tmp_path, version, extension_zip,
                                params={"wav": str(wav)}).values
    assert values["kept"] == ["face", "upper", "lower"] and values["keep_file"]
    assert values["guidance"] == {"prompt": 3.5, "emotion": 2.0}
    assert values["state"] == "CANCELLED" and values["state_after"] == "CANCELLED"
    assert "Cancelled" in values["report"] and values["unchanged"]
    assert values["late"] == [["error", "cancelled"]]


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_generate_without_a_runtime_says_what_to_do(tmp_path, version, extension_zip):
    values = run_with_extension("generate_without_runtime", tmp_path, version,
                                extension_zip).values
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
    values = run_with_extension("setup_runtime_online_access", tmp_path, version, extension_zip,
                                params={"tmp": str(tmp_path)}).values
    assert values["online"] is False and values["result"] == ["CANCELLED"]
    assert "Online access is off" in values["message"]
    assert values["worker_python"] == sys.executable  # unchanged by the refusal
    assert values["after"] == ["FINISHED"]
    assert values["made"] == str(tmp_path / "venv" / "bin" / "python")


# ---------------------------------------------------------------------------- generation


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_model_folder(tmp_path_factory)


def part_bone_names() -> dict[str, list[str]]:
    from core.skeleton import JOINT_NAMES, PART_JOINTS

    return {part: [JOINT_NAMES[j] for j in joints] for part, joints in PART_JOINTS.items()}


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_generate_keys_every_bone_then_regenerating_hands_keeps_the_rest(
        tmp_path, version, extension_zip, model_dir):
    wav = write_tone(tmp_path / "line.wav", 2.0)
    values = run_with_extension("generate_then_regenerate_parts", tmp_path, version,
                                extension_zip, model_dir,
                                {"wav": str(wav), "part_bones": part_bone_names()}).values
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
    values = run_with_extension("cancel_mid_generation", tmp_path, version, extension_zip,
                                model_dir, {"wav": str(wav), "part_bones": part_bone_names(),
                                            "long_wav": str(long_wav)}).values
    assert values["decoding_seen"] and values["state"] == "CANCELLED"
    assert values["unchanged"] and "Cancelled" in values["report"]
    assert values["late"] == [["error", "cancelled"]]
