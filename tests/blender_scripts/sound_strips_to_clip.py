"""Sound strips (trimmed, offset, muted, at a volume) as the clip the worker mixes (params "a",
"b": two tones), choosing strips by name, and a bound strip that is gone."""

from blender_snippet import emit, params
from installed_addon import scene, scene_audio

editor = scene.sequence_editor_create()
first = editor.strips.new_sound("first", params["a"], 1, 10)
first.frame_offset_start = 6          # trimmed head: plays from 0.2 s into the file
first.volume = 0.5
second = editor.strips.new_sound("second", params["b"], 2, 100)
second.sound_offset = 0.1
muted = editor.strips.new_sound("muted", params["b"], 3, 40)
muted.mute = True
strips = scene_audio.sound_strips(scene)
emit(strips=[[s.name, s.frame_start, s.frame_end, s.file_offset, s.volume, s.mute]
             for s in strips])
clip = scene_audio.clip_from_strips(scene_audio.choose_strips(strips, None), 30.0)
emit(spec=clip.spec, start=clip.frame_start, end=clip.frame_end)
chosen = scene_audio.clip_from_strips(scene_audio.choose_strips(strips, ["second"]), 30.0)
emit(chosen_start=chosen.frame_start, chosen_tracks=len(chosen.spec["tracks"]))
try:
    scene_audio.choose_strips(strips, ["renamed"])
except Exception as exc:
    emit(missing=str(exc))
