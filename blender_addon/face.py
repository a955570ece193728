"""Face channels: matched onto the shape keys of the armature's child meshes by name, and keyed
as custom properties on the armature (`["bl_face_jawOpen"]`) so drivers can use them.

Jaw and eye rotations are ordinary bones and travel with the face part's bone keys
(keyframes.py). ARKit-52 channels find keys such as "jawOpen", "JawOpen", "ARKit_jawOpen",
"BS.jawOpen", "eyeBlink_L" or "mouth_smile_l"; FLAME channels find Meshcapade's "Exp000" keys.
ARKit weights are keyed within each shape key's slider range (0..1 unless the rig says
otherwise); FLAME coefficients are signed, so their sliders are widened to the data instead. A
child mesh with shape keys that takes none of the channels is named in a warning, which says
why (the two spaces do not convert: FLAME expressions are coefficients of the FLAME head's
learned expression basis, which the add-on does not have).
The name functions need no bpy; the writers take bpy objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .shared.face_spaces import ARKIT52, FLAME100

FACE_PROPERTY_PREFIX = "bl_face_"
FACE_GROUP = "Face channels"

# Words exporters put before a blend shape's name, with "_", "-" or " " after them. A prefix
# ending in "." or ":" (a namespace, "BS.", "blendShape1.", "Head:") is always dropped.
_KNOWN_PREFIXES = ("arkit", "bs", "blendshape", "blendshapes", "shape", "shapes", "sk", "key",
                   "face", "facial", "expr")
_NAMESPACE = re.compile(r"^.*[.:|]")
_PREFIX = re.compile(r"^(?:" + "|".join(_KNOWN_PREFIXES) + r")\d*[_\- ]+", re.IGNORECASE)
_SIDE_WITH_SEPARATOR = re.compile(r"[_\-. ](l|r)$", re.IGNORECASE)
# "eyeBlinkL": a capital L or R glued to a lower-case word.
_SIDE_CAPITAL = re.compile(r"(?<=[a-z0-9])([LR])$")


def normalize_channel_name(name: str) -> str:
    """The comparable form of a face channel or shape key name: namespace and known prefixes
    dropped, a trailing side letter spelled out, separators removed, lower case."""
    text = _NAMESPACE.sub("", name.strip())
    text = _PREFIX.sub("", text)
    side = _SIDE_WITH_SEPARATOR.search(text) or _SIDE_CAPITAL.search(text)
    if side:
        text = text[: side.start()] + ("left" if side.group(1).lower() == "l" else "right")
    return re.sub(r"[^0-9a-z]", "", text.lower())


def match_shape_keys(channel_names: Sequence[str], key_names: Iterable[str]) -> dict[int, str]:
    """{channel index: shape key name} for the channels a mesh has a key for.

    An exact name wins over a normalized match; the basis key is never a target.
    """
    keys = list(key_names)
    exact = set(keys)
    normalized: dict[str, str] = {}
    for key in keys[1:] if keys else ():
        normalized.setdefault(normalize_channel_name(key), key)
    matches = {}
    for index, channel in enumerate(channel_names):
        if channel in exact and (not keys or channel != keys[0]):
            matches[index] = channel
        elif normalize_channel_name(channel) in normalized:
            matches[index] = normalized[normalize_channel_name(channel)]
    return matches


_FLAME_CHANNEL = re.compile(r"Exp\d{3}")
_SPACE_LABELS = (("ARKit-52", ARKIT52), ("FLAME", FLAME100))


def is_flame_channel(channel: str) -> bool:
    """True for a FLAME expression coefficient ("Exp007"): signed, not a 0..1 weight."""
    return _FLAME_CHANNEL.fullmatch(channel) is not None


def key_space(key_names: Sequence[str]) -> str | None:
    """The known face space ("ARKit-52" or "FLAME") most of a mesh's shape keys are in, or None
    when they match neither (the basis, key_names[0], never counts)."""
    counts = [(len(match_shape_keys(names, key_names)), label) for label, names in _SPACE_LABELS]
    count, label = max(counts)
    return label if count else None


def untouched_mesh_warning(mesh_names: Sequence[str], key_names: Sequence[str],
                           channel_names: Sequence[str]) -> str:
    """Why a mesh with shape keys got none of the face channels, in one sentence."""
    meshes = ", ".join(mesh_names)
    space = key_space(key_names)
    written = "FLAME" if channel_names and all(map(is_flame_channel, channel_names)) \
        else "ARKit-52"
    if space is None:
        return (f"the shape keys of {meshes} match no known face space (ARKit-52 or FLAME): "
                "left untouched; rename them or drive them from the armature's bl_face_* "
                "properties")
    return (f"{meshes} has {space} shape keys but the face channels are {written}, and the "
            "two do not convert (FLAME expressions are coefficients of the FLAME head's "
            f"learned basis, which the add-on does not have): {meshes} was left untouched; "
            "the face is on the armature's bl_face_* properties")


def face_property_name(channel: str) -> str:
    return FACE_PROPERTY_PREFIX + channel


def face_property_path(channel: str) -> str:
    return f'["{face_property_name(channel)}"]'


def channel_from_property_path(data_path: str) -> str | None:
    """'["bl_face_jawOpen"]' -> 'jawOpen'; None for any other path."""
    match = re.fullmatch(r'\["' + FACE_PROPERTY_PREFIX + r'(.+)"\]', data_path)
    return match.group(1) if match else None


# ---------------------------------------------------------------------------------- Blender side


def shape_key_meshes(armature: Any) -> list[tuple[Any, list[Any]]]:
    """(Key datablock, meshes using it) for each child mesh of the armature with shape keys.

    Linked duplicates share one Key, which is animated once.
    """
    found: dict[str, tuple[Any, list[Any]]] = {}
    for child in armature.children_recursive:
        if child.type != "MESH" or child.data.shape_keys is None:
            continue
        key = child.data.shape_keys
        found.setdefault(key.name, (key, []))[1].append(child)
    return list(found.values())


def ensure_face_properties(armature: Any, channel_names: Sequence[str]) -> None:
    """Give the armature a float custom property per channel, so its F-curves have a target."""
    for channel in channel_names:
        name = face_property_name(channel)
        if not isinstance(armature.get(name), float):
            armature[name] = 0.0


def _add_channel_curve(builder: Any, path: str, frames: np.ndarray, values: np.ndarray,
                       keys: np.ndarray | None) -> None:
    """One face channel's curve: a linear key per frame, or Bezier keys where `keys` says."""
    builder.add_curve(path, 0, FACE_GROUP, frames, values, keys)


