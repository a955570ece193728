"""Geometry of the preview body that Create Character skins to its armature (numpy, no bpy).

A low-poly stand-in, not a human model: an eight-sided prism along each bone, an ellipsoid
skull, a jaw block that moves with the jaw bone, lips, brows, eyelids, cheeks, nose and tongue
as small blocks that the 52 ARKit shape keys push around (so face channels show in renders),
and two eyeballs with dark pupils that are separate objects on the eye bones.

Built in SMPL-X coordinates (metres, Y up, facing +Z) around the default rest skeleton and
handed out in Blender's Z-up frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .skeleton_data import (
    JOINT_INDEX,
    JOINT_NAMES,
    default_rest_positions,
    rest_tail_positions,
    smplx_to_blender,
)

MATERIALS = ("BL skin", "BL lips", "BL eye white", "BL pupil")
MATERIAL_COLOURS = {
    "BL skin": (0.80, 0.62, 0.50, 1.0),
    "BL lips": (0.60, 0.18, 0.20, 1.0),
    "BL eye white": (0.95, 0.95, 0.95, 1.0),
    "BL pupil": (0.03, 0.03, 0.05, 1.0),
}
SKIN, LIPS, EYE_WHITE, PUPIL = range(4)
PRISM_SIDES = 8
EYE_RADIUS = 0.0125

# Radii (metres) at the start and end of each bone's prism; the head, jaw and eyes have their
# own shapes. Side-less names cover both sides.
_RADII = {
    "pelvis": (0.125, 0.12), "spine1": (0.12, 0.12), "spine2": (0.12, 0.125),
    "spine3": (0.125, 0.10), "neck": (0.05, 0.045), "collar": (0.045, 0.045),
    "shoulder": (0.048, 0.04), "elbow": (0.04, 0.03), "wrist": (0.03, 0.027),
    "hip": (0.08, 0.055), "knee": (0.055, 0.04), "ankle": (0.04, 0.028), "foot": (0.025, 0.02),
    "thumb": (0.011, 0.009), "finger": (0.009, 0.008),
}
_NO_PRISM = frozenset({"head", "jaw", "left_eye", "right_eye"})


def _radii(name: str) -> tuple[float, float]:
    bare = name.removeprefix("left_").removeprefix("right_")
    if bare in _RADII:
        return _RADII[bare]
    return _RADII["thumb" if bare.startswith("thumb") else "finger"]


# Face features around the head joint, SMPL-X axes: (label, joint, centre, size).
_FEATURES = (
    ("jaw", "jaw", (0.0, -0.055, 0.035), (0.085, 0.04, 0.07)),
    ("lip_upper", "head", (0.0, -0.030, 0.066), (0.040, 0.008, 0.016)),
    ("lip_lower", "jaw", (0.0, -0.041, 0.064), (0.038, 0.008, 0.016)),
    ("tongue", "jaw", (0.0, -0.038, 0.045), (0.024, 0.006, 0.030)),
    ("nose", "head", (0.0, -0.005, 0.085), (0.016, 0.030, 0.020)),
    ("brow_left", "head", (0.031, 0.032, 0.076), (0.030, 0.006, 0.008)),
    ("brow_right", "head", (-0.031, 0.032, 0.076), (0.030, 0.006, 0.008)),
    ("lid_left", "head", (0.031, 0.024, 0.086), (0.026, 0.008, 0.006)),
    ("lid_right", "head", (-0.031, 0.024, 0.086), (0.026, 0.008, 0.006)),
    ("cheek_left", "head", (0.045, -0.010, 0.058), (0.025, 0.025, 0.012)),
    ("cheek_right", "head", (-0.045, -0.010, 0.058), (0.025, 0.025, 0.012)),
)
# The skull's top is the top of the head: 0.025 + 0.09 = HEAD_TOP_ABOVE_HEAD_JOINT.
_SKULL_CENTRE = (0.0, 0.025, -0.005)
_SKULL_RADII = (0.075, 0.09, 0.085)

# ARKit shape keys as (feature labels, weighting, displacement in metres (x, y, z), x scale).
# Weighting picks the feature's vertices: "all", its "left"/"right" end, or its "inner"/"outer"
# end (towards or away from the face's midline); the x scale spreads (+) or gathers (-) them.
_L, _R = "left", "right"
_ARKIT_SHAPES: dict[str, tuple[tuple[tuple[str, ...], str, tuple[float, float, float], float],
                               ...]] = {
    "jawForward": ((("jaw", "lip_lower", "tongue"), "all", (0.0, 0.0, 0.010), 0.0),),
    "jawLeft": ((("jaw", "lip_lower", "tongue"), "all", (0.008, 0.0, 0.0), 0.0),),
    "jawRight": ((("jaw", "lip_lower", "tongue"), "all", (-0.008, 0.0, 0.0), 0.0),),
    "jawOpen": ((("jaw", "lip_lower", "tongue"), "all", (0.0, -0.022, -0.004), 0.0),),
    "mouthClose": ((("lip_lower",), "all", (0.0, 0.006, 0.0), 0.0),),
    "mouthFunnel": ((("lip_upper",), "all", (0.0, 0.003, 0.006), -0.15),
                    (("lip_lower",), "all", (0.0, -0.003, 0.006), -0.15)),
    "mouthPucker": ((("lip_upper", "lip_lower"), "all", (0.0, 0.0, 0.010), -0.35),),
    "mouthLeft": ((("lip_upper", "lip_lower"), "all", (0.008, 0.0, 0.0), 0.0),),
    "mouthRight": ((("lip_upper", "lip_lower"), "all", (-0.008, 0.0, 0.0), 0.0),),
    "mouthRollLower": ((("lip_lower",), "all", (0.0, 0.003, -0.005), 0.0),),
    "mouthRollUpper": ((("lip_upper",), "all", (0.0, -0.003, -0.005), 0.0),),
    "mouthShrugLower": ((("lip_lower",), "all", (0.0, 0.004, 0.002), 0.0),),
    "mouthShrugUpper": ((("lip_upper",), "all", (0.0, 0.003, 0.002), 0.0),),
    "browInnerUp": ((("brow_left", "brow_right"), "inner", (0.0, 0.007, 0.0), 0.0),),
    "cheekPuff": ((("cheek_left",), "all", (0.006, 0.0, 0.004), 0.0),
                  (("cheek_right",), "all", (-0.006, 0.0, 0.004), 0.0)),
    "tongueOut": ((("tongue",), "all", (0.0, -0.004, 0.030), 0.0),),
}


def _sided(name: str, side: str) -> str:
    return name.replace("{side}", side).replace("{Side}", side.capitalize())


# Shapes that exist once per side; the right one mirrors the left (x negated).
_SIDED_SHAPES: dict[str, tuple[tuple[tuple[str, ...], str, tuple[float, float, float], float],
                               ...]] = {
    "eyeBlink{Side}": ((("lid_{side}",), "all", (0.0, -0.014, 0.008), 0.0),),
    "eyeLookDown{Side}": ((("lid_{side}",), "all", (0.0, -0.004, 0.0), 0.0),),
    "eyeLookIn{Side}": ((("lid_{side}",), "all", (-0.002, 0.0, 0.0), 0.0),),
    "eyeLookOut{Side}": ((("lid_{side}",), "all", (0.002, 0.0, 0.0), 0.0),),
    "eyeLookUp{Side}": ((("lid_{side}",), "all", (0.0, 0.003, 0.0), 0.0),),
    "eyeSquint{Side}": ((("lid_{side}",), "all", (0.0, -0.004, 0.0), 0.0),
                        (("cheek_{side}",), "all", (0.0, 0.004, 0.0), 0.0)),
    "eyeWide{Side}": ((("lid_{side}",), "all", (0.0, 0.004, 0.0), 0.0),),
    "mouthSmile{Side}": ((("lip_upper", "lip_lower"), "{side}", (0.004, 0.006, -0.002), 0.0),
                         (("cheek_{side}",), "all", (0.0, 0.003, 0.0), 0.0)),
    "mouthFrown{Side}": ((("lip_upper", "lip_lower"), "{side}", (0.0, -0.006, 0.0), 0.0),),
    "mouthDimple{Side}": ((("lip_upper", "lip_lower"), "{side}", (0.003, 0.0, -0.004), 0.0),),
    "mouthStretch{Side}": ((("lip_upper", "lip_lower"), "{side}", (0.006, -0.003, 0.0), 0.0),),
    "mouthPress{Side}": ((("lip_upper",), "{side}", (0.0, -0.002, 0.0), 0.0),
                         (("lip_lower",), "{side}", (0.0, 0.002, 0.0), 0.0)),
    "mouthLowerDown{Side}": ((("lip_lower",), "{side}", (0.0, -0.006, 0.0), 0.0),),
    "mouthUpperUp{Side}": ((("lip_upper",), "{side}", (0.0, 0.005, 0.0), 0.0),),
    "browDown{Side}": ((("brow_{side}",), "all", (0.0, -0.006, 0.001), 0.0),),
    "browOuterUp{Side}": ((("brow_{side}",), "outer", (0.0, 0.006, 0.0), 0.0),),
    "cheekSquint{Side}": ((("cheek_{side}",), "all", (0.0, 0.005, 0.0), 0.0),),
    "noseSneer{Side}": ((("nose",), "{side}", (0.0, 0.004, 0.0), 0.0),),
}


def arkit_shape_rules() -> dict[str, tuple[tuple[tuple[str, ...], str, np.ndarray, float], ...]]:
    """Every ARKit-52 shape as displacement rules in SMPL-X axes (right side mirrored)."""
    rules = {name: tuple((labels, w, np.array(d), s) for labels, w, d, s in shape)
             for name, shape in _ARKIT_SHAPES.items()}
    for template, shape in _SIDED_SHAPES.items():
        for side, sign in ((_L, 1.0), (_R, -1.0)):
            rules[_sided(template, side)] = tuple(
                (tuple(_sided(label, side) for label in labels), _sided(weighting, side),
                 np.array(d) * (sign, 1.0, 1.0), s)
                for labels, weighting, d, s in shape)
    return rules


@dataclass
class _MeshBuilder:
    vertices: list[np.ndarray] = field(default_factory=list)
    faces: list[tuple[int, ...]] = field(default_factory=list)
    face_materials: list[int] = field(default_factory=list)
    vertex_joints: list[np.ndarray] = field(default_factory=list)
    vertex_labels: list[np.ndarray] = field(default_factory=list)
    count: int = 0

    def add(self, vertices: np.ndarray, faces: list[tuple[int, ...]], joint: int, label: str,
            material: int = SKIN) -> None:
        self.vertices.append(vertices)
        self.faces.extend(tuple(self.count + i for i in face) for face in faces)
        self.face_materials.extend([material] * len(faces))
        self.vertex_joints.append(np.full(len(vertices), joint))
        self.vertex_labels.append(np.full(len(vertices), label, dtype=object))
        self.count += len(vertices)


def _perpendicular_frame(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


def prism(start: np.ndarray, end: np.ndarray, radii: tuple[float, float],
          sides: int = PRISM_SIDES) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """A closed prism from `start` to `end` with the given end radii."""
    axis = end - start
    axis = axis / np.linalg.norm(axis)
    u, v = _perpendicular_frame(axis)
    angles = 2 * np.pi * np.arange(sides) / sides
    ring = np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v
    vertices = np.concatenate([start + radii[0] * ring, end + radii[1] * ring])
    faces = [(i, (i + 1) % sides, sides + (i + 1) % sides, sides + i) for i in range(sides)]
    faces.append(tuple(reversed(range(sides))))
    faces.append(tuple(range(sides, 2 * sides)))
    return vertices, faces


def box(centre: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    corners = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    return centre + corners * size, faces


def ellipsoid(centre: np.ndarray, radii: np.ndarray, segments: int = 12,
              rings: int = 8) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """A UV ellipsoid with its poles on the Z axis of the given frame (SMPL-X forward)."""
    vertices = [centre + radii * np.array([0.0, 0.0, -1.0])]
    for ring in range(1, rings):
        polar = np.pi * ring / rings
        for segment in range(segments):
            azimuth = 2 * np.pi * segment / segments
            direction = np.array([np.sin(polar) * np.cos(azimuth),
                                  np.sin(polar) * np.sin(azimuth), -np.cos(polar)])
            vertices.append(centre + radii * direction)
    vertices.append(centre + radii * np.array([0.0, 0.0, 1.0]))
    top = len(vertices) - 1

    def at(ring: int, segment: int) -> int:
        return 1 + (ring - 1) * segments + segment % segments

    faces: list[tuple[int, ...]] = [(0, at(1, s + 1), at(1, s)) for s in range(segments)]
    for ring in range(1, rings - 1):
        faces.extend((at(ring, s), at(ring, s + 1), at(ring + 1, s + 1), at(ring + 1, s))
                     for s in range(segments))
    faces.extend((at(rings - 1, s), at(rings - 1, s + 1), top) for s in range(segments))
    return np.array(vertices), faces


@dataclass(frozen=True)
class PreviewGeometry:
    """One mesh in Blender coordinates: vertices (N, 3) relative to the object's `origin`,
    faces, the joint each vertex follows, a material index per face and the vertex positions
    (N, 3) of each shape key."""

    vertices: np.ndarray
    faces: list[tuple[int, ...]]
    vertex_joints: np.ndarray
    face_materials: np.ndarray
    shape_keys: dict[str, np.ndarray]
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))


def _weights(points: np.ndarray, weighting: str) -> np.ndarray:
    """Per-vertex weights in [0, 1] over one feature's vertices (SMPL-X x: left is +)."""
    x = points[:, 0]
    if weighting == "all":
        return np.ones(len(points))
    half = max(float(np.abs(x - x.mean()).max()), 1e-9)
    if weighting in (_L, _R):
        sign = 1.0 if weighting == _L else -1.0
        return np.clip(sign * (x - x.mean()) / half, 0.0, 1.0)
    reach = np.abs(x)
    span = max(float(reach.max() - reach.min()), 1e-9)
    outer = (reach - reach.min()) / span
    return outer if weighting == "outer" else 1.0 - outer


