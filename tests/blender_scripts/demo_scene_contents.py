"""The saved demo scene (params "blend"): its strips, frames, camera and markers, each
armature's place and bound strips, and each of its tracks' keyed bones and key range."""

import bpy
import enabled_addon  # noqa: F401  (the characters' Body Language settings need the add-on)
import numpy as np
from blender_snippet import emit, params

from blender_addon.actions import action_fcurves

bpy.ops.wm.open_mainfile(filepath=params["blend"])

scene = bpy.context.scene
strips = sorted(scene.sequence_editor.strips, key=lambda s: s.frame_final_start)
emit(strips=[[s.name, s.channel, s.frame_final_start, s.frame_final_end] for s in strips],
     kinds=sorted({(s.type, s.sound.packed_file is not None) for s in strips}),
     frames=[scene.frame_start, scene.frame_end], camera=scene.camera is not None,
     markers=sorted([m.name, m.frame] for m in scene.timeline_markers))
armatures = {obj.name: obj for obj in scene.objects if obj.type == "ARMATURE"}
emit(bound={name: [obj.body_language.audio_source, [ref.name for ref in obj.body_language.strips],
                   list(obj.location), obj.rotation_euler.z]
            for name, obj in armatures.items()})
keys = {}
for name, obj in armatures.items():
    for track in obj.animation_data.nla_tracks:
        keyed, first, last = set(), None, None
        for strip in track.strips:
            for fc in action_fcurves(strip.action):
                if fc.data_path.startswith("pose.bones"):
                    keyed.add(fc.data_path.split('"')[1])
                co = np.empty(2 * len(fc.keyframe_points), np.float32)
                fc.keyframe_points.foreach_get("co", co)
                low, high = float(co[0::2].min()), float(co[0::2].max())
                first = low if first is None else min(first, low)
                last = high if last is None else max(last, high)
        keys[f"{name} {track.name}"] = [sorted(keyed), first, last]
emit(keys=keys)
