"""`python -m core eval`: the model, the procedural teacher and two baselines on held-out clips.

For every clip of the chosen split (held-out voices, templates and action phrasings), each system
makes a motion of the clip's length:

    model         core.api.generate from the clip's audio, transcript, emotion and, for action
                  clips, the held-out description as the prompt
    teacher       the corpus's own motion (the procedural performer)
    mean_pose     the training split's mean pose, held still
    nearest_clip  the training clip whose audio is most alike (log-mel mean and spread), its motion
                  cropped or played back and forth to the length

and the table holds, per system (see `metrics` for the definitions):

    bc            beat consistency (EMAGE), speech clips, weighted by evaluated length
    fgd           Fréchet distance of the project's motion features to those of the real motion
                  of the split; the teacher's row compares the split's real motion with the
                  training split's (the floor a perfect model reaches; against itself it is 0)
    div           L1 diversity of joint positions across the system's clips
    face_mae      face channel error against the real clip
    lip_sync      jaw opening vs. audio envelope correlation, speech clips
    emotion_from_motion  model: `predict_emotion` on the real motion; teacher: the emotion judge on
                  the real motion (that is, the judge's own held-out accuracy)
    emotion_judged       the emotion judge on the system's motion vs. the clip's emotion
    prompt_following     the action judge on the system's motion vs. the clip's action (action
                  clips only, their prompts are held-out paraphrases)
    edit_kept / edit_seam  upper body regenerated with the rest kept (kept channels bit-identical
                  fraction), and the middle third regenerated (worst seam speed / median speed);
                  baselines splice their own motion in, the teacher cannot edit

The judges (motion features, action and emotion classifiers) live in `core/checkpoints/eval/`
and are trained from the corpus when missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.corpus.layout import CorpusEntry
from core.errors import BodyLanguageError
from core.eval import metrics, performance
from core.eval.classifiers import (
    ACTION_KIND,
    EMOTION_KIND,
    MotionClassifier,
    load_classifier,
    read_labelled_clips,
    train_action_classifier,
    train_emotion_classifier,
)
from core.eval.features import (
    MotionFeatureExtractor,
    corpus_entries,
    iter_motions,
    load_motion_features,
    train_motion_features,
)
from core.io.audio import load_audio
from core.io.beat2 import read_motion_npz
from core.motion import Motion
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from core.skeleton import PARTS, forward_kinematics

SYSTEMS: tuple[str, ...] = ("model", "teacher", "mean_pose", "nearest_clip")
METRICS: tuple[str, ...] = (
    "bc", "fgd", "div", "face_mae", "lip_sync", "emotion_from_motion", "emotion_judged",
    "prompt_following", "prompt_following_speech", "edit_kept", "edit_seam", "foot_skate",
    "blinks_per_min", "real_vowel_r", "real_pause_closed",
)
SAMPLE_RATE = 16000
DEFAULT_JUDGES_DIR = Path(__file__).resolve().parents[1] / "checkpoints" / "eval"
JUDGE_FILES = {"features": "motion_features", ACTION_KIND: ACTION_KIND,
               EMOTION_KIND: EMOTION_KIND}
REFERENCE_CLIPS = 400  # training clips read for the mean pose, joint speeds and teacher FGD
EDIT_CLIPS = 8  # speech clips per system used for the edit checks
EDITED_PART = "upper"


# --- judges -------------------------------------------------------------------------------------


@dataclass
class Judges:
    """What scores the systems: FGD feature extractor, action judge, emotion judge."""

    features: MotionFeatureExtractor
    action: MotionClassifier
    emotion: MotionClassifier


def load_judges(directory: str | os.PathLike = DEFAULT_JUDGES_DIR) -> Judges:
    """The three judges saved under `directory` (see `JUDGE_FILES`)."""
    directory = Path(directory)
    return Judges(
        features=load_motion_features(directory / JUDGE_FILES["features"]),
        action=load_classifier(directory / JUDGE_FILES[ACTION_KIND], ACTION_KIND),
        emotion=load_classifier(directory / JUDGE_FILES[EMOTION_KIND], EMOTION_KIND),
    )


def train_judges(
    data_dir: str | os.PathLike,
    directory: str | os.PathLike | None = DEFAULT_JUDGES_DIR,
    steps: Mapping[str, int] | None = None,
    progress: bool = True,
    seed: int = 0,
) -> Judges:
    """Train all three judges on `data_dir`'s train split (saved under `directory` when given).

    `steps` may set "features", "action_classifier", "emotion_classifier" training steps.
    """
    steps = dict(steps or {})
    out = None if directory is None else Path(directory)

    def target(name: str) -> Path | None:
        return None if out is None else out / JUDGE_FILES[name]

    def options(name: str) -> dict[str, int]:
        return {"steps": steps[name]} if name in steps else {}

    features = train_motion_features(data_dir, target("features"), seed=seed,
                                     progress=progress, **options("features"))
    clips = read_labelled_clips(data_dir, "train", progress)
    action = train_action_classifier(data_dir, target(ACTION_KIND), seed=seed,
                                     progress=progress, clips=clips, **options(ACTION_KIND))
    emotion = train_emotion_classifier(data_dir, target(EMOTION_KIND), seed=seed,
                                       progress=progress, clips=clips, **options(EMOTION_KIND))
    return Judges(features, action, emotion)


def load_or_train_judges(data_dir: str | os.PathLike,
                         directory: str | os.PathLike = DEFAULT_JUDGES_DIR,
                         progress: bool = True) -> Judges:
    """The saved judges, or freshly trained ones (then saved) when any is missing."""
    directory = Path(directory)
    if all((directory / f"{name}.json").is_file() for name in JUDGE_FILES.values()):
        return load_judges(directory)
    if progress:
        print(f"training the evaluation judges into {directory} ...", file=sys.stderr)
    return train_judges(data_dir, directory, progress=progress)


# --- baselines ----------------------------------------------------------------------------------


def _chordal_mean_rotations(poses: np.ndarray) -> np.ndarray:
    """(J, 3) per-joint mean rotation: the mean rotation matrix projected back onto SO(3)."""
    mean = axis_angle_to_matrix(poses.astype(np.float64)).mean(axis=0)
    u, _, vt = np.linalg.svd(mean)
    fix = np.ones((mean.shape[0], 3))
    fix[:, -1] = np.sign(np.linalg.det(u @ vt))
    return matrix_to_axis_angle((u * fix[:, None, :]) @ vt)


@dataclass
class TrainingReference:
    """What the baselines and metrics take from the training split."""

    mean_pose: Motion  # one frame
    joint_speeds: np.ndarray  # (55,) mean joint speed (EMAGE's avg_vel) for BC
    train_features: np.ndarray | None  # FGD features of training motion (teacher's floor)
    audio_descriptors: np.ndarray  # (N, D) standardised nearest-clip keys
    clip_npz: list[Path]


def audio_descriptor(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mean and spread of a 40-band log-mel spectrogram and of the level: a clip's audio key."""
    samples = np.asarray(audio, dtype=np.float64)
    n_fft, hop = 512, 160
    if len(samples) < n_fft:
        samples = np.pad(samples, (0, n_fft - len(samples)))
    frames = 1 + (len(samples) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    power = np.abs(np.fft.rfft(samples[index] * np.hanning(n_fft), axis=1)) ** 2
    bank = metrics._mel_filterbank(sample_rate, n_fft, 40)
    log_mel = np.log10(np.maximum(power @ bank.T, 1e-10))
    level = np.log10(np.maximum(power.sum(axis=1), 1e-10))[:, None]
    values = np.concatenate([log_mel, level], axis=1)
    return np.concatenate([values.mean(axis=0), values.std(axis=0)])


def _clip_audio(entry: CorpusEntry, frames: int, fps: float) -> np.ndarray:
    samples = int(round(frames / fps * SAMPLE_RATE))
    if entry.wav is None or not Path(entry.wav).is_file():
        return np.zeros(samples, np.float32)
    audio = load_audio(entry.wav, SAMPLE_RATE)
    return np.pad(audio, (0, max(0, samples - len(audio))))[:samples]


def build_reference(
    data_dir: str | os.PathLike,
    features: MotionFeatureExtractor | None,
    max_clips: int = REFERENCE_CLIPS,
    progress: bool = True,
) -> TrainingReference:
    """Mean pose, joint speeds, training features and the nearest-clip index from the train
    split (an evenly spaced choice of at most `max_clips` clips)."""
    entries = corpus_entries(data_dir, "train")
    if len(entries) > max_clips:
        picks = np.linspace(0, len(entries) - 1, max_clips).round().astype(int)
        entries = [entries[i] for i in picks]
    poses, trans, faces, speeds, embedded, keys, paths = [], [], [], [], [], [], []
    face_space, fps = None, 30.0
    for entry, motion in _progress(iter_motions(entries), len(entries), "reference", progress):
        face_space = face_space or motion.face_space
        fps = motion.fps
        poses.append(motion.poses[::3])
        trans.append(motion.trans[::3])
        if motion.face_space == face_space:
            faces.append(motion.face[::3])
        positions = forward_kinematics(motion.poses)
        speeds.append(metrics.joint_speeds(positions, motion.fps))
        if features is not None and motion.face_space == features.face_space:
            embedded.append(features.embed(motion))
        keys.append(audio_descriptor(_clip_audio(entry, motion.num_frames, motion.fps)))
        paths.append(entry.npz)
    all_poses = np.concatenate(poses)
    mean_pose = Motion(
        poses=_chordal_mean_rotations(all_poses)[None],
        trans=np.concatenate(trans).mean(axis=0)[None],
        face=np.concatenate(faces).mean(axis=0)[None],
        face_space=face_space,
        fps=fps,
    )
    keys = np.stack(keys)
    spread = np.maximum(keys.std(axis=0), 1e-6)
    return TrainingReference(
        mean_pose=mean_pose,
        joint_speeds=np.concatenate(speeds).mean(axis=0),
        train_features=np.concatenate(embedded) if embedded else None,
        audio_descriptors=np.concatenate([keys.mean(axis=0)[None], spread[None], keys]),
        clip_npz=paths,
    )


def hold_mean_pose(reference: TrainingReference, frames: int) -> Motion:
    """The mean-pose baseline: the training mean pose for `frames` frames."""
    pose = reference.mean_pose
    return replace(pose, poses=np.repeat(pose.poses, frames, 0),
                   trans=np.repeat(pose.trans, frames, 0), face=np.repeat(pose.face, frames, 0))


def fit_length(motion: Motion, frames: int) -> Motion:
    """`motion` cropped to `frames`, or played forward and back again until it is that long
    (back and forth rather than looped, so there is no jump at the turn)."""
    length = motion.num_frames
    if length >= frames:
        return motion.slice_frames(0, frames)
    if length == 1:
        index = np.zeros(frames, dtype=np.int64)
    else:
        period = 2 * (length - 1)
        phase = np.arange(frames) % period
        index = np.where(phase < length, phase, period - phase)
    return replace(motion, poses=motion.poses[index], trans=motion.trans[index],
                   face=motion.face[index])


def nearest_clip(reference: TrainingReference, audio: np.ndarray, frames: int) -> Motion:
    """The nearest-clip baseline: the training clip with the most alike audio, fit to length."""
    mean, spread = reference.audio_descriptors[0], reference.audio_descriptors[1]
    keys = (reference.audio_descriptors[2:] - mean) / spread
    query = (audio_descriptor(audio) - mean) / spread
    best = int(np.argmin(np.sum((keys - query) ** 2, axis=1)))
    return fit_length(read_motion_npz(reference.clip_npz[best]), frames)


# --- systems ------------------------------------------------------------------------------------


def _model_api() -> Any:
    from core import api

    return api


def _match_length(motion: Motion, frames: int) -> Motion:
    if motion.num_frames == frames:
        return motion
    return fit_length(motion, frames)


def _argmax(probabilities: Mapping[str, float]) -> str:
    return max(probabilities, key=probabilities.get)


@dataclass
class ClipCase:
    """One held-out clip and what every system needs to perform it."""

    entry: CorpusEntry
    real: Motion
    audio: np.ndarray

    @property
    def has_speech(self) -> bool:
        return bool(self.entry.transcript)


SystemFn = Callable[[ClipCase], Motion]
EditFn = Callable[[ClipCase, Sequence[str], tuple[int, int] | None], Motion]


def _system_functions(
    name: str, model: Any, reference: TrainingReference, seed: int
) -> tuple[SystemFn, EditFn | None]:
    if name == "teacher":
        return (lambda case: case.real), None
    if name == "mean_pose":
        def perform(case: ClipCase) -> Motion:
            return hold_mean_pose(reference, case.real.num_frames)
    elif name == "nearest_clip":
        def perform(case: ClipCase) -> Motion:
            return nearest_clip(reference, case.audio, case.real.num_frames)
    elif name == "model":
        api = _model_api()

        def perform(case: ClipCase) -> Motion:
            motion = api.generate(
                model, audio=case.audio, sample_rate=SAMPLE_RATE,
                prompt=case.entry.description, transcript=case.entry.transcript or None,
                emotion=case.entry.emotion, seed=seed,
            )
            return _match_length(motion, case.real.num_frames)

        def edit(case: ClipCase, parts: Sequence[str], frames: tuple[int, int] | None) -> Motion:
            motion = api.generate(
                model, audio=case.audio, sample_rate=SAMPLE_RATE, prompt=None,
                transcript=case.entry.transcript or None, emotion=case.entry.emotion,
                parts=tuple(parts), keep=case.real, frames=frames, seed=seed,
            )
            return _match_length(motion, case.real.num_frames)

        return perform, edit
    else:
        raise BodyLanguageError(f"unknown system {name!r}; expected one of {SYSTEMS}")

    def splice(case: ClipCase, parts: Sequence[str], frames: tuple[int, int] | None) -> Motion:
        # A baseline "edits" by pasting its own motion into the edited channels.
        own = perform(case)
        edited = case.real
        for part in parts:
            edited = edited.with_part(part, own)
        if frames is None:
            return edited
        start, stop = frames
        poses, trans, face = (case.real.poses.copy(), case.real.trans.copy(),
                              case.real.face.copy())
        poses[start:stop], trans[start:stop] = edited.poses[start:stop], edited.trans[start:stop]
        face[start:stop] = edited.face[start:stop]
        return replace(case.real, poses=poses, trans=trans, face=face)

    return perform, splice


# --- the table ----------------------------------------------------------------------------------


@dataclass
class EvalTable:
    """Per system, per metric: a value (None where it does not apply) and how many clips."""

    split: str
    systems: list[str]
    values: dict[str, dict[str, float | None]]
    counts: dict[str, dict[str, int]]
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def format(self) -> str:
        """An aligned text table, one row per system."""
        header = ["system", *METRICS]
        rows = [header]
        for system in self.systems:
            row = [system]
            for metric in METRICS:
                value = self.values[system].get(metric)
                row.append("-" if value is None else f"{value:.3f}")
            rows.append(row)
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w)
                           for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                 for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        clips = self.info.get("clips")
        title = f"evaluation on split {self.split!r}" + (f" ({clips} clips)" if clips else "")
        return "\n".join([title, *lines, *(f"note: {note}" for note in self.notes)])

    def to_json(self) -> dict[str, Any]:
        return {"split": self.split, "systems": self.systems, "values": self.values,
                "counts": self.counts, "notes": self.notes, "info": self.info}

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, allow_nan=False) + "\n",
                        encoding="utf-8")
        return path


