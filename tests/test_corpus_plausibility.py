"""Plausibility checks: each catches its crafted violation and lets real-looking motion pass."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.corpus.plausibility import Problem, assert_plausible, check_motion
from core.errors import BodyLanguageError
from core.motion import Motion
from core.skeleton import JOINT_INDEX, PART_JOINTS, default_rest_positions

J = JOINT_INDEX


def posed(frames: int = 40, fps: float = 30.0, **joints: tuple[float, float, float]) -> Motion:
    """A rest motion with the named joints held at axis-angle rotations (degrees)."""
    motion = Motion.rest(frames, fps=fps)
    poses = motion.poses.copy()
    for name, degrees in joints.items():
        poses[:, J[name]] = np.radians(degrees)
    return replace(motion, poses=poses)


def kinds(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.check, p.joint) for p in problems}


def smooth_noise(rng: np.random.Generator, frames: int, shape: tuple[int, ...],
                 scale: float) -> np.ndarray:
    """Low-frequency random curves (a few cycles over the clip), `scale` at most."""
    t = np.linspace(0, 1, frames).reshape((frames,) + (1,) * len(shape))
    out = np.zeros((frames,) + shape)
    for k in range(1, 4):
        out += rng.uniform(-1, 1, shape) * np.sin(2 * np.pi * k * t + rng.uniform(0, 6, shape))
    return scale * out / 3


def test_a_rest_motion_is_plausible():
    assert check_motion(Motion.rest(60)) == []
    assert_plausible(Motion.rest(60), "rest")


def test_a_smooth_random_small_motion_is_plausible():
    rng = np.random.default_rng(0)
    frames = 300
    motion = Motion.rest(frames)
    poses = motion.poses.copy()
    moving = [j for part in ("upper", "hands") for j in PART_JOINTS[part]] + [J["left_eye"],
                                                                             J["right_eye"]]
    poses[:, moving] = smooth_noise(rng, frames, (len(moving), 3), np.radians(12))
    poses[:, J["jaw"], 0] = np.abs(smooth_noise(rng, frames, (), np.radians(15)))  # talking
    # The pelvis sways and turns a little; the legs stay under it.
    poses[:, 0] = smooth_noise(rng, frames, (3,), np.radians(4))
    trans = smooth_noise(rng, frames, (3,), 0.03) * np.array([1.0, 0.0, 1.0])
    trans[:, 1] = 0.04  # standing a little high keeps the tilted feet off the floor
    motion = replace(motion, poses=poses.astype(np.float32), trans=trans.astype(np.float32))
    assert check_motion(motion) == [], [str(p) for p in check_motion(motion)]


def test_a_hyperextended_knee_is_caught():
    problems = check_motion(posed(left_knee=(-35.0, 0.0, 0.0)))
    assert ("joint_limit", "left_knee") in kinds(problems)
    bent = check_motion(posed(left_knee=(60.0, 0.0, 0.0), right_knee=(60.0, 0.0, 0.0)))
    assert not any(p.check == "joint_limit" for p in bent)
    # The right knee's limits mirror the left's: the same flexion is fine, hyperextension not.
    assert ("joint_limit", "right_knee") in kinds(check_motion(posed(right_knee=(-35, 0, 0))))


def test_a_spine_twisted_170_degrees_and_a_backward_elbow_are_caught():
    twisted = check_motion(posed(spine2=(0.0, 170.0, 0.0)))
    assert ("joint_limit", "spine2") in kinds(twisted)
    # The left elbow flexes about -Y: +40 degrees is bending it backwards.
    backward = check_motion(posed(left_elbow=(0.0, 40.0, 0.0)))
    assert ("joint_limit", "left_elbow") in kinds(backward)
    flexed = check_motion(posed(left_elbow=(0.0, -120.0, 0.0), right_elbow=(0.0, 120.0, 0.0)))
    assert not any(p.check == "joint_limit" for p in flexed)


def test_fingers_curl_one_way():
    curled = posed(left_index1=(0.0, 0.0, -80.0), right_index1=(0.0, 0.0, 80.0))
    assert check_motion(curled) == []
    backward = check_motion(posed(left_index1=(0.0, 0.0, 80.0)))
    assert ("joint_limit", "left_index1") in kinds(backward)


def test_feet_below_the_floor_are_caught():
    sunk = Motion.rest(20)
    sunk = replace(sunk, trans=np.tile(np.float32([0.0, -0.05, 0.0]), (20, 1)))
    problems = check_motion(sunk)
    assert {("floor", "left foot"), ("floor", "right foot")} <= kinds(problems)
    floor = [p for p in problems if p.check == "floor"]
    assert all(p.frames == 20 and p.worst < -0.04 for p in floor)
    # Half a centimetre into the floor is within tolerance.
    grazing = replace(sunk, trans=np.tile(np.float32([0.0, -0.005, 0.0]), (20, 1)))
    assert check_motion(grazing) == []


def test_toes_pointed_into_the_floor_are_caught():
    assert ("floor", "left foot") in kinds(check_motion(posed(left_ankle=(40.0, 0.0, 0.0))))


def test_a_sliding_planted_foot_is_caught_but_a_foot_in_the_air_may_move():
    frames = 30
    glide = np.zeros((frames, 3), np.float32)
    glide[:, 0] = 0.02 * np.arange(frames)  # 2 cm per frame along the floor
    sliding = replace(Motion.rest(frames), trans=glide)
    assert {("foot_slide", "left foot"), ("foot_slide", "right foot")} <= kinds(
        check_motion(sliding))
    slow = replace(sliding, trans=glide * 0.25)  # 5 mm per frame: shuffling, not sliding
    assert check_motion(slow) == []
    airborne = glide.copy()
    airborne[:, 1] = 0.1
    assert check_motion(replace(sliding, trans=airborne)) == []


def test_a_hand_inside_the_torso_is_caught():
    # Upper arm straight forward, elbow folded inward: the hand ends up in the chest.
    inside = posed(left_shoulder=(0.0, -90.0, 0.0), left_elbow=(0.0, -150.0, 0.0))
    problems = check_motion(inside)
    assert ("hand_in_torso", "left_wrist") in kinds(problems)
    assert {p.check for p in problems} == {"hand_in_torso"}
    # The same arm folded less keeps the hand in front of the chest.
    assert check_motion(posed(left_shoulder=(0.0, -90.0, 0.0),
                              left_elbow=(0.0, -90.0, 0.0))) == []


def test_a_60_degree_rotation_jump_in_one_frame_is_caught():
    motion = posed(40)
    poses = motion.poses.copy()
    poses[20:, J["right_shoulder"]] = np.radians([0.0, 0.0, -60.0])
    problems = check_motion(replace(motion, poses=poses))
    jumps = [p for p in problems if p.check == "rotation_jump"]
    assert [(p.joint, p.first_frame, p.frames) for p in jumps] == [("right_shoulder", 19, 1)]
    assert jumps[0].worst == pytest.approx(60.0, abs=0.1)
    # The same turn spread over six frames is an ordinary arm movement.
    ramp = motion.poses.copy()
    ramp[:, J["right_shoulder"], 2] = np.radians(-60.0) * np.clip(
        (np.arange(40) - 20) / 6, 0, 1)
    assert check_motion(replace(motion, poses=ramp)) == []


def test_rotation_jump_bounds_follow_the_frame_rate():
    step = np.radians(20.0)
    for fps, caught in ((30.0, False), (60.0, True)):
        motion = posed(20, fps=fps)
        poses = motion.poses.copy()
        poses[:, J["neck"], 1] = step * np.clip(np.arange(20) - 10, 0, 1)
        found = ("rotation_jump", "neck") in kinds(check_motion(replace(motion, poses=poses)))
        assert found == caught, fps


def test_a_teleporting_root_is_caught():
    trans = np.zeros((20, 3), np.float32)
    trans[10:, 2] = 1.0
    problems = check_motion(replace(Motion.rest(20), trans=trans))
    assert ("trans_jump", "root") in kinds(problems)


def test_rest_positions_set_the_skeleton_the_floor_is_measured_with():
    sunk = default_rest_positions() - np.array([0.0, 0.05, 0.0])
    assert ("floor", "left foot") in kinds(check_motion(Motion.rest(10), sunk))
    with pytest.raises(BodyLanguageError, match="rest positions"):
        check_motion(Motion.rest(10), np.zeros((24, 3)))


def test_assert_plausible_lists_every_problem_by_name():
    bad = posed(left_knee=(-35.0, 0.0, 0.0), spine2=(0.0, 170.0, 0.0))
    with pytest.raises(BodyLanguageError) as raised:
        assert_plausible(bad, "clip_7")
    message = str(raised.value)
    assert "clip_7" in message and "left_knee" in message and "spine2" in message
    problem = check_motion(bad)[0]
    assert problem.joint in str(problem) and problem.check in str(problem)
