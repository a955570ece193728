"""The procedural performer: timing, determinism, gesture meaning, hands, feet and torso."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.corpus.hands import HAND_SHAPES, hand_pose
from core.corpus.performer import perform
from core.corpus.script import GESTURE_TAGS, Sentence, Utterance, Word
from core.corpus.style import STYLES
from core.errors import BodyLanguageError
from core.motion import Motion
from core.skeleton import (
    FINGERTIP_LENGTH,
    JOINT_INDEX,
    default_rest_offsets,
    forward_kinematics,
    forward_kinematics_with_rotations,
)

FPS = 30.0
WRISTS = [JOINT_INDEX["left_wrist"], JOINT_INDEX["right_wrist"]]
ELBOWS = [JOINT_INDEX["left_elbow"], JOINT_INDEX["right_elbow"]]
SPINE3 = JOINT_INDEX["spine3"]


def make_utterance(
    seed: int,
    words: int = 14,
    emphasis_every: int = 4,
    tags: dict[int, str] | None = None,
    kind: str = "statement",
) -> Utterance:
    """A spoken line with plausible word timings (silent audio: the performer reads timings)."""
    rng = np.random.default_rng(seed)
    tags = tags or {}
    out, t = [], 0.35
    for i in range(words):
        length = rng.uniform(0.22, 0.45)
        emphasised = i % emphasis_every == emphasis_every - 1
        out.append(Word(f"word{i}", t, t + length, emphasised, tags.get(i)))
        t += length + (rng.uniform(0.3, 0.6) if rng.random() < 0.1 else 0.03)
    duration = t + 0.5
    texts = tuple(w.text for w in out)
    sentence = Sentence(
        " ".join(texts), texts, tuple(w.emphasis for w in out), tuple(w.gesture for w in out),
        kind, "test",
    )
    audio = np.zeros(int(round(duration * 16000)), np.float32)
    return Utterance(sentence, "en", audio, 16000, out, [])


def positions(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    return forward_kinematics_with_rotations(
        motion.poses.astype(np.float64), motion.trans.astype(np.float64)
    )


def in_chest_frame(pos: np.ndarray, rot: np.ndarray, joints: list[int]) -> np.ndarray:
    """(T, J, 3) joint positions in the spine3 joint's frame (x left, y up, z forward)."""
    offsets = pos[:, joints] - pos[:, SPINE3 : SPINE3 + 1]
    return np.einsum("tji,tkj->tki", rot[:, SPINE3], offsets)


def wrist_speed(motion: Motion) -> np.ndarray:
    """(T-1, 2) wrist speeds in m/s, sample k between frames k and k+1."""
    pos = forward_kinematics(motion.poses.astype(np.float64), motion.trans.astype(np.float64))
    return np.linalg.norm(np.diff(pos[:, WRISTS], axis=0), axis=-1) * motion.fps


def fraction_with_peak(speed: np.ndarray, times: list[float], window: float = 0.2) -> float:
    s = speed
    # Local maxima of either wrist's speed that are real movements (> 0.3 m/s).
    is_peak = (s[1:-1] > s[:-2]) & (s[1:-1] >= s[2:]) & (s[1:-1] > 0.3)
    peak_times = (np.nonzero(is_peak)[0] + 1.5) / FPS
    return float(np.mean([np.any(np.abs(peak_times - t) <= window) for t in times]))


# ---------------------------------------------------------------------------------------------


def test_frames_follow_the_audio_and_shapes_are_smplx_arkit():
    utterance = make_utterance(0)
    motion = perform(utterance, STYLES["neutral"], np.random.default_rng(0))
    frames = int(round(utterance.duration * FPS))
    assert motion.num_frames == frames
    assert motion.poses.shape == (frames, 55, 3)
    assert motion.trans.shape == (frames, 3)
    assert motion.face.shape == (frames, 52) and motion.face_space == "arkit52"
    assert motion.fps == FPS

    silent = perform(None, STYLES["sadness"], np.random.default_rng(0), duration=2.5)
    assert silent.num_frames == 75
    with pytest.raises(BodyLanguageError, match="duration"):
        perform(None, STYLES["neutral"], np.random.default_rng(0))


