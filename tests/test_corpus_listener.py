"""Listener clips: someone else's line in the audio, a performer who listens (closed mouth, nods
after the speaker's pauses, never frozen), and the figures that tell listening from speaking."""

from __future__ import annotations

import numpy as np
import pytest

from core.corpus import listener
from core.corpus.builder import CONTENT_SHARES, content_shares, join_utterances, make_clip
from core.corpus.performer import perform
from core.corpus.sentences import sample_sentence
from core.corpus.speech import speak
from core.corpus.style import STYLES
from core.corpus.voices import sample_voice
from core.errors import BodyLanguageError
from core.eval.listening import head_pitch, listening_score, silence_onsets


@pytest.fixture(scope="module")
def line():
    rng = np.random.default_rng(11)
    voice = sample_voice(rng, "neutral", "train")
    parts = [speak(sample_sentence(rng, "train"), voice) for _ in range(3)]
    return join_utterances(parts, [0.6, 0.5], tail=0.6)


def test_the_listener_nods_after_the_speakers_pauses_and_keeps_its_mouth_still(line):
    motion = listener.listen(line, STYLES["neutral"], np.random.default_rng(3))
    assert motion.num_frames == round(line.duration * 30)
    assert np.abs(motion.poses[:, 22]).max() == 0.0  # the jaw: no speech on the listener
    pauses = listener.pause_onsets(line)
    assert len(pauses) == 3
    nods = motion.extras["nods"]
    stressed = [word.start for word in line.words if word.emphasis]
    assert nods
    for nod in nods:  # each answers a pause, or a stressed word
        assert any(0 < nod - cue <= 0.3 for cue in pauses + stressed)
    answered = [any(0 < nod - pause <= 0.3 for nod in listener.listen(
        line, STYLES["neutral"], np.random.default_rng(seed)).extras["nods"]) for seed in range(8)
        for pause in pauses]
    assert np.mean(answered) >= 0.5  # most pauses get a nod (NOD_AT_PAUSE of them, less spacing)
    pitch = head_pitch(motion)
    for nod in nods:
        frame = int(round(nod * 30))
        assert pitch[frame:frame + 24].max() - pitch[frame] >= 3.0
    again = listener.listen(line, STYLES["neutral"], np.random.default_rng(3))
    assert np.array_equal(again.poses, motion.poses)


def test_listening_figures_tell_a_listener_from_a_speaker_and_from_standing_still(line):
    pauses = listener.pause_onsets(line)
    scores = {}
    for name, motion in (
            ("listener", listener.listen(line, STYLES["neutral"], np.random.default_rng(3))),
            ("speaker", perform(line, STYLES["neutral"], np.random.default_rng(3))),
            ("still", perform(None, STYLES["neutral"], np.random.default_rng(3),
                              duration=line.duration))):
        scores[name] = listening_score(motion, pauses)
    assert scores["listener"].mouth_opening == 0.0 < scores["speaker"].mouth_opening
    assert scores["listener"].nod_response > scores["listener"].nod_chance
    assert scores["listener"].nod_response > scores["still"].nod_response
    assert scores["listener"].head_speed > scores["still"].head_speed


def test_pauses_are_found_in_the_audio_where_the_words_stop(line):
    found = silence_onsets(line.audio, line.sample_rate)
    for pause in listener.pause_onsets(line):
        assert min(abs(t - pause) for t in found) < 0.06
    rate = 16000
    tone = np.sin(2 * np.pi * 220 * np.arange(rate) / rate).astype(np.float32)
    gap = np.zeros(rate // 2, np.float32)
    assert silence_onsets(np.concatenate([tone, gap, tone]), rate) == pytest.approx([1.0])
    assert silence_onsets(np.concatenate([tone, gap]), rate) == pytest.approx([1.0])
    assert silence_onsets(np.zeros(rate, np.float32), rate) == []


def test_listener_clips_come_only_when_a_build_asks_for_them():
    with pytest.raises(BodyLanguageError, match="listener share"):
        content_shares(0.7)
    assert content_shares(0.0) == CONTENT_SHARES
    assert dict(content_shares(0.1)) == pytest.approx(
        {"speech": 0.5, "speech+action": 0.2, "action": 0.2, "listen": 0.1})
    by_default = [make_clip(2, index, check=False) for index in range(30)]
    assert not any(clip.description in listener.ALL_PHRASES for clip in by_default)


def test_a_listener_clip_has_the_speakers_audio_but_no_words_of_its_own():
    found = None
    for index in range(60):
        clip = make_clip(2, index, check=False, listen_share=0.1)
        if clip.description in listener.PHRASES["train"] + listener.PHRASES["heldout"]:
            found = clip
            break
    assert found is not None, "no listener clip in 60: the content share was lost"
    assert found.transcript == "" and found.words == [] and found.phonemes == []
    assert found.action is None and np.abs(found.audio).max() > 0.01
    split_phrases = listener.PHRASES["train" if found.split == "train" else "heldout"]
    assert found.description in split_phrases
