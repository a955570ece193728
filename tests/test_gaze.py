"""blender_addon/gaze.py: a listener's head and eyes turned toward the speaker (pure numpy)."""

import numpy as np
import pytest

from blender_addon.gaze import (
    GazeLimits,
    eye_midpoints,
    from_world,
    listening_weight,
    look_at,
    to_world,
    world_joints,
)
from blender_addon.motion_arrays import AddonInputError, MotionArrays
from blender_addon.quaternions import axis_angle_to_quaternion, quaternion_to_matrix
from blender_addon.retarget import TargetRig, smplx_to_armature, solve_pose_channels
from blender_addon.rig import bone_layout
from blender_addon.skeleton_data import JOINT_INDEX, JOINT_NAMES, PARENTS, SMPLX_TO_BLENDER

SPINE3, HEAD = JOINT_INDEX["spine3"], JOINT_INDEX["head"]
EYES = [JOINT_INDEX["left_eye"], JOINT_INDEX["right_eye"]]
TURNED = [JOINT_INDEX[name] for name in ("neck", "head", "left_eye", "right_eye")]
LIMITS = GazeLimits()
FPS = 30.0


def _armature(yaw_degrees: float = 0.0, offset=(0.0, 0.0, 0.0), scale: float = 1.0):
    c, s = np.cos(np.radians(yaw_degrees)), np.sin(np.radians(yaw_degrees))
    matrix = np.eye(4)
    matrix[:3, :3] = scale * np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    matrix[:3, 3] = offset
    return matrix


def _motion(frames: int, root_yaw_degrees: float = 0.0, trans=(0.0, 0.0, 0.0)) -> MotionArrays:
    """A listener standing still, its body turned about the vertical by `root_yaw_degrees`."""
    poses = np.zeros((frames, 55, 3))
    poses[:, 0, 1] = np.radians(root_yaw_degrees)
    # A slight forward lean, so the torso's frame is not the world's.
    poses[:, JOINT_INDEX["spine2"], 0] = 0.1
    return MotionArrays(poses, np.tile(np.asarray(trans, dtype=np.float64), (frames, 1)))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _degrees_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.sum(_unit(a) * _unit(b), axis=-1), -1.0, 1.0)))


def _direction(yaw_degrees: float, pitch_degrees: float) -> np.ndarray:
    """SMPL-X direction `yaw` toward the left (+X) and `pitch` up from straight ahead (+Z)."""
    yaw, pitch = np.radians(yaw_degrees), np.radians(pitch_degrees)
    return np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])


def _speaker_at(motion, matrix, yaw_degrees, pitch_degrees, distance=1.5) -> np.ndarray:
    """(T, 3) world points `distance` from the listener's eyes, at this yaw and pitch from where
    its torso faces (the speaker's place as the scene would hold it)."""
    _positions, rotations = world_joints(motion, matrix)
    torso = rotations[:, SPINE3]
    return eye_midpoints(motion, matrix) + distance * torso @ _direction(yaw_degrees,
                                                                         pitch_degrees)


def _head_in_torso(motion, matrix) -> tuple[np.ndarray, np.ndarray]:
    """Yaw and pitch (degrees) of the head's gaze in the torso's axes."""
    _positions, rotations = world_joints(motion, matrix)
    gaze = np.einsum("tji,tj->ti", rotations[:, SPINE3], rotations[:, HEAD, :, 2])
    return (np.degrees(np.arctan2(gaze[:, 0], gaze[:, 2])),
            np.degrees(np.arctan2(gaze[:, 1], np.hypot(gaze[:, 0], gaze[:, 2]))))


def _aim_errors(motion, matrix, targets) -> tuple[np.ndarray, np.ndarray]:
    """Degrees between the head's gaze and its eyes' line to the target; the same per eye."""
    positions, rotations = world_joints(motion, matrix)
    head = _degrees_between(rotations[:, HEAD, :, 2], targets - eye_midpoints(motion, matrix))
    eyes = np.stack([_degrees_between(rotations[:, eye, :, 2], targets - positions[:, eye])
                     for eye in EYES], axis=1)
    return head, eyes


PLACEMENTS = {
    "level": (_armature(), (0.0, 0.0, 0.0), 0.0),
    # Turned, moved and scaled armature and a motion that walks off and turns its body.
    "moved": (_armature(70.0, (3.0, -1.0, 0.2), 1.3), (0.2, 0.0, 0.5), 30.0),
}


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("yaw, pitch", [(0, 0), (45, 0), (-50, 0), (0, 25), (35, -20)],
                         ids=["front", "left", "right", "above", "left-below"])
