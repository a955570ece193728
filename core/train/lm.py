"""Train the motion language model: pre-training on modality conversion, then instruction
post-training, on corpus folders (ours or BEAT2) tokenised by the trained tokenizers.

    train_lm(["corpus/"], "tokenizers/", "out/", config="default")  ->  out/lm.{json,safetensors}

Steps: the data folders are tokenised once into a cache (`core.lm.dataset`), the "train" split
feeds the task samplers (`core.lm.tasks`), the "test" split is the held-out evaluation set
(phrased with held-out templates). AdamW with linear warm-up and cosine decay, gradients clipped
to norm 1, bf16 autocast on CUDA. Every example is drawn from generators seeded by (seed, step,
row), and dropout is reseeded every step, so a resumed run repeats exactly the batches and losses
of an uninterrupted one. A resumable state is written every `save_every_s` seconds (and every
`save_every_steps` steps, on Ctrl-C and at the end) to `out/lm_training.*`; the final model goes
to `out/lm.*` with the tokenizers it needs referenced in its metadata. Events go to `log` and,
one JSON object per line, to `out/lm_training_log.jsonl`.

Data-parallel: launched by `torchrun` (RANK/WORLD_SIZE/LOCAL_RANK in the environment) every
process trains a DistributedDataParallel copy (gloo on CPU, nccl on CUDA). The global batch stays
`batch_size`: rank r builds rows [r * b / w, (r + 1) * b / w) of each step's global batch, so
the data and the averaged gradients are those of one process with the whole batch. Only rank 0
tokenises, evaluates, logs and writes files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint import checkpoint_files, load_training_state, save_training_state
from core.devices import pick_device
from core.errors import BodyLanguageError
from core.lm.config import MINILM_TEXT_SIZE, PRESETS, LMConfig
from core.lm.dataset import (
    cache_meta,
    default_cache_dir,
    load_tokenized,
    tokenize_corpus,
    tokenizer_fingerprint,
)
from core.lm.tasks import (
    PRETRAIN_TASKS,
    Example,
    TaskContext,
    TaskSampler,
    collate,
    evaluation_examples,
)
from core.skeleton import PARTS
from core.tokenizers.vocabulary import TASKS, Vocabulary
from core.train import StateSaver, data_folders

CHECKPOINT_NAME = "lm"
MODEL_DIR_NAME = "model"  # out/model/: the trained model with its tokenizers, for load_model
STATE_NAME = "lm_training"
LOG_NAME = "lm_training_log.jsonl"
STAGE_CHOICES = ("pretrain", "posttrain", "both")
TRAIN_SPLIT, TEST_SPLIT = "train", "test"


@dataclass(frozen=True)
class Schedule:
    """Per-preset training defaults (every one can be overridden by `train_lm`'s arguments)."""

    steps: int
    batch_size: int
    lr: float
    warmup_steps: int
    eval_every: int
    weight_decay: float = 0.01


SCHEDULES: dict[str, Schedule] = {
    "tiny": Schedule(steps=200, batch_size=8, lr=1e-3, warmup_steps=20, eval_every=100),
    # The shipped model's run, sized for this project's 2-core CPU: a step of 16 windows took
    # 6-11 s on one thread there, 450 steps ~80 minutes.
    "default": Schedule(steps=450, batch_size=16, lr=3e-4, warmup_steps=50, eval_every=150),
    "large": Schedule(steps=100_000, batch_size=64, lr=1e-4, warmup_steps=2000,
                      eval_every=2000),
}


@dataclass
class LMTrainingReport:
    checkpoint: Path  # out/lm (its .json and .safetensors)
    model_dir: Path  # out/model: what core.api.load_model (and --model options) read
    steps: int
    stages: dict[str, list[int]]  # stage -> [first step, last step + 1]
    final_loss: float | None
    evaluation: dict[str, float]  # held-out metrics at the end (empty without a test split)
    train_clips: int
    test_clips: int
    world_size: int
    skipped: list[str] = field(default_factory=list)  # clips the tokenizers could not read


# --- distributed ----------------------------------------------------------------------------------


@dataclass
class _Distributed:
    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    created_group: bool = False

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def mean(self, value: float) -> float:
        if not self.active:
            return value
        tensor = torch.tensor([value], dtype=torch.float64,
                              device=self.device if self.device.type == "cuda" else "cpu")
        torch.distributed.all_reduce(tensor)
        return float(tensor.item()) / self.world

    def close(self) -> None:
        if self.created_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def _setup_distributed(device: str) -> _Distributed:
    """One process per rank when torchrun (or a test) set WORLD_SIZE > 1; else a single one."""
    picked = pick_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Distributed(device=picked)
    if not torch.distributed.is_available():
        raise BodyLanguageError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    rank = int(os.environ.get("RANK", "0"))
    if picked.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", str(rank % torch.cuda.device_count())))
        picked = torch.device("cuda", local)
        torch.cuda.set_device(picked)
    created = False
    if not torch.distributed.is_initialized():
        backend = "nccl" if picked.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend, rank=rank, world_size=world)
        created = True
    return _Distributed(torch.distributed.get_rank(), torch.distributed.get_world_size(), picked,
                        created)


# --- schedule -------------------------------------------------------------------------------------


def learning_rate(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to `peak`, then cosine decay to a tenth of it at the last step."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def stage_plan(
    stage: str, steps: int, pretrain: bool = True, pretrain_share: float = 0.3
) -> list[tuple[str, int, int]]:
    """[(stage, first step, last step + 1)]: "both" spends `pretrain_share` of the steps on
    pre-training first; `pretrain=False` (the ablation) skips pre-training."""
    if stage not in STAGE_CHOICES:
        raise BodyLanguageError(f"stage must be one of {', '.join(STAGE_CHOICES)}, got {stage!r}")
    if stage == "pretrain" and not pretrain:
        raise BodyLanguageError("stage 'pretrain' with pretrain=False trains nothing")
    if stage == "both" and pretrain:
        if not 0.0 < pretrain_share < 1.0:
            raise BodyLanguageError(f"pretrain_share must be in (0, 1), got {pretrain_share!r}")
        split = min(max(1, int(round(steps * pretrain_share))), steps - 1) if steps > 1 else steps
        return [("pretrain", 0, split), ("posttrain", split, steps)]
    name = "pretrain" if stage == "pretrain" else "posttrain"
    return [(name, 0, steps)]


def _stage_at(plan: Sequence[tuple[str, int, int]], step: int) -> str:
    for name, start, stop in plan:
        if start <= step < stop:
            return name
    return plan[-1][0]


def _seed_for(seed: int, *values: int) -> int:
    return int(np.random.SeedSequence([seed, *values]).generate_state(1, np.uint64)[0]) >> 1


# --- evaluation -----------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    examples: Mapping[str, Sequence[Example]],
    vocab: Vocabulary,
    device: torch.device,
    batch_size: int = 16,
) -> dict[str, float]:
    """Held-out loss per task ("loss/<task>"), their mean ("loss"), motion-code accuracy over
    every trained code of the motion tasks ("motion_accuracy"), token accuracy per token task
    ("accuracy/<task>", e.g. emotion from motion)."""
    was_training = model.training
    model.eval()
    metrics: dict[str, float] = {}
    correct_codes = total_codes = 0.0
    try:
        for task, task_examples in examples.items():
            loss_sum = accuracy_sum = 0.0
            for start in range(0, len(task_examples), batch_size):
                chunk = task_examples[start:start + batch_size]
                batch = _to_device(collate(chunk, vocab), device)
                with _autocast(device):
                    output = model(batch)
                loss_sum += float(output.loss) * len(chunk)
                if output.motion_accuracy is not None:
                    codes = float(batch["motion_loss_mask"].sum())
                    correct_codes += output.motion_accuracy * codes
                    total_codes += codes
                if output.token_accuracy is not None:
                    accuracy_sum += output.token_accuracy * len(chunk)
            metrics[f"loss/{task}"] = loss_sum / len(task_examples)
            if task_examples[0].token_targets is not None:
                metrics[f"accuracy/{task}"] = accuracy_sum / len(task_examples)
    finally:
        model.train(was_training)
    losses = [v for k, v in metrics.items() if k.startswith("loss/")]
    if losses:
        metrics["loss"] = float(np.mean(losses))
    if total_codes:
        metrics["motion_accuracy"] = correct_codes / total_codes
    return metrics


def _data_parallel(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    import inspect

    DDP = torch.nn.parallel.DistributedDataParallel
    # The model's buffers are constants: syncing them before every forward is wasted traffic.
    # Newer torch renamed the switch (and warns about the old name).
    no_sync = ({"forward_sync_buffers": False}
               if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters
               else {"broadcast_buffers": False})
    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None, **no_sync)


def _autocast(device: torch.device) -> Any:
    # bf16 needs no loss scaling; CPU autocast would be slower than float32 on most CPUs.
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def _to_device(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {name: tensor.to(device, non_blocking=True) for name, tensor in batch.items()}


# --- training -------------------------------------------------------------------------------------


def _positive(name: str, value: Any, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise BodyLanguageError(f"{name} must be a {kind} integer, got {value!r}")


def _vocabulary(caches: Sequence[Path]) -> Vocabulary:
    metas = [cache_meta(cache) for cache in caches]
    first = metas[0]
    for cache, meta in zip(caches[1:], metas[1:], strict=True):
        if (meta["audio_units"], meta["part_codes"]) != (first["audio_units"],
                                                         first["part_codes"]):
            raise BodyLanguageError("was tokenised with other tokenizers than the first folder",
                                    cache)
    return Vocabulary(MINILM_TEXT_SIZE, first["audio_units"], first["part_codes"])


NEW_ROWS_LR_SCALE = 5.0
FRESH_LR_SCALE = 5.0
# Weights a warm-started (MiniLM) model does not take from MiniLM: cross-attention, heads and the
# projections between encoder and decoder.
_FRESH_PARTS = ("crossattention", "motion_head", "token_transform", "token_bias",
                "aligned_projection", "memory_projection", "input_projection")


def _parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups with an `lr_scale` each (the schedule's rate times the scale).

    No decay on biases, LayerNorm and embedding tables: decaying them only shrinks useful rows.
    In a model warm-started from MiniLM, the weights that start from scratch learn at
    FRESH_LR_SCALE x the rate that suits the pretrained ones (at one rate for all, the heads and
    cross-attention of the default model had not got past the code frequencies after 70 steps,
    where a tiny model at a 3x higher rate predicted 20 % of codes). The new vocabulary rows
    (audio units, part codes, ...) only get a gradient when their token occurs: they learn at
    NEW_ROWS_LR_SCALE x in every model."""
    warm = getattr(getattr(model, "config", None), "encoder_init", "random") == "minilm"
    groups: dict[tuple[bool, float], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if name.endswith("word_embeddings.extra_weight"):
            key = (False, NEW_ROWS_LR_SCALE)
        else:
            is_matrix = parameter.dim() >= 2 and "embedding" not in name and "_weight" not in name
            fresh = warm and any(part in name for part in _FRESH_PARTS)
            key = (is_matrix, FRESH_LR_SCALE if fresh else 1.0)
        groups.setdefault(key, []).append(parameter)
    return [{"params": params, "weight_decay": weight_decay if decay else 0.0, "lr_scale": scale}
            for (decay, scale), params in sorted(groups.items())]


def init_new_rows_from_tokenizers(
    model: torch.nn.Module, tokenizers_dir: str | os.PathLike, seed: int = 0
) -> None:
    """Start the embedding rows of audio units and part codes from what the tokenizers learned:
    each part's VQ-VAE codebook and the audio k-means centres, randomly projected to the
    embedding width and scaled to the pretrained word rows' spread. Codes that decode to similar
    motion (units of similar sound) then start close together, and every row starts as distinct
    from the others as word pieces are, instead of as near-copies of the mean word."""
    from core.lm.dataset import tokenizer_paths
    from core.tokenizers.audio import AudioTokenizer
    from core.tokenizers.motion_vqvae import MotionTokenizer

    motion_path, audio_path = tokenizer_paths(tokenizers_dir)
    motion, audio = MotionTokenizer.load(motion_path), AudioTokenizer.load(audio_path)
    table = model.embedding
    vocab = model.vocab
    text = table.text_weight.detach().float()
    center, spread = text.mean(0), text.std(0)
    generator = torch.Generator().manual_seed(seed)
    sources = {part: motion.models[part].quantizer.codebook.detach().float().cpu()
               for part in PARTS}
    sources["audio"] = torch.as_tensor(audio.centroids, dtype=torch.float32)
    with torch.no_grad():
        for name, vectors in sources.items():
            rows = vocab.range(name)
            if vectors.shape[0] != len(rows):
                raise BodyLanguageError(
                    f"the {name} tokenizer has {vectors.shape[0]} entries, the model's vocabulary "
                    f"{len(rows)}", tokenizers_dir
                )
            standard = (vectors - vectors.mean(0)) / vectors.std(0).clamp(min=1e-6)
            projection = torch.randn(standard.shape[1], text.shape[1], generator=generator)
            projected = standard @ projection
            projected = (projected - projected.mean(0)) / projected.std(0).clamp(min=1e-6)
            start = rows.start - table.text_size
            table.extra_weight[start:start + len(rows)] = (
                center + spread * projected
            ).to(table.extra_weight.dtype)


def _adamw(groups: list[dict[str, Any]], lr: float) -> torch.optim.Optimizer:
    # The fused kernel is several times faster than the per-tensor loop, on CPU as on CUDA.
    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr)


def _default_log(event: dict[str, Any]) -> None:
    if event["event"] in ("eval", "resume", "done", "tokenized"):
        from tqdm import tqdm

        shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in event.items()}
        tqdm.write(f"[lm] {shown}", file=sys.stderr)


def train_lm(
    data_dirs: str | os.PathLike | Iterable[str | os.PathLike],
    tokenizers_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: str = "tiny",
    stage: str = "both",
    steps: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    device: str = "auto",
    resume: bool = True,
    eval_every: int | None = None,
    progress: bool = True,
    data_fraction: float = 1.0,
    pretrain: bool = True,
    seed: int = 0,
    pretrain_share: float = 0.3,
    warmup_steps: int | None = None,
    save_every_s: float = 300.0,
    save_every_steps: int | None = None,
    eval_examples: int = 8,
    cache_dir: str | os.PathLike | None = None,
    config_overrides: Mapping[str, Any] | None = None,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> LMTrainingReport:
    """Train the language model on the corpus folders `data_dirs` with the tokenizers in
    `tokenizers_dir` (motion_tokenizer.* and audio_tokenizer.*); writes `out_dir/lm.*`.

    `config`: "tiny" | "default" | "large" (core/lm/config.py), `config_overrides` change single
    fields (e.g. dropout). `stage`: "pretrain", "posttrain" or "both" (`pretrain_share` of the
    steps pre-training first); `pretrain=False` skips pre-training (the ablation).
    `data_fraction`: the share of clips whose audio and motion post-training may pair (the
    data-efficiency study). `steps`, `batch_size` (global, over all ranks), `lr`, `warmup_steps`,
    `eval_every` default to the preset's `SCHEDULES` entry; `eval_every=0` evaluates only at the
    end. `cache_dir`: where tokenised data is kept (default `out_dir/tokenized`); runs that share
    it tokenise once. `log` receives events: "tokenized", "resume", "step" {step, stage, loss, lr,
    motion_accuracy, token_accuracy}, "eval" {step, metrics}, "saved", "done".
    """
    if config not in PRESETS:
        raise BodyLanguageError(f"unknown LM config {config!r}; configs are {', '.join(PRESETS)}")
    schedule = SCHEDULES[config]
    steps = schedule.steps if steps is None else steps
    batch_size = schedule.batch_size if batch_size is None else batch_size
    warmup_steps = min(schedule.warmup_steps, max(1, steps // 10)) if warmup_steps is None \
        else warmup_steps
    eval_every = schedule.eval_every if eval_every is None else eval_every
    lr = schedule.lr if lr is None else lr
    _positive("steps", steps)
    _positive("batch_size", batch_size)
    _positive("warmup_steps", warmup_steps)
    _positive("eval_every", eval_every, allow_zero=True)
    _positive("eval_examples", eval_examples)
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise BodyLanguageError(f"lr must be a positive number, got {lr!r}")
    if not (isinstance(data_fraction, (int, float)) and 0.0 < data_fraction <= 1.0):
        raise BodyLanguageError(f"data_fraction must be in (0, 1], got {data_fraction!r}")
    plan = stage_plan(stage, steps, pretrain, pretrain_share)
    roots = data_folders(data_dirs)
    out = Path(out_dir)
    log = log or _default_log

    dist = _setup_distributed(device)
    try:
        if batch_size % dist.world:
            raise BodyLanguageError(
                f"batch_size {batch_size} must be a multiple of the {dist.world} processes"
            )
        return _train(
            roots, Path(tokenizers_dir), out, config, plan, steps, batch_size, float(lr),
            warmup_steps, eval_every, resume, progress, float(data_fraction), pretrain, seed,
            save_every_s, save_every_steps, eval_examples,
            Path(cache_dir) if cache_dir is not None else out / "tokenized",
            dict(config_overrides or {}), log, schedule.weight_decay, dist,
        )
    finally:
        dist.close()


def _train(
    roots: list[Path], tokenizers_dir: Path, out: Path, preset: str,
    plan: list[tuple[str, int, int]], steps: int, batch_size: int, lr: float, warmup_steps: int,
    eval_every: int, resume: bool, progress: bool, data_fraction: float, pretrain: bool,
    seed: int, save_every_s: float, save_every_steps: int | None, eval_count: int,
    cache_root: Path, overrides: dict[str, Any], log: Callable[[dict[str, Any]], None],
    weight_decay: float, dist: _Distributed,
) -> LMTrainingReport:
    from core.lm.model import MotionLanguageModel
    from core.tokenizers.text import TextTokenizer

    emit = log if dist.main else (lambda event: None)
    log_file = out / LOG_NAME
    if dist.main:
        out.mkdir(parents=True, exist_ok=True)

        def emit(event: dict[str, Any]) -> None:
            with open(log_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(event) + "\n")
            log(event)

    # Tokenise once (rank 0), then every rank reads the caches.
    caches = [default_cache_dir(cache_root, root) for root in roots]
    skipped: list[str] = []
    if dist.main:
        for root, cache in zip(roots, caches, strict=True):
            report = tokenize_corpus(root, tokenizers_dir, cache, progress=progress,
                                     device=str(dist.device))
            skipped += report.skipped
            emit({"event": "tokenized", "data": str(root), "cache": str(cache),
                  "clips": report.clips, "rebuilt": report.rebuilt,
                  "skipped": len(report.skipped)})
    dist.barrier()
    train_clips = load_tokenized(caches, TRAIN_SPLIT)
    if not train_clips:
        raise BodyLanguageError(
            f"no '{TRAIN_SPLIT}' clips in {', '.join(map(str, roots))} to train on"
        )
    vocab = _vocabulary(caches)
    lm_config = LMConfig.preset_named(preset, vocabulary=vocab.to_config(), **overrides)
    ctx = TaskContext.from_config(lm_config, TextTokenizer.load())

    samplers = {name: TaskSampler(train_clips, ctx, name, data_fraction=data_fraction, seed=seed)
                for name in {name for name, _, _ in plan}}
    test_clips = load_tokenized(caches, TEST_SPLIT) if dist.main else []
    held_out = evaluation_examples(test_clips, ctx, TASKS, eval_count, seed) if test_clips else {}

    torch.manual_seed(seed)  # identical initial weights on every rank
    model = MotionLanguageModel(lm_config)
    init_new_rows_from_tokenizers(model, tokenizers_dir, seed)
    model = model.to(dist.device)
    model.train()
    optimizer = _adamw(_parameter_groups(model, weight_decay), lr)
    # Frozen weights (MiniLM's word-piece rows) come from the package on every start: the
    # training state leaves them out (~47 MB in float32 for the default preset).
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    fingerprint = tokenizer_fingerprint(tokenizers_dir)
    state_config = {
        "lm": lm_config.to_dict(),
        "batch_size": batch_size,
        "plan": [list(p) for p in plan],
        "data_fraction": data_fraction,
        "pretrain": pretrain,
        "seed": seed,
        "lr": lr,
        "warmup_steps": warmup_steps,
        "tokenizers": fingerprint,
    }
    state_path = out / STATE_NAME
    start_step = 0
    if resume and checkpoint_files(state_path).config.is_file():
        state = load_training_state(state_path)
        differing = sorted(k for k in state_config if state.config.get(k) != state_config[k])
        if differing:
            raise BodyLanguageError(
                f"training state was made with other settings ({', '.join(differing)}); use "
                f"another output folder or resume=False", checkpoint_files(state_path).config
            )
        missing, unexpected = model.load_state_dict(
            {k: v.to(dist.device) for k, v in state.model_state.items()}, strict=False)
        if unexpected or set(missing) != frozen:
            lacking = sorted(set(missing) - frozen)[:3]
            raise BodyLanguageError(
                f"training state does not fit the model (missing {lacking}, unexpected "
                f"{unexpected[:3]})", checkpoint_files(state_path).config
            )
        optimizer.load_state_dict(state.optimizer_state)
        start_step = state.step
        emit({"event": "resume", "step": start_step})
    dist.barrier()  # every rank has read the state before rank 0 may overwrite it

    trained = model
    if dist.active:
        trained = _data_parallel(model, dist.device)
    per_rank = batch_size // dist.world
    rows = range(dist.rank * per_rank, (dist.rank + 1) * per_rank)
    trainable = [p for p in model.parameters() if p.requires_grad]

    def save_state(step: int) -> None:
        if dist.main:
            weights = {k: v for k, v in model.state_dict().items() if k not in frozen}
            save_training_state(state_path, weights, optimizer.state_dict(), step,
                                {"seed": seed}, state_config)
            emit({"event": "saved", "step": step})

    bar = None
    if progress and dist.main:
        from tqdm import tqdm

        bar = tqdm(total=steps, initial=start_step, desc="language model", unit="step",
                   file=sys.stderr, dynamic_ncols=True)
    completed = start_step
    saver = StateSaver(save_state, start_step, save_every_s, save_every_steps)
    final_loss = None
    try:
        for step in range(start_step, steps):
            stage = _stage_at(plan, step)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, steps, lr, warmup_steps) * group["lr_scale"]
            torch.manual_seed(_seed_for(seed, step, dist.rank))  # dropout: same on resume
            batch = _to_device(collate(samplers[stage].batch(step, rows), vocab), dist.device)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(dist.device):
                output = trained(batch)
            output.loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            completed = step + 1
            final_loss = dist.mean(float(output.loss.detach()))
            event = {"event": "step", "step": completed, "stage": stage, "loss": final_loss,
                     "lr": optimizer.param_groups[0]["lr"]}
            if output.motion_accuracy is not None:
                event["motion_accuracy"] = output.motion_accuracy
            if output.token_accuracy is not None:
                event["token_accuracy"] = output.token_accuracy
            emit(event)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(stage=stage, loss=f"{final_loss:.3f}")
            if (dist.main and held_out and eval_every and completed % eval_every == 0
                    and completed < steps):  # the last step gets the final evaluation
                emit({"event": "eval", "step": completed,
                      **evaluate(model, held_out, vocab, dist.device, per_rank or 1)})
            saver.step_done(completed)
    except KeyboardInterrupt:
        saver.interrupted(completed)
        raise
    finally:
        if bar is not None:
            bar.close()
    saver.finished(completed, checkpoint_files(state_path).config.is_file())

    checkpoint = out / CHECKPOINT_NAME
    metrics: dict[str, float] = {}
    if dist.main:
        if held_out:
            metrics = evaluate(model, held_out, vocab, dist.device, per_rank or 1)
            emit({"event": "eval", "step": completed, **metrics})
        model.save(checkpoint, metadata={
            "tokenizers": fingerprint,
            "training": {
                "preset": preset,
                "steps": completed,
                "stages": {name: [start, stop] for name, start, stop in plan},
                "batch_size": batch_size,
                "lr": lr,
                "data_fraction": data_fraction,
                "pretrain": pretrain,
                "seed": seed,
                "world_size": dist.world,
                "data": [str(root.resolve()) for root in roots],
                "train_clips": len(train_clips),
                "pretrain_tasks": list(PRETRAIN_TASKS),
            },
            "evaluation": metrics,
        })
        model_dir = _write_model_folder(out / MODEL_DIR_NAME, model, tokenizers_dir, preset)
        emit({"event": "done", "step": completed, "checkpoint": str(checkpoint),
              "model": str(model_dir)})
    dist.barrier()
    return LMTrainingReport(
        checkpoint=checkpoint,
        model_dir=out / MODEL_DIR_NAME,
        steps=completed,
        stages={name: [start, stop] for name, start, stop in plan},
        final_loss=final_loss,
        evaluation=metrics,
        train_clips=len(train_clips),
        test_clips=len(test_clips),
        world_size=dist.world,
        skipped=skipped,
    )


# --- command line ---------------------------------------------------------------------------------


def _write_model_folder(
    folder: Path, model: torch.nn.Module, tokenizers_dir: Path, preset: str
) -> Path:
    """The trained model beside its tokenizers as one folder `core.api.load_model` reads, so a
    finished run can be evaluated, used in Blender or shipped without another step."""
    from core.api import save_model_bundle
    from core.lm.dataset import tokenizer_paths
    from core.tokenizers.audio import AudioTokenizer
    from core.tokenizers.motion_vqvae import MotionTokenizer

    motion_path, audio_path = tokenizer_paths(tokenizers_dir)
    was_training = model.training
    model.eval()
    try:
        save_model_bundle(folder, model, MotionTokenizer.load(motion_path),
                          AudioTokenizer.load(audio_path), name=preset)
    finally:
        model.train(was_training)
    return folder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m core train lm` (core/cli.py adds them to its sub-command)."""
    parser.add_argument("--data", nargs="+", required=True,
                        help="corpus folders in the BEAT2 layout (ours and/or BEAT2)")
    parser.add_argument("--tokenizers", required=True,
                        help="folder with motion_tokenizer.* and audio_tokenizer.*")
    parser.add_argument("--out", required=True, help="output folder (checkpoint, state, log)")
    parser.add_argument("--config", choices=PRESETS, default="default", help="model preset")
    parser.add_argument("--stage", choices=STAGE_CHOICES, default="both")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="global batch, split over data-parallel processes")
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--data-fraction", type=float, default=1.0,
                        help="share of paired audio-motion clips post-training may use")
    parser.add_argument("--no-pretrain", action="store_true", help="skip pre-training")
    parser.add_argument("--no-resume", action="store_true", help="start over")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None, help="tokenised-data cache folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_from_args(args: argparse.Namespace) -> LMTrainingReport:
    report = train_lm(
        args.data, args.tokenizers, args.out, config=args.config, stage=args.stage,
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, device=args.device,
        resume=not args.no_resume, eval_every=args.eval_every, progress=not args.quiet,
        data_fraction=args.data_fraction, pretrain=not args.no_pretrain, seed=args.seed,
        cache_dir=args.cache,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        summary = {k: v for k, v in asdict(report).items() if k != "skipped"}
        print(json.dumps(summary, default=str, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    """`python -m core.train.lm ...` (also under torchrun for data-parallel training)."""
    parser = argparse.ArgumentParser(prog="python -m core.train.lm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        run_from_args(args)
    except BodyLanguageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
