"""Judges trained on the corpus: an action classifier (prompt following) and an emotion classifier.

Both read motion in the character's heading frame (`features.heading_channels`): joint
positions relative to the floor under the pelvis, the upper body's local rotations, root velocity,
yaw rate and height; the emotion classifier also reads the face channels (the corpus performs
emotion with the face as well as tempo, amplitude and posture). Motion is read at 15 fps: the
actions and the emotional styles are slower than that, and it halves the cost on a CPU.

- Action classifier: one of the 50 corpus actions or "none", from the first 6 s of a motion. The
  corpus performs every action from the clip's start (`Action.animate(start=0)`), so the judge
  looks where a model trained on the corpus puts the action. Training windows start between
  0.3 s before and 0.2 s after the clip's start and are time-stretched by +-15 % so the judge does
  not depend on the teacher's exact timing; "none" windows come from speech-only clips.
- Emotion classifier: one of the eight emotions; a clip is scored by averaging the class
  probabilities of its 6 s windows (half-overlapping).

Both are small 1-D conv nets with mean+max pooling over time, trained in minutes on a CPU and saved
as project checkpoints ("action_classifier" / "emotion_classifier", version 1).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from core.checkpoint import checkpoint_files, load_checkpoint, read_header, save_checkpoint
from core.corpus.actions import ACTIONS
from core.corpus.style import STYLES
from core.emotions import EMOTIONS
from core.errors import BodyLanguageError
from core.eval.features import corpus_entries, heading_channels, iter_motions
from core.face_spaces import channel_names
from core.motion import Motion
from core.skeleton import NUM_JOINTS, PART_JOINTS

NONE_LABEL = "none"
ACTION_LABELS: tuple[str, ...] = (*ACTIONS, NONE_LABEL)
EMOTION_LABELS: tuple[str, ...] = EMOTIONS
CLASSIFIER_VERSION = 1
ACTION_KIND = "action_classifier"
EMOTION_KIND = "emotion_classifier"
JUDGE_FPS = 15.0
WINDOW_S = 6.0
MIN_STD = 1e-2
_NONE_SHARE = 0.15  # share of "none" windows in an action-classifier batch
_STRETCH = 0.15
_EARLY_S, _LATE_S = 0.3, 0.2
_ROTATION_JOINTS = PART_JOINTS["upper"]


def judge_frame_features(motion: Motion, with_face: bool) -> np.ndarray:
    """(T, 55*3 + 13*6 + 4 [+ F]) per-frame judge input at the motion's own frame rate: joint
    positions, the upper body's local 6D rotations (a nod or a head tilt barely moves any joint
    position), root motion, and the face channels last."""
    channels = heading_channels(motion)
    frames = motion.num_frames
    parts = [channels.positions.reshape(frames, -1),
             channels.rotations[:, list(_ROTATION_JOINTS)].reshape(frames, -1), channels.root]
    if with_face:
        parts.append(channels.face)
    return np.concatenate(parts, axis=1).astype(np.float32)


def _judge_dim(with_face: bool, face_space: str) -> int:
    body = NUM_JOINTS * 3 + len(_ROTATION_JOINTS) * 6 + 4
    return body + (len(channel_names(face_space)) if with_face else 0)


def _sample(features: np.ndarray, fps: float, start_s: float, length: int,
            stretch: float = 1.0) -> np.ndarray:
    """`length` rows at JUDGE_FPS from `start_s` on (time-scaled by `stretch`), linearly
    interpolated; times before the first or after the last frame hold the edge frame."""
    times = start_s + np.arange(length) * stretch / JUDGE_FPS
    position = np.clip(times * fps, 0, features.shape[0] - 1)
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, features.shape[0] - 1)
    weight = (position - lo)[:, None].astype(np.float32)
    return features[lo] * (1 - weight) + features[hi] * weight


class MotionClassifierNet(nn.Module):
    """(B, D, T) -> (B, classes): temporal convs, mean+max pooling over time, an MLP head."""

    def __init__(self, in_dim: int, classes: int, width: int = 128, dropout: float = 0.2) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(in_dim, width, 5, padding=2), nn.GELU(),
            nn.Conv1d(width, width, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(width, width, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(width, width, 3, padding=1), nn.GELU(),
        )
        self.head = nn.Sequential(
            nn.Linear(2 * width, width), nn.GELU(), nn.Dropout(dropout), nn.Linear(width, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.body(x)
        pooled = torch.cat([hidden.mean(dim=-1), hidden.amax(dim=-1)], dim=1)
        return self.head(pooled)


@dataclass
class MotionClassifier:
    """A trained judge: network, input normalisation, labels and how it reads a motion."""

    kind: str
    labels: tuple[str, ...]
    net: MotionClassifierNet
    mean: np.ndarray
    std: np.ndarray
    config: dict
    metadata: dict

    @property
    def with_face(self) -> bool:
        return bool(self.config["with_face"])

    @property
    def window(self) -> int:
        return int(self.config["window"])

    def _features(self, motion: Motion) -> np.ndarray:
        if self.with_face and motion.face_space != self.config["face_space"]:
            raise BodyLanguageError(
                f"the {self.kind} reads {self.config['face_space']!r} faces, the motion has "
                f"{motion.face_space!r}"
            )
        features = judge_frame_features(motion, self.with_face)
        return ((features - self.mean) / self.std).astype(np.float32)

    def _windows(self, motion: Motion) -> np.ndarray:
        features = self._features(motion)
        if self.kind == ACTION_KIND:
            starts = [0.0]
        else:
            step = self.window / JUDGE_FPS / 2
            count = max(1, int(math.ceil((motion.duration - self.window / JUDGE_FPS) / step)) + 1)
            starts = [i * step for i in range(count)]
        return np.stack([_sample(features, motion.fps, s, self.window).T for s in starts])

    def probabilities(self, motion: Motion) -> dict[str, float]:
        """Class -> probability for one motion (emotion: averaged over its windows)."""
        self.net.eval()
        with torch.no_grad():
            logits = self.net(torch.from_numpy(self._windows(motion)))
            probs = torch.softmax(logits, dim=-1).mean(dim=0).numpy()
        return {label: float(p) for label, p in zip(self.labels, probs, strict=True)}

    def predict(self, motion: Motion) -> str:
        probs = self.probabilities(motion)
        return max(probs, key=probs.get)

    def save(self, path: str | os.PathLike) -> None:
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        tensors["norm.mean"] = torch.from_numpy(np.asarray(self.mean, np.float32))
        tensors["norm.std"] = torch.from_numpy(np.asarray(self.std, np.float32))
        config = {**self.config, "labels": list(self.labels)}
        save_checkpoint(path, self.kind, config, tensors, CLASSIFIER_VERSION,
                        metadata=self.metadata)


def load_classifier(path: str | os.PathLike, kind: str) -> MotionClassifier:
    """A saved judge of `kind` ("action_classifier" or "emotion_classifier")."""
    if kind not in (ACTION_KIND, EMOTION_KIND):
        raise BodyLanguageError(f"unknown classifier kind {kind!r}")
    config, tensors = load_checkpoint(path, kind, CLASSIFIER_VERSION,
                                      required_tensors=("norm.mean", "norm.std"))
    try:
        labels = tuple(config["labels"])
        net = MotionClassifierNet(int(config["in_dim"]), len(labels), int(config["width"]))
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise BodyLanguageError(f"{kind} checkpoint does not fit: {exc}", path) from None
    net.eval()
    metadata = read_header(checkpoint_files(path).config).metadata
    return MotionClassifier(kind, labels, net, tensors["norm.mean"].numpy(),
                            tensors["norm.std"].numpy(), config, metadata)


# --- training -----------------------------------------------------------------------------------


@dataclass
class LabelledClip:
    """One clip for training or scoring a judge: judge features (face included) and labels."""

    features: np.ndarray  # (T, D) float32 at the clip's frame rate, face channels last
    fps: float
    action: str  # an action name or NONE_LABEL
    emotion: str
    action_span_s: float = 0.0  # how long the action lasts from the clip's start (0: no action)


def read_labelled_clips(
    data_dir: str | os.PathLike, split: str, progress: bool = True, limit: int | None = None
) -> list[LabelledClip]:
    """Judge features and labels of every clip of `split`; read once, both judges train on it."""
    entries = corpus_entries(data_dir, split, limit)
    clips = []
    iterator = iter_motions(entries)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(entries), desc=f"judges: reading {split}",
                        file=sys.stderr, leave=False)
    for entry, motion in iterator:
        action = entry.action or NONE_LABEL
        if action not in ACTION_LABELS:
            raise BodyLanguageError(f"clip {entry.id} has unknown action {action!r}", entry.npz)
        emotion = entry.emotion or ""
        if emotion not in EMOTION_LABELS:
            raise BodyLanguageError(f"clip {entry.id} has unknown emotion {emotion!r}", entry.npz)
        span = 0.0
        if entry.action:
            span = ACTIONS[entry.action].duration / STYLES[emotion].tempo
        clips.append(LabelledClip(judge_frame_features(motion, with_face=True), motion.fps,
                                  action, emotion, span))
    return clips


@dataclass
class _TaskClip:
    features: np.ndarray  # normalised task columns, float16 to halve the memory
    fps: float
    label: str


def _training_window(clip: _TaskClip, task: str, window: int,
                     rng: np.random.Generator) -> np.ndarray:
    stretch = 1.0 + float(rng.uniform(-_STRETCH, _STRETCH))
    duration = clip.features.shape[0] / clip.fps
    if task == ACTION_KIND and clip.label != NONE_LABEL:
        start = float(rng.uniform(-_EARLY_S, _LATE_S))
    else:
        start = float(rng.uniform(0.0, max(0.0, duration - window * stretch / JUDGE_FPS)))
    return _sample(clip.features, clip.fps, start, window, stretch)


def _batch_picker(clips: Sequence[_TaskClip], labels: Sequence[str], task: str,
                  rng: np.random.Generator) -> Callable[[], _TaskClip]:
    """Class-balanced picks; for actions, "none" gets a fixed share of the draws."""
    by_label: dict[str, list[_TaskClip]] = {}
    for clip in clips:
        by_label.setdefault(clip.label, []).append(clip)
    present = [label for label in labels if label in by_label]
    actions = [label for label in present if label != NONE_LABEL]

    def pick() -> _TaskClip:
        if task == ACTION_KIND and NONE_LABEL in by_label and (
            not actions or rng.random() < _NONE_SHARE
        ):
            pool = by_label[NONE_LABEL]
        else:
            choices = actions if task == ACTION_KIND else present
            pool = by_label[choices[int(rng.integers(len(choices)))]]
        return pool[int(rng.integers(len(pool)))]

    return pick


DEFAULT_STEPS = {ACTION_KIND: 1200, EMOTION_KIND: 800}


def train_classifier(
    task: str,
    data_dir: str | os.PathLike,
    out: str | os.PathLike | None = None,
    steps: int | None = None,
    batch: int = 32,
    width: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    progress: bool = True,
    eval_split: str | None = "test",
    clips: Sequence[LabelledClip] | None = None,
) -> MotionClassifier:
    """Train the judge `task` (ACTION_KIND or EMOTION_KIND) on the train split (or on `clips`
    read by `read_labelled_clips`) for `steps` (default DEFAULT_STEPS[task]); report
    `eval_split` accuracy in the checkpoint metadata; save to `out` when given."""
    steps = DEFAULT_STEPS[task] if steps is None else steps
    if steps < 1 or batch < 1:
        raise BodyLanguageError("steps and batch must be at least 1")
    with_face = task == EMOTION_KIND
    labels = ACTION_LABELS if task == ACTION_KIND else EMOTION_LABELS
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if clips is None:
        clips = read_labelled_clips(data_dir, "train", progress)
    if not clips:
        raise BodyLanguageError("no training clips for the judge", data_dir)
    face_space = _face_space_of(data_dir)
    columns = _judge_dim(with_face, face_space)
    mean, std = _running_normalisation([clip.features[:, :columns] for clip in clips])
    task_clips = [
        _TaskClip(((clip.features[:, :columns] - mean) / std).astype(np.float16), clip.fps,
                  clip.action if task == ACTION_KIND else clip.emotion)
        for clip in clips
    ]
    window = int(round(WINDOW_S * JUDGE_FPS))
    net = MotionClassifierNet(columns, len(labels), width)
    loss_value = _fit(net, task, labels, task_clips, window, steps, batch, lr, rng, progress)
    config = {"in_dim": columns, "width": width, "window": window, "fps": JUDGE_FPS,
              "with_face": with_face, "face_space": face_space}
    metadata = {"train_clips": len(task_clips), "steps": steps, "seed": seed,
                "final_train_loss": loss_value}
    classifier = MotionClassifier(task, labels, net, mean, std, config, metadata)
    if eval_split is not None:
        try:
            result = evaluate_classifier(classifier, data_dir, eval_split, progress=progress)
        except BodyLanguageError:
            result = None  # the split is empty: nothing to report
        if result is not None:
            classifier.metadata[f"{eval_split}_accuracy"] = result.accuracy
            classifier.metadata[f"{eval_split}_clips"] = result.count
    if out is not None:
        classifier.save(out)
    return classifier


def _fit(net: MotionClassifierNet, task: str, labels: Sequence[str],
         task_clips: Sequence[_TaskClip], window: int, steps: int, batch: int, lr: float,
         rng: np.random.Generator, progress: bool) -> float:
    """Train `net` on class-balanced, stretched, noisy windows; returns the last batch's loss."""
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: min(1.0, (step + 1) / warmup)
        * (0.55 + 0.45 * math.cos(math.pi * min(step, steps) / steps)),
    )
    index = {label: i for i, label in enumerate(labels)}
    pick = _batch_picker(task_clips, labels, task, rng)
    iterator = range(steps)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=steps, desc=f"{task}: training", file=sys.stderr,
                        leave=False)
    net.train()
    loss_value, correct, seen = math.nan, 0, 0
    for _ in iterator:
        chosen = [pick() for _ in range(batch)]
        inputs = np.stack([_training_window(c, task, window, rng).T for c in chosen])
        inputs = inputs.astype(np.float32)
        inputs += 0.05 * rng.standard_normal(inputs.shape, dtype=np.float32)
        targets = torch.tensor([index[c.label] for c in chosen])
        logits = net(torch.from_numpy(inputs))
        loss = nn.functional.cross_entropy(logits, targets, label_smoothing=0.05)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        loss_value = float(loss.detach())
        correct += int((logits.argmax(dim=1) == targets).sum())
        seen += batch
        if progress and hasattr(iterator, "set_postfix"):
            iterator.set_postfix(loss=f"{loss_value:.3f}", acc=f"{correct / seen:.2f}")
            if seen >= 50 * batch:
                correct, seen = 0, 0
    net.eval()
    return loss_value


