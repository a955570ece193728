"""Bone maps and retargeting: presets, custom maps as files, the transfer math in plain numpy,
and rigs that differ from SMPL-X (Mixamo A-pose, missing spine bone, constraint-driven chains)
in real headless Blender."""

from __future__ import annotations

import json

import numpy as np
import pytest
from blender_harness import run_in_blender
from motion_synth import smooth_motion

from blender_addon.bone_map import (
    BoneMap,
    PoseProperty,
    detect_bone_map,
    load_bone_map,
    load_presets,
    resolve_bones,
    save_bone_map,
)
from blender_addon.motion_arrays import AddonInputError
from blender_addon.quaternions import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    quaternion_to_matrix,
)
from blender_addon.retarget import TargetRig, smplx_from_pose_channels, solve_pose_channels
from blender_addon.skeleton_data import primary_child, rest_tail_positions
from core import rotations
from core.skeleton import JOINT_INDEX, JOINT_NAMES, PARENTS, default_rest_positions
from core.skeleton import forward_kinematics as core_fk

SMPLX_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
MAX_DEGREES = 5.0

# ------------------------------------------------------------------------------- bone maps


def test_shipped_presets_cover_smplx_mixamo_and_rigify():
    presets = load_presets()
    assert {"smplx", "mixamo", "rigify", "rigify_def", "rigify_metarig"} <= set(presets)
    assert presets["smplx"].bones == {name: name for name in JOINT_NAMES}
    mixamo = presets["mixamo"].bones
    assert mixamo["pelvis"] == "mixamorig:Hips" and mixamo["spine3"] == "mixamorig:Spine2"
    assert mixamo["left_index1"] == "mixamorig:LeftHandIndex1"
    assert mixamo["right_shoulder"] == "mixamorig:RightArm"
    rigify = presets["rigify"]
    assert rigify.bones["pelvis"] == "torso" and rigify.bones["left_shoulder"] == "upper_arm_fk.L"
    assert rigify.bones["left_index1"] == "f_index.01.L" and rigify.bones["jaw"] == "jaw_master"
    switches = {(p.bone, p.name): p.value for p in rigify.pose_properties}
    for limb in ("upper_arm_parent.L", "upper_arm_parent.R", "thigh_parent.L", "thigh_parent.R"):
        assert switches[(limb, "IK_FK")] == 1.0
    assert all(bone.startswith("DEF-") for bone in presets["rigify_def"].bones.values())
    assert len(presets["rigify_def"].bones) == 53  # every joint but the eyes


def test_custom_bone_map_round_trips_through_a_json_preset(tmp_path):
    custom = BoneMap(
        "My rig", {"left_wrist": "HandL", "pelvis": "Root"},
        (PoseProperty("Ctrl", "fk", 1.0),), "hand-made", {"pelvis": ("HipsExtra",)})
    path = save_bone_map(custom, tmp_path / "presets" / "my_rig.json")
    assert json.loads(path.read_text())["bones"] == {"pelvis": "Root", "left_wrist": "HandL"}
    assert load_bone_map(path) == custom
    assert load_presets([tmp_path / "presets"])["my_rig"] == custom
    assert not list((tmp_path / "presets").glob("*.partial"))


@pytest.mark.parametrize("text, message", [
    ("{not json", "not readable JSON"),
    ('{"format": "other"}', "not a Body Language bone map"),
    ('{"format": "body_language_bone_map", "version": 9, "bones": {}}', "version 9"),
    ('{"format": "body_language_bone_map", "version": 1, "bones": {"elbow": "x"}}',
     "unknown SMPL-X joints: elbow"),
    ('{"format": "body_language_bone_map", "version": 1, "bones": {"neck": "x", "head": "x"}}',
     "drives a bone from two joints: x"),
    ('{"format": "body_language_bone_map", "version": 1, "bones": {"neck": 3}}',
     "must map SMPL-X joint names"),
    ('{"format": "body_language_bone_map", "version": 1, "bones": {},'
     ' "pose_properties": [{"bone": "a"}]}', "pose property needs"),
])
def test_bad_bone_map_files_are_reported_by_name(tmp_path, text, message):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(AddonInputError, match=message) as raised:
        load_bone_map(path)
    assert str(path) in str(raised.value)
    with pytest.raises(AddonInputError, match="does not exist"):
        load_bone_map(tmp_path / "missing.json")


