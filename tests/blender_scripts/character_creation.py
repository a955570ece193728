"""The SMPL-X character as Blender builds it: bones, body, eyes, and its skin following the head."""

import bpy
import numpy as np
from blender_snippet import emit, save

from blender_addon.rig import create_character

scene = bpy.context.scene
cube = bpy.data.objects.new("Existing", None)
scene.collection.objects.link(cube)
bpy.context.view_layer.objects.active = cube
arm = create_character()
second = create_character(with_body=False)
bones = arm.data.bones
emit(
    version=bpy.app.version_string,
    names=[b.name for b in bones],
    parents={b.name: b.parent.name if b.parent else None for b in bones},
    rotation_modes=sorted({pb.rotation_mode for pb in arm.pose.bones}),
    active=bpy.context.view_layer.objects.active.name,
    second_bones=len(second.data.bones),
    second_name=second.name,
    mode=bpy.context.mode,
)
save(heads=np.array([list(b.head_local) for b in bones]),
     tails=np.array([list(b.tail_local) for b in bones]),
     matrices=np.array([np.array(b.matrix_local) for b in bones]))
children = {c.name: c for c in arm.children}
body = children[arm.name + " body"]
modifier = body.modifiers["Armature"]
emit(
    children=sorted(children),
    body_vertices=len(body.data.vertices),
    shape_keys=[k.name for k in body.data.shape_keys.key_blocks],
    groups=sorted(g.name for g in body.vertex_groups),
    modifier=(modifier.type, modifier.object.name),
    materials=[m.name for m in body.data.materials],
    eyes={c.name: (c.parent_type, c.parent_bone) for c in arm.children if c.parent_type == "BONE"},
)
# Turn the head: the skull and the eyes turn with it, the pelvis stays.
eye = children[arm.name + " left eye"]
before_eye = np.array(eye.matrix_world.translation)
key = body.data.shape_keys.key_blocks["jawOpen"]
depsgraph = bpy.context.evaluated_depsgraph_get()
def evaluated_vertices():
    mesh = body.evaluated_get(depsgraph).to_mesh()
    co = np.empty(3 * len(mesh.vertices))
    mesh.vertices.foreach_get("co", co)
    body.evaluated_get(depsgraph).to_mesh_clear()
    return co.reshape(-1, 3)
rest_vertices = evaluated_vertices()
arm.pose.bones["head"].rotation_quaternion = (0.9238795, 0.0, 0.0, 0.3826834)
key.value = 1.0
bpy.context.view_layer.update()
posed_vertices = evaluated_vertices()
save(before_eye=before_eye, after_eye=np.array(eye.matrix_world.translation),
     rest_vertices=rest_vertices, posed_vertices=posed_vertices)
