"""The project's own motion feature extractor for FGD, and the per-frame channels the judges read.

Per frame, everything is expressed in the character's heading frame (the pelvis's yaw removed,
origin under the pelvis), so the same gesture gives the same features whichever way and wherever
the character stands:

    positions  (55 x 3)  joint positions relative to the point on the floor under the pelvis
    rotations  (55 x 6)  6D local joint rotations; the root's with its yaw removed
    root       (4)       pelvis velocity along the heading's x and z (m/s), yaw rate (rad/s),
                         pelvis height (m)
    face       (F)       the face channels of the motion's face space

FGD features come from a small 1-D convolutional autoencoder trained on the corpus's training
split (all four parts: body and hand joint positions and rotations, jaw, face channels, root).
Its encoder maps every 4 frames to one 64-d latent vector; FGD compares the Gaussians of those
vectors, as EMAGE compares its motion VAE's latents. A learned extractor (rather than a fixed
hand-made feature set) is what FGD is defined with, and it trains in minutes on a CPU. Encoding is
deterministic (no dropout, no sampling); training is seeded.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.checkpoint import checkpoint_files, load_checkpoint, read_header, save_checkpoint
from core.corpus.layout import CorpusEntry, iter_corpus
from core.errors import BodyLanguageError
from core.eval.progress import progress_bar
from core.face_spaces import channel_names
from core.io.beat2 import read_motion_npz
from core.limb_ik import yaw_of
from core.motion import Motion
from core.rotations import axis_angle_to_matrix, axis_rotation, matrix_to_rot6d
from core.skeleton import NUM_JOINTS, forward_kinematics_with_rotations

FEATURES_KIND = "motion_features"
FEATURES_VERSION = 1
ROOT_CHANNELS = 4
POSITION_CHANNELS = NUM_JOINTS * 3
ROTATION_CHANNELS = NUM_JOINTS * 6
DOWNSAMPLE = 4
MIN_STD = 1e-2  # channels that barely move are not blown up by the normalisation


@dataclass(frozen=True)
class HeadingChannels:
    """A motion's per-frame channels in its own heading frame (see the module docstring)."""

    positions: np.ndarray  # (T, 55, 3)
    rotations: np.ndarray  # (T, 55, 6)
    root: np.ndarray  # (T, 4)
    face: np.ndarray  # (T, F)


def heading_channels(motion: Motion) -> HeadingChannels:
    """Positions, rotations and root motion of `motion` in its per-frame heading frame."""
    positions, world = forward_kinematics_with_rotations(
        motion.poses.astype(np.float64), motion.trans.astype(np.float64)
    )
    yaw = yaw_of(world[:, 0])  # where the pelvis's local +Z (the way it faces) points
    heading = axis_rotation(1, yaw)  # (T, 3, 3): rotation by yaw about +Y
    ground = positions[:, 0].copy()
    ground[:, 1] = 0.0
    # Row vectors: v @ H applies H^T, i.e. world -> heading frame.
    local_positions = np.einsum("tjc,tcd->tjd", positions - ground[:, None], heading)

    local = axis_angle_to_matrix(motion.poses.astype(np.float64))
    local[:, 0] = np.swapaxes(heading, -1, -2) @ world[:, 0]
    rotations = matrix_to_rot6d(local)

    fps = motion.fps
    step = np.diff(ground, axis=0, prepend=ground[:1])
    if len(step) > 1:
        step[0] = step[1]
    velocity = np.einsum("tc,tcd->td", step, heading) * fps
    yaw_rate = np.diff(np.unwrap(yaw), prepend=yaw[:1]) * fps
    if len(yaw_rate) > 1:
        yaw_rate[0] = yaw_rate[1]
    root = np.stack([velocity[:, 0], velocity[:, 2], yaw_rate, positions[:, 0, 1]], axis=1)
    return HeadingChannels(
        positions=local_positions.astype(np.float32),
        rotations=rotations.astype(np.float32),
        root=root.astype(np.float32),
        face=motion.face.astype(np.float32),
    )


def fgd_frame_features(motion: Motion) -> np.ndarray:
    """(T, 55*3 + 55*6 + 4 + F) per-frame input of the FGD autoencoder."""
    channels = heading_channels(motion)
    frames = motion.num_frames
    return np.concatenate(
        [channels.positions.reshape(frames, -1), channels.rotations.reshape(frames, -1),
         channels.root, channels.face], axis=1,
    )


def fgd_feature_dim(face_space: str) -> int:
    return POSITION_CHANNELS + ROTATION_CHANNELS + ROOT_CHANNELS + len(channel_names(face_space))


# --- corpus access ------------------------------------------------------------------------------


