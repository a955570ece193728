import numpy as np
import pytest

from core.errors import BodyLanguageError
from core.motion import Motion
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from core.skeleton import PART_JOINTS


def _motion(frames: int = 40, fps: float = 30.0, seed: int = 0) -> Motion:
    rng = np.random.default_rng(seed)
    poses = rng.normal(0, 0.3, (frames, 55, 3))
    return Motion(poses=poses, trans=rng.normal(0, 0.1, (frames, 3)),
                  face=rng.uniform(0, 1, (frames, 52)), fps=fps)


def test_arrays_are_validated_and_converted():
    motion = _motion()
    assert motion.poses.dtype == np.float32 and motion.poses.shape == (40, 55, 3)
    assert motion.duration == pytest.approx(40 / 30)
    with pytest.raises(BodyLanguageError, match=r"poses has shape \(40, 52, 3\)"):
        Motion(np.zeros((40, 52, 3)), np.zeros((40, 3)), np.zeros((40, 52)))
    with pytest.raises(BodyLanguageError, match="face has shape"):
        Motion(np.zeros((40, 55, 3)), np.zeros((40, 3)), np.zeros((40, 100)))
    with pytest.raises(BodyLanguageError, match="zero frames"):
        Motion(np.zeros((0, 55, 3)), np.zeros((0, 3)), np.zeros((0, 52)))
    poses = np.zeros((4, 55, 3))
    poses[2, 3, 1] = np.nan
    with pytest.raises(BodyLanguageError, match="1 NaN"):
        Motion(poses, np.zeros((4, 3)), np.zeros((4, 52)))
    with pytest.raises(BodyLanguageError, match="unknown face space"):
        Motion(np.zeros((4, 55, 3)), np.zeros((4, 3)), np.zeros((4, 52)), face_space="blend")
    with pytest.raises(BodyLanguageError, match="fps"):
        Motion(np.zeros((4, 55, 3)), np.zeros((4, 3)), np.zeros((4, 52)), fps=0)
    flame = Motion(
        np.zeros((4, 55, 3)), np.zeros((4, 3)), np.zeros((4, 100)), face_space="flame100"
    )
    assert flame.face.shape == (4, 100)


def test_slice_frames():
    motion = _motion()
    part = motion.slice_frames(10, 20)
    assert len(part) == 10
    np.testing.assert_array_equal(part.poses, motion.poses[10:20])
    np.testing.assert_array_equal(part.face, motion.face[10:20])
    assert len(motion.slice_frames(-5)) == 5
    with pytest.raises(BodyLanguageError, match="select nothing"):
        motion.slice_frames(30, 30)


def test_resample_slerps_rotations():
    # One joint turns 170° about Y over 2 frames: a lerp of axis-angles would take a short cut
    # through the identity, a slerp passes exactly 85° at the midpoint.
    poses = np.zeros((2, 55, 3))
    poses[1, 16] = [0, np.radians(170), 0]
    motion = Motion(poses, np.zeros((2, 3)), np.zeros((2, 52)), fps=1.0)
    doubled = motion.resample(2.0)
    assert len(doubled) == 4
    np.testing.assert_allclose(doubled.poses[1, 16], [0, np.radians(85), 0], atol=1e-5)
    # Crossing the ±π boundary: from +170° to -170° about Y is a 20° step the short way.
    poses[0, 16] = [0, np.radians(170), 0]
    poses[1, 16] = [0, np.radians(-170), 0]
    crossing = Motion(poses, np.zeros((2, 3)), np.zeros((2, 52)), fps=1.0).resample(2.0)
    middle = axis_angle_to_matrix(crossing.poses[1, 16].astype(np.float64))
    flipped = matrix_to_axis_angle(middle)
    assert np.degrees(np.linalg.norm(flipped)) == pytest.approx(180, abs=1e-3)


def test_resample_keeps_duration_and_linear_channels():
    motion = _motion(frames=60, fps=30.0)
    slower = motion.resample(24.0)
    assert len(slower) == 48 and slower.fps == 24.0
    assert slower.duration == pytest.approx(motion.duration)
    # Frame 4 at 24 fps is t = 1/6 s = source frame 5 exactly.
    np.testing.assert_allclose(slower.trans[4], motion.trans[5], atol=1e-6)
    np.testing.assert_allclose(slower.face[4], motion.face[5], atol=1e-6)
    same = motion.resample(30.0)
    assert same is motion
    with pytest.raises(BodyLanguageError):
        motion.resample(-1)


def test_part_views_cover_every_channel_once():
    motion = _motion()
    seen = []
    for name in ("face", "hands", "upper", "lower"):
        view = motion.part(name)
        assert view.rotations.shape == (40, len(PART_JOINTS[name]), 3)
        seen.extend(view.joints)
    assert sorted(seen) == list(range(55))
    assert motion.part("face").face is motion.face and motion.part("hands").face is None
    assert motion.part("lower").trans is motion.trans
    with pytest.raises(BodyLanguageError, match="unknown body part"):
        motion.part("tail")


def test_with_part_replaces_only_that_part():
    a, b = _motion(seed=1), _motion(seed=2)
    mixed = a.with_part("hands", b)
    hands = list(PART_JOINTS["hands"])
    others = [j for j in range(55) if j not in hands]
    np.testing.assert_array_equal(mixed.poses[:, hands], b.poses[:, hands])
    np.testing.assert_array_equal(mixed.poses[:, others], a.poses[:, others])
    np.testing.assert_array_equal(mixed.face, a.face)
    np.testing.assert_array_equal(a.with_part("lower", b).trans, b.trans)
    np.testing.assert_array_equal(a.with_part("face", b).face, b.face)
    with pytest.raises(BodyLanguageError, match="cannot take part"):
        a.with_part("hands", _motion(frames=10))
