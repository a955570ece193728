"""Every F-curve of a performance on a character, for scripts and bench/bench_key_reduction.py."""

from blender_addon.actions import action_fcurves
from blender_addon.keyframes import strip_on_track


def performance_curves(armature, shape_key_prefix):
    """Every F-curve on the armature's tracks and its body's shape-key tracks, by a name: its
    data path and index, after `shape_key_prefix` for the shape keys'."""
    found = {}
    owners = [(armature, "")] + [(child.data.shape_keys, shape_key_prefix)
                                 for child in armature.children
                                 if child.type == "MESH" and child.data.shape_keys]
    for owner, prefix in owners:
        for track in owner.animation_data.nla_tracks:
            for fcurve in action_fcurves(strip_on_track(owner, track.name).action):
                found[f"{prefix}{fcurve.data_path}|{fcurve.array_index}"] = fcurve
    return found
