"""Imports a BVH file (argv 1) the way a user would (File > Import > BVH, Y up, -Z forward,
quaternions) and saves every pose bone at every frame to an npz file (argv 2)."""

import sys

import bpy
import numpy as np

bvh_path, out_path = sys.argv[1], sys.argv[2]
bpy.ops.wm.read_factory_settings(use_empty=True)
result = bpy.ops.import_anim.bvh(
    filepath=bvh_path, target="ARMATURE", global_scale=1.0, frame_start=1,
    use_fps_scale=False, update_scene_fps=True, update_scene_duration=True,
    rotate_mode="QUATERNION", axis_forward="-Z", axis_up="Y",
)
assert result == {"FINISHED"}, result
scene = bpy.context.scene
armature = next(o for o in scene.objects if o.type == "ARMATURE")
bones = armature.pose.bones
first, last = (int(round(f)) for f in armature.animation_data.action.frame_range)
pose = []
for frame in range(first, last + 1):
    scene.frame_set(frame)
    pose.append([np.array(armature.matrix_world @ b.matrix) for b in bones])
np.savez(
    out_path,
    names=np.array([b.name for b in bones]),
    parents=np.array([b.parent.name if b.parent else "" for b in bones]),
    rest=np.array([np.array(armature.matrix_world @ b.bone.matrix_local) for b in bones]),
    pose=np.array(pose),
    first_frame=first,
    fps=scene.render.fps / scene.render.fps_base,
)
