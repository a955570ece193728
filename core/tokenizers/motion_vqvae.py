"""Per-part motion VQ-VAEs: features at 30 fps <-> discrete codes at 7.5 per second.

One `MotionVQVAE` per body part: a 1-D temporal conv encoder (two stride-2 stages, x4 fewer time
steps) with dilated residual blocks, a vector quantiser whose codebook follows the encoder outputs
by exponential moving averages (with restarts of codes that went unused), and a mirror-image
decoder.
The model keeps its part's feature normalisation as buffers, so `encode` takes and `decode` returns
features in their own units (see core/tokenizers/motion_features.py).

`MotionTokenizer` holds the four part models and turns a `Motion` into codes and back.

Long clips: the convolutions work on any length, so a clip is encoded and decoded in one pass up to
`max_tokens_per_pass` tokens. Longer ones go in windows that carry as many tokens of context on each
side as the network can see (its receptive field), so each kept output is exactly what the one-pass
network would give, and windows join without seams.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint import checkpoint_files, load_checkpoint, save_checkpoint
from core.errors import BodyLanguageError
from core.face_spaces import channel_names
from core.motion import Motion
from core.rotations import rot6d_to_matrix
from core.skeleton import (
    PARENTS,
    PART_JOINTS,
    PARTS,
    default_rest_offsets,
    positions_from_offsets,
)
from core.tokenizers.motion_features import (
    FeatureStats,
    assemble,
    feature_dim,
    motion_features,
    rotation_dim,
)
from core.validate import check_state_fits

CHECKPOINT_KIND = "motion_tokenizer"
FORMAT_VERSION = 1
DOWNSAMPLE_STAGES = 2  # two stride-2 stages: 4 frames per token
FRAMES_PER_TOKEN = 2**DOWNSAMPLE_STAGES


@dataclass
class MotionVQVAEConfig:
    part: str
    input_dim: int
    codebook_size: int = 512
    code_dim: int = 256
    width: int = 256
    depth: int = 3  # residual blocks per resolution stage, dilations 1, g, g^2, ...
    dilation_growth: int = 3
    ema_decay: float = 0.99
    commitment_weight: float = 0.02
    dead_code_steps: int = 100  # a code unused for this many training steps is restarted
    velocity_weight: float = 0.5
    position_weight: float = 1.0  # FK position loss (body parts only); positions in decimetres

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise BodyLanguageError(f"unknown body part {self.part!r}; expected one of {PARTS}")
        for name in ("input_dim", "codebook_size", "code_dim", "width", "depth",
                     "dilation_growth", "dead_code_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BodyLanguageError(f"MotionVQVAEConfig.{name} must be a positive int, "
                                        f"got {value!r}")
        if not 0.0 < self.ema_decay < 1.0:
            raise BodyLanguageError(f"ema_decay must lie in (0, 1), got {self.ema_decay}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MotionVQVAEConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise BodyLanguageError(f"unknown motion VQ-VAE config keys {unknown}")
        return cls(**values)


# --- network ------------------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """x + conv1x1(relu(dilated conv3(relu(x)))): widens the time span seen without pooling."""

    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.dilated = nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(F.relu(self.dilated(F.relu(x))))


def _residual_stack(width: int, depth: int, growth: int, reverse: bool) -> list[nn.Module]:
    dilations = [growth**i for i in range(depth)]
    return [ResidualBlock(width, d) for d in (reversed(dilations) if reverse else dilations)]


class Encoder(nn.Module):
    def __init__(self, config: MotionVQVAEConfig) -> None:
        super().__init__()
        width = config.width
        layers: list[nn.Module] = [nn.Conv1d(config.input_dim, width, 3, padding=1), nn.ReLU()]
        for _ in range(DOWNSAMPLE_STAGES):
            layers.append(nn.Conv1d(width, width, 4, stride=2, padding=1))
            layers += _residual_stack(width, config.depth, config.dilation_growth, reverse=False)
        layers.append(nn.Conv1d(width, config.code_dim, 3, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Decoder(nn.Module):
    def __init__(self, config: MotionVQVAEConfig) -> None:
        super().__init__()
        width = config.width
        layers: list[nn.Module] = [nn.Conv1d(config.code_dim, width, 3, padding=1), nn.ReLU()]
        for _ in range(DOWNSAMPLE_STAGES):
            layers += _residual_stack(width, config.depth, config.dilation_growth, reverse=True)
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            layers.append(nn.Conv1d(width, width, 3, padding=1))
        layers += [nn.Conv1d(width, width, 3, padding=1), nn.ReLU(),
                   nn.Conv1d(width, config.input_dim, 3, padding=1)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def receptive_half_width(stack: nn.Module) -> float:
    """How far (in the stack's input steps) one output can see to either side.

    Walks the convolutions in order: each widens the field by (kernel - 1) * dilation of its own
    steps, and strides/upsampling change how many input steps one of its steps spans. Residual
    blocks count their conv path, the wider one.
    """
    span, step = 0.0, 1.0
    for module in stack.modules():
        if isinstance(module, nn.Conv1d):
            span += (module.kernel_size[0] - 1) * module.dilation[0] * step
            step *= module.stride[0]
        elif isinstance(module, nn.Upsample):
            step /= float(module.scale_factor)
    return span / 2.0


class VectorQuantizer(nn.Module):
    """Nearest-code lookup with an EMA-updated codebook and restarts of dead codes.

    The codebook is not trained by gradients: each training step moves every code towards the mean
    of the encoder outputs assigned to it (exponential moving average). A code that no output chose
    for `dead_code_steps` steps is moved onto a random encoder output of the batch, so codes do not
    die and the codebook stays in use. The first training batch initialises the codebook.
    """

    def __init__(self, codebook_size: int, code_dim: int, decay: float, dead_code_steps: int):
        super().__init__()
        self.codebook_size = codebook_size
        self.decay = decay
        self.dead_code_steps = dead_code_steps
        self.register_buffer("codebook", torch.zeros(codebook_size, code_dim))
        self.register_buffer("ema_sum", torch.zeros(codebook_size, code_dim))
        self.register_buffer("ema_count", torch.zeros(codebook_size))
        self.register_buffer("unused_steps", torch.zeros(codebook_size, dtype=torch.int64))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """(N,) index of the closest code to each row of z (N, C)."""
        distances = (
            z.pow(2).sum(1, keepdim=True)
            - 2.0 * z @ self.codebook.t()
            + self.codebook.pow(2).sum(1)[None, :]
        )
        return distances.argmin(dim=1)

    def _random_rows(self, z: torch.Tensor, count: int, generator: torch.Generator | None):
        picks = torch.randint(0, z.shape[0], (count,), generator=generator, device="cpu")
        return z[picks.to(z.device)]

    @torch.no_grad()
    def _initialise(self, z: torch.Tensor, generator: torch.Generator | None) -> None:
        rows = self._random_rows(z, self.codebook_size, generator)
        self.codebook.copy_(rows)
        self.ema_sum.copy_(rows)
        self.ema_count.fill_(1.0)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _update(self, z: torch.Tensor, codes: torch.Tensor, generator) -> None:
        counts = torch.bincount(codes, minlength=self.codebook_size).to(z.dtype)
        sums = torch.zeros_like(self.ema_sum).index_add_(0, codes, z)
        self.ema_count.mul_(self.decay).add_(counts, alpha=1.0 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1.0 - self.decay)
        # Laplace smoothing keeps rarely used codes from dividing by ~0.
        total = self.ema_count.sum()
        smoothed = (self.ema_count + 1e-5) / (total + self.codebook_size * 1e-5) * total
        self.codebook.copy_(self.ema_sum / smoothed[:, None])
        self.unused_steps.add_(1).masked_fill_(counts > 0, 0)
        dead = self.unused_steps >= self.dead_code_steps
        count = int(dead.sum())
        if count:
            rows = self._random_rows(z, count, generator)
            self.codebook[dead] = rows
            self.ema_sum[dead] = rows
            self.ema_count[dead] = 1.0
            self.unused_steps[dead] = 0

    def forward(self, z: torch.Tensor, generator: torch.Generator | None = None):
        """(quantised z with straight-through gradient, codes, commitment loss); z is (N, C)."""
        if self.training and not bool(self.initialised):
            self._initialise(z.detach(), generator)
        codes = self.nearest(z.detach())
        if self.training:
            self._update(z.detach(), codes, generator)
        quantised = self.codebook[codes]
        commitment = F.mse_loss(z, quantised.detach())
        return z + (quantised - z).detach(), codes, commitment


class PartKinematics(nn.Module):
    """Differentiable joint positions of one part from its 6D rotations, every other joint at rest.

    Only the part's joints and their ancestors are posed (default rest skeleton, root at the
    origin), which is all the position loss needs. Ancestors outside the part stay at their rest
    positions with no rotation, so they are constants; the posed joints are processed one tree
    level at a time, a few batched products instead of one per joint.
    """

    def __init__(self, part: str) -> None:
        super().__init__()
        self.part_joints = list(PART_JOINTS[part])
        members = set(self.part_joints)
        posed: set[int] = set()  # part joints and everything below one of them
        depth: dict[int, int] = {}
        for joint in sorted({j for p in self.part_joints for j in _ancestors(p)}):
            parent = PARENTS[joint]
            depth[joint] = 0 if parent < 0 else depth[parent] + 1
            if joint in members or parent in posed:
                posed.add(joint)
        self.levels = [sorted(j for j in posed if depth[j] == d)
                       for d in sorted({depth[j] for j in posed})]
        self.local_index = {joint: k for k, joint in enumerate(self.part_joints)}
        rest = positions_from_offsets(default_rest_offsets())
        # Derived from the skeleton, not learned: kept out of checkpoints.
        self.register_buffer("offsets", torch.tensor(default_rest_offsets(), dtype=torch.float32),
                             persistent=False)
        self.register_buffer("rest", torch.tensor(rest, dtype=torch.float32), persistent=False)

    def forward(self, rot6d: torch.Tensor) -> torch.Tensor:
        """(..., J, 6) rotations of the part's joints -> (..., J, 3) positions in metres."""
        local = rot6d_to_matrix(rot6d)
        batch = rot6d.shape[:-2]
        eye = torch.eye(3, dtype=rot6d.dtype, device=rot6d.device).expand(*batch, 3, 3)
        offsets, rest = self.offsets.to(rot6d.dtype), self.rest.to(rot6d.dtype)
        world: dict[int, torch.Tensor] = {}
        position: dict[int, torch.Tensor] = {}

        def parent_state(joint: int) -> tuple[torch.Tensor, torch.Tensor]:
            parent = PARENTS[joint]
            if parent < 0:
                return eye, torch.zeros_like(rest[0]).expand(*batch, 3)
            if parent in world:
                return world[parent], position[parent]
            return eye, rest[parent].expand(*batch, 3)  # an unposed ancestor, at rest

        for level in self.levels:
            parents = [parent_state(joint) for joint in level]
            parent_world = torch.stack([w for w, _ in parents], dim=-3)
            parent_position = torch.stack([p for _, p in parents], dim=-2)
            rotations = torch.stack(
                [local[..., self.local_index[j], :, :] if j in self.local_index else eye
                 for j in level], dim=-3)
            level_world = parent_world @ rotations
            bones = (parent_world @ offsets[level][..., None])[..., 0]
            level_position = parent_position + bones
            for k, joint in enumerate(level):
                world[joint] = level_world[..., k, :, :]
                position[joint] = level_position[..., k, :]
        return torch.stack([position[j] for j in self.part_joints], dim=-2)


