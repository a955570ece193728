"""The choreography of every scripted action: what each does to a Stage over its span.

Choreographies live in `action_gestures` (arms, hands, head, torso) and `action_moves` (legs);
times are seconds into the action and every choreography fits whatever span it is given, so an
action can be shortened to fit a clip or slowed down by its style's tempo.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from core.corpus.action_gestures import (
    arms_wide,
    beckon,
    check_watch,
    clap,
    count_on_fingers,
    cross_arms,
    cup_ear,
    facepalm,
    fist_pump,
    fold_hands,
    hand_on_heart,
    hands_behind_back,
    hands_up,
    held_gesture,
    lean_forward,
    look_around,
    look_up,
    nod,
    point,
    raise_hand,
    rub_hands,
    salute,
    scratch_head,
    shake_head,
    shrug,
    stop_sign,
    stretch_arms,
    think,
    thumbs_up,
    tilt_head,
    wave,
)
from core.corpus.action_keys import ON_HIP
from core.corpus.action_moves import bow, jump, side_step, squat, stand_idle, turn, walk
from core.corpus.action_stage import Stage

Choreography = Callable[[Stage], None]

# name -> (parts it owns, typical duration in seconds, choreography)
CHOREOGRAPHIES: dict[str, tuple[frozenset[str], float, Choreography]] = {}


def _add(name: str, parts: str, duration: float, perform: Choreography) -> None:
    CHOREOGRAPHIES[name] = (frozenset(parts.split()), duration, perform)


_add("wave_right_hand", "upper hands", 2.6, partial(wave, side="right"))
_add("wave_left_hand", "upper hands", 2.6, partial(wave, side="left"))
_add("wave_both_hands", "upper hands", 2.8, partial(wave, side="both"))
_add("nod", "upper", 1.8, nod)
_add("shake_head", "upper", 1.8, shake_head)
_add("shrug", "upper hands", 2.0, shrug)
_add("point_forward", "upper hands", 2.2, partial(point, direction="forward"))
_add("point_left", "upper hands", 2.2, partial(point, direction="left"))
_add("point_right", "upper hands", 2.2, partial(point, direction="right"))
_add("point_up", "upper hands", 2.2, partial(point, direction="up"))
_add("point_down", "upper hands", 2.2, partial(point, direction="down"))
_add("point_at_self", "upper hands", 2.0, partial(point, direction="self"))
_add("clap", "upper hands", 2.6, partial(clap, high=False))
_add("applaud_overhead", "upper hands", 2.8, partial(clap, high=True))
_add("cross_arms", "upper hands", 3.2, cross_arms)
_add("hands_on_hips", "upper hands", 3.0,
     partial(held_gesture, key=ON_HIP, shape="flat", sides=("left", "right"), prep=0.8))
_add("bow", "upper hands lower", 2.8, bow)
_add("thumbs_up", "upper hands", 2.2, thumbs_up)
_add("facepalm", "upper hands", 2.6, facepalm)
_add("scratch_head", "upper hands", 2.6, scratch_head)
_add("walk_forward", "lower", 4.0, partial(walk, direction=1.0))
_add("walk_backward", "lower", 4.0, partial(walk, direction=-1.0))
_add("turn_left", "lower", 2.8, partial(turn, direction=1.0))
_add("turn_right", "lower", 2.8, partial(turn, direction=-1.0))
_add("side_step_left", "lower", 2.4, partial(side_step, direction=1.0))
_add("side_step_right", "lower", 2.4, partial(side_step, direction=-1.0))
_add("jump", "upper hands lower", 2.6, jump)
_add("squat", "upper hands lower", 3.2, squat)
_add("raise_right_hand", "upper hands", 2.6, partial(raise_hand, side="right"))
_add("raise_left_hand", "upper hands", 2.6, partial(raise_hand, side="left"))
_add("count_on_fingers", "upper hands", 3.6, count_on_fingers)
_add("beckon", "upper hands", 2.6, beckon)
_add("stop_sign", "upper hands", 2.2, stop_sign)
_add("arms_wide", "upper hands", 2.6, arms_wide)
_add("hand_on_heart", "upper hands", 2.6, hand_on_heart)
_add("think", "upper hands", 3.2, think)
_add("look_around", "upper", 3.4, look_around)
_add("salute", "upper hands", 2.2, salute)
_add("stretch_arms_up", "upper hands", 3.2, stretch_arms)
_add("fold_hands", "upper hands", 3.0, fold_hands)
_add("rub_hands", "upper hands", 2.6, rub_hands)
_add("check_watch", "upper hands", 2.6, check_watch)
_add("lean_forward", "upper", 2.6, lean_forward)
_add("stand_idle", "upper hands lower", 3.0, stand_idle)
_add("look_up", "upper", 2.2, look_up)
_add("tilt_head", "upper", 2.0, tilt_head)
_add("hands_up", "upper hands", 2.6, hands_up)
_add("fist_pump", "upper hands", 2.4, fist_pump)
_add("cup_ear", "upper hands", 2.6, cup_ear)
_add("hands_behind_back", "upper hands", 3.2, hands_behind_back)
