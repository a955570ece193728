"""Speak a Sentence with espeak-ng; time its words and phonemes from the synthesiser's own events.

espeak-ng runs in-process through ctypes on `libespeak-ng.so.1` in synchronous mode: a callback
collects the int16 samples and the WORD and PHONEME events, whose `audio_position` (ms) times each
word and phoneme. Emphasised words are wrapped in SSML `<emphasis>` (espeak-ng makes the word
longer and louder, with a glottal onset, but lowers its pitch) plus `<prosody pitch="+40%">` so the
stress also rises in pitch; measured on 20 words, 4 voices: +22 % length, +59 % RMS, +12 % F0.

Determinism: the synthesiser keeps state across messages in C statics that no API call resets
(pitch-flutter phase, voicing cycle count, limiter gain), so the same text spoken twice in one
process gives different samples and, through pitch-cycle boundaries, different timings. Each call
therefore loads the library afresh, speaks, and unloads it (`dlclose`): about 7 ms, which keeps
synthesis at a few hundred times real time while making the output a function of its inputs.
"""

from __future__ import annotations

import _ctypes
import ctypes
import os
import re
import threading
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from core.corpus.script import Phoneme, Sentence, Utterance, Word
from core.corpus.voices import VoiceSettings
from core.errors import BodyLanguageError

LIBRARY = "libespeak-ng.so.1"
PAUSE = "_"  # phoneme symbol for silence; espeak's pause symbols (_, _:, _!) all become this

# speak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000  # a missing data folder returns an error instead of exit()
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_SSML = 0x10
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_BUFFER_MS = 200  # audio per callback; fewer Python calls than espeak's 60 ms default
_NOISE_SEED = 1  # espeak draws breath/frication noise from C rand(); seeded per call

_SSML_OPEN = "<speak>"
_SSML_CLOSE = "</speak>"
_EMPHASIS_OPEN = '<emphasis><prosody pitch="+40%" volume="+25%">'
_EMPHASIS_CLOSE = "</prosody></emphasis>"


class _EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),  # phoneme mnemonic, zero-terminated unless 8 bytes long
    ]


class _Event(ctypes.Structure):
    # espeak_EVENT; ctypes applies the C alignment, so user_data sits at 24 and id at 32 on
    # 64-bit (40 bytes in all), as in the C struct.
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character index into the text given
        ("length", ctypes.c_int),  # characters of the word, for WORD events
        ("audio_position", ctypes.c_int),  # ms from the start of the message
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class _RawEvent:
    kind: int
    text_position: int
    length: int
    time: float  # seconds
    phoneme: str


