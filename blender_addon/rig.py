"""Create Character: an SMPL-X-topology armature with a preview body, no SMPL-X model files.

55 bones carry the SMPL-X joint names Meshcapade's add-on uses (pelvis, left_hip, ..., jaw,
left_eye, right_eye, left_index1, ...), each with its head on the joint of the default rest
skeleton (Blender Z up, facing -Y) and its tail on its primary child (or at the skull top, the
toes, the chin, ahead of the eyes, past the fingertips).

Bone roll convention: each bone's Z axis points forward (-Y) as far as its direction allows,
or up (+Z) for bones that point forward themselves (toes, eyes, jaw). The roll is a cosmetic
choice only: SMPL-X's rest frames are all the identity, so with B the bone's rest orientation
in SMPL-X axes the pose-bone rotation is exactly B^T R_smplx_local B for any roll (retarget.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .preview_body import MATERIAL_COLOURS, MATERIALS, PreviewGeometry, body_geometry, eye_geometry
from .skeleton_data import (
    JOINT_NAMES,
    PARENTS,
    default_rest_positions,
    primary_child,
    rest_tail_positions,
    smplx_to_blender,
)

FORWARD = np.array([0.0, -1.0, 0.0])
UP = np.array([0.0, 0.0, 1.0])
# Bones closer than this (cosine) to the forward axis take "up" as their roll reference.
_FORWARD_COSINE = 0.8
CHARACTER_PROPERTY = "bl_character"


@dataclass(frozen=True)
class BoneSpec:
    name: str
    parent: str | None
    head: np.ndarray
    tail: np.ndarray
    roll_reference: np.ndarray
    connected: bool


def bone_layout() -> list[BoneSpec]:
    """The 55 bones of the SMPL-X character in Blender coordinates (metres), parents first."""
    heads = smplx_to_blender(default_rest_positions())
    tails = smplx_to_blender(rest_tail_positions())
    specs = []
    for joint, name in enumerate(JOINT_NAMES):
        direction = tails[joint] - heads[joint]
        direction = direction / np.linalg.norm(direction)
        reference = UP if abs(direction @ FORWARD) > _FORWARD_COSINE else FORWARD
        parent = PARENTS[joint]
        specs.append(BoneSpec(
            name=name,
            parent=None if parent < 0 else JOINT_NAMES[parent],
            head=heads[joint],
            tail=tails[joint],
            roll_reference=reference,
            # Connected where the bone starts at its parent's tail, as Blender draws chains.
            connected=parent >= 0 and primary_child(parent) == joint,
        ))
    return specs


def _link(obj: Any, collection: Any) -> Any:
    collection.objects.link(obj)
    return obj


def build_armature(name: str, collection: Any) -> Any:
    """An armature object with the SMPL-X bones, linked into `collection`."""
    import bpy

    armature = _link(bpy.data.objects.new(name, bpy.data.armatures.new(name)), collection)
    view_layer = bpy.context.view_layer
    previous_active = view_layer.objects.active
    if bpy.context.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        edit_bones = armature.data.edit_bones
        for spec in bone_layout():
            bone = edit_bones.new(spec.name)
            bone.head = spec.head.tolist()
            bone.tail = spec.tail.tolist()
            bone.align_roll(spec.roll_reference.tolist())
            if spec.parent is not None:
                bone.parent = edit_bones[spec.parent]
                bone.use_connect = spec.connected
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        if previous_active is not None:
            view_layer.objects.active = previous_active
    for pose_bone in armature.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"
    armature[CHARACTER_PROPERTY] = 1
    armature.data.display_type = "STICK"
    armature.show_in_front = True
    return armature


def _material(name: str) -> Any:
    import bpy

    material = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    colour = MATERIAL_COLOURS[name]
    material.diffuse_color = colour
    tree = getattr(material, "node_tree", None)
    shader = tree.nodes.get("Principled BSDF") if tree is not None else None
    if shader is not None:
        shader.inputs["Base Color"].default_value = colour
    return material


def _mesh_object(name: str, geometry: PreviewGeometry, collection: Any) -> Any:
    import bpy

    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(geometry.vertices.tolist(), [], geometry.faces)
    for material_name in MATERIALS:
        mesh.materials.append(_material(material_name))
    mesh.polygons.foreach_set("material_index", geometry.face_materials.astype(np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    mesh.update()
    return _link(bpy.data.objects.new(name, mesh), collection)


def _skin(obj: Any, geometry: PreviewGeometry, armature: Any) -> None:
    """Vertex groups from the geometry's weights and an armature modifier; dual quaternions
    ("preserve volume") keep elbows and knees round where linear blending pinches them."""
    for joint in np.flatnonzero(geometry.weights.any(axis=0)):
        group = obj.vertex_groups.new(name=JOINT_NAMES[joint])
        column = geometry.weights[:, joint]
        for weight in np.unique(column[column > 0]):
            group.add(np.flatnonzero(column == weight).tolist(), float(weight), "REPLACE")
    modifier = obj.modifiers.new("Armature", "ARMATURE")
    modifier.object = armature
    modifier.use_deform_preserve_volume = True
    if geometry.subdivision:
        # After the armature: the posed cage is what gets rounded.
        smooth = obj.modifiers.new("Subdivision", "SUBSURF")
        smooth.levels = smooth.render_levels = geometry.subdivision


def build_preview_body(armature: Any, collection: Any) -> list[Any]:
    """The skinned body mesh (with ARKit-52 shape keys) and the two eyes, parented to
    `armature`; returns [body, left eye, right eye]."""
    from mathutils import Matrix

    geometry = body_geometry()
    body = _mesh_object(f"{armature.name} body", geometry, collection)
    body.parent = armature
    _skin(body, geometry, armature)

    body.shape_key_add(name="Basis", from_mix=False)
    for name, positions in geometry.shape_keys.items():
        key = body.shape_key_add(name=name, from_mix=False)
        key.data.foreach_set("co", positions.astype(np.float32).ravel())
        # Blender 5.0 starts a new key at full strength; the face starts at rest.
        key.value = 0.0

    objects = [body]
    for side in ("left", "right"):
        eye_mesh = eye_geometry(side)
        eye = _mesh_object(f"{armature.name} {side} eye", eye_mesh, collection)
        bone = armature.data.bones[f"{side}_eye"]
        eye.parent = armature
        eye.parent_type = "BONE"
        eye.parent_bone = bone.name
        # A bone parent places children at its tail; the inverse cancels that, so at rest the
        # eye sits at its origin, the eye joint.
        tail = np.array(bone.matrix_local)
        tail[:3, 3] = np.array(bone.tail_local)
        eye.matrix_parent_inverse = Matrix(np.linalg.inv(tail).tolist())
        eye.location = eye_mesh.origin.tolist()
        objects.append(eye)
    return objects


def create_character(
    name: str = "BL Character", collection: Any = None, with_body: bool = True
) -> Any:
    """Build the SMPL-X armature (and preview body) in `collection` (default: the scene's)."""
    import bpy

    collection = collection or bpy.context.scene.collection
    armature = build_armature(name, collection)
    if with_body:
        build_preview_body(armature, collection)
    return armature
