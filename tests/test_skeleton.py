"""The default rest skeleton, forward kinematics, and their agreement with the smplx package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import BodyLanguageError
from core.motion import Motion
from core.skeleton import (
    FINGERTIP_LENGTH,
    HEAD_TOP_ABOVE_HEAD_JOINT,
    JOINT_INDEX,
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    SmplxBody,
    default_rest_offsets,
    default_rest_positions,
    forward_kinematics,
    forward_kinematics_with_rotations,
    mirror_joint,
    motion_positions,
    offsets_from_positions,
    positions_from_offsets,
)

J = JOINT_INDEX
FINGER_ENDS = [i for i, name in enumerate(JOINT_NAMES) if name.endswith("3") and "_" in name]


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rot_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def random_poses(rng: np.random.Generator, *batch: int, scale: float = 0.8) -> np.ndarray:
    return rng.normal(scale=scale, size=(*batch, NUM_JOINTS, 3))


def fingertips(positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Rest fingertips: FINGERTIP_LENGTH beyond each *3 joint along its last bone."""
    ends = offsets[FINGER_ENDS]
    return positions[FINGER_ENDS] + FINGERTIP_LENGTH * ends / np.linalg.norm(
        ends, axis=1, keepdims=True
    )


# ---------------------------------------------------------------- default rest skeleton


def test_standing_height_is_an_adults():
    height = default_rest_positions()[J["head"], 1] + HEAD_TOP_ABOVE_HEAD_JOINT
    assert 1.6 <= height <= 1.9
    assert 0.10 <= HEAD_TOP_ABOVE_HEAD_JOINT <= 0.12


def test_arm_span_is_within_ten_percent_of_height():
    positions, offsets = default_rest_positions(), default_rest_offsets()
    tips = fingertips(positions, offsets)
    assert len(tips) == 10
    span = tips[:, 0].max() - tips[:, 0].min()
    height = positions[J["head"], 1] + HEAD_TOP_ABOVE_HEAD_JOINT
    assert abs(span - height) / height < 0.10


def test_rest_is_mirror_symmetric_to_a_millimetre():
    positions = default_rest_positions()
    for joint in range(NUM_JOINTS):
        mirrored = positions[mirror_joint(joint)] * np.array([-1.0, 1.0, 1.0])
        assert np.abs(positions[joint] - mirrored).max() < 1e-3, JOINT_NAMES[joint]
        if JOINT_NAMES[joint].startswith("left_"):
            assert positions[joint, 0] > 0, f"{JOINT_NAMES[joint]} should be on +X"


def test_feet_stand_on_the_floor_and_pelvis_is_at_hip_height():
    positions = default_rest_positions()
    feet = [J[f"{side}_{part}"] for side in ("left", "right") for part in ("ankle", "foot")]
    lowest = positions[feet, 1].min()
    assert 0.0 <= lowest < 0.15
    assert positions[:, 1].min() >= 0.0
    assert 0.85 <= positions[J["pelvis"], 1] <= 1.0
    assert (positions[[J["left_foot"], J["right_foot"]], 2] > positions[J["left_ankle"], 2]).all()


def test_rest_is_the_smplx_t_pose():
    p = default_rest_positions()
    shoulder, elbow, wrist = p[J["left_shoulder"]], p[J["left_elbow"]], p[J["left_wrist"]]
    arm = wrist - shoulder
    assert arm[0] > 0.4 and abs(arm[1]) < 0.05 * arm[0] and abs(arm[2]) < 0.05 * arm[0]
    assert shoulder[0] < elbow[0] < wrist[0]
    for finger in ("index", "middle", "ring", "pinky"):
        chain = p[[J["left_wrist"]] + [J[f"left_{finger}{k}"] for k in (1, 2, 3)], 0]
        assert (np.diff(chain) > 0).all(), f"{finger} is not extended along the arm"
    thumb = p[J["left_thumb3"]] - p[J["left_wrist"]]
    assert thumb[2] > 0.02 and thumb[1] < 0  # forward and down
    head = p[J["head"]]
    assert (p[[J["left_eye"], J["right_eye"]], 2] > head[2] + 0.03).all()
    assert p[J["jaw"], 1] < head[1] and p[J["jaw"], 2] > head[2]
    spine = p[[J["pelvis"], J["spine1"], J["spine2"], J["spine3"], J["neck"], J["head"]], 1]
    assert (np.diff(spine) > 0).all()


def test_parents_precede_children():
    assert PARENTS[0] == -1
    assert all(0 <= PARENTS[j] < j for j in range(1, NUM_JOINTS))


