"""Each armature's tracks in a saved .blend (params "blend") and their first and last key frames."""

import bpy
import numpy as np
from blender_snippet import emit, params

from blender_addon.actions import action_fcurves

bpy.ops.wm.open_mainfile(filepath=params["blend"])

found = {}
for obj in bpy.data.objects:
    if obj.type != "ARMATURE":
        continue
    data = obj.animation_data
    tracks = {}
    for track in (data.nla_tracks if data else ()):
        frames = np.concatenate([
            [point.co[0] for point in fc.keyframe_points]
            for strip in track.strips for fc in action_fcurves(strip.action)])
        tracks[track.name] = [float(frames.min()), float(frames.max())]
    found[obj.name] = tracks
emit(found=found)
