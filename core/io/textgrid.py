"""Praat TextGrid files: read the long and short text formats (UTF-8 or UTF-16), write the long one.

Both text formats carry the same sequence of values; the long one only adds labels
(`xmin = `, `intervals [3]:`). So the reader turns a file into its values (quoted strings,
numbers, `<exists>` flags), each with its line number, skips the labels, and parses that one
sequence for both formats. Point tiers (TextTier) read as zero-length intervals.

Hand-written rather than praatio (6.2): its reader strips labels, rejects times such as 5e-05
(which Python, and so this writer, prints), drops a time's minus sign, misreads UTF-16 without a
byte-order mark and names no line in its errors; its writer strips labels and prints a time an
ulp above a whole second as that whole second.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import BodyLanguageError

WORD_TIER_NAMES = ("words", "word")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\??")
# The labels of the long format; any other bare word is a value out of place and is reported.
_LABELS = frozenset(
    {"File", "type", "Object", "class", "xmin", "xmax", "tiers?", "size", "item", "name",
     "intervals", "points", "number", "mark", "text"}
)


@dataclass(frozen=True)
class Interval:
    """A labelled span of time in seconds."""

    xmin: float
    xmax: float
    text: str


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "number", "flag" or "word" (an unquoted word that is no label)
    value: str
    line: int


@dataclass(frozen=True)
class _Tier:
    kind: str  # "IntervalTier" or "TextTier"
    name: str
    intervals: list[Interval]


def read_textgrid(path: str | os.PathLike) -> dict[str, list[Interval]]:
    """Tier name -> its intervals in file order, for every tier of the file."""
    return {tier.name: tier.intervals for tier in _read_tiers(path)}


def read_word_tier(path: str | os.PathLike) -> list[Interval]:
    """The non-empty intervals of the word tier: the tier named "words"/"word" (any case, also
    Montreal Forced Aligner's "<speaker> - words"), else the first interval tier."""
    tiers = [tier for tier in _read_tiers(path) if tier.kind == "IntervalTier"]
    if not tiers:
        raise BodyLanguageError("has no interval tier to read words from", path)
    named = [tier for tier in tiers if _is_word_tier_name(tier.name)]
    chosen = named[0] if named else tiers[0]
    return [interval for interval in chosen.intervals if interval.text.strip()]


def write_textgrid(
    path: str | os.PathLike,
    tiers: Mapping[str, Sequence[Interval]],
    xmax: float,
    xmin: float = 0.0,
) -> None:
    """Write interval tiers as a long-format UTF-8 TextGrid that Praat opens.

    Praat needs each tier to cover [xmin, xmax] without gaps, so gaps between (and around) the
    given intervals are filled with empty intervals; overlapping intervals are an error.
    """
    xmin, xmax = float(xmin), float(xmax)
    if not (math.isfinite(xmin) and math.isfinite(xmax) and xmin < xmax):
        raise BodyLanguageError(
            f"TextGrid span must be finite with xmin < xmax, got [{xmin}, {xmax}]", path
        )
    lines = [
        'File type = "ooTextFile"',
        'Object class = "TextGrid"',
        "",
        f"xmin = {_number(xmin)} ",
        f"xmax = {_number(xmax)} ",
        "tiers? <exists> " if tiers else "tiers? <absent> ",
    ]
    if tiers:
        lines.append(f"size = {len(tiers)} ")
        lines.append("item []: ")
    for tier_index, (name, intervals) in enumerate(tiers.items(), start=1):
        filled = _filled(name, intervals, xmin, xmax, path)
        lines += [
            f"    item [{tier_index}]:",
            '        class = "IntervalTier" ',
            f"        name = {_quoted(name)} ",
            f"        xmin = {_number(xmin)} ",
            f"        xmax = {_number(xmax)} ",
            f"        intervals: size = {len(filled)} ",
        ]
        for index, interval in enumerate(filled, start=1):
            lines += [
                f"        intervals [{index}]:",
                f"            xmin = {_number(interval.xmin)} ",
                f"            xmax = {_number(interval.xmax)} ",
                f"            text = {_quoted(interval.text)} ",
            ]
    try:
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise BodyLanguageError(f"cannot write TextGrid: {exc}", path) from None


def _is_word_tier_name(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in WORD_TIER_NAMES or lowered.rsplit(" - ", 1)[-1] in WORD_TIER_NAMES


def _filled(
    name: str,
    intervals: Sequence[Interval],
    xmin: float,
    xmax: float,
    path: str | os.PathLike,
) -> list[Interval]:
    """`intervals` with the gaps between them and to the span's ends filled by empty ones."""
    filled: list[Interval] = []
    cursor = xmin
    for interval in intervals:
        start, end = float(interval.xmin), float(interval.xmax)
        if not (math.isfinite(start) and math.isfinite(end) and start < end):
            raise BodyLanguageError(
                f"tier {name!r}: interval {interval} needs finite times with xmin < xmax", path
            )
        if start < cursor or end > xmax:
            raise BodyLanguageError(
                f"tier {name!r}: interval {interval} overlaps the previous one or leaves the "
                f"span [{xmin}, {xmax}]; intervals must be sorted and disjoint",
                path,
            )
        if start > cursor:
            filled.append(Interval(cursor, start, ""))
        filled.append(Interval(start, end, str(interval.text)))
        cursor = end
    if cursor < xmax:
        filled.append(Interval(cursor, xmax, ""))
    return filled


def _number(value: float) -> str:
    """The shortest text that reads back as exactly `value` (Praat style: 1 rather than 1.0)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _read_tiers(path: str | os.PathLike) -> list[_Tier]:
    text = _decode(path)
    tokens = _Tokens(list(_tokenize(text, path)), path)
    if tokens.string("the file type") != "ooTextFile":
        raise tokens.error_at_previous('expected file type "ooTextFile"')
    if tokens.string("the object class") != "TextGrid":
        raise tokens.error_at_previous('expected object class "TextGrid"; not a TextGrid file')
    tokens.number("the grid's xmin")
    tokens.number("the grid's xmax")
    tiers: list[_Tier] = []
    if tokens.flag("<exists> or <absent>") == "exists":
        for tier_number in range(1, tokens.count("the number of tiers") + 1):
            tiers.append(_read_tier(tokens, tier_number))
    tokens.expect_end()
    names = [tier.name for tier in tiers]
    for name in names:
        if names.count(name) > 1:
            raise BodyLanguageError(
                f"has several tiers named {name!r}; give each tier its own name", path
            )
    return tiers


def _read_tier(tokens: _Tokens, tier_number: int) -> _Tier:
    kind = tokens.string(f"tier {tier_number}'s class")
    if kind not in ("IntervalTier", "TextTier"):
        raise tokens.error_at_previous(
            f'tier {tier_number} has class "{kind}", expected "IntervalTier" or "TextTier"'
        )
    name = tokens.string(f"tier {tier_number}'s name")
    tokens.number(f"tier {name!r}'s xmin")
    tokens.number(f"tier {name!r}'s xmax")
    intervals: list[Interval] = []
    for index in range(1, tokens.count(f"tier {name!r}'s size") + 1):
        if kind == "IntervalTier":
            start = tokens.number(f"interval {index} xmin of tier {name!r}")
            end = tokens.number(f"interval {index} xmax of tier {name!r}")
            if end < start:
                raise tokens.error_at_previous(
                    f"interval {index} of tier {name!r} ends ({end}) before it starts ({start})"
                )
            label = tokens.string(f"interval {index} text of tier {name!r}")
            intervals.append(Interval(start, end, label))
        else:
            time = tokens.number(f"point {index} time of tier {name!r}")
            label = tokens.string(f"point {index} mark of tier {name!r}")
            intervals.append(Interval(time, time, label))
    return _Tier(kind, name, intervals)


class _Tokens:
    """A cursor over the file's values that raises errors naming the file and line."""

    def __init__(self, tokens: list[_Token], path: str | os.PathLike) -> None:
        self._tokens = tokens
        self._path = path
        self._position = 0

    def _next(self, kind: str, what: str) -> _Token:
        if self._position >= len(self._tokens):
            last_line = self._tokens[-1].line if self._tokens else 1
            raise BodyLanguageError(
                f"line {last_line}: file ends where {what} was expected", self._path
            )
        token = self._tokens[self._position]
        if token.kind != kind:
            shown = f'"{token.value}"' if token.kind == "string" else token.value
            raise BodyLanguageError(
                f"line {token.line}: expected {what} ({kind}), found {shown}", self._path
            )
        self._position += 1
        return token

    def string(self, what: str) -> str:
        return self._next("string", what).value

    def number(self, what: str) -> float:
        value = float(self._next("number", what).value)
        if not math.isfinite(value):
            raise self.error_at_previous(f"{what} is not a finite number")
        return value

    def count(self, what: str) -> int:
        value = self.number(what)
        if value < 0 or not value.is_integer():
            raise self.error_at_previous(f"{what} must be a whole number >= 0, got {value}")
        return int(value)

    def flag(self, what: str) -> str:
        value = self._next("flag", what).value
        if value not in ("exists", "absent"):
            raise self.error_at_previous(f"expected {what}, found <{value}>")
        return value

    def expect_end(self) -> None:
        if self._position < len(self._tokens):
            token = self._tokens[self._position]
            raise BodyLanguageError(
                f"line {token.line}: unexpected {token.value!r} after the last tier", self._path
            )

    def error_at_previous(self, message: str) -> BodyLanguageError:
        line = self._tokens[self._position - 1].line
        return BodyLanguageError(f"line {line}: {message}", self._path)


def _tokenize(text: str, path: str | os.PathLike) -> Iterator[_Token]:
    """The values of a Praat text file with their line numbers; labels and indices are skipped."""
    position, line, end = 0, 1, len(text)
    # Labels rarely span lines, so the first that does is where a lost quote most likely is.
    first_multiline: int | None = None
    while position < end:
        char = text[position]
        if char == "\n":
            line += 1
            position += 1
        elif char.isspace():
            position += 1
        elif char == '"':
            start_line = line
            pieces = []
            position += 1
            while True:
                close = text.find('"', position)
                if close < 0:
                    hint = (
                        ""
                        if first_multiline is None
                        else f"; check the quotes of the string that starts at line "
                        f"{first_multiline} and runs over several lines"
                    )
                    raise BodyLanguageError(
                        f"line {start_line}: string is never closed{hint}", path
                    )
                pieces.append(text[position:close])
                position = close + 1
                # Praat doubles a quote to escape it inside a string.
                if position < end and text[position] == '"':
                    pieces.append('"')
                    position += 1
                    continue
                break
            value = "".join(pieces)
            if "\n" in value and first_multiline is None:
                first_multiline = start_line
            line += value.count("\n")
            yield _Token("string", value, start_line)
        elif char == "!":  # a comment runs to the end of the line
            newline = text.find("\n", position)
            position = end if newline < 0 else newline
        elif char == "<":
            close = text.find(">", position)
            if close < 0 or "\n" in text[position:close]:
                raise BodyLanguageError(f"line {line}: '<' without a closing '>'", path)
            yield _Token("flag", text[position + 1 : close].strip(), line)
            position = close + 1
        elif char == "[":  # an index label such as `item [2]:` or `intervals [1]:`
            close = text.find("]", position)
            if close < 0 or "\n" in text[position:close]:
                raise BodyLanguageError(f"line {line}: '[' without a closing ']'", path)
            position = close + 1
        elif char in "=:":
            position += 1
        elif (number := _NUMBER.match(text, position)) is not None:
            yield _Token("number", number.group(), line)
            position = number.end()
        elif (word := _WORD.match(text, position)) is not None:
            if word.group() not in _LABELS:
                yield _Token("word", word.group(), line)
            position = word.end()
        else:
            raise BodyLanguageError(f"line {line}: unexpected character {char!r}", path)


def _decode(path: str | os.PathLike) -> str:
    """The file's text: UTF-16 (with or without a byte-order mark) or UTF-8."""
    file = Path(path)
    if not file.is_file():
        raise BodyLanguageError("TextGrid file not found", path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise BodyLanguageError(f"cannot read TextGrid: {exc}", path) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif len(raw) >= 2 and raw[0] == 0 and raw[1] != 0:
        encoding = "utf-16-be"
    elif len(raw) >= 2 and raw[0] != 0 and raw[1] == 0:
        encoding = "utf-16-le"
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BodyLanguageError(
            f"is neither UTF-8 nor UTF-16 text (byte {exc.start}: {exc.reason})", path
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")
