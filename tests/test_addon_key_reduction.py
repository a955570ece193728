"""Reduced keys in real headless Blender 5.0.1 and 4.2 LTS: the Keys setting, far fewer Bezier
keys that play within tolerance of the every-frame keys, a planted foot and lip closures."""

from __future__ import annotations

import numpy as np
import pytest
from blender_harness import BPY_VERSIONS, BlenderRun, bpy_python, run_in_blender
from motion_synth import smooth_motion

from blender_addon import key_reduction as kr
from blender_addon.skeleton_data import JOINT_INDEX, PART_JOINTS, forward_kinematics
from core.face_spaces import ARKIT52

START = 10
FRAMES = 300
PLANTED = slice(130, 191)  # frames of the motion where the legs and root hold still
FEET = ("left_ankle", "left_foot", "right_ankle", "right_foot")

def performance() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth performance whose legs and root hold still over PLANTED (easing in and out)
    and whose mouth closes every 23.4 frames; float32, as the worker writes it."""
    motion = smooth_motion(FRAMES, seed=21)
    t = np.arange(FRAMES)
    poses, trans, face = (motion.poses.astype(np.float64), motion.trans.astype(np.float64),
                          motion.face.astype(np.float64))
    hold = np.ones(FRAMES)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(11) / 10)
    hold[PLANTED.start - 10:PLANTED.start + 1] = ramp[::-1]
    hold[PLANTED] = 0.0
    hold[PLANTED.stop - 1:PLANTED.stop + 10] = ramp
    legs = list(PART_JOINTS["lower"])
    poses[:, legs] *= hold[:, None, None]
    trans[:, 1] = 0.0
    trans = trans[PLANTED.start] + hold[:, None] * (trans - trans[PLANTED.start])
    face[:, ARKIT52.index("jawOpen")] = 0.35 * (1 - np.cos(2 * np.pi * t / 23.4))
    poses[:, JOINT_INDEX["jaw"]] = [0.25, 0.0, 0.0] * face[:, ARKIT52.index("jawOpen"), None]
    return poses.astype(np.float32), trans.astype(np.float32), face.astype(np.float32)


@pytest.fixture(scope="module", params=BPY_VERSIONS)
def blender(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[BlenderRun, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    poses, trans, face = performance()
    inputs = {"start": np.array(START), "poses": poses, "trans": trans, "face": face,
              "face_names": np.array(ARKIT52), "feet": np.array(FEET)}
    run = run_in_blender("reduced_keys_play", tmp_path_factory.mktemp(f"bpy{request.param}"),
                         inputs=inputs, python=bpy_python(request.param))
    return run, (poses, trans, face)


def curves_of(run: BlenderRun, kind: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    chosen = [i for i, name in enumerate(run.values["names"]) if kind in name]
    return ([run.values["names"][i] for i in chosen], run.arrays["wanted"][chosen],
            run.arrays["got"][chosen])


def test_keys_setting_defaults_to_every_frame_with_a_tooltip(blender):
    values = blender[0].values
    assert values["default"] == "EVERY_FRAME"
    assert values["items"] == ["EVERY_FRAME", "REDUCED"] and values["label"] == "Keys"
    assert "0.5 degrees" in values["description"]
    assert values["report"].startswith("Animated face, hands, upper, lower of Reduced")


def test_reduced_writes_far_fewer_bezier_keys(blender):
    values = blender[0].values
    assert values["every_keys"] == FRAMES * len(values["names"])
    # Every joint here circles at up to 1.7 Hz: about a key per 5 frames holds 0.5 degrees.
    assert values["reduced_keys"] * 4 <= values["every_keys"]
    assert values["kinds"] == [["NONE", "BEZIER", "FREE"]]


def test_blender_plays_the_curve_key_reduction_modelled(blender):
    run = blender[0]
    np.testing.assert_allclose(run.arrays["model"], run.arrays["got"], atol=2e-6)


def test_reduced_curves_play_within_tolerance_of_every_frame(blender):
    run = blender[0]
    names, wanted, got = curves_of(run, "rotation_quaternion")
    bones = sorted({name.rsplit("|", 1)[0] for name in names})
    assert len(bones) == 55
    quaternions = np.stack([wanted, got]).reshape(2, 55, 4, FRAMES).transpose(0, 1, 3, 2)
    angle = kr.curve_error(quaternions[0], quaternions[1], kr.ANGLE)
    assert np.degrees(angle.max()) <= 0.5 + 1e-4
    _names, wanted, got = curves_of(run, "location")
    assert np.linalg.norm(got - wanted, axis=0).max() <= 0.001 + 1e-6
    for kind in ('["bl_face_', "keys key_blocks"):
        names, wanted, got = curves_of(run, kind)
        assert len(names) == 52
        assert np.abs(got - wanted).max() <= 0.005 + 1e-6


def test_planted_feet_stay_where_every_frame_keys_put_them(blender):
    run, (poses, trans, _face) = blender
    every, reduced = run.arrays["feet_every"], run.arrays["feet_reduced"]
    # The every-frame foot is still over the stretch, and the plan sees it on the floor.
    assert np.ptp(every[PLANTED], axis=0).max() < 1e-5
    positions, _ = forward_kinematics(poses.astype(np.float64), trans.astype(np.float64))
    planted = kr.planted_frames(positions)
    assert planted[PLANTED].all()
    off = np.linalg.norm(reduced - every, axis=-1)  # (frames, heads and tails of FEET)
    for side, points in enumerate((slice(0, 4), slice(4, 8))):
        assert off[planted[:, side], points].max() <= 0.002 + 1e-5
    assert np.ptp(reduced[PLANTED], axis=0).max() <= 0.004


def test_mouth_closures_keep_their_exact_values(blender):
    run, (_poses, _trans, face) = blender
    closes = np.flatnonzero(kr.closure_frames(face[:, ARKIT52.index("jawOpen")]))
    assert len(closes) == 12
    for kind in ('["bl_face_jawOpen"]', 'key_blocks["jawOpen"]', 'bones["jaw"]'):
        names, wanted, got = curves_of(run, kind)
        assert names
        np.testing.assert_allclose(got[:, closes], wanted[:, closes], atol=1e-7)
