"""Export Performance: an armature's generated performance as BVH or FBX, through Blender's own
exporters, or as a BEAT2 npz.

The performance is what its "BL" tracks play, over the frames their strips span: BVH and FBX bake
the evaluated pose (every track together) on every frame of that span. The npz is read back from
the keys as SMPL-X (keyframes.read_part, through the armature's bone map), at the motion's
30 fps, and written in the layout core/io/beat2.py writes: the add-on never loads the model core,
and the keys are what the animator sees, edits included.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bpy

from . import bone_maps, keyframes
from .motion_arrays import AddonInputError
from .motion_files import face_in_space, write_beat2_file
from .properties import target_armature
from .scene_audio import AudioClip
from .scene_inputs import existing_parts, read_parts_on_clip
from .shared.rates import FPS as MOTION_FPS

FORMATS = (
    ("BVH", "BVH", "Biovision Hierarchy: the skeleton and a rotation per bone and frame "
                   "(Blender's BVH exporter)"),
    ("FBX", "FBX", "The armature, its child meshes and the performance baked to one take "
                   "(Blender's FBX exporter)"),
    ("NPZ", "BEAT2 npz", "SMPL-X poses, root translation and face channels at 30 fps, read "
                         "back from the keys (the model core's file layout)"),
)
EXTENSIONS = {"BVH": ".bvh", "FBX": ".fbx", "NPZ": ".npz"}
# The exporters are bundled add-ons a user may have disabled; they are enabled on use.
_EXPORTER_MODULES = {"BVH": "io_anim_bvh", "FBX": "io_scene_fbx"}


def performance_frames(armature: Any) -> tuple[int, int]:
    """The first and last scene frame the armature's Body Language tracks play."""
    strips = [keyframes.strip_on_track(armature, keyframes.track_name(part))
              for part in existing_parts(armature)]
    if not strips:
        raise AddonInputError(f"{armature.name} has no Body Language performance to export: "
                              "generate one first")
    return (int(min(strip.frame_start for strip in strips)),
            int(round(max(strip.frame_end for strip in strips))))


def _ensure_exporter(kind: str) -> None:
    import addon_utils

    module = _EXPORTER_MODULES[kind]
    _default, loaded = addon_utils.check(module)
    if not loaded and addon_utils.enable(module, default_set=False) is None:
        raise AddonInputError(f"Blender's {kind} exporter ({module}) is missing from this "
                              "Blender, so the performance cannot be exported as " + kind)


@contextmanager
def _scene_range(scene: Any, first: int, last: int) -> Any:
    """The scene's frame range set to the performance for the FBX exporter, which bakes the
    scene's range, and put back afterwards whatever happens."""
    saved = scene.frame_start, scene.frame_end, scene.frame_current
    scene.frame_start, scene.frame_end = first, last
    try:
        yield
    finally:
        scene.frame_start, scene.frame_end = saved[:2]
        scene.frame_set(saved[2])


def _override(context: Any, armature: Any, selected: list[Any]) -> Any:
    # Both exporters read the active object or the selection from the context; an override
    # leaves the user's own selection as it was.
    return context.temp_override(active_object=armature, object=armature,
                                 selected_objects=selected, selected_editable_objects=selected)


def export_bvh(context: Any, armature: Any, path: Path) -> str:
    """The performance as BVH: every bone's rotation on every frame it plays."""
    _ensure_exporter("BVH")
    first, last = performance_frames(armature)
    with _override(context, armature, [armature]):
        result = bpy.ops.export_anim.bvh(filepath=str(path), frame_start=first, frame_end=last,
                                         global_scale=1.0, rotate_mode="NATIVE",
                                         root_transform_only=False)
    if result != {"FINISHED"}:
        raise AddonInputError(f"Blender's BVH exporter did not write {path}")
    return f"frames {first}-{last} of {len(armature.pose.bones)} bones"


