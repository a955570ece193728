import numpy as np
import pytest

from core.errors import BodyLanguageError
from core.motion import Motion
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from core.skeleton import PART_JOINTS, PARTS
from core.tokenizers.motion_features import (
    LOWER,
    FeatureStats,
    assemble,
    feature_dim,
    heading_angles,
    motion_features,
    part_channels,
    part_features,
)


def yaw_matrix(angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros(angle.shape + (3, 3))
    m[..., 0, 0], m[..., 0, 2], m[..., 1, 1], m[..., 2, 0], m[..., 2, 2] = c, s, 1, -s, c
    return m


def walking_motion(frames: int = 90, seed: int = 0, face_space: str = "arkit52",
                   yaw_offset: float = 0.0, start=(0.4, 0.02, -1.5)) -> Motion:
    """Random joint rotations (large ones too) and a curving walk with a bobbing pelvis."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 30.0
    poses = rng.normal(0, 0.8, (frames, 55, 3))
    yaw = yaw_offset + 0.6 * np.sin(0.7 * t)
    tilt = axis_angle_to_matrix(rng.normal(0, 0.1, (frames, 3)))
    poses[:, 0] = matrix_to_axis_angle(yaw_matrix(yaw) @ tilt)
    forward = np.stack([np.sin(yaw), np.zeros(frames), np.cos(yaw)], axis=1)
    steps = forward * 0.02
    steps[:, 1] = 0.0
    trans = np.asarray(start) + np.cumsum(steps, axis=0)
    trans[:, 1] = start[1] + 0.01 * np.sin(4 * t)
    width = 52 if face_space == "arkit52" else 100
    return Motion(poses=poses, trans=trans, face=rng.uniform(0, 1, (frames, width)),
                  face_space=face_space)


def same_rotations(a: np.ndarray, b: np.ndarray, atol: float = 1e-5) -> None:
    np.testing.assert_allclose(axis_angle_to_matrix(a.astype(np.float64)),
                               axis_angle_to_matrix(b.astype(np.float64)), atol=atol)


@pytest.mark.parametrize("face_space", ["arkit52", "flame100"])
def test_round_trip_rebuilds_the_motion(face_space):
    motion = walking_motion(face_space=face_space)
    features = motion_features(motion)
    for part in PARTS:
        assert features[part].dtype == np.float32
        assert features[part].shape == (motion.num_frames, feature_dim(part, face_space))
    rebuilt = assemble(features, motion.trans[0], motion.fps, face_space)
    same_rotations(rebuilt.poses, motion.poses)
    np.testing.assert_allclose(rebuilt.trans, motion.trans, atol=1e-4)
    np.testing.assert_allclose(rebuilt.face, motion.face, atol=1e-6)
    assert rebuilt.face_space == face_space and rebuilt.fps == motion.fps


def test_feature_widths_follow_the_paper_split():
    assert feature_dim("hands") == 180
    assert feature_dim("upper") == 78
    assert feature_dim("face", "flame100") == 18 + 100
    assert feature_dim("lower") == 54 + 2 + 1 + 4


def test_root_velocity_does_not_depend_on_where_the_character_faces():
    a = walking_motion(seed=3, yaw_offset=0.0)
    turned = walking_motion(seed=3, yaw_offset=2.0)  # same walk, facing elsewhere
    fa, fb = part_features(a, "lower"), part_features(turned, "lower")
    np.testing.assert_allclose(fa[:, LOWER.velocity], fb[:, LOWER.velocity], atol=1e-6)
    np.testing.assert_allclose(fa[:, LOWER.height], a.trans[:, 1], atol=1e-6)
    # A walk straight ahead is pure forward (+z) velocity in the heading frame.
    forward_share = np.abs(fa[1:, LOWER.velocity.start + 1]).mean()
    sideways_share = np.abs(fa[1:, LOWER.velocity.start]).mean()
    assert forward_share > 0.015 and sideways_share < 0.1 * forward_share


def test_heading_reads_the_yaw_of_the_pelvis():
    angles = np.array([0.0, 0.5, -2.0, 3.0])
    np.testing.assert_allclose(heading_angles(yaw_matrix(angles)), angles, atol=1e-9)


def test_foot_contacts_follow_planted_and_swinging_feet():
    frames = 60
    motion = Motion.rest(frames)
    poses = motion.poses.copy()
    # Left leg swings forward and back (hip flexion); the right leg stays planted.
    poses[:, 1, 0] = -0.6 * np.sin(np.linspace(0, 2 * np.pi, frames)) ** 2
    swing = Motion(poses=poses, trans=motion.trans, face=motion.face)
    contacts = part_features(swing, "lower")[:, LOWER.contacts]
    assert set(np.unique(contacts)) <= {0.0, 1.0}
    assert contacts[:, 2:].all()  # right ankle and foot planted throughout
    assert contacts[10:20, :2].sum() == 0  # left foot lifted mid-swing
    assert contacts[0, :2].all()  # and down at the start


def test_rebuilt_trans_starts_where_asked():
    motion = walking_motion(seed=5)
    channels = part_channels("lower", part_features(motion, "lower"), np.array([3.0, 9.0, -2.0]))
    offset = channels.trans - motion.trans
    np.testing.assert_allclose(offset[:, [0, 2]] - offset[0, [0, 2]], 0.0, atol=1e-4)
    np.testing.assert_allclose(channels.trans[0, [0, 2]], [3.0, -2.0], atol=1e-6)
    np.testing.assert_allclose(channels.trans[:, 1], motion.trans[:, 1], atol=1e-6)


def test_missing_parts_stay_at_rest():
    motion = walking_motion(seed=1)
    rebuilt = assemble({"hands": part_features(motion, "hands")}, None, 30.0, "arkit52")
    hands = list(PART_JOINTS["hands"])
    same_rotations(rebuilt.poses[:, hands], motion.poses[:, hands])
    others = [j for j in range(55) if j not in hands]
    assert np.all(rebuilt.poses[:, others] == 0) and np.all(rebuilt.trans == 0)


def test_bad_features_are_reported():
    with pytest.raises(BodyLanguageError, match="hands features have shape"):
        part_channels("hands", np.zeros((10, 179)))
    with pytest.raises(BodyLanguageError, match="NaN"):
        part_channels("upper", np.full((4, 78), np.nan))
    with pytest.raises(BodyLanguageError, match="unknown body part"):
        feature_dim("tail")
    with pytest.raises(BodyLanguageError, match="differ in length"):
        assemble({"hands": np.zeros((4, 180)), "upper": np.zeros((5, 78))})


def test_stats_normalise_and_floor_constant_channels():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(2.0, 3.0, (500, 3)), rng.normal(2.0, 3.0, (700, 3))]
    arrays = [np.concatenate([a, np.ones((len(a), 1))], axis=1) for a in arrays]
    stats = FeatureStats.from_arrays(arrays)
    joined = np.concatenate(arrays)
    np.testing.assert_allclose(stats.mean, joined.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats.std[:3], joined[:, :3].std(0), rtol=1e-4)
    assert stats.std[3] > 0  # a constant channel does not divide by zero
    normalised = stats.normalise(joined)
    assert np.isfinite(normalised).all()
    np.testing.assert_allclose(stats.denormalise(normalised), joined, atol=1e-4)


def test_contact_kinematics_match_the_full_skeleton():
    from core.skeleton import forward_kinematics
    from core.tokenizers.motion_features import CONTACT_JOINTS, _leg_positions

    motion = walking_motion(seed=9)
    expected = forward_kinematics(motion.poses, motion.trans)[:, list(CONTACT_JOINTS)]
    np.testing.assert_allclose(_leg_positions(motion.poses, motion.trans), expected, atol=1e-5)