def _ancestors(joint: int) -> list[int]:
    """The joint and every joint above it up to the root."""
    chain = []
    while joint >= 0:
        chain.append(joint)
        joint = PARENTS[joint]
    return chain


# --- the model ----------------------------------------------------------------------------------


class MotionVQVAE(nn.Module):
    """One body part's VQ-VAE: (B, T, D) features <-> (B, T/4) codes."""

    max_tokens_per_pass = 1024  # ~2.3 min at 30 fps; longer clips go in overlapped windows

    def __init__(self, config: MotionVQVAEConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.quantizer = VectorQuantizer(
            config.codebook_size, config.code_dim, config.ema_decay, config.dead_code_steps
        )
        self.decoder = Decoder(config)
        self.register_buffer("feature_mean", torch.zeros(config.input_dim))
        self.register_buffer("feature_std", torch.ones(config.input_dim))
        self.kinematics = PartKinematics(config.part) if config.part != "face" else None
        # Context (in tokens) each window needs so its kept outputs equal a one-pass run.
        self.encode_context = math.ceil(receptive_half_width(self.encoder) / FRAMES_PER_TOKEN) + 1
        self.decode_context = math.ceil(receptive_half_width(self.decoder)) + 1

    @property
    def part(self) -> str:
        return self.config.part

    @property
    def device(self) -> torch.device:
        return self.feature_mean.device

    def set_normalisation(self, stats: FeatureStats) -> None:
        if stats.mean.shape != (self.config.input_dim,):
            raise BodyLanguageError(
                f"{self.part} statistics have {stats.mean.shape[0]} channels, "
                f"the model reads {self.config.input_dim}"
            )
        self.feature_mean.copy_(torch.from_numpy(stats.mean))
        self.feature_std.copy_(torch.from_numpy(stats.std))

    def normalise(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.feature_mean) / self.feature_std

    def denormalise(self, features: torch.Tensor) -> torch.Tensor:
        return features * self.feature_std + self.feature_mean

    # --- training ----------------------------------------------------------------------------

    def forward(
        self, features: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Losses for a batch of raw (B, T, D) features, T a multiple of 4.

        Returns "loss" (what to minimise) and its terms, plus "codes" and the normalised
        "reconstruction_features" for monitoring.
        """
        if features.ndim != 3 or features.shape[1] % FRAMES_PER_TOKEN or features.shape[1] == 0:
            raise BodyLanguageError(
                f"training windows have shape {tuple(features.shape)}; expected (B, T, D) with T "
                f"a positive multiple of {FRAMES_PER_TOKEN}"
            )
        cfg = self.config
        target = self.normalise(features)
        z = self.encoder(target.transpose(1, 2))  # (B, C, T/4)
        batch, channels, steps = z.shape
        flat = z.transpose(1, 2).reshape(-1, channels)
        quantised, codes, commitment = self.quantizer(flat, generator)
        quantised = quantised.reshape(batch, steps, channels).transpose(1, 2)
        output = self.decoder(quantised).transpose(1, 2)  # (B, T, D)

        reconstruction = F.smooth_l1_loss(output, target)
        velocity = F.smooth_l1_loss(output[:, 1:] - output[:, :-1], target[:, 1:] - target[:, :-1])
        loss = reconstruction + cfg.velocity_weight * velocity + cfg.commitment_weight * commitment
        terms = {"reconstruction": reconstruction, "velocity": velocity, "commitment": commitment}
        if self.kinematics is not None and cfg.position_weight > 0:
            with torch.no_grad():
                target_positions = self.joint_positions(features)
            position = F.smooth_l1_loss(
                self.joint_positions(self.denormalise(output)) * 10.0, target_positions * 10.0
            )
            loss = loss + cfg.position_weight * position
            terms["position"] = position
        return {"loss": loss, **terms, "codes": codes.reshape(batch, steps),
                "reconstruction_features": output}

    def joint_positions(self, features: torch.Tensor) -> torch.Tensor:
        """(..., T, J, 3) positions of the part's joints (part-local FK) from raw features."""
        if self.kinematics is None:
            raise BodyLanguageError("the face part has no joint positions to compute")
        count = rotation_dim(self.part)
        rot6d = features[..., :count].reshape(*features.shape[:-1], -1, 6)
        return self.kinematics(rot6d)

    # --- inference ---------------------------------------------------------------------------

    def _codes_of(self, normalised: torch.Tensor) -> torch.Tensor:
        z = self.encoder(normalised.transpose(1, 2))
        batch, channels, steps = z.shape
        codes = self.quantizer.nearest(z.transpose(1, 2).reshape(-1, channels))
        return codes.reshape(batch, steps)

    def _features_of(self, codes: torch.Tensor) -> torch.Tensor:
        quantised = self.quantizer.codebook[codes].transpose(1, 2)  # (B, C, T/4)
        return self.decoder(quantised).transpose(1, 2)

    @torch.no_grad()
    def encode(self, features: Any, window_tokens: int | None = None) -> Any:
        """Codes of raw features: (B, T, D) tensor -> (B, ceil(T/4)) int64 tensor, or a (T, D)
        numpy array -> (ceil(T/4),) int64 array.

        T need not be a multiple of 4: the last frame is repeated up to the next multiple. A clip
        longer than `max_tokens_per_pass` tokens (or than `window_tokens`, when given) is encoded
        in overlapped windows whose outputs equal those of a single pass.
        """
        single = not isinstance(features, torch.Tensor)
        x = torch.as_tensor(np.asarray(features) if single else features, dtype=torch.float32)
        if single:
            x = x[None]
        if x.ndim != 3 or x.shape[2] != self.config.input_dim or x.shape[1] == 0:
            raise BodyLanguageError(
                f"{self.part} features have shape {tuple(x.shape)}, expected "
                f"(B, T, {self.config.input_dim}) with T > 0"
            )
        x = x.to(self.device)
        frames = x.shape[1]
        tokens = -(-frames // FRAMES_PER_TOKEN)
        pad = tokens * FRAMES_PER_TOKEN - frames
        if pad:
            x = torch.cat([x, x[:, -1:].expand(-1, pad, -1)], dim=1)
        normalised = self.normalise(x)
        window = window_tokens or self.max_tokens_per_pass
        if tokens <= window:
            codes = self._codes_of(normalised)
        else:
            codes = _windowed(
                lambda chunk: self._codes_of(chunk), normalised, tokens, window,
                self.encode_context, FRAMES_PER_TOKEN, 1,
            )
        return codes[0].cpu().numpy() if single else codes

    @torch.no_grad()
    def decode(
        self, codes: Any, num_frames: int | None = None, window_tokens: int | None = None
    ) -> Any:
        """Raw features of codes: (B, N) tensor -> (B, 4N, D) tensor, or an (N,) array ->
        (4N, D) float32 array; cropped to `num_frames` when given. Long code sequences are
        decoded in overlapped windows (see `encode`)."""
        single = not isinstance(codes, torch.Tensor)
        c = torch.as_tensor(np.asarray(codes) if single else codes)
        if single:
            c = c[None]
        if c.ndim != 2 or c.shape[1] == 0:
            raise BodyLanguageError(f"codes have shape {tuple(c.shape)}, expected (B, N), N > 0")
        if c.dtype.is_floating_point or c.dtype == torch.bool:
            raise BodyLanguageError(f"codes must be integers, got {c.dtype}")
        low, high = int(c.min()), int(c.max())
        if low < 0 or high >= self.config.codebook_size:
            raise BodyLanguageError(
                f"{self.part} codes range over [{low}, {high}], the codebook has "
                f"{self.config.codebook_size} codes"
            )
        c = c.to(self.device, torch.int64)
        tokens = c.shape[1]
        window = window_tokens or self.max_tokens_per_pass
        if tokens <= window:
            output = self._features_of(c)
        else:
            output = _windowed(
                lambda chunk: self._features_of(chunk), c, tokens, window,
                self.decode_context, 1, FRAMES_PER_TOKEN,
            )
        output = self.denormalise(output)
        if num_frames is not None:
            if not 0 < num_frames <= output.shape[1]:
                raise BodyLanguageError(
                    f"cannot crop {tokens} tokens ({output.shape[1]} frames) to {num_frames} frames"
                )
            output = output[:, :num_frames]
        return output[0].cpu().numpy() if single else output


def _windowed(
    run: Any, x: torch.Tensor, tokens: int, window: int, context: int, rate_in: int, rate_out: int
) -> torch.Tensor:
    """Apply `run` to overlapped windows of x (B, tokens * rate_in, ...) and join the middles.

    Window k keeps tokens [k*window, (k+1)*window) and sees `context` more tokens on each side
    (fewer at the clip's ends, where a one-pass run sees the same padding).
    """
    outputs = []
    for start in range(0, tokens, window):
        stop = min(start + window, tokens)
        lo, hi = max(0, start - context), min(tokens, stop + context)
        out = run(x[:, lo * rate_in : hi * rate_in])
        outputs.append(out[:, (start - lo) * rate_out : (stop - lo) * rate_out])
    return torch.cat(outputs, dim=1)


# --- the four parts together --------------------------------------------------------------------


def part_config(part: str, face_space: str = "arkit52", **overrides: Any) -> MotionVQVAEConfig:
    """The recommended config of a part (code width 128 for the lower body, 256 otherwise)."""
    values: dict[str, Any] = {"part": part, "input_dim": feature_dim(part, face_space),
                              "code_dim": 128 if part == "lower" else 256}
    if part == "face":
        values["position_weight"] = 0.0
    values.update(overrides)
    return MotionVQVAEConfig(**values)


class MotionTokenizer:
    """The four part VQ-VAEs: Motion -> {part: codes} -> Motion."""

    def __init__(
        self, models: dict[str, MotionVQVAE], face_space: str = "arkit52", fps: float = 30.0
    ) -> None:
        channel_names(face_space)  # raises for an unknown space
        missing = [part for part in PARTS if part not in models]
        if missing:
            raise BodyLanguageError(f"a motion tokenizer needs all four parts; missing {missing}")
        for part, model in models.items():
            expected = feature_dim(part, face_space)
            if model.part != part or model.config.input_dim != expected:
                raise BodyLanguageError(
                    f"model for {part!r} is a {model.part!r} model reading "
                    f"{model.config.input_dim} channels, expected {expected}"
                )
        self.models = {part: models[part] for part in PARTS}
        self.face_space = face_space
        self.fps = float(fps)

    @classmethod
    def create(
        cls, configs: dict[str, MotionVQVAEConfig], face_space: str = "arkit52", fps: float = 30.0
    ) -> MotionTokenizer:
        return cls({part: MotionVQVAE(configs[part]) for part in PARTS}, face_space, fps)

    @property
    def parts(self) -> tuple[str, ...]:
        return PARTS

    def codebook_size(self, part: str) -> int:
        return self.models[part].config.codebook_size

    def to(self, device: str | torch.device) -> MotionTokenizer:
        for model in self.models.values():
            model.to(device)
        return self

    def eval(self) -> MotionTokenizer:
        for model in self.models.values():
            model.eval()
        return self

    def features(self, motion: Motion) -> dict[str, np.ndarray]:
        """The part features of `motion` at the tokenizer's frame rate."""
        if motion.face_space != self.face_space:
            raise BodyLanguageError(
                f"motion has face space {motion.face_space!r}, this tokenizer reads "
                f"{self.face_space!r}"
            )
        if motion.fps != self.fps:
            motion = motion.resample(self.fps)
        return motion_features(motion)

    def tokenize(self, motion: Motion, window_tokens: int | None = None) -> dict[str, np.ndarray]:
        """{part: (ceil(T/4),) int64 codes} for a motion (resampled to the tokenizer's fps)."""
        features = self.features(motion)
        return {part: self.models[part].encode(features[part], window_tokens) for part in PARTS}

    def decode_features(
        self, codes: dict[str, np.ndarray], num_frames: int | None = None,
        window_tokens: int | None = None,
    ) -> dict[str, np.ndarray]:
        unknown = sorted(set(codes) - set(PARTS))
        if unknown or not codes:
            raise BodyLanguageError(f"codes must be given per part of {PARTS}, got {sorted(codes)}")
        return {part: self.models[part].decode(np.asarray(part_codes), num_frames, window_tokens)
                for part, part_codes in codes.items()}

    def detokenize(
        self,
        codes: dict[str, np.ndarray],
        num_frames: int | None = None,
        start_trans: np.ndarray | None = None,
        window_tokens: int | None = None,
    ) -> Motion:
        """A Motion from the codes of some or all parts (missing parts stay at rest); the root
        starts at `start_trans` (the origin when not given)."""
        features = self.decode_features(codes, num_frames, window_tokens)
        return assemble(features, start_trans, self.fps, self.face_space)

    def reconstruct(self, motion: Motion, window_tokens: int | None = None) -> Motion:
        """Encode then decode: what the tokens keep of a motion (at the tokenizer's fps)."""
        if motion.fps != self.fps:
            motion = motion.resample(self.fps)
        codes = self.tokenize(motion, window_tokens)
        return self.detokenize(codes, motion.num_frames, motion.trans[0], window_tokens)

    # --- checkpoints -------------------------------------------------------------------------

    def config_dict(self) -> dict[str, Any]:
        return {
            "face_space": self.face_space,
            "fps": self.fps,
            "parts": {part: asdict(model.config) for part, model in self.models.items()},
        }

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {f"{part}.{name}": tensor for part, model in self.models.items()
                for name, tensor in model.state_dict().items()}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], where: Any = None) -> None:
        for part, model in self.models.items():
            prefix = f"{part}."
            state = {name[len(prefix):]: t for name, t in tensors.items()
                     if name.startswith(prefix)}
            try:
                model.load_state_dict(state)
            except RuntimeError as exc:
                raise BodyLanguageError(
                    f"{part} weights do not fit the model config: {exc}", where
                ) from None

    def save(self, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> None:
        save_checkpoint(path, CHECKPOINT_KIND, self.config_dict(), self.state_tensors(),
                        FORMAT_VERSION, metadata)

    @classmethod
    def from_config(cls, config: dict[str, Any], where: Any = None) -> MotionTokenizer:
        """The (untrained) tokenizer a checkpoint config describes; `where` names the file."""
        parts = config.get("parts")
        if not isinstance(parts, dict):
            raise BodyLanguageError("motion tokenizer config has no 'parts' table", where)
        missing = [part for part in PARTS if not isinstance(parts.get(part), dict)]
        if missing:
            raise BodyLanguageError(f"motion tokenizer config lacks parts {missing}", where)
        try:
            configs = {part: MotionVQVAEConfig.from_dict(parts[part]) for part in PARTS}
            return cls.create(configs, config["face_space"], float(config["fps"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BodyLanguageError(
                f"motion tokenizer config is malformed ({type(exc).__name__}: {exc})", where
            ) from None
        except BodyLanguageError as exc:
            raise BodyLanguageError(f"motion tokenizer config is invalid: {exc}", where) from None

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> MotionTokenizer:
        """The tokenizer of a checkpoint written by `save`, in eval mode on `device`. Its config
        is checked against sane limits and the weights' shapes before any module is built, so a
        damaged or hostile config cannot allocate more than the weights file holds."""
        config, tensors = load_checkpoint(path, CHECKPOINT_KIND, FORMAT_VERSION)
        files = checkpoint_files(path)
        _check_load_limits(config, files.config)
        shapes = {name: {"shape": list(tensor.shape)} for name, tensor in tensors.items()}
        check_state_fits(lambda: cls.from_config(config, files.config).state_tensors(), shapes,
                         files.config)
        tokenizer = cls.from_config(config, files.config)
        tokenizer.load_state_tensors(tensors, files.weights)
        return tokenizer.to(device).eval()


# Upper bounds on a stored part config, far above the shipped ones (512 codes of 256, width 256,
# depth 3, growth 3): beyond them a config is damaged or hostile.
LOAD_LIMITS = {"codebook_size": 65536, "code_dim": 4096, "width": 4096, "depth": 16,
               "dilation_growth": 16, "input_dim": 4096}
MAX_DILATION = 2**16  # dilation_growth ** (depth - 1): the widest conv's padding, in steps
MAX_FPS = 1000.0


def _check_load_limits(config: dict[str, Any], where: Any) -> None:
    """Sizes in a stored config that would make even building the model (on the meta device, for
    the shape check) take minutes, or the first forward pass exhaust memory."""
    if "fps" not in config:
        raise BodyLanguageError("motion tokenizer config lacks 'fps'", where)
    fps = config["fps"]
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not (
            math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise BodyLanguageError(f"motion tokenizer config fps must be a number in (0, {MAX_FPS:g}]"
                                f", got {fps!r}", where)
    parts = config.get("parts")
    for part, values in (parts.items() if isinstance(parts, dict) else ()):
        if not isinstance(values, dict):
            continue  # from_config names the malformed part
        for key, limit in LOAD_LIMITS.items():
            value = values.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > limit:
                raise BodyLanguageError(
                    f"motion tokenizer config parts.{part}.{key} is {value}, more than the limit "
                    f"of {limit}", where
                )
        growth, depth = values.get("dilation_growth"), values.get("depth")
        if all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (growth, depth)) \
                and growth ** (depth - 1) > MAX_DILATION:
            raise BodyLanguageError(
                f"motion tokenizer config parts.{part}: dilation_growth {growth} ** (depth {depth}"
                f" - 1) exceeds the widest dilation of {MAX_DILATION}", where
            )


__all__ = [
    "CHECKPOINT_KIND",
    "FORMAT_VERSION",
    "FRAMES_PER_TOKEN",
    "MotionTokenizer",
    "MotionVQVAE",
    "MotionVQVAEConfig",
    "part_config",
]
