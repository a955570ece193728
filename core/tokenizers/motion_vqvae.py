"""Per-part motion VQ-VAEs: features at 30 fps <-> discrete codes at 7.5 per second.

One `MotionVQVAE` per body part: a 1-D temporal conv encoder (two stride-2 stages, x4 fewer time
steps) with dilated residual blocks, a vector quantiser whose codebook follows the encoder outputs
by exponential moving averages (with restarts of codes that went unused), and a mirror-image
decoder (the layers are in core/tokenizers/vqvae_layers.py, the kinematics of the body parts'
position loss in core/tokenizers/part_kinematics.py).
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
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint import checkpoint_files, load_checkpoint, save_checkpoint
from core.errors import BodyLanguageError
from core.face_spaces import channel_names
from core.motion import Motion
from core.skeleton import (
    PARTS,
)
from core.tokenizers.motion_features import (
    FeatureStats,
    assemble,
    feature_dim,
    motion_features,
    rotation_dim,
)
from core.tokenizers.part_kinematics import PartKinematics
from core.tokenizers.vqvae_layers import (
    DOWNSAMPLE_STAGES,
    Decoder,
    Encoder,
    VectorQuantizer,
    receptive_half_width,
)
from core.validate import check_state_fits, unknown_fields

CHECKPOINT_KIND = "motion_tokenizer"
FORMAT_VERSION = 1
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
        unknown = unknown_fields(cls, values)
        if unknown:
            raise BodyLanguageError(f"unknown motion VQ-VAE config keys {unknown}")
        return cls(**values)


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
        codes = _windowed(self._codes_of, normalised, tokens,
                          window_tokens or self.max_tokens_per_pass, self.encode_context,
                          FRAMES_PER_TOKEN, 1)
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
        output = _windowed(self._features_of, c, tokens,
                           window_tokens or self.max_tokens_per_pass, self.decode_context, 1,
                           FRAMES_PER_TOKEN)
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
    """Apply `run` to overlapped windows of x (B, tokens * rate_in, ...) and join the middles;
    in one pass when the tokens fit one window.

    Window k keeps tokens [k*window, (k+1)*window) and sees `context` more tokens on each side
    (fewer at the clip's ends, where a one-pass run sees the same padding).
    """
    if tokens <= window:
        return run(x)
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
