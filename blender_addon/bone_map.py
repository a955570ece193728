"""Bone maps: which target bone each SMPL-X joint drives, their JSON files, the shipped presets,
and matching a map to a rig's bone names (no bpy import; bone_maps.py chooses one in Blender).

Presets ship in presets/*.json (SMPL-X names, Mixamo, Rigify FK controls, Rigify DEF- bones, the
Rigify metarig); custom maps are the same JSON, saved and loaded with `save_bone_map` /
`load_bone_map`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .motion_arrays import AddonInputError
from .skeleton_data import JOINT_INDEX, JOINT_NAMES, ROOT_JOINT

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
BONE_MAP_FORMAT = "body_language_bone_map"
BONE_MAP_VERSION = 1
DEFAULT_PRESET = "smplx"


@dataclass(frozen=True)
class PoseProperty:
    """A custom property a rig needs set before it follows the keys (Rigify: IK_FK = 1.0)."""

    bone: str
    name: str
    value: float


@dataclass(frozen=True)
class BoneMap:
    """Which target bone each SMPL-X joint drives; unlisted joints are skipped.

    `extra_bones` lists further bones that turn with a joint's bone as if welded to it, for
    rigs that split one joint over several controls (Rigify's FK hips segment hangs from its
    first spine control, so it must be turned back with the pelvis).
    """

    name: str
    bones: Mapping[str, str]
    pose_properties: tuple[PoseProperty, ...] = ()
    description: str = ""
    extra_bones: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted((set(self.bones) | set(self.extra_bones)) - set(JOINT_NAMES))
        if unknown:
            raise AddonInputError(
                f"bone map {self.name!r} names unknown SMPL-X joints: {', '.join(unknown)}")
        targets = [bone for bone in self.bones.values() if bone]
        targets += [bone for extra in self.extra_bones.values() for bone in extra]
        repeated = sorted({bone for bone in targets if targets.count(bone) > 1})
        if repeated:
            raise AddonInputError(
                f"bone map {self.name!r} drives a bone from two joints: {', '.join(repeated)}")
        # A canonical order (SMPL-X joint order) keeps saved presets and comparisons stable.
        ordered = {name: self.bones[name] for name in JOINT_NAMES if self.bones.get(name)}
        extra = {name: tuple(self.extra_bones[name]) for name in JOINT_NAMES
                 if self.extra_bones.get(name)}
        object.__setattr__(self, "bones", ordered)
        object.__setattr__(self, "extra_bones", extra)

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "format": BONE_MAP_FORMAT,
            "version": BONE_MAP_VERSION,
            "name": self.name,
            "description": self.description,
            "bones": dict(self.bones),
        }
        if self.extra_bones:
            payload["extra_bones"] = {name: list(bones) for name, bones in self.extra_bones.items()}
        if self.pose_properties:
            payload["pose_properties"] = [
                {"bone": p.bone, "property": p.name, "value": p.value}
                for p in self.pose_properties
            ]
        return payload

    @classmethod
    def from_json(cls, payload: object, source: str = "bone map") -> BoneMap:
        if not isinstance(payload, dict) or payload.get("format") != BONE_MAP_FORMAT:
            raise AddonInputError(f"{source}: not a Body Language bone map "
                                  f"(expected \"format\": \"{BONE_MAP_FORMAT}\")")
        if payload.get("version") != BONE_MAP_VERSION:
            raise AddonInputError(f"{source}: bone map version {payload.get('version')!r} is "
                                  f"not supported (this add-on reads version {BONE_MAP_VERSION})")
        bones = payload.get("bones")
        if not isinstance(bones, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in bones.items()
        ):
            raise AddonInputError(f"{source}: \"bones\" must map SMPL-X joint names to bone names")
        extra = payload.get("extra_bones", {})
        if not isinstance(extra, dict) or not all(
            isinstance(bones, list) and all(isinstance(b, str) for b in bones)
            for bones in extra.values()
        ):
            raise AddonInputError(f"{source}: \"extra_bones\" must map SMPL-X joint names to "
                                  "lists of bone names")
        properties = []
        for entry in payload.get("pose_properties", []):
            try:
                properties.append(PoseProperty(str(entry["bone"]), str(entry["property"]),
                                               float(entry["value"])))
            except (KeyError, TypeError, ValueError):
                raise AddonInputError(f"{source}: each pose property needs a bone, a property "
                                      f"and a number value, got {entry!r}") from None
        try:
            return cls(str(payload.get("name", source)), bones, tuple(properties),
                       str(payload.get("description", "")),
                       {name: tuple(bones) for name, bones in extra.items()})
        except AddonInputError as error:
            raise AddonInputError(f"{source}: {error}") from None


# Parsed preset files by path, with the file signature they were read at: every write and
# every panel redraw lists the presets, and a file only needs parsing again when it changed.
_LOADED: dict[Path, tuple[tuple[int, ...], BoneMap]] = {}


def _file_signature(path: Path) -> tuple[int, ...] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    # A save replaces the file (a new inode), so even a rewrite within one mtime tick shows.
    return stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino


def load_bone_map(path: str | Path) -> BoneMap:
    """Read a bone map preset; a bad file raises AddonInputError naming it.

    An unchanged file is parsed once; callers share the BoneMap, which they treat as a value.
    """
    path = Path(path)
    signature = _file_signature(path)
    cached = _LOADED.get(path)
    if signature is not None and cached is not None and cached[0] == signature:
        return cached[1]
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AddonInputError(f"bone map file does not exist: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AddonInputError(f"bone map {path} is not readable JSON ({error})") from None
    bone_map = BoneMap.from_json(payload, str(path))
    if signature is not None and signature == _file_signature(path):
        _LOADED[path] = (signature, bone_map)
    return bone_map


def save_bone_map(bone_map: BoneMap, path: str | Path) -> Path:
    """Write a bone map as a JSON preset (atomically: a crash never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(bone_map.to_json(), indent=1) + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def load_presets(folders: Iterable[str | Path] = ()) -> dict[str, BoneMap]:
    """Shipped presets plus every *.json in `folders` (user presets win on equal file stems)."""
    presets: dict[str, BoneMap] = {}
    for folder in (PRESETS_DIR, *folders):
        for path in sorted(Path(folder).glob("*.json")):
            presets[path.stem] = load_bone_map(path)
    return presets


def _namespace_free(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def resolve_bones(bone_map: BoneMap, bone_names: Iterable[str]) -> dict[int, str]:
    """{SMPL-X joint index: bone name} for the map's bones this rig has.

    Exact names first; otherwise a bone whose name differs only by its namespace
    ("mixamorig5:Hips" for "mixamorig:Hips"), as FBX exports of one rig often do.
    """
    names = list(bone_names)
    exact = set(names)
    by_bare: dict[str, str] = {}
    for name in names:
        by_bare.setdefault(_namespace_free(name), name)
    resolved = {}
    for joint_name, bone in bone_map.bones.items():
        if bone in exact:
            resolved[JOINT_INDEX[joint_name]] = bone
        elif ":" in bone and _namespace_free(bone) in by_bare:
            resolved[JOINT_INDEX[joint_name]] = by_bare[_namespace_free(bone)]
    return resolved


def detect_bone_map(bone_names: Iterable[str], presets: Mapping[str, BoneMap]) -> str | None:
    """The key of the preset that finds the most bones (its pelvis included), or None."""
    names = list(bone_names)
    best, best_count = None, 0
    for key, bone_map in presets.items():
        resolved = resolve_bones(bone_map, names)
        if ROOT_JOINT in resolved and len(resolved) > best_count:
            best, best_count = key, len(resolved)
    return best