def corpus_entries(
    data_dir: str | os.PathLike, split: str | None, limit: int | None = None
) -> list[CorpusEntry]:
    """The split's clips in id order (the first `limit` when given); an error if there are none."""
    entries = sorted(iter_corpus(data_dir, split), key=lambda entry: entry.id)
    if limit is not None:
        entries = entries[: max(0, int(limit))]
    if not entries:
        raise BodyLanguageError(f"holds no clips of split {split!r}", data_dir)
    return entries


def iter_motions(entries: Sequence[CorpusEntry]) -> Iterator[tuple[CorpusEntry, Motion]]:
    for entry in entries:
        yield entry, read_motion_npz(entry.npz)


# --- the autoencoder ----------------------------------------------------------------------------


class MotionAutoencoder(nn.Module):
    """1-D temporal conv autoencoder: (B, D, T) -> latents (B, latent, T/4) -> (B, D, T)."""

    def __init__(self, in_dim: int, width: int = 96, latent: int = 64) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2)
        self.encoder = nn.Sequential(
            nn.Conv1d(in_dim, width, 3, padding=1), act,
            nn.Conv1d(width, width, 4, stride=2, padding=1), act,
            nn.Conv1d(width, width, 3, padding=1), act,
            nn.Conv1d(width, width, 4, stride=2, padding=1), act,
            nn.Conv1d(width, latent, 3, padding=1),
        )
        self.decoder = nn.Sequential(
            nn.Conv1d(latent, width, 3, padding=1), act,
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv1d(width, width, 3, padding=1), act,
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv1d(width, width, 3, padding=1), act,
            nn.Conv1d(width, in_dim, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latent = self.encoder(x)
        return self.decoder(latent), latent


def _pad_to_multiple(features: np.ndarray, multiple: int) -> np.ndarray:
    frames = features.shape[0]
    target = max(multiple, int(math.ceil(frames / multiple)) * multiple)
    if target == frames:
        return features
    return np.concatenate([features, np.repeat(features[-1:], target - frames, axis=0)], axis=0)


class MotionFeatureExtractor:
    """The trained autoencoder's encoder with its normalisation: Motion -> (N, latent) features."""

    def __init__(self, model: MotionAutoencoder, mean: np.ndarray, std: np.ndarray,
                 config: dict, metadata: dict | None = None) -> None:
        self.model = model.eval()
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.config = dict(config)
        self.metadata = dict(metadata or {})

    @property
    def face_space(self) -> str:
        return self.config["face_space"]

    @property
    def latent_dim(self) -> int:
        return int(self.config["latent"])

    def normalise(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.std).astype(np.float32)

    def embed(self, motion: Motion) -> np.ndarray:
        """(ceil(T/4), latent) feature vectors of one motion, one per 4 frames."""
        if motion.face_space != self.face_space:
            raise BodyLanguageError(
                f"the feature extractor reads {self.face_space!r} faces, the motion has "
                f"{motion.face_space!r}"
            )
        if motion.fps != 30.0:
            motion = motion.resample(30.0)
        features = _pad_to_multiple(self.normalise(fgd_frame_features(motion)), DOWNSAMPLE)
        with torch.no_grad():
            latent = self.model.encoder(torch.from_numpy(features.T[None].copy()))
        return latent[0].T.numpy().astype(np.float64)

    def embed_all(self, motions: Sequence[Motion]) -> np.ndarray:
        """Feature vectors of every motion, stacked: (sum of ceil(T/4), latent)."""
        if not motions:
            raise BodyLanguageError("no motions to embed")
        return np.concatenate([self.embed(motion) for motion in motions], axis=0)

    def save(self, path: str | os.PathLike) -> None:
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors["norm.mean"] = torch.from_numpy(self.mean)
        tensors["norm.std"] = torch.from_numpy(self.std)
        save_checkpoint(path, FEATURES_KIND, self.config, tensors, FEATURES_VERSION,
                        metadata=self.metadata)

    @classmethod
    def load(cls, path: str | os.PathLike) -> MotionFeatureExtractor:
        config, tensors = load_checkpoint(path, FEATURES_KIND, FEATURES_VERSION,
                                          required_tensors=("norm.mean", "norm.std"))
        metadata = read_header(checkpoint_files(path).config).metadata
        try:
            model = MotionAutoencoder(int(config["in_dim"]), int(config["width"]),
                                      int(config["latent"]))
            model.load_state_dict(
                {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
            )
        except (KeyError, RuntimeError, TypeError, ValueError) as exc:
            raise BodyLanguageError(
                f"motion feature checkpoint does not fit: {exc}", path
            ) from None
        return cls(model, tensors["norm.mean"].numpy(), tensors["norm.std"].numpy(), config,
                   metadata)


def _normalisation(clips: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    total = sum(clip.shape[0] for clip in clips)
    mean = sum(clip.sum(axis=0, dtype=np.float64) for clip in clips) / total
    variance = sum(((clip - mean) ** 2).sum(axis=0) for clip in clips) / total
    return mean.astype(np.float32), np.maximum(np.sqrt(variance), MIN_STD).astype(np.float32)


def _windows(clips: Sequence[np.ndarray], rng: np.random.Generator, batch: int,
             window: int) -> np.ndarray:
    out = np.empty((batch, clips[0].shape[1], window), np.float32)
    for b in range(batch):
        clip = clips[int(rng.integers(len(clips)))]
        if clip.shape[0] <= window:
            padded = np.concatenate([clip, np.repeat(clip[-1:], window - clip.shape[0], 0)])
            out[b] = padded.T
        else:
            start = int(rng.integers(clip.shape[0] - window + 1))
            out[b] = clip[start:start + window].T
    return out


def _reconstruction_loss(model: MotionAutoencoder, batch: torch.Tensor) -> torch.Tensor:
    recon, _ = model(batch)
    velocity = torch.diff(recon, dim=-1) - torch.diff(batch, dim=-1)
    return torch.mean((recon - batch) ** 2) + torch.mean(velocity**2)


def train_motion_features(
    data_dir: str | os.PathLike,
    out: str | os.PathLike | None = None,
    steps: int = 800,
    batch: int = 16,
    window: int = 64,
    width: int = 96,
    latent: int = 64,
    lr: float = 1e-3,
    max_frames: int = 200_000,
    seed: int = 0,
    progress: bool = True,
) -> MotionFeatureExtractor:
    """Train the FGD autoencoder on the corpus's train split; save it to `out` when given.

    At most `max_frames` frames are held in memory (a fixed, seeded choice of clips). The
    held-out reconstruction error on the val split (or test, when there is no val) is stored in
    the checkpoint's metadata.
    """
    if steps < 1 or batch < 1 or window < DOWNSAMPLE or window % DOWNSAMPLE:
        raise BodyLanguageError(
            f"steps and batch must be >= 1 and window a multiple of {DOWNSAMPLE}"
        )
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    entries = corpus_entries(data_dir, "train")
    order = rng.permutation(len(entries))
    clips, face_space, frames = [], None, 0
    for entry, motion in progress_bar(iter_motions([entries[i] for i in order]), len(entries),
                                      "motion features: reading", progress):
        if face_space is None:
            face_space = motion.face_space
        if motion.face_space != face_space:
            raise BodyLanguageError(
                f"mixes face spaces ({face_space!r} and {motion.face_space!r})", entry.npz
            )
        clips.append(fgd_frame_features(motion.resample(30.0)))
        frames += clips[-1].shape[0]
        if frames >= max_frames:
            break
    mean, std = _normalisation(clips)
    clips = [((clip - mean) / std).astype(np.float32) for clip in clips]
    in_dim = clips[0].shape[1]
    model = MotionAutoencoder(in_dim, width, latent)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps, eta_min=lr * 0.1)
    bar = progress_bar(range(steps), steps, "motion features: training", progress)
    loss_value = math.nan
    model.train()
    for _ in bar:
        sample = torch.from_numpy(_windows(clips, rng, batch, window))
        loss = _reconstruction_loss(model, sample)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        loss_value = float(loss.detach())
        if progress and hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss_value:.4f}")
    model.eval()
    config = {"in_dim": in_dim, "width": width, "latent": latent, "face_space": face_space,
              "downsample": DOWNSAMPLE, "fps": 30.0}
    metadata = {"train_clips": len(clips), "train_frames": int(sum(c.shape[0] for c in clips)),
                "steps": steps, "final_train_loss": loss_value, "seed": seed,
                "heldout_loss": _heldout_loss(model, data_dir, mean, std, window)}
    extractor = MotionFeatureExtractor(model, mean, std, config, metadata)
    if out is not None:
        extractor.save(out)
    return extractor


def _heldout_loss(model: MotionAutoencoder, data_dir: str | os.PathLike, mean: np.ndarray,
                  std: np.ndarray, window: int) -> float | None:
    for split in ("val", "test"):
        entries = list(iter_corpus(data_dir, split))
        if entries:
            break
    else:
        return None
    losses = []
    with torch.no_grad():
        for _, motion in iter_motions(sorted(entries, key=lambda e: e.id)[:64]):
            features = _pad_to_multiple((fgd_frame_features(motion.resample(30.0)) - mean) / std,
                                        DOWNSAMPLE).astype(np.float32)
            losses.append(float(_reconstruction_loss(model, torch.from_numpy(features.T[None]))))
    return float(np.mean(losses))


def load_motion_features(path: str | os.PathLike) -> MotionFeatureExtractor:
    """A saved feature extractor (checkpoint kind "motion_features", version 1)."""
    if not Path(path).exists() and not Path(str(path) + ".json").exists():
        raise BodyLanguageError("motion feature checkpoint not found", path)
    return MotionFeatureExtractor.load(path)
