"""Checks of a performance without a judge: mouth vs phones, pauses, blinks, foot skate."""

from __future__ import annotations

import numpy as np
import pytest

from core.eval import performance
from core.face_spaces import channel_names
from core.lm import mouth
from core.motion import Motion
from core.skeleton import JOINT_INDEX
from tests.conftest import SHARED

PHONES = [performance.Phone(0.0, 0.5, "SIL"), performance.Phone(0.5, 0.7, "M"),
          performance.Phone(0.7, 1.0, "AA1"), performance.Phone(1.0, 1.1, "P"),
          performance.Phone(1.1, 1.4, "IY"), performance.Phone(1.4, 2.0, "SIL")]


def _motion(jaw: np.ndarray) -> Motion:
    rest = Motion.rest(len(jaw), 30.0, "arkit52")
    rest.poses[:, JOINT_INDEX["jaw"], 0] = jaw
    return rest


def test_openness_is_high_on_open_vowels_and_zero_on_lip_closures_and_silence():
    track = performance.openness_track(PHONES, 60, 30.0)
    assert track[24] == 1.0 and track[17] == 0.0 and track[0] == 0.0 and track[31] == 0.0
    assert 0 < track[36] < track[24]


def test_pauses_are_silences_of_at_least_0_3_s():
    pause = performance.pause_frames(PHONES, 60, 30.0)
    assert pause[:15].all() and pause[42:].all() and not pause[15:42].any()
    short = [performance.Phone(0.0, 0.5, "AA"), performance.Phone(0.5, 0.7, "SIL"),
             performance.Phone(0.7, 1.0, "AA")]
    assert not performance.pause_frames(short, 30, 30.0).any()


def test_a_jaw_that_follows_the_vowels_scores_high_and_a_still_one_does_not():
    track = performance.openness_track(PHONES, 60, 30.0)
    following = performance.mouth_against_phones(_motion(0.2 * track), PHONES)
    assert following.vowel_r > 0.95 and following.pause_closed == 1.0
    open_always = performance.mouth_against_phones(_motion(np.full(60, 0.2)), PHONES)
    assert open_always.vowel_r < 0.1


def test_blinks_are_counted_per_minute():
    motion = Motion.rest(600, 30.0, "arkit52")  # 20 s
    names = channel_names("arkit52")
    mouth.add_blinks(motion.face, "arkit52", 30.0, np.random.default_rng(0), per_minute=15)
    rate = performance.blinks_per_minute(motion)
    assert 6 <= rate <= 30
    left, right = names.index("eyeBlinkLeft"), names.index("eyeBlinkRight")
    assert np.array_equal(motion.face[:, left], motion.face[:, right])
    assert performance.blinks_per_minute(Motion.rest(600, 30.0, "arkit52")) == 0


def test_foot_skate_is_zero_standing_and_measures_a_slide():
    still = Motion.rest(60, 30.0, "arkit52")
    assert performance.foot_skate(still) == pytest.approx(0.0, abs=1e-6)
    sliding = Motion.rest(60, 30.0, "arkit52")
    sliding.trans[:, 0] = np.linspace(0.0, 0.3, 60)  # 0.3 m in 2 s with the feet down
    assert performance.foot_skate(sliding) == pytest.approx(15.0 * 60 / 59, rel=0.05)


@pytest.mark.skipif(not (SHARED / "realspeech").is_dir(), reason="shared/realspeech absent")
def test_the_real_alignments_read_and_cover_their_audio():
    voices = __import__("core.eval.panel", fromlist=["read_real_voices"]).read_real_voices(
        SHARED / "realspeech")
    assert len(voices) == 5
    for voice in voices:
        assert voice.phones and voice.phones[-1].end <= voice.audio.size / 16000 + 0.05
        assert {"M", "AH"} & {p.symbol for p in voice.phones}
