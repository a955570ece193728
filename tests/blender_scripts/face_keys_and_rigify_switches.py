"""Generate's write on a real Rigify rig (params "rigify": the 4.2 module crashes on exit once
Rigify has generated a rig) and onto face meshes: the preview body's ARKit keys within their
slider ranges, a FLAME head and a mesh with other keys left alone."""

import addon_utils
import bpy
import numpy as np
from blender_snippet import emit, inputs, params, save
from enabled_addon import scene
from written_answer import write_answer

from blender_addon.actions import strip_on_track
from blender_addon.rig import create_character

scene.render.fps, scene.render.fps_base = 30, 1.0
START = int(inputs["start"])
SWITCHES = {"upper_arm_parent.L": "IK_FK", "upper_arm_parent.R": "IK_FK",
            "thigh_parent.L": "IK_FK", "thigh_parent.R": "IK_FK",
            "torso": ("neck_follow", "head_follow")}


def switches(armature):
    found = {}
    for bone, props in SWITCHES.items():
        for prop in (props,) if isinstance(props, str) else props:
            found[f"{bone} {prop}"] = armature.pose.bones[bone].get(prop)
    return found


def rigify_switches_and_undo():
    """A real Rigify rig: the bone map is auto-detected, its switches set and reported; one
    undo takes them back."""
    addon_utils.enable("rigify", default_set=True)
    bpy.ops.object.armature_human_metarig_add()
    bpy.ops.pose.rigify_generate()
    rig_name = bpy.context.object.name
    bpy.ops.object.mode_set(mode="OBJECT")
    bpy.ops.ed.undo_push(message="rig generated")
    before = switches(bpy.data.objects[rig_name])
    report, warnings = write_answer(bpy.data.objects[rig_name])
    after = switches(bpy.data.objects[rig_name])
    # Blender pushes this step itself when Generate (UNDO-flagged) returns FINISHED; headless
    # Blender does not, so the test makes the same push.
    bpy.ops.ed.undo_push(message="Generate")
    bpy.ops.ed.undo()
    rig = bpy.data.objects[rig_name]  # an undo replaces every Python reference
    emit(rig_report=report, rig_before=before, rig_after=after, rig_undone=switches(rig),
         rig_tracks_undone=[t.name for t in rig.animation_data.nla_tracks]
         if rig.animation_data else [])


if params["rigify"]:
    rigify_switches_and_undo()

# 2. Face meshes: the preview body (ARKit keys), a FLAME head and a mesh with other keys.
scene = bpy.context.scene
speaker = create_character("Speaker")
body = next(c for c in speaker.children if c.type == "MESH" and c.data.shape_keys)
body.data.shape_keys.key_blocks["jawOpen"].slider_max = 0.5   # a rig that limits a key


def keyed_mesh(name, keys):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(obj)
    obj.parent = speaker
    for key in ("Basis", *keys):
        obj.shape_key_add(name=key)
    return obj


flame = keyed_mesh("FlameHead", [f"Exp{i:03d}" for i in range(10)])
props = keyed_mesh("Props", ["squash", "stretch"])
flame_before = [b.value for b in flame.data.shape_keys.key_blocks]
ranges = {}
for mode in ("EVERY_FRAME", "REDUCED"):
    report, warnings = write_answer(speaker, mode)
    values = {name: [] for name in ("browInnerUp", "jawOpen")}
    lowest, highest = [], []
    blocks = body.data.shape_keys.key_blocks
    for frame in range(START, START + len(inputs["poses"])):
        scene.frame_set(frame)
        for name in values:
            values[name].append(blocks[name].value)
        lowest.append(min(b.value - b.slider_min for b in blocks[1:]))
        highest.append(max(b.value - b.slider_max for b in blocks[1:]))
    save(**{f"{mode}_{name}": np.array(v) for name, v in values.items()})
    ranges[mode] = [min(lowest), max(highest)]
    emit(**{f"{mode}_report": report, f"{mode}_warnings": warnings})
emit(ranges=ranges, jaw_slider=[blocks["jawOpen"].slider_min, blocks["jawOpen"].slider_max],
     flame_unchanged=[b.value for b in flame.data.shape_keys.key_blocks] == flame_before,
     flame_animated=flame.data.shape_keys.animation_data is not None,
     props_animated=props.data.shape_keys.animation_data is not None,
     body_animated=strip_on_track(body.data.shape_keys, "BL face") is not None)