def test_bones_resolve_across_fbx_namespaces_and_presets_are_detected():
    mixamo = load_presets()["mixamo"]
    names = [bone.replace("mixamorig:", "mixamorig5:") for bone in mixamo.bones.values()]
    resolved = resolve_bones(mixamo, names)
    assert resolved[JOINT_INDEX["pelvis"]] == "mixamorig5:Hips" and len(resolved) == 54
    presets = load_presets()
    assert detect_bone_map(names, presets) == "mixamo"
    assert detect_bone_map(JOINT_NAMES, presets) == "smplx"
    assert detect_bone_map(presets["rigify"].bones.values(), presets) == "rigify"
    assert detect_bone_map(["Bone", "Bone.001"], presets) is None


# ------------------------------------------------------------------------------- transfer math


def _random_roll_rest(rest_positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rest rotations (armature space) with Y along each bone and a random roll about it."""
    tails = rest_tail_positions() @ SMPLX_TO_BLENDER.T
    matrices = np.empty((55, 3, 3))
    for joint in range(55):
        y = tails[joint] - rest_positions[joint]
        y /= np.linalg.norm(y)
        x = np.cross(y, rng.normal(size=3))
        x /= np.linalg.norm(x)
        matrices[joint] = np.stack([x, y, np.cross(x, y)], axis=1)
    return matrices


def _blender_pose(target: TargetRig, quaternions: np.ndarray, location: np.ndarray):
    """What Blender computes from pose-bone channels: world rotations and head positions of a
    rig whose bones all follow their parent (pose = parent pose * rest relation * basis)."""
    basis = quaternion_to_matrix(quaternions)
    frames = len(basis)
    rotation = np.empty_like(basis)
    heads = np.empty((frames, len(target.joints), 3))
    for m, followed in enumerate(target.follows):
        if followed < 0:
            rotation[:, m] = target.rest[m] @ basis[:, m]
            heads[:, m] = target.heads[m] + location @ target.rest[m].T
        else:
            relative = target.rest[followed].T @ target.rest[m]
            rotation[:, m] = rotation[:, followed] @ relative @ basis[:, m]
            offset = target.rest[followed].T @ (target.heads[m] - target.heads[followed])
            heads[:, m] = heads[:, followed] + (rotation[:, followed] @ offset)
    return rotation, heads


def test_on_an_smplx_rig_any_bone_roll_gives_exact_joint_positions():
    rng = np.random.default_rng(3)
    rest_positions = default_rest_positions() @ SMPLX_TO_BLENDER.T
    rest = _random_roll_rest(rest_positions, rng)
    target = TargetRig(joints=tuple(range(55)), bones=JOINT_NAMES, rest=rest,
                       heads=rest_positions, y_axes=rest[:, :, 1], follows=tuple(PARENTS),
                       smplx_to_armature=SMPLX_TO_BLENDER)
    motion = smooth_motion(40, seed=4)
    local = axis_angle_to_matrix(motion.poses)
    channels = solve_pose_channels(target, axis_angle_to_quaternion(motion.poses), motion.trans)
    _rotation, heads = _blender_pose(target, channels.quaternions, channels.root_location)
    expected = core_fk(motion.poses.astype(np.float64), motion.trans.astype(np.float64))
    np.testing.assert_allclose(heads, expected @ SMPLX_TO_BLENDER.T, atol=1e-9)
    # And back: the keyed channels read as the SMPL-X rotations that made them.
    poses, trans = smplx_from_pose_channels(target, range(55), channels.quaternions,
                                            channels.root_location)
    relative = rotations.axis_angle_to_matrix(poses).swapaxes(-1, -2) @ local
    assert np.abs(rotations.matrix_to_axis_angle(relative)).max() < 1e-9
    np.testing.assert_allclose(trans, motion.trans, atol=1e-12)


# ------------------------------------------------------------------------------- test rigs


def _descends_from(joint: int, ancestor: int) -> bool:
    while joint >= 0:
        joint = PARENTS[joint]
        if joint == ancestor:
            return True
    return False


def a_pose_positions(rng: np.random.Generator) -> np.ndarray:
    """SMPL-X rest joints (SMPL-X axes) with other proportions, slightly different bone
    directions, and the arms lowered 45 degrees into an A-pose."""
    rest = default_rest_positions()
    offsets = rest.copy()
    offsets[1:] -= rest[list(PARENTS[1:])]
    offsets[1:] *= rng.uniform(0.85, 1.15, (54, 1))
    tilt = axis_angle_to_matrix(rng.normal(scale=np.radians(1.5), size=(55, 3)))
    offsets[1:] = (tilt[1:] @ offsets[1:, :, None])[..., 0]
    positions = np.zeros_like(offsets)
    for joint in range(55):
        parent = PARENTS[joint]
        positions[joint] = offsets[joint] + (positions[parent] if parent >= 0 else 0.0)
    for side, sign in (("left", -1.0), ("right", 1.0)):
        shoulder = JOINT_INDEX[f"{side}_shoulder"]
        lower = axis_angle_to_matrix(np.array([0.0, 0.0, sign * np.pi / 4]))
        for joint in range(55):
            if _descends_from(joint, shoulder):
                positions[joint] = positions[shoulder] + lower @ (positions[joint] -
                                                                  positions[shoulder])
    return positions


def rig_spec(bone_map: dict[str, str], positions: np.ndarray, rng: np.random.Generator,
             extra_leaves: bool = True) -> list[list]:
    """[name, parent, head, tail, roll] per bone; heads and tails in centimetres, Y up (as an
    FBX export stores them); each bone's parent is the nearest mapped SMPL-X ancestor."""
    spec = []
    for joint_name, bone in bone_map.items():
        joint = JOINT_INDEX[joint_name]
        parent = PARENTS[joint]
        while parent >= 0 and JOINT_NAMES[parent] not in bone_map:
            parent = PARENTS[parent]
        child = primary_child(joint)
        while child is not None and JOINT_NAMES[child] not in bone_map:
            child = primary_child(child)
        if child is not None:
            tail = positions[child]
        elif joint_name.endswith("3"):  # fingertips continue the last bone
            tail = positions[joint] + 0.8 * (positions[joint] - positions[PARENTS[joint]])
        elif "foot" in joint_name:
            tail = positions[joint] + [0.0, 0.0, 0.06]
        else:
            tail = positions[joint] + [0.0, 0.12, 0.0]
        spec.append([bone, bone_map.get(JOINT_NAMES[parent]) if parent >= 0 else None,
                     (100 * positions[joint]).tolist(), (100 * tail).tolist(),
                     float(rng.uniform(-np.pi, np.pi))])
        if extra_leaves and child is None:
            # Unmapped end bones, as Mixamo's HeadTop_End and LeftHandIndex4 are.
            spec.append([bone + "_End", bone, (100 * tail).tolist(),
                         (100 * (tail + [0.0, 0.01, 0.0])).tolist(), 0.0])
    return spec


def direction_errors(heads: np.ndarray, joints: list[int], expected: np.ndarray,
                     edges: str = "bones") -> dict[str, float]:
    """Worst angle (degrees) per edge between the rig's world directions and SMPL-X's.

    "bones": each mapped joint to the next mapped joint down its chain (the bone's own
    direction); "all": every mapped joint to its nearest mapped ancestor.
    """
    index = {joint: i for i, joint in enumerate(joints)}
    errors = {}
    for joint in index:
        if edges == "bones":
            child = primary_child(joint)
            while child is not None and child not in index:
                child = primary_child(child)
            if child is None:
                continue
            start, end = joint, child
        else:
            parent = PARENTS[joint]
            while parent >= 0 and parent not in index:
                parent = PARENTS[parent]
            if parent < 0:
                continue
            start, end = parent, joint
        rig = heads[:, index[end]] - heads[:, index[start]]
        smplx = expected[:, end] - expected[:, start]
        cosine = np.sum(rig * smplx, -1) / np.linalg.norm(rig, axis=-1) / np.linalg.norm(
            smplx, axis=-1)
        errors[f"{JOINT_NAMES[start]}>{JOINT_NAMES[end]}"] = float(
            np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))).max())
    return errors