def body_geometry() -> PreviewGeometry:
    """The skinned body with its face features and ARKit-52 shape keys."""
    rest = default_rest_positions()
    tails = rest_tail_positions()
    builder = _MeshBuilder()
    for joint, name in enumerate(JOINT_NAMES):
        if name in _NO_PRISM:
            continue
        vertices, faces = prism(rest[joint], tails[joint], _radii(name))
        builder.add(vertices, faces, joint, "body")
    head = rest[JOINT_INDEX["head"]]
    skull, faces = ellipsoid(head + _SKULL_CENTRE, np.array(_SKULL_RADII))
    builder.add(skull, faces, JOINT_INDEX["head"], "skull")
    for label, joint_name, centre, size in _FEATURES:
        vertices, faces = box(head + np.array(centre), np.array(size))
        material = LIPS if label.startswith(("lip", "tongue")) else SKIN
        builder.add(vertices, faces, JOINT_INDEX[joint_name], label, material)

    vertices = np.concatenate(builder.vertices)
    labels = np.concatenate(builder.vertex_labels)
    shape_keys = {}
    for shape, rules in arkit_shape_rules().items():
        moved = vertices.copy()
        for feature_labels, weighting, displacement, x_scale in rules:
            for label in feature_labels:
                selected = np.flatnonzero(labels == label)
                points = vertices[selected]
                weights = _weights(points, weighting)[:, None]
                offset = displacement + np.outer(points[:, 0] - points[:, 0].mean(),
                                                 [x_scale, 0.0, 0.0])
                moved[selected] += weights * offset
        shape_keys[shape] = smplx_to_blender(moved)
    return PreviewGeometry(
        vertices=smplx_to_blender(vertices),
        faces=builder.faces,
        vertex_joints=np.concatenate(builder.vertex_joints),
        face_materials=np.array(builder.face_materials),
        shape_keys=shape_keys,
    )


def eye_geometry(side: str) -> PreviewGeometry:
    """An eyeball centred on the eye joint (its origin), its front cap dark (the pupil)."""
    joint = JOINT_INDEX[f"{side}_eye"]
    centre = default_rest_positions()[joint]
    vertices, faces = ellipsoid(np.zeros(3), np.full(3, EYE_RADIUS))
    # The last ring of faces closes the +Z (SMPL-X forward) pole: that cap is the pupil.
    segments = 12
    materials = np.full(len(faces), EYE_WHITE)
    materials[-segments:] = PUPIL
    return PreviewGeometry(
        vertices=smplx_to_blender(vertices),
        faces=faces,
        vertex_joints=np.full(len(vertices), joint),
        face_materials=materials,
        shape_keys={},
        origin=smplx_to_blender(centre),
    )