def test_head_and_eyes_point_at_a_speaker_within_reach(placement, yaw, pitch):
    matrix, trans, root_yaw = PLACEMENTS[placement]
    motion = _motion(3, root_yaw, trans)
    targets = _speaker_at(motion, matrix, yaw, pitch)
    turned = look_at(motion, matrix, targets, np.ones(3))
    head_error, eye_error = _aim_errors(turned, matrix, targets)
    assert head_error.max() < 0.05 and eye_error.max() < 0.05
    head_yaw, head_pitch = _head_in_torso(turned, matrix)
    # The torso stays where it was, so the head's own turn in it is the speaker's direction
    # (up to the parallax of the eyes, 0.1 m ahead of the neck, a few degrees at 1.2-1.5 m).
    np.testing.assert_allclose(head_yaw, yaw, atol=5.0)
    np.testing.assert_allclose(head_pitch, pitch, atol=5.0)
    untouched = [j for j in range(55) if j not in TURNED]
    assert np.array_equal(turned.poses[:, untouched], motion.poses[:, untouched])


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_turns_stop_at_a_persons_limits(placement):
    matrix, trans, root_yaw = PLACEMENTS[placement]
    motion = _motion(1, root_yaw, trans)
    cases = [(100.0, 0.0), (-140.0, 0.0), (0.0, 60.0), (0.0, -70.0), (75.0, 0.0)]
    for yaw, pitch in cases:
        targets = _speaker_at(motion, matrix, yaw, pitch)
        turned = look_at(motion, matrix, targets, np.ones(1))
        head_yaw, head_pitch = _head_in_torso(turned, matrix)
        limit_yaw, limit_pitch = np.degrees(LIMITS.yaw), np.degrees(LIMITS.pitch)
        assert head_yaw[0] == pytest.approx(np.clip(yaw, -limit_yaw, limit_yaw), abs=0.01)
        assert head_pitch[0] == pytest.approx(np.clip(pitch, -limit_pitch, limit_pitch), abs=3.0)
        _head_error, eye_error = _aim_errors(turned, matrix, targets)
        if yaw == 75.0:
            # 15 degrees past the head's reach: within the eyes' 25, which finish the turn.
            assert eye_error.max() < 0.05
        else:
            # Beyond the eyes' reach too: they stop 25 degrees past the head.
            _positions, rotations = world_joints(turned, matrix)
            for eye in EYES:
                inside = _degrees_between(rotations[0, eye, :, 2], rotations[0, HEAD, :, 2])
                assert np.degrees(LIMITS.eyes) - 0.01 < inside < np.degrees(LIMITS.eyes) * 1.5


def _restless_motion(frames: int) -> MotionArrays:
    rng = np.random.default_rng(7)
    poses = rng.normal(0.0, 0.2, (frames, 55, 3))
    return MotionArrays(poses, rng.normal(0.0, 0.3, (frames, 3)), rng.uniform(0, 1, (frames, 2)),
                        ("jawOpen", "eyeBlinkLeft"))


def test_frames_without_weight_come_back_bit_for_bit():
    motion = _restless_motion(12)
    matrix = _armature(-20.0, (1.0, 2.0, 0.0))
    weight = np.array([0, 0, 0.3, 1, 1, 0, 0, 1e-6, 0, 0.7, 0, 0], dtype=np.float64)
    targets = _speaker_at(motion, matrix, 50.0, 10.0)
    turned = look_at(motion, matrix, targets, weight)
    still = weight == 0
    assert np.array_equal(turned.poses[still], motion.poses[still])
    assert np.array_equal(turned.trans, motion.trans) and np.array_equal(turned.face, motion.face)
    assert turned.face_names == motion.face_names and turned.fps == motion.fps
    # The frames with weight do turn (a weight that did nothing would pass the line above).
    moved = np.abs(turned.poses[~still][:, TURNED] - motion.poses[~still][:, TURNED]).max(axis=-1)
    assert np.all(moved[[0, 1, 2, 4]] > 1e-3)
    nothing = look_at(motion, matrix, targets, np.zeros(12))
    assert np.array_equal(nothing.poses, motion.poses)


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_the_models_nod_survives_the_turn(placement):
    matrix, trans, root_yaw = PLACEMENTS[placement]
    frames = 90
    motion = _motion(frames, root_yaw, trans)
    nod = np.radians(10.0) * np.sin(2 * np.pi * 1.5 * np.arange(frames) / FPS)
    poses = motion.poses.copy()
    # About the left axis, the chin going down and up, in the neck and the head as people do.
    poses[:, JOINT_INDEX["neck"], 0] = 0.4 * nod
    poses[:, HEAD, 0] = 0.6 * nod
    nodding = MotionArrays(poses, motion.trans)
    # Far to the left, where a nod kept in the torso's axes would tilt the head sideways.
    targets = _speaker_at(motion, matrix, 55.0, 0.0)
    turned = look_at(nodding, matrix, targets, np.ones(frames))
    _yaw_before, pitch_before = _head_in_torso(nodding, matrix)
    head_yaw, pitch_after = _head_in_torso(turned, matrix)
    still_yaw, still_pitch = _head_in_torso(look_at(motion, matrix, targets, np.ones(frames)),
                                            matrix)
    amplitude_before = np.ptp(pitch_before) / 2
    assert amplitude_before > 9.0
    assert np.ptp(pitch_after) / 2 == pytest.approx(amplitude_before, rel=0.1)
    # The nod rides on the turn: the head turns as far as without the nod and nods about
    # the turned head's own left axis (about the torso's, the nod would swing the yaw).
    np.testing.assert_allclose(head_yaw, still_yaw, atol=0.5)
    np.testing.assert_allclose(pitch_after, still_pitch + pitch_before, atol=0.5)
    # The eyes hold the speaker while the head nods.
    _head_error, eye_error = _aim_errors(turned, matrix, targets)
    assert eye_error.max() < 0.05