@pytest.fixture(scope="module")
def retargeted(tmp_path_factory):
    rng = np.random.default_rng(7)
    motion = smooth_motion(300, seed=21)
    sample = np.sort(rng.choice(300, size=100, replace=False))
    mixamo = dict(load_presets()["mixamo"].bones)
    for face_joint in ("left_eye", "right_eye"):
        mixamo.pop(face_joint)  # Mixamo rigs seldom have eyes and never a jaw
    short_spine = {joint: bone for joint, bone in mixamo.items() if joint != "spine2"}
    switched = {name: name for name in JOINT_NAMES}
    cases = [
        {"name": "MixamoAPose", "bones": mixamo, "fbx_units": True,
         "spec": rig_spec(mixamo, a_pose_positions(rng), rng)},
        {"name": "NoSpine2", "bones": short_spine, "fbx_units": True,
         "spec": rig_spec(short_spine, a_pose_positions(rng), rng)},
        {"name": "IKSwitch", "bones": switched, "fbx_units": True,
         "spec": rig_spec(switched, a_pose_positions(rng), rng, extra_leaves=False),
         "ik_switches": [["left_collar", "left_shoulder", "left_collar"],
                         ["right_hip", "right_knee", "right_hip"]],
         "pose_properties": [["left_collar", "IK_FK", 1.0], ["right_hip", "IK_FK", 1.0]]},
    ]
    run = run_in_blender("retarget_onto_rigs", tmp_path_factory.mktemp("retarget"), inputs={
        "poses": motion.poses, "trans": motion.trans, "sample": sample},
        params={"cases": cases})
    expected = core_fk(motion.poses, motion.trans)[sample] @ SMPLX_TO_BLENDER.T
    joints = {case["name"]: [JOINT_INDEX[j] for j in case["bones"]] for case in cases}
    return run, expected, joints


