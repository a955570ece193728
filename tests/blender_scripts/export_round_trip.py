"""Export Performance to BVH, FBX and BEAT2 npz, then BVH and FBX imported back and posed."""

import os

import bpy
import numpy as np
from blender_snippet import emit, inputs, save
from enabled_addon import scene

from blender_addon.keyframes import write_motion
from blender_addon.motion_arrays import MotionArrays
from blender_addon.rig import create_character

START = int(inputs["start"])
CHECK = [int(f) for f in inputs["check"]]
OUT = inputs_dir = os.getcwd()
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
