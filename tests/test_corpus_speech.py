"""espeak-ng speech for the corpus: real synthesis, word and phoneme timings checked on audio."""

from __future__ import annotations

import numpy as np
import pytest

from core.corpus import speech
from core.corpus.script import Sentence
from core.corpus.speech import PAUSE, espeak_problem, speak
from core.corpus.voices import (
    HELDOUT_BASES,
    HELDOUT_VARIANTS,
    HELDOUT_VOICES,
    TRAIN_BASES,
    TRAIN_VARIANTS,
    TRAIN_VOICES,
    VoiceSettings,
    sample_voice,
)
from core.emotions import EMOTIONS
from core.errors import BodyLanguageError

PROBLEM = espeak_problem()
needs_espeak = pytest.mark.skipif(bool(PROBLEM), reason=f"espeak-ng unavailable: {PROBLEM}")

VOICES = (VoiceSettings("en-us", "f3"), VoiceSettings("en", "m3", rate=190, pitch=40))


def sentence(text: str, words: str, emphasis: tuple[int, ...] = (), gestures=None,
             kind: str = "statement") -> Sentence:
    tokens = tuple(words.split())
    return Sentence(
        text=text,
        words=tokens,
        emphasis=tuple(i in emphasis for i in range(len(tokens))),
        gestures=tuple(gestures or (None,) * len(tokens)),
        kind=kind,
        template="test",
    )


SENTENCES = (
    sentence(
        "Well, I don't think that's a big deal, you know?",
        "Well I don't think that's a big deal you know", emphasis=(6,),
        gestures=(None, "self", "no", None, None, None, "big", None, "you", None), kind="question",
    ),
    sentence(
        "Could you put this one over there, please?",
        "Could you put this one over there please", emphasis=(3,),
        gestures=(None, "you", None, "this", None, None, "there", None), kind="question",
    ),
    sentence(
        "No, we never said that it was all your fault.",
        "No we never said that it was all your fault", emphasis=(2,), kind="negation",
    ),
)


@pytest.fixture(scope="module")
def spoken():
    if PROBLEM:
        pytest.skip(f"espeak-ng unavailable: {PROBLEM}")
    return [(s, v, speak(s, v)) for s in SENTENCES for v in VOICES]


def word_mask(utterance, length: int) -> np.ndarray:
    mask = np.zeros(length, dtype=bool)
    for word in utterance.words:
        rate = utterance.sample_rate
        mask[int(word.start * rate):int(np.ceil(word.end * rate))] = True
    return mask


def median_pitch(audio: np.ndarray, sample_rate: int) -> float:
    """Median autocorrelation pitch (Hz) of the voiced 30 ms frames."""
    frame, hop = int(0.03 * sample_rate), int(0.01 * sample_rate)
    low, high = int(sample_rate / 400), int(sample_rate / 60)
    pitches = []
    for start in range(0, len(audio) - frame, hop):
        x = audio[start:start + frame] - audio[start:start + frame].mean()
        if np.sqrt(np.mean(x**2)) < 0.02:
            continue
        ac = np.correlate(x, x, "full")[frame - 1:]
        lag = low + int(np.argmax(ac[low:high]))
        if ac[lag] > 0.4 * ac[0]:
            pitches.append(sample_rate / lag)
    return float(np.median(pitches))


# --- speech ------------------------------------------------------------------------------------

def test_speech_is_audible_at_espeak_rate_with_a_plausible_length(spoken):
    for s, voice, u in spoken:
        assert u.sample_rate == 22050
        assert u.audio.dtype == np.float32 and u.audio.ndim == 1
        assert np.abs(u.audio).max() <= 1.0
        assert np.sqrt(np.mean(u.audio**2)) > 0.02, (s.text, voice)
        assert u.voice == voice.espeak_name
        talking = u.words[-1].end - u.words[0].start
        # Conversational speech runs at roughly 1.5 to 5 words a second.
        assert len(s.words) / 5.0 < talking < len(s.words) / 1.5, (s.text, talking)
        assert u.duration < talking + 1.5


def test_every_word_is_timed_in_order_inside_the_audio(spoken):
    for s, _, u in spoken:
        assert [w.text for w in u.words] == list(s.words)
        assert [w.emphasis for w in u.words] == list(s.emphasis)
        assert [w.gesture for w in u.words] == list(s.gestures)
        for word in u.words:
            assert 0.0 <= word.start < word.end <= u.duration, word
            assert word.end - word.start > 0.03, word
        for before, after in zip(u.words, u.words[1:], strict=False):
            assert before.end <= after.start + 1e-9
        # The lead-in silence comes before the first word.
        assert u.words[0].start >= 0.2 - 1e-9


def test_speech_energy_lies_inside_the_word_spans(spoken):
    for s, voice, u in spoken:
        energy = u.audio.astype(np.float64) ** 2
        inside = word_mask(u, len(energy))
        # Timings off by 30 ms already leave more than 1 % of the energy outside.
        assert energy[inside].sum() / energy.sum() > 0.99, (s.text, voice)
        lead = energy[: int(0.2 * u.sample_rate)]
        assert np.sqrt(energy[inside].mean()) > 100 * np.sqrt(lead.mean() + 1e-12)


