"""Writes a performance onto the character and reads it back: F-curves, joint positions as
Blender evaluates them, regenerating the hands, reading parts back, a failure half-way through a
rewrite, a 24 fps scene, FLAME expressions and removing a part."""

import bpy
import numpy as np
from blender_snippet import emit, inputs, save

from blender_addon import actions as actions_module
from blender_addon.actions import action_fcurves, layered_actions_available
from blender_addon.keyframes import part_action, read_part, remove_part, write_motion
from blender_addon.motion_arrays import MotionArrays
from blender_addon.rig import create_character
from blender_addon.skeleton_data import JOINT_NAMES, PARTS

START = int(inputs["start"])
scene = bpy.context.scene
scene.render.fps, scene.render.fps_base = 30, 1.0
names = [str(n) for n in inputs["face_names"]]
first = MotionArrays(inputs["poses"], inputs["trans"], inputs["face"], names)
second = MotionArrays(inputs["poses2"], inputs["trans2"], inputs["face2"], names)


def curve_table(armature):
    table = {}
    for part in PARTS:
        action = part_action(armature, part)
        for fcurve in action_fcurves(action):
            co = np.empty(2 * len(fcurve.keyframe_points), np.float32)
            fcurve.keyframe_points.foreach_get("co", co)
            table[f"{part}|{fcurve.data_path}|{fcurve.array_index}"] = co
    for child in armature.children:
        keys = child.data.shape_keys if child.type == "MESH" else None
        if keys is not None and keys.animation_data:
            for track in keys.animation_data.nla_tracks:
                for fcurve in action_fcurves(track.strips[0].action):
                    co = np.empty(2 * len(fcurve.keyframe_points), np.float32)
                    fcurve.keyframe_points.foreach_get("co", co)
                    table[f"keys {track.name}|{fcurve.data_path}|{fcurve.array_index}"] = co
    return table


def save_table(prefix, table):
    emit(**{prefix + "_names": sorted(table)})
    save(**{f"{prefix}_{i}": table[name] for i, name in enumerate(sorted(table))})


emit(version=bpy.app.version_string, layered=layered_actions_available())
arm = create_character("Speaker")
result = write_motion(arm, first, start_frame=START)
emit(frame_count=result.frame_count, bones_per_part={p: list(b) for p, b in result.bones.items()},
     shape_key_sets=result.shape_key_sets, warnings=list(result.warnings),
     tracks=[(t.name, len(t.strips), t.strips[0].action.name) for t in
             arm.animation_data.nla_tracks],
     active_action=arm.animation_data.action is not None)
save_table("first", curve_table(arm))

# Joint positions as Blender evaluates them, bone by bone in SMPL-X order.
body = next(c for c in arm.children if c.type == "MESH" and c.data.shape_keys)
eyes = {c.parent_bone: c for c in arm.children if c.parent_type == "BONE"}
heads, eye_centres, jaw_open, jaw_prop = [], [], [], []
for offset in [int(f) for f in inputs["fk_frames"]]:
    scene.frame_set(START + offset)
    heads.append([list(arm.matrix_world @ arm.pose.bones[n].head) for n in JOINT_NAMES])
    eye_centres.append([list(eyes[n].matrix_world.translation) for n in ("left_eye", "right_eye")])
    jaw_open.append(body.data.shape_keys.key_blocks["jawOpen"].value)
    jaw_prop.append(arm["bl_face_jawOpen"])
save(heads=np.array(heads), eye_centres=np.array(eye_centres), jaw_open=np.array(jaw_open),
     jaw_prop=np.array(jaw_prop))

# Regenerate only the hands.
before_actions = sorted(a.name for a in bpy.data.actions)
write_motion(arm, second, parts=["hands"], start_frame=START)
save_table("after_hands", curve_table(arm))
emit(actions_before=before_actions, actions_after=sorted(a.name for a in bpy.data.actions))

# Read every part back as SMPL-X data.
for part in PARTS:
    reading = read_part(arm, part)
    save(**{f"read_{part}_poses": reading.poses, f"read_{part}_frames": reading.frames})
    emit(**{f"read_{part}_joints": list(reading.joints)})
    if reading.trans is not None:
        save(**{f"read_{part}_trans": reading.trans})
    if reading.face is not None:
        save(**{f"read_{part}_face": reading.face})
        emit(**{f"read_{part}_face_names": list(reading.face_names)})

# A failure half-way through a rewrite leaves every part as it was.
real_add_curve = actions_module.ActionBuilder.add_curve
calls = {"n": 0}
def failing_add_curve(self, *args, **kwargs):
    calls["n"] += 1
    if calls["n"] > 60:
        raise RuntimeError("injected failure")
    return real_add_curve(self, *args, **kwargs)
actions_module.ActionBuilder.add_curve = failing_add_curve
try:
    write_motion(arm, first, parts=["upper", "hands", "face"], start_frame=START)
    emit(failure_raised=False)
except RuntimeError as error:
    emit(failure_raised=str(error))
actions_module.ActionBuilder.add_curve = real_add_curve
save_table("after_failure", curve_table(arm))
emit(actions_after_failure=sorted(a.name for a in bpy.data.actions))

# A 24 fps scene: one key per scene frame, resampled.
scene.render.fps = 24
arm24 = create_character("Speaker24", with_body=False)
result24 = write_motion(arm24, first, start_frame=START)
fc = next(iter(action_fcurves(part_action(arm24, "upper"))))
co = np.empty(2 * len(fc.keyframe_points), np.float32)
fc.keyframe_points.foreach_get("co", co)
heads24 = []
for key in [int(k) for k in inputs["keys24"]]:
    scene.frame_set(START + key)
    heads24.append([list(arm24.matrix_world @ arm24.pose.bones[n].head) for n in JOINT_NAMES])
save(co24=co, heads24=np.array(heads24))
emit(frame_count24=result24.frame_count)
scene.render.fps = 30

# FLAME expressions onto Exp### shape keys, and ARKit names with exporter prefixes.
arm_face = create_character("FaceRig", with_body=False)
mesh = bpy.data.meshes.new("FaceMesh")
mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
face_obj = bpy.data.objects.new("FaceMesh", mesh)
scene.collection.objects.link(face_obj)
face_obj.parent = arm_face
face_obj.shape_key_add(name="Basis")
for key_name in ("Exp000", "Exp007", "Exp099", "ARKit_Exp050"):
    face_obj.shape_key_add(name=key_name)
flame = MotionArrays(inputs["poses"], inputs["trans"], inputs["flame"],
                     [str(n) for n in inputs["flame_names"]])
write_motion(arm_face, flame, parts=["face"], start_frame=START)
scene.frame_set(START + 40)
emit(flame_values={k.name: k.value for k in face_obj.data.shape_keys.key_blocks},
     flame_slider_min=face_obj.data.shape_keys.key_blocks["Exp000"].slider_min)
emit(removed=remove_part(arm_face, "face"),
     tracks_after_remove=[t.name for t in arm_face.animation_data.nla_tracks],
     key_tracks_after_remove=len(face_obj.data.shape_keys.animation_data.nla_tracks))
