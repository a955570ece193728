"""Audio tokenizer: speech at any rate, channel count and level -> discrete units at 25 Hz.

Features come from `audio_features` (log-mel plus prosody, or a local HuBERT/wav2vec2 model's
hidden states plus prosody). Each feature is standardised with statistics learned from the
training data, optionally stacked with its neighbours (`context` frames either side) and
assigned to the nearest centre of a codebook learned by mini-batch k-means (k-means++ start,
Lloyd refinement on a sample). A clip of d seconds always gives ceil(d * 25) units, so the motion
a language model writes for it has a predictable length.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint import (
    CheckpointFiles,
    checkpoint_files,
    load_checkpoint,
    save_checkpoint,
)
from core.errors import BodyLanguageError
from core.tokenizers.audio_features import (
    FRAME_RATE,
    HF_PREFIX,
    PROSODY_NAMES,
    SAMPLE_RATE,
    PretrainedSpeechFeatures,
    frame_count,
    frame_features,
    is_pretrained_source,
    prepare_audio,
)
from core.validate import check_inside

KIND = "audio_tokenizer"
FORMAT_VERSION = 1
LOGMEL = "logmel"
_TENSORS = ("centroids", "feature_mean", "feature_std", "feature_weight")
_ENCODE_CHUNK = 8192  # frames per distance matrix when encoding (bounds memory on long clips)
MAX_EPOCHS = 5  # mini-batch k-means passes over the training frames at most


@dataclass(frozen=True)
class AudioTokenizerConfig:
    """What defines a tokenizer's units; stored in its checkpoint."""

    num_units: int = 512
    context: int = 1  # frames stacked either side of the frame being quantised
    feature_source: str = LOGMEL  # or "hf:<folder of a saved HuBERT / wav2vec2 model>"
    n_mels: int = 80
    hf_layer: int = 9  # the paper's choice for HuBERT-base
    prosody_weight: float = 2.0  # scale of each standardised prosody channel against one mel band
    seed: int = 0

    def __post_init__(self) -> None:
        checks = (
            (isinstance(self.num_units, int) and 2 <= self.num_units <= 65536,
             f"num_units must be an int in [2, 65536], got {self.num_units!r}"),
            (isinstance(self.context, int) and 0 <= self.context <= 8,
             f"context must be an int in [0, 8], got {self.context!r}"),
            (isinstance(self.n_mels, int) and 8 <= self.n_mels <= 128,
             f"n_mels must be an int in [8, 128], got {self.n_mels!r}"),
            (isinstance(self.hf_layer, int) and self.hf_layer >= 0,
             f"hf_layer must be a non-negative int, got {self.hf_layer!r}"),
            (isinstance(self.prosody_weight, int | float) and self.prosody_weight >= 0,
             f"prosody_weight must be a non-negative number, got {self.prosody_weight!r}"),
            (isinstance(self.feature_source, str)
             and (self.feature_source == LOGMEL
                  or (is_pretrained_source(self.feature_source)
                      and len(self.feature_source) > len(HF_PREFIX))),
             f"feature_source must be {LOGMEL!r} or 'hf:<model folder>', "
             f"got {self.feature_source!r}"),
        )
        for ok, message in checks:
            if not ok:
                raise BodyLanguageError(message)


@dataclass(frozen=True)
class UnitStatistics:
    """How a set of clips uses the codebook."""

    frames: int
    used: int  # units that occur at least once
    usage: float  # used / num_units
    perplexity: float  # exp(entropy) of the unit histogram; num_units if perfectly even


def unit_statistics(units: Iterable[np.ndarray], num_units: int) -> UnitStatistics:
    counts = np.zeros(num_units, dtype=np.int64)
    for clip in units:
        counts += np.bincount(np.asarray(clip, dtype=np.int64), minlength=num_units)
    total = int(counts.sum())
    if total == 0:
        return UnitStatistics(0, 0, 0.0, 0.0)
    p = counts[counts > 0] / total
    return UnitStatistics(
        frames=total,
        used=int(p.size),
        usage=p.size / num_units,
        perplexity=float(np.exp(-(p * np.log(p)).sum())),
    )


