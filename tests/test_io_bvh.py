"""BVH export, checked by reading the file back with Blender's own BVH importer (real bpy)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from blender_harness import SCRIPTS
from scipy.spatial.transform import Rotation

from core.errors import BodyLanguageError
from core.io.bvh import write_bvh
from core.motion import Motion
from core.skeleton import (
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    default_rest_offsets,
    default_rest_positions,
)

FRAMES = 300
FPS = 25.0

# Blender's importer turns the file's Y-up axes into its Z-up ones: (x, y, z) -> (x, -z, y).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def smooth_random_motion(rng: np.random.Generator) -> Motion:
    """Large, smooth rotations on every joint (well past 90 degrees) and a wandering root."""
    t = np.linspace(0.0, 1.0, FRAMES)[:, None, None]
    poses = np.zeros((FRAMES, NUM_JOINTS, 3))
    for _ in range(3):
        amplitude = rng.uniform(-1.3, 1.3, (1, NUM_JOINTS, 3))
        cycles = rng.uniform(0.5, 3.0, (1, NUM_JOINTS, 3))
        phase = rng.uniform(0.0, 2 * np.pi, (1, NUM_JOINTS, 3))
        poses += amplitude * np.sin(2 * np.pi * cycles * t + phase)
    trans = 0.8 * np.sin(2 * np.pi * rng.uniform(0.3, 2.0, 3) * t[:, 0] + rng.uniform(0, 6, 3))
    return Motion(poses=poses, trans=trans, face=np.zeros((FRAMES, 52)), fps=FPS)


def import_with_blender(bvh_path, tmp_path) -> dict:
    out = tmp_path / "blender_pose.npz"
    config = tmp_path / "blender_user"
    env = dict(os.environ)
    # Keep Blender away from the user's own preferences, scripts and add-ons.
    for variable in ("RESOURCES", "CONFIG", "SCRIPTS", "DATAFILES", "EXTENSIONS"):
        env[f"BLENDER_USER_{variable}"] = str(config / variable.lower())
    run = subprocess.run(
        # A fresh Python with bpy, so the import touches nothing of this process.
        [sys.executable, str(SCRIPTS / "import_bvh_poses.py"), str(bvh_path), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with np.load(out) as data:
        blender = {key: data[key] for key in data.files}
    # Blender lists bones in file (depth-first) order; put them in SMPL-X joint order.
    names = list(blender["names"])
    blender["bone_names"] = names
    order = [names.index(name) for name in JOINT_NAMES if name in names]
    for key in ("parents", "rest"):
        blender[key] = blender[key][order]
    blender["pose"] = blender["pose"][:, order]
    return blender


def angle_between_degrees(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation angle of a^T b for stacks of 3x3 matrices, accurate near zero."""
    chord = np.linalg.norm(a - b, axis=(-2, -1)) / (2.0 * np.sqrt(2.0))
    return np.degrees(2.0 * np.arcsin(np.clip(chord, 0.0, 1.0)))


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("bvh")
    motion = smooth_random_motion(np.random.default_rng(7))
    bvh_path = tmp_path / "take.bvh"
    write_bvh(bvh_path, motion)
    return motion, bvh_path, import_with_blender(bvh_path, tmp_path)


def test_test_motion_has_rotations_beyond_ninety_degrees(round_trip):
    motion, _, _ = round_trip
    angles = np.linalg.norm(motion.poses, axis=-1)
    assert (angles > np.pi / 2).any(axis=0).sum() > NUM_JOINTS // 2


def test_blender_reads_back_skeleton_and_frames(round_trip):
    _, _, blender = round_trip
    assert len(blender["bone_names"]) == NUM_JOINTS
    assert sorted(blender["bone_names"]) == sorted(JOINT_NAMES)
    expected_parents = ["" if p < 0 else JOINT_NAMES[p] for p in PARENTS]
    assert list(blender["parents"]) == expected_parents
    assert blender["pose"].shape[:2] == (FRAMES, NUM_JOINTS)
    assert int(blender["first_frame"]) == 1
    assert blender["fps"] == pytest.approx(FPS)
    # Bone heads at rest, back in Y-up axes, are the default skeleton's joint positions.
    heads = blender["rest"][:, :3, 3].astype(np.float64) @ Y_UP_TO_Z_UP
    np.testing.assert_allclose(heads, default_rest_positions(), atol=1e-5)


def test_blender_reads_back_local_rotations(round_trip):
    motion, _, blender = round_trip
    pose = blender["pose"][..., :3, :3].astype(np.float64)
    rest = blender["rest"][:, :3, :3].astype(np.float64)
    # A posed bone's matrix is its world rotation times its own rest orientation; undo the rest
    # orientation, then Blender's Z-up axes, to get world rotations in SMPL-X axes.
    world = pose @ np.linalg.inv(rest)[None]
    world = Y_UP_TO_Z_UP.T @ world @ Y_UP_TO_Z_UP
    parents = np.array(PARENTS)
    local = world.copy()
    local[:, 1:] = np.swapaxes(world[:, parents[1:]], -1, -2) @ world[:, 1:]

    expected = Rotation.from_rotvec(motion.poses.reshape(-1, 3).astype(np.float64))
    expected = expected.as_matrix().reshape(FRAMES, NUM_JOINTS, 3, 3)
    error = angle_between_degrees(local, expected)
    worst = np.unravel_index(np.argmax(error), error.shape)
    assert error.max() < 0.5, f"{error.max():.3f} deg at frame {worst[0]}, {JOINT_NAMES[worst[1]]}"


