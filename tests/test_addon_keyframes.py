"""Keyframe writing per body part in real headless Blender 5.0.1 and 4.2 LTS, and the add-on's
plain-numpy rotation math against core/rotations.py."""

from __future__ import annotations

import numpy as np
import pytest
from blender_harness import BPY42_VENV, BPY_VERSIONS, bpy_python, run_in_blender
from motion_synth import smooth_motion

import build
from blender_addon import quaternions as q
from blender_addon.face import match_shape_keys, normalize_channel_name
from blender_addon.motion_arrays import AddonInputError, MotionArrays
from core import rotations
from core.face_spaces import ARKIT52, FLAME100
from core.skeleton import JOINT_NAMES, PART_JOINTS, forward_kinematics

START = 10
FRAMES = 300
SMPLX_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
FK_FRAMES = (0, 1, 137, 299)

# ------------------------------------------------------------------------------- plain numpy


def test_quaternion_math_matches_core_rotations():
    rng = np.random.default_rng(0)
    aa = rng.normal(scale=1.5, size=(200, 3))
    aa[:5] *= 1e-9  # the small-angle branches
    quat = q.axis_angle_to_quaternion(aa)
    np.testing.assert_allclose(quat, rotations.axis_angle_to_quaternion(aa), atol=1e-12)
    matrices = q.quaternion_to_matrix(quat)
    np.testing.assert_allclose(matrices, rotations.axis_angle_to_matrix(aa), atol=1e-12)
    back = q.matrix_to_quaternion(matrices)
    np.testing.assert_allclose(np.abs(np.sum(back * quat, axis=-1)), 1.0, atol=1e-12)
    np.testing.assert_allclose(q.axis_angle_to_matrix(q.matrix_to_axis_angle(matrices)),
                               matrices, atol=1e-10)
    other = q.axis_angle_to_quaternion(rng.normal(size=(200, 3)))
    np.testing.assert_allclose(q.quaternion_multiply(quat, other),
                               rotations.quaternion_multiply(quat, other), atol=1e-12)
    t = rng.uniform(size=200)
    ours = q.slerp(quat, other, t)
    theirs = rotations.quaternion_slerp(quat, other, t)
    np.testing.assert_allclose(np.abs(np.sum(ours * theirs, axis=-1)), 1.0, atol=1e-12)


def test_make_continuous_keeps_neighbours_in_one_hemisphere():
    rng = np.random.default_rng(1)
    path = q.axis_angle_to_quaternion(np.cumsum(rng.normal(scale=0.2, size=(100, 4, 3)), axis=0))
    signs = rng.choice([-1.0, 1.0], size=(100, 4, 1))
    flipped = path * signs
    continuous = q.make_continuous(flipped)
    assert np.all(np.sum(continuous[1:] * continuous[:-1], axis=-1) >= 0)
    # Same rotations: each quaternion is the input or its negation.
    np.testing.assert_allclose(np.abs(np.sum(continuous * flipped, axis=-1)), 1.0, atol=1e-12)
    assert np.any(np.sum(flipped[1:] * flipped[:-1], axis=-1) < 0)


def test_sample_positions_cover_the_motion_at_the_scene_rate():
    np.testing.assert_array_equal(q.sample_positions(300, 30, 30), np.arange(300))
    at_24 = q.sample_positions(300, 30, 24)
    assert len(at_24) == 240 and at_24[-1] <= 299 and at_24[1] == pytest.approx(1.25)
    at_60 = q.sample_positions(300, 30, 60)
    assert len(at_60) == 599 and at_60[-1] == pytest.approx(299)