def export_fbx(context: Any, armature: Any, path: Path) -> str:
    """The armature and its child meshes with the performance baked to one take."""
    _ensure_exporter("FBX")
    first, last = performance_frames(armature)
    meshes = [child for child in armature.children_recursive if child.type == "MESH"]
    with _scene_range(context.scene, first, last), \
            _override(context, armature, [armature, *meshes]):
        # One take of what every track plays together; per-strip takes would split the parts.
        result = bpy.ops.export_scene.fbx(
            filepath=str(path), use_selection=True, object_types={"ARMATURE", "MESH"},
            add_leaf_bones=False, bake_anim=True, bake_anim_use_all_bones=True,
            bake_anim_use_nla_strips=False, bake_anim_use_all_actions=False,
            bake_anim_force_startend_keying=True, bake_anim_step=1.0,
            bake_anim_simplify_factor=0.0)
    if result != {"FINISHED"}:
        raise AddonInputError(f"Blender's FBX exporter did not write {path}")
    return f"frames {first}-{last}, {len(meshes)} mesh(es)"


def export_npz(context: Any, armature: Any, path: Path) -> str:
    """The performance read back from the keys as SMPL-X, as a BEAT2-layout npz at 30 fps."""
    scene = context.scene
    first, last = performance_frames(armature)
    parts = existing_parts(armature)
    clip = AudioClip(first, last + 1, keyframes.scene_fps(scene), {}, ())
    bone_map = bone_maps.chosen_bone_map(armature.body_language)
    motion = read_parts_on_clip(armature, parts, clip, bone_map, scene)
    frames = len(motion["poses"])
    space, face, found = face_in_space(motion["face"], motion["face_names"], frames)
    write_beat2_file(path, motion["poses"], motion["trans"], face, space, MOTION_FPS)
    text = f"{frames} frames at {MOTION_FPS:g} fps of {', '.join(parts)}"
    if found < face.shape[1]:
        text += f"; face: {found} of {face.shape[1]} {space} channels keyed, the rest zeros"
    return text


_EXPORTERS = {"BVH": export_bvh, "FBX": export_fbx, "NPZ": export_npz}


def export_performance(context: Any, armature: Any, path: str | Path, kind: str) -> str:
    """Write the armature's performance as `kind` (BVH, FBX or NPZ) to `path`; the report."""
    if kind not in _EXPORTERS:
        raise AddonInputError(f"unknown export format {kind!r}; choose from "
                              f"{', '.join(_EXPORTERS)}")
    target = Path(bpy.path.abspath(str(path)))
    if target.suffix.lower() != EXTENSIONS[kind]:
        target = target.with_name(target.name + EXTENSIONS[kind])
    if not target.parent.is_dir():
        raise AddonInputError(f"the folder {target.parent} does not exist")
    detail = _EXPORTERS[kind](context, armature, target)
    return f"Exported {armature.name}'s performance to {target} ({detail})"


class BODY_LANGUAGE_OT_export_performance(bpy.types.Operator):
    """Write the armature's generated performance as BVH, FBX or a BEAT2 npz"""

    bl_idname = "body_language.export_performance"
    bl_label = "Export Performance\u2026"
    bl_options = {"REGISTER"}

    filepath: bpy.props.StringProperty(name="File Path", subtype="FILE_PATH",
                                       description="Where to write the performance")
    format: bpy.props.EnumProperty(name="Format", items=FORMATS, default="BVH",
                                   description="The file format to write")
    filter_glob: bpy.props.StringProperty(default="*.bvh;*.fbx;*.npz", options={"HIDDEN"})

    @classmethod
    def poll(cls, context: Any) -> bool:
        armature = target_armature(context)
        return armature is not None and bool(existing_parts(armature))

    def check(self, _context: Any) -> bool:
        # The file browser keeps the name's extension in step with the chosen format.
        path = Path(self.filepath)
        wanted = path.with_suffix(EXTENSIONS[self.format]) if path.name else path
        if str(wanted) != self.filepath:
            self.filepath = str(wanted)
            return True
        return False

    def invoke(self, context: Any, _event: Any) -> set[str]:
        if not self.filepath:
            stem = bpy.path.clean_name(target_armature(context).name)
            folder = Path(bpy.path.abspath("//")) if bpy.data.filepath else Path.home()
            self.filepath = str(folder / (stem + EXTENSIONS[self.format]))
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context: Any) -> set[str]:
        try:
            report = export_performance(context, target_armature(context), self.filepath,
                                        self.format)
        except (AddonInputError, OSError, RuntimeError) as exc:
            self.report({"ERROR"}, f"Export failed: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, report)
        return {"FINISHED"}


CLASSES = (BODY_LANGUAGE_OT_export_performance,)
