"""Shared by the hostile-input scripts: a snapshot of everything Generate may change, rigs with
some of the SMPL-X bones, a bone map that sets Rigify-style switches on the SMPL-X character,
and Generate run as a user runs it."""

import hashlib
import importlib
import json

import bpy
import numpy as np
from installed_addon import MODULE, MotionArrays, from_actions, rig

bone_map = importlib.import_module(MODULE + ".bone_map")
bone_maps = importlib.import_module(MODULE + ".bone_maps")
operators = importlib.import_module(MODULE + ".operators")
AddonInputError = importlib.import_module(MODULE + ".motion_arrays").AddonInputError


def plain(value):
    for method in ("to_dict", "to_list"):
        if hasattr(value, method):
            return getattr(value, method)()
    return value


def curve_hash(fc):
    points, arrays = fc.keyframe_points, []
    for name in ("co", "handle_left", "handle_right"):
        values = np.empty(2 * len(points), np.float32)
        points.foreach_get(name, values)
        arrays.append(values.tobytes())
    return hashlib.sha256(b"".join(arrays)).hexdigest()


def strip_state(s):
    return [s.name, s.action.name if s.action else None, s.frame_start, s.frame_end,
            s.action_frame_start, s.action_frame_end, s.extrapolation, s.blend_type, s.mute,
            s.influence]


def full_snapshot():
    """Every action and F-curve key, every ID's animation data, NLA track and strip, every
    object's and pose bone's custom properties, rotation modes and shape-key slider ranges."""
    # Evaluated, as the UI always is: evaluation writes animated custom properties' values.
    bpy.context.view_layer.update()
    state = {"actions": sorted(action.name for action in bpy.data.actions)}
    for action in bpy.data.actions:
        state["action|" + action.name] = [action.users, [
            [fc.data_path, fc.array_index, curve_hash(fc)]
            for fc in from_actions.action_fcurves(action)]]
    for owner in (*bpy.data.objects, *bpy.data.shape_keys):
        data = owner.animation_data
        if data is not None:
            state["anim|" + owner.name] = [
                data.action.name if data.action else None, data.use_tweak_mode,
                len(data.drivers),
                [[t.name, t.mute, t.lock, t.is_solo, [strip_state(s) for s in t.strips]]
                 for t in data.nla_tracks]]
    for obj in bpy.data.objects:
        state["props|" + obj.name] = {key: plain(obj[key]) for key in obj.keys()}
        if obj.pose is not None:
            state["pose|" + obj.name] = {
                bone.name: [bone.rotation_mode, {key: plain(bone[key]) for key in bone.keys()}]
                for bone in obj.pose.bones}
    for key in bpy.data.shape_keys:
        state["sliders|" + key.name] = [[b.name, b.slider_min, b.slider_max]
                                         for b in key.key_blocks]
    # Pointers to data-blocks by name: their addresses change with every undo.
    return json.loads(json.dumps(state, default=lambda v: getattr(v, "name", repr(v))))


def differences(a, b):
    return sorted(key for key in set(a) | set(b) if a.get(key) != b.get(key))[:10]


def partial_rig(name, bones):
    """An armature with only the named SMPL-X bones, at the character's rest positions."""
    armature = bpy.data.objects.new(name, bpy.data.armatures.new(name))
    bpy.context.scene.collection.objects.link(armature)
    bpy.context.view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    edit = armature.data.edit_bones
    for spec in rig.bone_layout():
        if spec.name in bones:
            bone = edit.new(spec.name)
            bone.head, bone.tail = spec.head.tolist(), spec.tail.tolist()
            if spec.parent in bones:
                bone.parent = edit[spec.parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    return armature


SMPLX = bone_map.load_presets()["smplx"]
SWITCHES = bone_map.BoneMap("Rig switches", SMPLX.bones, (
    bone_map.PoseProperty("left_shoulder", "IK_FK", 1.0),
    bone_map.PoseProperty("spine3", "neck_follow", 1.0),
    bone_map.PoseProperty("spine3", "head_follow", 1.0)))


def random_motion(frames, seed):
    rng = np.random.default_rng(seed)
    return MotionArrays.from_arrays(rng.normal(scale=0.2, size=(frames, 55, 3)),
                                    rng.normal(scale=0.05, size=(frames, 3)),
                                    rng.uniform(size=(frames, 2)), ("jawOpen", "eyeBlinkLeft"))


def attempt(call):
    """The AddonInputError message of a refused call, or the call's result."""
    try:
        return call()
    except AddonInputError as exc:
        return "refused: " + str(exc)


def operator_generate():
    """Generate as a user runs it: its result and report (an ERROR report raises)."""
    status = bpy.context.window_manager.body_language_job
    status.last_report = ""
    try:
        result = sorted(bpy.ops.body_language.generate())
    except RuntimeError as exc:
        if "poll()" in str(exc):  # not run at all: say so rather than show an old report
            return ["POLL FAILED"], str(exc)
        result = ["CANCELLED"]
    return result, status.last_report