def test_phonemes_tile_the_clip_and_fall_inside_words(spoken):
    for _, _, u in spoken:
        tier = u.phonemes
        assert tier[0].start == 0.0 and tier[0].symbol == PAUSE
        assert abs(tier[-1].end - u.duration) < 1e-6
        for before, after in zip(tier, tier[1:], strict=False):
            assert after.start == pytest.approx(before.end, abs=1e-9)
            assert not (before.symbol == PAUSE and after.symbol == PAUSE)
        assert all(p.end > p.start for p in tier)
        speech_sounds = [p for p in tier if p.symbol != PAUSE]
        assert len(speech_sounds) >= len(u.words)
        inside = sum(
            max(0.0, min(p.end, w.end) - max(p.start, w.start))
            for p in speech_sounds for w in u.words
        )
        assert inside / sum(p.end - p.start for p in speech_sounds) > 0.9
        for word in u.words:
            assert any(word.start <= p.start < word.end for p in speech_sounds), word


@needs_espeak
def test_emphasis_makes_the_word_louder_and_longer():
    plain = sentence("I never said she stole my money.", "I never said she stole my money")
    voice = VoiceSettings("en-us")
    flat = speak(plain, voice)
    for index in (1, 3, 4):
        stressed = speak(
            sentence(plain.text, " ".join(plain.words), emphasis=(index,)), voice
        )
        measures = []
        for u in (flat, stressed):
            word = u.words[index]
            segment = u.audio[int(word.start * u.sample_rate):int(word.end * u.sample_rate)]
            measures.append((word.end - word.start, np.sqrt(np.mean(segment**2))))
        (flat_length, flat_rms), (stressed_length, stressed_rms) = measures
        assert stressed_rms > 1.2 * flat_rms, plain.words[index]
        assert stressed_length > flat_length, plain.words[index]


@needs_espeak
def test_same_settings_give_identical_speech_whatever_was_spoken_before():
    s = SENTENCES[0]
    first = speak(s, VOICES[0])
    speak(SENTENCES[1], VOICES[1])  # synthesiser state from another message must not leak
    speak(s, VoiceSettings("en-us", "whisper"))
    again = speak(s, VOICES[0])
    assert np.array_equal(first.audio, again.audio)
    assert first.words == again.words and first.phonemes == again.phonemes


@needs_espeak
def test_voices_and_pitch_change_the_audio():
    s = SENTENCES[2]
    female, male = speak(s, VOICES[0]), speak(s, VoiceSettings("en-us", "m3"))
    assert median_pitch(female.audio, 22050) > 1.4 * median_pitch(male.audio, 22050)
    low = speak(s, VoiceSettings("en-us", pitch=25))
    high = speak(s, VoiceSettings("en-us", pitch=75))
    assert median_pitch(high.audio, 22050) > 1.2 * median_pitch(low.audio, 22050)
    slow = speak(s, VoiceSettings("en-us", rate=120))
    fast = speak(s, VoiceSettings("en-us", rate=240))
    def talking(u):
        return u.words[-1].end - u.words[0].start

    assert talking(slow) > 1.5 * talking(fast)


@needs_espeak
def test_words_espeak_merges_splits_or_adds_still_get_their_own_timings():
    # espeak reports "this one" and "in the" as one word each, "1990" as two, speaks "&" as a
    # word of its own and "well-known" as one.
    s = sentence(
        "It was 1990 in the well-known U.S.A. & I really like this one.",
        "It was 1990 in the well-known U.S.A. I really like this one",
    )
    u = speak(s, VOICES[0])
    assert [w.text for w in u.words] == list(s.words)
    for word in u.words:
        assert word.end - word.start > 0.03, word
    for before, after in zip(u.words, u.words[1:], strict=False):
        assert before.end <= after.start + 1e-9
    years = u.words[2]
    assert years.end - years.start > 0.6  # "nineteen ninety" is long
    energy = u.audio.astype(np.float64) ** 2
    inside = word_mask(u, len(energy))
    # Only the spoken "and" lies outside the words.
    assert 0.85 < energy[inside].sum() / energy.sum() < 0.99


@needs_espeak
def test_punctuation_beside_stressed_words_is_not_read_aloud():
    # A "." straight after a closing SSML tag is read "dot"; an event reported at a "-" must
    # still time the word after it.
    for s in (
        sentence('She said "no" - twice!', "She said no twice", emphasis=(2,)),
        sentence("Everything, everyone, all at once.", "Everything everyone all at once",
                 emphasis=(4,)),
    ):
        u = speak(s, VOICES[0])
        energy = u.audio.astype(np.float64) ** 2
        assert energy[word_mask(u, len(energy))].sum() / energy.sum() > 0.99, s.text
        assert all(w.end - w.start > 0.1 for w in u.words[-2:]), u.words


