"""One corpus clip from a seed: sentences spoken by a voice, performed with an emotion and maybe an
action, checked for plausibility. Clips are independent so they can be made in any process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from core.corpus.script import Phoneme, Sentence, Utterance, Word
from core.corpus.style import STYLES
from core.emotions import EMOTIONS
from core.errors import BodyLanguageError
from core.motion import Motion

if TYPE_CHECKING:
    from core.corpus.actions import Action
    from core.corpus.voices import VoiceSettings

FPS = 30.0
CORPUS_SAMPLE_RATE = 16000
# Share of clips per split; val and test use held-out voices, templates and action phrasings.
SPLIT_SHARES = (("train", 0.86), ("val", 0.04), ("test", 0.10))
# What a clip contains: speech only, speech while doing an action, or an action in silence; a
# build may also take a share from speech for someone else's speech the performer listens to.
CONTENT_SHARES = (("speech", 0.6), ("speech+action", 0.2), ("action", 0.2))


def content_shares(listen_share: float = 0.0) -> tuple[tuple[str, float], ...]:
    """CONTENT_SHARES with `listen_share` of the clips listener clips, taken from speech."""
    speech = CONTENT_SHARES[0][1]
    if not 0.0 <= listen_share <= speech:
        raise BodyLanguageError(f"the listener share must be within 0..{speech}, got "
                                f"{listen_share!r}")
    if listen_share == 0.0:
        return CONTENT_SHARES
    return (("speech", speech - listen_share), *CONTENT_SHARES[1:], ("listen", listen_share))
# A few actions sit near a plausibility bound for some emotions (hands behind the back with
# contempt's posture: 5 redraws for clip 1637 of seed 1), so a clip gets several performances
# before the build stops on it; clips that pass sooner are unchanged.
PERFORMANCE_ATTEMPTS = 8


@dataclass
class Clip:
    id: str
    split: str
    emotion: str
    voice: str
    action: str | None
    description: str | None
    transcript: str
    motion: Motion
    audio: np.ndarray  # float32 mono at CORPUS_SAMPLE_RATE
    words: list[Word]
    phonemes: list[Phoneme]
    redrawn: int = 0  # performances rejected by the plausibility checks before this one

    @property
    def duration(self) -> float:
        return self.motion.duration


def _pick(rng: np.random.Generator, shares: tuple[tuple[str, float], ...]) -> str:
    names = [name for name, _ in shares]
    return names[int(rng.choice(len(names), p=[share for _, share in shares]))]


def join_utterances(parts: list[Utterance], gaps: list[float], tail: float) -> Utterance:
    """Several utterances of one voice back to back, `gaps[i]` seconds of silence after part i
    and `tail` seconds after the last; timings shift with the audio."""
    if not parts:
        raise BodyLanguageError("cannot join zero utterances")
    rate = parts[0].sample_rate
    audio, words, phonemes, offset = [], [], [], 0.0
    for part, gap in zip(parts, [*gaps, tail], strict=True):
        if part.sample_rate != rate:
            raise BodyLanguageError("utterances to join differ in sample rate")
        words += [Word(w.text, w.start + offset, w.end + offset, w.emphasis, w.gesture)
                  for w in part.words]
        phonemes += [Phoneme(p.symbol, p.start + offset, p.end + offset) for p in part.phonemes]
        silence = np.zeros(int(round(gap * rate)), np.float32)
        audio += [part.audio, silence]
        offset += (len(part.audio) + len(silence)) / rate
    last = parts[-1].sentence
    sentence = Sentence(
        text=" ".join(p.sentence.text for p in parts),
        words=tuple(w for p in parts for w in p.sentence.words),
        emphasis=tuple(e for p in parts for e in p.sentence.emphasis),
        gestures=tuple(g for p in parts for g in p.sentence.gestures),
        # The face raises the brows at the end of a question: the last sentence decides.
        kind=last.kind,
        template="+".join(p.sentence.template for p in parts),
    )
    return Utterance(sentence, parts[0].voice, np.concatenate(audio), rate, words, phonemes)


def _spoken(rng: np.random.Generator, voice: VoiceSettings, text_split: str) -> Utterance:
    """One to three sentences in one voice, with pauses between them and a silent tail."""
    from core.corpus import sentences, speech

    spoken = [
        speech.speak(sentences.sample_sentence(rng, text_split), voice,
                     lead_in=float(rng.uniform(0.2, 0.8)) if i == 0 else 0.0)
        for i in range(int(rng.integers(1, 4)))
    ]
    gaps = [float(rng.uniform(0.25, 0.9)) for _ in spoken[1:]]
    return join_utterances(spoken, gaps, tail=float(rng.uniform(0.3, 1.0)))


def _performer(utterance: Utterance | None, emotion: str, action: Action | None,
               duration: float, listening: bool) -> Callable[[np.random.Generator], Motion]:
    """One performance of the clip from a generator: speaking (maybe acting) or listening."""
    from core.corpus import listener, performer

    if listening:
        return lambda rng: listener.listen(utterance, STYLES[emotion], rng, fps=FPS)
    return lambda rng: performer.perform(utterance, STYLES[emotion], rng, fps=FPS,
                                         duration=duration, action=action)


def _plausible_performance(
    perform: Callable[[np.random.Generator], Motion],
    rng: np.random.Generator,
    seed: int,
    index: int,
    clip_id: str,
    check: bool,
) -> tuple[Motion, int]:
    """The first performance that passes the plausibility checks, and how many were rejected."""
    from core.corpus.plausibility import check_motion

    for attempt in range(PERFORMANCE_ATTEMPTS):
        # A rare performance breaks a plausibility bound (a fingertip grazing the chest): it is
        # performed again from its own seed, the words, voice and emotion stay.
        performance_rng = rng if attempt == 0 else np.random.default_rng([seed, index, attempt])
        candidate = perform(performance_rng)
        problems = check_motion(candidate) if check else []
        if not problems:
            # The performer's notes (gesture plan, planted feet) explain a clip but are not part
            # of the dataset: models derive contacts from the motion itself, as for BEAT2.
            return replace(candidate, extras={}), attempt
    listed = "; ".join(str(p) for p in problems[:5])
    raise BodyLanguageError(
        f"corpus clip {clip_id} (seed {seed}) stayed implausible after "
        f"{PERFORMANCE_ATTEMPTS} performances: {listed}"
    )


def _clip_audio(utterance: Utterance | None, frames: int, rng: np.random.Generator) -> np.ndarray:
    """The clip's float32 audio at CORPUS_SAMPLE_RATE, augmented, exactly `frames` long."""
    from core.corpus import augment

    samples = int(round(frames / FPS * CORPUS_SAMPLE_RATE))
    if utterance is None:
        # A silent clip still has a room: low noise so the audio tokenizer sees real silence.
        audio = rng.normal(0, 10 ** (-70 / 20), samples).astype(np.float32)
    else:
        audio = augment.resample_to(utterance.audio, utterance.sample_rate, CORPUS_SAMPLE_RATE)
        audio = augment.augment(audio, CORPUS_SAMPLE_RATE, augment.sample_augmentation(rng))
    return np.pad(audio, (0, max(0, samples - len(audio))))[:samples].astype(np.float32)


