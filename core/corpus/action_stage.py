"""The working surface of one action: the base motion over the frames the action spans, and the
drives an action uses to pose the body (torso joints, arms by hand targets, finger shapes, the
lower body by pelvis and foot targets).

Hand targets are authored in rest-world coordinates (the default skeleton standing at the
origin, facing +Z, its left at +X) relative to a body frame (chest, pelvis or head) and follow
that frame as the body moves, so an arm gesture stays right on a leaning or turning torso.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from core.corpus import action_hands
from core.corpus.hands import FINGER_JOINTS
from core.corpus.signals import min_jerk
from core.corpus.style import Style
from core.limb_ik import (
    axis_rotation,
    hand_rotation,
    limb_rotations,
    twist_angle,
    two_bone_ik,
    unit,
    yaw_of,
)
from core.motion import Motion
from core.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    quaternion_slerp,
    quaternion_to_matrix,
)
from core.skeleton import (
    JOINT_INDEX,
    NUM_JOINTS,
    default_rest_offsets,
    default_rest_positions,
    forward_kinematics_with_rotations,
)

J = JOINT_INDEX
BLEND_SECONDS = 0.35  # the action fades in from, and back out to, the base over this time
SIDES: tuple[str, ...] = ("left", "right")
_SIGN = {"left": 1.0, "right": -1.0}

_REST_POSITIONS = default_rest_positions()
_REST_OFFSETS = default_rest_offsets()
FRAME_JOINTS = {"pelvis": J["pelvis"], "chest": J["spine3"], "head": J["head"]}

# Palm centre in the hand's own frame, from the wrist: along the fingers, toward the palm.
_PALM_CENTRE = {"left": np.array([0.06, -0.015, 0.0]), "right": np.array([-0.06, -0.015, 0.0])}
_ARM = {side: {part: J[f"{side}_{part}"] for part in ("collar", "shoulder", "elbow", "wrist")}
        for side in SIDES}
_LEG = {side: {part: J[f"{side}_{part}"] for part in ("hip", "knee", "ankle")} for side in SIDES}
# Most a forearm twists (pronation/supination) before the rest is left to the wrist.
_FOREARM_TWIST_LIMIT = 1.75
# Legs stop short of full extension so the knee keeps a bend direction and IK always reaches.
_LEG_REACH = 0.997


def _rest_dir(joint: int) -> np.ndarray:
    return unit(_REST_OFFSETS[joint])


def _arm_rest(side: str) -> tuple[float, float, np.ndarray, np.ndarray]:
    elbow, wrist = _ARM[side]["elbow"], _ARM[side]["wrist"]
    direction = _rest_dir(elbow)
    # In the zero pose the elbow points back (-Z) and the forearm bends forward.
    normal = unit(np.cross(direction, [0.0, 0.0, -1.0]))
    return (float(np.linalg.norm(_REST_OFFSETS[elbow])),
            float(np.linalg.norm(_REST_OFFSETS[wrist])), direction, normal)


def _leg_rest(side: str) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
    hip, knee, ankle = (_LEG[side][p] for p in ("hip", "knee", "ankle"))
    reach = unit(_REST_POSITIONS[ankle] - _REST_POSITIONS[hip])
    forward = np.array([0.0, 0.0, 1.0])
    normal = unit(np.cross(reach, forward - np.dot(forward, reach) * reach))
    return (float(np.linalg.norm(_REST_OFFSETS[knee])), float(np.linalg.norm(_REST_OFFSETS[ankle])),
            _rest_dir(knee), _rest_dir(ankle), normal)


def path_bulge(middle: np.ndarray, shoulder: np.ndarray, side: str) -> np.ndarray:
    """(..., 3) how far the middle of a hand path between two keys is pushed out, in chest
    axes, given the straight path's middle point and the shoulder relative to the chest joint.

    A straight line from the hip to overhead would pass through the shoulder and one across
    the chest through the torso: the path swings out (forward, a little to its side), and one
    straight through the torso (front to back) goes round the hand's own side.
    """
    outward = np.array([_SIGN[side], 0.0, 0.0])
    forward = np.array([0.0, 0.0, 1.0])
    from_shoulder = np.linalg.norm(middle - shoulder, axis=-1, keepdims=True)
    bow_out = 1.2 * np.maximum(0.0, 0.42 - from_shoulder) * unit(0.35 * outward + forward)
    level = middle * np.array([1.0, 0.0, 1.0])
    from_torso = np.linalg.norm(level, axis=-1, keepdims=True)
    bow_torso = 1.5 * np.maximum(0.0, 0.3 - from_torso) * unit(level + 0.12 * outward)
    return bow_out + bow_torso


def ease_keys(t: np.ndarray, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values (K, T, ...) at key `times` (K,), eased between neighbours, held outside them."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) == 1:
        return values[0].copy()
    index = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    gap = np.maximum(times[index + 1] - times[index], 1e-9)
    s = min_jerk((t - times[index]) / gap)
    frames = np.arange(len(t))
    s = s.reshape(s.shape + (1,) * (values.ndim - 2))
    return (1.0 - s) * values[index, frames] + s * values[index + 1, frames]


@dataclass(frozen=True)
class HandKey:
    """Where a hand is: palm centre, finger direction, palm facing and elbow direction.

    Coordinates are rest-world (metres, body at rest at the origin) and move with `frame`.
    """

    position: tuple[float, float, float]
    fingers: tuple[float, float, float]
    palm: tuple[float, float, float]
    pole: tuple[float, float, float]
    frame: str = "chest"

    def mirrored(self) -> HandKey:
        """The same key for the other hand (reflected through the body's midline)."""
        def flip(v: tuple[float, float, float]) -> tuple[float, float, float]:
            return (-v[0], v[1], v[2])

        return HandKey(flip(self.position), flip(self.fingers), flip(self.palm),
                       flip(self.pole), self.frame)

    def moved(self, dx: float = 0.0, dy: float = 0.0, dz: float = 0.0) -> HandKey:
        x, y, z = self.position
        return replace(self, position=(x + dx, y + dy, z + dz))


# A key that stands for wherever the base motion has the hand (the speech's own gesture).
FROM_BASE = HandKey((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, -1.0), "base")


@dataclass
class ArmTrack:
    """One arm's choreography: hand keys at times (seconds into the action) plus extras.

    With `weight` (T,) the track has two keys and the weight is how far the hand is from the
    first toward the second at each frame (eased already; below 1 a gesture stops part-way).
    `offset` (T, 3) and `finger_offset` (T, 3) are added, in chest axes, to the eased palm
    position and finger direction (waving, clapping); `collar_raise` (T,) lifts the collar
    (radians) on top of what the arm's height asks for.
    """

    keys: list[tuple[float, HandKey]]
    weight: np.ndarray | None = None
    offset: np.ndarray | None = None
    finger_offset: np.ndarray | None = None
    collar_raise: np.ndarray | None = None


@dataclass
class LowerPlan:
    """The lower body's deviation from the base, in the heading frame at the action's start
    (x = the body's left, y = up, z = forward). Index 0 of the foot arrays is the left foot.

    Yaws turn about the vertical through the pelvis's start position; a foot whose yaw and shift
    do not change stays planted exactly where it was.
    """

    pelvis_yaw: np.ndarray  # (T,) radians, + turns left
    pelvis_shift: np.ndarray  # (T, 3) metres
    pelvis_tilt: np.ndarray  # (T, 3) rotation vector, heading axes (+x pitches forward)
    foot_yaw: np.ndarray  # (2, T)
    foot_shift: np.ndarray  # (2, T, 3); y lifts the foot (which stays level)

    @classmethod
    def still(cls, frames: int) -> LowerPlan:
        return cls(np.zeros(frames), np.zeros((frames, 3)), np.zeros((frames, 3)),
                   np.zeros((2, frames)), np.zeros((2, frames, 3)))


@dataclass
class Stage:
    """The span of `base` an action covers, the action's poses over it and what it drives."""

    base: Motion
    style: Style
    rng: np.random.Generator
    first: int  # first frame of the span in the base
    stop: int  # one past its last frame
    poses: np.ndarray = field(init=False)  # (T, 55, 3) float64, the action's absolute poses
    trans: np.ndarray = field(init=False)
    blended: np.ndarray = field(init=False)  # (55,) joints faded in from and out to the base
    root_driven: bool = field(init=False, default=False)
    # After the span: the base's root turned by `after_yaw` about `after_pivot`, then shifted.
    after_yaw: float = field(init=False, default=0.0)
    after_pivot: np.ndarray = field(init=False)
    after_shift: np.ndarray = field(init=False)
    # How far gestures go toward their keys (1 = all the way); short spans do less.
    reach: float = field(init=False, default=1.0)
    # Rotations set as matrices wait here and become axis-angle in one batch (flush).
    _pending: dict[int, np.ndarray] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.poses = self.base.poses[self.first:self.stop].astype(np.float64)
        self.trans = self.base.trans[self.first:self.stop].astype(np.float64)
        self.blended = np.zeros(NUM_JOINTS, bool)
        self.after_pivot = np.zeros(3)
        self.after_shift = np.zeros(3)

    # -- time ---------------------------------------------------------------------------------

    @property
    def fps(self) -> float:
        return self.base.fps

    @property
    def frames(self) -> int:
        return self.stop - self.first

    @property
    def t(self) -> np.ndarray:
        """(T,) seconds since the action's first frame."""
        return np.arange(self.frames) / self.fps

    @property
    def span(self) -> float:
        return self.frames / self.fps

    @property
    def blend(self) -> float:
        return min(BLEND_SECONDS, self.span / 4.0)

    def weights(self) -> np.ndarray:
        """(T,) how much of the action shows: 0 at the edges, 1 inside, smooth in between."""
        t = self.t
        rise = min_jerk(t / self.blend)
        fall = min_jerk((self.span - t) / self.blend)
        return np.minimum(rise, fall)

    # -- poses --------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write rotations set as matrices into `poses` (one batched conversion)."""
        if not self._pending:
            return
        joints = list(self._pending)
        matrices = np.stack([self._pending[j] for j in joints], axis=1)
        self.poses[:, joints] = matrix_to_axis_angle(matrices)
        self._pending.clear()

    def world(self) -> tuple[np.ndarray, np.ndarray]:
        """World joint positions (T, 55, 3) and rotations (T, 55, 3, 3) of the current poses."""
        self.flush()
        return forward_kinematics_with_rotations(self.poses, self.trans)

    def set_rotation(self, joint: int | str, rotation: np.ndarray) -> None:
        """Drive a joint with local rotations: (T, 3, 3) matrices or (T, 3) axis-angle."""
        index = J[joint] if isinstance(joint, str) else joint
        rotation = np.asarray(rotation, dtype=np.float64)
        if rotation.shape[-2:] == (3, 3):
            self._pending[index] = np.broadcast_to(rotation, (self.frames, 3, 3))
        else:
            self._pending.pop(index, None)
            self.poses[:, index] = np.broadcast_to(rotation, (self.frames, 3))
        if index != 0:
            self.blended[index] = True

    def set_euler(self, joint: int | str, pitch: np.ndarray | float = 0.0,
                  yaw: np.ndarray | float = 0.0, roll: np.ndarray | float = 0.0) -> None:
        """Drive a torso joint by yaw (about +Y, + turns left), then pitch (about +X, + bends
        forward), then roll (about +Z, + tilts toward the body's right)."""
        def track(value: np.ndarray | float) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=np.float64), (self.frames,))

        matrix = axis_rotation(1, track(yaw)) @ axis_rotation(0, track(pitch)) @ axis_rotation(
            2, track(roll))
        self.set_rotation(joint, matrix)

    def frame_transform(self, name: str, rotations: np.ndarray,
                        positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(R, p) mapping rest-world points of body frame `name` to world: R @ (x - rest) + p."""
        joint = FRAME_JOINTS[name]
        return rotations[:, joint], positions[:, joint]

    # -- arms ---------------------------------------------------------------------------------

    def _base_hand(self, side: str, rotations: np.ndarray,
                   positions: np.ndarray) -> dict[str, np.ndarray]:
        """Where the base (speech) has this hand, as key targets per frame."""
        arm = _ARM[side]
        wrist = rotations[:, arm["wrist"]]
        return {
            "position": positions[:, arm["wrist"]] + wrist @ _PALM_CENTRE[side],
            "fingers": wrist @ np.array([_SIGN[side], 0.0, 0.0]),
            "palm": -wrist[:, :, 1],
            # The elbow points where the upper arm's rest "back" now points.
            "pole": -rotations[:, arm["shoulder"], :, 2],
        }

    def _keyed(self, track: ArmTrack, side: str, rotations: np.ndarray,
               positions: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Key times (K,) and per-key world targets (K, T, 3): each key follows its frame,
        a FROM_BASE key is wherever the base motion has the hand."""
        times = np.array([time for time, _ in track.keys])
        order = np.argsort(times, kind="stable")
        times = np.maximum.accumulate(times[order])
        stacked: dict[str, list[np.ndarray]] = {n: [] for n in ("position", "fingers", "palm",
                                                                  "pole")}
        for key in (track.keys[i][1] for i in order):
            if key.frame == "base":
                for name, value in self._base_hand(side, rotations, positions).items():
                    stacked[name].append(value)
                continue
            r, p = self.frame_transform(key.frame, rotations, positions)
            rest = _REST_POSITIONS[FRAME_JOINTS[key.frame]]
            stacked["position"].append(
                np.einsum("tij,j->ti", r, np.asarray(key.position) - rest) + p)
            for name in ("fingers", "palm", "pole"):
                stacked[name].append(np.einsum("tij,j->ti", r, unit(getattr(key, name))))
        return times, {name: np.stack(v) for name, v in stacked.items()}

    def _segments(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per frame: index of the key segment it lies in and the eased progress along it."""
        if len(times) < 2:
            return np.zeros(self.frames, int), np.zeros(self.frames)
        index = np.clip(np.searchsorted(times, self.t, side="right") - 1, 0, len(times) - 2)
        gap = np.maximum(times[index + 1] - times[index], 1e-9)
        return index, min_jerk((self.t - times[index]) / gap)

    def _blend(self, keyed: np.ndarray, index: np.ndarray, s: np.ndarray) -> np.ndarray:
        """(T, 3) per-frame mix of the key values (K, T, 3) around each frame's segment."""
        frames = np.arange(self.frames)
        after = np.minimum(index + 1, len(keyed) - 1)
        return (1 - s)[:, None] * keyed[index, frames] + s[:, None] * keyed[after, frames]

    def _detour(self, keyed: np.ndarray, index: np.ndarray, s: np.ndarray, side: str,
                chest: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """(T, 3) sideways bow of the hand's path between keys: a straight line from the hip
        to overhead would pass through the shoulder, one across the chest through the torso,
        so the path swings out (forward, a little to its side) as a real arm does."""
        if len(keyed) < 2:
            return np.zeros((self.frames, 3))
        frames = np.arange(self.frames)
        middle = 0.5 * (keyed[index, frames] + keyed[index + 1, frames])
        shoulder = np.einsum("tji,tj->ti", chest, positions[:, _ARM[side]["shoulder"]]
                             - positions[:, FRAME_JOINTS["chest"]])
        local = np.einsum("tji,tj->ti", chest, middle - positions[:, FRAME_JOINTS["chest"]])
        bulge = np.einsum("tij,tj->ti", chest, path_bulge(local, shoulder, side))
        return (4.0 * s * (1.0 - s))[:, None] * bulge

    def _solve_arm(self, side: str, chest: np.ndarray, positions: np.ndarray,
                   wrist: np.ndarray, pole: np.ndarray,
                   collar_raise: np.ndarray | None) -> tuple[np.ndarray, ...]:
        """Collar (local and world), upper arm and forearm world rotations reaching `wrist`."""
        arm, sign = _ARM[side], _SIGN[side]
        # The collar lifts as the hand rises and comes forward as it reaches ahead.
        reach = unit(np.einsum("tji,tj->ti", chest, wrist - positions[:, arm["shoulder"]]))
        lift = 0.3 * np.clip(reach[..., 1], 0.0, 1.0) + self.style.shoulder_raise
        if collar_raise is not None:
            lift = lift + collar_raise
        protract = 0.15 * np.clip(reach[..., 2], 0.0, 1.0)
        collar_local = axis_rotation(2, sign * lift) @ axis_rotation(1, -sign * protract)
        collar_world = chest @ collar_local
        shoulder = positions[:, arm["collar"]] + collar_world @ _REST_OFFSETS[arm["shoulder"]]
        upper_len, lower_len, rest_dir, rest_normal = _arm_rest(side)
        elbow, reached, normal = two_bone_ik(shoulder, wrist, pole, upper_len, lower_len,
                                             max_reach=0.995, soft_from=0.88)
        upper, fore = limb_rotations(shoulder, elbow, reached, normal, rest_dir, rest_dir,
                                     rest_normal)
        return collar_local, collar_world, upper, fore

    def drive_arms(self, tracks: dict[str, ArmTrack]) -> None:
        """Pose collar, shoulder, elbow and wrist of each named side so its palm follows the
        track; the elbow points along the keys' pole, the forearm takes the hand's twist.

        Positions ease between keys in space; the hand's orientation eases in joint space
        (forearm twist and wrist bend per key), so it never flips on the way.
        """
        positions, rotations = self.world()
        chest = rotations[:, FRAME_JOINTS["chest"]]
        frames = np.arange(self.frames)
        for side, track in tracks.items():
            arm = _ARM[side]
            times, keyed = self._keyed(track, side, rotations, positions)
            index, s = self._segments(times)
            if track.weight is not None:
                index, s = np.zeros(self.frames, int), np.asarray(track.weight, dtype=float)
            after = np.minimum(index + 1, len(times) - 1)
            # Each key's own arm solution gives its forearm twist and wrist bend; a key is
            # solved only on the frames whose segment touches it.
            hands = hand_rotation(keyed["fingers"], keyed["palm"], side)  # (K, T, 3, 3)
            twists = np.zeros((len(times), self.frames))
            bends = np.zeros((len(times), self.frames, 3, 3))
            for k in range(len(times)):
                used = (index == k) | (after == k)
                if not used.any():
                    continue
                hand_k = hands[k][used]
                wrist_k = keyed["position"][k][used] - hand_k @ _PALM_CENTRE[side]
                raise_k = None if track.collar_raise is None else track.collar_raise[used]
                fore_k = self._solve_arm(side, chest[used], positions[used], wrist_k,
                                         keyed["pole"][k][used], raise_k)[3]
                in_forearm = np.swapaxes(fore_k, -1, -2) @ hand_k
                twist_k = twist_angle(in_forearm, axis=0)
                twists[k][used] = twist_k
                bends[k][used] = axis_rotation(0, -twist_k) @ in_forearm
            twist = (1 - s) * twists[index, frames] + s * twists[after, frames]
            bend = quaternion_to_matrix(quaternion_slerp(
                matrix_to_quaternion(bends[index, frames]),
                matrix_to_quaternion(bends[after, frames]), s))
            # Position: eased in space with a detour around shoulder and torso, plus extras.
            palm = self._blend(keyed["position"], index, s)
            palm = palm + self._detour(keyed["position"], index, s, side, chest, positions)
            if track.offset is not None:
                palm = palm + np.einsum("tij,tj->ti", chest, track.offset)
            pole = self._blend(keyed["pole"], index, s)
            # The wrist target needs the hand's orientation, which needs the forearm: take the
            # world-space blend of the key orientations for it (it only moves the target by
            # the palm's offset from the wrist).
            rough = quaternion_to_matrix(quaternion_slerp(
                matrix_to_quaternion(hands[index, frames]),
                matrix_to_quaternion(hands[after, frames]), s))
            wrist_target = palm - rough @ _PALM_CENTRE[side]
            collar_local, collar_world, upper, fore = self._solve_arm(
                side, chest, positions, wrist_target, pole, track.collar_raise)
            in_forearm = axis_rotation(0, twist) @ bend
            if track.finger_offset is not None:
                hand = fore @ in_forearm
                along = np.array([1.0, 0.0, 0.0]) * _SIGN[side]
                fingers = hand @ along + np.einsum("tij,tj->ti", chest, track.finger_offset)
                facing = -(hand @ np.array([0.0, 1.0, 0.0]))
                in_forearm = np.swapaxes(fore, -1, -2) @ hand_rotation(fingers, facing, side)
                # Keep the twist continuous with the keyed one (no wrap to the other side).
                extra = twist_angle(in_forearm, axis=0) - twist
                extra = (extra + np.pi) % (2 * np.pi) - np.pi
                bend = axis_rotation(0, -(twist + extra)) @ in_forearm
                twist = twist + extra
            forearm_twist = np.clip(twist, -_FOREARM_TWIST_LIMIT, _FOREARM_TWIST_LIMIT)
            self.set_rotation(arm["collar"], collar_local)
            self.set_rotation(arm["shoulder"], np.swapaxes(collar_world, -1, -2) @ upper)
            self.set_rotation(arm["elbow"], np.swapaxes(upper, -1, -2) @ fore
                              @ axis_rotation(0, forearm_twist))
            self.set_rotation(arm["wrist"], axis_rotation(0, twist - forearm_twist) @ bend)

    # -- fingers ------------------------------------------------------------------------------

    def set_hand_shapes(self, side: str, keys: list[tuple[float, str | None]],
                        curl: np.ndarray | None = None) -> None:
        """Ease the side's fingers through named shapes at times (None: the base's fingers);
        `curl` (T,) adds a uniform curl of the four fingers (radians), for beckoning."""
        keys = sorted(keys, key=lambda key: key[0])
        times = np.array([time for time, _ in keys])
        joints = list(FINGER_JOINTS[side])
        self.flush()
        table = np.stack([
            self.poses[:, joints] if shape is None else
            np.broadcast_to(action_hands.shape_rotations(shape, side), (self.frames, 15, 3))
            for _, shape in keys
        ])
        fingers = ease_keys(self.t, times, table)
        if curl is not None:
            axis = np.array([0.0, 0.0, -1.0]) * (1.0 if side == "left" else -1.0)
            for k in range(12):  # index, middle, pinky, ring; the thumb stays
                fingers[:, k] = fingers[:, k] + np.asarray(curl)[:, None] * axis
        for k, joint in enumerate(FINGER_JOINTS[side]):
            self.set_rotation(joint, fingers[:, k])

    # -- lower body ---------------------------------------------------------------------------

    def heading(self) -> tuple[float, np.ndarray, np.ndarray]:
        """Yaw, world heading rotation and ground pivot of the base at the action's start."""
        positions, rotations = forward_kinematics_with_rotations(
            self.base.poses[self.first], self.base.trans[self.first])
        yaw = float(yaw_of(rotations[0]))
        pivot = positions[0].astype(np.float64).copy()
        pivot[1] = 0.0
        return yaw, axis_rotation(1, yaw), pivot

    def drive_lower(self, plan: LowerPlan) -> None:
        """Pose root, hips, knees and ankles so the pelvis and feet follow `plan`; root and
        translation keep the plan's final turn and shift after the action ends."""
        base_positions, base_rotations = forward_kinematics_with_rotations(
            self.base.poses[self.first:self.stop].astype(np.float64),
            self.base.trans[self.first:self.stop].astype(np.float64))
        _, heading, pivot = self.heading()
        heading_t = heading.T

        def turned(points: np.ndarray, yaw: np.ndarray) -> np.ndarray:
            return np.einsum("tij,tj->ti", axis_rotation(1, yaw), points - pivot) + pivot

        tilt = heading @ axis_angle_to_matrix(plan.pelvis_tilt) @ heading_t
        root = axis_rotation(1, plan.pelvis_yaw) @ tilt @ base_rotations[:, 0]
        pelvis = turned(base_positions[:, 0], plan.pelvis_yaw) + plan.pelvis_shift @ heading_t
        ankles, feet = [], []
        for k, side in enumerate(SIDES):
            ankle = _LEG[side]["ankle"]
            ankles.append(turned(base_positions[:, ankle], plan.foot_yaw[k])
                          + plan.foot_shift[k] @ heading_t)
            feet.append(axis_rotation(1, plan.foot_yaw[k]) @ base_rotations[:, ankle])
        pelvis[:, 1] -= self._reach_drop(pelvis, root, ankles)
        forward = root[:, :, 2] * np.array([1.0, 0.0, 1.0])
        for k, side in enumerate(SIDES):
            leg = _LEG[side]
            hip = pelvis + root @ _REST_OFFSETS[leg["hip"]]
            toes = feet[k][:, :, 2] * np.array([1.0, 0.0, 1.0])
            pole = unit(unit(toes) + 0.5 * unit(forward))
            thigh_len, shin_len, thigh_dir, shin_dir, rest_normal = _leg_rest(side)
            knee, ankle, normal = two_bone_ik(hip, ankles[k], pole, thigh_len, shin_len)
            thigh, shin = limb_rotations(hip, knee, ankle, normal, thigh_dir, shin_dir,
                                         rest_normal)
            self.set_rotation(leg["hip"], np.swapaxes(root, -1, -2) @ thigh)
            self.set_rotation(leg["knee"], np.swapaxes(thigh, -1, -2) @ shin)
            self.set_rotation(leg["ankle"], np.swapaxes(shin, -1, -2) @ feet[k])
        self.set_rotation(0, root)
        self.root_driven = True
        self.trans = pelvis - _REST_OFFSETS[0]
        self.after_yaw = float(plan.pelvis_yaw[-1])
        self.after_pivot = pivot
        self.after_shift = (plan.pelvis_shift[-1] * np.array([1.0, 0.0, 1.0])) @ heading_t

    def _reach_drop(self, pelvis: np.ndarray, root: np.ndarray,
                    ankles: list[np.ndarray]) -> np.ndarray:
        """(T,) how far to lower the pelvis so both ankles stay within the legs' reach,
        widened and smoothed over 0.2 s so the pelvis never drops abruptly."""
        drop = np.zeros(self.frames)
        for k, side in enumerate(SIDES):
            thigh_len, shin_len, *_ = _leg_rest(side)
            reach = _LEG_REACH * (thigh_len + shin_len)
            hip = pelvis + root @ _REST_OFFSETS[_LEG[side]["hip"]]
            gap = ankles[k] - hip
            horizontal = np.hypot(gap[:, 0], gap[:, 2])
            vertical = np.sqrt(np.maximum(reach**2 - horizontal**2, 0.05**2))
            drop = np.maximum(drop, -gap[:, 1] - vertical)
        drop = np.maximum(drop, 0.0)
        width = max(1, int(round(0.2 * self.fps)))
        padded = np.pad(drop, width, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * width + 1)
        widened = np.pad(windows.max(axis=1), width, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(widened, 2 * width + 1)
        return windows.mean(axis=1)
