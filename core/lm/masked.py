"""The masked motion model: all steps x four parts of a window are written at once, in a few
passes, by one bidirectional transformer that reads the window's conditions in the same sequence.

    sequence   [emotion] [prompt token states ...] [motion step 0 ... step W-1]
    step t     sum of its four part-code embeddings (a <mask> row where the code is hidden)
               + the audio of step t (the 10 audio units of every 3 steps, embedded,
                 concatenated and projected to 3 step vectors) + its position
    outputs    four part heads per step (each over its part's codebook only),
               a mouth head per step: the jaw and lip shapes of its 4 frames, regressed
               (core/lm/mouth.py: the face tokenizer smooths them away),
               an emotion head at the emotion slot (motion -> emotion)

Why this shape (see bench/learning_curve.py for the measured curves): every training row teaches
every hidden code at once (an autoregressive decoder learns one next code per position and, with
speech, learns to copy its own past instead of its conditions); the conditions sit in the same
sequence, so the audio of step t is added to step t itself and the prompt is a handful of
attended tokens (MiniLM's word states, frozen, so they are computed once per distinct text).
Hiding a random share of codes (cos(u * pi / 2)) makes masked-frame pre-training, editing a part
and in-betweening the training objective itself. Dropping each condition teaches the model the
unconditional answer too, which generation uses for classifier-free guidance.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint import CheckpointFiles, load_checkpoint, read_header, save_checkpoint
from core.errors import BodyLanguageError
from core.lm.mouth import CHANNELS as MOUTH_CHANNELS
from core.skeleton import PARTS
from core.validate import check_state_fits, unknown_fields

CHECKPOINT_KIND = "masked_lm"
FORMAT_VERSION = 1
HIDDEN = -1  # a code the model is asked to write
STEPS_PER_AUDIO_GROUP = 3  # 3 motion steps (0.4 s) = 10 audio units (25 Hz)
UNITS_PER_AUDIO_GROUP = 10
TEXT_DIM = 384  # all-MiniLM-L6-v2's hidden size
# Conditions generation can guide, in the order of `Conditions` fields.
GUIDED = ("prompt", "audio", "emotion")


@dataclass(frozen=True)
class MaskedConfig:
    """Shapes of a masked motion model; saved in its checkpoint."""

    codebook_sizes: tuple[int, ...]  # per part, PARTS order
    audio_units: int
    emotions: tuple[str, ...]
    window_steps: int = 60  # 8 s at 7.5 steps per second
    hidden: int = 256
    layers: int = 6
    heads: int = 4
    feedforward: int = 1024
    dropout: float = 0.1
    audio_dim: int = 48  # per audio unit, before the per-group projection
    prompt_tokens: int = 16  # MiniLM word states kept per prompt
    # A first prompt token holding MiniLM's sentence embedding (mean-pooled, unit length, as
    # all-MiniLM-L6-v2 was trained to compare paraphrases): what held-out phrasings share.
    sentence_token: bool = False
    # Part heads score a step against the part's own code embeddings (as GPT-2 ties its output
    # to its input table): copying a visible neighbour's code, right 58 % of the time on the
    # corpus, then needs no separate output map to be learned.
    tied_heads: bool = False
    # The sentence embedding is also added to every motion step (as the audio is), so each step
    # reads the action asked for directly instead of only by attending to the prompt tokens.
    prompt_to_steps: bool = False
    mouth_channels: int = MOUTH_CHANNELS
    frames_per_step: int = 4
    preset: str = "cpu"

    def __post_init__(self) -> None:
        if self.window_steps % STEPS_PER_AUDIO_GROUP:
            raise BodyLanguageError(f"window_steps must be a multiple of {STEPS_PER_AUDIO_GROUP}, "
                                    f"got {self.window_steps}")
        if len(self.codebook_sizes) != len(PARTS):
            raise BodyLanguageError(f"codebook_sizes needs one size per part {PARTS}")
        limits = {"hidden": 8192, "layers": 128, "heads": 128, "feedforward": 32768,
                  "window_steps": 4096, "audio_dim": 4096, "prompt_tokens": 512,
                  "mouth_channels": 256, "frames_per_step": 16, "audio_units": 1 << 20}
        for name, limit in limits.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
                raise BodyLanguageError(f"masked model config {name} must be a whole number in "
                                        f"1..{limit}, got {value!r}")
        if not all(isinstance(v, int) and 1 <= v <= 1 << 20 for v in self.codebook_sizes):
            raise BodyLanguageError(f"codebook sizes must be whole numbers in 1..{1 << 20}, got "
                                    f"{list(self.codebook_sizes)}")
        if not self.emotions or len(set(self.emotions)) != len(self.emotions):
            raise BodyLanguageError(f"emotions must be distinct names, got {list(self.emotions)}")
        if not (isinstance(self.dropout, float | int) and 0.0 <= self.dropout < 1.0):
            raise BodyLanguageError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.prompt_to_steps and not self.sentence_token:
            raise BodyLanguageError("prompt_to_steps needs sentence_token")
        if self.hidden % self.heads:
            raise BodyLanguageError(f"hidden {self.hidden} must divide by heads {self.heads}")

    @property
    def prompt_length(self) -> int:
        return self.prompt_tokens + int(self.sentence_token)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["codebook_sizes"] = list(self.codebook_sizes)
        values["emotions"] = list(self.emotions)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> MaskedConfig:
        unknown = unknown_fields(cls, values)
        if unknown:
            raise BodyLanguageError(f"masked model config has unknown keys {unknown}")
        missing = sorted(n for n in ("codebook_sizes", "audio_units", "emotions")
                         if n not in values)
        if missing:
            raise BodyLanguageError(f"masked model config lacks {missing}")
        kept = dict(values)
        kept["codebook_sizes"] = tuple(int(v) for v in values["codebook_sizes"])
        kept["emotions"] = tuple(str(v) for v in values["emotions"])
        return cls(**kept)


PRESETS: dict[str, dict[str, Any]] = {
    # What learns fastest per CPU-minute on a 2-core CPU (bench/curves/masked_24h_h128l3*.json):
    # ~1 M trained parameters, five times the steps per CPU-second of the 6 M "cpu_large", and
    # ahead of it on every figure of the panel from the first minutes.
    "cpu": {"hidden": 128, "layers": 3, "feedforward": 512, "dropout": 0.0, "tied_heads": True,
            "sentence_token": True},
    "cpu_large": {"sentence_token": True},
    "tiny": {"hidden": 64, "layers": 2, "heads": 2, "feedforward": 128, "audio_dim": 8,
             "window_steps": 24, "dropout": 0.0},
    # For one datacentre GPU (≤ 10 minutes of an H100/H200).
    "gpu": {"hidden": 512, "layers": 8, "heads": 8, "feedforward": 2048, "audio_dim": 64},
}


@dataclass
class Conditions:
    """What a batch of windows is conditioned on; each is absent (dropped) per row."""

    audio: torch.Tensor  # (B, W // 3 * 10) audio units; the null id where there is none
    prompt: torch.Tensor  # (B, P, 384) MiniLM word states (zeros where absent)
    prompt_mask: torch.Tensor  # (B, P) bool: a real prompt token
    emotion: torch.Tensor  # (B,) emotion index; the null id where none is given

    @staticmethod
    def cat(items: Sequence[Conditions]) -> Conditions:
        return Conditions(
            torch.cat([c.audio for c in items]), torch.cat([c.prompt for c in items]),
            torch.cat([c.prompt_mask for c in items]), torch.cat([c.emotion for c in items]),
        )

    def without(self, name: str, null_audio: int, null_emotion: int) -> Conditions:
        """The same rows with condition `name` removed (what training's dropout shows)."""
        out = Conditions(self.audio, self.prompt, self.prompt_mask, self.emotion)
        if name == "audio":
            out.audio = torch.full_like(self.audio, null_audio)
        elif name == "prompt":
            out.prompt = torch.zeros_like(self.prompt)
            out.prompt_mask = torch.zeros_like(self.prompt_mask)
        elif name == "emotion":
            out.emotion = torch.full_like(self.emotion, null_emotion)
        else:
            raise BodyLanguageError(f"unknown condition {name!r}; expected one of {GUIDED}")
        return out


class Output(NamedTuple):
    parts: list[torch.Tensor]  # per part (B, W, K_p) logits
    emotion: torch.Tensor  # (B, E) logits
    mouth: torch.Tensor  # (B, W * frames_per_step, mouth_channels), normalised units


class MaskedMotionModel(nn.Module):
    """The model; `forward(codes, valid, conditions)` -> Output."""

    def __init__(self, config: MaskedConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.part_embeddings = nn.ModuleList(
            nn.Embedding(size + 1, h) for size in config.codebook_sizes)  # last row: <mask>
        self.audio_embedding = nn.Embedding(config.audio_units + 1, config.audio_dim)  # + null
        self.audio_projection = nn.Linear(UNITS_PER_AUDIO_GROUP * config.audio_dim,
                                          STEPS_PER_AUDIO_GROUP * h)
        self.step_positions = nn.Parameter(torch.randn(config.window_steps, h) * 0.02)
        self.prompt_positions = nn.Parameter(torch.randn(config.prompt_length, h) * 0.02)
        self.prompt_projection = nn.Sequential(nn.LayerNorm(TEXT_DIM), nn.Linear(TEXT_DIM, h))
        self.emotion_embedding = nn.Embedding(len(config.emotions) + 1, h)  # + null
        if config.prompt_to_steps:
            self.prompt_steps = nn.Linear(TEXT_DIM, h)
        layer = nn.TransformerEncoderLayer(
            h, config.heads, config.feedforward, config.dropout, activation="gelu",
            batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(h)
        self.part_heads = nn.ModuleList(
            TiedHead(table) if config.tied_heads else nn.Linear(h, size)
            for table, size in zip(self.part_embeddings, config.codebook_sizes, strict=True))
        self.emotion_head = nn.Linear(h, len(config.emotions))
        self.mouth_head = nn.Linear(h, config.frames_per_step * config.mouth_channels)
        # The mouth head works in normalised units; these turn them into radians / weights.
        self.register_buffer("mouth_mean", torch.zeros(config.mouth_channels))
        self.register_buffer("mouth_std", torch.ones(config.mouth_channels))
        # Token embeddings start at the positions' scale (as GPT-2 / nanoGPT do): at torch's
        # default N(0, 1) four summed part codes drown the 0.02 position rows, the model cannot
        # tell neighbouring steps apart and training plateaus near the codes' unigram entropy
        # (measured: loss 5.7 after 1,000 steps, 5 % accuracy).
        for table in [*self.part_embeddings, self.audio_embedding, self.emotion_embedding]:
            nn.init.normal_(table.weight, std=0.02)

    @property
    def null_audio(self) -> int:
        return self.config.audio_units

    @property
    def null_emotion(self) -> int:
        return len(self.config.emotions)

    @property
    def device(self) -> torch.device:
        return self.step_positions.device

    def _steps(self, codes: torch.Tensor, conditions: Conditions) -> torch.Tensor:
        batch, steps, _ = codes.shape
        x = self.step_positions[:steps].expand(batch, -1, -1)
        for column, table in enumerate(self.part_embeddings):
            part = codes[..., column]
            x = x + table(torch.where(part < 0, table.num_embeddings - 1, part))
        groups = steps // STEPS_PER_AUDIO_GROUP
        audio = self.audio_embedding(conditions.audio[:, : groups * UNITS_PER_AUDIO_GROUP])
        audio = self.audio_projection(audio.reshape(batch, groups, -1))
        x = x + audio.reshape(batch, steps, -1)
        if self.config.prompt_to_steps:
            # A dropped prompt has no tokens: its mask zeroes the sentence row's contribution.
            sentence = self.prompt_steps(conditions.prompt[:, 0]) * conditions.prompt_mask[:, :1]
            x = x + sentence[:, None]
        return x

    def forward(self, codes: torch.Tensor, valid: torch.Tensor, conditions: Conditions) -> Output:
        """codes (B, W, 4) with HIDDEN where the model must write; valid (B, W) bool (False past a
        short window's end)."""
        batch = codes.shape[0]
        emotion = self.emotion_embedding(conditions.emotion)[:, None]
        prompt = self.prompt_projection(conditions.prompt) + self.prompt_positions[
            : conditions.prompt.shape[1]]
        x = torch.cat([emotion, prompt, self._steps(codes, conditions)], dim=1)
        keep = torch.cat([torch.ones(batch, 1, dtype=torch.bool, device=codes.device),
                          conditions.prompt_mask, valid], dim=1)
        y = self.norm(self.transformer(x, src_key_padding_mask=~keep))
        motion = y[:, 1 + prompt.shape[1]:]
        mouth = self.mouth_head(motion).reshape(batch, -1, self.config.mouth_channels)
        return Output([head(motion) for head in self.part_heads], self.emotion_head(y[:, 0]),
                      mouth)

    def mouth_values(self, normalised: torch.Tensor) -> torch.Tensor:
        return normalised * self.mouth_std + self.mouth_mean

    # --- persistence -----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, metadata: Mapping[str, Any] | None = None,
             dtype: torch.dtype = torch.float32) -> CheckpointFiles:
        """Write a checkpoint (kind "masked_lm"), floating weights as `dtype`."""
        tensors = {k: (v.to(dtype) if v.is_floating_point() else v).detach().cpu()
                   for k, v in self.state_dict().items()}
        return save_checkpoint(path, CHECKPOINT_KIND, self.config.to_dict(), tensors,
                               FORMAT_VERSION, metadata)

    @classmethod
    def load(cls, path: str | os.PathLike,
             device: str | torch.device = "cpu") -> MaskedMotionModel:
        header = read_header(path)
        try:
            config = MaskedConfig.from_dict(header.config)
        except (TypeError, ValueError) as exc:
            raise BodyLanguageError(f"masked model config is damaged: {exc}", path) from None
        except BodyLanguageError as exc:
            raise BodyLanguageError(str(exc), path) from None
        # Shapes first, on the meta device: a config of absurd size fails before any memory.
        check_state_fits(lambda: cls(config).state_dict(), header.tensors, path)
        _, tensors = load_checkpoint(path, CHECKPOINT_KIND, FORMAT_VERSION)
        model = cls(config)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v
                               for k, v in tensors.items()})
        model.metadata = dict(read_header(path).metadata or {})
        return model.to(device).eval()


