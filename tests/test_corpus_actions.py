"""Actions from text: the catalogue, its phrasings, and that each action looks like what it says."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from core.corpus.actions import ACTIONS, Action, action_names, describe
from core.corpus.plausibility import check_motion
from core.corpus.style import STYLES
from core.emotions import EMOTIONS
from core.errors import BodyLanguageError
from core.limb_ik import yaw_of
from core.motion import Motion
from core.rotations import axis_angle_to_matrix
from core.skeleton import (
    JOINT_INDEX,
    PART_JOINTS,
    forward_kinematics,
    forward_kinematics_with_rotations,
)

J = JOINT_INDEX
NEUTRAL = STYLES["neutral"]


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def perform(name: str, style=NEUTRAL, seed: int = 0, base: Motion | None = None,
            extra: float = 1.0, **kwargs) -> Motion:
    action = ACTIONS[name]
    if base is None:
        base = Motion.rest(int(round((action.duration / style.tempo + extra) * 30)))
    return action.animate(base, style, np.random.default_rng(seed), **kwargs)


def joints(motion: Motion) -> np.ndarray:
    return forward_kinematics(motion.poses.astype(np.float64), motion.trans.astype(np.float64))


def held(motion: Motion) -> slice:
    """The middle of the action's span, where a gesture holds."""
    first, stop = motion.extras["action_frames"]
    length = stop - first
    return slice(first + int(0.4 * length), first + int(0.6 * length))


def sole_heights(motion: Motion, side: str) -> np.ndarray:
    """(T,) lowest of the ankle and foot joints' heights above their rest heights."""
    p = joints(motion)
    return np.minimum(p[:, J[f"{side}_ankle"], 1] - 0.08, p[:, J[f"{side}_foot"], 1] - 0.025)


# -- catalogue ---------------------------------------------------------------------------------


def test_there_are_at_least_forty_actions_each_with_six_plus_two_phrasings():
    assert len(ACTIONS) >= 40
    assert action_names() == tuple(ACTIONS)
    for name, action in ACTIONS.items():
        assert isinstance(action, Action) and action.name == name
        assert len(set(action.descriptions)) == len(action.descriptions) >= 6, name
        assert len(set(action.heldout_descriptions)) == len(action.heldout_descriptions) >= 2
        assert action.duration > 0.5
        assert action.parts and action.parts <= {"face", "hands", "upper", "lower"}


def test_heldout_phrasings_use_different_words_not_just_another_order():
    for name, action in ACTIONS.items():
        train_bags = [sorted(words(text)) for text in action.descriptions]
        for text in action.heldout_descriptions:
            assert text not in action.descriptions, name
            assert sorted(words(text)) not in train_bags, (name, text)
            # Most of its words must not all come from one training phrasing.
            for train in action.descriptions:
                assert not set(words(text)) <= set(words(train)), (name, text, train)


def test_every_phrasing_names_exactly_one_action():
    seen: dict[str, str] = {}
    for name, action in ACTIONS.items():
        for text in action.descriptions + action.heldout_descriptions:
            key = " ".join(words(text))
            assert key not in seen, f"{text!r} describes both {seen.get(key)} and {name}"
            seen[key] = name


def test_describe_draws_from_the_requested_split_deterministically():
    rng = np.random.default_rng(3)
    for name in ("wave_right_hand", "walk_forward", "bow"):
        action = ACTIONS[name]
        train = {describe(rng, name, "train") for _ in range(60)}
        heldout = {describe(rng, name, "heldout") for _ in range(30)}
        assert train <= set(action.descriptions) and len(train) > 3
        assert heldout == set(action.heldout_descriptions)
    first = [describe(np.random.default_rng(9), n, "train") for n in action_names()]
    again = [describe(np.random.default_rng(9), n, "train") for n in action_names()]
    assert first == again
    with pytest.raises(BodyLanguageError, match="unknown action"):
        describe(rng, "moonwalk", "train")
    with pytest.raises(BodyLanguageError, match="split"):
        describe(rng, "nod", "test")


