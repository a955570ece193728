"""Where the add-on keeps what the user makes (saved bone maps, the runtime venv), so it survives
add-on updates: the extension's user folder, or Blender's config folder for a legacy add-on."""

from __future__ import annotations

from pathlib import Path

import bpy


def user_folder(name: str, create: bool = False) -> Path:
    """The add-on's user folder `name`, made first when `create`."""
    package = __package__ or "body_language"
    if package.startswith("bl_ext."):
        return Path(bpy.utils.extension_path_user(package, path=name, create=create))
    return Path(bpy.utils.user_resource("CONFIG", path=f"body_language/{name}", create=create))