def add_face_property_curves(builder: Any, frames: np.ndarray, face: np.ndarray,
                             channel_names: Sequence[str], keys: np.ndarray | None = None
                             ) -> None:
    """Key each channel as its custom property; `keys` (N, F): the frames keeping a key."""
    for column, channel in enumerate(channel_names):
        _add_channel_curve(builder, face_property_path(channel), frames, face[:, column],
                           None if keys is None else keys[:, column])


@dataclass
class ShapeKeyAction:
    """A filled action for one shape-key set, and the slider ranges its keys need."""

    key: Any
    builder: Any
    # {key block: (slider_min, slider_max)} wide enough for the data, applied by widen_sliders
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    def widen_sliders(self) -> None:
        """Widen the FLAME keys' slider ranges (their coefficients go negative); done only
        when the keys go in, so a failed generation leaves the ranges as they were."""
        for name, (low, high) in self.ranges.items():
            block = self.key.key_blocks[name]
            block.slider_min = min(block.slider_min, low)
            block.slider_max = max(block.slider_max, high)


def build_shape_key_actions(
    armature: Any, frames: np.ndarray, face: np.ndarray, channel_names: Sequence[str],
    action_name: str, keys: np.ndarray | None = None,
) -> list[ShapeKeyAction]:
    """A filled action per shape-key set that matches any channel; nothing else changes.
    `keys` (N, F) marks the frames keeping a key (None: every frame).

    On failure every action built so far is removed before the error propagates.
    """
    from .actions import ActionBuilder

    built: list[ShapeKeyAction] = []
    try:
        for key, _meshes in shape_key_meshes(armature):
            names = [block.name for block in key.key_blocks]
            matches = match_shape_keys(channel_names, names)
            if not matches:
                continue
            builder = ActionBuilder.create(f"{action_name} {key.name}", "KEY", key.name)
            built.append(ShapeKeyAction(key, builder))
            for column, key_name in sorted(matches.items()):
                values = _key_values(built[-1], key.key_blocks[key_name],
                                     channel_names[column], face[:, column])
                # Reduced keys were chosen for the unclamped curve; where this key's slider
                # cuts it, only a key per frame plays the clamped curve faithfully.
                exact = keys is None or not np.array_equal(values, face[:, column])
                _add_channel_curve(builder, f'key_blocks["{key_name}"].value', frames, values,
                                   None if exact else keys[:, column])
    except Exception:
        for item in built:
            item.builder.discard()
        raise
    return built


def _key_values(item: ShapeKeyAction, block: Any, channel: str, values: np.ndarray
                ) -> np.ndarray:
    """A channel's values as its shape key takes them: a FLAME coefficient with the slider
    range it needs noted (Blender limits sliders to [-10, 10]), any other channel (a weight)
    clamped to the key's slider range, which Blender would otherwise let the keys exceed."""
    if is_flame_channel(channel):
        item.ranges[block.name] = (max(-10.0, float(np.floor(values.min()))),
                                   min(10.0, float(np.ceil(values.max()))))
        return values
    return np.clip(values, block.slider_min, block.slider_max)


def untouched_meshes(armature: Any, keyed: Iterable[Any], channel_names: Sequence[str]
                     ) -> list[str]:
    """A warning per shape-key set of the armature's child meshes that took no channel."""
    done = {key.name for key in keyed}
    return [untouched_mesh_warning([mesh.name for mesh in meshes],
                                   [block.name for block in key.key_blocks], channel_names)
            for key, meshes in shape_key_meshes(armature) if key.name not in done]
