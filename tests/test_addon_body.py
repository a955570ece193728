"""The preview body Create Character builds: one closed smooth skin around the SMPL-X rest
skeleton with normalised blended weights, face shells the ARKit keys move by visible amounts,
and, in real headless Blender (5.0.1 and 4.2 LTS), a body that bends at elbows and knees
without losing volume, follows the bones rigidly where it should, and is quick to build."""

from __future__ import annotations

import numpy as np
import pytest
from blender_harness import BPY_VERSIONS, bpy_python, run_in_blender

from blender_addon.body_cage import enclosed_volume
from blender_addon.preview_body import body_geometry
from blender_addon.skeleton_data import rest_tail_positions
from core import skeleton

BLENDER_FROM_SMPLX = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
FACE_SHELLS = 10  # mouth, two lips, tongue, nose, two brows, two lids, hair


@pytest.fixture(scope="module")
def geometry():
    return body_geometry()


def shells(faces: list[tuple[int, ...]], count: int) -> list[np.ndarray]:
    """Vertex sets of the mesh's connected pieces, largest first."""
    parent = np.arange(count)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for face in faces:
        for a, b in zip(face, face[1:], strict=False):
            parent[root(a)] = root(b)
    roots = np.array([root(i) for i in range(count)])
    pieces = [np.flatnonzero(roots == r) for r in np.unique(roots)]
    return sorted(pieces, key=len, reverse=True)


def winding_numbers(points: np.ndarray, vertices: np.ndarray,
                    faces: list[tuple[int, ...]]) -> np.ndarray:
    """How many times the closed surface wraps round each point (1 inside, 0 outside)."""
    triangles = np.array([(face[0], b, c) for face in faces
                          for b, c in zip(face[1:-1], face[2:], strict=True)])
    total = np.zeros(len(points))
    for index, point in enumerate(points):
        a, b, c = (vertices[triangles[:, k]] - point for k in range(3))
        la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
        numerator = np.einsum("ij,ij->i", a, np.cross(b, c))
        denominator = (la * lb * lc + np.einsum("ij,ij->i", a, b) * lc
                       + np.einsum("ij,ij->i", b, c) * la + np.einsum("ij,ij->i", c, a) * lb)
        total[index] = 2 * np.arctan2(numerator, denominator).sum() / (4 * np.pi)
    return total


def test_skin_is_one_closed_surface_wound_outward_and_the_face_shells_are_closed(geometry):
    pieces = shells(geometry.faces, len(geometry.vertices))
    assert len(pieces) == 1 + FACE_SHELLS
    skin = set(pieces[0].tolist())
    # The skin reaches from the feet to the crown and out to both hands.
    reach = geometry.vertices[pieces[0]]
    assert reach[:, 2].min() < 0.02 and reach[:, 2].max() > 1.7
    assert reach[:, 0].min() < -0.85 and reach[:, 0].max() > 0.85
    # Closed and consistently wound: each edge is run once each way.
    directed = [(a, b) for face in geometry.faces
                for a, b in zip(face, face[1:] + face[:1], strict=True)]
    assert len(set(directed)) == len(directed)
    assert set(directed) == {(b, a) for a, b in directed}
    for piece in pieces:
        members = set(piece.tolist())
        piece_faces = [face for face in geometry.faces if face[0] in members]
        assert enclosed_volume(geometry.vertices, piece_faces) > 0  # normals point out
    skin_faces = [face for face in geometry.faces if face[0] in skin]
    # An adult's volume is about 0.065 m^3; the cage holds a little more than its surface.
    assert 0.05 < enclosed_volume(geometry.vertices, skin_faces) < 0.09


def test_every_joint_of_the_rest_skeleton_is_inside_the_skin_once(geometry):
    skin = shells(geometry.faces, len(geometry.vertices))[0]
    members = set(skin.tolist())
    skin_faces = [face for face in geometry.faces if face[0] in members]
    rest = skeleton.default_rest_positions() @ BLENDER_FROM_SMPLX.T
    joints = [j for j, name in enumerate(skeleton.JOINT_NAMES) if not name.endswith("_eye")]
    wraps = winding_numbers(rest[joints], geometry.vertices, skin_faces)
    outside = [skeleton.JOINT_NAMES[j] for j, w in zip(joints, wraps, strict=True)
               if abs(w - 1.0) > 0.05]
    assert not outside, f"joints outside the skin (or inside twice): {outside}"