def test_blender_reads_back_root_position(round_trip):
    motion, _, blender = round_trip
    head = blender["pose"][:, 0, :3, 3].astype(np.float64) @ Y_UP_TO_Z_UP  # back to Y up
    expected = default_rest_offsets()[0][None] + motion.trans
    assert np.abs(head - expected).max() < 1e-3


def test_bvh_text_structure(round_trip):
    _, bvh_path, _ = round_trip
    text = bvh_path.read_text()
    lines = text.splitlines()
    assert lines[0] == "HIERARCHY"
    declared = [line.split() for line in lines if line.split()[:1] in (["ROOT"], ["JOINT"])]
    assert [words[0] for words in declared].count("ROOT") == 1
    assert sorted(words[1] for words in declared) == sorted(JOINT_NAMES)
    assert text.count("End Site") == sum(1 for j in range(NUM_JOINTS) if j not in PARENTS)
    assert text.count("{") == text.count("}")
    assert f"Frames: {FRAMES}" in lines
    assert f"Frame Time: {1 / FPS:.8f}" in lines
    motion_rows = lines[lines.index(f"Frames: {FRAMES}") + 2 :]
    assert len(motion_rows) == FRAMES
    assert {len(row.split()) for row in motion_rows} == {6 + 3 * (NUM_JOINTS - 1)}


def test_euler_curves_have_no_wraparound_jumps(tmp_path):
    # Two full turns, 6 degrees a frame: axis-angle wraps at 180 degrees, the written curves must
    # not. About Y (the last channel) that is plain unwrapping; about X (the middle channel, which
    # a matrix decomposition keeps within +-90) it needs the flipped equivalent triple.
    turns = np.radians(1.0 + 6.0 * np.arange(121))
    wrapped = (turns + np.pi) % (2 * np.pi) - np.pi
    rest = Motion.rest(121)
    poses = rest.poses.copy()
    poses[:, 0, 1] = wrapped  # pelvis about Y
    poses[:, 18, 0] = wrapped  # left_elbow about X
    path = tmp_path / "spin.bvh"
    write_bvh(path, Motion(poses=poses, trans=rest.trans, face=rest.face))
    values = bvh_frames(path)
    lines = path.read_text().splitlines()
    assert np.abs(np.diff(values, axis=0)).max() < 6.01
    # Channels are Z X Y: the pelvis's Y is column 5; the elbow's X is its second channel, and
    # joints own their columns in the order the hierarchy declares them.
    declared = [line.split()[1] for line in lines if line.split()[:1] in (["ROOT"], ["JOINT"])]
    elbow = 3 + 3 * declared.index("left_elbow")
    for column in (5, elbow + 1):
        assert abs(abs(values[-1, column] - values[0, column]) - 720.0) < 0.01


def bvh_offsets(path) -> np.ndarray:
    """Every OFFSET line of a BVH file (joints and end sites), in file order."""
    lines = path.read_text().splitlines()
    return np.array([line.split()[1:] for line in lines if line.split()[:1] == ["OFFSET"]], float)


def bvh_frames(path) -> np.ndarray:
    """The MOTION rows of a BVH file as a (frames, channels) array."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Frame Time:")) + 1
    return np.array([row.split() for row in lines[start:]], float)


def test_scale_multiplies_offsets_and_positions_not_angles(tmp_path):
    motion = smooth_random_motion(np.random.default_rng(1)).slice_frames(0, 5)
    metres, centimetres = tmp_path / "m.bvh", tmp_path / "cm.bvh"
    write_bvh(metres, motion)
    write_bvh(centimetres, motion, scale=100.0)
    np.testing.assert_allclose(bvh_offsets(centimetres), 100 * bvh_offsets(metres), atol=1e-4)
    np.testing.assert_allclose(
        bvh_frames(centimetres)[:, :3], 100 * bvh_frames(metres)[:, :3], atol=1e-4
    )
    np.testing.assert_allclose(bvh_frames(centimetres)[:, 3:], bvh_frames(metres)[:, 3:])


def bvh_joint_offsets(path) -> dict[str, np.ndarray]:
    """Each joint's OFFSET by name (end sites left out)."""
    offsets, joint = {}, None
    for words in (line.split() for line in path.read_text().splitlines()):
        if words[:1] in (["ROOT"], ["JOINT"]):
            joint = words[1]
        elif words[:2] == ["End", "Site"]:
            joint = None
        elif words[:1] == ["OFFSET"] and joint is not None:
            offsets[joint] = np.array(words[1:], float)
    return offsets


def test_custom_rest_offsets_are_written(tmp_path):
    offsets = default_rest_offsets() * np.linspace(0.5, 2.0, NUM_JOINTS)[:, None]
    path = tmp_path / "tall.bvh"
    write_bvh(path, Motion.rest(2), rest_offsets=offsets)
    written = bvh_joint_offsets(path)
    assert set(written) == set(JOINT_NAMES)
    for joint, name in enumerate(JOINT_NAMES):
        np.testing.assert_allclose(written[name], offsets[joint], atol=1e-6, err_msg=name)


def test_unwritable_path_names_the_file(tmp_path):
    path = tmp_path / "no_such_folder" / "take.bvh"
    with pytest.raises(BodyLanguageError, match="no_such_folder"):
        write_bvh(path, Motion.rest(3))


def test_bad_rest_offsets_and_scale_are_rejected(tmp_path):
    path = tmp_path / "bad.bvh"
    with pytest.raises(BodyLanguageError, match=r"\(54, 3\)"):
        write_bvh(path, Motion.rest(3), rest_offsets=np.zeros((54, 3)))
    with pytest.raises(BodyLanguageError, match="scale"):
        write_bvh(path, Motion.rest(3), scale=0.0)
    assert not path.exists()