# -- every action -------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(ACTIONS)))
def test_every_action_is_plausible_and_moves_only_its_own_parts(index):
    name = action_names()[index]
    style = STYLES[EMOTIONS[index % len(EMOTIONS)]]  # every emotion gets several actions
    base = Motion.rest(int(round(ACTIONS[name].duration / style.tempo * 30)))
    motion = ACTIONS[name].animate(base, style, np.random.default_rng(index))
    assert motion.num_frames == base.num_frames
    assert check_motion(motion) == [], f"{name}: {[str(p) for p in check_motion(motion)]}"
    owned = {j for part in ACTIONS[name].parts for j in PART_JOINTS[part]}
    moved = {int(j) for j in np.flatnonzero(np.abs(motion.poses - base.poses).max(axis=(0, 2))
                                             > 1e-6)}
    assert moved, f"{name} does nothing"
    assert moved <= owned, f"{name} moves joints {sorted(moved - owned)} it does not own"
    np.testing.assert_array_equal(motion.face, base.face)
    if "lower" not in ACTIONS[name].parts:
        np.testing.assert_array_equal(motion.trans, base.trans)


def test_an_action_over_speech_keeps_the_unowned_parts_and_rejoins_the_base():
    rng = np.random.default_rng(0)
    frames = 150
    t = np.arange(frames)[:, None, None] / 30.0
    # A "speaking" base: every joint sways slowly and smoothly, the root stays put.
    phase = rng.uniform(0, 2 * np.pi, (1, 55, 3))
    poses = (0.06 * np.sin(2 * np.pi * 0.7 * t + phase)).astype(np.float32)
    base = replace(Motion.rest(frames), poses=poses,
                   face=rng.uniform(0, 1, (frames, 52)).astype(np.float32))
    motion = ACTIONS["nod"].animate(base, NEUTRAL, rng, start=1.0)
    first, stop = motion.extras["action_frames"]
    assert first == 30 and stop == 30 + round(ACTIONS["nod"].duration * 30)
    untouched = [j for j in range(55) if j not in (J["neck"], J["head"])]
    np.testing.assert_array_equal(motion.poses[:, untouched], base.poses[:, untouched])
    np.testing.assert_array_equal(motion.poses[:first], base.poses[:first])
    np.testing.assert_allclose(motion.poses[stop:], base.poses[stop:], atol=1e-6)
    assert np.abs(motion.poses[first:stop, J["head"]] - base.poses[first:stop, J["head"]]).max() \
        > 0.05


def test_start_and_end_place_the_action_and_bad_times_are_refused():
    motion = perform("clap", start=0.5, end=2.5, extra=2.0)
    assert motion.extras["action_frames"] == (15, 75)
    with pytest.raises(BodyLanguageError, match="starts at"):
        perform("clap", start=30.0)
    with pytest.raises(BodyLanguageError, match="start"):
        perform("clap", start=-1.0)
    with pytest.raises(BodyLanguageError, match="not after"):
        perform("clap", start=1.0, end=0.5)


def test_actions_are_deterministic_for_a_seed_and_vary_across_seeds():
    for name in ("wave_both_hands", "walk_forward", "look_around"):
        a, b, c = perform(name, seed=4), perform(name, seed=4), perform(name, seed=5)
        np.testing.assert_array_equal(a.poses, b.poses)
        np.testing.assert_array_equal(a.trans, b.trans)
        assert not np.array_equal(a.poses, c.poses)


def test_short_spans_still_give_plausible_actions():
    for name in ("stretch_arms_up", "jump", "squat", "turn_left", "count_on_fingers"):
        motion = perform(name, extra=0.5, end=1.2)
        assert check_motion(motion) == [], (name, [str(p) for p in check_motion(motion)])


# -- each looks like what it says ----------------------------------------------------------------