def test_same_seed_same_motion_and_other_seeds_differ():
    utterance = make_utterance(1)
    a = perform(utterance, STYLES["happiness"], np.random.default_rng(7))
    b = perform(utterance, STYLES["happiness"], np.random.default_rng(7))
    c = perform(utterance, STYLES["happiness"], np.random.default_rng(8))
    assert np.array_equal(a.poses, b.poses) and np.array_equal(a.trans, b.trans)
    assert np.array_equal(a.face, b.face)
    assert np.abs(a.poses - c.poses).mean() > 1e-3


def test_strokes_land_on_emphasised_words():
    hits, chance = [], []
    for seed in range(4):
        utterance = make_utterance(10 + seed, words=16)
        motion = perform(utterance, STYLES["neutral"], np.random.default_rng(seed))
        speed = wrist_speed(motion)
        stressed = [w.start for w in utterance.words if w.emphasis]
        random_times = np.random.default_rng(seed).uniform(0.6, utterance.duration - 0.3, 40)
        hits.append(fraction_with_peak(speed, stressed))
        chance.append(fraction_with_peak(speed, list(random_times)))
    assert np.mean(hits) >= 0.6
    assert np.mean(hits) > np.mean(chance) + 0.15


def test_self_brings_a_hand_to_the_chest():
    utterance = make_utterance(3, words=6, tags={2: "self"})
    motion = perform(utterance, STYLES["neutral"], np.random.default_rng(3))
    pos, rot = positions(motion)
    chest_point = np.array([0.0, 0.0, 0.13])  # on the chest surface, in front of spine3
    knuckles = in_chest_frame(pos, rot, [JOINT_INDEX["left_middle1"], JOINT_INDEX["right_middle1"]])
    distance = np.linalg.norm(knuckles - chest_point, axis=-1).min(axis=1)  # nearer hand

    stroke = utterance.words[2].start + 0.1
    around = slice(int(stroke * FPS), int((stroke + 0.5) * FPS))
    assert distance[around].min() < 0.12
    assert distance[0] > 0.3  # at rest the hands hang at the sides


def test_head_shakes_on_no_and_nods_on_yes():
    from core.corpus.upper import UPPER_JOINTS

    head = [UPPER_JOINTS["neck"], UPPER_JOINTS["head"]]
    shake = perform(make_utterance(4, words=6, tags={2: "no"}), STYLES["neutral"],
                    np.random.default_rng(0))
    nod = perform(make_utterance(4, words=6, tags={2: "yes"}), STYLES["neutral"],
                  np.random.default_rng(0))
    yaw = shake.poses[:, head, 1].sum(axis=1)  # small angles: axis-angle y ~ yaw
    pitch = nod.poses[:, head, 0].sum(axis=1)
    assert np.ptp(yaw) > 2 * np.ptp(nod.poses[:, head, 1].sum(axis=1))
    assert np.ptp(pitch) > 0.12


def test_questions_tilt_the_head_and_sad_posture_droops():
    from core.corpus.upper import UPPER_JOINTS

    head = [UPPER_JOINTS["neck"], UPPER_JOINTS["head"]]
    rolls = {}
    for kind in ("statement", "question"):
        motions = [perform(make_utterance(9, words=8, kind=kind), STYLES["neutral"],
                           np.random.default_rng(s)) for s in range(3)]
        # Tilt toward either shoulder: the largest |roll| over the line's end.
        rolls[kind] = np.mean([np.abs(m.poses[-30:, head, 2].sum(axis=1)).max() for m in motions])
    assert rolls["question"] > rolls["statement"] + 0.04

    def posture(emotion: str) -> tuple[float, float]:
        m = perform(None, STYLES[emotion], np.random.default_rng(1), duration=3.0)
        pos, rot = positions(m)
        gaze = rot[:, JOINT_INDEX["head"]] @ np.array([0.0, 0.0, 1.0])  # face forward axis
        chest_up = rot[:, SPINE3] @ np.array([0.0, 1.0, 0.0])
        return float(-gaze[:, 1].mean()), float(chest_up[:, 2].mean())  # look down, lean fwd

    sad_down, sad_lean = posture("sadness")
    happy_down, happy_lean = posture("happiness")
    assert sad_down > happy_down + 0.1
    assert sad_lean > happy_lean + 0.05