def test_offsets_and_positions_describe_the_same_skeleton():
    offsets, positions = default_rest_offsets(), default_rest_positions()
    np.testing.assert_allclose(positions_from_offsets(offsets), positions, atol=1e-12)
    np.testing.assert_allclose(offsets_from_positions(positions), offsets, atol=1e-12)
    np.testing.assert_array_equal(offsets[0], positions[0])
    offsets[:] = 0.0  # callers get copies: scribbling on one must not change the default
    assert np.abs(default_rest_offsets()).sum() > 1.0


# ---------------------------------------------------------------- forward kinematics


def test_zero_pose_gives_the_rest_positions():
    poses = np.zeros((2, 3, NUM_JOINTS, 3))
    positions, rotations = forward_kinematics_with_rotations(poses)
    assert positions.shape == (2, 3, NUM_JOINTS, 3)
    rest = np.broadcast_to(default_rest_positions(), positions.shape)
    np.testing.assert_allclose(positions, rest, atol=1e-12)
    np.testing.assert_allclose(rotations, np.broadcast_to(np.eye(3), rotations.shape), atol=1e-12)


def test_numpy_and_torch_agree_and_torch_is_differentiable():
    rng = np.random.default_rng(0)
    poses, trans = random_poses(rng, 4, 3), rng.normal(size=(4, 3, 3))
    expected, expected_rot = forward_kinematics_with_rotations(poses, trans)
    assert isinstance(expected, np.ndarray)

    poses_t = torch.tensor(poses, requires_grad=True)
    positions, rotations = forward_kinematics_with_rotations(poses_t, torch.tensor(trans))
    assert isinstance(positions, torch.Tensor) and positions.dtype == torch.float64
    np.testing.assert_allclose(positions.detach().numpy(), expected, atol=1e-10)
    np.testing.assert_allclose(rotations.detach().numpy(), expected_rot, atol=1e-10)

    positions[..., J["left_wrist"], :].sum().backward()
    grad = poses_t.grad.numpy()
    assert np.isfinite(grad).all()
    # The wrist moves with its arm chain and not at all with the legs.
    assert np.abs(grad[..., J["left_shoulder"], :]).max() > 1e-3
    assert np.abs(grad[..., J["right_knee"], :]).max() == 0.0

    float32 = forward_kinematics(torch.tensor(poses, dtype=torch.float32))
    assert float32.dtype == torch.float32
    np.testing.assert_allclose(float32.numpy(), forward_kinematics(poses), atol=1e-5)


def test_left_shoulder_turned_down_by_hand():
    offsets = default_rest_offsets()
    rest = default_rest_positions()
    poses = np.zeros((NUM_JOINTS, 3))
    poses[J["left_shoulder"]] = (0.0, 0.0, -np.pi / 2)  # -90 degrees about Z: +X arm points down
    positions = forward_kinematics(poses)

    arm = offsets[J["left_elbow"]] + offsets[J["left_wrist"]]  # shoulder -> wrist at rest
    x, y, z = arm
    expected_wrist = rest[J["left_shoulder"]] + np.array([y, -x, z])
    np.testing.assert_allclose(positions[J["left_wrist"]], expected_wrist, atol=1e-9)
    assert positions[J["left_wrist"], 1] < rest[J["left_shoulder"], 1] - 0.5
    np.testing.assert_allclose(positions[J["left_shoulder"]], rest[J["left_shoulder"]], atol=1e-12)
    np.testing.assert_allclose(positions[J["right_wrist"]], rest[J["right_wrist"]], atol=1e-12)


def test_child_rotation_is_applied_in_its_parents_frame():
    offsets = default_rest_offsets()
    rest = default_rest_positions()
    poses = np.zeros((NUM_JOINTS, 3))
    poses[J["left_collar"]] = (0.0, np.pi / 2, 0.0)
    poses[J["left_shoulder"]] = (0.0, 0.0, -np.pi / 2)
    positions = forward_kinematics(poses)

    collar_world = rot_y(np.pi / 2)
    shoulder_world = collar_world @ rot_z(-np.pi / 2)  # R_world[parent] @ R_local[child]
    shoulder = rest[J["left_collar"]] + collar_world @ offsets[J["left_shoulder"]]
    elbow = shoulder + shoulder_world @ offsets[J["left_elbow"]]
    wrist = elbow + shoulder_world @ offsets[J["left_wrist"]]
    np.testing.assert_allclose(positions[J["left_shoulder"]], shoulder, atol=1e-9)
    np.testing.assert_allclose(positions[J["left_wrist"]], wrist, atol=1e-9)
    # The other order of composition would swing the arm backwards instead of down.
    assert positions[J["left_wrist"], 1] < shoulder[1] - 0.5


