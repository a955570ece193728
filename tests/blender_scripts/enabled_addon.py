"""Importing this enables the add-on from the repository's blender_addon/ folder, as a
developer runs it from a checkout (installed_addon installs the built extension instead)."""

import addon_utils
import bpy

addon_utils.enable("blender_addon", default_set=True)
scene = bpy.context.scene