class TiedHead(nn.Module):
    """Logits of a part's codes: the step's state against the part's code embeddings (the
    <mask> row left out), plus a bias per code."""

    def __init__(self, table: nn.Embedding) -> None:
        super().__init__()
        self.tables = [table]  # a plain list: the table is saved once, under part_embeddings
        self.bias = nn.Parameter(torch.zeros(table.num_embeddings - 1))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y @ self.tables[0].weight[:-1].t() + self.bias


def init_code_embeddings(model: MaskedMotionModel, codebooks: Sequence[torch.Tensor],
                         seed: int = 0) -> None:
    """Start each part's code embeddings as a random projection of the tokenizer's codebook
    (centred, at the embeddings' 0.02 scale), so codes of similar poses start near each other."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for table, codebook in zip(model.part_embeddings, codebooks, strict=True):
            if codebook.shape[0] != table.num_embeddings - 1:
                raise BodyLanguageError(f"codebook of {codebook.shape[0]} codes for an embedding "
                                        f"table of {table.num_embeddings - 1}")
            centred = codebook.float() - codebook.float().mean(0)
            projection = torch.randn(codebook.shape[1], table.embedding_dim, generator=generator)
            rows = centred @ projection
            table.weight[:-1] = rows / rows.std().clamp_min(1e-8) * 0.02


def masked_loss(model: MaskedMotionModel, codes: torch.Tensor, hidden: torch.Tensor,
                valid: torch.Tensor, conditions: Conditions,
                emotion_targets: torch.Tensor | None = None,
                mouth: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """Cross-entropy over the hidden codes (all parts pooled) plus, where given, the emotion read
    from the motion and the mouth track's squared error. `codes` are the true codes (B, W, 4), -1
    where the data has none; `mouth` (B, W * 4, C) true values, NaN where there are none."""
    shown = torch.where(hidden, torch.full_like(codes, HIDDEN), codes)
    logits, emotion_logits, mouth_out = model(shown, valid, conditions)
    trained = hidden & valid[..., None] & (codes >= 0)
    losses, correct, count = [], 0, 0
    for column, part_logits in enumerate(logits):
        mask = trained[..., column]
        if mask.any():
            picked = part_logits[mask]
            target = codes[..., column][mask]
            losses.append(F.cross_entropy(picked, target, reduction="sum"))
            correct += int((picked.argmax(-1) == target).sum())
            count += int(mask.sum())
    loss = torch.stack(losses).sum() / max(count, 1) if losses else logits[0].sum() * 0.0
    stats = {"accuracy": correct / max(count, 1), "codes": count}
    if emotion_targets is not None and bool((emotion_targets >= 0).any()):
        rows = emotion_targets >= 0
        emotion_loss = F.cross_entropy(emotion_logits[rows], emotion_targets[rows])
        loss = loss + 0.2 * emotion_loss
        stats["emotion_loss"] = float(emotion_loss.detach())
    if mouth is not None:
        target = (mouth - model.mouth_mean) / model.mouth_std
        present = ~torch.isnan(target)
        if present.any():
            mouth_loss = ((mouth_out - torch.nan_to_num(target)) ** 2)[present].mean()
            loss = loss + mouth_loss
            stats["mouth_loss"] = float(mouth_loss.detach())
    return loss.float(), stats


class PromptEncoder:
    """MiniLM word states of prompts, frozen, cached per distinct text (training sees a few
    hundred phrasings; generation one prompt per request)."""

    def __init__(self, tokens: int, sentence: bool = False, cache_size: int = 4096) -> None:
        from core.tokenizers.text import TextTokenizer, load_minilm_model

        self.tokenizer = TextTokenizer.load().transformers_tokenizer
        self.model = load_minilm_model().eval()
        self.tokens = tokens
        self.sentence = sentence
        self.cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.cache_size = cache_size

    def _encode(self, texts: list[str]) -> None:
        batch = self.tokenizer(texts, padding="max_length", truncation=True,
                               max_length=self.tokens, return_tensors="pt")
        with torch.no_grad():
            states = self.model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].bool()
        if self.sentence:
            pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
            pooled = F.normalize(pooled, dim=-1)
            states = torch.cat([pooled[:, None], states], dim=1)
            mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        for index, text in enumerate(texts):
            if len(self.cache) >= self.cache_size:
                self.cache.pop(next(iter(self.cache)))
            self.cache[text] = (states[index], mask[index])

    def __call__(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, P, 384) states and (N, P) mask; an empty text has no tokens at all."""
        new = sorted({t for t in texts if t and t not in self.cache})
        for first in range(0, len(new), 64):
            self._encode(new[first:first + 64])
        length = self.tokens + int(self.sentence)
        states = torch.zeros(len(texts), length, TEXT_DIM)
        mask = torch.zeros(len(texts), length, dtype=torch.bool)
        for index, text in enumerate(texts):
            if text:
                states[index], mask[index] = self.cache[text]
        return states, mask


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_model(codebook_sizes: Sequence[int], audio_units: int, emotions: Sequence[str],
                preset: str = "cpu", **overrides: Any) -> MaskedMotionModel:
    if preset not in PRESETS:
        raise BodyLanguageError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    values = {**PRESETS[preset], **overrides}
    config = MaskedConfig(tuple(int(s) for s in codebook_sizes), int(audio_units),
                          tuple(emotions), preset=preset, **values)
    return MaskedMotionModel(config)


def cosine_hidden_share(u: torch.Tensor) -> torch.Tensor:
    """MaskGIT's schedule: the share of codes hidden at progress u in [0, 1]."""
    return torch.cos(u * math.pi / 2)

