"""Generate's write of a worker answer, without a worker: the job reads a motion file made from
the performance the test passed in `inputs` (poses, trans, face, face_names, start) and keys it.
Scripts import enabled_addon before this."""

import os
import tempfile

import bpy
import numpy as np
from blender_snippet import inputs

from blender_addon import jobs, scene_inputs
from blender_addon.scene_audio import AudioClip


def write_answer(armature, key_mode="EVERY_FRAME"):
    """Key the performance onto `armature` with the Keys setting `key_mode`: the job's report
    and its warnings."""
    armature.body_language.key_mode = key_mode
    path = os.path.join(tempfile.mkdtemp(), "motion.npz")  # the job deletes it once read
    frames = len(inputs["poses"])
    names = [str(n) for n in inputs["face_names"]]
    np.savez(path, poses=inputs["poses"].reshape(frames, -1), trans=inputs["trans"],
             face_space="arkit52", face_arkit52=inputs["face"], face_names=np.array(names),
             mocap_frame_rate=30.0)
    request = scene_inputs.GenerateRequest(armature.name, bpy.context.scene.name,
                                           AudioClip(int(inputs["start"]), None, 30.0, {}, ()),
                                           ("face", "hands", "upper", "lower"), (), None, None,
                                           {})
    job = jobs.GenerateJob(None, request, {})
    return job.apply({"motion": path}), list(job.warnings)
