"""The layers of a part's motion VQ-VAE (core/tokenizers/motion_vqvae.py): the temporal conv
encoder and its mirror-image decoder built of dilated residual blocks, how far one of their outputs
sees, and the EMA vector quantiser."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from core.tokenizers.motion_vqvae import MotionVQVAEConfig

DOWNSAMPLE_STAGES = 2  # two stride-2 stages: 4 frames per token


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