def _finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _progress(iterable, total: int | None, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, file=sys.stderr, leave=False)


# --- evaluation ---------------------------------------------------------------------------------


@dataclass
class _Scores:
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


def _score_clip(scores: _Scores, case: ClipCase, motion: Motion, judges: Judges,
                reference: TrainingReference) -> None:
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


def _edit_checks(scores: _Scores, case: ClipCase, edit: EditFn) -> None:
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


def _real_voices(model: Any, seed: int) -> dict[str, float | None]:
    """The mouth on real human voices (shared/realspeech, when present): jaw against the vowel
    openness of the phone alignment, mouth closed in pauses, blinks."""
    from core.eval.panel import REALSPEECH_DIR, read_real_voices

    vowel, closed, blinks = [], [], []
    for voice in read_real_voices(REALSPEECH_DIR):
        motion = _model_api().generate(model, audio=voice.audio, sample_rate=SAMPLE_RATE,
                                       seed=seed)
        score = performance.mouth_against_phones(motion, voice.phones)
        vowel.append(score.vowel_r)
        if score.pause_closed is not None:
            closed.append(score.pause_closed)
        blinks.append(performance.blinks_per_minute(motion))
    return {"real_vowel_r": _mean(vowel), "real_pause_closed": _mean(closed),
            "real_blinks_per_min": _mean(blinks)}