class _Recording:
    """What the synth callback collects during one message."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.events: list[_RawEvent] = []

    def __call__(self, wav, count, events) -> int:  # ctypes pointers: short*, int, espeak_EVENT*
        if wav and count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        if events:
            index = 0
            while (event := events[index]).type != _EVENT_LIST_TERMINATED:
                if event.type in (_EVENT_WORD, _EVENT_PHONEME):
                    phoneme = ""
                    if event.type == _EVENT_PHONEME:
                        phoneme = event.id.string.decode("utf-8", errors="replace")
                    self.events.append(_RawEvent(
                        event.type, event.text_position, event.length,
                        event.audio_position / 1000.0, phoneme,
                    ))
                index += 1
        return 0  # continue synthesis


_lock = threading.Lock()
_recording: _Recording | None = None


def _dispatch(wav, count, events) -> int:
    return _recording(wav, count, events) if _recording is not None else 0


_callback = _SynthCallback(_dispatch)  # kept referenced for as long as the module lives
_availability: str | None = None  # None = not checked yet; "" = available; else the reason


def espeak_problem() -> str:
    """Why espeak-ng cannot speak here ("" when it can): tests use this as their skip reason."""
    global _availability
    if _availability is None:
        with _lock:
            try:
                library, _ = _open_library()
            except BodyLanguageError as exc:
                _availability = str(exc)
            else:
                _close_library(library)
                _availability = ""
    return _availability


def speak(sentence: Sentence, voice: VoiceSettings, lead_in: float = 0.2) -> Utterance:
    """`sentence` spoken by `voice`: float32 mono audio at espeak's rate, words and phonemes timed.

    `lead_in` seconds of silence precede the speech (a clip that starts mid-word gives the
    performer no rest pose); espeak's own sentence-final pause follows it. Times are seconds from
    the start of the returned audio. Identical inputs give identical outputs.
    """
    if not sentence.words:
        raise BodyLanguageError(f"sentence {sentence.text!r} has no words to speak")
    if not (len(sentence.words) == len(sentence.emphasis) == len(sentence.gestures)):
        raise BodyLanguageError(
            f"sentence {sentence.text!r}: words, emphasis and gestures differ in length "
            f"({len(sentence.words)}, {len(sentence.emphasis)}, {len(sentence.gestures)})"
        )
    if not 0.0 <= lead_in <= 10.0:
        raise BodyLanguageError(f"lead_in must be in [0, 10] seconds, got {lead_in}")
    markup = _markup(sentence)
    samples, sample_rate, events = _synthesize(markup.text, voice)
    if samples.size == 0:
        raise BodyLanguageError(
            f"espeak-ng produced no audio for {sentence.text!r} with voice {voice.espeak_name!r}"
        )
    duration = samples.size / sample_rate
    phones = _phone_intervals(events, duration)
    spans = _word_spans(events, phones, markup, sentence.words, duration)

    lead = int(round(lead_in * sample_rate))
    shift = lead / sample_rate
    audio = np.concatenate([np.zeros(lead, np.float32), samples.astype(np.float32) / 32768.0])
    words = [
        Word(text, start + shift, end + shift, bool(emphasis), gesture)
        for text, (start, end), emphasis, gesture in zip(
            sentence.words, spans, sentence.emphasis, sentence.gestures, strict=True
        )
    ]
    phonemes = _phoneme_tier(phones, shift)
    return Utterance(
        sentence=sentence, voice=voice.espeak_name, audio=audio, sample_rate=sample_rate,
        words=words, phonemes=phonemes,
    )


# --- the library -----------------------------------------------------------------------------

def _open_library() -> tuple[ctypes.CDLL, int]:
    if _resident():
        # Someone else in this process holds the library, so unloading cannot reset it, and
        # espeak-ng 1.51 hangs when re-initialised in place after espeak_Terminate.
        raise BodyLanguageError(
            f"{LIBRARY} is already loaded by another part of this process; "
            "core.corpus.speech must be its only user (it reloads it for every sentence)"
        )
    try:
        library = ctypes.CDLL(LIBRARY)
    except OSError as exc:
        raise BodyLanguageError(
            f"espeak-ng is not available ({exc}); install the Debian package espeak-ng"
        ) from None
    library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    library.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]
    library.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    sample_rate = library.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, None,
        _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT,
    )
    if sample_rate <= 0:
        _ctypes.dlclose(library._handle)  # nothing was set up for espeak_Terminate to free
        raise BodyLanguageError(
            "espeak-ng could not initialise (its espeak-ng-data folder is missing?); "
            "install the Debian package espeak-ng"
        )
    library.espeak_SetSynthCallback(_callback)
    return library, sample_rate


def _close_library(library: ctypes.CDLL) -> None:
    library.espeak_Terminate()
    # Unloading resets the synthesiser's C statics, so the next message starts from the same state.
    _ctypes.dlclose(library._handle)


def _resident() -> bool:
    """Whether libespeak-ng is mapped into this process right now."""
    try:
        handle = _ctypes.dlopen(LIBRARY, os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return False
    _ctypes.dlclose(handle)
    return True


_libc = ctypes.CDLL(None)


def _data_folder(library: ctypes.CDLL) -> Path:
    """The espeak-ng-data folder the library reads voices from (via espeak_Info)."""
    path = ctypes.c_char_p()
    library.espeak_Info.restype = ctypes.c_char_p
    library.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
    library.espeak_Info(ctypes.byref(path))
    return Path(os.fsdecode(path.value or b""))


def _synthesize(text: str, voice: VoiceSettings) -> tuple[np.ndarray, int, list[_RawEvent]]:
    """int16 samples, sample rate and WORD/PHONEME events for SSML `text` spoken by `voice`."""
    global _recording
    encoded = text.encode("utf-8")
    with _lock:
        library, sample_rate = _open_library()
        try:
            # espeak quietly ignores an unknown variant, so look for its file ourselves.
            unknown_variant = voice.variant is not None and not (
                _data_folder(library) / "voices" / "!v" / voice.variant
            ).is_file()
            if unknown_variant or library.espeak_SetVoiceByName(
                voice.espeak_name.encode("ascii")
            ) != 0:
                raise BodyLanguageError(
                    f"espeak-ng has no voice {voice.espeak_name!r} (see `espeak-ng --voices=en` "
                    "and `espeak-ng --voices=variant`)"
                )
            for parameter, value in (
                (_RATE, voice.rate), (_VOLUME, voice.volume),
                (_PITCH, voice.pitch), (_RANGE, voice.pitch_range),
            ):
                library.espeak_SetParameter(parameter, int(value), 0)
            _libc.srand(_NOISE_SEED)
            recording = _recording = _Recording()
            status = library.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _SSML, None, None
            )
            library.espeak_Synchronize()
        finally:
            _recording = None
            _close_library(library)
    if status != 0:
        raise BodyLanguageError(
            f"espeak-ng refused the text {text!r} (espeak_Synth error {status})"
        )
    samples = np.concatenate(recording.chunks) if recording.chunks else np.zeros(0, np.int16)
    return samples, sample_rate, recording.events


# --- text for espeak ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Markup:
    text: str  # SSML that espeak reads
    spans: tuple[tuple[int, int], ...]  # per sentence word: [start, end) 1-based positions in text


def _markup(sentence: Sentence) -> _Markup:
    """SSML for the sentence with each emphasised word in <emphasis>, and where each word sits."""
    located = _locate_words(sentence.text, sentence.words)
    if located is None:
        # The word list does not match the text (a tokeniser disagreement): speak the words
        # themselves, keeping the closing punctuation for the intonation it gives.
        closing = re.search(r"[.!?]+$", sentence.text.strip())
        source = " ".join(sentence.words) + (closing.group(0) if closing else ".")
        located = _locate_words(source, sentence.words)
        assert located is not None  # each word is found where it was joined in
    else:
        source = sentence.text
    pieces = [_SSML_OPEN]
    length = len(_SSML_OPEN)
    spans = []
    cursor = 0
    for (start, end), emphasis in zip(located, sentence.emphasis, strict=True):
        # Punctuation touching the word goes inside the element with it: espeak reads a "."
        # that directly follows a closing tag as the word "dot".
        first, last = start, end
        if emphasis:
            while first > cursor and _is_punctuation(source[first - 1]):
                first -= 1
            while last < len(source) and _is_punctuation(source[last]):
                last += 1
        gap = escape(source[cursor:first]) + (_EMPHASIS_OPEN if emphasis else "")
        before, word, after = (escape(source[a:b]) for a, b in ((first, start), (start, end),
                                                                 (end, last)))
        offset = length + len(gap) + len(before)
        spans.append((offset + 1, offset + 1 + len(word)))
        closing = _EMPHASIS_CLOSE if emphasis else ""
        pieces += [gap, before, word, after, closing]
        length += len(gap) + len(before) + len(word) + len(after) + len(closing)
        cursor = last
    pieces += [escape(source[cursor:]), _SSML_CLOSE]
    return _Markup("".join(pieces), tuple(spans))


def _is_punctuation(character: str) -> bool:
    return not character.isspace() and not character.isalnum()


def _locate_words(text: str, words: tuple[str, ...]) -> list[tuple[int, int]] | None:
    """[start, end) of each word in `text`, in order, or None when some word is not there."""
    spans = []
    cursor = 0
    for word in words:
        if not word.strip():
            return None
        pattern = r"(?<!\w)" + re.escape(word) + r"(?!\w)"
        found = re.compile(pattern).search(text, cursor)
        if found is None:
            found = re.compile(pattern, re.IGNORECASE).search(text, cursor)
        if found is None:
            return None
        spans.append(found.span())
        cursor = found.end()
    return spans


# --- timings -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Phone:
    symbol: str
    start: float
    end: float
    group: int  # index of the WORD event it follows (-1: before the first)

    @property
    def is_pause(self) -> bool:
        return self.symbol.startswith(PAUSE)


def _phone_intervals(events: list[_RawEvent], duration: float) -> list[_Phone]:
    """Every PHONEME event as an interval up to the next one, tagged with its WORD event."""
    group = -1
    marks: list[tuple[str, float, int]] = []
    for event in events:
        if event.kind == _EVENT_WORD and event.length > 0:
            group += 1
        elif event.kind == _EVENT_PHONEME:
            marks.append((event.phoneme, min(max(event.time, 0.0), duration), group))
    phones = []
    for index, (symbol, start, owner) in enumerate(marks):
        end = marks[index + 1][1] if index + 1 < len(marks) else duration
        phones.append(_Phone(symbol, start, max(end, start), owner))
    return phones


def _word_spans(
    events: list[_RawEvent], phones: list[_Phone], markup: _Markup, words: tuple[str, ...],
    duration: float,
) -> list[tuple[float, float]]:
    """(start, end) seconds of each sentence word.

    espeak sometimes reports one WORD event for two words ("this one", "in the") and sometimes
    two events for one (numbers); so events are mapped to words by text position, words that got
    no event share the phonemes of the event before them, split in proportion to their letters.
    """
    word_events = [e for e in events if e.kind == _EVENT_WORD and e.length > 0]
    by_event: dict[int, list[_Phone]] = {}
    for phone in phones:
        by_event.setdefault(phone.group, []).append(phone)
    # Sentence word where each run of events starts -> the phonemes of that run.
    runs: dict[int, list[_Phone]] = {}
    for index, owner in enumerate(_event_owners(word_events, markup.spans)):
        if owner is not None:
            runs.setdefault(owner, []).extend(by_event.get(index, []))
    anchors = sorted(runs) or [0]
    # Words before the first event, and phonemes before it, go with the first run.
    first_run = by_event.get(-1, []) + runs.pop(anchors[0], [])
    runs = {0: first_run, **runs}
    anchors[0] = 0

    spans: list[tuple[float, float] | None] = [None] * len(words)
    for index, first in enumerate(anchors):
        last = anchors[index + 1] - 1 if index + 1 < len(anchors) else len(words) - 1
        spoken = [p for p in runs[first] if not p.is_pause and p.end > p.start]
        for offset, span in enumerate(_split(spoken, words[first:last + 1])):
            spans[first + offset] = span
    return _fill_gaps(spans, duration)


def _event_owners(
    word_events: list[_RawEvent], spans: tuple[tuple[int, int], ...]
) -> list[int | None]:
    """Per WORD event, the sentence word it starts in; None for text between words ("&")."""
    def overlapped(event: _RawEvent) -> int | None:
        end = event.text_position + event.length
        return next(
            (i for i, (a, b) in enumerate(spans) if event.text_position < b and end > a), None
        )

    direct = [overlapped(event) for event in word_events]
    voiced = {owner for owner in direct if owner is not None}
    owners: list[int | None] = []
    latest = 0
    for event, owner in zip(word_events, direct, strict=True):
        if owner is None:
            # Between words: espeak sometimes reports a word at the punctuation before it
            # ("- twice" at the "-"); such an event belongs to the next word if that word has
            # no event of its own, else it is spoken text that is no sentence word ("&").
            following = next(
                (i for i, (a, _) in enumerate(spans) if a >= event.text_position), None
            )
            if following is not None and following not in voiced:
                owner = following
        if owner is not None:
            latest = max(latest, owner)  # never step back in the sentence
            owner = latest
        owners.append(owner)
    if word_events and all(owner is None for owner in owners):
        # Positions that match nothing mean espeak counted the text differently from us
        # (multi-byte characters, say): fall back to taking the events in order.
        return [min(i, len(spans) - 1) for i in range(len(word_events))]
    return owners


def _split(spoken: list[_Phone], words: tuple[str, ...]) -> list[tuple[float, float] | None]:
    """Share one event's phonemes among the words it covers, in proportion to their letters."""
    if not spoken:
        return [None] * len(words)
    if len(words) == 1:
        return [(spoken[0].start, spoken[-1].end)]
    letters = np.array([max(sum(c.isalnum() for c in w), 1) for w in words], dtype=float)
    if len(spoken) >= len(words):
        # Boundaries at phoneme edges; each word keeps at least one phoneme.
        ideal = np.round(np.cumsum(letters)[:-1] / letters.sum() * len(spoken)).astype(int)
        bounds = [0, *ideal.tolist(), len(spoken)]
        for k in range(1, len(words)):
            # At least one phoneme for this word and one for each word after it.
            bounds[k] = min(max(bounds[k], bounds[k - 1] + 1), len(spoken) - (len(words) - k))
        return [(spoken[a].start, spoken[b - 1].end) for a, b in pairwise(bounds)]
    # Fewer phonemes than words: split the time itself.
    start, end = spoken[0].start, spoken[-1].end
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(letters) / letters.sum()])
    return [(float(a), float(b)) for a, b in pairwise(edges)]