def test_weights_are_normalised_and_blend_across_elbows_knees_and_knuckles(geometry):
    weights = geometry.weights
    assert weights.min() >= 0.0
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    rest = skeleton.default_rest_positions() @ BLENDER_FROM_SMPLX.T
    index = skeleton.JOINT_INDEX
    for parent, child in (("left_shoulder", "left_elbow"), ("right_hip", "right_knee"),
                          ("left_index1", "left_index2"), ("left_elbow", "left_wrist")):
        near = np.linalg.norm(geometry.vertices - rest[index[child]], axis=1) < 0.07
        shared = near & (weights[:, index[parent]] > 0.2) & (weights[:, index[child]] > 0.2)
        assert shared.any(), f"no skin shared between {parent} and {child}"
    # Nothing far from a bone follows it: hand skin takes no weight from the legs, and so on.
    hand = geometry.vertices[:, 0] > 0.72
    legs = [index[f"{side}_{name}"] for side in ("left", "right")
            for name in ("hip", "knee", "ankle", "foot")]
    assert weights[np.ix_(hand, legs)].max() == 0.0


def _moved(geometry, shape: str, label_mask: np.ndarray) -> np.ndarray:
    return (geometry.shape_keys[shape] - geometry.vertices)[label_mask]


def test_face_keys_open_the_mouth_close_the_lids_and_raise_the_brows(geometry):
    rest = skeleton.default_rest_positions() @ BLENDER_FROM_SMPLX.T
    eye = rest[skeleton.JOINT_INDEX["left_eye"]]
    mouth = rest[skeleton.JOINT_INDEX["jaw"]]
    vertices = geometry.vertices
    lower_lip = (np.linalg.norm(vertices - (mouth + [0.0, -0.06, -0.02]), axis=1) < 0.02)
    # jawOpen drops the lower lip and chin by a visible 2 cm.
    assert _moved(geometry, "jawOpen", lower_lip)[:, 2].min() < -0.015
    # A blink brings the left lid down past the eye's centre, leaving the right lid alone.
    lid = ((np.abs(vertices[:, 0] - eye[0]) < 0.02) & (vertices[:, 2] > eye[2] + 0.006)
           & (vertices[:, 2] < eye[2] + 0.03) & (vertices[:, 1] < eye[1]))
    blinked = geometry.shape_keys["eyeBlinkLeft"][lid]
    assert blinked[:, 2].min() < eye[2] - 0.005
    right_lid = ((np.abs(vertices[:, 0] + eye[0]) < 0.02) & (vertices[:, 2] > eye[2] + 0.006))
    assert np.abs(_moved(geometry, "eyeBlinkLeft", right_lid)).max() == 0.0
    # Brows go up by more than half a centimetre.
    brows = (np.abs(vertices[:, 0]) < 0.05) & (vertices[:, 2] > eye[2] + 0.02) \
        & (vertices[:, 2] < eye[2] + 0.04) & (vertices[:, 1] < eye[1])
    assert _moved(geometry, "browInnerUp", brows)[:, 2].max() > 0.005
    assert _moved(geometry, "browOuterUpLeft", brows)[:, 2].max() > 0.005


# ------------------------------------------------------------------------------- in Blender


@pytest.fixture(scope="module", params=BPY_VERSIONS)
def bent(request, tmp_path_factory):
    run = run_in_blender("body_bends", tmp_path_factory.mktemp(f"body{request.param}"),
                         python=bpy_python(request.param))
    return run


def region_volume(vertices: np.ndarray, triangles: np.ndarray, axis: int, cut: float,
                  side: float, keep: np.ndarray) -> float:
    """Volume of the closed mesh's part beyond the plane `axis` = `cut` (towards `side`), over
    the triangles `keep` picks: the flux of (coordinate - cut) through them (the cut plane adds
    nothing, the field being zero there)."""
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    normals = np.cross(b - a, c - a) / 2  # area-weighted
    centres = (a + b + c) / 3
    beyond = keep & (side * (centres[:, axis] - cut) > 0)
    return float(np.sum(normals[beyond, axis] * (centres[beyond, axis] - cut)))