def _mean(values: Sequence[float | bool]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def evaluate(
    model_or_none: Any,
    data_dir: str | os.PathLike,
    split: str = "test",
    systems: Sequence[str] = SYSTEMS,
    limit: int | None = None,
    progress: bool = True,
    judges: Judges | None = None,
    judges_dir: str | os.PathLike = DEFAULT_JUDGES_DIR,
    out: str | os.PathLike | None = "bench",
    seed: int = 0,
    reference_clips: int = REFERENCE_CLIPS,
    edit_clips: int = EDIT_CLIPS,
    reference: TrainingReference | None = None,
) -> EvalTable:
    """Score `systems` on the clips of `split` (the first `limit` in id order when given).

    "model" needs `model_or_none` (from `core.api.load_model`); without one its row is left out.
    The table is saved as `out/eval_<split>.json` unless `out` is None. `judges` and
    `reference` (from `build_reference`) are loaded or built when not given.
    """
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise BodyLanguageError(f"unknown systems {unknown}; expected some of {SYSTEMS}")
    notes = []
    systems = [s for s in SYSTEMS if s in systems]
    if "model" in systems and model_or_none is None:
        systems.remove("model")
        notes.append("no model given: the model row is left out")
    if not systems:
        raise BodyLanguageError("no system to evaluate")
    if judges is None:
        judges = load_or_train_judges(data_dir, judges_dir, progress)
    if reference is None:
        reference = build_reference(data_dir, judges.features, reference_clips, progress)
    entries = corpus_entries(data_dir, split, limit)

    cases = []
    for entry, motion in _progress(iter_motions(entries), len(entries), f"reading {split}",
                                   progress):
        cases.append(ClipCase(entry, motion, _clip_audio(entry, motion.num_frames, motion.fps)))
    real_features = [judges.features.embed(c.real) for c in cases
                     if c.real.face_space == judges.features.face_space]

    values: dict[str, dict[str, float | None]] = {}
    counts: dict[str, dict[str, int]] = {}
    for name in systems:
        perform, edit = _system_functions(name, model_or_none, reference, seed)
        scores = _Scores()
        api = _model_api() if name == "model" else None
        for case in _progress(cases, len(cases), name, progress):
            motion = perform(case)
            _score_clip(scores, case, motion, judges, reference)
            if case.entry.emotion:
                if name == "model":
                    read = _argmax(api.predict_emotion(model_or_none, case.real))
                    scores.emotion_read.append(read == case.entry.emotion)
                elif name == "teacher":
                    scores.emotion_read.append(judges.emotion.predict(case.real)
                                               == case.entry.emotion)
        if edit is not None:
            speech = [c for c in cases if c.has_speech][:edit_clips]
            for case in _progress(speech, len(speech), f"{name}: edits", progress):
                _edit_checks(scores, case, edit)

        fgd = None
        if scores.features and real_features:
            generated = np.concatenate(scores.features)
            if name == "teacher":
                if reference.train_features is not None:
                    fgd = metrics.frechet_distance(generated, reference.train_features)
            else:
                fgd = metrics.frechet_distance(generated, np.concatenate(real_features))
        div = metrics.l1_diversity(scores.positions) if len(scores.positions) > 1 else None
        values[name] = {
            "bc": scores.bc_sum / scores.bc_weight if scores.bc_weight else None,
            "fgd": _finite_or_none(fgd),
            "div": _finite_or_none(div),
            "face_mae": _mean(scores.face),
            "lip_sync": _mean(scores.lip),
            "emotion_from_motion": _mean(scores.emotion_read),
            "emotion_judged": _mean(scores.emotion_judged),
            "prompt_following": _mean(scores.prompt),
            "prompt_following_speech": _mean(scores.prompt_speech),
            "foot_skate": _mean(scores.skate),
            "blinks_per_min": _mean(scores.blinks),
            **(_real_voices(model_or_none, seed) if name == "model" else {}),
            "edit_kept": _mean(scores.edit_kept),
            "edit_seam": _mean(scores.edit_seam),
        }
        counts[name] = {
            "bc": scores.bc_clips, "fgd": len(scores.features), "div": len(scores.positions),
            "face_mae": len(scores.face), "lip_sync": len(scores.lip),
            "emotion_from_motion": len(scores.emotion_read),
            "emotion_judged": len(scores.emotion_judged), "prompt_following": len(scores.prompt),
            "prompt_following_speech": len(scores.prompt_speech), "foot_skate": len(scores.skate),
            "blinks_per_min": len(scores.blinks),
            "edit_kept": len(scores.edit_kept), "edit_seam": len(scores.edit_seam),
        }
    if "teacher" in systems:
        notes.append("teacher fgd: the split's real motion against the training split's "
                     "(against itself it is 0)")
    table = EvalTable(
        split=split, systems=systems, values=values, counts=counts, notes=notes,
        info={"data_dir": str(data_dir), "clips": len(cases), "limit": limit, "seed": seed,
              "judges": {"features": judges.features.metadata,
                         "action": judges.action.metadata,
                         "emotion": judges.emotion.metadata}},
    )
    if out is not None:
        table.save(Path(out) / f"eval_{split}.json")
    return table


# --- data efficiency ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EfficiencyRun:
    """One trained model of the data-efficiency study."""

    fraction: float  # share of the paired audio-motion training data, 0 < fraction <= 1
    pretrained: bool
    checkpoint: str


def data_efficiency_study(
    runs: Sequence[EfficiencyRun],
    data_dir: str | os.PathLike,
    split: str = "test",
    limit: int | None = None,
    out: str | os.PathLike = "bench",
    progress: bool = True,
    judges: Judges | None = None,
    judges_dir: str | os.PathLike = DEFAULT_JUDGES_DIR,
    load_model: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Evaluate each run's model (FGD, BC) and the teacher; plot FGD and BC against the data
    fraction, with and without pre-training, to `out/data_efficiency.png`; save the figures as
    `out/data_efficiency.json`. Returns that JSON document."""
    if not runs:
        raise BodyLanguageError("the data-efficiency study needs at least one trained model")
    if load_model is None:
        load_model = _model_api().load_model
    if judges is None:
        judges = load_or_train_judges(data_dir, judges_dir, progress)
    reference = build_reference(data_dir, judges.features, progress=progress)
    rows = []
    teacher = evaluate(None, data_dir, split, ("teacher",), limit, progress, judges, out=None,
                       reference=reference)
    for run in runs:
        if not 0 < run.fraction <= 1:
            raise BodyLanguageError(f"data fraction {run.fraction} is not in (0, 1]")
        table = evaluate(load_model(run.checkpoint), data_dir, split, ("model",), limit,
                         progress, judges, out=None, edit_clips=0, reference=reference)
        rows.append({"fraction": run.fraction, "pretrained": run.pretrained,
                     "checkpoint": str(run.checkpoint), **table.values["model"]})
    document = {"split": split, "limit": limit, "runs": rows,
                "teacher": teacher.values["teacher"]}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plot_data_efficiency(rows, out / "data_efficiency.png", teacher.values["teacher"])
    (out / "data_efficiency.json").write_text(json.dumps(document, indent=2, allow_nan=False)
                                              + "\n", encoding="utf-8")
    return document


def plot_data_efficiency(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike,
                         teacher: Mapping[str, float | None] | None = None) -> Path:
    """FGD and BC against data fraction, one line with and one without pre-training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for metric, axis, label in (("fgd", axes[0], "FGD (lower is better)"),
                                ("bc", axes[1], "BC (higher is better)")):
        for pretrained, style in ((True, "o-"), (False, "s--")):
            points = sorted((row["fraction"], row[metric]) for row in rows
                            if bool(row["pretrained"]) == pretrained and row.get(metric)
                            is not None)
            if points:
                xs, ys = zip(*points, strict=True)
                axis.plot([100 * x for x in xs], ys, style,
                          label="with pre-training" if pretrained else "without pre-training")
        if teacher is not None and teacher.get(metric) is not None:
            axis.axhline(teacher[metric], color="grey", linestyle=":", label="teacher")
        axis.set_xscale("log")
        axis.set_xticks([10, 25, 50, 100], labels=["10 %", "25 %", "50 %", "100 %"])
        axis.set_xlabel("paired audio-motion training data")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.suptitle("Data efficiency")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


# --- command line -------------------------------------------------------------------------------


def parse_efficiency_run(text: str) -> EfficiencyRun:
    """"FRACTION:pre|scratch:CHECKPOINT", e.g. "0.25:pre:out/lm_25" -> EfficiencyRun."""
    try:
        fraction, kind, checkpoint = text.split(":", 2)
        value = float(fraction)
    except ValueError:
        raise BodyLanguageError(
            f"efficiency run {text!r} is not FRACTION:pre|scratch:CHECKPOINT"
        ) from None
    if kind not in ("pre", "scratch") or not checkpoint:
        raise BodyLanguageError(
            f"efficiency run {text!r}: the middle field must be 'pre' or 'scratch'"
        )
    return EfficiencyRun(value, kind == "pre", checkpoint)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m core eval`."""
    parser.add_argument("--data", required=True, help="corpus folder (BEAT2 layout)")
    parser.add_argument("--model", default=None,
                        help="model folder (default: the shipped model)")
    parser.add_argument("--no-model", action="store_true",
                        help="score only the teacher and the baselines")
    parser.add_argument("--split", default="test", help="split to score (default test)")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--limit", type=int, default=None, help="first N clips of the split")
    parser.add_argument("--out", default="bench", help="folder for the JSON (and PNG) figures")
    parser.add_argument("--judges", default=str(DEFAULT_JUDGES_DIR),
                        help="folder of the judges (trained from --data when missing)")
    parser.add_argument("--seed", type=int, default=0, help="generation seed")
    parser.add_argument("--efficiency", nargs="+", default=None, metavar="F:pre|scratch:CKPT",
                        help="run the data-efficiency study on these trained models instead")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run_from_args(args: argparse.Namespace) -> str:
    """Run the evaluation (or the data-efficiency study) and return the text to print."""
    # Judges and model are small per step; on a busy 2-core machine one torch thread is ~10x
    # faster than two spinning against each other: the same rule as generation.
    import torch

    from core.devices import cpu_threads

    torch.set_num_threads(cpu_threads())
    progress = not args.quiet
    if args.efficiency:
        runs = [parse_efficiency_run(text) for text in args.efficiency]
        document = data_efficiency_study(runs, args.data, args.split, args.limit, args.out,
                                         progress, judges_dir=args.judges)
        lines = [f"{'fraction':>8}  {'pre-trained':>11}  {'fgd':>8}  {'bc':>6}"]
        for row in document["runs"]:
            fgd = "-" if row["fgd"] is None else f"{row['fgd']:.3f}"
            bc = "-" if row["bc"] is None else f"{row['bc']:.3f}"
            lines.append(f"{row['fraction']:>8.2f}  {str(row['pretrained']):>11}  {fgd:>8}  "
                         f"{bc:>6}")
        lines.append(f"plot: {Path(args.out) / 'data_efficiency.png'}")
        return "\n".join(lines)
    model = None
    if not args.no_model and "model" in args.systems:
        model = _model_api().load_model(args.model)
    table = evaluate(model, args.data, args.split, args.systems, args.limit, progress,
                     judges_dir=args.judges, out=args.out, seed=args.seed)
    return table.format() + f"\nsaved: {Path(args.out) / f'eval_{args.split}.json'}"
