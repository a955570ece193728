"""Which espeak-ng voice speaks a clip, and how: accent, timbre, rate, pitch and range per emotion.

A voice is an English base voice (the accent: `en-us`, `en-gb-scotland` ...) plus a variant (the
timbre: `f3`, `m2`, `klatt` ...). Evaluation voices are held out on both axes: their accents and
their variants never occur in training, so a held-out clip is an unseen speaker, not a re-pitch
of a seen one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.corpus.style import STYLES
from core.emotions import EMOTIONS
from core.errors import BodyLanguageError

# espeak-ng 1.51's English base voices that the built-in formant synthesiser speaks (the mbrola
# ones need a separate binary and voice data, so they are left out).
TRAIN_BASES: tuple[str, ...] = (
    "en-us", "en", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc",
)  # "en" is British English (espeak-ng 1.51 has no voice called "en-gb")
HELDOUT_BASES: tuple[str, ...] = ("en-gb-scotland", "en-029")

# Variants that sound like people rather than effects (the robot, demonic, announcer and
# "fast_test" variants are left out). Chosen by measuring each variant's median pitch and
# long-term spectrum on one sentence: of variants that measure alike (klatt = klatt6 = caleb
# ~ adam, croak ~ grandpa, f1 ~ f4, steph2 ~ steph3, klatt4 ~ klatt5) at most one is used, and no
# held-out variant has a train variant close to it, so held-out voices are unseen timbres.
TRAIN_VARIANTS: tuple[str, ...] = (
    # female
    "f1", "f2", "f3", "f5", "Alicia", "Annie", "anika", "aunty", "belinda", "grandma", "quincy",
    "steph", "whisperf",
    # male
    "m1", "m2", "m3", "m5", "m6", "m7", "m8", "Andy", "Denis", "Diogo", "Gene", "Hugo", "Jacky",
    "Marco", "Mike", "Nguyen", "benjamin", "boris", "croak", "david", "ed", "edward", "gustave",
    "iven", "iven2", "john", "klatt", "klatt4", "marcelo", "max", "michel", "norbert", "paul",
    "rob", "whisper",
)
HELDOUT_VARIANTS: tuple[str, ...] = (
    "Andrea", "linda", "shelby",  # female
    "Gene2", "Lee", "antonio", "pablo", "travis",  # male
)

TRAIN_VOICES: tuple[tuple[str, str], ...] = tuple(
    (base, variant) for base in TRAIN_BASES for variant in TRAIN_VARIANTS
)
HELDOUT_VOICES: tuple[tuple[str, str], ...] = tuple(
    (base, variant) for base in HELDOUT_BASES for variant in HELDOUT_VARIANTS
)

# BEAT2's split names; validation and test clips are both spoken by held-out voices.
SPLIT_VOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "train": TRAIN_VOICES,
    "val": HELDOUT_VOICES,
    "test": HELDOUT_VOICES,
}

# espeak-ng's documented parameter ranges (speak_lib.h).
RATE_RANGE = (80, 450)  # words per minute; 175 is espeak's normal
PITCH_RANGE = (0, 100)  # base pitch; 50 is the voice's own
RANGE_RANGE = (0, 100)  # pitch excursion; 0 is monotone, 50 the voice's own
VOLUME_RANGE = (0, 200)  # 100 is normal; louder engages espeak's limiter


@dataclass(frozen=True)
class EmotionProsody:
    """How an emotion shifts a voice from its neutral settings (added to pitch, range, volume)."""

    pitch: int
    pitch_range: int
    volume: int


# Speaking rate follows `Style.tempo`; these carry the rest of the vocal expression: anger is loud
# with wide excursions, sadness low, quiet and flat, fear and surprise high, contempt flat.
EMOTION_PROSODY: dict[str, EmotionProsody] = {
    "neutral": EmotionProsody(0, 0, 0),
    "happiness": EmotionProsody(8, 15, 10),
    "anger": EmotionProsody(4, 25, 25),
    "sadness": EmotionProsody(-10, -25, -25),
    "contempt": EmotionProsody(-4, -15, -5),
    "surprise": EmotionProsody(12, 30, 10),
    "fear": EmotionProsody(12, 5, -10),
    "disgust": EmotionProsody(-6, -5, 0),
}

NEUTRAL_RATE = 165  # a touch slower than espeak's 175, which sounds hurried for dialogue


@dataclass(frozen=True)
class VoiceSettings:
    """An espeak-ng voice and its prosody, as `espeak_SetVoiceByName`/`espeak_SetParameter` take."""

    name: str  # base voice, e.g. "en-us"
    variant: str | None = None  # timbre, e.g. "f3"; None for the base voice's own
    rate: int = 175
    pitch: int = 50
    pitch_range: int = 50
    volume: int = 100

    def __post_init__(self) -> None:
        if not self.name or "+" in self.name or not self.name.isascii():
            raise BodyLanguageError(
                f"voice name must be a plain espeak-ng voice, got {self.name!r}"
            )
        if self.variant is not None and (not self.variant or "+" in self.variant):
            raise BodyLanguageError(f"voice variant must be a variant name, got {self.variant!r}")
        for field, value, (low, high) in (
            ("rate", self.rate, RATE_RANGE),
            ("pitch", self.pitch, PITCH_RANGE),
            ("pitch_range", self.pitch_range, RANGE_RANGE),
            ("volume", self.volume, VOLUME_RANGE),
        ):
            if not isinstance(value, int | np.integer) or not low <= value <= high:
                raise BodyLanguageError(
                    f"voice {field} must be a whole number in [{low}, {high}], got {value!r}"
                )

    @property
    def espeak_name(self) -> str:
        """The name `espeak_SetVoiceByName` takes: base voice, then "+variant"."""
        return self.name if self.variant is None else f"{self.name}+{self.variant}"


def sample_voice(rng: np.random.Generator, emotion: str, split: str) -> VoiceSettings:
    """A voice for one clip: a speaker of the split, its prosody varied per clip and per emotion.

    Deterministic for the generator's state. `split` is "train", "val" or "test" (BEAT2's names);
    val and test draw from the held-out voices.
    """
    if emotion not in STYLES:
        raise BodyLanguageError(f"unknown emotion {emotion!r}; expected one of {EMOTIONS}")
    if split not in SPLIT_VOICES:
        raise BodyLanguageError(f"unknown split {split!r}; expected one of {tuple(SPLIT_VOICES)}")
    voices = SPLIT_VOICES[split]
    name, variant = voices[int(rng.integers(len(voices)))]
    prosody = EMOTION_PROSODY[emotion]
    # Per-speaker habit (jitter) on top of the emotion's shift; the emotion shift is larger than
    # the jitter's spread so the emotions stay audibly apart on average.
    rate = NEUTRAL_RATE * STYLES[emotion].tempo * float(np.exp(rng.normal(0.0, 0.08)))
    pitch = 50 + prosody.pitch + rng.normal(0.0, 6.0)
    pitch_range = 50 + prosody.pitch_range + rng.normal(0.0, 8.0)
    volume = 100 + prosody.volume + rng.normal(0.0, 6.0)
    return VoiceSettings(
        name=name,
        variant=variant,
        rate=_whole_in(rate, (110, 260)),
        pitch=_whole_in(pitch, (15, 90)),
        pitch_range=_whole_in(pitch_range, (10, 95)),
        volume=_whole_in(volume, (55, 150)),
    )


def _whole_in(value: float, bounds: tuple[int, int]) -> int:
    return int(np.clip(round(value), bounds[0], bounds[1]))
