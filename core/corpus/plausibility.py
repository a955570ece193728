"""Is a motion physically plausible? Checks every frame for what a body cannot do.

- joint angles inside per-joint limits (knees and elbows bend one way, fingers mostly curl one
  way, no 170-degree spine twist);
- feet (heel, ball and toe points under the ankle and foot joints) not below the floor (y = 0);
- planted feet (sole within 3 cm of the floor in consecutive frames) do not slide;
- wrists and finger joints stay out of the torso (a capsule around pelvis-spine-neck);
- no jumps between consecutive frames, in joint rotation or root translation.

Limits are generous enough for real motion capture and catch generator garbage. Everything is
vectorised over frames: a minute at 30 fps takes about a tenth of a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import BodyLanguageError
from core.motion import Motion
from core.rotations import axis_angle_to_quaternion, matrix_to_euler, quaternion_to_matrix
from core.skeleton import (
    JOINT_INDEX,
    JOINT_NAMES,
    NUM_JOINTS,
    default_rest_positions,
    forward_kinematics_with_rotations,
    offsets_from_positions,
)

J = JOINT_INDEX

FLOOR_TOLERANCE = 0.01  # metres a sole point may sink below y = 0 (skin, shoe, capture noise)
CONTACT_HEIGHT = 0.03  # a sole point this close to the floor is planted
SLIDE_PER_FRAME = 0.01  # metres a planted point may move along the floor between frames
TORSO_RADIUS = 0.10  # metres around the pelvis-spine-neck line that hands may not enter
TRANS_JUMP_PER_SECOND = 7.5  # root speed (m/s) no human reaches between two frames
# Sole points below the foot joints: the ball of the foot lies this far under the foot joint,
# and the toe tip this far ahead of the ball (both in the foot joint's own frame).
BALL_DEPTH = 0.025
TOE_TIP = np.array([0.0, -0.02, 0.05])


@dataclass(frozen=True)
class JointLimit:
    """Largest rotation angle and, per axis, the range of the joint's Euler angles.

    The local rotation is split into intrinsic Euler angles in `order` (the joint's main axis
    first, its smallest freedom in the middle, a bone's own twist last); ranges are degrees per
    axis, written for the left side (and the midline) and mirrored for the right, where the y
    and z angles change sign. `jump` is the largest rotation between two frames at 30 fps.
    """

    max_angle: float
    order: str = "XYZ"
    x: tuple[float, float] | None = None
    y: tuple[float, float] | None = None
    z: tuple[float, float] | None = None
    jump: float = 25.0


_SPINE = JointLimit(60.0, "YXZ", x=(-45.0, 60.0), y=(-45.0, 45.0), z=(-40.0, 40.0))
_FINGER = JointLimit(120.0, "ZYX", x=(-40.0, 40.0), y=(-40.0, 40.0), z=(-115.0, 35.0),
                     jump=40.0)

# Keyed by the joint name without its left_/right_ prefix. Signs for the left side: the hip
# flexes about -X and abducts about +Z; the knee flexes about +X; the ankle points the toes
# down about +X; the left elbow flexes about -Y and twists about X; the wrist flexes about -Z;
# left fingers curl about -Z.
LIMITS: dict[str, JointLimit] = {
    "hip": JointLimit(150.0, "XZY", x=(-140.0, 45.0), y=(-60.0, 60.0), z=(-45.0, 80.0)),
    "knee": JointLimit(160.0, "XZY", x=(-15.0, 160.0), y=(-50.0, 50.0), z=(-35.0, 35.0)),
    "ankle": JointLimit(75.0, "XZY", x=(-55.0, 70.0), y=(-45.0, 45.0), z=(-45.0, 45.0)),
    "foot": JointLimit(60.0),
    "spine1": _SPINE,
    "spine2": _SPINE,
    "spine3": _SPINE,
    "neck": JointLimit(65.0, "YXZ", x=(-55.0, 60.0), y=(-60.0, 60.0), z=(-45.0, 45.0)),
    "head": JointLimit(75.0, "YXZ", x=(-55.0, 60.0), y=(-75.0, 75.0), z=(-50.0, 50.0)),
    "collar": JointLimit(45.0),
    "shoulder": JointLimit(170.0),
    "elbow": JointLimit(175.0, "YZX", x=(-125.0, 125.0), y=(-165.0, 20.0), z=(-45.0, 45.0)),
    "wrist": JointLimit(120.0, "ZYX", x=(-110.0, 110.0), y=(-70.0, 70.0), z=(-100.0, 100.0)),
    "jaw": JointLimit(40.0, "XYZ", x=(-10.0, 40.0)),
    "eye": JointLimit(50.0, jump=90.0),
    "thumb1": JointLimit(110.0, jump=40.0),
    "thumb2": JointLimit(110.0, jump=40.0),
    "thumb3": JointLimit(110.0, jump=40.0),
    **{f"{finger}{k}": _FINGER for finger in ("index", "middle", "ring", "pinky")
       for k in (1, 2, 3)},
}
ROOT_TILT_LIMIT = 95.0  # degrees the pelvis's up axis may lean from vertical
ROOT_JUMP = 25.0


@dataclass(frozen=True)
class Problem:
    """One kind of implausibility at one joint (or foot, or the root), summarised over frames."""

    check: str  # joint_limit, floor, foot_slide, hand_in_torso, rotation_jump, trans_jump
    joint: str  # the joint (or "left foot", "root") it concerns
    frames: int  # how many frames show it
    first_frame: int
    worst: float  # the worst measured value, in the unit of `limit`
    limit: float
    detail: str

    def __str__(self) -> str:
        return (f"{self.check} at {self.joint}: {self.detail} (worst {self.worst:.3g}, limit "
                f"{self.limit:.3g}) in {self.frames} frame(s) from frame {self.first_frame}")


def _problem(check: str, joint: str, bad: np.ndarray, values: np.ndarray, limit: float,
             detail: str, worst_is_max: bool = True) -> Problem | None:
    frames = np.flatnonzero(bad)
    if len(frames) == 0:
        return None
    picked = values[frames]
    worst = float(picked.max() if worst_is_max else picked.min())
    return Problem(check, joint, int(len(frames)), int(frames[0]), worst, limit, detail)


def _limit_for(index: int) -> tuple[JointLimit | None, bool]:
    """The joint's limit and whether it is a right-side joint (mirrored ranges)."""
    name = JOINT_NAMES[index]
    right = name.startswith("right_")
    key = name.split("_", 1)[1] if name.startswith(("left_", "right_")) else name
    return LIMITS.get(key), right


def _joint_limits(quats: np.ndarray, world_rotations: np.ndarray) -> list[Problem]:
    """Angle and per-axis Euler ranges of every limited joint; `quats` (T, 55, 4) local."""
    problems = []
    # Rotation angle in [0, 180] from the quaternion, whichever sign it has.
    angle = np.degrees(2.0 * np.arctan2(np.linalg.norm(quats[..., 1:], axis=-1),
                                        np.abs(quats[..., 0])))
    local = quaternion_to_matrix(quats)
    limited = [(j, *_limit_for(j)) for j in range(1, NUM_JOINTS)]
    limited = [(j, limit, right) for j, limit, right in limited if limit is not None]
    euler: dict[int, np.ndarray] = {}
    for order in {limit.order for _, limit, _ in limited}:
        joints = [j for j, limit, _ in limited if limit.order == order
                  and (limit.x or limit.y or limit.z)]
        if joints:
            angles = matrix_to_euler(local[:, joints], order, degrees=True)
            euler.update({j: angles[:, k] for k, j in enumerate(joints)})
    for index, limit, right in limited:
        name = JOINT_NAMES[index]
        found = _problem("joint_limit", name, angle[:, index] > limit.max_angle, angle[:, index],
                         limit.max_angle, "rotation angle (deg) too large")
        if found:
            problems.append(found)
        for axis, bounds in enumerate((limit.x, limit.y, limit.z)):
            if bounds is None:
                continue
            lo, hi = bounds
            if right and axis > 0:
                lo, hi = -hi, -lo
            label = "xyz"[axis]
            values = euler[index][:, limit.order.index(label.upper())]
            for bad, bound, side, is_max in ((values > hi, hi, "above", True),
                                             (values < lo, lo, "below", False)):
                found = _problem("joint_limit", name, bad, values, bound,
                                 f"{label}-rotation (deg, {limit.order} Euler) {side} its range",
                                 is_max)
                if found:
                    problems.append(found)
    up = world_rotations[:, 0, :, 1]
    tilt = np.degrees(np.arccos(np.clip(up[:, 1], -1.0, 1.0)))
    found = _problem("joint_limit", "pelvis", tilt > ROOT_TILT_LIMIT, tilt, ROOT_TILT_LIMIT,
                     "body tilt from upright (deg) too large")
    if found:
        problems.append(found)
    return problems


def _sole_points(positions: np.ndarray, rotations: np.ndarray,
                 rest: np.ndarray) -> dict[str, np.ndarray]:
    """(T, 3, 3) heel, ball and toe-tip points per foot, following the feet's rotations."""
    points = {}
    for side in ("left", "right"):
        ankle, foot = J[f"{side}_ankle"], J[f"{side}_foot"]
        heel_depth = rest[ankle, 1] - rest[foot, 1] + BALL_DEPTH
        heel = positions[:, ankle] + rotations[:, ankle] @ np.array([0.0, -heel_depth, -0.02])
        ball = positions[:, foot] + rotations[:, foot] @ np.array([0.0, -BALL_DEPTH, 0.0])
        toe = positions[:, foot] + rotations[:, foot] @ TOE_TIP
        points[side] = np.stack([heel, ball, toe], axis=1)
    return points


def _feet(soles: dict[str, np.ndarray]) -> list[Problem]:
    problems = []
    for side, points in soles.items():
        height = points[..., 1].min(axis=1)
        found = _problem("floor", f"{side} foot", height < -FLOOR_TOLERANCE, height,
                         -FLOOR_TOLERANCE, "sole height (m) below the floor", worst_is_max=False)
        if found:
            problems.append(found)
        # Heel and ball: the toe tip may pivot while the foot rolls over it.
        contact = points[:, :2, 1] < CONTACT_HEIGHT
        planted = contact[1:] & contact[:-1]
        step = np.linalg.norm(np.diff(points[:, :2][..., [0, 2]], axis=0), axis=-1)
        slide = np.where(planted, step, 0.0).max(axis=1)
        found = _problem("foot_slide", f"{side} foot", slide > SLIDE_PER_FRAME, slide,
                         SLIDE_PER_FRAME, "planted sole moved along the floor (m/frame)")
        if found:
            problems.append(found)
    return problems


_TORSO_CHAIN = [J["pelvis"], J["spine1"], J["spine2"], J["spine3"], J["neck"]]
_HAND_JOINTS = [J["left_wrist"], J["right_wrist"], *range(25, 55)]


def _hands_in_torso(positions: np.ndarray) -> list[Problem]:
    chain = positions[:, _TORSO_CHAIN]  # (T, 5, 3)
    points = positions[:, _HAND_JOINTS]  # (T, P, 3)
    distance = np.full(points.shape[:2], np.inf, dtype=positions.dtype)
    for k in range(len(_TORSO_CHAIN) - 1):
        a, ab = chain[:, k, None], (chain[:, k + 1] - chain[:, k])[:, None]
        rel = points - a
        u = np.clip(np.sum(rel * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-12), 0.0, 1.0)
        gap = rel - u[..., None] * ab
        distance = np.minimum(distance, np.sqrt(np.sum(gap * gap, -1)))
    problems = []
    for k, joint in enumerate(_HAND_JOINTS):
        found = _problem("hand_in_torso", JOINT_NAMES[joint], distance[:, k] < TORSO_RADIUS,
                         distance[:, k], TORSO_RADIUS, "distance (m) to the spine line",
                         worst_is_max=False)
        if found:
            problems.append(found)
    return problems


def _jumps(quats: np.ndarray, trans: np.ndarray, fps: float) -> list[Problem]:
    problems = []
    if len(quats) < 2:
        return problems
    scale = 30.0 / fps  # bounds are written per frame at 30 fps
    dot = np.abs(np.sum(quats[1:] * quats[:-1], axis=-1))
    step = np.degrees(2 * np.arccos(np.clip(dot, 0.0, 1.0)))  # (T-1, 55)
    for index in range(NUM_JOINTS):
        limit, _ = _limit_for(index)
        bound = min(180.0, (ROOT_JUMP if limit is None else limit.jump) * scale)
        found = _problem("rotation_jump", JOINT_NAMES[index], step[:, index] > bound,
                         step[:, index], bound, "rotation between frames (deg)")
        if found:
            problems.append(found)
    move = np.linalg.norm(np.diff(trans, axis=0), axis=-1)
    bound = TRANS_JUMP_PER_SECOND / fps
    found = _problem("trans_jump", "root", move > bound, move, bound,
                     "root translation between frames (m)")
    if found:
        problems.append(found)
    return problems


def check_motion(motion: Motion, rest_positions: np.ndarray | None = None) -> list[Problem]:
    """Every implausibility found in `motion` (empty when it is plausible).

    `rest_positions` (55, 3) is the skeleton the poses drive (default: the default adult); the
    floor is y = 0 in world space.
    """
    rest = default_rest_positions() if rest_positions is None else np.asarray(
        rest_positions, dtype=np.float64)
    if rest.shape != (NUM_JOINTS, 3):
        raise BodyLanguageError(f"rest positions have shape {rest.shape}, expected (55, 3)")
    # float32 is plenty for millimetres and degrees, and twice as fast as float64.
    poses, trans = motion.poses, motion.trans
    positions, rotations = forward_kinematics_with_rotations(
        poses, trans, offsets_from_positions(rest).astype(np.float32))
    quats = axis_angle_to_quaternion(poses)
    return [
        *_joint_limits(quats, rotations),
        *_feet(_sole_points(positions, rotations, rest)),
        *_hands_in_torso(positions),
        *_jumps(quats, trans, motion.fps),
    ]


def assert_plausible(motion: Motion, name: str, rest_positions: np.ndarray | None = None) -> None:
    """Raise BodyLanguageError listing every problem of `motion` (named `name`), if any."""
    problems = check_motion(motion, rest_positions)
    if problems:
        listed = "\n  ".join(str(p) for p in problems)
        raise BodyLanguageError(f"motion {name!r} is implausible:\n  {listed}")
