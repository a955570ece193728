"""Installs the built extension zip (argv 1) into Blender's user_default repository and
prints a REPORT line of what it finds of the add-on (module argv 2): its preferences, its
runtime status, the core it ships, and what disabling it leaves."""

import importlib
import json
import sys
from pathlib import Path

import bpy

# Only importable once bpy has put Blender's own script modules on the path.
addon_utils = importlib.import_module("addon_utils")

zip_path, module_name = sys.argv[1], sys.argv[2]
result = bpy.ops.extensions.package_install_files(
    filepath=zip_path, repo="user_default", enable_on_install=True)
report = {"result": sorted(result)}
report["enabled"] = addon_utils.check(module_name)[1]
report["in_preferences"] = module_name in bpy.context.preferences.addons
prefs = bpy.context.preferences.addons[module_name].preferences
report["prefs_type"] = type(prefs).__name__
report["worker_python"] = prefs.worker_python
report["checkpoint"] = prefs.checkpoint
report["device"] = prefs.device
report["device_items"] = [item.identifier for item in prefs.bl_rna.properties["device"].enum_items]
addon = sys.modules[module_name]
addon_dir = Path(addon.__file__).parent
report["addon_dir"] = str(addon_dir)
status = type(prefs).runtime_status(prefs)
report["status_python"] = str(status.python)
report["status_source"] = status.python_source
report["status_core_root"] = str(status.core_root)
report["torch_imported"] = "torch" in sys.modules

# The worker imports the model core from the installed extension's folder.
sys.path.insert(0, str(addon_dir))
report["core_file"] = importlib.import_module("core.motion").__file__

preferences_class = type(prefs)
addon_utils.disable(module_name, default_set=True)
report["enabled_after_disable"] = addon_utils.check(module_name)[1]
report["in_preferences_after_disable"] = module_name in bpy.context.preferences.addons
report["class_registered_after_disable"] = preferences_class.is_registered
print("REPORT " + json.dumps(report))