def test_bone_lengths_survive_random_poses():
    rng = np.random.default_rng(1)
    offsets = default_rest_offsets()
    lengths = np.linalg.norm(offsets[1:], axis=-1)
    poses, trans = random_poses(rng, 16, scale=1.5), rng.normal(size=(16, 3))
    for positions in (
        forward_kinematics(poses, trans),
        forward_kinematics(torch.tensor(poses), torch.tensor(trans)).numpy(),
    ):
        bones = positions[:, 1:] - positions[:, list(PARENTS[1:])]
        np.testing.assert_allclose(np.linalg.norm(bones, axis=-1),
                                   np.broadcast_to(lengths, (16, NUM_JOINTS - 1)), atol=1e-9)
        # A random pose really moves the joints, so the check above is not trivially met.
        assert np.abs(positions - default_rest_positions()).max() > 0.3


def test_trans_shifts_every_joint():
    rng = np.random.default_rng(2)
    poses, trans = random_poses(rng, 5), rng.normal(size=(5, 3))
    shifted = forward_kinematics(poses, trans)
    still = forward_kinematics(poses)
    np.testing.assert_allclose(shifted - still, np.broadcast_to(trans[:, None], still.shape),
                               atol=1e-12)


def test_custom_rest_offsets_scale_the_body():
    rng = np.random.default_rng(3)
    poses = random_poses(rng, 4)
    positions = forward_kinematics(poses, rest_offsets=default_rest_offsets() * 2.0)
    np.testing.assert_allclose(positions, 2.0 * forward_kinematics(poses), atol=1e-12)


def test_bad_shapes_are_reported():
    with pytest.raises(BodyLanguageError, match="poses"):
        forward_kinematics(np.zeros((3, 54, 3)))
    with pytest.raises(BodyLanguageError, match="trans"):
        forward_kinematics(np.zeros((3, 55, 3)), np.zeros((3, 2)))
    with pytest.raises(BodyLanguageError, match="offsets"):
        forward_kinematics(np.zeros((3, 55, 3)), rest_offsets=np.zeros((24, 3)))


def test_motion_positions_poses_the_default_skeleton():
    rng = np.random.default_rng(4)
    motion = Motion(
        poses=random_poses(rng, 6), trans=rng.normal(size=(6, 3)), face=np.zeros((6, 52))
    )
    positions = motion_positions(motion)
    assert positions.shape == (6, NUM_JOINTS, 3) and positions.dtype == np.float32
    np.testing.assert_allclose(positions, forward_kinematics(motion.poses, motion.trans),
                               atol=1e-6)
    standing = motion_positions(Motion.rest(2))
    np.testing.assert_allclose(standing[1], default_rest_positions(), atol=1e-6)


# ---------------------------------------------------------------- the real smplx package


def _smplx_vertex_count() -> int:
    # SMPL-X.forward picks extra keypoints (nose, toes, fingertips) by fixed vertex index, so
    # even a synthetic model needs that many vertices for forward() to run.
    from smplx.vertex_ids import vertex_ids

    return max(vertex_ids["smplx"].values()) + 1


def write_synthetic_smplx(path, rest_positions: np.ndarray, seed: int = 0) -> None:
    """A minimal SMPL-X .npz in the format smplx.SMPLX loads.

    Each joint is regressed as the mean of two vertices placed symmetrically about it, so the
    regressed rest joints are `rest_positions`; every other vertex is padding bound to the pelvis.
    Shape directions move the joint vertices (so betas matter); the hand means are non-zero
    (so using them by mistake would show).
    """
    rng = np.random.default_rng(seed)
    vertices = _smplx_vertex_count()
    spread = rng.normal(scale=0.01, size=(NUM_JOINTS, 3))
    v_template = np.zeros((vertices, 3), np.float32)
    v_template[0 : 2 * NUM_JOINTS : 2] = rest_positions + spread
    v_template[1 : 2 * NUM_JOINTS : 2] = rest_positions - spread
    j_regressor = np.zeros((NUM_JOINTS, vertices), np.float32)
    weights = np.zeros((vertices, NUM_JOINTS), np.float32)
    weights[:, 0] = 1.0
    for joint in range(NUM_JOINTS):
        j_regressor[joint, [2 * joint, 2 * joint + 1]] = 0.5
        weights[[2 * joint, 2 * joint + 1]] = 0.0
        weights[[2 * joint, 2 * joint + 1], joint] = 1.0
    shapedirs = np.zeros((vertices, 3, 20), np.float32)  # 10 shape + 10 expression directions
    shapedirs[: 2 * NUM_JOINTS] = rng.normal(scale=0.01, size=(2 * NUM_JOINTS, 3, 20))
    kintree = np.array([PARENTS, range(NUM_JOINTS)], np.int64)
    np.savez(
        path,
        v_template=v_template,
        f=np.array([[0, 1, 2]], np.int64),
        J_regressor=j_regressor,
        kintree_table=kintree,
        weights=weights,
        shapedirs=shapedirs,
        posedirs=np.zeros((vertices, 3, (NUM_JOINTS - 1) * 9), np.float32),
        hands_componentsl=np.eye(45, dtype=np.float32),
        hands_componentsr=np.eye(45, dtype=np.float32),
        hands_meanl=rng.normal(scale=0.3, size=45).astype(np.float32),
        hands_meanr=rng.normal(scale=0.3, size=45).astype(np.float32),
        lmk_faces_idx=np.zeros(1, np.int64),
        lmk_bary_coords=np.full((1, 3), 1.0 / 3.0, np.float32),
    )