@pytest.mark.parametrize("case", ["MixamoAPose", "NoSpine2", "IKSwitch"])
def test_retargeted_bone_directions_match_smplx_within_5_degrees(retargeted, case):
    run, expected, joints = retargeted
    heads = run.arrays[case]
    assert heads.shape == (100, len(joints[case]), 3)
    errors = direction_errors(heads, joints[case], expected)
    worst = max(errors, key=errors.get)
    assert errors[worst] <= MAX_DEGREES, f"{case}: {worst} is {errors[worst]:.2f} degrees off"
    assert len(errors) >= 35


def test_mixamo_rig_also_matches_the_directions_between_body_parts(retargeted):
    run, expected, joints = retargeted
    errors = direction_errors(run.arrays["MixamoAPose"], joints["MixamoAPose"], expected, "all")
    worst = max(errors, key=errors.get)
    assert errors[worst] <= MAX_DEGREES, f"{worst} is {errors[worst]:.2f} degrees off"
    assert "pelvis>left_hip" in errors and "spine3>right_collar" in errors


def test_mixamo_rig_got_every_part_keyed_and_the_ik_switch_set(retargeted):
    report = retargeted[0].values["report"]
    assert report["MixamoAPose"]["map"] == "MixamoAPose"
    bones = report["MixamoAPose"]["bones"]
    assert bones["face"] == []  # no jaw or eyes on this rig
    assert "mixamorig:LeftHandThumb3" in bones["hands"]
    assert bones["lower"][0] == "mixamorig:Hips"
    assert report["IKSwitch"]["ik_fk"] == [1.0, 1.0]


def test_translation_scales_with_leg_length(retargeted):
    run, expected, joints = retargeted
    heads = run.arrays["MixamoAPose"]
    pelvis = joints["MixamoAPose"].index(JOINT_INDEX["pelvis"])
    travelled = np.linalg.norm(heads[-1, pelvis] - heads[0, pelvis])
    smplx_travelled = np.linalg.norm(expected[-1, 0] - expected[0, 0])
    assert travelled > 0.1 and 0.7 < travelled / smplx_travelled < 1.3
