"""The preview body's subdivision cage: an adult around the SMPL-X rest skeleton (numpy, no bpy).

SMPL-X axes (metres, Y up, facing +Z, the character's left at +X). The torso is a tube of
eight-sided rings from the crotch to the crown, the head its top end; legs grow out of its
bottom, arms out of its sides under the shoulders, each hand is a palm whose knuckle end splits
into four fingers and whose thumb side grows the thumb, each foot grows forward out of the
ankle's front. Ring sizes are the radii of the ellipses the cage points lie on; the subdivided
surface lies inside them (at about two thirds for the four-point limb rings).
Each ring carries its skin weights: a ring on a joint shares between the bones either side.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .body_cage import Cage, Ring, RingWeights, Weights, frame
from .skeleton_data import JOINT_INDEX, default_rest_positions, rest_tail_positions

TORSO_SIDES = 8
X, Y, Z = np.eye(3)
FINGERS = ("index", "middle", "ring", "pinky")

# Torso and head rings from the crotch up: (height, left/right half-width, front z, back z,
# weights). Weights with "{side}" go to that side's bone for points off the midline.
_TORSO: tuple[tuple[float, float, float, float, dict[str, float]], ...] = (
    (0.80, 0.135, 0.085, -0.10, {"pelvis": 0.5, "{side}_hip": 0.5}),
    (0.90, 0.17, 0.10, -0.125, {"pelvis": 1.0}),
    (1.04, 0.14, 0.09, -0.085, {"pelvis": 0.5, "spine1": 0.5}),
    (1.14, 0.145, 0.10, -0.085, {"spine1": 0.5, "spine2": 0.5}),
    (1.25, 0.16, 0.115, -0.09, {"spine2": 0.4, "spine3": 0.6}),
    (1.33, 0.175, 0.12, -0.10, {"spine3": 1.0}),
    (1.435, 0.185, 0.07, -0.095, {"spine3": 0.5, "{side}_collar": 0.5}),
    (1.49, 0.062, 0.045, -0.075, {"spine3": 0.4, "neck": 0.6}),
    (1.535, 0.054, 0.05, -0.06, {"neck": 0.7, "head": 0.3}),
)
# The head's rings; points in front of the face below the nose follow the jaw by `jaw`.
_HEAD: tuple[tuple[float, float, float, float, float], ...] = (
    (1.555, 0.06, 0.112, -0.065, 0.9),
    (1.585, 0.072, 0.128, -0.078, 0.5),
    (1.62, 0.079, 0.128, -0.085, 0.0),
    (1.655, 0.08, 0.128, -0.087, 0.0),
    (1.695, 0.076, 0.104, -0.082, 0.0),
    (1.725, 0.056, 0.064, -0.06, 0.0),
)
ARM_ATTACH = (5, 6)  # the arms grow out of the side faces between these torso rings
# Arm rings: (distance out from the body's midline, vertical half-size, depth half-size, weights
# as (upper arm, forearm, hand) shares or "collar" for the first).
_ARM = (
    (0.205, 0.068, 0.064, {"{side}_collar": 0.4, "{side}_shoulder": 0.6}),
    (0.27, 0.062, 0.057, {"{side}_shoulder": 1.0}),
    (0.35, 0.052, 0.05, {"{side}_shoulder": 1.0}),
    (0.40, 0.047, 0.047, {"{side}_shoulder": 0.8, "{side}_elbow": 0.2}),
    (0.43, 0.045, 0.046, {"{side}_shoulder": 0.5, "{side}_elbow": 0.5}),
    (0.46, 0.046, 0.048, {"{side}_shoulder": 0.2, "{side}_elbow": 0.8}),
    (0.51, 0.047, 0.05, {"{side}_elbow": 1.0}),
    (0.60, 0.036, 0.042, {"{side}_elbow": 0.75, "{side}_wrist": 0.25}),
    (0.675, 0.025, 0.036, {"{side}_elbow": 0.5, "{side}_wrist": 0.5}),
)
# Leg rings: (height, front/back half-size, side half-size, weights).
_LEG = (
    (0.74, 0.098, 0.095, {"pelvis": 0.2, "{side}_hip": 0.8}),
    (0.60, 0.085, 0.08, {"{side}_hip": 1.0}),
    (0.51, 0.066, 0.065, {"{side}_hip": 0.8, "{side}_knee": 0.2}),
    (0.475, 0.061, 0.06, {"{side}_hip": 0.5, "{side}_knee": 0.5}),
    (0.44, 0.062, 0.06, {"{side}_hip": 0.2, "{side}_knee": 0.8}),
    (0.39, 0.064, 0.06, {"{side}_knee": 1.0}),
    (0.30, 0.069, 0.062, {"{side}_knee": 1.0}),
    (0.17, 0.045, 0.044, {"{side}_knee": 1.0}),
    (0.09, 0.038, 0.036, {"{side}_knee": 0.4, "{side}_ankle": 0.6}),
)


def _on_side(weights: dict[str, float], side: str) -> dict[str, float]:
    return {name.replace("{side}", side): weight for name, weight in weights.items()}


def _sided_weights(weights: dict[str, float]) -> RingWeights:
    """Weights for a torso ring: "{side}" bones take points off the midline on their side."""
    if not any("{side}" in name for name in weights):
        return weights

    def per_point(points: np.ndarray) -> list[Weights]:
        return [_on_side(weights, "left" if x > 0 else "right") for x in points[:, 0]]
    return per_point


def _head_weights(jaw_share: float, head_z: float) -> RingWeights:
    """Points of a head ring ahead of the neck follow the jaw by `jaw_share`."""
    def per_point(points: np.ndarray) -> list[Weights]:
        front = np.clip((points[:, 2] - head_z) / 0.05, 0.0, 1.0) * jaw_share
        return [{"head": 1.0 - share, "jaw": share} if share > 0 else {"head": 1.0}
                for share in front]
    return per_point


def _horizontal_ring(height: float, half_width: float, front: float, back: float,
                     weights: RingWeights) -> Ring:
    return Ring(np.array([0.0, height, 0.0]), X, Z, (half_width, half_width, front, -back),
                weights)


def _torso_and_head(cage: Cage) -> list[list[int]]:
    """The trunk tube, its crotch and crown closed; returns its rings' vertices."""
    head_z = default_rest_positions()[JOINT_INDEX["head"], 2]
    rings = [_horizontal_ring(h, w, f, b, _sided_weights(weights))
             for h, w, f, b, weights in _TORSO]
    rings += [_horizontal_ring(h, w, f, b, _head_weights(jaw, head_z))
              for h, w, f, b, jaw in _HEAD]
    loops = [cage.add_ring(ring, TORSO_SIDES) for ring in rings]
    for lower, upper in zip(loops, loops[1:], strict=False):
        cage.bridge(lower, upper)
    # Points run from the left-front round to the left-back: 6, 7, 0, 1 are the left half.
    for end in (loops[0], loops[-1]):
        cage.faces += [(end[6], end[7], end[0], end[1]), (end[1], end[2], end[5], end[6]),
                       (end[2], end[3], end[4], end[5])]
    return loops


