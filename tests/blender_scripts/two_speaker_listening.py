"""Two characters and an extra: what All Sound Strips warns, what Bind Speakers binds, where
Generate finds Anna listening once bound (Ben's lines between hers), and Anna's head turned
toward Ben there (params "anna", "ben": audio files, "worker_python")."""

import bpy
import numpy as np
from blender_snippet import emit, params
from enabled_addon import scene

from blender_addon import face_speakers, keyframes, rig, runtime, scene_inputs
from blender_addon.motion_arrays import MotionArrays

scene.render.fps = 30
editor = scene.sequence_editor_create()
strips = editor.strips if hasattr(editor, "strips") else editor.sequences
for name, path, channel, start in (("Anna line 1", params["anna"], 1, 1),
                                   ("Anna line 2", params["anna"], 1, 200),
                                   ("ben 01", params["ben"], 2, 60),
                                   ("take 3", params["ben"], 2, 130)):
    strips.new_sound(name, path, channel, start)
anna = rig.create_character("Anna", with_body=False)
ben = rig.create_character("Ben", with_body=False)
rig.create_character("Extra", with_body=False)
ben.location = (1.5, -1.5, 0.0)

client = runtime.WorkerClient(params["worker_python"], ".")
mixed = scene_inputs.build_generate_request(scene, anna, client)
emit(mixed_warnings=list(mixed.warnings), mixed_listening=len(mixed.listening))
emit(bind_result=sorted(bpy.ops.body_language.bind_speakers()),
     bound={obj.name: [ref.name for ref in obj.body_language.strips] for obj in (anna, ben)},
     sources=[obj.body_language.audio_source for obj in (anna, ben)])
request = scene_inputs.build_generate_request(scene, anna, client)
emit(warnings=list(request.warnings),
     listening=[[span.first, span.end, span.speaker] for span in request.listening],
     prompts=request.fields.get("prompts"),
     tracks=sorted(track["start"] for track in request.fields["audio"]["tracks"]),
     clip=[request.clip.frame_start, request.clip.frame_end])
anna.body_language.listen = False
quiet = scene_inputs.build_generate_request(scene, anna, client)
emit(quiet_listening=len(quiet.listening))
client.shutdown()

frames = request.clip.frame_end - request.clip.frame_start
still = MotionArrays(np.zeros((frames, 55, 3)), np.zeros((frames, 3)))
turned = face_speakers.face_the_speakers(still, anna, scene, request.listening,
                                         request.clip.frame_start, 30.0)
keyframes.write_motion(anna, turned, start_frame=request.clip.frame_start)
target = face_speakers.speaker_head(ben)


def gaze_error(frame):
    """Degrees between where Anna's eyes look (horizontally) and where Ben's head is."""
    scene.frame_set(frame)
    bones = anna.pose.bones
    head = np.array(anna.matrix_world @ bones["head"].head)
    eyes = np.mean([np.array(anna.matrix_world @ bones[name].head)
                    for name in ("left_eye", "right_eye")], axis=0)
    look, want = (eyes - head)[:2], (target - head)[:2]
    cosine = look @ want / np.linalg.norm(look) / np.linalg.norm(want)
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


emit(error_speaking=gaze_error(30), error_listening=gaze_error(75),
     error_listening_2=gaze_error(145), error_at_rest=gaze_error(230))