@pytest.mark.parametrize("side,other", [("right", "left"), ("left", "right")])
def test_waving_moves_that_hand_high_and_side_to_side_and_leaves_the_other(side, other):
    motion = perform(f"wave_{side}_hand")
    p = joints(motion)
    wrist, still = p[:, J[f"{side}_wrist"]], p[:, J[f"{other}_wrist"]]
    assert np.ptp(wrist, axis=0).max() > 0.4
    assert np.ptp(still, axis=0).max() < 0.01
    hold = wrist[held(motion)]
    assert (hold[:, 1] > p[held(motion), J["head"], 1] - 0.1).all()  # up by the head
    assert np.sign(hold[:, 0].mean()) == (1 if side == "left" else -1)
    sweeps = np.diff(np.sign(np.diff(wrist[motion.extras["action_frames"][0]:, 0])))
    assert np.count_nonzero(sweeps) >= 4  # back and forth several times


def test_waving_both_hands_raises_both():
    p = joints(perform("wave_both_hands"))
    for side in ("left", "right"):
        assert p[:, J[f"{side}_wrist"], 1].max() > p[:, J["head"], 1].max()


@pytest.mark.parametrize("name,joint,axis,sign", [
    ("point_left", "left_index3", 0, 1.0),
    ("point_right", "right_index3", 0, -1.0),
    ("point_forward", "right_index3", 2, 1.0),
    ("point_up", "right_index3", 1, 1.0),
])
def test_pointing_puts_the_index_tip_far_out_in_that_direction(name, joint, axis, sign):
    motion = perform(name)
    p = joints(motion)[held(motion)]
    shoulder = p[:, J["left_shoulder" if joint.startswith("left") else "right_shoulder"]]
    reach = sign * (p[:, J[joint], axis] - shoulder[:, axis])
    assert (reach > 0.4).all(), f"{name}: {reach.min():.2f}"
    # The index is straight and the middle finger curled: a pointing hand.
    hand = joint.split("_")[0]
    pose = motion.poses[held(motion)]
    assert np.linalg.norm(pose[:, J[f"{hand}_index1"]], axis=-1).max() < 0.2
    assert np.linalg.norm(pose[:, J[f"{hand}_middle1"]], axis=-1).min() > 1.0


@pytest.mark.parametrize("side", ["left", "right"])
def test_raising_a_hand_lifts_that_hand_above_the_head(side):
    motion = perform(f"raise_{side}_hand")
    p = joints(motion)[held(motion)]
    assert (p[:, J[f"{side}_wrist"], 1] > p[:, J["head"], 1] + 0.2).all()
    other = "left" if side == "right" else "right"
    assert (p[:, J[f"{other}_wrist"], 1] < p[:, J["head"], 1]).all()


def head_direction(motion: Motion) -> np.ndarray:
    _, rotations = forward_kinematics_with_rotations(motion.poses.astype(np.float64),
                                                     motion.trans.astype(np.float64))
    return rotations[:, J["head"], :, 2]  # where the face points


def test_nodding_pitches_the_head_and_shaking_turns_it():
    nod = head_direction(perform("nod"))
    shake = head_direction(perform("shake_head"))
    nod_pitch, shake_pitch = np.arcsin(-nod[:, 1]), np.arcsin(-shake[:, 1])
    nod_yaw, shake_yaw = np.arctan2(nod[:, 0], nod[:, 2]), np.arctan2(shake[:, 0], shake[:, 2])
    assert np.ptp(nod_pitch) > np.radians(12) and np.ptp(nod_yaw) < np.radians(2)
    assert np.ptp(shake_yaw) > np.radians(30) and np.ptp(shake_pitch) < np.radians(8)
    assert nod_pitch.max() > np.radians(10)  # + looks down: the chin drops


@pytest.mark.parametrize("name,sign", [("walk_forward", 1.0), ("walk_backward", -1.0)])
def test_walking_moves_the_root_along_the_facing_with_planted_feet(name, sign):
    motion = perform(name, extra=1.0)
    stop = motion.extras["action_frames"][1]
    assert sign * motion.trans[stop - 1, 2] > 0.5
    assert abs(motion.trans[stop - 1, 0]) < 0.05
    # The new place holds after the action; no slide, and the feet did lift and land.
    assert np.abs(motion.trans[stop:] - motion.trans[stop - 1]).max() < 1e-3
    problems = check_motion(motion)
    assert [p for p in problems if p.check in ("foot_slide", "floor")] == []
    for side in ("left", "right"):
        height = sole_heights(motion, side)
        assert height.max() > 0.04 and abs(height.min()) < 0.01