def test_resampling_slerps_between_source_frames():
    a = q.axis_angle_to_quaternion(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    halfway = q.resample_quaternions(a[:, None], np.array([0.0, 0.5, 1.0]))[:, 0]
    np.testing.assert_allclose(q.quaternion_to_axis_angle(halfway)[1], [0.0, 0.0, 0.5],
                               atol=1e-12)
    values = q.resample_linear(np.array([[0.0], [2.0], [4.0]]), np.array([0.25, 1.5]))
    np.testing.assert_allclose(values[:, 0], [0.5, 3.0])


def test_rotation_between_turns_one_direction_onto_another():
    rng = np.random.default_rng(2)
    u, v = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    u[0], v[0] = [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]  # opposite vectors
    turned = (q.rotation_between(u, v) @ (u / np.linalg.norm(u, axis=1, keepdims=True))[..., None])
    np.testing.assert_allclose(turned[..., 0], v / np.linalg.norm(v, axis=1, keepdims=True),
                               atol=1e-12)


def test_motion_arrays_reject_bad_shapes_with_clear_messages():
    with pytest.raises(AddonInputError, match=r"poses has shape \(5, 54, 3\)"):
        MotionArrays(np.zeros((5, 54, 3)), np.zeros((5, 3)))
    with pytest.raises(AddonInputError, match="trans"):
        MotionArrays(np.zeros((5, 55, 3)), np.zeros((4, 3)))
    with pytest.raises(AddonInputError, match="face"):
        MotionArrays(np.zeros((5, 55, 3)), np.zeros((5, 3)), np.zeros((5, 3)), ["a", "b"])
    with pytest.raises(AddonInputError, match="NaN"):
        MotionArrays(np.full((5, 55, 3), np.nan), np.zeros((5, 3)))
    motion = MotionArrays(np.zeros((5, 55, 3)), np.zeros((5, 3)))
    assert motion.face.shape == (5, 0) and motion.num_frames == 5


def test_face_names_match_across_exporter_spellings():
    spellings = {
        "jawOpen": "jawOpen", "JawOpen": "jawOpen", "ARKit_jawOpen": "jawOpen",
        "BS.jawOpen": "jawOpen", "blendShape1.eyeBlinkLeft": "eyeBlinkLeft",
        "eyeBlink_L": "eyeBlinkLeft", "mouth_smile_r": "mouthSmileRight",
        "eyeBlinkR": "eyeBlinkRight", "Head:browInnerUp": "browInnerUp",
    }
    for spelling, channel in spellings.items():
        assert normalize_channel_name(spelling) == normalize_channel_name(channel), spelling
    # Words that merely end in l or r are not sides.
    assert normalize_channel_name("mouthRollUpper") != normalize_channel_name("mouthRollUppeRight")
    keys = ["Basis", "ARKit_jawOpen", "jawOpen_unused", "eyeBlink_L", "Exp003", "mouthClose"]
    matched = match_shape_keys(list(ARKIT52) + ["Exp003"], keys)
    names = list(ARKIT52) + ["Exp003"]
    assert {names[i]: key for i, key in matched.items()} == {
        "jawOpen": "ARKit_jawOpen", "eyeBlinkLeft": "eyeBlink_L", "Exp003": "Exp003",
        "mouthClose": "mouthClose"}
    assert match_shape_keys(["Basis"], ["Basis", "x"]) == {}


# ------------------------------------------------------------------------------- the 4.2 venv


def test_build_test_sets_up_the_blender_42_venv_these_tests_use(monkeypatch):
    pins = dict(line.split("==") for line in (build.ROOT / build.BPY42_REQUIREMENTS).read_text()
                .splitlines() if line and not line.startswith("#"))
    assert pins["bpy"].startswith("4.2.") and pins["numpy"] == "1.26.4"
    assert build.ROOT / build.BPY42_VENV_DIR_NAME == BPY42_VENV
    made: list[tuple[str, str]] = []
    monkeypatch.setattr(build, "ensure_venv", lambda venv_dir, requirements: made.append(
        (venv_dir.name, requirements.name)) or build.venv_python(venv_dir))
    for step in ("ensure_espeak", "ruff_check", "pytest_run"):
        monkeypatch.setattr(build, step, lambda *args: True)
    assert build.command_test([]) == 0
    assert made == [(".venv", "requirements.txt"), (".venv-bpy42", "requirements-bpy42.txt")]


# ------------------------------------------------------------------------------- in Blender


@pytest.fixture(scope="module", params=BPY_VERSIONS)
def blender(request, tmp_path_factory):
    """One Blender session per version running the whole scenario of
    blender_scripts/keyframes_write_read_rewrite.py."""
    first, second = smooth_motion(FRAMES, seed=11), smooth_motion(FRAMES, seed=12)
    flame = smooth_motion(FRAMES, seed=13, face_space="flame100")
    keys24 = np.array([0, 1, 2, 3, 101, 239])
    inputs = {
        "start": np.array(START), "fk_frames": np.array(FK_FRAMES), "keys24": keys24,
        "poses": first.poses, "trans": first.trans, "face": first.face,
        "poses2": second.poses, "trans2": second.trans, "face2": second.face,
        "face_names": np.array(ARKIT52), "flame": 4.0 * (flame.face - 0.4),
        "flame_names": np.array(FLAME100),
    }
    run = run_in_blender("keyframes_write_read_rewrite",
                         tmp_path_factory.mktemp(f"bpy{request.param}"), inputs=inputs,
                         python=bpy_python(request.param))
    run.values["expected_version"] = request.param
    return run, first, second, inputs


def table(run, prefix):
    return {name: run.arrays[f"{prefix}_{i}"] for i, name in
            enumerate(run.values[f"{prefix}_names"])}


def test_runs_on_the_intended_blender_and_action_api(blender):
    run = blender[0]
    assert run.values["version"].startswith(run.values["expected_version"])
    # 5.0 has only layered actions, 4.2 only legacy ones: both writers are exercised.
    assert run.values["layered"] == (run.values["expected_version"] == "5.0")


def test_one_track_and_action_per_part_with_keys_on_every_bone(blender):
    run = blender[0]
    tracks = {name: (strips, action) for name, strips, action in run.values["tracks"]}
    assert set(tracks) == {"BL face", "BL hands", "BL upper", "BL lower"}
    assert all(strips == 1 for strips, _action in tracks.values())
    assert len({action for _strips, action in tracks.values()}) == 4
    assert not run.values["active_action"] and run.values["warnings"] == []
    assert run.values["frame_count"] == FRAMES
    curves = table(run, "first")
    for part, joints in PART_JOINTS.items():
        assert run.values["bones_per_part"][part] == [JOINT_NAMES[j] for j in joints]
        for joint in joints:
            for axis in range(4):
                co = curves[f'{part}|pose.bones["{JOINT_NAMES[joint]}"].rotation_quaternion|{axis}']
                frames = co[0::2]
                assert len(frames) == FRAMES and frames[0] == START
                np.testing.assert_array_equal(frames, START + np.arange(FRAMES))
    for axis in range(3):
        assert f'lower|pose.bones["pelvis"].location|{axis}' in curves
    face_props = [n for n in curves if n.startswith('face|["bl_face_')]
    assert len(face_props) == 52
    assert len([n for n in curves if n.startswith("keys BL face|")]) == 52
    assert run.values["shape_key_sets"] == 1


def test_quaternion_keys_stay_in_one_hemisphere(blender):
    curves = table(blender[0], "first")
    for part, joint_name in (("lower", "pelvis"), ("upper", "left_wrist"),
                             ("hands", "right_index2"), ("face", "jaw")):
        path = f'{part}|pose.bones["{joint_name}"].rotation_quaternion'
        quats = np.stack([curves[f"{path}|{axis}"][1::2] for axis in range(4)], axis=-1)
        assert np.all(np.sum(quats[1:] * quats[:-1], axis=-1) > 0)


def test_evaluated_joint_positions_equal_core_forward_kinematics(blender):
    run, first, _second, _inputs = blender
    expected = forward_kinematics(first.poses, first.trans)[list(FK_FRAMES)] @ SMPLX_TO_BLENDER.T
    error = np.abs(run.arrays["heads"] - expected).max()
    assert error < 1e-3, f"joint positions differ from core FK by {error * 1000:.3f} mm"
    eye_joints = [JOINT_NAMES.index("left_eye"), JOINT_NAMES.index("right_eye")]
    np.testing.assert_allclose(run.arrays["eye_centres"], expected[:, eye_joints], atol=1e-3)


def test_shape_keys_and_custom_properties_follow_the_face_channels(blender):
    run, first, _second, _inputs = blender
    channel = list(ARKIT52).index("jawOpen")
    expected = first.face[list(FK_FRAMES), channel]
    np.testing.assert_allclose(run.arrays["jaw_open"], expected, atol=1e-6)
    np.testing.assert_allclose(run.arrays["jaw_prop"], expected, atol=1e-6)


def test_regenerating_hands_leaves_other_parts_byte_identical(blender):
    run = blender[0]
    before, after = table(run, "first"), table(run, "after_hands")
    assert set(before) == set(after)
    changed = {name.split("|")[0] for name in before
               if before[name].tobytes() != after[name].tobytes()}
    assert changed == {"hands"}
    # The replaced hands action is gone, not left behind unused.
    assert run.values["actions_before"] == run.values["actions_after"]


def test_failed_rewrite_leaves_the_scene_unchanged(blender):
    run = blender[0]
    assert run.values["failure_raised"] == "injected failure"
    before, after = table(run, "after_hands"), table(run, "after_failure")
    assert set(before) == set(after)
    assert all(before[name].tobytes() == after[name].tobytes() for name in before)
    assert run.values["actions_after_failure"] == run.values["actions_after"]


def _angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    matrix_a, matrix_b = rotations.axis_angle_to_matrix(a), rotations.axis_angle_to_matrix(b)
    relative = matrix_a.swapaxes(-1, -2) @ matrix_b
    return np.linalg.norm(rotations.matrix_to_axis_angle(relative), axis=-1)


def test_read_part_returns_the_smplx_motion_that_was_written(blender):
    run, first, second, _inputs = blender
    for part, joints in PART_JOINTS.items():
        source = second if part == "hands" else first
        assert run.values[f"read_{part}_joints"] == list(joints)
        poses = run.arrays[f"read_{part}_poses"]
        assert poses.shape == (FRAMES, 55, 3)
        np.testing.assert_allclose(run.arrays[f"read_{part}_frames"], START + np.arange(FRAMES))
        assert _angle_between(poses[:, list(joints)], source.poses[:, list(joints)]).max() < 1e-4
        others = [j for j in range(55) if j not in joints]
        assert not np.any(poses[:, others])
    np.testing.assert_allclose(run.arrays["read_lower_trans"], first.trans, atol=1e-5)
    assert run.values["read_face_face_names"] == list(ARKIT52)
    np.testing.assert_allclose(run.arrays["read_face_face"], first.face, atol=1e-6)


def test_scene_at_24_fps_gets_one_resampled_key_per_frame(blender):
    run, first, _second, inputs = blender
    assert run.values["frame_count24"] == 240  # 299 / 30 s of motion at 24 fps, both ends
    frames = run.arrays["co24"][0::2]
    np.testing.assert_array_equal(frames, START + np.arange(240))
    # Key k shows the motion at k / 24 s: slerp between source frames, then core FK.
    positions = inputs["keys24"] * 30.0 / 24.0
    lower = np.floor(positions).astype(int)
    upper = np.minimum(lower + 1, FRAMES - 1)
    weight = (positions - lower)[:, None]
    quats = rotations.axis_angle_to_quaternion(first.poses)
    local = rotations.quaternion_slerp(quats[lower], quats[upper], weight)
    poses = rotations.quaternion_to_axis_angle(local)
    trans = first.trans[lower] * (1 - weight) + first.trans[upper] * weight
    expected = forward_kinematics(poses, trans) @ SMPLX_TO_BLENDER.T
    error = np.abs(run.arrays["heads24"] - expected).max()
    assert error < 1e-3, f"resampled joints are {error * 1000:.3f} mm off"


def test_flame_channels_drive_exp_shape_keys_and_parts_can_be_removed(blender):
    run, _first, _second, inputs = blender
    values = run.values["flame_values"]
    flame = inputs["flame"][40]
    for key_name, channel in (("Exp000", 0), ("Exp007", 7), ("Exp099", 99), ("ARKit_Exp050", 50)):
        assert values[key_name] == pytest.approx(flame[channel], abs=1e-5), key_name
    assert inputs["flame"][:, 0].min() < 0 and run.values["flame_slider_min"] < 0
    assert run.values["removed"] is True
    assert "BL face" not in run.values["tracks_after_remove"]
    assert run.values["key_tracks_after_remove"] == 0
