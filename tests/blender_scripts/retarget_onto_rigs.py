"""The performance written onto rigs built from specs (params "cases"), some with IK switches:
their bones' heads at sampled frames."""

import math

import bpy
import numpy as np
from blender_snippet import emit, inputs, params, save

from blender_addon.bone_map import BoneMap, PoseProperty
from blender_addon.keyframes import write_motion
from blender_addon.motion_arrays import MotionArrays

scene = bpy.context.scene
scene.render.fps = 30
motion = MotionArrays(inputs["poses"], inputs["trans"])
sample = [int(f) for f in inputs["sample"]]
cases = params["cases"]


def build(name, spec, fbx_units):
    arm = bpy.data.objects.new(name, bpy.data.armatures.new(name))
    scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    edit = arm.data.edit_bones
    for bone_name, parent, head, tail, roll in spec:
        bone = edit.new(bone_name)
        bone.head, bone.tail, bone.roll = head, tail, roll
        if parent:
            bone.parent = edit[parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    if fbx_units:
        # Like an FBX import: centimetres, Y up, turned and scaled by the object.
        arm.rotation_euler = (math.pi / 2, 0.0, 0.0)
        arm.scale = (0.01, 0.01, 0.01)
    return arm


def add_ik_switch(arm, switch_bone, follower, leader):
    # An unmapped ORG-style bone between `leader` and `follower`: it copies the leader (FK) and,
    # driven by the switch bone's IK_FK property, a free IK target (IK).
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    edit = arm.data.edit_bones
    # As Rigify's ORG- bones do, it has the geometry of the bone it copies.
    org = edit.new("ORG-" + follower)
    org.head, org.tail, org.roll = edit[leader].head, edit[leader].tail, edit[leader].roll
    org.parent = edit[leader].parent
    ik = edit.new("IK-" + follower)
    ik.head, ik.tail = edit[follower].head, edit[follower].tail
    edit[follower].parent = org
    bpy.ops.object.mode_set(mode="OBJECT")
    pose = arm.pose.bones
    pose["IK-" + follower].rotation_euler = (0.7, 0.3, 0.0)
    fk = pose["ORG-" + follower].constraints.new("COPY_TRANSFORMS")
    fk.target, fk.subtarget = arm, leader
    ik_copy = pose["ORG-" + follower].constraints.new("COPY_TRANSFORMS")
    ik_copy.target, ik_copy.subtarget = arm, "IK-" + follower
    pose[switch_bone]["IK_FK"] = 0.0
    driver = ik_copy.driver_add("influence").driver
    driver.type = "SCRIPTED"
    variable = driver.variables.new()
    variable.targets[0].id = arm
    variable.targets[0].data_path = f'pose.bones["{switch_bone}"]["IK_FK"]'
    driver.expression = "1 - var"


report = {}
for case in cases:
    arm = build(case["name"], case["spec"], case["fbx_units"])
    for switch_bone, follower, leader in case.get("ik_switches", []):
        add_ik_switch(arm, switch_bone, follower, leader)
    bone_map = BoneMap(case["name"], case["bones"],
                       tuple(PoseProperty(*p) for p in case.get("pose_properties", [])))
    result = write_motion(arm, motion, bone_map=bone_map, start_frame=1)
    heads = []
    for frame in sample:
        scene.frame_set(1 + frame)
        heads.append([list(arm.matrix_world @ arm.pose.bones[b].head)
                      for b in case["bones"].values()])
    save(**{case["name"]: np.array(heads)})
    report[case["name"]] = {"bones": result.bones, "map": result.bone_map,
                            "ik_fk": [arm.pose.bones[s]["IK_FK"]
                                      for s, _f, _l in case.get("ik_switches", [])]}
emit(report=report)
