"""Export Performance (issue 14, item 8) in real headless Blender 5.0 and 4.2: a performance keyed
on the SMPL-X character is exported through the add-on's operator and imported back.

- BVH (Blender's exporter) re-imported with Blender's BVH importer: every bone's posed rotation
  (relative to its rest, in world space, so bone rolls do not matter) and the joint positions
  match the original at several frames.
- FBX (Blender's exporter) re-imported with Blender's FBX importer: an armature with every bone
  and an action over the performance's frames, posed as the original.
- BEAT2 npz: read by core.io.beat2 outside Blender, it holds the keyed motion.
A rig without a performance is refused with a message and nothing written.
"""

from __future__ import annotations

import numpy as np
import pytest
from blender_harness import BPY_VERSIONS, bpy_python, run_in_blender
from motion_synth import smooth_motion

from core.face_spaces import ARKIT52
from core.io.beat2 import read_motion_npz

START = 10
FRAMES = 60
CHECK_FRAMES = (START, START + 17, START + FRAMES - 1)

@pytest.fixture(scope="module", params=BPY_VERSIONS)
def export_run(request, tmp_path_factory):
    motion = smooth_motion(FRAMES, seed=3)
    inputs = {"poses": motion.poses, "trans": motion.trans, "face": motion.face,
              "face_names": np.array(ARKIT52), "start": np.array(START),
              "check": np.array(CHECK_FRAMES)}
    tmp = tmp_path_factory.mktemp(f"export{request.param}")
    run = run_in_blender("export_round_trip", tmp, inputs=inputs,
                         python=bpy_python(request.param))
    out = next(tmp.glob("blender-run-*"))
    return run, motion, out


def test_the_operator_exports_only_a_performance(export_run):
    run, _motion, _out = export_run
    assert run.values["poll_empty"] is False and run.values["poll"] is True
    assert run.values["empty"] == ("Speaker has no Body Language performance to export: "
                                   "generate one first")
    assert run.values["empty_written"] is False
    for kind, (result, size) in run.values["reports"].items():
        assert result == ["FINISHED"] and size > 1000, kind
    # The FBX export baked the performance's frames and gave the scene its range back.
    assert run.values["scene_range"] == [1, 250]


def test_bvh_reimported_has_the_same_joint_rotations_and_positions(export_run):
    run, _motion, _out = export_run
    assert run.values["bvh_bones"] == run.values["bones"]
    np.testing.assert_allclose(run.arrays["bvh_r"], run.arrays["ours_r"], atol=2e-3)
    np.testing.assert_allclose(run.arrays["bvh_h"], run.arrays["ours_h"], atol=1e-3)


def test_fbx_reimported_has_the_armature_and_an_action_over_the_performance(export_run):
    run, _motion, _out = export_run
    assert run.values["fbx_bones"] == run.values["bones"]
    assert run.values["fbx_range"] == [START, START + FRAMES - 1]
    assert run.values["fbx_meshes"]  # the preview body went along
    np.testing.assert_allclose(run.arrays["fbx_r"], run.arrays["ours_r"], atol=2e-3)
    np.testing.assert_allclose(run.arrays["fbx_h"], run.arrays["ours_h"], atol=1e-3)


def test_npz_read_by_the_core_holds_the_keyed_motion(export_run):
    _run, motion, out = export_run
    read = read_motion_npz(out / "take.npz")
    assert read.num_frames == FRAMES and read.fps == 30.0 and read.face_space == "arkit52"
    np.testing.assert_allclose(read.poses, motion.poses, atol=1e-4)
    np.testing.assert_allclose(read.trans, motion.trans, atol=1e-5)
    np.testing.assert_allclose(read.face, motion.face, atol=1e-6)
    assert read.betas is not None and read.betas.shape == (300,) and not read.betas.any()
