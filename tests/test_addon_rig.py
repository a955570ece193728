"""Create Character: the add-on's copy of the skeleton, the bone layout, the preview body, and the
armature as real headless Blender (5.0.1 and 4.2 LTS) builds it."""

from __future__ import annotations

import numpy as np
import pytest
from blender_harness import BPY_VERSIONS, bpy_python, run_in_blender

from blender_addon import skeleton_data
from blender_addon.preview_body import EYE_RADIUS, arkit_shape_rules, body_geometry, eye_geometry
from blender_addon.rig import bone_layout
from core import skeleton
from core.face_spaces import ARKIT52

SMPLX_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


# ------------------------------------------------------------------------------- plain numpy


def test_addon_skeleton_is_what_core_skeleton_defines():
    assert skeleton_data.JOINT_NAMES == skeleton.JOINT_NAMES
    assert skeleton_data.PARENTS == skeleton.PARENTS
    assert skeleton_data.PART_JOINTS == skeleton.PART_JOINTS
    assert skeleton_data.PARTS == skeleton.PARTS
    np.testing.assert_array_equal(skeleton_data.default_rest_offsets(),
                                  skeleton.default_rest_offsets())
    np.testing.assert_array_equal(skeleton_data.default_rest_positions(),
                                  skeleton.default_rest_positions())
    assert skeleton_data.FINGERTIP_LENGTH == skeleton.FINGERTIP_LENGTH
    assert skeleton_data.HEAD_TOP_ABOVE_HEAD_JOINT == skeleton.HEAD_TOP_ABOVE_HEAD_JOINT


def test_addon_forward_kinematics_equals_core():
    rng = np.random.default_rng(0)
    poses = rng.normal(scale=0.8, size=(20, 55, 3))
    trans = rng.normal(size=(20, 3))
    positions, world = skeleton_data.forward_kinematics(poses, trans)
    core_positions, core_world = skeleton.forward_kinematics_with_rotations(poses, trans)
    np.testing.assert_allclose(positions, core_positions, atol=1e-12)
    np.testing.assert_allclose(world, core_world, atol=1e-12)


def test_bone_layout_puts_heads_on_joints_and_tails_on_children():
    specs = bone_layout()
    assert [spec.name for spec in specs] == list(skeleton.JOINT_NAMES)
    rest = skeleton.default_rest_positions() @ SMPLX_TO_BLENDER.T
    for joint, spec in enumerate(specs):
        parent = skeleton.PARENTS[joint]
        assert spec.parent == (None if parent < 0 else skeleton.JOINT_NAMES[parent])
        np.testing.assert_allclose(spec.head, rest[joint], atol=1e-12)
        assert np.linalg.norm(spec.tail - spec.head) > 0.005
    by_name = {spec.name: spec for spec in specs}
    np.testing.assert_allclose(by_name["left_knee"].tail, rest[skeleton.JOINT_INDEX["left_ankle"]])
    np.testing.assert_allclose(by_name["left_wrist"].tail,
                               rest[skeleton.JOINT_INDEX["left_middle1"]])
    # Blender Z up: the skull top is the stature, the eyes look along -Y.
    assert by_name["head"].tail[2] == pytest.approx(
        rest[skeleton.JOINT_INDEX["head"], 2] + skeleton.HEAD_TOP_ABOVE_HEAD_JOINT)
    eye = by_name["left_eye"]
    assert (eye.tail - eye.head)[1] < 0 and eye.head[0] > 0  # forward, on the character's left
    assert by_name["left_knee"].connected and not by_name["left_hip"].connected


def test_preview_body_has_every_arkit_shape_and_each_one_moves_the_face():
    geometry = body_geometry()
    assert set(geometry.shape_keys) == set(ARKIT52)
    assert set(arkit_shape_rules()) == set(ARKIT52)
    for name, positions in geometry.shape_keys.items():
        moved = np.linalg.norm(positions - geometry.vertices, axis=1)
        assert moved.max() > 0.0015, f"{name} barely moves"
        # Only face vertices move: all of them within 15 cm of the head joint.
        head = skeleton.default_rest_positions()[skeleton.JOINT_INDEX["head"]] @ SMPLX_TO_BLENDER.T
        assert np.all(np.linalg.norm(geometry.vertices[moved > 0] - head, axis=1) < 0.15), name
    # A left shape is the mirror image of its right one.
    mirror = np.array([-1.0, 1.0, 1.0])
    left = geometry.shape_keys["mouthSmileLeft"] - geometry.vertices
    right = geometry.shape_keys["mouthSmileRight"] - geometry.vertices
    np.testing.assert_allclose(np.sort((left * mirror).ravel()), np.sort(right.ravel()),
                               atol=1e-12)
    assert left[:, 0].max() > 0 and right[:, 0].min() < 0


