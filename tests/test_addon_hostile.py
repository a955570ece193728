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

import pytest
from blender_harness import BPY_VERSIONS
from extension_runs import run_with_extension, write_tone
from tiny_model import tiny_model_folder

from core.skeleton import JOINT_NAMES, PART_JOINTS


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


# ---------------------------------------------------------------------------- without a worker


@pytest.fixture(scope="module", params=BPY_VERSIONS)
def rig_run(request, tmp_path_factory, extension_zip) -> dict:
    tmp = tmp_path_factory.mktemp(f"rig{request.param}")
    wav = write_tone(tmp / "line.wav", 1.0)
    return run_with_extension("hostile_rigs_without_worker", tmp, request.param, extension_zip,
                              params={"wav": str(wav), "tmp": str(tmp)}).values


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


@pytest.fixture(scope="module")
def worker_run(tmp_path_factory, extension_zip) -> dict:
    tmp = tmp_path_factory.mktemp("worker")
    wav = write_tone(tmp / "line.wav", 1.0)
    model = tiny_model_folder(tmp_path_factory)
    return run_with_extension("hostile_scenes_with_worker", tmp, "5.0", extension_zip, model,
                              {"wav": str(wav)}).values


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