def _limb_ring(centre: np.ndarray, direction: np.ndarray, up: np.ndarray, half_u: float,
               half_v: float, weights: Weights) -> Ring:
    u, v = frame(direction, up)
    return Ring(centre, u, v, (half_u, half_u, half_v, half_v), weights)


def _at(points: Sequence[np.ndarray], axis: int, value: float) -> np.ndarray:
    """The point of the polyline through `points` (running one way along `axis`) whose
    coordinate `axis` is `value`."""
    stacked = np.array(points)
    order = np.argsort(stacked[:, axis])
    return np.array([np.interp(value, stacked[order, axis], stacked[order, k])
                     for k in range(3)])


def _leg(cage: Cage, bottom: list[int], side: str) -> None:
    rest = default_rest_positions()
    chain = [rest[JOINT_INDEX[f"{side}_{name}"]] for name in ("hip", "knee", "ankle")]
    rings = [_limb_ring(_at(chain, 1, height), -Y, Z, front, across, _on_side(weights, side))
             for height, front, across, weights in _LEG]
    ankle = chain[-1]
    # The heel block: to the floor, reaching further back than forward.
    sole = Ring(np.array([ankle[0], 0.0, ankle[2] - 0.012]), *frame(-Y, Z),
                (0.046, 0.058, 0.04, 0.04), {f"{side}_ankle": 1.0})
    loops = cage.extrude(bottom, [*rings, sole])
    _foot(cage, cage.facing_face(loops[-2], loops[-1], Z), side)


def _foot(cage: Cage, front: list[int], side: str) -> None:
    rest = default_rest_positions()
    ankle, ball = rest[JOINT_INDEX[f"{side}_ankle"]], rest[JOINT_INDEX[f"{side}_foot"]]
    toe = rest_tail_positions()[JOINT_INDEX[f"{side}_foot"]]
    ankle_name, foot_name = f"{side}_ankle", f"{side}_foot"
    rings = [
        _limb_ring(np.array([(ankle[0] + ball[0]) / 2, 0.045, 0.055]), Z, Y, 0.045, 0.046,
                   {ankle_name: 0.6, foot_name: 0.4}),
        _limb_ring(np.array([ball[0], 0.03, ball[2]]), Z, Y, 0.03, 0.05, {foot_name: 1.0}),
        _limb_ring(np.array([toe[0], 0.022, toe[2] + 0.01]), Z, Y, 0.02, 0.045,
                   {foot_name: 1.0}),
    ]
    cage.extrude(front, rings)


