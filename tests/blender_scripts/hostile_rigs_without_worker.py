"""Hostile rigs without a worker: rigs with some or none of the bones, failures injected at
each stage of a write, NLA tweak mode and a linked rig (params "wav", "tmp")."""

import os

import bpy
from blender_snippet import emit, params
from hostile_scene import (
    SWITCHES,
    attempt,
    differences,
    full_snapshot,
    operator_generate,
    partial_rig,
    random_motion,
    strip_state,
)
from installed_addon import keyframes, rig, runtime, scene

wav = params["wav"]
emit(generate_options=sorted(bpy.types.BODY_LANGUAGE_OT_generate.bl_options))

# A rig with 3 of the 55 bones: keyed, with a warning naming the rest.
three = partial_rig("Three", {"pelvis", "spine1", "head"})
result = keyframes.write_motion(three, random_motion(20, 0), start_frame=1)
emit(three_warnings=list(result.warnings), three_missing=result.missing,
     three_bones=result.bones)
before = full_snapshot()
emit(hands_only=attempt(lambda: keyframes.write_motion(three, random_motion(20, 1),
                                                       parts=["hands"])),
     hands_unchanged=full_snapshot() == before)
nothing = partial_rig("Nothing", {"pelvis"})
nothing.data.bones["pelvis"].name = "Bone"
before = full_snapshot()
emit(nothing=attempt(lambda: keyframes.write_motion(nothing, random_motion(20, 1))),
     nothing_unchanged=full_snapshot() == before)

# The operator refuses before the worker starts or any file is written.
scene.body_language.target = three
settings = three.body_language
settings.audio_source, settings.audio_file, settings.parts = "FILE", wav, {"hands"}
before = full_snapshot()
emit(operator_refusal=operator_generate(), operator_unchanged=full_snapshot() == before)
client = runtime.current_client()
emit(worker_started=client is not None and client.alive,
     exchange_files=[] if client is None else os.listdir(client.exchange_dir))

# Failures at each stage of a write leave the scene identical: rig switches, muted and locked
# tracks, face shape keys and their slider ranges included.
speaker = rig.create_character("Speaker", with_body=True)
keyframes.write_motion(speaker, random_motion(30, 2), start_frame=10)
speaker.pose.bones["left_shoulder"]["IK_FK"] = 0.0
tracks = speaker.animation_data.nla_tracks
tracks["BL upper"].mute, tracks["BL hands"].lock = True, True
real = {name: getattr(keyframes, name) for name in
        ("stage_on_track", "build_shape_key_actions", "_prepare")}
failures, staged = {}, []


def fail_on_fifth(*args):
    staged.append([type(args[0]).__name__, args[1]])
    if len(staged) == 5:
        raise RuntimeError("injected failure while staging")
    return real["stage_on_track"](*args)


def fail(*args, **kwargs):
    raise RuntimeError("injected failure")


for name, replacement in (("stage_on_track", fail_on_fifth),
                          ("build_shape_key_actions", fail), ("_prepare", fail)):
    setattr(keyframes, name, replacement)
    before = full_snapshot()
    try:
        keyframes.write_motion(speaker, random_motion(40, 3), start_frame=20, bone_map=SWITCHES)
        failures[name] = "written"
    except RuntimeError as exc:
        now = full_snapshot()
        failures[name] = [str(exc), now == before, differences(before, now)]
    setattr(keyframes, name, real[name])
emit(failures=failures, staged=staged)

# The same write, without failures: tracks keep their place, names and switches; the old
# actions go.
result = keyframes.write_motion(speaker, random_motion(40, 3), start_frame=20,
                                bone_map=SWITCHES)
data = speaker.animation_data
emit(written_tracks=[[t.name, t.mute, t.lock, [strip_state(s) for s in t.strips]]
                     for t in data.nla_tracks],
     written_actions=sorted(a.name for a in bpy.data.actions),
     orphans=[a.name for a in bpy.data.actions if a.users == 0],
     switches=[speaker.pose.bones["left_shoulder"]["IK_FK"],
               speaker.pose.bones["spine3"]["neck_follow"],
               speaker.pose.bones["spine3"]["head_follow"]],
     written_warnings=list(result.warnings))

# NLA tweak mode: refused by the writer and by Generate, before anything changes.
hands = data.nla_tracks["BL hands"]
data.nla_tracks.active = hands
hands.select = hands.strips[0].select = True
data.use_tweak_mode = True
scene.body_language.target = speaker
speaker.body_language.audio_source, speaker.body_language.audio_file = "FILE", wav
before = full_snapshot()
emit(tweak_on=data.use_tweak_mode,
     tweak_write=attempt(lambda: keyframes.write_motion(speaker, random_motion(20, 4))),
     tweak_operator=operator_generate(), tweak_unchanged=full_snapshot() == before)
data.use_tweak_mode = False

# A rig linked from a library cannot be animated here: refused, naming the library.
library = os.path.join(params["tmp"], "library.blend")
bpy.data.libraries.write(library, {three})
with bpy.data.libraries.load(library, link=True) as (source, target):
    target.objects = ["Three"]
linked = target.objects[0]
scene.collection.objects.link(linked)
before = full_snapshot()
emit(linked=attempt(lambda: keyframes.write_motion(linked, random_motion(20, 5))),
     linked_unchanged=full_snapshot() == before, library=library)
