"""A custom bone map filled from a preset, edited and saved as a user preset, then chosen."""

import importlib

import bpy
from blender_snippet import emit
from installed_addon import MODULE, animated_speaker

bone_maps = importlib.import_module(MODULE + ".bone_maps")
armature = animated_speaker()
settings = armature.body_language
bpy.ops.body_language.custom_map_from_preset(preset="smplx")
emit(rows=len(settings.custom_bones), chosen=settings.bone_map)
row = next(row for row in settings.custom_bones if row.joint == "left_wrist")
row.bone = ""                                   # this rig's wrist is left unmapped
bpy.ops.body_language.save_custom_map(name="My Rig")
folder = bone_maps.user_preset_dir()
emit(folder=str(folder), files=sorted(p.name for p in folder.glob("*.json")))
settings.bone_map = "My_Rig"
saved = bone_maps.chosen_bone_map(settings)
emit(saved_name=saved.name, has_wrist="left_wrist" in saved.bones,
     elbow=saved.bones["left_elbow"])