def make_clip(seed: int, index: int, check: bool = True, listen_share: float = 0.0) -> Clip:
    """Clip `index` of the corpus built with `seed` (and `listen_share`, see content_shares);
    the same arguments always give the same clip.

    With `check`, an implausible performance (a joint past its limit, a sliding foot ...) never
    becomes training data: it is performed again, and a clip that stays implausible is an error.
    """
    from core.corpus import actions, listener, voices

    rng = np.random.default_rng([seed, index])
    split = _pick(rng, SPLIT_SHARES)
    text_split = "train" if split == "train" else "heldout"
    emotion = EMOTIONS[int(rng.integers(len(EMOTIONS)))]
    content = _pick(rng, content_shares(listen_share))
    voice = voices.sample_voice(rng, emotion, split)
    utterance = _spoken(rng, voice, text_split) if content != "action" else None

    action = description = None
    if content == "listen":
        description = listener.describe(rng, text_split)
    elif content != "speech":
        name = actions.action_names()[int(rng.integers(len(actions.action_names())))]
        action = actions.ACTIONS[name]
        description = actions.describe(rng, name, text_split)

    if utterance is not None:
        duration = utterance.duration
    else:
        duration = action.duration / STYLES[emotion].tempo + float(rng.uniform(0.8, 2.0))
    clip_id = f"{split}_{index:06d}"
    listening = content == "listen"
    motion, redrawn = _plausible_performance(
        _performer(utterance, emotion, action, duration, listening), rng, seed, index, clip_id,
        check)
    # A listener's clip carries the other person's voice, not words the performer says.
    spoken_here = utterance is not None and not listening
    return Clip(
        id=clip_id,
        split=split,
        emotion=emotion,
        voice=voice.espeak_name if utterance is not None else "",
        action=action.name if action is not None else None,
        description=description,
        transcript=utterance.sentence.text if spoken_here else "",
        motion=motion,
        audio=_clip_audio(utterance, motion.num_frames, rng),
        words=utterance.words if spoken_here else [],
        phonemes=utterance.phonemes if spoken_here else [],
        redrawn=redrawn,
    )
