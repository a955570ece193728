"""Geometry of the preview body that Create Character skins to its armature (numpy, no bpy).

The body is one closed subdivision cage (humanoid_cage.py) with smooth skin weights; Blender's
Subdivision Surface modifier rounds it after the armature has posed it. The face's moving parts
sit on the head as small closed shells in the same mesh: lips, a dark mouth between them that
stretches when the jaw opens, tongue, nose, dark brows and eyelids, which the 52 ARKit shape keys
push around (so face channels show in renders); the chin and lower face skin follow the jaw bone
and jawOpen, the cheeks' skin puffs and squints. A cap of short hair covers the crown. The
eyeballs, with dark pupils, are separate objects on the eye bones.

Built in SMPL-X coordinates (metres, Y up, facing +Z) around the default rest skeleton and
handed out in Blender's Z-up frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .body_cage import orient_outward, weight_matrix
from .humanoid_cage import humanoid_cage
from .skeleton_data import JOINT_INDEX, JOINT_NAMES, default_rest_positions, smplx_to_blender

MATERIALS = ("BL skin", "BL lips", "BL eye white", "BL pupil", "BL mouth", "BL hair")
MATERIAL_COLOURS = {
    "BL skin": (0.80, 0.62, 0.50, 1.0),
    "BL lips": (0.60, 0.25, 0.25, 1.0),
    "BL eye white": (0.95, 0.95, 0.95, 1.0),
    "BL pupil": (0.03, 0.03, 0.05, 1.0),
    "BL mouth": (0.12, 0.02, 0.03, 1.0),
    "BL hair": (0.10, 0.06, 0.04, 1.0),
}
SKIN, LIPS, EYE_WHITE, PUPIL, MOUTH, HAIR = range(6)
EYE_RADIUS = 0.0125
SUBDIVISION_LEVELS = 2
# Skin whose jaw weight is at least this counts as the jaw for the jaw shape keys.
_JAW_SKIN = 0.5
# The cheeks are the head's skin beside the nose and mouth: (lowest, highest) SMPL-X height,
# the least distance from the midline and the least z ahead of the head joint.
_CHEEK_HEIGHTS = (1.57, 1.63)
_CHEEK_OFF_MIDLINE = 0.05
_CHEEK_AHEAD = 0.0

# Face shells around the head joint, SMPL-X axes: (label, joint, centre, size). The mouth is
# weighted half to the head (top) and half to the jaw (bottom), so it opens with the jaw.
_FEATURES = (
    ("mouth", "jaw", (0.0, -0.0355, 0.083), (0.046, 0.014, 0.012)),
    ("lip_upper", "head", (0.0, -0.029, 0.088), (0.056, 0.011, 0.012)),
    ("lip_lower", "jaw", (0.0, -0.042, 0.086), (0.052, 0.012, 0.012)),
    ("tongue", "jaw", (0.0, -0.038, 0.068), (0.026, 0.007, 0.030)),
    ("nose", "head", (0.0, -0.004, 0.101), (0.020, 0.034, 0.026)),
    ("brow_left", "head", (0.032, 0.043, 0.086), (0.034, 0.008, 0.011)),
    ("brow_right", "head", (-0.032, 0.043, 0.086), (0.034, 0.008, 0.011)),
    ("lid_left", "head", (0.031, 0.030, 0.090), (0.030, 0.020, 0.008)),
    ("lid_right", "head", (-0.031, 0.030, 0.090), (0.030, 0.020, 0.008)),
)
_FEATURE_MATERIALS = {"mouth": MOUTH, "lip_upper": LIPS, "lip_lower": LIPS, "tongue": LIPS,
                      "brow_left": HAIR, "brow_right": HAIR}
# Short hair: an ellipsoid over the crown and the back of the head, its front inside the
# forehead (centre from the head joint and radii, SMPL-X axes).
_HAIR = ((0.0, 0.062, -0.03), (0.09, 0.07, 0.1))

# What the jaw shape keys move: the jaw's skin, the lower lip, the tongue, the mouth's bottom.
_JAW_PARTS = ("jaw", "lip_lower", "tongue", "mouth_lower")
# ARKit shape keys as (feature labels, weighting, displacement in metres (x, y, z), x scale).
# Weighting picks the feature's vertices: "all", its "left"/"right" end, or its "inner"/"outer"
# end (towards or away from the face's midline); the x scale spreads (+) or gathers (-) them.
_L, _R = "left", "right"
_ARKIT_SHAPES: dict[str, tuple[tuple[tuple[str, ...], str, tuple[float, float, float], float],
                               ...]] = {
    "jawForward": ((_JAW_PARTS, "all", (0.0, 0.0, 0.010), 0.0),),
    "jawLeft": ((_JAW_PARTS, "all", (0.008, 0.0, 0.0), 0.0),),
    "jawRight": ((_JAW_PARTS, "all", (-0.008, 0.0, 0.0), 0.0),),
    "jawOpen": ((_JAW_PARTS, "all", (0.0, -0.022, -0.004), 0.0),),
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
    "eyeBlink{Side}": ((("lid_{side}",), "all", (0.0, -0.018, 0.008), 0.0),),
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
    faces, skin weights (N, 55) over the SMPL-X bones (rows sum to one), a material index per
    face, the vertex positions (N, 3) of each shape key, and the subdivision levels it wants."""

    vertices: np.ndarray
    faces: list[tuple[int, ...]]
    weights: np.ndarray
    face_materials: np.ndarray
    shape_keys: dict[str, np.ndarray]
    origin: np.ndarray = field(default_factory=lambda: np.zeros(3))
    subdivision: int = 0


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