def test_body_is_built_quickly_smooth_and_at_rest(bent):
    values = bent.values
    # Measured 0.1-0.3 s (armature and body); the bound leaves room for a loaded machine.
    assert values["build_seconds"] < 2.0
    assert values["key_values"] == [0.0]
    assert values["modifiers"] == ["ARMATURE", "SUBSURF"]
    assert values["preserve_volume"] and values["smooth"]
    assert values["weight_sums"] == pytest.approx([1.0, 1.0], abs=1e-5)
    # The rest pose leaves the body where it was built.
    np.testing.assert_allclose(bent.arrays["rest"], bent.arrays["unskinned"], atol=1e-5)
    # The subdivided body stands on the floor and is as tall as the skeleton's skull top.
    head_top = (skeleton.default_rest_positions()[skeleton.JOINT_INDEX["head"], 1]
                + skeleton.HEAD_TOP_ABOVE_HEAD_JOINT)
    assert 0.0 < bent.arrays["rest"][:, 2].min() < 0.01
    assert bent.arrays["rest"][:, 2].max() == pytest.approx(head_top, abs=0.015)


def test_elbow_and_knee_bend_at_right_angles_keep_the_limbs_volume(bent):
    rest, bent_vertices = bent.arrays["rest"], bent.arrays["bent"]
    triangles = bent.arrays["triangles"]
    centres = rest[triangles].mean(axis=1)
    # The left arm beyond mid upper arm (x > 0.3 m); the left leg below mid thigh (z < 0.6 m).
    for axis, cut, side, keep in ((0, 0.3, 1.0, np.ones(len(triangles), bool)),
                                  (2, 0.6, -1.0, centres[:, 0] > 0.0)):
        before = region_volume(rest, triangles, axis, cut, side, keep)
        after = region_volume(bent_vertices, triangles, axis, cut, side, keep)
        assert before > 0.001
        # Measured (Blender 5.0): both lose 2.6 %; with linear blending instead of dual
        # quaternions 7 %, and with one blend ring on the elbow instead of three, 8 %.
        assert after == pytest.approx(before, rel=0.05), (axis, before, after)


def turned(points: np.ndarray, rest_matrix: np.ndarray, axis: str, degrees: float
           ) -> np.ndarray:
    """`points` carried by a bone (rest matrix, armature space) turned about its local axis."""
    angle = np.radians(degrees)
    c, s = np.cos(angle), np.sin(angle)
    local = {"x": [[1, 0, 0], [0, c, -s], [0, s, c]], "z": [[c, -s, 0], [s, c, 0], [0, 0, 1]]}
    basis, head = rest_matrix[:3, :3], rest_matrix[:3, 3]
    rotation = basis @ np.array(local[axis]) @ basis.T
    return (points - head) @ rotation.T + head


def test_hand_and_fingertip_skin_follow_their_bones_rigidly(bent):
    rest, bent_vertices = bent.arrays["rest"], bent.arrays["bent"]
    elbow, finger = bent.arrays["elbow_rest"], bent.arrays["finger_rest"]
    tip = rest_tail_positions()[skeleton.JOINT_INDEX["left_index3"]] @ BLENDER_FROM_SMPLX.T
    hand = (rest[:, 0] > 0.72) & (rest[:, 0] < 0.75)
    index_tip = np.linalg.norm(rest - tip, axis=1) < 0.015
    expected_hand = turned(rest[hand], elbow, "z", 90.0)
    expected_tip = turned(turned(rest[index_tip], finger, "x", 60.0), elbow, "z", 90.0)
    for picked, expected in ((hand, expected_hand), (index_tip, expected_tip)):
        assert picked.sum() > 5
        assert np.abs(bent_vertices[picked] - expected).max() < 0.004
        assert np.abs(bent_vertices[picked] - rest[picked]).max() > 0.05


def test_jaw_open_and_a_blink_move_the_rendered_face_visibly(bent):
    rest, faced = bent.arrays["bent"], bent.arrays["faced"]
    moved = np.linalg.norm(faced - rest, axis=1)
    assert moved.max() > 0.015
    assert moved[rest[:, 2] < 1.4].max() < 1e-6  # only the face moves


def test_a_quarter_twist_of_the_hand_does_not_pinch_the_wrist(bent):
    rest, twisted, wrist = bent.arrays["rest"], bent.arrays["twisted"], bent.arrays["wrist"]
    ring = (np.abs(rest[:, 0] - wrist[0]) < 0.01) & (np.linalg.norm(rest - wrist, axis=1) < 0.06)
    assert ring.sum() > 10

    def radius(points: np.ndarray) -> float:
        return float(np.linalg.norm((points - wrist)[:, 1:], axis=1).mean())
    # Measured 89 % of its rest radius (subdivision averages the half-turned wrist ring with
    # the fully turned palm); linear blending instead of dual quaternions: 70 %.
    assert radius(twisted[ring]) > 0.85 * radius(rest[ring])
    assert np.abs(twisted[ring] - rest[ring]).max() > 0.01  # it did turn
