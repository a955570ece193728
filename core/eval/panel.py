"""A quick, fixed held-out panel for learning curves: the figures that say whether a model follows
what it is given, in a few minutes on a CPU.

    panel = Panel.build("data/corpus", split="val")
    scores = panel.score(generate)     # generate(audio, sample_rate, prompt, emotion, duration)

What it measures (every case is fixed, so two models or two moments of one run compare):
  prompt_text        held-out phrasings of every action, text only: the action judge agrees
  prompt_speech      one held-out phrasing per action while held-out speech plays
  prompt_effect      mean change of the upper body and hands (radians) when only the prompt
                     changes with speech playing (0: the prompt is ignored)
  emotion_judged     held-out speech clips generated with their emotion: the emotion judge agrees
  emotion_effect     mean change (radians) when only the emotion changes
  emotion_from_motion  the model reads the emotion of the clips' real motion (when asked)
  lip_sync           jaw vs loudness on those clips (held-out synthetic voices)
  real_vowel_r       jaw vs vowel openness on ../shared/realspeech (real voices), when present
  real_pause_closed  share of pause frames with the mouth closed there
  blinks_per_min     on the held-out speech clips
  fgd                motion features of the speech clips' generations against their real motion
  foot_skate         planted-foot speed, cm/s
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.corpus.action_phrases import PHRASES
from core.corpus.layout import CorpusEntry
from core.errors import BodyLanguageError
from core.eval import metrics, performance
from core.eval.features import corpus_entries
from core.eval.judges import DEFAULT_JUDGES_DIR, Judges, load_judges
from core.io.audio import load_audio
from core.io.beat2 import read_motion_npz
from core.motion import Motion
from core.skeleton import PART_JOINTS

SAMPLE_RATE = 16000
PROMPT_SECONDS = 6.0  # the action judge reads a motion's first 6 s
REALSPEECH_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "realspeech"
_BODY_JOINTS = list(PART_JOINTS["upper"]) + list(PART_JOINTS["hands"])

GenerateFn = Callable[[np.ndarray | None, int, str, str | None, float | None], Motion]


@dataclass(frozen=True)
class SpeechCase:
    entry: CorpusEntry
    audio: np.ndarray
    real: Motion


@dataclass(frozen=True)
class RealVoice:
    name: str
    audio: np.ndarray
    phones: list[performance.Phone]


@dataclass
class Panel:
    judges: Judges
    speech: list[SpeechCase]
    voices: list[RealVoice]
    prompts: list[tuple[str, str]]  # (action, held-out phrasing)

    @classmethod
    def build(cls, data_dir: str | os.PathLike, split: str = "val", speech_clips: int = 16,
              judges_dir: str | os.PathLike = DEFAULT_JUDGES_DIR,
              realspeech: str | os.PathLike | None = REALSPEECH_DIR,
              phrasings_per_action: int = 2) -> Panel:
        entries = [e for e in corpus_entries(data_dir, split)
                   if e.transcript and not e.action and e.wav is not None]
        if not entries:
            raise BodyLanguageError(f"holds no speech clips in split {split!r}", data_dir)
        speech = []
        for entry in entries[:speech_clips]:
            real = read_motion_npz(entry.npz)
            audio = load_audio(entry.wav, SAMPLE_RATE)
            speech.append(SpeechCase(entry, audio, real))
        prompts = [(action, text) for action, (_, heldout) in sorted(PHRASES.items())
                   for text in heldout[:phrasings_per_action]]
        return cls(load_judges(judges_dir), speech, read_real_voices(realspeech), prompts)

    def score(self, generate: GenerateFn,
              read_emotion: Callable[[Motion], str] | None = None) -> dict[str, Any]:
        """The panel's figures for a system; `read_emotion` (motion -> emotion name), when
        given, is scored on the real motion of the speech clips (emotion_from_motion)."""
        began = time.process_time()
        scores: dict[str, Any] = {}
        if read_emotion is not None:
            scores["emotion_from_motion"] = float(np.mean(
                [read_emotion(case.real) == case.entry.emotion for case in self.speech]))
        scores.update(self._prompt_scores(generate))
        scores.update(self._speech_scores(generate))
        scores.update(self._real_voice_scores(generate))
        scores["panel_cpu_s"] = round(time.process_time() - began, 1)
        return scores

    def _prompt_scores(self, generate: GenerateFn) -> dict[str, float]:
        judge = self.judges.action
        text_hits = [judge.predict(generate(None, SAMPLE_RATE, text, None, PROMPT_SECONDS))
                     == action for action, text in self.prompts]
        speech_hits, effects = [], []
        seen = set()
        for index, (action, text) in enumerate(self.prompts):
            if action in seen:
                continue
            seen.add(action)
            audio = self.speech[index % len(self.speech)].audio[: int(PROMPT_SECONDS * SAMPLE_RATE)]
            with_prompt = generate(audio, SAMPLE_RATE, text, None, None)
            speech_hits.append(judge.predict(with_prompt) == action)
            if len(effects) < 8:
                without = generate(audio, SAMPLE_RATE, "", None, None)
                effects.append(_body_change(with_prompt, without))
        return {"prompt_text": float(np.mean(text_hits)),
                "prompt_speech": float(np.mean(speech_hits)),
                "prompt_effect": float(np.mean(effects))}

    def _speech_scores(self, generate: GenerateFn) -> dict[str, float]:
        judged, lips, blinks, skate, features, real_features, effects = [], [], [], [], [], [], []
        emotions = list(self.judges.emotion.labels)
        for index, case in enumerate(self.speech):
            emotion = case.entry.emotion
            motion = generate(case.audio, SAMPLE_RATE, "", emotion, None)
            judged.append(self.judges.emotion.predict(motion) == emotion)
            lips.append(metrics.motion_lip_sync(motion, case.audio, SAMPLE_RATE))
            blinks.append(performance.blinks_per_minute(motion))
            skate.append(performance.foot_skate(motion))
            features.append(self.judges.features.embed(motion))
            real_features.append(self.judges.features.embed(case.real))
            if index < 6:
                other = emotions[(emotions.index(emotion) + len(emotions) // 2) % len(emotions)]
                effects.append(_body_change(motion, generate(case.audio, SAMPLE_RATE, "", other,
                                                             None)))
        fgd = metrics.frechet_distance(np.concatenate(features), np.concatenate(real_features))
        teacher_skate = [performance.foot_skate(case.real) for case in self.speech]
        return {"emotion_judged": float(np.mean(judged)), "emotion_effect": float(np.mean(effects)),
                "lip_sync": float(np.mean(lips)), "blinks_per_min": float(np.mean(blinks)),
                "fgd": float(fgd), "foot_skate": float(np.mean(skate)),
                "teacher_foot_skate": float(np.mean(teacher_skate))}

    def _real_voice_scores(self, generate: GenerateFn) -> dict[str, float | None]:
        if not self.voices:
            return {"real_vowel_r": None, "real_pause_closed": None}
        vowel, closed = [], []
        for voice in self.voices:
            motion = generate(voice.audio, SAMPLE_RATE, "", None, None)
            score = performance.mouth_against_phones(motion, voice.phones)
            vowel.append(score.vowel_r)
            if score.pause_closed is not None:
                closed.append(score.pause_closed)
        return {"real_vowel_r": float(np.mean(vowel)),
                "real_pause_closed": float(np.mean(closed)) if closed else None}


def read_real_voices(folder: str | os.PathLike | None) -> list[RealVoice]:
    """The utterances of a realspeech folder (wav + .phone.json); none when it is absent."""
    if folder is None or not Path(folder).is_dir():
        return []
    voices = []
    for wav in sorted(Path(folder).glob("*.wav")):
        alignment = wav.with_suffix(".phone.json")
        if alignment.exists():
            audio = load_audio(wav, SAMPLE_RATE)
            voices.append(RealVoice(wav.stem, audio, performance.read_phone_alignment(alignment)))
    return voices


def _body_change(a: Motion, b: Motion) -> float:
    frames = min(a.num_frames, b.num_frames)
    return float(np.abs(a.poses[:frames, _BODY_JOINTS] - b.poses[:frames, _BODY_JOINTS]).mean())


def teacher_scores(panel: Panel) -> dict[str, float]:
    """The corpus' own motion on the panel's speech clips: what a perfect model would score."""
    lips = [metrics.motion_lip_sync(c.real, c.audio, SAMPLE_RATE) for c in panel.speech]
    judged = [panel.judges.emotion.predict(c.real) == c.entry.emotion for c in panel.speech]
    return {"lip_sync": float(np.mean(lips)), "emotion_judged": float(np.mean(judged)),
            "blinks_per_min": float(np.mean([performance.blinks_per_minute(c.real)
                                             for c in panel.speech])),
            "foot_skate": float(np.mean([performance.foot_skate(c.real) for c in panel.speech]))}


__all__: Sequence[str] = ("Panel", "read_real_voices", "teacher_scores")
