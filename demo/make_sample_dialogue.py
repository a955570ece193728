"""Make the demo's two speakers' lines with the corpus's own speech synthesis (espeak-ng).

    .venv/bin/python demo/make_sample_dialogue.py [--out-dir demo]

Writes `sample_dialogue.wav` (Anna's two sentences) and `sample_reply.wav` (Ben's two short
replies), 16 kHz mono 16-bit (the corpus's audio format), each with its transcript (`.txt`).
Both voices are held-out evaluation speakers (a Scottish woman, a Caribbean man), so neither is
one the model heard in training. The output is a function of the text and voices only: running
the script again gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEMO_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DEMO_DIR.parent))

from core.corpus.augment import resample_to  # noqa: E402
from core.corpus.builder import CORPUS_SAMPLE_RATE, join_utterances  # noqa: E402
from core.corpus.sentences import parse_marked  # noqa: E402
from core.corpus.speech import speak  # noqa: E402
from core.corpus.voices import EMOTION_PROSODY, NEUTRAL_RATE, VoiceSettings  # noqa: E402


@dataclass(frozen=True)
class Speaker:
    """One speaker's wav: its file stem, voice, emotion and lines (`*word*` is stressed, as in
    the corpus's sentence templates; espeak lengthens and raises it)."""

    stem: str
    base: str
    variant: str
    emotion: str
    lines: tuple[tuple[str, str], ...]


# Held-out accents and timbres (core/corpus/voices.py HELDOUT_BASES, HELDOUT_VARIANTS).
ANNA = Speaker("sample_dialogue", "en-gb-scotland", "Andrea", "happiness", (
    ("*Hello* there, it is really good to see you again!", "exclamation"),
    ("Let me show you what we *built* this week, step by step.", "statement"),
))
BEN = Speaker("sample_reply", "en-029", "travis", "neutral", (
    ("Hi Anna, come on in.", "statement"),
    ("Oh, *great*, what is it?", "question"),
))
SPEAKERS = (ANNA, BEN)
LEAD_IN = 0.4
GAP = 0.5
TAIL = 0.6
# espeak's loud emotions reach full scale, and resampling overshoots it: scale to -3 dBFS peak.
PEAK = 10 ** (-3 / 20)


def speaker_voice(speaker: Speaker) -> VoiceSettings:
    prosody = EMOTION_PROSODY[speaker.emotion]
    return VoiceSettings(name=speaker.base, variant=speaker.variant, rate=NEUTRAL_RATE,
                         pitch=50 + prosody.pitch, pitch_range=50 + prosody.pitch_range,
                         volume=100 + prosody.volume)


def synthesise(speaker: Speaker) -> tuple[np.ndarray, str]:
    """The speaker's lines as float32 mono at 16 kHz, and their transcript."""
    voice = speaker_voice(speaker)
    sentences = [parse_marked(marked, kind, "demo") for marked, kind in speaker.lines]
    spoken = [speak(sentence, voice, lead_in=LEAD_IN if index == 0 else 0.0)
              for index, sentence in enumerate(sentences)]
    utterance = join_utterances(spoken, [GAP] * (len(spoken) - 1), tail=TAIL)
    audio = resample_to(utterance.audio, utterance.sample_rate, CORPUS_SAMPLE_RATE)
    audio = audio * np.float32(PEAK / np.abs(audio).max())
    return audio, utterance.sentence.text


def pcm16(audio: np.ndarray) -> bytes:
    """Little-endian 16-bit samples, rounded (not truncated) so the level is symmetric."""
    scaled = np.round(np.clip(audio, -1.0, 1.0) * 32767.0)
    return scaled.astype("<i2").tobytes()


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes(pcm16(audio))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEMO_DIR,
                        help="where the wav and transcript go (default: demo/)")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for speaker in SPEAKERS:
        audio, transcript = synthesise(speaker)
        wav_path = args.out_dir / f"{speaker.stem}.wav"
        transcript_path = args.out_dir / f"{speaker.stem}.txt"
        write_wav(wav_path, audio, CORPUS_SAMPLE_RATE)
        transcript_path.write_text(transcript + "\n")
        seconds = len(audio) / CORPUS_SAMPLE_RATE
        print(f"{wav_path}: {seconds:.2f} s, {wav_path.stat().st_size / 1000:.0f} KB")
        print(f"{transcript_path}: {transcript}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