@needs_espeak
def test_word_list_that_does_not_match_the_text_is_still_timed():
    s = Sentence("Hi there!", ("hello", "big", "world"), (False, True, False), (None,) * 3,
                 "exclamation", "test")
    u = speak(s, VOICES[1], lead_in=0.0)
    assert [w.text for w in u.words] == ["hello", "big", "world"]
    assert all(w.end > w.start for w in u.words)
    assert u.words[0].start < 0.1
    assert u.words[2].start > u.words[1].start > u.words[0].start


@needs_espeak
def test_text_needing_xml_escapes_is_spoken():
    s = sentence('Tom said "a < b" & left.', "Tom said a b left")
    u = speak(s, VOICES[0])
    assert [w.text for w in u.words] == list(s.words)
    assert all(w.end > w.start for w in u.words)


@needs_espeak
def test_every_listed_voice_speaks():
    s = sentence("Hello there.", "Hello there")
    for name in TRAIN_BASES + HELDOUT_BASES:
        u = speak(s, VoiceSettings(name, "m2"), lead_in=0.0)
        assert np.sqrt(np.mean(u.audio**2)) > 0.01, name
    for variant in TRAIN_VARIANTS + HELDOUT_VARIANTS:
        u = speak(s, VoiceSettings("en-us", variant), lead_in=0.0)
        assert np.sqrt(np.mean(u.audio**2)) > 0.01, variant


def test_bad_requests_raise_body_language_errors():
    with pytest.raises(BodyLanguageError, match="no words"):
        speak(Sentence("", (), (), (), "statement", "t"), VOICES[0])
    with pytest.raises(BodyLanguageError, match="differ in length"):
        speak(Sentence("Hi you", ("Hi", "you"), (False,), (None, None), "statement", "t"),
              VOICES[0])
    if not PROBLEM:
        with pytest.raises(BodyLanguageError, match="en-us\\+nosuchvoice"):
            speak(SENTENCES[0], VoiceSettings("en-us", "nosuchvoice"))


@needs_espeak
def test_library_held_elsewhere_is_refused_instead_of_hanging():
    import _ctypes
    import ctypes

    held = ctypes.CDLL(speech.LIBRARY)
    try:
        with pytest.raises(BodyLanguageError, match="already loaded"):
            speak(SENTENCES[0], VOICES[0])
    finally:
        _ctypes.dlclose(held._handle)
    assert speak(SENTENCES[0], VOICES[0]).words  # usable again once released


def test_missing_library_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(speech, "LIBRARY", "libespeak-ng-not-here.so.1")
    with pytest.raises(BodyLanguageError, match="install the Debian package espeak-ng"):
        speak(SENTENCES[0], VOICES[0])


# --- voices ------------------------------------------------------------------------------------

def test_held_out_voices_share_neither_accent_nor_timbre_with_training():
    assert not set(TRAIN_VOICES) & set(HELDOUT_VOICES)
    assert not set(TRAIN_BASES) & set(HELDOUT_BASES)
    assert not set(TRAIN_VARIANTS) & set(HELDOUT_VARIANTS)
    assert len(set(TRAIN_VOICES)) == len(TRAIN_VOICES) >= 100
    assert len(HELDOUT_VOICES) >= 10


def test_sample_voice_is_deterministic_and_keeps_to_its_split():
    draws = [sample_voice(np.random.default_rng(7), "anger", "train") for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(3)
    train = [sample_voice(rng, emotion, "train") for emotion in EMOTIONS for _ in range(40)]
    test = [sample_voice(rng, emotion, "test") for emotion in EMOTIONS for _ in range(10)]
    assert {(v.name, v.variant) for v in train} <= set(TRAIN_VOICES)
    assert {(v.name, v.variant) for v in test} <= set(HELDOUT_VOICES)
    assert len({(v.name, v.variant) for v in train}) > 100  # the draws spread over the voices
    assert len({v.rate for v in train}) > 30  # prosody varies per clip


def test_emotions_move_rate_pitch_range_and_loudness_apart():
    rng = np.random.default_rng(11)

    def mean(emotion: str, field: str) -> float:
        return float(np.mean([getattr(sample_voice(rng, emotion, "train"), field)
                              for _ in range(300)]))

    assert mean("anger", "rate") > mean("neutral", "rate") > mean("sadness", "rate") + 20
    assert mean("anger", "pitch_range") > mean("sadness", "pitch_range") + 30
    assert mean("anger", "volume") > mean("sadness", "volume") + 30
    assert mean("surprise", "pitch") > mean("sadness", "pitch") + 15


def test_voice_settings_reject_values_espeak_cannot_take():
    for bad in (dict(rate=40), dict(pitch=101), dict(pitch_range=-1), dict(volume=300),
                dict(rate=170.5)):
        with pytest.raises(BodyLanguageError):
            VoiceSettings("en-us", "f3", **bad)
    with pytest.raises(BodyLanguageError):
        VoiceSettings("en-us+f3")
    with pytest.raises(BodyLanguageError, match="emotion"):
        sample_voice(np.random.default_rng(0), "boredom", "train")
    with pytest.raises(BodyLanguageError, match="split"):
        sample_voice(np.random.default_rng(0), "neutral", "holdout")
    assert VoiceSettings("en-us", "f3").espeak_name == "en-us+f3"
    assert VoiceSettings("en-029").espeak_name == "en-029"