def _fingertips(shape: str, side: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    poses = np.zeros((55, 3))
    first = JOINT_INDEX[f"{side}_index1"]
    poses[first : first + 15] = hand_pose(shape, side)
    pos, rot = forward_kinematics_with_rotations(poses)
    offsets = default_rest_offsets()
    tips = {}
    for finger in ("index", "middle", "ring", "pinky", "thumb"):
        last = JOINT_INDEX[f"{side}_{finger}3"]
        direction = offsets[last] / np.linalg.norm(offsets[last])
        tips[finger] = pos[last] + rot[last] @ direction * FINGERTIP_LENGTH
    return pos[JOINT_INDEX[f"{side}_wrist"]], tips


@pytest.mark.parametrize("side", ["left", "right"])
def test_point_extends_the_index_and_curls_the_rest(side):
    wrist, tips = _fingertips("point", side)
    _, open_tips = _fingertips("open", side)
    _, relaxed = _fingertips("relaxed", side)
    sign = 1.0 if side == "left" else -1.0
    palm = wrist + np.array([sign * 0.06, -0.02, 0.0])  # palm centre, palm facing down (-Y)
    assert np.linalg.norm(tips["index"] - wrist) > 0.15
    for finger in ("middle", "ring", "pinky"):
        assert np.linalg.norm(tips[finger] - palm) < 0.05
        # A softly curled finger moves its tip toward the palm side, not the back of the hand.
        assert relaxed[finger][1] < open_tips[finger][1] - 0.01
    fist_wrist, fist = _fingertips("fist", side)
    assert all(np.linalg.norm(fist[f] - palm) < 0.05 for f in ("index", "middle", "ring"))
    _, pinch = _fingertips("pinch", side)
    assert np.linalg.norm(pinch["thumb"] - pinch["index"]) < 0.03
    assert len(set(HAND_SHAPES)) >= 8


def test_planted_feet_do_not_slide_or_sink_over_a_minute_with_steps():
    for emotion, seed in (("neutral", 0), ("anger", 1)):
        motion = perform(None, STYLES[emotion], np.random.default_rng(seed), duration=60.0)
        assert len(motion.extras["steps"]) >= 1
        pos = forward_kinematics(motion.poses.astype(np.float64), motion.trans.astype(np.float64))
        feet = [JOINT_INDEX[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
        assert pos[:, feet, 1].min() > -0.01
        balls = pos[:, [JOINT_INDEX["left_foot"], JOINT_INDEX["right_foot"]]]
        # A foot near the floor counts as planted, whatever the performer says it does.
        on_floor = balls[:, :, 1] < balls[0, :, 1].min() + 0.005
        still = on_floor[1:] & on_floor[:-1]
        slide = np.linalg.norm(np.diff(balls[:, :, [0, 2]], axis=0), axis=-1)
        assert still.mean() > 0.8
        assert slide[still].max() < 0.01
        # Steps really move the body: the root travels.
        assert np.ptp(motion.trans[:, [0, 2]], axis=0).max() > 0.05


def test_arms_stay_out_of_the_torso():
    every_tag = {2 * i + 1: tag for i, tag in enumerate(GESTURE_TAGS)}
    for emotion, seed in (("anger", 0), ("fear", 1), ("surprise", 2)):
        utterance = make_utterance(seed, words=2 * len(GESTURE_TAGS) + 2, tags=every_tag)
        motion = perform(utterance, STYLES[emotion], np.random.default_rng(seed))
        pos, rot = positions(motion)
        arms = in_chest_frame(pos, rot, ELBOWS + WRISTS)
        from_spine = np.hypot(arms[..., 0], arms[..., 2])
        in_front = arms[..., 2] > 0.15
        below_torso = arms[..., 1] < -0.45
        assert np.all((from_spine > 0.16) | in_front | below_torso)


def test_rest_arms_hang_clear_of_the_thighs_with_soft_elbows():
    seen = set()
    for seed in range(12):
        motion = perform(None, STYLES["neutral"], np.random.default_rng(seed), duration=0.5)
        pos, rot = positions(motion.slice_frames(0, 1))
        seen.add(motion.extras["rest"])
        if motion.extras["rest"] == "front":
            # Hands loosely together in front of the belly, clear of it.
            wrists = in_chest_frame(pos, rot, WRISTS)[0]
            assert np.all(wrists[:, 2] > 0.17) and np.all(wrists[:, 1] < -0.1)
            continue
        pos = pos[0]
        for side in ("left", "right"):
            wrist = pos[JOINT_INDEX[f"{side}_wrist"]]
            hip, knee = pos[JOINT_INDEX[f"{side}_hip"]], pos[JOINT_INDEX[f"{side}_knee"]]
            thigh = (knee - hip) / np.linalg.norm(knee - hip)
            off_axis = np.linalg.norm(np.cross(wrist - hip, thigh))
            assert 0.14 < off_axis < 0.26  # thigh radius ~8 cm + a 6-18 cm gap
            shoulder = pos[JOINT_INDEX[f"{side}_shoulder"]]
            upper = pos[JOINT_INDEX[f"{side}_elbow"]] - shoulder
            fore = wrist - pos[JOINT_INDEX[f"{side}_elbow"]]
            cosine = upper @ fore / np.linalg.norm(upper) / np.linalg.norm(fore)
            assert 8 < np.degrees(np.arccos(cosine)) < 40  # soft, not locked, elbows
            assert wrist[1] < shoulder[1] - 0.4  # hanging, not held up
    assert seen == {"side", "front"}


def test_anger_gestures_bigger_than_sadness():
    utterance = make_utterance(6, words=16)
    speeds = {
        emotion: np.mean([
            wrist_speed(perform(utterance, STYLES[emotion], np.random.default_rng(s))).mean()
            for s in range(3)
        ])
        for emotion in ("anger", "sadness")
    }
    assert speeds["anger"] > 1.3 * speeds["sadness"]


def test_breathing_and_idle_keep_a_silent_clip_alive():
    motion = perform(None, STYLES["neutral"], np.random.default_rng(2), duration=8.0)
    spine = motion.poses[:, [JOINT_INDEX["spine2"], JOINT_INDEX["spine3"]], 0].sum(axis=1)
    spectrum = np.abs(np.fft.rfft(spine - spine.mean()))
    freqs = np.fft.rfftfreq(len(spine), 1 / FPS)
    assert 0.15 < freqs[np.argmax(spectrum)] < 0.45  # the breath dominates the chest's pitch
    pos = forward_kinematics(motion.poses.astype(np.float64), motion.trans.astype(np.float64))
    assert np.ptp(pos[:, JOINT_INDEX["head"]], axis=0).max() > 0.005  # never frozen


class _RaiseLeftHand:
    """A minimal action: owns the upper body and lifts the left arm."""

    parts = {"upper"}

    def animate(self, base: Motion, style, rng) -> Motion:
        poses = base.poses.copy()
        poses[:, JOINT_INDEX["left_shoulder"]] = [0.0, 0.0, 1.2]
        return replace(base, poses=poses)


def test_action_is_applied_last_and_speech_drives_the_rest():
    utterance = make_utterance(8)
    plain = perform(utterance, STYLES["neutral"], np.random.default_rng(4))
    acted = perform(utterance, STYLES["neutral"], np.random.default_rng(4), action=_RaiseLeftHand())
    assert np.allclose(acted.poses[:, JOINT_INDEX["left_shoulder"]], [0.0, 0.0, 1.2])
    hands = list(range(25, 55))
    assert np.array_equal(acted.poses[:, hands], plain.poses[:, hands])
    assert np.array_equal(acted.trans, plain.trans)


def test_rotation_speed_limit_slows_only_fast_steps():
    from core.corpus.performer import limit_rotation_speed
    from core.rotations import axis_angle_to_quaternion

    # Joint 0 snaps 60 degrees in one frame; joint 1 turns a gentle 5 degrees per frame.
    rotations = np.zeros((12, 2, 3))
    rotations[3:, 0, 2] = np.radians(60)
    rotations[:, 1, 0] = np.radians(5) * np.arange(12)
    limited = limit_rotation_speed(rotations, 22.0)
    quats = axis_angle_to_quaternion(limited)
    steps = np.degrees(2 * np.arccos(np.clip(np.abs((quats[1:] * quats[:-1]).sum(-1)), 0, 1)))
    assert steps.max() <= 22.0 + 1e-6
    np.testing.assert_allclose(limited[:, 1], rotations[:, 1], atol=1e-9)
    np.testing.assert_allclose(limited[-1, 0], rotations[-1, 0], atol=1e-9)  # catches up
    assert np.degrees(limited[3, 0, 2]) == pytest.approx(22.0, abs=1e-6)