def _fill_gaps(
    spans: list[tuple[float, float] | None], duration: float
) -> list[tuple[float, float]]:
    """Time words espeak did not voice inside the gap their neighbours leave; keep order."""
    filled: list[tuple[float, float]] = []
    index = 0
    while index < len(spans):
        if spans[index] is not None:
            start, end = spans[index]
            floor = filled[-1][1] if filled else 0.0
            start = min(max(start, floor), duration)
            filled.append((start, min(max(end, start), duration)))
            index += 1
            continue
        run_end = index
        while run_end < len(spans) and spans[run_end] is None:
            run_end += 1
        gap_start = filled[-1][1] if filled else 0.0
        later = spans[run_end] if run_end < len(spans) else None
        gap_end = max(later[0] if later is not None else duration, gap_start)
        edges = np.linspace(gap_start, gap_end, run_end - index + 1)
        filled.extend((float(a), float(b)) for a, b in pairwise(edges))
        index = run_end
    return filled


def _phoneme_tier(phones: list[_Phone], shift: float) -> list[Phoneme]:
    """Contiguous phoneme intervals from 0: pauses (and any unreported stretch) become PAUSE."""
    tier: list[Phoneme] = []

    def add(symbol: str, start: float, end: float) -> None:
        if tier and tier[-1].end < start:
            add(PAUSE, tier[-1].end, start)
        elif not tier and start > 0.0:
            tier.append(Phoneme(PAUSE, 0.0, start))
        if tier and tier[-1].symbol == PAUSE and symbol == PAUSE:
            tier[-1] = Phoneme(PAUSE, tier[-1].start, end)
        else:
            tier.append(Phoneme(symbol, start, end))

    for phone in phones:
        if phone.end > phone.start:
            add(PAUSE if phone.is_pause else phone.symbol, phone.start + shift, phone.end + shift)
    return tier
