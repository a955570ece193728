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
from blender_harness import bpy_python, run_in_blender
from motion_synth import smooth_motion

from core.face_spaces import ARKIT52
from core.io.beat2 import read_motion_npz

START = 10
FRAMES = 60
CHECK_FRAMES = (START, START + 17, START + FRAMES - 1)

SCRIPT = r'''
import os
import addon_utils
addon_utils.enable("blender_addon", default_set=True)
from blender_addon.keyframes import write_motion
from blender_addon.motion_arrays import MotionArrays
from blender_addon.rig import create_character

START = int(inputs["start"])
CHECK = [int(f) for f in inputs["check"]]
OUT = inputs_dir = os.getcwd()
scene = bpy.context.scene
scene.render.fps, scene.render.fps_base = 30, 1.0
scene.frame_start, scene.frame_end = 1, 250
names = [str(n) for n in inputs["face_names"]]
speaker = create_character("Speaker")
scene.body_language.target = speaker

# Nothing to export yet: the operator is greyed out and the function refuses.
export = __import__("blender_addon.export", fromlist=["export"])
emit(poll_empty=bpy.ops.body_language.export_performance.poll())
try:
    export.export_performance(bpy.context, speaker, os.path.join(OUT, "none.bvh"), "BVH")
except Exception as exc:
    emit(empty=str(exc), empty_written=os.path.exists(os.path.join(OUT, "none.bvh")))

write_motion(speaker, MotionArrays(inputs["poses"], inputs["trans"], inputs["face"], names),
             start_frame=START)
emit(poll=bpy.ops.body_language.export_performance.poll())
reports = {}
for kind, name in (("BVH", "take.bvh"), ("FBX", "take.fbx"), ("NPZ", "take")):
    result = bpy.ops.body_language.export_performance(filepath=os.path.join(OUT, name),
                                                      format=kind)
    reports[kind] = [sorted(result), os.path.getsize(os.path.join(OUT, "take." + kind.lower()))]
emit(reports=reports, scene_range=[scene.frame_start, scene.frame_end])


def world_pose(armature, bone_names):
    """Per bone: its posed rotation relative to rest (world space) and its head position."""
    rotations, heads = [], []
    world = armature.matrix_world
    for name in bone_names:
        pose_bone = armature.pose.bones[name]
        posed = (world @ pose_bone.matrix).to_3x3().normalized()
        rest = (world @ pose_bone.bone.matrix_local).to_3x3().normalized()
        rotations.append([list(row) for row in posed @ rest.inverted()])
        heads.append(list(world @ pose_bone.head))
    return rotations, heads


def poses_at(armatures, bone_names):
    found = {index: ([], []) for index in range(len(armatures))}
    for frame in CHECK:
        scene.frame_set(frame)
        for index, armature in enumerate(armatures):
            rotations, heads = world_pose(armature, bone_names)
            found[index][0].append(rotations)
            found[index][1].append(heads)
    return [(np.array(r), np.array(h)) for r, h in found.values()]


bones = [bone.name for bone in speaker.data.bones]
before = set(bpy.data.objects)
bpy.ops.import_anim.bvh(filepath=os.path.join(OUT, "take.bvh"), axis_forward="Y", axis_up="Z",
                        rotate_mode="NATIVE", frame_start=START, use_fps_scale=False,
                        update_scene_fps=False, update_scene_duration=False)
bvh = next(obj for obj in set(bpy.data.objects) - before if obj.type == "ARMATURE")
before = set(bpy.data.objects)
# Blender's FBX importer shifts every key by `anim_offset` (1 frame unless told); Blender's
# exporter writes frames as they are, so the round trip needs no shift.
bpy.ops.import_scene.fbx(filepath=os.path.join(OUT, "take.fbx"), anim_offset=0.0)
fbx = next(obj for obj in set(bpy.data.objects) - before if obj.type == "ARMATURE")
action = fbx.animation_data.action
emit(bvh_bones=sorted(b.name for b in bvh.data.bones),
     fbx_bones=sorted(b.name for b in fbx.data.bones), fbx_range=list(action.frame_range),
     bones=sorted(bones), fbx_meshes=sorted(c.name for c in fbx.children if c.type == "MESH"))
(ours_r, ours_h), (bvh_r, bvh_h), (fbx_r, fbx_h) = poses_at([speaker, bvh, fbx], bones)
save(ours_r=ours_r, ours_h=ours_h, bvh_r=bvh_r, bvh_h=bvh_h, fbx_r=fbx_r, fbx_h=fbx_h)
'''


@pytest.fixture(scope="module", params=["5.0", "4.2"])
def export_run(request, tmp_path_factory):
    python = bpy_python(request.param)
    if python is None:
        pytest.skip(".venv-bpy42 is missing: `python build.py test` creates it")
    motion = smooth_motion(FRAMES, seed=3)
    inputs = {"poses": motion.poses, "trans": motion.trans, "face": motion.face,
              "face_names": np.array(ARKIT52), "start": np.array(START),
              "check": np.array(CHECK_FRAMES)}
    tmp = tmp_path_factory.mktemp(f"export{request.param}")
    run = run_in_blender(SCRIPT, tmp, inputs=inputs, python=python)
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
