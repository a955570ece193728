"""One id space for every modality the language model reads and writes.

Layout, in this order, each block contiguous:
  text     MiniLM WordPiece ids 0..text_size-1, unchanged, so pretrained embeddings line up
  audio    one id per audio unit
  face, hands, upper, lower    one id per code of each part's codebook (the paper's part order)
  emotion  one id per emotion of `core.emotions.EMOTIONS`
  special  delimiters, mask tokens, task tokens, and the decoder's own <pad>/<bos>/<eos>

The decoder gets its own <pad>/<bos>/<eos> rather than reusing MiniLM's [PAD]/[CLS]/[SEP], so a
generated sequence never mixes text-side conventions into motion output and every id outside the
text block has exactly one meaning. The vocabulary is stored in the LM checkpoint via `to_config`,
including the emotion and special-token lists, so appending tokens in later code never shifts the
ids of a model trained earlier.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from core.emotions import EMOTIONS
from core.errors import BodyLanguageError
from core.skeleton import PARTS

LAYOUT_VERSION = 1
MODALITIES: tuple[str, ...] = ("text", "audio", *PARTS, "emotion", "special")
# Blocks whose values are integers (piece ids, unit ids, codes), as opposed to names.
NUMERIC_MODALITIES: tuple[str, ...] = ("text", "audio", *PARTS)

# Every task the language model is trained on (see the LM issue); one token each.
TASKS: tuple[str, ...] = (
    # instruction post-training
    "audio_to_motion",
    "text_to_motion",
    "audio_text_to_motion",
    "transcript_audio_to_motion",
    "emotion_to_motion",
    "motion_to_emotion",
    "edit_part",
    "edit_frames",
    # pre-training conversions
    "upper_to_lower",
    "body_to_hands",
    "body_to_face",
    "audio_to_text",
    "motion_inbetween",
)

SPECIAL_TOKENS: tuple[str, ...] = (
    "<pad>",
    "<bos>",
    "<eos>",
    "<sep>",
    "<text>",
    "</text>",
    "<audio>",
    "</audio>",
    "<motion>",
    "</motion>",
    *(token for part in PARTS for token in (f"<{part}>", f"</{part}>")),
    "<emotion>",
    "</emotion>",
    "<motion_mask>",
    *(f"<{part}_mask>" for part in PARTS),
    "<audio_mask>",
    *(f"<task_{task}>" for task in TASKS),
)


class Vocabulary:
    """The unified vocabulary: id <-> (modality, value) for every modality the LM sees."""

    def __init__(
        self,
        text_size: int,
        audio_units: int,
        part_codes: Mapping[str, int],
        emotions: Sequence[str] = EMOTIONS,
        special_tokens: Sequence[str] = SPECIAL_TOKENS,
    ) -> None:
        self.text_size = _positive_int("text_size", text_size)
        self.audio_units = _positive_int("audio_units", audio_units)
        if not isinstance(part_codes, Mapping) or set(part_codes) != set(PARTS):
            given = sorted(part_codes) if isinstance(part_codes, Mapping) else part_codes
            raise BodyLanguageError(f"part_codes needs exactly the parts {PARTS}, got {given}")
        self.part_codes = {part: _positive_int(f"part_codes[{part!r}]", part_codes[part])
                           for part in PARTS}
        self.emotions = _unique_names("emotions", emotions)
        self.special_tokens = _unique_names("special_tokens", special_tokens)

        sizes = {
            "text": self.text_size,
            "audio": self.audio_units,
            **self.part_codes,
            "emotion": len(self.emotions),
            "special": len(self.special_tokens),
        }
        self._ranges: dict[str, range] = {}
        start = 0
        for modality in MODALITIES:
            self._ranges[modality] = range(start, start + sizes[modality])
            start += sizes[modality]
        self.size = start
        self._starts = [self._ranges[m].start for m in MODALITIES]
        self._emotion_index = {name: i for i, name in enumerate(self.emotions)}
        self._special_index = {name: i for i, name in enumerate(self.special_tokens)}

    # --- value -> id ----------------------------------------------------------------------------

    def text(self, piece_id: int) -> int:
        """The id of a MiniLM WordPiece id: the same number, checked to be in range."""
        return self._ranges["text"].start + self._index("text piece id", piece_id, self.text_size)

    def audio(self, unit: int) -> int:
        return self._ranges["audio"].start + self._index("audio unit", unit, self.audio_units)

    def part(self, part: str, code: int) -> int:
        if part not in self.part_codes:
            raise BodyLanguageError(f"unknown body part {part!r}; parts are {', '.join(PARTS)}")
        return self._ranges[part].start + self._index(f"{part} code", code, self.part_codes[part])

    def emotion(self, name: str) -> int:
        return self._ranges["emotion"].start + _lookup("emotion", name, self._emotion_index)

    def special(self, name: str) -> int:
        """The id of a special token given as written, e.g. "<audio>" or "<task_edit_part>"."""
        return self._ranges["special"].start + _lookup("special token", name, self._special_index)

    def task(self, name: str) -> int:
        """The id of a task token by task name, e.g. "audio_to_motion"."""
        if f"<task_{name}>" not in self._special_index:
            tasks = {t[len("<task_"):-1]: 0 for t in self.special_tokens if t.startswith("<task_")}
            _lookup("task", name, tasks)
        return self.special(f"<task_{name}>")

    def token_id(self, modality: str, value: int | str) -> int:
        """The id of (modality, value); the inverse of `decode_id`."""
        if modality == "text":
            return self.text(value)
        if modality == "audio":
            return self.audio(value)
        if modality in self.part_codes:
            return self.part(modality, value)
        if modality == "emotion":
            return self.emotion(value)
        if modality == "special":
            return self.special(value)
        raise BodyLanguageError(f"unknown modality {modality!r}; modalities are {MODALITIES}")

    def ids(self, modality: str, values: Iterable[int] | np.ndarray) -> np.ndarray:
        """Ids (int64) of many integer values of a numeric modality at once, e.g. a part's codes."""
        array, block = self._integers(modality, values, f"{modality} values")
        if array.size and (array.min() < 0 or array.max() >= len(block)):
            bad = array[(array < 0) | (array >= len(block))].flat[0]
            raise BodyLanguageError(f"{modality} value {bad} is outside 0..{len(block) - 1}")
        return array.astype(np.int64) + block.start

    # --- id -> value ----------------------------------------------------------------------------

    def decode_id(self, token_id: int) -> tuple[str, int | str]:
        """(modality, value) of an id: ("text", piece id), ("audio", unit), ("face", code), ...,
        ("emotion", name) or ("special", token)."""
        index = self._index("token id", token_id, self.size)
        modality = MODALITIES[bisect.bisect_right(self._starts, index) - 1]
        offset = index - self._ranges[modality].start
        if modality == "emotion":
            return modality, self.emotions[offset]
        if modality == "special":
            return modality, self.special_tokens[offset]
        return modality, offset

    def values(self, modality: str, token_ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Integer values (int64) of many ids that must all lie in `modality`'s block."""
        array, block = self._integers(modality, token_ids, "token ids")
        outside = (array < block.start) | (array >= block.stop)
        if outside.any():
            bad = int(array[outside].flat[0])
            found = self.decode_id(bad)[0] if 0 <= bad < self.size else "no modality"
            raise BodyLanguageError(
                f"token id {bad} is not a {modality} token (it is {found}; "
                f"{modality} ids are {block.start}..{block.stop - 1})"
            )
        return array.astype(np.int64) - block.start

    def describe(self, token_id: int) -> str:
        """A readable name of an id for logs: "<face_12>", "<audio_7>", "<emotion_anger>", "<eos>".
        """
        modality, value = self.decode_id(token_id)
        return value if modality == "special" else f"<{modality}_{value}>"

    # --- blocks -----------------------------------------------------------------------------------

    def range(self, name: str) -> range:
        """The ids of a modality or part ("text", "audio", "face", ..., "emotion", "special"), or
        "motion" for all four part blocks together."""
        if name == "motion":
            return range(self._ranges[PARTS[0]].start, self._ranges[PARTS[-1]].stop)
        if name not in self._ranges:
            known = ", ".join((*MODALITIES, "motion"))
            raise BodyLanguageError(f"unknown modality {name!r}; known: {known}")
        return self._ranges[name]

    def mask(self, *names: str) -> np.ndarray:
        """Boolean (size,) mask, True on the ids of the named blocks (for constrained decoding)."""
        allowed = np.zeros(self.size, dtype=bool)
        for name in names:
            block = self.range(name)
            allowed[block.start:block.stop] = True
        return allowed

    # --- storage ----------------------------------------------------------------------------------

    def to_config(self) -> dict[str, Any]:
        """A JSON-ready description that `from_config` turns back into an equal Vocabulary."""
        return {
            "layout_version": LAYOUT_VERSION,
            "text_size": self.text_size,
            "audio_units": self.audio_units,
            "part_codes": dict(self.part_codes),
            "emotions": list(self.emotions),
            "special_tokens": list(self.special_tokens),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Vocabulary:
        if not isinstance(config, Mapping):
            raise BodyLanguageError(
                f"vocabulary config must be a dict, got {type(config).__name__}"
            )
        version = config.get("layout_version")
        if version != LAYOUT_VERSION:
            raise BodyLanguageError(
                f"vocabulary layout version {version!r} is not supported "
                f"(this code reads layout version {LAYOUT_VERSION})"
            )
        missing = [key for key in ("text_size", "audio_units", "part_codes", "emotions",
                                   "special_tokens") if key not in config]
        if missing:
            raise BodyLanguageError(f"vocabulary config lacks {', '.join(missing)}")
        return cls(
            config["text_size"],
            config["audio_units"],
            config["part_codes"],
            emotions=config["emotions"],
            special_tokens=config["special_tokens"],
        )

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self.to_config() == other.to_config()

    def __hash__(self) -> int:
        return hash((self.text_size, self.audio_units, tuple(self.part_codes.items()),
                     self.emotions, self.special_tokens))

    def __repr__(self) -> str:
        blocks = ", ".join(f"{m}={len(self._ranges[m])}" for m in MODALITIES)
        return f"Vocabulary(size={self.size}: {blocks})"

    # --- checks -----------------------------------------------------------------------------------

    def _index(self, what: str, value: Any, count: int) -> int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise BodyLanguageError(f"{what} must be an integer, got {value!r}")
        if not 0 <= value < count:
            raise BodyLanguageError(f"{what} {int(value)} is outside 0..{count - 1}")
        return int(value)

    def _integers(self, modality: str, values: Any, what: str) -> tuple[np.ndarray, range]:
        """`values` as an integer array (`what` names them in the error) and the id block of the
        numeric `modality`."""
        self._require_numeric(modality)
        array = np.asarray(values)
        if array.size and not np.issubdtype(array.dtype, np.integer):
            raise BodyLanguageError(f"{what} must be integers, got dtype {array.dtype}")
        return array, self._ranges[modality]

    def _require_numeric(self, modality: str) -> None:
        if modality not in NUMERIC_MODALITIES:
            raise BodyLanguageError(
                f"{modality!r} is not an integer-valued modality; use one of "
                f"{', '.join(NUMERIC_MODALITIES)}"
            )


def _positive_int(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise BodyLanguageError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _unique_names(what: str, names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(names)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise BodyLanguageError(f"{what} must be a non-empty list of non-empty strings")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BodyLanguageError(f"{what} lists {', '.join(duplicates)} more than once")
    return names


def _lookup(what: str, name: Any, index: Mapping[str, int]) -> int:
    if isinstance(name, str) and name in index:
        return index[name]
    close = difflib.get_close_matches(str(name), list(index), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(index)}"
    raise BodyLanguageError(f"unknown {what} {name!r}{hint}")