@pytest.mark.parametrize("name,sign", [("side_step_left", 1.0), ("side_step_right", -1.0)])
def test_side_steps_move_the_root_sideways(name, sign):
    motion = perform(name)
    assert sign * motion.trans[-1, 0] > 0.2 and abs(motion.trans[-1, 2]) < 0.05
    assert check_motion(motion) == []


@pytest.mark.parametrize("name,sign", [("turn_left", 1.0), ("turn_right", -1.0)])
def test_turning_rotates_the_pelvis_yaw_and_keeps_it(name, sign):
    motion = perform(name, extra=1.0)
    yaw = yaw_of(axis_angle_to_matrix(motion.poses[:, 0].astype(np.float64)))
    stop = motion.extras["action_frames"][1]
    assert np.radians(60) < sign * yaw[stop - 1] < np.radians(120)
    assert np.abs(yaw[stop:] - yaw[stop - 1]).max() < 1e-3
    assert np.abs(motion.trans[:, [0, 2]]).max() < 0.05  # turns on the spot
    assert check_motion(motion) == []


def test_jumping_lifts_the_root_and_both_feet_then_lands():
    motion = perform("jump")
    y = motion.trans[:, 1]
    apex = int(np.argmax(y))
    assert y[apex] > 0.08
    assert abs(y[-1]) < 0.01 and y.min() < -0.05  # crouches to take off and to land
    for side in ("left", "right"):
        assert sole_heights(motion, side)[apex] > 0.05


def test_squatting_lowers_the_pelvis_with_the_feet_planted():
    motion = perform("squat")
    assert motion.trans[held(motion), 1].max() < -0.25
    p = joints(motion)
    for side in ("left", "right"):
        assert np.abs(p[:, J[f"{side}_ankle"]] - p[0, J[f"{side}_ankle"]]).max() < 2e-3


def test_bowing_tips_the_upper_body_forward():
    motion = perform("bow")
    p = joints(motion)
    lean = p[:, J["neck"], 2] - p[:, J["pelvis"], 2]
    assert lean[held(motion)].min() > 0.3


def test_hands_on_hips_and_hand_on_heart_reach_their_places():
    motion = perform("hands_on_hips")
    p = joints(motion)[held(motion)]
    for side, sign in (("left", 1.0), ("right", -1.0)):
        wrist = p[:, J[f"{side}_wrist"]]
        assert (np.abs(wrist[:, 1] - p[:, J["pelvis"], 1]) < 0.15).all()
        assert (sign * wrist[:, 0] > 0.15).all()
    motion = perform("hand_on_heart")
    p = joints(motion)[held(motion)]
    palm = p[:, J["right_middle1"]]
    chest = p[:, J["spine3"]]
    assert (palm[:, 0] > chest[:, 0]).all()  # on the left side of the chest
    assert (np.linalg.norm(palm - chest, axis=-1) < 0.25).all()


def test_style_scales_gesture_size_and_tempo_scales_its_length():
    def swing(style_name: str) -> tuple[float, int]:
        motion = perform("wave_right_hand", STYLES[style_name], seed=1)
        wrist = joints(motion)[held(motion), J["right_wrist"], 0]
        first, stop = motion.extras["action_frames"]
        return float(np.ptp(wrist)), stop - first

    happy, happy_frames = swing("happiness")
    sad, sad_frames = swing("sadness")
    assert happy > 1.3 * sad
    assert sad_frames > happy_frames  # sadness is slower
    deep = perform("nod", STYLES["anger"], seed=1)
    shallow = perform("nod", STYLES["sadness"], seed=1)
    # Within the nodding (the style's resting head pitch aside) anger nods deeper.
    assert np.ptp(deep.poses[held(deep), J["head"], 0]) > 1.5 * np.ptp(
        shallow.poses[held(shallow), J["head"], 0])
