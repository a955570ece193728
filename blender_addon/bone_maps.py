"""Which bone map a generation uses: shipped presets, the user's saved presets, the custom map.

User presets are saved as JSON (bone_map.save_bone_map) in the extension's user folder
(`bpy.utils.extension_path_user`), or, for a legacy add-on install, in Blender's config folder,
so they survive add-on updates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bpy

from .bone_map import BoneMap, PoseProperty, load_bone_map, load_presets, save_bone_map
from .motion_arrays import AddonInputError
from .skeleton_data import JOINT_NAMES
from .user_folders import user_folder

AUTO = "AUTO"
CUSTOM = "CUSTOM"
USER_FOLDER = "bone_maps"


def user_preset_dir(create: bool = False) -> Path:
    return user_folder(USER_FOLDER, create)


def all_presets() -> tuple[dict[str, BoneMap], list[str]]:
    """Shipped and user presets by key, and one line per user file that could not be read."""
    problems: list[str] = []
    folder = user_preset_dir()
    presets = load_presets()
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                presets[path.stem] = load_bone_map(path)
            except AddonInputError as exc:
                problems.append(str(exc))
    return presets, problems


def custom_bone_map(settings: Any, name: str = "Custom") -> BoneMap:
    """The map edited in the panel (joint -> bone rows; empty bones are skipped)."""
    bones = {row.joint: row.bone for row in settings.custom_bones if row.bone}
    if not bones:
        raise AddonInputError("the custom bone map maps no joints: fill it from a preset first")
    base = all_presets()[0].get(settings.custom_base)
    properties: tuple[PoseProperty, ...] = ()
    extra: dict[str, tuple[str, ...]] = {}
    if base is not None:
        # What the panel cannot edit (Rigify's IK/FK switches, welded bones) comes from the
        # preset the custom map started from, as far as it still applies.
        used = set(bones.values())
        properties = base.pose_properties
        extra = {joint: bones_ for joint, bones_ in base.extra_bones.items() if joint in bones
                 and not used & set(bones_)}
    return BoneMap(name, bones, properties, f"custom map based on {settings.custom_base}", extra)


def fill_custom_rows(settings: Any, preset_key: str) -> None:
    """Reset the panel's custom rows to one per SMPL-X joint, bones from a preset ('' for none)."""
    presets = all_presets()[0]
    base = presets.get(preset_key)
    settings.custom_bones.clear()
    for joint in JOINT_NAMES:
        row = settings.custom_bones.add()
        row.joint = joint
        row.bone = "" if base is None else base.bones.get(joint, "")
    settings.custom_base = preset_key if base is not None else ""


def save_custom_preset(settings: Any, name: str) -> Path:
    """Save the custom map as a user preset named `name`; returns the file."""
    clean = bpy.path.clean_name(name.strip())
    if not name.strip():
        raise AddonInputError("give the preset a name")
    bone_map = custom_bone_map(settings, name.strip())
    return save_bone_map(bone_map, user_preset_dir(create=True) / f"{clean}.json")


def chosen_bone_map(settings: Any) -> BoneMap | None:
    """The map the settings choose; None means detect from the rig's bone names."""
    key = settings.bone_map
    if key == AUTO:
        return None
    if key == CUSTOM:
        return custom_bone_map(settings)
    presets, _problems = all_presets()
    if key not in presets:
        raise AddonInputError(f"bone map preset {key!r} no longer exists")
    return presets[key]
