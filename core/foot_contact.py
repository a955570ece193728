"""Planted feet stay planted: the root moves only with steps, and the legs hold each foot on
its spot.

The lower-body tokenizer decodes root velocity and leg rotations separately, so even the
teacher's own codes decode with feet that slide 1-9 cm/s while on the floor (measured on corpus
clips; the teacher's are still). A decoded root drift is therefore taken out where a foot is on
the floor (`planted_root`): the root then moves exactly as much as keeps the planted feet where
they stand, and follows the decoded velocity only while no foot is down (a step, a jump). What
the decoded legs still move is then undone by leg IK (`lock_feet`). Contacts are read from the
motion itself, as the foot-skate metric reads them (core/eval/performance.py).
"""

from __future__ import annotations

import numpy as np

from core.limb_ik import frame, perpendicular, two_bone_ik, unit
from core.rotations import matrix_to_axis_angle, quaternion_to_matrix
from core.skeleton import (
    JOINT_INDEX,
    default_rest_offsets,
    forward_kinematics,
    forward_kinematics_with_rotations,
)

FEET = ("left_ankle", "right_ankle", "left_foot", "right_foot")
CONTACT_HEIGHT_M = 0.04  # within this of a foot joint's lowest point in the clip: on the floor
_HORIZONTAL = [0, 2]


