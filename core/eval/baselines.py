"""The baselines the model is compared with, and what they (and the metrics) take from the
training split:

    mean_pose     the training split's mean pose, held still
    nearest_clip  the training clip whose audio is most alike (log-mel mean and spread), its motion
                  cropped or played back and forth to the length
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.eval import metrics
from core.eval.clips import SAMPLE_RATE, clip_audio
from core.eval.features import MotionFeatureExtractor, corpus_entries, iter_motions
from core.eval.progress import progress_bar
from core.io.beat2 import read_motion_npz
from core.motion import Motion
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from core.skeleton import forward_kinematics

REFERENCE_CLIPS = 400  # training clips read for the mean pose, joint speeds and teacher FGD


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
    for entry, motion in progress_bar(iter_motions(entries), len(entries), "reference",
                                      progress):
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
        keys.append(audio_descriptor(clip_audio(entry, motion.num_frames, motion.fps)))
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
