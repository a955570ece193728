"""Reduced keys without Blender: the played Bezier curve, key selection within tolerance, and a
performance's planted feet and lip closures (blender_addon/key_reduction.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from motion_synth import smooth_motion

from blender_addon import key_reduction as kr
from blender_addon.quaternions import (
    axis_angle_to_quaternion,
    make_continuous,
    quaternion_to_axis_angle,
)
from blender_addon.skeleton_data import JOINT_INDEX, forward_kinematics
from core.face_spaces import ARKIT52

MOUTH = ARKIT52.index("jawOpen")
BROW = ARKIT52.index("browInnerUp")
FEET = [JOINT_INDEX[name] for name in ("left_ankle", "left_foot", "right_ankle", "right_foot")]


def _bezier(u: np.ndarray, control: tuple[float, float, float, float]) -> np.ndarray:
    y0, y1, y2, y3 = control
    return (1 - u) ** 3 * y0 + 3 * u * (1 - u) ** 2 * y1 + 3 * u**2 * (1 - u) * y2 + u**3 * y3


def test_a_cubic_keyed_at_its_ends_is_played_exactly_with_its_own_handles():
    # Two segments of known cubics (handles at thirds): the fit must find their handles.
    u = np.linspace(0.0, 1.0, 13)
    first, second = (0.0, 0.9, -0.4, 0.5), (0.5, 1.4, 1.1, -0.2)
    values = np.r_[_bezier(u, first), _bezier(u, second)[1:]].astype(np.float32)
    keys = np.zeros(values.size, bool)
    keys[[0, 12, 24]] = True
    played = kr.bezier_curves(values.astype(np.float64)[None], keys[None])[0]
    np.testing.assert_allclose(played, values, atol=1e-6)
    left, right = kr.key_handles(values, keys)
    np.testing.assert_allclose(right, [first[1], second[1], values[24]], atol=1e-5)
    np.testing.assert_allclose(left, [values[0], first[2], second[2]], atol=1e-5)


def test_every_frame_keyed_plays_the_values_and_a_line_stays_a_line():
    values = np.random.default_rng(0).normal(size=(3, 40))
    every = np.ones(values.shape, bool)
    np.testing.assert_array_equal(kr.bezier_curves(values, every), values)
    ends = np.zeros((1, 11), bool)
    ends[0, [0, -1]] = True
    line = np.linspace(0.0, 1.0, 11)[None]
    np.testing.assert_allclose(kr.bezier_curves(line, ends), line, atol=1e-9)
    # Keys one frame apart have no frame between them to fit: their handles stay on the line.
    close = np.zeros(11, bool)
    close[[0, 1, 10]] = True
    left, right = kr.key_handles(line[0], close)
    np.testing.assert_allclose(right[0], 1 / 30, atol=1e-6)


def test_angle_error_is_the_rotation_between_quaternions():
    wanted = axis_angle_to_quaternion(np.array([[0.0, 0.0, 0.3]]))
    turned = axis_angle_to_quaternion(np.array([[0.0, 0.0, 0.3 + np.radians(1.0)]]))
    for played in (turned, -turned, 1.01 * turned):
        error = kr.curve_error(wanted[None], played[None], kr.ANGLE)
        assert np.degrees(error[0, 0]) == pytest.approx(1.0, abs=1e-9)
    assert kr.curve_error(np.zeros((1, 1, 3)), np.ones((1, 1, 3)))[0, 0] == pytest.approx(3 ** 0.5)
    with pytest.raises(ValueError, match="metric"):
        kr.curve_error(wanted[None], wanted[None], "manhattan")


def noisy_curves(count: int, frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 30.0
    slow = np.sin(2 * np.pi * rng.uniform(0.2, 1.0, (count, 1)) * t + rng.uniform(0, 6, (count, 1)))
    return slow + 0.001 * rng.normal(size=(count, frames))


def test_reduced_curves_stay_within_tolerance_on_every_frame():
    values = noisy_curves(6, 600, 1)
    forced = np.zeros(values.shape, bool)
    forced[:, [100, 333]] = True
    keys = kr.reduce_keys(values[..., None], 0.01, forced=forced)[..., 0]
    played = kr.bezier_curves(kr._stored(values), keys)
    assert np.abs(played - kr._stored(values)).max() <= 0.01
    assert keys[:, [0, 100, 333, -1]].all()
    assert keys.sum() < 0.25 * keys.size
    # Half the tolerance on the second half of each curve: more keys there, and still held.
    limit = np.where(np.arange(600) < 300, 0.01, 0.002)[None].repeat(6, axis=0)
    tight = kr.reduce_keys(values[..., None], limit)[..., 0]
    played = kr.bezier_curves(kr._stored(values), tight)
    assert np.all(np.abs(played - kr._stored(values)) <= limit)
    assert tight[:, 300:].sum() > 1.5 * tight[:, :300].sum()


def test_quaternion_groups_hold_the_rotation_angle():
    rng = np.random.default_rng(2)
    t = np.arange(400)[None, :, None] / 30.0
    paths = rng.uniform(0.2, 1.5, (8, 1, 3)) * np.sin(rng.uniform(0.3, 1.5, (8, 1, 3)) * t
                                                      + rng.uniform(0, 6, (8, 1, 3)))
    quaternions = make_continuous(axis_angle_to_quaternion(paths).swapaxes(0, 1)).swapaxes(0, 1)
    tolerance = np.radians(0.5)
    keys = kr.reduce_keys(quaternions, tolerance, kr.ANGLE)
    stored = kr._stored(quaternions)
    error = kr.curve_error(stored, kr.played_groups(stored, keys), kr.ANGLE)
    assert error.max() <= tolerance
    assert keys.sum() < 0.5 * keys.size
    # Each component has its own keys: they need not fall on the same frames.
    assert np.any(keys.any(axis=2) & ~keys.all(axis=2))


def test_bad_tolerances_are_refused_and_short_curves_keep_every_key():
    with pytest.raises(ValueError, match="positive"):
        kr.reduce_keys(np.zeros((1, 5, 1)), 0.0)
    for frames in (1, 2):
        assert kr.reduce_keys(np.zeros((3, frames, 4)), 0.1, kr.ANGLE).all()
    for field in ("rotation_degrees", "location_m", "face", "planted_foot_m"):
        with pytest.raises(ValueError, match=field):
            kr.Tolerances(**{field: float("nan")})


def test_closures_are_the_minima_of_a_closing_mouth():
    t = np.arange(200)
    openness = 0.35 * (1 - np.cos(2 * np.pi * t / 23.4)) + 0.6 * (t > 150)
    closes = kr.closure_frames(openness)
    expected = [int(round(k * 23.4)) for k in range(1, 7)]
    np.testing.assert_array_equal(np.flatnonzero(closes), expected)
    # After frame 150 the mouth never gets back into its closed band.
    assert kr.closure_frames(np.full(50, 0.2)).sum() == 0


def test_planted_frames_follow_the_lowest_foot():
    positions = np.zeros((10, 55, 3))
    heights = np.array([0.0, 0.0, 0.1, 0.2, 0.03, 0.0, 0.0, 0.3, 0.3, 0.0])
    positions[:, FEET[:2], 1] = heights[:, None]
    positions[:, FEET[2:], 1] = 0.5
    planted = kr.planted_frames(positions)
    np.testing.assert_array_equal(planted[:, 0], [1, 1, 0, 0, 1, 1, 1, 0, 0, 1])
    assert planted[:, 1].all()  # a foot that never moves is on the floor throughout


def performance(frames: int = 300, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth SMPL-X performance whose mouth closes every 23.4 frames, as the plan sees it."""
    motion = smooth_motion(frames, seed)
    t = np.arange(frames)
    face = motion.face.astype(np.float64)
    face[:, MOUTH] = 0.35 * (1 - np.cos(2 * np.pi * t / 23.4))
    poses = motion.poses.astype(np.float64)
    poses[:, JOINT_INDEX["jaw"]] = [0.25, 0.0, 0.0] * face[:, MOUTH, None]
    local = make_continuous(axis_angle_to_quaternion(poses))
    return local, motion.trans.astype(np.float64), face


