import numpy as np
import pytest

from core.corpus.face import CHANNEL, JAW_RADIANS_AT_FULL_OPEN, animate_face, viseme_of
from core.corpus.script import Phoneme, Sentence, Utterance, Word
from core.corpus.style import STYLES

FPS = 30.0


def _utterance(phonemes: list[tuple[str, float, float]], kind: str = "statement") -> Utterance:
    end = max(p[2] for p in phonemes) + 0.5
    sentence = Sentence("Papa ma.", ("papa", "ma"), (True, False), (None, None), kind, "t")
    words = [Word("papa", phonemes[0][1], phonemes[3][2], True), Word("ma", phonemes[4][1], end)]
    return Utterance(
        sentence, "en", np.zeros(int(end * 16000), np.float32), 16000, words,
        [Phoneme(*p) for p in phonemes],
    )


PAPA = [("p", 0.5, 0.6), ("'a", 0.6, 0.8), ("p", 0.8, 0.9), ("a", 0.9, 1.1), ("m", 1.3, 1.4),
        ("A:", 1.4, 1.7)]


@pytest.mark.parametrize(
    "symbol, viseme",
    [("p", "closed"), ("'a", "open"), ("u:", "round"), ("f", "labiodental"), ("tS", "postalveolar"),
     ("_:", "rest"), ("i@3", "spread"), ("w", "w")],
)
def test_espeak_phonemes_map_to_visemes(symbol, viseme):
    assert viseme_of(symbol) == viseme


def test_mouth_closes_on_bilabials_and_opens_on_vowels():
    utterance = _utterance(PAPA)
    frames = int(utterance.duration * FPS)
    track = animate_face(utterance, STYLES["neutral"], frames, FPS, np.random.default_rng(1))
    jaw_open = track.face[:, CHANNEL["jawOpen"]]
    press = track.face[:, CHANNEL["mouthPressLeft"]]
    at = lambda t: int(round(t * FPS))  # noqa: E731
    # Lips press at the /p/ and /m/ centres and the jaw is wider open in the vowels around them.
    for closed, vowel in [(0.55, 0.7), (0.85, 1.0), (1.35, 1.55)]:
        assert press[at(closed)] > press[at(vowel)] + 0.1
        assert jaw_open[at(vowel)] > jaw_open[at(closed)] + 0.05
    # The jaw bone follows the jawOpen channel and is closed before speech starts.
    np.testing.assert_allclose(track.jaw[:, 0], jaw_open * JAW_RADIANS_AT_FULL_OPEN, atol=1e-6)
    assert jaw_open[:5].max() < 0.02


def test_blinks_gaze_and_range():
    track = animate_face(None, STYLES["neutral"], 30 * 30, FPS, np.random.default_rng(2))
    blink = track.face[:, CHANNEL["eyeBlinkLeft"]]
    closed = np.flatnonzero((blink[1:] > 0.9) & (blink[:-1] <= 0.9))
    assert 4 <= len(closed) <= 20, "a person blinks every few seconds"
    assert track.left_eye[:, :2].std(0).min() > 0.01, "eyes move"
    assert np.abs(track.left_eye).max() < 0.6
    assert track.face.min() >= 0 and track.face.max() <= 1


def test_emotion_sets_the_expression_and_questions_raise_brows():
    rng = np.random.default_rng(3)
    happy = animate_face(None, STYLES["happiness"], 90, FPS, rng)
    sad = animate_face(None, STYLES["sadness"], 90, FPS, rng)
    assert happy.face[:, CHANNEL["mouthSmileLeft"]].mean() > 0.4
    assert sad.face[:, CHANNEL["mouthFrownLeft"]].mean() > 0.3
    assert sad.face[:, CHANNEL["mouthSmileLeft"]].max() == 0
    question = animate_face(_utterance(PAPA, "question"), STYLES["neutral"], 60, FPS, rng)
    statement = animate_face(_utterance(PAPA), STYLES["neutral"], 60, FPS, rng)
    late = slice(40, 60)
    assert question.face[late, CHANNEL["browInnerUp"]].max() > (
        statement.face[late, CHANNEL["browInnerUp"]].max() + 0.2
    )


def test_deterministic_for_a_seed():
    utterance = _utterance(PAPA)
    a = animate_face(utterance, STYLES["anger"], 60, FPS, np.random.default_rng(7))
    b = animate_face(utterance, STYLES["anger"], 60, FPS, np.random.default_rng(7))
    c = animate_face(utterance, STYLES["anger"], 60, FPS, np.random.default_rng(8))
    assert np.array_equal(a.face, b.face) and np.array_equal(a.left_eye, b.left_eye)
    assert not np.array_equal(a.face, c.face)