@pytest.fixture(scope="module")
def smplx_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smplx_models")
    write_synthetic_smplx(folder / "SMPLX_NEUTRAL.npz", default_rest_positions())
    return folder


def test_smplx_joints_match_our_forward_kinematics(smplx_folder):
    body = SmplxBody(smplx_folder / "SMPLX_NEUTRAL.npz")
    assert body.num_betas == 10
    np.testing.assert_allclose(body.rest_positions(), default_rest_positions(), atol=1e-5)

    rng = np.random.default_rng(5)
    betas = rng.normal(size=10)
    frames = 7
    motion = Motion(
        poses=random_poses(rng, frames),
        trans=rng.normal(scale=0.5, size=(frames, 3)),
        face=np.zeros((frames, 52)),
        betas=betas,
    )
    offsets = body.rest_offsets(betas)
    assert np.abs(offsets - default_rest_offsets()).max() > 1e-3  # the betas changed the body

    theirs = body.joint_positions(motion)
    ours = forward_kinematics(motion.poses.astype(np.float64), motion.trans, offsets)
    assert theirs.shape == (frames, NUM_JOINTS, 3)
    np.testing.assert_allclose(theirs, ours, atol=1e-4)
    np.testing.assert_allclose(motion_positions(motion, model=body), theirs, atol=1e-7)


def test_smplx_body_chunks_long_motions_and_reads_folders(smplx_folder):
    body = SmplxBody(smplx_folder, gender="neutral", chunk_frames=4)
    rng = np.random.default_rng(6)
    motion = Motion(poses=random_poses(rng, 10), trans=np.zeros((10, 3)), face=np.zeros((10, 52)))
    offsets = body.rest_offsets()
    expected = forward_kinematics(motion.poses.astype(np.float64), motion.trans, offsets)
    np.testing.assert_allclose(body.joint_positions(motion), expected, atol=1e-4)


def test_missing_or_malformed_smplx_model_is_reported(tmp_path, smplx_folder):
    missing = tmp_path / "SMPLX_NEUTRAL.npz"
    with pytest.raises(BodyLanguageError, match="SMPLX_NEUTRAL.npz") as error:
        SmplxBody(missing)
    assert error.value.path == str(missing)

    with pytest.raises(BodyLanguageError, match="SMPLX_FEMALE"):
        SmplxBody(smplx_folder, gender="female")

    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive")
    with pytest.raises(BodyLanguageError, match="garbage.npz"):
        SmplxBody(garbage)

    incomplete = tmp_path / "incomplete.npz"
    np.savez(incomplete, v_template=np.zeros((3, 3)))
    with pytest.raises(BodyLanguageError, match="incomplete.npz"):
        SmplxBody(incomplete)

    wrong_kind = tmp_path / "model.obj"
    wrong_kind.write_text("v 0 0 0\n")
    with pytest.raises(BodyLanguageError, match="model.obj"):
        SmplxBody(wrong_kind)


def test_numpy_callers_never_import_torch():
    # The Blender side uses FK on numpy arrays and must not pay for (or need) torch.
    script = (
        "import sys, numpy as np\n"
        "from core.motion import Motion\n"
        "from core.skeleton import forward_kinematics, motion_positions\n"
        "forward_kinematics(np.zeros((2, 55, 3)), np.zeros((2, 3)))\n"
        "motion_positions(Motion.rest(3))\n"
        "assert 'torch' not in sys.modules and 'smplx' not in sys.modules, 'torch imported'\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