class AudioTokenizer:
    """Audio -> units at 25 Hz. Build with options, `fit` on clips (or `train`), then `encode`."""

    frame_rate = FRAME_RATE
    sample_rate = SAMPLE_RATE  # the working rate every input is resampled to

    def __init__(self, num_units: int = 512, **options: Any) -> None:
        self.config = AudioTokenizerConfig(num_units=num_units, **options)
        self._pretrained: PretrainedSpeechFeatures | None = None
        self._mean: np.ndarray | None = None
        self._std: np.ndarray | None = None
        self._weight: np.ndarray | None = None
        self._centroids: np.ndarray | None = None
        self.training_summary: dict[str, Any] = {}

    # --- properties --------------------------------------------------------------------------

    @property
    def num_units(self) -> int:
        return self.config.num_units

    @property
    def is_fitted(self) -> bool:
        return self._centroids is not None

    @property
    def feature_dim(self) -> int:
        """Width of one frame of `features` (before context stacking)."""
        return self._spectral_dim() + len(PROSODY_NAMES)

    # --- features ----------------------------------------------------------------------------

    def features(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """Raw (unstandardised) features, (ceil(duration * 25), feature_dim) float32."""
        return self._features(audio, sample_rate)[0]

    def _features(self, audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
        """Features and which of their channels the input can inform (see `encode_features`)."""
        prepared = prepare_audio(audio, sample_rate)
        model = self._pretrained_model()
        features = frame_features(prepared, self.config.n_mels, model)
        present = np.ones(features.shape[1], dtype=bool)
        if model is None:
            present[: self.config.n_mels] = prepared.band_mask(self.config.n_mels)
        return features, present

    def _pretrained_model(self) -> PretrainedSpeechFeatures | None:
        source = self.config.feature_source
        if not is_pretrained_source(source):
            return None
        if self._pretrained is None:
            model = PretrainedSpeechFeatures(source[len(HF_PREFIX):], self.config.hf_layer)
            if self._mean is not None and model.dim + len(PROSODY_NAMES) != self._mean.size:
                raise BodyLanguageError(
                    f"the model's hidden size {model.dim} does not match the tokenizer, which "
                    f"was fitted on {self._mean.size - len(PROSODY_NAMES)}-d features",
                    model.directory,
                )
            self._pretrained = model
        return self._pretrained

    def _spectral_dim(self) -> int:
        if self._mean is not None:
            return self._mean.size - len(PROSODY_NAMES)
        model = self._pretrained_model()
        return self.config.n_mels if model is None else model.dim

    # --- training ----------------------------------------------------------------------------

    @classmethod
    def train(
        cls, clips: Iterable[tuple[np.ndarray, int]], num_units: int = 512, **options: Any
    ) -> AudioTokenizer:
        """A new tokenizer fitted on `clips` ((audio, sample_rate) pairs); `options` go to the
        constructor, except `progress`, which goes to `fit`."""
        progress = bool(options.pop("progress", False))
        return cls(num_units, **options).fit(clips, progress=progress)

    def fit(
        self, clips: Iterable[tuple[np.ndarray, int]], progress: bool = False
    ) -> AudioTokenizer:
        """Learn normalisation and codebook from (audio, sample_rate) pairs; returns self."""
        items = clips
        if progress:
            from tqdm import tqdm

            items = tqdm(clips, desc="audio features", unit="clip")
        features = []
        for item in items:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise BodyLanguageError(
                    f"fit takes (audio, sample_rate) pairs, got a {type(item).__name__}"
                )
            features.append(self.features(*item))
        return self.fit_features(features, progress=progress)

    def fit_features(
        self,
        clips: Sequence[np.ndarray],
        *,
        steps: int = 300,
        batch_size: int = 4096,
        refine_frames: int = 100_000,
        refine_iterations: int = 10,
        progress: bool = False,
    ) -> AudioTokenizer:
        """Learn normalisation and codebook from per-clip raw features (each (N_i, feature_dim))."""
        dim = self.feature_dim
        arrays = [np.asarray(clip, dtype=np.float32) for clip in clips if len(clip)]
        for array in arrays:
            if array.ndim != 2 or array.shape[1] != dim:
                raise BodyLanguageError(
                    f"training features must be (frames, {dim}), got shape {array.shape}"
                )
        total = sum(array.shape[0] for array in arrays)
        if total < self.num_units:
            raise BodyLanguageError(
                f"{total} training frames ({total / FRAME_RATE:.1f} s of audio) cannot fit "
                f"{self.num_units} units; give more audio or fewer units"
            )
        self._fit_normalisation(arrays)
        pool = _FramePool(arrays, self.config.context, self._standardise)
        generator = torch.Generator().manual_seed(self.config.seed)
        centroids, inertia = minibatch_kmeans(
            pool, self.num_units, generator, steps=steps, batch_size=batch_size,
            refine_frames=refine_frames, refine_iterations=refine_iterations, progress=progress,
        )
        self._centroids = centroids.numpy()
        self.training_summary = {
            "frames": int(total),
            "hours": total / FRAME_RATE / 3600.0,
            "clips": len(arrays),
            "inertia": inertia,
        }
        return self

    def _fit_normalisation(self, arrays: list[np.ndarray]) -> None:
        # Sums per clip in float64: no float64 copy of hours of features is ever made.
        count = sum(array.shape[0] for array in arrays)
        total = sum(array.sum(axis=0, dtype=np.float64) for array in arrays)
        squares = sum(np.square(array, dtype=np.float64).sum(axis=0) for array in arrays)
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
        # A channel that never varies in training (a band above a low-rate corpus's Nyquist)
        # must not turn tiny deviations into huge distances.
        std = np.maximum(std, 1e-3 + 0.01 * float(np.median(std)))
        weight = np.ones_like(mean)
        weight[-len(PROSODY_NAMES):] = self.config.prosody_weight
        self._mean, self._std = mean.astype(np.float32), std.astype(np.float32)
        self._weight = weight.astype(np.float32)

    def _standardise(self, features: np.ndarray) -> np.ndarray:
        return ((features - self._mean) / self._std * self._weight).astype(np.float32)

    # --- encoding ----------------------------------------------------------------------------

    def encode(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """Units of `audio` ((N,) or (N, channels) at `sample_rate`), int64 of length
        ceil(duration * 25)."""
        self._require_fitted()
        return self.encode_features(*self._features(audio, sample_rate))

    def encode_features(
        self, features: np.ndarray, present: np.ndarray | None = None
    ) -> np.ndarray:
        """Units of one clip's raw features (N, feature_dim), int64 (N,).

        `present` (feature_dim,) bool marks the channels the recording can inform; the others
        (mel bands above a low-rate source's Nyquist frequency) are left out of the distance to
        each centre instead of reading as silence there.
        """
        return self._quantise(features, present)[0]

    def distortion(self, features: np.ndarray) -> float:
        """Mean squared distance (standardised units) from each frame of one clip's raw features
        to its unit's centre: how well the codebook covers this audio."""
        return float(self._quantise(features, None)[1].mean())

    def _quantise(
        self, features: np.ndarray, present: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        self._require_fitted()
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[1] != self._mean.size or features.shape[0] == 0:
            raise BodyLanguageError(
                f"features must be (frames > 0, {self._mean.size}), got shape {features.shape}"
            )
        stacked = stack_context(self._standardise(features), self.config.context)
        centroids = self._centroids
        if present is not None and not np.all(present):
            keep = np.tile(np.asarray(present, dtype=bool), 2 * self.config.context + 1)
            stacked, centroids = stacked[:, keep], centroids[:, keep]
        norms = (centroids * centroids).sum(axis=1)
        units = np.empty(stacked.shape[0], dtype=np.int64)
        distances = np.empty(stacked.shape[0], dtype=np.float32)
        for start in range(0, stacked.shape[0], _ENCODE_CHUNK):
            block = stacked[start : start + _ENCODE_CHUNK]
            scores = norms - 2.0 * block @ centroids.T
            best = np.argmin(scores, axis=1)
            stop = start + block.shape[0]
            units[start:stop] = best
            nearest = scores[np.arange(block.shape[0]), best] + (block * block).sum(axis=1)
            distances[start:stop] = np.maximum(nearest, 0.0)
        return units, distances

    def expected_length(self, num_samples: int, sample_rate: int) -> int:
        """How many units `encode` returns for `num_samples` samples at `sample_rate`."""
        return frame_count(num_samples, sample_rate)

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise BodyLanguageError("the audio tokenizer is not trained: call fit() or load()")

    @property
    def centroids(self) -> np.ndarray:
        """(num_units, feature_dim) the k-means centres, in the normalised feature space."""
        self._require_fitted()
        return self._centroids.copy()

    # --- checkpoints -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> CheckpointFiles:
        """Write a checkpoint of kind "audio_tokenizer", format version 1."""
        self._require_fitted()
        config = asdict(self.config)
        config["feature_dim"] = int(self._mean.size)
        config["frame_rate"] = FRAME_RATE
        config["sample_rate"] = SAMPLE_RATE
        tensors = {
            "centroids": self._centroids,
            "feature_mean": self._mean,
            "feature_std": self._std,
            "feature_weight": self._weight,
        }
        # A speech model inside the checkpoint's folder is stored relative to it, so the folder
        # can move; `load` reads relative folders as relative to the checkpoint, never the cwd.
        config["feature_source"] = _portable_source(self.config.feature_source,
                                                    checkpoint_files(path).config.parent)
        return save_checkpoint(path, KIND, config, tensors, FORMAT_VERSION,
                               metadata={"training": self.training_summary})

    @classmethod
    def load(cls, path: str | os.PathLike) -> AudioTokenizer:
        """A tokenizer saved by `save`; a wrong kind, version or damaged file is a
        BodyLanguageError that names the file."""
        config, tensors = load_checkpoint(path, KIND, FORMAT_VERSION, as_numpy=True,
                                          required_tensors=_TENSORS)
        where = checkpoint_files(path).config
        names = {field.name for field in fields(AudioTokenizerConfig)}
        try:
            values = {key: config[key] for key in names}
            values["feature_source"] = _loadable_source(values["feature_source"], where)
            tokenizer = cls(**values)
            feature_dim, frame_rate = int(config["feature_dim"]), int(config["frame_rate"])
        except KeyError as exc:
            raise BodyLanguageError(f"audio tokenizer config lacks {exc}", where) from None
        except (TypeError, ValueError) as exc:
            raise BodyLanguageError(f"audio tokenizer config is invalid: {exc}", where) from None
        if frame_rate != FRAME_RATE:
            raise BodyLanguageError(
                f"checkpoint units run at {frame_rate} Hz; this code makes {FRAME_RATE} Hz", where
            )
        width = feature_dim * (2 * tokenizer.config.context + 1)
        expected = {
            "centroids": (tokenizer.num_units, width),
            "feature_mean": (feature_dim,),
            "feature_std": (feature_dim,),
            "feature_weight": (feature_dim,),
        }
        for name, shape in expected.items():
            if tuple(tensors[name].shape) != shape:
                raise BodyLanguageError(
                    f"tensor {name!r} has shape {tuple(tensors[name].shape)}, config implies "
                    f"{shape}",
                    where,
                )
        if (tensors["feature_std"] <= 0).any():
            raise BodyLanguageError("tensor 'feature_std' must be positive", where)
        tokenizer._centroids = tensors["centroids"].astype(np.float32)
        tokenizer._mean = tensors["feature_mean"].astype(np.float32)
        tokenizer._std = tensors["feature_std"].astype(np.float32)
        tokenizer._weight = tensors["feature_weight"].astype(np.float32)
        return tokenizer


def _portable_source(source: str, checkpoint_dir: Path) -> str:
    """`source` as stored: a speech model folder inside `checkpoint_dir` relative to it, any
    other folder absolute (a relative one would otherwise be read against the wrong folder)."""
    if not is_pretrained_source(source):
        return source
    folder = Path(source[len(HF_PREFIX):]).expanduser().resolve()
    try:
        return HF_PREFIX + folder.relative_to(checkpoint_dir.resolve()).as_posix()
    except ValueError:
        return HF_PREFIX + str(folder)


def _loadable_source(source: Any, config_path: Path) -> Any:
    """The stored `source` with a relative speech model folder resolved against the checkpoint's
    folder, which it must not leave ("..", or a link out of it). An absolute folder is the one a
    standalone checkpoint was trained with; core.api.load_model accepts only folders inside the
    model folder (core.validate.check_model_folder)."""
    if not isinstance(source, str) or not is_pretrained_source(source):
        return source  # AudioTokenizerConfig names a malformed source
    folder = Path(source[len(HF_PREFIX):]).expanduser()
    if folder.is_absolute():
        return source
    checkpoint_dir = config_path.parent
    inside = check_inside(checkpoint_dir / folder, checkpoint_dir,
                          f"the speech model folder {source!r} the audio tokenizer names")
    return HF_PREFIX + str(inside)


# --- context stacking ------------------------------------------------------------------------

def stack_context(features: np.ndarray, context: int) -> np.ndarray:
    """(N, D) -> (N, D * (2 * context + 1)): each frame with its neighbours, edges repeated."""
    if context == 0:
        return features
    count = features.shape[0]
    index = np.clip(np.arange(count)[:, None] + np.arange(-context, context + 1), 0, count - 1)
    return features[index].reshape(count, -1)


class _FramePool:
    """Standardised frames of many clips in one array; stacks context on demand, never
    crossing a clip boundary, so the pool costs no more memory than the unstacked features."""

    def __init__(
        self,
        clips: list[np.ndarray],
        context: int,
        transform: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        lengths = np.array([clip.shape[0] for clip in clips])
        frames = np.empty((int(lengths.sum()), clips[0].shape[1]), dtype=np.float32)
        start = 0
        for clip in clips:
            frames[start : start + clip.shape[0]] = transform(clip)
            start += clip.shape[0]
        self.frames = torch.from_numpy(frames)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        ends = np.repeat(np.cumsum(lengths) - 1, lengths)
        position = np.arange(self.frames.shape[0])
        offsets = np.arange(-context, context + 1)
        neighbours = np.clip(position[:, None] + offsets, starts[:, None], ends[:, None])
        self.neighbours = torch.from_numpy(neighbours)
        self.size = int(self.frames.shape[0])

    def stacked(self, index: torch.Tensor) -> torch.Tensor:
        return self.frames[self.neighbours[index]].reshape(index.shape[0], -1)


# --- k-means ---------------------------------------------------------------------------------

def minibatch_kmeans(
    pool: _FramePool,
    k: int,
    generator: torch.Generator,
    *,
    steps: int,
    batch_size: int,
    refine_frames: int,
    refine_iterations: int,
    progress: bool = False,
) -> tuple[torch.Tensor, float]:
    """Codebook (k, width) and its mean squared quantisation error on the refinement sample.

    k-means++ seeds on a sample, then Sculley's mini-batch updates (each centre moves with
    step 1/its running count) over random batches of the whole pool, then Lloyd iterations on a
    fixed sample, where centres left empty are reseeded at the worst-fitted frames.
    """
    seed_index = torch.randperm(pool.size, generator=generator)[: max(40 * k, 20_000)]
    centroids = _kmeans_plus_plus(pool.stacked(seed_index), k, generator)
    counts = torch.zeros(k)
    batch = min(batch_size, pool.size)
    # More passes than a few epochs only re-visit the same frames; Lloyd refines after.
    schedule = range(min(steps, math.ceil(MAX_EPOCHS * pool.size / batch)))
    if progress:
        from tqdm import tqdm

        schedule = tqdm(schedule, desc="k-means", unit="batch")
    for _ in schedule:
        x = pool.stacked(torch.randint(pool.size, (batch,), generator=generator))
        assign = _nearest(x, centroids)[0]
        hits = torch.bincount(assign, minlength=k).float()
        sums = torch.zeros_like(centroids).index_add_(0, assign, x)
        counts += hits
        moved = hits > 0
        rate = (hits[moved] / counts[moved])[:, None]
        centroids[moved] += rate * (sums[moved] / hits[moved][:, None] - centroids[moved])

    sample = pool.stacked(torch.randperm(pool.size, generator=generator)[:refine_frames])
    for _ in range(refine_iterations):
        assign, distance = _nearest(sample, centroids)
        hits = torch.bincount(assign, minlength=k)
        sums = torch.zeros_like(centroids).index_add_(0, assign, sample)
        filled = hits > 0
        centroids[filled] = sums[filled] / hits[filled][:, None].float()
        empty = torch.nonzero(~filled).flatten()
        if empty.numel():
            worst = torch.argsort(distance, descending=True)[: empty.numel()]
            centroids[empty[: worst.numel()]] = sample[worst]
    _, distance = _nearest(sample, centroids)
    return centroids, float(distance.mean())


def _kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    norms = (x * x).sum(dim=1)

    def distance_to(row: int) -> torch.Tensor:
        return (norms + norms[row] - 2.0 * (x @ x[row])).clamp_min(0.0)

    picks = [int(torch.randint(x.shape[0], (1,), generator=generator))]
    closest = distance_to(picks[0])
    for _ in range(1, k):
        total = float(closest.sum())
        if total <= 0.0:  # fewer distinct frames than units: duplicate, k-means will cope
            pick = int(torch.randint(x.shape[0], (1,), generator=generator))
        else:
            pick = int(torch.multinomial(closest / total, 1, generator=generator))
        picks.append(pick)
        closest = torch.minimum(closest, distance_to(pick))
    return x[picks].clone()


def _nearest(x: torch.Tensor, centroids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of each row's nearest centre and the squared distance to it, in chunks."""
    norms = (centroids * centroids).sum(dim=1)
    assign = torch.empty(x.shape[0], dtype=torch.int64)
    distance = torch.empty(x.shape[0])
    for start in range(0, x.shape[0], _ENCODE_CHUNK):
        block = x[start : start + _ENCODE_CHUNK]
        scores = norms - 2.0 * block @ centroids.T
        best, index = scores.min(dim=1)
        assign[start : start + block.shape[0]] = index
        distance[start : start + block.shape[0]] = (best + (block * block).sum(dim=1)).clamp_min(0)
    return assign, distance


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of positions where two unit sequences of equal length agree."""
    if a.shape != b.shape:
        raise BodyLanguageError(f"unit sequences differ in length: {a.shape} vs {b.shape}")
    return float(np.mean(a == b)) if a.size else math.nan