def feet_off(local: np.ndarray, trans: np.ndarray, plan: kr.KeyPlan) -> np.ndarray:
    """(N, 2) how far the left / right foot's worst joint is from where the every-frame motion
    has it."""
    bones = kr._stored(local.swapaxes(0, 1))
    played = kr.played_groups(bones, plan.bones.swapaxes(0, 1)).swapaxes(0, 1)
    played_trans = kr.played_groups(kr._stored(trans[None]), plan.root[None])[0]
    wanted, _ = forward_kinematics(quaternion_to_axis_angle(bones.swapaxes(0, 1)),
                                   kr._stored(trans))
    got, _ = forward_kinematics(quaternion_to_axis_angle(played), played_trans)
    off = np.linalg.norm(got[:, FEET] - wanted[:, FEET], axis=-1)
    return np.stack([off[:, :2].max(axis=1), off[:, 2:].max(axis=1)], axis=1)


def plan_of(local: np.ndarray, trans: np.ndarray, face: np.ndarray, **tolerances: float
            ) -> kr.KeyPlan:
    return kr.plan_keys(local, range(55), trans, face, ARKIT52, local, trans,
                        tolerances=kr.Tolerances(**tolerances))


def test_plan_holds_every_tolerance_and_keeps_planted_feet():
    local, trans, face = performance()
    plan = plan_of(local, trans, face)
    bones = kr._stored(local.swapaxes(0, 1))
    angle = kr.curve_error(bones, kr.played_groups(bones, plan.bones.swapaxes(0, 1)), kr.ANGLE)
    assert np.degrees(angle.max()) <= 0.5
    played_face = kr.bezier_curves(kr._stored(face.T), plan.face.T)
    assert np.abs(played_face - kr._stored(face.T)).max() <= 0.005
    assert plan.count < 0.2 * (300 * (55 * 4 + 3 + 52))

    positions, _ = forward_kinematics(quaternion_to_axis_angle(local), trans)
    planted = kr.planted_frames(positions)
    assert planted.any(axis=1).sum() > 100
    assert feet_off(local, trans, plan)[planted].max() <= 0.002 + 1e-9
    # Without the foot's own tolerance the same reduction lets planted feet slide further.
    loose = plan_of(local, trans, face, planted_foot_m=1.0)
    assert feet_off(local, trans, loose)[planted].max() > 0.002
    assert loose.count < plan.count


def test_plan_keeps_a_key_where_the_mouth_closes():
    local, trans, face = performance()
    plan = plan_of(local, trans, face)
    closes = np.flatnonzero(kr.closure_frames(face[:, MOUTH]))
    assert len(closes) == 12
    mouth = [c for c, name in enumerate(ARKIT52) if kr.is_mouth_channel(name)]
    assert "mouthClose" in [ARKIT52[c] for c in mouth] and BROW not in mouth
    assert plan.face[np.ix_(closes, mouth)].all()
    assert plan.bones[closes, JOINT_INDEX["jaw"]].all()
    assert not plan.face[closes, BROW].all()
    played = kr.bezier_curves(kr._stored(face.T), plan.face.T)
    np.testing.assert_array_equal(played[np.ix_(mouth, closes)],
                                  kr._stored(face[np.ix_(closes, mouth)].T))


def test_importable_without_blender():
    code = ("import sys; sys.modules['bpy'] = None; import blender_addon.key_reduction; "
            "print('bpy' in sys.modules and sys.modules['bpy'] is not None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=kr.__file__.rsplit("/blender_addon/", 1)[0], check=True)
    assert done.stdout.strip() == "False"
