"""Importing this installs the built extension (params "extension_zip") into Blender's
user_default repository, points its preferences at a worker Python and a checkpoint folder
(params "worker_python", "checkpoint") and sets the scene to 30 fps. It gives the scripts the
installed add-on's modules and the scene helpers they share."""

import hashlib
import importlib

import bpy
import numpy as np
from blender_snippet import params

bpy.ops.extensions.package_install_files(filepath=params["extension_zip"], repo="user_default",
                                         enable_on_install=True)
MODULE = params["module"]
addon = importlib.import_module(MODULE)
prefs = bpy.context.preferences.addons[MODULE].preferences
prefs.worker_python = params["worker_python"]
prefs.checkpoint = params["checkpoint"]
jobs = importlib.import_module(MODULE + ".jobs")
keyframes = importlib.import_module(MODULE + ".keyframes")
rig = importlib.import_module(MODULE + ".rig")
runtime = importlib.import_module(MODULE + ".runtime")
scene_audio = importlib.import_module(MODULE + ".scene_audio")
scene_inputs = importlib.import_module(MODULE + ".scene_inputs")
worker_settings = importlib.import_module(MODULE + ".worker_settings")
from_actions = importlib.import_module(MODULE + ".actions")
MotionArrays = importlib.import_module(MODULE + ".motion_arrays").MotionArrays
scene = bpy.context.scene
scene.render.fps = 30
scene.render.fps_base = 1.0


def snapshot():
    """Every F-curve's keys, every NLA track and strip, the armatures' custom properties."""
    state = {}
    for action in bpy.data.actions:
        for fc in from_actions.action_fcurves(action):
            co = np.empty(2 * len(fc.keyframe_points), np.float32)
            fc.keyframe_points.foreach_get("co", co)
            key = f"{action.name}|{fc.data_path}|{fc.array_index}"
            state[key] = hashlib.sha256(co.tobytes()).hexdigest()
    for obj in bpy.data.objects:
        data = obj.animation_data
        if data is not None:
            state["nla|" + obj.name] = [
                [track.name, [[s.name, s.action.name if s.action else None, s.frame_start,
                               s.frame_end] for s in track.strips]]
                for track in data.nla_tracks]
        if obj.type == "ARMATURE":
            state["props|" + obj.name] = sorted(obj.keys())
    return state


def animated_speaker(name="Speaker", start=10, frames=60):
    """A character with every part keyed (a stand-in for an earlier generation)."""
    armature = rig.create_character(name, with_body=False)
    rng = np.random.default_rng(0)
    motion = MotionArrays.from_arrays(rng.normal(scale=0.2, size=(frames, 55, 3)),
                                      rng.normal(scale=0.05, size=(frames, 3)),
                                      rng.uniform(size=(frames, 2)), ("jawOpen", "eyeBlinkLeft"))
    keyframes.write_motion(armature, motion, start_frame=start)
    scene.body_language.target = armature
    return armature


def generate_job(armature, client=None):
    """Generate for `armature` as a job not yet started, on `client` or the shared worker:
    (request, job)."""
    config = worker_settings.runtime_config(bpy.context)
    client = client or worker_settings.worker_for(config)
    request = scene_inputs.build_generate_request(bpy.context.scene, armature, client)
    return request, jobs.GenerateJob(client, request, worker_settings.model_spec(config))