def test_listening_weight_ramps_and_merges():
    ramp_frames = 0.3 * FPS
    weight = listening_weight([(40, 60), (55, 80), (81, 90), (150, 200)], 240, FPS)
    # (40, 60), (55, 80) and (81, 90) overlap or touch: one plateau from 40 to 90.
    # Ramps run from 4.5 frames before a span's edge (half a frame out) to 4.5 after it.
    assert np.all(weight[44:87] == 1.0) and np.all(weight[154:197] == 1.0)
    assert np.all(weight[:36] == 0.0) and np.all(weight[95:146] == 0.0)
    assert np.all(weight[205:] == 0.0) and np.all(weight[[36, 94, 146, 204]] > 0.0)
    assert 0.0 < weight[38] < weight[39] < weight[40] < 1.0
    steps = np.abs(np.diff(weight))
    # Smoothstep is steepest (slope 1.5) mid-ramp; a snapped span would step by 1.
    assert steps.max() <= 1.5 / ramp_frames + 1e-12 and steps.max() > 1.2 / ramp_frames
    # Back to back, one speaker's end and the next one's start share the frames.
    first = listening_weight([(10, 49)], 100, FPS)
    second = listening_weight([(50, 90)], 100, FPS)
    np.testing.assert_allclose(first + second, listening_weight([(10, 90)], 100, FPS),
                               atol=1e-12)
    # A span at the clip's edge starts listening at once; a span off the clip does nothing.
    assert listening_weight([(0, 10)], 30, FPS)[0] == 1.0
    assert not np.any(listening_weight([(-20, -5), (40, 60)], 30, FPS))
    assert np.array_equal(listening_weight([(5, 9)], 20, FPS, ramp_seconds=0.0),
                          (np.arange(20) >= 5) & (np.arange(20) <= 9))
    with pytest.raises(AddonInputError):
        listening_weight([(9, 5)], 20, FPS)


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_the_head_turns_rather_than_snaps(placement):
    matrix, trans, root_yaw = PLACEMENTS[placement]
    frames = 120
    motion = _motion(frames, root_yaw, trans)
    targets = _speaker_at(motion, matrix, 120.0, 0.0)  # beyond reach: the full 60-degree turn
    weight = listening_weight([(30, 80)], frames, FPS)
    turned = look_at(motion, matrix, targets, weight)
    _positions, rotations = world_joints(turned, matrix)
    steps = _degrees_between(rotations[1:, HEAD, :, 2], rotations[:-1, HEAD, :, 2])
    # The head's yaw is the weight times the 60-degree turn, so it moves at most 60 degrees
    # times smoothstep's steepest step, 1.5 / 9 frames: 10 degrees a frame, 300 degrees a second,
    # about a person's peak head speed in a large gaze shift. A snap would move 60 at once.
    bound = np.degrees(LIMITS.yaw) * 1.5 / (0.3 * FPS)
    assert steps.max() <= bound + 0.01
    assert steps.max() > 0.8 * bound
    # The eyes turn with the same weight, 25 degrees beyond the head at most.
    eye_bound = np.degrees(LIMITS.yaw + LIMITS.eyes) * 1.5 / (0.3 * FPS)
    for eye in EYES:
        eye_steps = _degrees_between(rotations[1:, eye, :, 2], rotations[:-1, eye, :, 2])
        assert eye_steps.max() <= eye_bound + 0.01
    head_yaw, _pitch = _head_in_torso(turned, matrix)
    assert head_yaw[55] == pytest.approx(60.0, abs=0.01) and abs(head_yaw[0]) < 1e-9