def _running_normalisation(arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (floored at MIN_STD) without stacking every clip in memory."""
    total = sum(array.shape[0] for array in arrays)
    first = sum(array.sum(axis=0, dtype=np.float64) for array in arrays) / total
    second = sum(((array - first) ** 2).sum(axis=0) for array in arrays) / total
    return first.astype(np.float32), np.maximum(np.sqrt(second), MIN_STD).astype(np.float32)


def _face_space_of(data_dir: str | os.PathLike) -> str:
    from core.io.beat2 import read_motion_npz

    first = corpus_entries(data_dir, "train", 1)[0]
    return read_motion_npz(first.npz).face_space


def train_action_classifier(
    data_dir: str | os.PathLike, out: str | os.PathLike | None = None, **options: Any
) -> MotionClassifier:
    """Train the action judge (50 actions + "none"); `options` as `train_classifier`'s."""
    return train_classifier(ACTION_KIND, data_dir, out, **options)


def train_emotion_classifier(
    data_dir: str | os.PathLike, out: str | os.PathLike | None = None, **options: Any
) -> MotionClassifier:
    """Train the emotion judge (8 emotions); `options` as `train_classifier`'s."""
    return train_classifier(EMOTION_KIND, data_dir, out, **options)


@dataclass(frozen=True)
class ClassifierResult:
    accuracy: float
    count: int
    confusion: dict[str, dict[str, int]]  # true label -> predicted label -> count


def evaluate_classifier(
    classifier: MotionClassifier,
    data_dir: str | os.PathLike,
    split: str = "test",
    only_actions: bool = False,
    limit: int | None = None,
    progress: bool = False,
) -> ClassifierResult:
    """Accuracy of a judge on the real motion of `split` (action judge: on every clip, or only on
    clips with an action when `only_actions`)."""
    entries = corpus_entries(data_dir, split, limit)
    confusion: dict[str, dict[str, int]] = {}
    correct = count = 0
    iterator = iter_motions(entries)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(entries), desc=f"{classifier.kind}: {split}",
                        file=sys.stderr, leave=False)
    for entry, motion in iterator:
        if classifier.kind == ACTION_KIND:
            if only_actions and not entry.action:
                continue
            truth = entry.action or NONE_LABEL
        else:
            truth = entry.emotion or ""
        predicted = classifier.predict(motion)
        row = confusion.setdefault(truth, {})
        row[predicted] = row.get(predicted, 0) + 1
        correct += predicted == truth
        count += 1
    if count == 0:
        raise BodyLanguageError(f"no clips to judge in split {split!r}", data_dir)
    return ClassifierResult(correct / count, count, confusion)
