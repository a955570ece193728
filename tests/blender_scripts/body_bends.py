"""The preview body as Blender builds and skins it: build time, shape keys at rest, weights, and
the evaluated skin at rest, unskinned, with the elbow, knee and finger bent, with the jaw open
and an eye blinking, and with the hand turned about the forearm."""

import math
import time

import bpy
import numpy as np
from blender_snippet import emit, save
from mathutils import Quaternion

from blender_addon.rig import create_character

started = time.perf_counter()
arm = create_character()
emit(build_seconds=time.perf_counter() - started)
body = next(child for child in arm.children if child.name.endswith(" body"))
keys = body.data.shape_keys.key_blocks
emit(key_values=sorted({round(key.value, 6) for key in keys[1:]}),
     modifiers=[modifier.type for modifier in body.modifiers],
     preserve_volume=body.modifiers["Armature"].use_deform_preserve_volume,
     smooth=all(polygon.use_smooth for polygon in body.data.polygons))
groups = {group.index: group.name for group in body.vertex_groups}
sums = [sum(g.weight for g in vertex.groups) for vertex in body.data.vertices]
emit(weight_sums=[min(sums), max(sums)])


def evaluated():
    depsgraph = bpy.context.evaluated_depsgraph_get()
    mesh = body.evaluated_get(depsgraph).to_mesh()
    mesh.calc_loop_triangles()
    co = np.empty(3 * len(mesh.vertices))
    mesh.vertices.foreach_get("co", co)
    tris = np.empty(3 * len(mesh.loop_triangles), np.int64)
    mesh.loop_triangles.foreach_get("vertices", tris)
    body.evaluated_get(depsgraph).to_mesh_clear()
    return co.reshape(-1, 3), tris.reshape(-1, 3)


rest, triangles = evaluated()
body.modifiers["Armature"].show_viewport = False
unskinned, _ = evaluated()
body.modifiers["Armature"].show_viewport = True
save(rest=rest, triangles=triangles, unskinned=unskinned)
bones = arm.pose.bones
turn = Quaternion((0.0, 0.0, 1.0), math.radians(90.0))
bones["left_elbow"].rotation_quaternion = turn
bones["left_knee"].rotation_quaternion = Quaternion((1.0, 0.0, 0.0), math.radians(90.0))
bones["left_index2"].rotation_quaternion = Quaternion((1.0, 0.0, 0.0), math.radians(60.0))
bpy.context.view_layer.update()
bent, _ = evaluated()
elbow_rest = np.array(arm.data.bones["left_elbow"].matrix_local)
finger_rest = np.array(arm.data.bones["left_index2"].matrix_local)
keys["jawOpen"].value = 1.0
keys["eyeBlinkLeft"].value = 1.0
bpy.context.view_layer.update()
faced, _ = evaluated()
save(bent=bent, elbow_rest=elbow_rest, finger_rest=finger_rest, faced=faced)
for name in ("left_elbow", "left_knee", "left_index2"):
    bones[name].rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
# A quarter turn of the hand about the forearm (the bone's Y axis runs along it).
bones["left_wrist"].rotation_quaternion = Quaternion((0.0, 1.0, 0.0), math.radians(90.0))
bpy.context.view_layer.update()
twisted, _ = evaluated()
save(twisted=twisted, wrist=np.array(arm.data.bones["left_wrist"].head_local))