def _arm(cage: Cage, side_face: list[int], side: str, sign: float) -> None:
    rest = default_rest_positions()
    chain = [rest[JOINT_INDEX[f"{side}_{name}"]] for name in ("shoulder", "elbow", "wrist")]
    out = sign * X
    rings = [_limb_ring(_at(chain, 0, sign * reach), out, Y, tall, deep, _on_side(weights, side))
             for reach, tall, deep, weights in _ARM]
    wrist = cage.extrude(side_face, rings, cap=False)[-1]
    _hand(cage, wrist, side, sign)


def _knuckle_row(side: str, sign: float, reach: float, spread: float, thickness: float,
                 height: float) -> np.ndarray:
    """Ten points round the palm at `reach` out: the top row from the thumb side back to the
    little finger's side, then the bottom row forward again. Columns part the fingers."""
    rest = default_rest_positions()
    depths = [rest[JOINT_INDEX[f"{side}_{finger}1"], 2] for finger in FINGERS]
    parts = np.concatenate([[depths[0] + 0.011], np.add(depths[:-1], depths[1:]) / 2,
                            [depths[-1] - 0.011]])
    middle = parts.mean()
    parts = middle + spread * (parts - middle)
    top = [np.array([sign * reach, height + thickness, z]) for z in parts]
    bottom = [np.array([sign * reach, height - thickness, z]) for z in parts]
    return np.array(top + bottom[::-1])


def _hand(cage: Cage, wrist: list[int], side: str, sign: float) -> None:
    """A palm from the wrist's four corners to ten knuckle points; a finger out of each pair of
    knuckle columns, the thumb out of the palm's front (thumb-side) face."""
    rest = default_rest_positions()
    height = rest[JOINT_INDEX[f"{side}_wrist"], 1]
    hand = {f"{side}_wrist": 1.0}
    palm = cage.add_points(_knuckle_row(side, sign, 0.725, 0.85, 0.016, height - 0.002), hand)
    knuckles = cage.add_points(_knuckle_row(side, sign, 0.772, 1.0, 0.012, height - 0.004), hand)
    points = np.array(cage.vertices)
    # The wrist's corners: the front (thumb side, +z) pair and the back pair, each top first.
    by_depth = sorted(wrist, key=lambda i: -points[i, 2])
    front = sorted(by_depth[:2], key=lambda i: -points[i, 1])
    back = sorted(by_depth[2:], key=lambda i: -points[i, 1])
    cage.faces += [
        (front[0], back[0], *palm[4::-1]),  # the back of the hand
        (front[1], back[1], *palm[5:]),  # the palm
        (back[0], palm[4], palm[5], back[1]),  # the little finger's edge
    ]
    thumb_face = [front[0], palm[0], palm[9], front[1]]
    cage.faces.append(tuple(thumb_face))
    cage.bridge(palm, knuckles)
    for column, finger in enumerate(FINGERS):
        loop = [knuckles[column], knuckles[column + 1], knuckles[8 - column],
                knuckles[9 - column]]
        _finger(cage, loop, side, finger)
    _finger(cage, thumb_face, side, "thumb")


def _finger(cage: Cage, loop: list[int], side: str, finger: str) -> None:
    """A finger tube along its three bones to past the fingertip, bending with each bone."""
    rest, tails = default_rest_positions(), rest_tail_positions()
    names = [f"{side}_{finger}{k}" for k in (1, 2, 3)]
    joints = [rest[JOINT_INDEX[name]] for name in names] + [tails[JOINT_INDEX[names[-1]]]]
    wide, thick = (0.0115, 0.0105) if finger == "thumb" else (0.0095, 0.0085)
    # (point along the chain in bones, weights, size): halfway weights on each knuckle.
    stations = ((0.6 if finger == "thumb" else 0.25, {names[0]: 1.0}, 1.0),
                (1.0, {names[0]: 0.5, names[1]: 0.5}, 0.95),
                (2.0, {names[1]: 0.5, names[2]: 0.5}, 0.88),
                (2.7, {names[2]: 1.0}, 0.8),
                (3.0, {names[2]: 1.0}, 0.55))
    rings = []
    for position, weights, size in stations:
        bone = min(int(position), 2)
        start, end = joints[bone], joints[bone + 1]
        centre = start + (position - bone) * (end - start)
        rings.append(_limb_ring(centre, end - start, Y, thick * size, wide * size, weights))
    cage.extrude(loop, rings)


def humanoid_cage() -> Cage:
    """The whole body's cage: one closed surface."""
    cage = Cage()
    torso = _torso_and_head(cage)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        bottom = torso[0]
        leg_loop = [bottom[6], bottom[7], bottom[0], bottom[1]] if sign > 0 else \
            [bottom[2], bottom[3], bottom[4], bottom[5]]
        _leg(cage, leg_loop, side)
        lower, upper = (torso[index] for index in ARM_ATTACH)
        _arm(cage, cage.facing_face(lower, upper, sign * X), side, sign)
    return cage
