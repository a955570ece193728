"""The saved demo scene (params "blend"): its strip, frames, camera, armatures and each track's
keyed bones and key range."""

import bpy
import numpy as np
from blender_snippet import emit, params

from blender_addon.actions import action_fcurves

bpy.ops.wm.open_mainfile(filepath=params["blend"])

scene = bpy.context.scene
strips = list(scene.sequence_editor.strips)
emit(strips=[[s.name, s.type, s.frame_final_start, s.frame_final_end,
              s.sound.packed_file is not None] for s in strips],
     frames=[scene.frame_start, scene.frame_end], camera=scene.camera is not None,
     markers=sorted([m.name, m.frame] for m in scene.timeline_markers))
armatures = [obj for obj in scene.objects if obj.type == "ARMATURE"]
emit(armatures=[obj.name for obj in armatures])
tracks = {}
for track in armatures[0].animation_data.nla_tracks:
    keyed, first, last = set(), None, None
    for strip in track.strips:
        for fc in action_fcurves(strip.action):
            if fc.data_path.startswith("pose.bones"):
                keyed.add(fc.data_path.split('"')[1])
            co = np.empty(2 * len(fc.keyframe_points), np.float32)
            fc.keyframe_points.foreach_get("co", co)
            first = float(co[0::2].min()) if first is None else min(first, float(co[0::2].min()))
            last = float(co[0::2].max()) if last is None else max(last, float(co[0::2].max()))
    tracks[track.name] = [sorted(keyed), first, last]
emit(tracks=tracks)
