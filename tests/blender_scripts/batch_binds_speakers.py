"""Batch on unbound characters: a scene of two speakers gets each bound to its own strips (and
says how), a lone character over two speakers is warned about (params "wav")."""

import bpy
from blender_snippet import emit, params
from enabled_addon import scene

from blender_addon import batch, rig

editor = scene.sequence_editor_create()
for name, channel, start in (("anna 1", 1, 1), ("line 2", 1, 80), ("ben", 2, 40)):
    editor.strips.new_sound(name, params["wav"], channel, start)
lone = rig.create_character("Anna", with_body=False)
printed = []
emit(lone=[obj.name for obj in batch.speakers(scene, printed.append)], lone_printed=printed[:])
rig.create_character("Ben", with_body=False)
printed.clear()
found = batch.speakers(scene, printed.append)
emit(found=[obj.name for obj in found], printed=printed[:],
     bound={obj.name: [ref.name for ref in obj.body_language.strips] for obj in found})
printed.clear()
emit(again=[obj.name for obj in batch.speakers(scene, printed.append)], again_printed=printed[:])
bpy.ops.wm.read_homefile(use_empty=True)
