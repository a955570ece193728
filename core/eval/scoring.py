"""Scores per clip, gathered per system, and the table row they make (see `evaluation` for what
each metric means and `metrics` for the definitions)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.eval import metrics, performance
from core.eval import systems as eval_systems
from core.eval.baselines import TrainingReference
from core.eval.clips import SAMPLE_RATE, ClipCase
from core.eval.judges import Judges
from core.eval.panel import REALSPEECH_DIR, read_real_voices
from core.eval.systems import EditFn
from core.motion import Motion
from core.skeleton import PARTS, forward_kinematics

EDITED_PART = "upper"


@dataclass
class ClipScores:
    """One system's scores, clip by clip."""

    bc_sum: float = 0.0
    bc_weight: float = 0.0
    bc_clips: int = 0
    lip: list[float] = field(default_factory=list)
    face: list[float] = field(default_factory=list)
    emotion_read: list[bool] = field(default_factory=list)
    emotion_judged: list[bool] = field(default_factory=list)
    prompt: list[bool] = field(default_factory=list)
    prompt_speech: list[bool] = field(default_factory=list)
    skate: list[float] = field(default_factory=list)
    blinks: list[float] = field(default_factory=list)
    edit_kept: list[float] = field(default_factory=list)
    edit_seam: list[float] = field(default_factory=list)
    features: list[np.ndarray] = field(default_factory=list)
    positions: list[np.ndarray] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many clips gave each metric."""
        return {
            "bc": self.bc_clips, "fgd": len(self.features), "div": len(self.positions),
            "face_mae": len(self.face), "lip_sync": len(self.lip),
            "emotion_from_motion": len(self.emotion_read),
            "emotion_judged": len(self.emotion_judged), "prompt_following": len(self.prompt),
            "prompt_following_speech": len(self.prompt_speech), "foot_skate": len(self.skate),
            "blinks_per_min": len(self.blinks),
            "edit_kept": len(self.edit_kept), "edit_seam": len(self.edit_seam),
        }


def system_values(name: str, scores: ClipScores, real_features: Sequence[np.ndarray],
                  reference: TrainingReference, model: Any, seed: int) -> dict[str, float | None]:
    """System `name`'s table row from its scores; the model's also scores it on real voices."""
    div = metrics.l1_diversity(scores.positions) if len(scores.positions) > 1 else None
    return {
        "bc": scores.bc_sum / scores.bc_weight if scores.bc_weight else None,
        "fgd": finite_or_none(_fgd(name, scores, real_features, reference)),
        "div": finite_or_none(div),
        "face_mae": mean(scores.face),
        "lip_sync": mean(scores.lip),
        "emotion_from_motion": mean(scores.emotion_read),
        "emotion_judged": mean(scores.emotion_judged),
        "prompt_following": mean(scores.prompt),
        "prompt_following_speech": mean(scores.prompt_speech),
        "foot_skate": mean(scores.skate),
        "blinks_per_min": mean(scores.blinks),
        **(real_voices(model, seed) if name == "model" else {}),
        "edit_kept": mean(scores.edit_kept),
        "edit_seam": mean(scores.edit_seam),
    }


def _fgd(name: str, scores: ClipScores, real_features: Sequence[np.ndarray],
         reference: TrainingReference) -> float | None:
    """The system's features against the split's real motion; the teacher's (the real motion
    itself) against the training split's."""
    if not (scores.features and real_features):
        return None
    generated = np.concatenate(scores.features)
    if name == "teacher":
        if reference.train_features is None:
            return None
        return metrics.frechet_distance(generated, reference.train_features)
    return metrics.frechet_distance(generated, np.concatenate(real_features))


def score_clip(scores: ClipScores, case: ClipCase, motion: Motion, judges: Judges,
               reference: TrainingReference) -> None:
    """Add one clip's scores of `motion`, the system's performance of `case`."""
    entry = case.entry
    positions = forward_kinematics(motion.poses).astype(np.float32)
    scores.positions.append(positions)
    if motion.face_space == judges.features.face_space:
        scores.features.append(judges.features.embed(motion))
    if motion.face_space == case.real.face_space:
        scores.face.append(metrics.face_mae(motion, case.real))
    if case.has_speech:
        bc = metrics.beat_consistency(positions, motion.fps, case.audio, SAMPLE_RATE,
                                      mean_speed=reference.joint_speeds)
        if math.isfinite(bc):
            weight = motion.num_frames - 2 * round(metrics.BC_SKIP_S * motion.fps)
            scores.bc_sum += bc * weight
            scores.bc_weight += weight
            scores.bc_clips += 1
        scores.lip.append(metrics.motion_lip_sync(motion, case.audio, SAMPLE_RATE))
    if entry.emotion:
        scores.emotion_judged.append(judges.emotion.predict(motion) == entry.emotion)
    if entry.action:
        followed = judges.action.predict(motion) == entry.action
        (scores.prompt_speech if case.has_speech else scores.prompt).append(followed)
    scores.skate.append(performance.foot_skate(motion))
    if motion.face_space == "arkit52":
        scores.blinks.append(performance.blinks_per_minute(motion))


def edit_checks(scores: ClipScores, case: ClipCase, edit: EditFn) -> None:
    """Regenerate the upper body with the rest kept, then everything in the middle third."""
    frames = case.real.num_frames
    part_edit = edit(case, (EDITED_PART,), None)
    scores.edit_kept.append(
        metrics.edit_consistency(case.real, part_edit, (EDITED_PART,))["kept_identical"]
    )
    span = (frames // 3, 2 * frames // 3)
    span_edit = edit(case, PARTS, span)
    result = metrics.edit_consistency(case.real, span_edit, PARTS, span)
    scores.edit_kept.append(result["kept_identical"])
    if math.isfinite(result["seam_speed_ratio"]):
        scores.edit_seam.append(result["seam_speed_ratio"])


def real_voices(model: Any, seed: int) -> dict[str, float | None]:
    """The mouth on real human voices (shared/realspeech, when present): jaw against the vowel
    openness of the phone alignment, mouth closed in pauses, blinks."""
    vowel, closed, blinks = [], [], []
    for voice in read_real_voices(REALSPEECH_DIR):
        motion = eval_systems.model_api().generate(model, audio=voice.audio,
                                                   sample_rate=SAMPLE_RATE, seed=seed)
        score = performance.mouth_against_phones(motion, voice.phones)
        vowel.append(score.vowel_r)
        if score.pause_closed is not None:
            closed.append(score.pause_closed)
        blinks.append(performance.blinks_per_minute(motion))
    return {"real_vowel_r": mean(vowel), "real_pause_closed": mean(closed),
            "real_blinks_per_min": mean(blinks)}


def mean(values: Sequence[float | bool]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)