def planted_root(poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """(T, 3) root translation with the horizontal drift of planted feet removed; the height and
    the first frame are unchanged."""
    frames = trans.shape[0]
    if frames < 2:
        return trans.copy()
    local = forward_kinematics(poses)[:, [JOINT_INDEX[name] for name in FEET]]  # (T, 4, 3)
    height = local[..., 1] + trans[:, 1:2]
    contact = height <= height.min(axis=0) + CONTACT_HEIGHT_M  # (T, 4)
    held = contact[1:] & contact[:-1]  # (T-1, 4): on the floor on both frames of a step
    # Where feet are held, the root moves so that they do not: minus their local movement.
    feet_motion = local[:-1][..., _HORIZONTAL] - local[1:][..., _HORIZONTAL]  # (T-1, 4, 2)
    count = held.sum(axis=1)
    pinned = (feet_motion * held[..., None]).sum(axis=1) / np.maximum(count, 1)[:, None]
    decoded = np.diff(trans[:, _HORIZONTAL], axis=0)
    step = np.where((count > 0)[:, None], pinned, decoded)
    out = trans.astype(np.float64).copy()
    out[1:, _HORIZONTAL] = trans[0, _HORIZONTAL] + np.cumsum(step, axis=0)
    return out.astype(trans.dtype)


# --- Foot locking with leg IK -----------------------------------------------------------------
#
# Removing root drift cannot stop a foot that the decoded legs themselves move about (4-8 cm/s on
# the floor in generated clips after `planted_root`; the teacher's are still). So each foot joint
# the skate metric watches (ankle, ball of the foot) is pinned at one spot of the floor plan for
# each stretch it spends on the floor, and the leg is re-solved to reach it: an analytic two-bone
# IK moves the hip and knee rotations as little as it takes, the ankle rotation keeps the foot's
# own world orientation (but for a turn about the vertical), and the pin fades in and out on
# either side of the stretch, where the foot is in the air.

# The hysteresis band: a stretch begins at CONTACT_HEIGHT_M (the metric's threshold, so every
# frame the metric calls planted is locked) and lasts until the foot is this much higher still.
CONTACT_MARGIN_M = 0.01
# A foot that covers more than STEP_SPEED_M_S over STEP_WINDOW_S is stepping or sliding on
# purpose (a shuffle below the threshold), not planted: decoded jitter goes back and forth, and
# in generated clips 99% of planted frames net under 6 cm over the window against this 7.5 cm.
STEP_SPEED_M_S = 0.25
STEP_WINDOW_S = 0.3
# A lift of the foot no longer than LIFT_S that puts it down less than STEP_MIN_M from where it
# rose is a weight shift, not a step: the stretches on either side share one pin.
LIFT_S = 0.5
STEP_MIN_M = 0.08
MIN_CONTACT_FRAMES = 3  # shorter touches are a foot passing low, locking them would stutter it
BLEND_S = 0.25  # shortest time over which a pin fades in before a stretch and out after it
FADE_SPEED_M_S = 0.2  # fastest a fading pin may move a foot (a longer fade where it would not)
# Between two pins the correction moves with the foot's own travel; this much speed counts too,
# so a lift with hardly any travel still spreads the correction evenly over its frames.
BRIDGE_PACE_M_S = 0.1
MAX_REACH = 0.995  # share of the leg's length a pinned ankle may ask for (not locked straight)
LEGS: dict[str, tuple[int, int, int, int]] = {
    side: tuple(JOINT_INDEX[f"{side}_{joint}"] for joint in ("hip", "knee", "ankle", "foot"))
    for side in ("left", "right")
}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each stretch of True in a (T,) mask."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def contact_runs(joint: np.ndarray, fps: float) -> list[tuple[int, int]]:
    """[start, stop) stretches where one foot joint's (T, 3) world path is planted on the floor.

    The floor is the joint's lowest point in the clip, as the skate metric reads it; a stretch
    starts below the metric's contact height and ends above it plus CONTACT_MARGIN_M, so a foot
    hovering at the threshold is not locked and released every other frame. Brief lifts that
    are no step are closed (see `_close_lifts`); a foot sliding or stepping along the floor is
    not planted, and the frames around its move are left free too, so the move is never squeezed
    into a gap of a frame or two between pins.
    """
    frames = len(joint)
    height = joint[:, 1] - joint[:, 1].min()
    low, near = height <= CONTACT_HEIGHT_M, height <= CONTACT_HEIGHT_M + CONTACT_MARGIN_M
    planted = np.zeros(frames, bool)
    for start, stop in _runs(near):
        planted[start:stop] = low[start:stop].any()
    flat = joint[:, _HORIZONTAL]
    planted = _close_lifts(planted, flat, max(1, round(LIFT_S * fps)))
    half = max(1, round(STEP_WINDOW_S * fps / 2))
    ahead = np.minimum(np.arange(frames) + half, frames - 1)
    behind = np.maximum(np.arange(frames) - half, 0)
    moving = np.linalg.norm(flat[ahead] - flat[behind], axis=1) > STEP_SPEED_M_S * 2 * half / fps
    moving = _widened(moving, 2 * half + 1)
    return [(a, b) for a, b in _runs(planted & ~moving) if b - a >= MIN_CONTACT_FRAMES]


def _widened(mask: np.ndarray, shortest: int) -> np.ndarray:
    """(T,) mask whose stretches of True are at least `shortest` frames long, short ones grown
    evenly on both sides."""
    wide = mask.copy()
    for start, stop in _runs(mask):
        grow = max(0, shortest - (stop - start))
        wide[max(0, start - grow // 2):stop + grow - grow // 2] = True
    return wide


def _close_lifts(planted: np.ndarray, flat: np.ndarray, longest: int) -> np.ndarray:
    """(T,) contact mask with the short lifts closed where the foot comes down where it rose.

    Each stretch is pinned at its own mean, and the decoder's wobble puts consecutive means a few
    centimetres apart whatever the foot did in between; a brief lift would then have to carry
    the foot that far in a handful of frames. A lift that is not a step keeps one pin instead.
    """
    closed = planted.copy()
    runs = _runs(planted)
    for (_, stop), (start, _) in zip(runs[:-1], runs[1:], strict=True):
        if start - stop <= longest and np.linalg.norm(flat[start] - flat[stop - 1]) < STEP_MIN_M:
            closed[stop:start] = True
    return closed


def pin_offsets(
    path: np.ndarray, runs: list[tuple[int, int]], fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """(T, D) displacements that pin a (T, D) path at its mean over each run, and the (T,)
    weight of the pin: 1 on the runs and on the short gaps between them, fading to 0 on either
    side of a longer gap.

    A pin fades over BLEND_S, or longer where its displacement would otherwise move the foot
    faster than FADE_SPEED_M_S. A gap too short for both fades (a step, a lift) instead carries
    the foot from one pin to the next, paced by the path's own travel: the correction moves while
    the foot does, not in the still frames of lift-off and touch-down.
    """
    frames = len(path)
    offset = np.zeros(path.shape)
    weight = np.zeros(frames)
    for start, stop in runs:
        offset[start:stop] = path[start:stop].mean(axis=0) - path[start:stop]
        weight[start:stop] = 1.0
    bounds = [0] + [edge for run in runs for edge in run] + [frames]
    for stop, start in zip(bounds[::2], bounds[1::2], strict=True):  # free frames [stop, start)
        leave = _fade_frames(offset[stop - 1], fps) if stop > 0 else 0
        land = _fade_frames(offset[start], fps) if start < frames else 0
        if leave and land and start - stop <= leave + land:
            progress = _smoothstep(_travelled(path[stop - 1:start + 1], fps)[1:-1])[:, None]
            offset[stop:start] = (1.0 - progress) * offset[stop - 1] + progress * offset[start]
            weight[stop:start] = 1.0
            continue
        for frames_off, edge, length in ((np.arange(stop, start), stop - 1, leave),
                                         (np.arange(start - 1, stop - 1, -1), start, land)):
            if length == 0:  # the clip's own start or end: nothing to fade from
                continue
            ramp = _smoothstep(1.0 - np.arange(1, length + 1) / (length + 1.0))
            frames_off = frames_off[:length]
            offset[frames_off] = ramp[: len(frames_off), None] * offset[edge]
            weight[frames_off] = ramp[: len(frames_off)]
    return offset, weight


def _fade_frames(displacement: np.ndarray, fps: float) -> int:
    """Frames over which a pin of this displacement fades: BLEND_S, or as many more as keep the
    fade's steepest step (1.5 times its mean for a smoothstep) under FADE_SPEED_M_S."""
    steepest = 1.5 * float(np.linalg.norm(displacement)) * fps / FADE_SPEED_M_S
    return max(1, round(BLEND_S * fps), int(np.ceil(steepest)))


def _travelled(path: np.ndarray, fps: float) -> np.ndarray:
    """(N,) share of the way along a (N, D) path covered at each frame, 0 to 1. Each frame
    also counts BRIDGE_PACE_M_S of travel, so a foot that barely moves is paced by time."""
    step = np.linalg.norm(np.diff(path, axis=0), axis=-1) + BRIDGE_PACE_M_S / fps
    covered = np.concatenate([[0.0], np.cumsum(step)])
    return covered / covered[-1]


def _smoothstep(x: np.ndarray) -> np.ndarray:
    return x * x * (3.0 - 2.0 * x)


def lock_feet(poses: np.ndarray, trans: np.ndarray, fps: float) -> np.ndarray:
    """(T, 55, 3) poses whose feet stay put on the floor plan while they are planted.

    Only the hip, knee and ankle rotations change, and only on and around the stretches a foot
    joint is planted (see `contact_runs`); the root, the upper body and all other frames are
    returned exactly as given. Pins are horizontal: a planted foot keeps the height it was
    decoded at, because the skate metric reads contact from height and a pin at any other height
    would move its floor and with it which frames count as planted.
    """
    # FK in the poses' own precision (float32 from the decoder) is a third faster and its
    # sub-micrometre error is far below anything a pin can show; the IK runs in float64.
    fk = forward_kinematics_with_rotations(np.asarray(poses), np.asarray(trans))
    positions, world = (np.asarray(x, np.float64) for x in fk)
    out = np.array(poses, copy=True)
    for chain in LEGS.values():
        ankle, foot = chain[2], chain[3]
        ankle_shift, ankle_weight = _pins(positions[:, ankle], fps)
        toe_shift, toe_weight = _pins(positions[:, foot], fps)
        frames = np.flatnonzero((ankle_weight > 0) | (toe_weight > 0))
        if frames.size == 0:
            continue
        p, w = positions[frames], world[frames]
        a_weight, t_weight = ankle_weight[frames, None], toe_weight[frames, None]
        # Where the heel is up but the ball of the foot is held, the whole foot follows the
        # ball's pin, so it pivots about the ball instead of sliding.
        ankle_flat = (p[:, ankle][:, _HORIZONTAL] + ankle_shift[frames]
                      + (1.0 - a_weight) * toe_shift[frames])
        toe_flat = p[:, foot][:, _HORIZONTAL] + toe_shift[frames]
        local = _relocked_leg(p, w, chain, (ankle_flat, toe_flat),
                              t_weight, t_weight * (1.0 - a_weight))
        out[frames[:, None], list(chain[:3])] = matrix_to_axis_angle(local).astype(out.dtype)
    return out


def _pins(joint: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, 2) horizontal pin displacements of one foot joint's (T, 3) path and their weights."""
    return pin_offsets(joint[:, _HORIZONTAL], contact_runs(joint, fps), fps)


def _relocked_leg(
    positions: np.ndarray,
    world: np.ndarray,
    chain: tuple[int, int, int, int],
    places: tuple[np.ndarray, np.ndarray],
    toe_weight: np.ndarray,
    ball_holds: np.ndarray,
) -> np.ndarray:
    """(N, 3, 3, 3) new local hip, knee and ankle rotations of one leg on N frames.

    `positions` (N, 55, 3) and `world` (N, 55, 3, 3) are the frames' FK; `places` are where the
    ankle and the ball of the foot should be on the floor plan, (N, 2) each. The ball's place
    counts with `toe_weight` (N, 1) and, where the two disagree, wins over the ankle's with
    `ball_holds` (N, 1): on a foot flat on the floor the ankle holds and the foot turns about it.
    The ankle keeps its height (or rises as little as the leg's reach needs) and the foot its
    world orientation save a turn about the vertical.
    """
    hip, knee, ankle, _ = chain
    ankle_flat, toe_flat = places
    offsets = default_rest_offsets()
    thigh, shin = float(np.linalg.norm(offsets[knee])), float(np.linalg.norm(offsets[ankle]))
    h, k, a, t = (positions[:, j] for j in chain)
    goal = a.copy()
    goal[:, _HORIZONTAL] = _ankle_behind_ball(ankle_flat, toe_flat, t - a, ball_holds)
    # The knee's pole is its own side of the hip-ankle line, so the bend plane only turns as much
    # as the new ankle direction makes it; a straight leg falls back on where the kneecap faces.
    direction = unit(a - h)
    kneecap = world[:, hip] @ np.array([0.0, 0.0, 1.0])
    pole = perpendicular(k - h, direction, fallback=kneecap)
    normal = unit(np.cross(direction, pole))
    decoded = np.linalg.norm(a - h, axis=-1)
    new_knee, new_ankle, new_normal = two_bone_ik(
        h, _within_reach(h, goal, decoded, thigh + shin), pole, thigh, shin, max_reach=1.0
    )
    thigh_world = _turn(k - h, normal, new_knee - h, new_normal) @ world[:, hip]
    shin_world = _turn(a - k, normal, new_ankle - new_knee, new_normal) @ world[:, knee]
    pointed = _foot_toward(new_ankle, t - a, toe_flat, toe_weight)
    foot_world = _swing(t - a, pointed) @ world[:, ankle]
    parents = (world[:, 0], thigh_world, shin_world)
    children = (thigh_world, shin_world, foot_world)
    return np.stack([np.swapaxes(p, -1, -2) @ c for p, c in zip(parents, children, strict=True)],
                    axis=1)


def _ankle_behind_ball(ankle_flat: np.ndarray, toe_flat: np.ndarray, foot_bone: np.ndarray,
                       weight: np.ndarray) -> np.ndarray:
    """(N, 2) ankle place on the floor plan moved, by `weight` (N, 1), to where a rigid foot
    joins it to the ball's place.

    Ankle and ball are pinned apart, each at its own mean, and the pins need not lie exactly one
    foot length apart (nor do blending pins); held to the ball, the ankle slides along the foot
    to its decoded distance from the ball. Bending the foot to fit instead would swing its pitch
    by tens of degrees for a centimetre's mismatch.
    """
    flat_bone = foot_bone[:, _HORIZONTAL]
    along = toe_flat - ankle_flat
    along = np.where(np.linalg.norm(along, axis=-1, keepdims=True) > 1e-6, along, flat_bone)
    behind = toe_flat - np.linalg.norm(flat_bone, axis=-1, keepdims=True) * unit(along)
    return ankle_flat + weight * (behind - ankle_flat)


def _foot_toward(ankle: np.ndarray, foot_bone: np.ndarray, toe_flat: np.ndarray,
                 toe_weight: np.ndarray) -> np.ndarray:
    """(N, 3) ankle-to-ball vector of the foot turned about the vertical so that the ball heads
    for `toe_flat` (N, 2) in proportion to `toe_weight` (N, 1); its pitch is left as decoded."""
    flat_bone = foot_bone[:, _HORIZONTAL]
    carried = ankle[:, _HORIZONTAL] + flat_bone
    heading = carried + toe_weight * (toe_flat - carried) - ankle[:, _HORIZONTAL]
    pointed = foot_bone.copy()
    pointed[:, _HORIZONTAL] = np.linalg.norm(flat_bone, axis=-1, keepdims=True) * unit(heading)
    return pointed


def _within_reach(hip: np.ndarray, goal: np.ndarray, decoded: np.ndarray,
                  leg: float) -> np.ndarray:
    """Ankle goals the leg reaches without snapping straight.

    A goal farther from the hip than the `decoded` (N,) ankle was eases in below the longest
    reach (MAX_REACH of the `leg`'s length, or the decoded reach if longer): near full extension
    a millimetre of reach swings the knee by centimetres. The goal is raised to that distance
    rather than pulled toward the hip, so the foot keeps its place on the floor plan and only
    lifts a little; one too far even horizontally is pulled in along the hip-goal line.
    """
    reach = goal - hip
    distance = np.linalg.norm(reach, axis=-1)
    room = np.maximum(MAX_REACH * leg - decoded, 1e-6)
    longest = np.where(distance > decoded, decoded + room * np.tanh((distance - decoded) / room),
                       distance)
    flat_sq = reach[:, 0] ** 2 + reach[:, 2] ** 2
    raised = goal.copy()
    raised[:, 1] = hip[:, 1] - np.sqrt(np.maximum(longest**2 - flat_sq, 0.0))
    pulled = hip + reach * (longest / np.maximum(distance, 1e-12))[:, None]
    fits_flat = (flat_sq < longest**2)[:, None]
    return np.where((distance <= longest)[:, None], goal, np.where(fits_flat, raised, pulled))


def _turn(bone: np.ndarray, normal: np.ndarray, new_bone: np.ndarray,
          new_normal: np.ndarray) -> np.ndarray:
    """(N, 3, 3) world rotation taking a bone and its bend-plane normal to their new directions,
    applied on top of the bone's rotation so its twist and any off-hinge bend are kept."""
    return frame(new_bone, new_normal) @ np.swapaxes(frame(bone, normal), -1, -2)


def _swing(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N, 3, 3) shortest rotation turning the directions `source` (N, 3) onto `target`."""
    u, v = unit(source), unit(target)
    half = np.concatenate([1.0 + np.sum(u * v, axis=-1, keepdims=True), np.cross(u, v)], axis=-1)
    # Opposite directions have no shortest turn; a foot never swings half a turn, so keep it.
    half[half[:, 0] < 1e-9] = (1.0, 0.0, 0.0, 0.0)
    return quaternion_to_matrix(half)
