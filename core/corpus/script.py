"""What the performer reads: a spoken line with its word and phoneme timings."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Semantic gesture tags a word can carry; the performer maps each to a deictic or iconic gesture.
GESTURE_TAGS: tuple[str, ...] = (
    "self", "you", "this", "that", "there", "up", "down", "big", "small", "all", "nothing",
    "yes", "no", "maybe", "many", "together", "away", "here",
)


@dataclass(frozen=True)
class Word:
    text: str
    start: float  # seconds from the clip start
    end: float
    emphasis: bool = False  # carries the sentence's stress: a beat gesture lands here
    gesture: str | None = None  # one of GESTURE_TAGS, or None


@dataclass(frozen=True)
class Phoneme:
    symbol: str  # espeak-ng phoneme mnemonic, e.g. "a", "m", "tS"
    start: float
    end: float


@dataclass(frozen=True)
class Sentence:
    """A line of text before it is spoken: which words are stressed, which call for a gesture."""

    text: str
    words: tuple[str, ...]
    emphasis: tuple[bool, ...]
    gestures: tuple[str | None, ...]
    kind: str  # statement, question, negation, list, aside, exclamation
    template: str  # id of the template it came from, for held-out splits


@dataclass
class Utterance:
    """A sentence spoken by one voice: mono audio plus aligned word and phoneme timings."""

    sentence: Sentence
    voice: str
    audio: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    words: list[Word] = field(default_factory=list)
    phonemes: list[Phoneme] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate
