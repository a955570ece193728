"""The motion language model: a BERT encoder over the unified vocabulary, a BERT decoder that writes
either motion (one position per time step, four part heads) or tokens (a head tied to the encoder's
embedding table).

The batch format (what `forward` reads) is described in core/lm/batch_format.py; the
checkpoint format in core/lm/lm_checkpoint.py.

Decoder, motion mode: input at step 0 is the `<motion>` embedding, at step t the sum of step t-1's
four part-code embeddings (from the same table the encoder reads), plus (config `aligned_memory`)
a projection of the encoder states that sit at step t's time: the mean of the audio units
overlapping it and the motion-step position t of the input. Cross-attention alone has to learn
that alignment, and the text before the audio block shifts it in every example; handing it to
the decoder spares a small model, trained briefly, from learning it. One forward gives four heads
(one linear layer, split per part), each over its part's codes only, so no other token can appear.
Token mode: input `<bos>` then the previous token; logits = (transformed hidden) . (embedding rows).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint import CheckpointFiles
from core.errors import BodyLanguageError
from core.lm.batch_format import (
    IGNORE,
    MOTION_STEP,
    Batch,
    checked_encoder_inputs,
    checked_motion_targets,
    checked_token_targets,
)
from core.lm.config import LMConfig
from core.lm.lm_checkpoint import load_language_model, save_language_model
from core.skeleton import PARTS
from core.tokenizers.text import load_minilm_model, minilm_dir


class Memory(NamedTuple):
    """The encoder's output as the decoder reads it."""

    hidden: torch.Tensor  # (B, S, decoder_hidden)
    mask: torch.Tensor | None  # (B, S) long, None when no position is padding
    # (B, decoder_max_positions, encoder_hidden): per motion step, the encoder states of the audio
    # units and the given motion step at that time (zero where there are none); None when the
    # config has no aligned memory.
    aligned: torch.Tensor | None = None


@dataclass
class LMOutput:
    loss: torch.Tensor  # what to minimise (scalar)
    motion_loss: torch.Tensor | None = None  # mean over motion rows
    token_loss: torch.Tensor | None = None  # mean over token rows
    part_losses: dict[str, torch.Tensor] = field(default_factory=dict)  # mean CE per trained part
    motion_accuracy: float | None = None  # argmax == target over trained codes
    token_accuracy: float | None = None


class UnifiedEmbedding(nn.Module):
    """The unified vocabulary's embedding table, kept as two blocks: MiniLM's word-piece rows (which
    may be frozen and then are referenced rather than stored by the checkpoint) and every new row
    (audio units, part codes, emotions, special and task tokens)."""

    def __init__(self, text_size: int, extra_size: int, width: int, freeze_text: bool) -> None:
        super().__init__()
        self.text_size = text_size
        self.text_weight = nn.Parameter(torch.zeros(text_size, width),
                                        requires_grad=not freeze_text)
        self.extra_weight = nn.Parameter(torch.zeros(extra_size, width))

    @property
    def weight(self) -> torch.Tensor:
        """The whole (V, width) table (a concatenated copy)."""
        return torch.cat([self.text_weight, self.extra_weight])

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # Two lookups and a select instead of concatenating the 33k-row table on every call.
        is_text = (ids < self.text_size).unsqueeze(-1)
        text = F.embedding(ids.clamp(max=self.text_size - 1), self.text_weight)
        extra = F.embedding((ids - self.text_size).clamp(min=0), self.extra_weight)
        return torch.where(is_text, text, extra)

    def logits(self, hidden: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """hidden . row for every id in `ids` (1-D), or for the whole vocabulary when None."""
        if ids is None:
            return torch.cat([hidden @ self.text_weight.T, hidden @ self.extra_weight.T], dim=-1)
        return hidden @ self(ids).T


class MotionLanguageModel(nn.Module):
    """Encoder-decoder over the unified vocabulary; see the module docstring for the batch format.

    `pretrained=True` starts the encoder (and, for the default preset, the decoder) from the
    installed all-MiniLM-L6-v2; `load` builds with `pretrained=False` and fills every weight from
    the checkpoint (and MiniLM's word-piece rows from the package when the checkpoint references
    them).
    """

    def __init__(self, config: LMConfig, pretrained: bool = True) -> None:
        super().__init__()
        from transformers import BertModel

        self.config = config
        self.vocab = config.vocab
        vocab = self.vocab
        minilm = config.encoder_init == "minilm" and pretrained
        if minilm:
            source = _load_minilm(config)
            self.encoder = source
        else:
            self.encoder = BertModel(_bert_config(config, "encoder"), add_pooling_layer=False)
        self.decoder = BertModel(_bert_config(config, "decoder"), add_pooling_layer=False)
        if minilm and config.decoder_init == "minilm":
            _warm_start_decoder(self.decoder, self.encoder, config)
        if minilm:
            _keep_first_layers(self.encoder, config.encoder_layers)
        # The decoder always receives embeddings; its own 1-row word table would be a dead weight.
        self.decoder.embeddings.word_embeddings = None

        table = UnifiedEmbedding(vocab.text_size, vocab.size - vocab.text_size,
                                 config.encoder_hidden, config.freeze_text_embeddings)
        with torch.no_grad():
            if minilm:
                table.text_weight.copy_(self.encoder.embeddings.word_embeddings.weight)
            else:
                table.text_weight.normal_(0.0, 0.02)
            generator = torch.Generator().manual_seed(0)
            noise = torch.randn(table.extra_weight.shape, generator=generator)
            table.extra_weight.copy_(table.text_weight.mean(0) + config.new_token_init_std * noise)
        self.encoder.set_input_embeddings(table)

        width, hidden = config.encoder_hidden, config.decoder_hidden
        self.memory_projection = nn.Linear(width, hidden) if width != hidden else nn.Identity()
        self.aligned_projection = nn.Linear(width, width) if config.aligned_memory else None
        self.input_projection = nn.Linear(width, hidden) if width != hidden else nn.Identity()
        self.part_sizes = [vocab.part_codes[part] for part in PARTS]
        # Four part heads as one linear layer whose outputs are split per part: one matmul per step.
        self.motion_head = nn.Linear(hidden, sum(self.part_sizes))
        self.token_transform = nn.Sequential(
            nn.Linear(hidden, width), nn.GELU(), nn.LayerNorm(width, eps=1e-12)
        )
        self.token_bias = nn.Parameter(torch.zeros(vocab.size))
        for module in (self.motion_head, self.token_transform[0]):
            nn.init.normal_(module.weight, 0.0, 0.02)
            nn.init.zeros_(module.bias)
        for module in (self.memory_projection, self.input_projection, self.aligned_projection):
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)

        audio = vocab.range("audio")
        self.audio_ids = (audio.start, audio.stop)
        self.register_buffer("part_starts", torch.tensor([vocab.range(p).start for p in PARTS]),
                             persistent=False)
        self.register_buffer("part_limits", torch.tensor(self.part_sizes), persistent=False)
        self.register_buffer("part_mask_ids",
                             torch.tensor([vocab.special(f"<{p}_mask>") for p in PARTS]),
                             persistent=False)
        self.motion_start_id = vocab.special("<motion>")
        self.bos_id = vocab.special("<bos>")
        self.eos_id = vocab.special("<eos>")
        self.pad_id = vocab.special("<pad>")

    # --- pieces the generator uses --------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.motion_head.weight.device

    @property
    def embedding(self) -> UnifiedEmbedding:
        return self.encoder.get_input_embeddings()

    def encode(self, inputs: Batch) -> Memory:
        """Run the encoder on `inputs` ("input_ids", optional "attention_mask", "motion_codes")."""
        input_ids, mask, motion_codes = checked_encoder_inputs(inputs, self.vocab, self.device)
        if input_ids.shape[1] > self.config.encoder_max_positions:
            raise BodyLanguageError(
                f"encoder input has {input_ids.shape[1]} positions, the model has "
                f"{self.config.encoder_max_positions}; cut the input into windows"
            )
        is_step = input_ids == MOTION_STEP
        # Padding may hold any value; look up <pad> there so the embedding never sees a bad id.
        lookup = input_ids if mask is None else torch.where(mask.bool(), input_ids, self.pad_id)
        embeds = self.embedding(torch.where(is_step, self.pad_id, lookup))
        if motion_codes is not None:
            steps = self.motion_step_embedding(motion_codes)
            embeds = torch.where(is_step.unsqueeze(-1), steps, embeds)
        hidden = self.encoder(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        aligned = None
        if self.aligned_projection is not None:
            aligned = self._aligned_states(hidden, input_ids, mask)
        if mask is not None and bool(mask.all()):
            mask = None  # lets the decoder skip building a cross-attention mask at every step
        return Memory(self.memory_projection(hidden), mask, aligned)

    def _aligned_states(
        self, hidden: torch.Tensor, input_ids: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """(B, decoder_max_positions, width): per motion step t, the mean encoder state of the
        audio units overlapping t plus the state of motion-step position t (see the docstring).
        Audio units and motion steps of a window both start at the window's start."""
        rows, _, width = hidden.shape
        steps = self.config.decoder_max_positions
        valid = torch.ones_like(input_ids, dtype=torch.bool) if mask is None else mask.bool()
        low, high = self.audio_ids
        is_audio = (input_ids >= low) & (input_ids < high) & valid
        is_step = (input_ids == MOTION_STEP) & valid
        t = torch.arange(steps, device=hidden.device)
        ratio = self.config.audio_units_per_second / self.config.motion_steps_per_second
        first = torch.floor(t * ratio).long()
        last = torch.ceil((t + 1) * ratio).long() - 1  # inclusive
        width_units = int(math.ceil(ratio)) + 1
        units = first[:, None] + torch.arange(width_units, device=hidden.device)  # (T, k)
        aligned = hidden.new_zeros(rows, steps, width)
        for block, offsets, in_span in (
            (is_audio, units, units <= last[:, None]),
            (is_step, t[:, None], torch.ones(steps, 1, dtype=torch.bool, device=hidden.device)),
        ):
            count = block.sum(1)  # (B,)
            start = block.long().argmax(1)  # first position of the block (0 when absent)
            ok = in_span[None] & (offsets[None] < count[:, None, None])  # (B, T, k)
            index = (start[:, None, None] + offsets[None]).clamp(max=hidden.shape[1] - 1)
            states = hidden.gather(1, index.flatten(1)[..., None].expand(-1, -1, width))
            states = states.view(rows, steps, offsets.shape[1], width) * ok[..., None]
            aligned = aligned + states.sum(2) / ok.sum(2, keepdim=True).clamp(min=1)
        return aligned

    def aligned_inputs(self, memory: Memory, first_step: int, count: int) -> torch.Tensor | None:
        """What motion-mode decoder inputs at steps first_step .. first_step + count - 1 add
        (B, count, width), or None without aligned memory. Steps past the table get zeros."""
        if memory.aligned is None or self.aligned_projection is None:
            return None
        table = memory.aligned[:, first_step:first_step + count]
        if table.shape[1] < count:
            table = torch.cat([table, table.new_zeros(table.shape[0], count - table.shape[1],
                                                      table.shape[2])], dim=1)
        return self.aligned_projection(table)

    def motion_step_embedding(self, codes: torch.Tensor) -> torch.Tensor:
        """(..., 4) part codes (or negative: not given) -> (..., width), the sum over parts."""
        ids = torch.where(codes >= 0, codes + self.part_starts, self.part_mask_ids)
        return self.embedding(ids).sum(dim=-2)

    def start_embedding(self, batch: int, token_mode: bool = False) -> torch.Tensor:
        """(batch, 1, width): the decoder's first input: `<bos>` for tokens, else `<motion>`."""
        start = self.bos_id if token_mode else self.motion_start_id
        ids = torch.full((batch, 1), start, dtype=torch.long, device=self.device)
        return self.embedding(ids)

    def new_cache(self) -> Any:
        """An empty key/value cache for `decode` (self-attention grows; cross-attention keys are
        computed at the first step and reused)."""
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache

        return EncoderDecoderCache(DynamicCache(), DynamicCache())

    def decode(self, embeds: torch.Tensor, memory: Memory, cache: Any = None) -> torch.Tensor:
        """Decoder hidden states (B, n, hidden) of input embeddings (B, n, width) that follow the
        positions already in `cache` (all of them when `cache` is None)."""
        output = self.decoder(
            inputs_embeds=self.input_projection(embeds),
            encoder_hidden_states=memory.hidden,
            encoder_attention_mask=memory.mask,
            past_key_values=cache,
            use_cache=cache is not None,
        )
        return output.last_hidden_state

    def motion_logits(self, hidden: torch.Tensor) -> list[torch.Tensor]:
        """Per part (PARTS order), logits over that part's codes: [(..., codes_p)] * 4."""
        return list(self.motion_head(hidden).split(self.part_sizes, dim=-1))

    def token_logits(self, hidden: torch.Tensor, ids: torch.Tensor | None = None) -> torch.Tensor:
        """Logits over the ids in `ids` (1-D), or the whole vocabulary when None."""
        transformed = self.token_transform(hidden)
        bias = self.token_bias if ids is None else self.token_bias[ids]
        return self.embedding.logits(transformed, ids) + bias

    def teacher_forced_motion_inputs(self, codes: torch.Tensor, memory: Memory) -> torch.Tensor:
        """Decoder inputs (B, N, width) for writing `codes` (B, N, 4): start, then steps 0..N-2,
        each plus its step's aligned encoder states from `memory`."""
        start = self.start_embedding(codes.shape[0])
        inputs = torch.cat([start, self.motion_step_embedding(codes[:, :-1])], dim=1)
        aligned = self.aligned_inputs(memory, 0, inputs.shape[1])
        return inputs if aligned is None else inputs + aligned

    def teacher_forced_token_inputs(self, targets: torch.Tensor) -> torch.Tensor:
        start = self.start_embedding(targets.shape[0], token_mode=True)
        previous = torch.where(targets[:, :-1] >= 0, targets[:, :-1], self.pad_id)
        return torch.cat([start, self.embedding(previous)], dim=1)

    # --- training -------------------------------------------------------------------------------

    def forward(self, batch: Batch) -> LMOutput:
        """The training loss of a batch (format in the module docstring)."""
        memory = self.encode(batch)
        rows = memory.hidden.shape[0]
        motion = checked_motion_targets(batch, rows, self.part_sizes, self.device)
        tokens = checked_token_targets(batch, rows, self.vocab.size, self.device)
        motion_rows = motion[1].flatten(1).any(1) if motion else _no_rows(rows, self.device)
        token_rows = (tokens[0] >= 0).any(1) if tokens else _no_rows(rows, self.device)
        both, neither = motion_rows & token_rows, ~(motion_rows | token_rows)
        if both.any() or neither.any():
            row = int((both | neither).nonzero()[0])
            what = "both motion and token targets" if both[row] else "no trained target"
            raise BodyLanguageError(f"batch row {row} has {what}; each row needs exactly one kind")

        row_losses = torch.zeros(rows, device=self.device)
        output = LMOutput(loss=row_losses.sum())
        if motion_rows.any():
            losses, output.part_losses, output.motion_accuracy = self._motion_loss(
                memory, motion_rows, *motion
            )
            row_losses = row_losses.index_put((motion_rows.nonzero()[:, 0],), losses)
            output.motion_loss = losses.mean().detach()
        if token_rows.any():
            losses, output.token_accuracy = self._token_loss(memory, token_rows, *tokens)
            row_losses = row_losses.index_put((token_rows.nonzero()[:, 0],), losses)
            output.token_loss = losses.mean().detach()
        # A zero-weight term on the heads a batch does not use gives every trainable weight a
        # gradient, so DistributedDataParallel needs no find_unused_parameters.
        unused = [] if motion_rows.any() else list(self.motion_head.parameters())
        if not token_rows.any():
            unused += [*self.token_transform.parameters(), self.token_bias]
        untouched = sum((p.sum() * 0.0 for p in unused), row_losses.new_zeros(()))
        output.loss = row_losses.mean() + untouched
        return output

    def check_decoder_length(self, length: int) -> None:
        if length > self.config.decoder_max_positions:
            raise BodyLanguageError(
                f"{length} decoder positions asked for, the model has "
                f"{self.config.decoder_max_positions} (one window is {self.config.steps_per_window}"
                f" motion steps)"
            )

    def _motion_loss(
        self, memory: Memory, rows: torch.Tensor, targets: torch.Tensor, loss_mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], float]:
        targets, loss_mask = targets[rows], loss_mask[rows]
        self.check_decoder_length(targets.shape[1])
        memory = _rows_of(memory, rows)
        hidden = self.decode(self.teacher_forced_motion_inputs(targets, memory), memory)
        part_losses, total, correct = {}, torch.zeros_like(targets, dtype=torch.float32), 0
        for index, (part, logits) in enumerate(zip(PARTS, self.motion_logits(hidden), strict=True)):
            target = torch.where(loss_mask[..., index], targets[..., index], IGNORE)
            losses = F.cross_entropy(logits.flatten(0, 1).float(), target.flatten(),
                                     ignore_index=IGNORE, reduction="none").view_as(target)
            total[..., index] = losses
            trained = loss_mask[..., index]
            if trained.any():
                part_losses[part] = (losses.sum() / trained.sum()).detach()
                correct += int((logits.argmax(-1) == target)[trained].sum())
        counts = loss_mask.flatten(1).sum(1)
        accuracy = correct / max(int(counts.sum()), 1)
        return total.flatten(1).sum(1) / counts.clamp(min=1), part_losses, accuracy

    def _token_loss(
        self, memory: Memory, rows: torch.Tensor, targets: torch.Tensor,
        allowed: torch.Tensor | None,
    ) -> tuple[torch.Tensor, float]:
        targets = targets[rows]
        self.check_decoder_length(targets.shape[1])
        hidden = self.decode(self.teacher_forced_token_inputs(targets), _rows_of(memory, rows))
        logits = self.token_logits(hidden).float()
        if allowed is not None:
            allowed = allowed[rows] if allowed.dim() == 2 else allowed.expand(len(targets), -1)
            trained = targets >= 0
            if not allowed.gather(1, targets.clamp(min=0))[trained].all():
                raise BodyLanguageError("a token target is outside its row's token_allowed mask")
            logits = logits.masked_fill(~allowed.unsqueeze(1), float("-inf"))
        losses = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE,
                                 reduction="none").view_as(targets)
        trained = targets >= 0
        accuracy = float((logits.argmax(-1) == targets)[trained].float().mean())
        return losses.sum(1) / trained.sum(1).clamp(min=1), accuracy

    # --- storage --------------------------------------------------------------------------------

    def save(
        self, path: str | os.PathLike, dtype: torch.dtype = torch.float16,
        metadata: Mapping[str, Any] | None = None,
    ) -> CheckpointFiles:
        """Write a checkpoint (core/lm/lm_checkpoint.py), floating weights as `dtype`."""
        return save_language_model(self, path, dtype, metadata)

    @classmethod
    def load(
        cls, path: str | os.PathLike, device: str | torch.device = "cpu"
    ) -> MotionLanguageModel:
        """The model of a checkpoint written by `save`, in float32, in eval mode, on `device`."""
        return load_language_model(cls, path, device)


# --- construction helpers -------------------------------------------------------------------


def _bert_config(config: LMConfig, side: str) -> Any:
    from transformers import BertConfig

    decoder = side == "decoder"
    return BertConfig(
        vocab_size=1,  # the unified table replaces the encoder's; the decoder takes embeddings
        hidden_size=getattr(config, f"{side}_hidden"),
        num_hidden_layers=getattr(config, f"{side}_layers"),
        num_attention_heads=getattr(config, f"{side}_heads"),
        intermediate_size=getattr(config, f"{side}_intermediate"),
        max_position_embeddings=getattr(config, f"{side}_max_positions"),
        type_vocab_size=1 if decoder else 2,
        hidden_dropout_prob=config.dropout,
        attention_probs_dropout_prob=config.dropout,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        is_decoder=decoder,
        add_cross_attention=decoder,
        attn_implementation="sdpa",
    )


def _load_minilm(config: LMConfig) -> nn.Module:
    model = load_minilm_model(attn_implementation="sdpa", hidden_dropout_prob=config.dropout,
                              attention_probs_dropout_prob=config.dropout)
    folder = minilm_dir()
    found = model.config
    shape = (found.hidden_size, found.num_attention_heads, found.intermediate_size,
             found.max_position_embeddings)
    wanted = (config.encoder_hidden, config.encoder_heads, config.encoder_intermediate,
              config.encoder_max_positions)
    if shape != wanted or config.encoder_layers > found.num_hidden_layers:
        raise BodyLanguageError(
            f"MiniLM has {found.num_hidden_layers} layers and hidden/heads/intermediate/positions "
            f"{shape}; the config asks for {config.encoder_layers} layers and {wanted}", folder
        )
    return model


def _keep_first_layers(encoder: nn.Module, count: int) -> None:
    """Truncate a pretrained encoder to its first `count` layers. The lower layers carry most of
    the lexical knowledge a prompt needs, and each dropped layer saves a sixth of MiniLM's
    cost on every window, in training and in generation."""
    encoder.encoder.layer = encoder.encoder.layer[:count]
    encoder.config.num_hidden_layers = count


def _warm_start_decoder(decoder: nn.Module, encoder: nn.Module, config: LMConfig) -> None:
    """Copy self-attention and feed-forward weights of evenly spaced encoder layers into the
    decoder (BERT2BERT-style warm start); cross-attention keeps its fresh initialisation."""
    if (config.decoder_hidden, config.decoder_heads, config.decoder_intermediate) != (
        config.encoder_hidden, config.encoder_heads, config.encoder_intermediate
    ) or config.decoder_layers > len(encoder.encoder.layer):
        raise BodyLanguageError(
            "decoder_init 'minilm' needs decoder hidden/heads/intermediate equal to the encoder's "
            "and no more decoder layers than MiniLM has"
        )
    # Spread over all of MiniLM's layers, also those the encoder itself then drops.
    count, available = config.decoder_layers, len(encoder.encoder.layer)
    sources = [round(i * (available - 1) / max(count - 1, 1)) for i in range(count)]
    with torch.no_grad():
        for target, source in zip(decoder.encoder.layer, sources, strict=True):
            layer = encoder.encoder.layer[source]
            target.attention.load_state_dict(layer.attention.state_dict())
            target.intermediate.load_state_dict(layer.intermediate.state_dict())
            target.output.load_state_dict(layer.output.state_dict())
        embeddings = encoder.embeddings
        positions = config.decoder_max_positions
        decoder.embeddings.position_embeddings.weight.copy_(
            embeddings.position_embeddings.weight[:positions]
        )
        decoder.embeddings.token_type_embeddings.weight.copy_(
            embeddings.token_type_embeddings.weight[:1]
        )
        decoder.embeddings.LayerNorm.load_state_dict(embeddings.LayerNorm.state_dict())


def _no_rows(rows: int, device: torch.device) -> torch.Tensor:
    return torch.zeros(rows, dtype=torch.bool, device=device)


def _rows_of(memory: Memory, rows: torch.Tensor) -> Memory:
    return Memory(memory.hidden[rows], None if memory.mask is None else memory.mask[rows],
                  None if memory.aligned is None else memory.aligned[rows])