def test_bad_inputs_are_refused():
    motion = _motion(4)
    with pytest.raises(AddonInputError):
        look_at(motion, _armature(), np.zeros((3, 3)), np.ones(4))
    with pytest.raises(AddonInputError):
        look_at(motion, _armature(), np.zeros((4, 3)), np.full(4, 1.5))
    with pytest.raises(AddonInputError):
        look_at(motion, np.zeros((4, 4)), np.zeros((4, 3)), np.ones(4))


def _rig_rest() -> tuple[np.ndarray, np.ndarray]:
    """Rest rotations and heads of the add-on's SMPL-X bones as Blender builds them (rig.py):
    Y along the bone, Z toward the roll reference (what align_roll does)."""
    rests, heads = [], []
    for spec in bone_layout():
        y = _unit(spec.tail - spec.head)
        z = _unit(spec.roll_reference - (spec.roll_reference @ y) * y)
        rests.append(np.stack([np.cross(y, z), y, z], axis=1))
        heads.append(spec.head)
    return np.array(rests), np.array(heads)


def _keyed_world_pose(motion: MotionArrays, matrix: np.ndarray):
    """World bone heads and rotations of the SMPL-X rig keyed by retarget.py with this world
    matrix, evaluated as Blender chains pose bones (parent pose, rest offset, then basis)."""
    rest, heads = _rig_rest()
    linear = matrix[:3, :3]
    scale = float(np.cbrt(abs(np.linalg.det(linear))))
    target = TargetRig(joints=tuple(range(55)), bones=JOINT_NAMES, rest=rest, heads=heads,
                       y_axes=rest[:, :, 1], follows=PARENTS,
                       smplx_to_armature=smplx_to_armature(linear),
                       armature_units_per_metre=1.0 / scale)
    channels = solve_pose_channels(target, axis_angle_to_quaternion(motion.poses), motion.trans)
    basis = quaternion_to_matrix(channels.quaternions)
    rotations = np.empty(basis.shape)
    positions = np.empty(basis.shape[:-1])
    for joint, parent in enumerate(PARENTS):
        if parent < 0:
            rotations[:, joint] = rest[joint] @ basis[:, joint]
            positions[:, joint] = heads[joint] + channels.root_location @ rest[joint].T
            continue
        to_child = rotations[:, parent] @ rest[parent].T
        rotations[:, joint] = to_child @ rest[joint] @ basis[:, joint]
        positions[:, joint] = positions[:, parent] + to_child @ (heads[joint] - heads[parent])
    return positions @ linear.T + matrix[:3, 3], linear @ rotations / scale, rest


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_world_pose_is_where_retarget_puts_the_rig(placement):
    # gaze.py's world model must match what the add-on keys, or the head would aim elsewhere.
    matrix = PLACEMENTS[placement][0]
    motion = _restless_motion(3)
    keyed_positions, keyed_rotations, rest = _keyed_world_pose(motion, matrix)
    positions, rotations = world_joints(motion, matrix)
    np.testing.assert_allclose(positions, keyed_positions, atol=1e-9)
    # A bone's world rotation carries its rest axes; the SMPL-X axes sit in them as at rest.
    # Every joint: the performance turns with the armature's heading as one rigid body (no bone
    # keeps a twist of the object's turn).
    smplx_in_bone = np.swapaxes(rest, -1, -2) @ SMPLX_TO_BLENDER
    np.testing.assert_allclose(rotations, keyed_rotations @ smplx_in_bone, atol=1e-9)
    points = np.random.default_rng(3).normal(0.0, 2.0, (5, 3))
    np.testing.assert_allclose(from_world(to_world(points, matrix), matrix), points, atol=1e-12)


def test_the_head_turns_from_one_speaker_to_the_next():
    # The module's recipe for several speakers: one look_at per speaker, back-to-back spans.
    matrix, trans, root_yaw = PLACEMENTS["moved"]
    frames = 120
    motion = _motion(frames, root_yaw, trans)
    left, right = _speaker_at(motion, matrix, 40.0, 5.0), _speaker_at(motion, matrix, -35.0, 0.0)
    turned = look_at(motion, matrix, left, listening_weight([(0, 49)], frames, FPS))
    turned = look_at(turned, matrix, right, listening_weight([(50, 119)], frames, FPS))
    head_error_left, _ = _aim_errors(turned, matrix, left)
    head_error_right, _ = _aim_errors(turned, matrix, right)
    assert head_error_left[:45].max() < 0.05 and head_error_right[55:].max() < 0.05
    _positions, rotations = world_joints(turned, matrix)
    steps = _degrees_between(rotations[1:, HEAD, :, 2], rotations[:-1, HEAD, :, 2])
    # The two ramps cross: the 75-degree swing spread as one ramp would spread it.
    assert steps.max() <= 75.0 * 1.5 / (0.3 * FPS) + 0.5
