"""Every-frame and reduced keys of one performance: the curves Blender plays, what key_reduction
models, and the feet."""

import numpy as np
from blender_snippet import emit, inputs, save
from enabled_addon import scene
from performance_curves import performance_curves
from written_answer import write_answer

from blender_addon import key_reduction as kr
from blender_addon.keyframes import write_motion
from blender_addon.motion_arrays import MotionArrays
from blender_addon.rig import create_character

START = int(inputs["start"])
FEET = [str(name) for name in inputs["feet"]]
scene.render.fps, scene.render.fps_base = 30, 1.0
names = [str(n) for n in inputs["face_names"]]
every = create_character("Every")
reduced = create_character("Reduced")
settings = reduced.body_language
prop = settings.bl_rna.properties["key_mode"]
emit(default=settings.key_mode, items=[item.identifier for item in prop.enum_items],
     label=prop.name, description=prop.description)
write_motion(every, MotionArrays(inputs["poses"], inputs["trans"], inputs["face"], names),
             start_frame=START)

# Reduced through Generate's own write, with the setting switched.
frames = len(inputs["poses"])
emit(report=write_answer(reduced, "REDUCED")[0])


def co(fcurve):
    points = np.empty(2 * len(fcurve.keyframe_points), np.float32)
    fcurve.keyframe_points.foreach_get("co", points)
    return points[0::2], points[1::2]


played = START + np.arange(frames, dtype=np.float64)
wanted, got, model = [], [], []
kinds = set()
old, new = performance_curves(every, "keys "), performance_curves(reduced, "keys ")
for name in sorted(old):
    wanted.append(co(old[name])[1])
    fcurve = new[name]
    got.append([fcurve.evaluate(float(frame)) for frame in played])
    kinds.add((fcurve.auto_smoothing, fcurve.keyframe_points[0].interpolation,
               fcurve.keyframe_points[0].handle_left_type))
    # What key_reduction models Blender to play from these key frames of the wanted curve (the
    # fitted handles come from every frame of it).
    key_frames, _key_values = co(fcurve)
    keys = np.zeros(frames, bool)
    keys[np.round(key_frames - START).astype(int)] = True
    model.append(kr.bezier_curves(np.array(wanted[-1], dtype=np.float64)[None], keys[None])[0])
emit(names=sorted(old), kinds=sorted(kinds),
     every_keys=sum(len(f.keyframe_points) for f in old.values()),
     reduced_keys=sum(len(f.keyframe_points) for f in new.values()))
save(wanted=np.array(wanted), got=np.array(got), model=np.array(model))

feet = {"every": [], "reduced": []}
for frame in played:
    scene.frame_set(int(frame))
    for label, armature in (("every", every), ("reduced", reduced)):
        bones = [armature.pose.bones[name] for name in FEET]
        points = [armature.matrix_world @ p for b in bones for p in (b.head, b.tail)]
        feet[label].append([list(p) for p in points])
save(feet_every=np.array(feet["every"]), feet_reduced=np.array(feet["reduced"]))