def _face_shells(head: np.ndarray) -> tuple[list[np.ndarray], list[list[tuple[int, ...]]],
                                             list[np.ndarray], list[str], list[int]]:
    """(vertices, faces, skin weights, vertex labels, material) of each face shell."""
    shells: tuple[list, list, list, list, list] = ([], [], [], [], [])
    for label, joint_name, centre, size in _FEATURES:
        vertices, faces = box(head + np.array(centre), np.array(size))
        weights = np.zeros((len(vertices), len(JOINT_NAMES)))
        weights[:, JOINT_INDEX[joint_name]] = 1.0
        labels = np.full(len(vertices), label, dtype=object)
        if label == "mouth":
            lower = vertices[:, 1] < head[1] + centre[1]
            weights[~lower] = 0.0
            weights[~lower, JOINT_INDEX["head"]] = 1.0
            labels[lower] = "mouth_lower"
        for store, item in zip(shells, (vertices, faces, weights, labels,
                                        _FEATURE_MATERIALS.get(label, SKIN)), strict=True):
            store.append(item)
    vertices, faces = ellipsoid(head + np.array(_HAIR[0]), np.array(_HAIR[1]))
    weights = np.zeros((len(vertices), len(JOINT_NAMES)))
    weights[:, JOINT_INDEX["head"]] = 1.0
    for store, item in zip(shells, (vertices, faces, weights,
                                    np.full(len(vertices), "hair", dtype=object), HAIR),
                           strict=True):
        store.append(item)
    return shells


def _shape_keys(vertices: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
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
    return shape_keys


def _skin_labels(skin: np.ndarray, jaw: np.ndarray) -> np.ndarray:
    """"jaw", "cheek_left", "cheek_right" or "skin" for each cage vertex."""
    labels = np.where(jaw, "jaw", "skin").astype(object)
    head = default_rest_positions()[JOINT_INDEX["head"]]
    cheek = ((skin[:, 1] > _CHEEK_HEIGHTS[0]) & (skin[:, 1] < _CHEEK_HEIGHTS[1])
             & (np.abs(skin[:, 0]) > _CHEEK_OFF_MIDLINE) & (skin[:, 2] > head[2] + _CHEEK_AHEAD)
             & ~jaw)
    labels[cheek & (skin[:, 0] > 0)] = "cheek_left"
    labels[cheek & (skin[:, 0] < 0)] = "cheek_right"
    return labels


def body_geometry() -> PreviewGeometry:
    """The skinned body with its face shells and ARKit-52 shape keys."""
    cage = humanoid_cage()
    skin = np.array(cage.vertices)
    skin_weights = weight_matrix(cage.weights, JOINT_NAMES)
    jaw = skin_weights[:, JOINT_INDEX["jaw"]] >= _JAW_SKIN
    vertices, faces, weights = [skin], list(cage.faces), [skin_weights]
    labels = [_skin_labels(skin, jaw)]
    materials = [SKIN] * len(faces)
    count = len(skin)
    head = default_rest_positions()[JOINT_INDEX["head"]]
    for shell, shell_faces, shell_weights, label, material in zip(*_face_shells(head),
                                                                  strict=True):
        vertices.append(shell)
        faces += [tuple(count + i for i in face) for face in shell_faces]
        weights.append(shell_weights)
        labels.append(label)
        materials += [material] * len(shell_faces)
        count += len(shell)
    all_vertices = np.concatenate(vertices)
    oriented = orient_outward(all_vertices, faces)
    return PreviewGeometry(
        vertices=smplx_to_blender(all_vertices),
        faces=oriented,
        weights=np.concatenate(weights),
        face_materials=np.array(materials),
        shape_keys=_shape_keys(all_vertices, np.concatenate(labels)),
        subdivision=SUBDIVISION_LEVELS,
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
    weights = np.zeros((len(vertices), len(JOINT_NAMES)))
    weights[:, joint] = 1.0
    return PreviewGeometry(
        vertices=smplx_to_blender(vertices),
        faces=faces,
        weights=weights,
        face_materials=materials,
        shape_keys={},
        origin=smplx_to_blender(centre),
    )
