"""Set Up Runtime refuses while online access is off, and with it on makes the venv (params
"tmp": where) and points the preferences at it."""

import os

import bpy
from blender_snippet import emit, params
from installed_addon import prefs

bpy.context.preferences.system.use_online_access = False
result, message = None, ""
try:
    result = bpy.ops.body_language.setup_runtime()
except RuntimeError as exc:
    result, message = {"CANCELLED"}, str(exc)
emit(online=bpy.app.online_access, result=sorted(result), message=message,
     worker_python=prefs.worker_python)

# With online access on, the button makes the venv and points the preferences at it (here
# with nothing to install, so no download happens).
bpy.context.preferences.system.use_online_access = True
requirements = os.path.join(params["tmp"], "nothing.txt")
with open(requirements, "w") as file:
    file.write("# nothing")
result = bpy.ops.body_language.setup_runtime(requirements=requirements,
                                             target=os.path.join(params["tmp"], "venv"))
emit(after=sorted(result), made=prefs.worker_python)