def test_preview_body_is_skinned_to_real_bones_and_stands_on_the_floor():
    geometry = body_geometry()
    assert geometry.weights.shape == (geometry.vertices.shape[0], 55)
    used = {skeleton.JOINT_NAMES[j] for j in np.flatnonzero(geometry.weights.any(axis=0))}
    assert {"jaw", "head", "pelvis", "left_index3", "right_foot", "right_thumb3"} <= used
    assert "left_eye" not in used  # the eyes are separate objects
    assert -0.01 < geometry.vertices[:, 2].min() < 0.02
    # The cage's crown and the hair sit just above the skull top; subdivision pulls them in
    # (test_addon_body checks the subdivided top).
    head_top = (skeleton.default_rest_positions()[skeleton.JOINT_INDEX["head"], 1]
                + skeleton.HEAD_TOP_ABOVE_HEAD_JOINT)
    assert head_top <= geometry.vertices[:, 2].max() < head_top + 0.03
    eye = eye_geometry("left")
    assert np.linalg.norm(eye.vertices, axis=1).max() == pytest.approx(EYE_RADIUS)
    assert eye.face_materials.max() == 3  # the pupil


# ------------------------------------------------------------------------------- in Blender


@pytest.fixture(scope="module", params=BPY_VERSIONS)
def created(request, tmp_path_factory):
    run = run_in_blender("character_creation", tmp_path_factory.mktemp(f"rig{request.param}"),
                         python=bpy_python(request.param))
    assert run.values["version"].startswith(request.param)
    return run


def test_character_has_the_55_smplx_bones_on_the_rest_joints(created):
    names = created.values["names"]
    assert sorted(names) == sorted(skeleton.JOINT_NAMES) and len(names) == 55
    for name, parent in created.values["parents"].items():
        index = skeleton.PARENTS[skeleton.JOINT_INDEX[name]]
        assert parent == (None if index < 0 else skeleton.JOINT_NAMES[index])
    order = [skeleton.JOINT_INDEX[name] for name in names]
    rest = skeleton.default_rest_positions() @ SMPLX_TO_BLENDER.T
    np.testing.assert_allclose(created.arrays["heads"], rest[order], atol=1e-6)
    specs = {spec.name: spec for spec in bone_layout()}
    np.testing.assert_allclose(created.arrays["tails"],
                               [specs[name].tail for name in names], atol=1e-6)
    assert created.values["rotation_modes"] == ["QUATERNION"]
    assert created.values["second_bones"] == 55 and created.values["second_name"] != "BL Character"
    # Building in edit mode hands the scene back as it was.
    assert created.values["active"] == "Existing" and created.values["mode"] == "OBJECT"


def test_bone_rolls_point_z_forward_where_the_bone_allows(created):
    names = created.values["names"]
    matrices = created.arrays["matrices"]
    for name in ("spine2", "neck", "left_knee", "left_elbow"):
        z_axis = matrices[names.index(name)][:3, 2]
        assert z_axis @ np.array([0.0, -1.0, 0.0]) > 0.9, name
    z_axis = matrices[names.index("left_eye")][:3, 2]
    assert z_axis @ np.array([0.0, 0.0, 1.0]) > 0.9


def test_preview_body_is_skinned_with_shape_keys_and_bone_parented_eyes(created):
    values = created.values
    assert values["children"] == sorted(
        ["BL Character body", "BL Character left eye", "BL Character right eye"])
    assert values["shape_keys"][0] == "Basis" and set(values["shape_keys"][1:]) == set(ARKIT52)
    assert set(values["groups"]) <= set(skeleton.JOINT_NAMES) and "jaw" in values["groups"]
    assert values["modifier"] == ["ARMATURE", "BL Character"]
    assert values["materials"] == ["BL skin", "BL lips", "BL eye white", "BL pupil", "BL mouth",
                                   "BL hair"]
    assert values["eyes"] == {"BL Character left eye": ["BONE", "left_eye"],
                              "BL Character right eye": ["BONE", "right_eye"]}
    left_eye = skeleton.default_rest_positions()[skeleton.JOINT_INDEX["left_eye"]]
    np.testing.assert_allclose(created.arrays["before_eye"], left_eye @ SMPLX_TO_BLENDER.T,
                               atol=1e-6)


def test_posing_the_head_moves_skull_and_eyes_and_jaw_open_moves_the_jaw(created):
    arrays = created.arrays
    assert np.linalg.norm(arrays["after_eye"] - arrays["before_eye"]) > 0.02
    moved = np.linalg.norm(arrays["posed_vertices"] - arrays["rest_vertices"], axis=1)
    lowest = arrays["rest_vertices"][:, 2] < 0.3  # feet and shins stay put
    assert moved[lowest].max() < 1e-6
    assert moved.max() > 0.05
