"""Train the motion language model: pre-training on modality conversion, then instruction
post-training, on corpus folders (ours or BEAT2) tokenised by the trained tokenizers.

    train_lm(LMTrainConfig("default"), ["corpus/"], "tokenizers/", "out/")
        ->  out/lm.{json,safetensors}, out/lm.training.json (the config), out/model/

Steps: the data folders are tokenised once into a cache (`core.lm.dataset`), the "train" split feeds
the task sampler (`core.lm.task_sampling`, over the tasks of `core.lm.tasks`), the "test" split is
the held-out evaluation set (phrased with held-out templates). AdamW with linear warm-up and cosine
decay, gradients clipped to norm 1, bf16 autocast on CUDA. Every example is drawn from generators
seeded by (seed, step, row), and dropout is reseeded every step, so a resumed run repeats exactly
the batches and losses of an uninterrupted one. A resumable state is written every `save_every_s`
seconds (and every `save_every_steps` steps, on Ctrl-C and at the end) to `out/lm_training.*`
(`core.train.lm_checkpoint`); the final model goes to `out/lm.*` with the tokenizers it needs
referenced in its metadata and its `LMTrainConfig` (`core.train.lm_options`) beside it. Events go to
`log` and, one JSON object per line, to `out/lm_training_log.jsonl`.

Data-parallel (`core.train.lm_distributed`): launched by `torchrun` (RANK/WORLD_SIZE/LOCAL_RANK in
the environment) every process trains a DistributedDataParallel copy (gloo on CPU, nccl on CUDA).
The global batch stays `batch_size`: rank r builds rows [r * b / w, (r + 1) * b / w) of each
step's global batch, so the data and the averaged gradients are those of one process with the
whole batch. Only rank 0 tokenises, evaluates, logs and writes files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint import checkpoint_files
from core.errors import BodyLanguageError
from core.lm.batches import collate
from core.lm.config import MINILM_TEXT_SIZE, LMConfig
from core.lm.dataset import (
    TokenizedClip,
    cache_meta,
    default_cache_dir,
    load_tokenized,
    tokenize_corpus,
    tokenizer_fingerprint,
)
from core.lm.task_sampling import TaskSampler, evaluation_examples
from core.lm.tasks import Example, TaskContext
from core.skeleton import PARTS
from core.tokenizers.vocabulary import TASKS, Vocabulary
from core.train import StateSaver, data_folders, progress_bar, run_steps
from core.train.lm_checkpoint import load_state, save_state, save_trained, state_settings
from core.train.lm_distributed import Distributed, data_parallel, setup_distributed
from core.train.lm_evaluation import autocast, evaluate, to_device
from core.train.lm_options import LMTrainConfig, add_arguments, config_from_args

CHECKPOINT_NAME = "lm"
MODEL_DIR_NAME = "model"  # out/model/: the trained model with its tokenizers, for load_model
STATE_NAME = "lm_training"
LOG_NAME = "lm_training_log.jsonl"
TRAIN_SPLIT, TEST_SPLIT = "train", "test"


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


# --- schedule ------------------------------------------------------------------------------------


def learning_rate(step: int, total: int, peak: float, warmup: int) -> float:
    """Linear warm-up to `peak`, then cosine decay to a tenth of it at the last step."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def _stage_at(plan: Sequence[tuple[str, int, int]], step: int) -> str:
    for name, start, stop in plan:
        if start <= step < stop:
            return name
    return plan[-1][0]


def _seed_for(seed: int, *values: int) -> int:
    return int(np.random.SeedSequence([seed, *values]).generate_state(1, np.uint64)[0]) >> 1


# --- training ------------------------------------------------------------------------------------


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
    config: LMTrainConfig,
    data_dirs: str | os.PathLike | Iterable[str | os.PathLike],
    tokenizers_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    device: str = "auto",
    resume: bool = True,
    progress: bool = True,
    cache_dir: str | os.PathLike | None = None,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> LMTrainingReport:
    """Train the language model as `config` says on the corpus folders `data_dirs` with the
    tokenizers in `tokenizers_dir` (motion_tokenizer.* and audio_tokenizer.*); writes
    `out_dir/lm.*`, the resolved config beside it (`out_dir/lm.training.json`, read back with
    `core.train.saved_config.load_config`) and the model folder `out_dir/model`.

    `cache_dir`: where tokenised data is kept (default `out_dir/tokenized`); runs that share it
    tokenise once. `log` receives events: "tokenized", "resume", "step" {step, stage, loss, lr,
    motion_accuracy, token_accuracy}, "eval" {step, metrics}, "saved", "done".
    """
    config = config.resolved()
    roots = data_folders(data_dirs)
    out = Path(out_dir)
    dist = setup_distributed(device)
    try:
        if config.batch_size % dist.world:
            raise BodyLanguageError(
                f"batch_size {config.batch_size} must be a multiple of the {dist.world} processes"
            )
        run = _Run(roots, Path(tokenizers_dir), out,
                   Path(cache_dir) if cache_dir is not None else out / "tokenized", resume,
                   progress, _event_log(out, log or _default_log, dist), dist)
        return _train(config, run)
    finally:
        dist.close()


@dataclass
class _Run:
    """Where a run reads and writes, and where its events go."""

    roots: list[Path]
    tokenizers_dir: Path
    out: Path
    cache_root: Path
    resume: bool
    progress: bool
    emit: Callable[[dict[str, Any]], None]
    dist: Distributed


@dataclass
class _Data:
    """The tokenised clips and what is built from them before the model."""

    train_clips: list[TokenizedClip]
    test_clips: list[TokenizedClip]
    vocab: Vocabulary
    lm_config: LMConfig
    samplers: dict[str, TaskSampler]
    held_out: dict[str, list[Example]]
    skipped: list[str]


def _event_log(out: Path, log: Callable[[dict[str, Any]], None],
               dist: Distributed) -> Callable[[dict[str, Any]], None]:
    """Rank 0's events go to `log` and, one JSON object per line, to out/LOG_NAME; the other
    ranks' nowhere."""
    if not dist.main:
        return lambda event: None
    out.mkdir(parents=True, exist_ok=True)
    log_file = out / LOG_NAME

    def emit(event: dict[str, Any]) -> None:
        with open(log_file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")
        log(event)

    return emit


def _train(config: LMTrainConfig, run: _Run) -> LMTrainingReport:
    data = _load_data(config, run)
    model, optimizer, frozen = _build_model(config, data.lm_config, run)
    fingerprint = tokenizer_fingerprint(run.tokenizers_dir)
    settings = state_settings(config, data.lm_config, fingerprint)
    state_path = run.out / STATE_NAME
    start_step = 0
    if run.resume and checkpoint_files(state_path).config.is_file():
        start_step = load_state(state_path, model, optimizer, frozen, settings, run.dist.device)
        run.emit({"event": "resume", "step": start_step})
    run.dist.barrier()  # every rank has read the state before rank 0 may overwrite it

    def save(step: int) -> None:
        if run.dist.main:
            save_state(state_path, model, optimizer, frozen, step, config.seed, settings)
            run.emit({"event": "saved", "step": step})

    saver = StateSaver(save, start_step, config.save_every_s, config.save_every_steps)
    completed, final_loss = _steps(config, run, data, model, optimizer, saver, start_step)
    metrics: dict[str, float] = {}
    if run.dist.main:
        metrics = _finish(config, run, data, model, fingerprint, completed)
    run.dist.barrier()
    return LMTrainingReport(
        checkpoint=run.out / CHECKPOINT_NAME,
        model_dir=run.out / MODEL_DIR_NAME,
        steps=completed,
        stages={name: [start, stop] for name, start, stop in config.plan()},
        final_loss=final_loss,
        evaluation=metrics,
        train_clips=len(data.train_clips),
        test_clips=len(data.test_clips),
        world_size=run.dist.world,
        skipped=data.skipped,
    )


def _tokenize(run: _Run, caches: Sequence[Path]) -> list[str]:
    """Tokenise every data folder into its cache (rank 0 only); returns the skipped clips."""
    skipped: list[str] = []
    for root, cache in zip(run.roots, caches, strict=True):
        report = tokenize_corpus(root, run.tokenizers_dir, cache, progress=run.progress,
                                 device=str(run.dist.device))
        skipped += report.skipped
        run.emit({"event": "tokenized", "data": str(root), "cache": str(cache),
                  "clips": report.clips, "rebuilt": report.rebuilt,
                  "skipped": len(report.skipped)})
    return skipped


def _load_data(config: LMTrainConfig, run: _Run) -> _Data:
    from core.tokenizers.text import TextTokenizer

    # Tokenise once (rank 0), then every rank reads the caches.
    caches = [default_cache_dir(run.cache_root, root) for root in run.roots]
    skipped = _tokenize(run, caches) if run.dist.main else []
    run.dist.barrier()
    train_clips = load_tokenized(caches, TRAIN_SPLIT)
    if not train_clips:
        raise BodyLanguageError(
            f"no '{TRAIN_SPLIT}' clips in {', '.join(map(str, run.roots))} to train on"
        )
    vocab = _vocabulary(caches)
    lm_config = LMConfig.preset_named(config.preset, vocabulary=vocab.to_config(),
                                      **config.model_overrides)
    ctx = TaskContext.from_config(lm_config, TextTokenizer.load())
    samplers = {name: TaskSampler(train_clips, ctx, name, data_fraction=config.data_fraction,
                                  seed=config.seed)
                for name in {name for name, _, _ in config.plan()}}
    test_clips = load_tokenized(caches, TEST_SPLIT) if run.dist.main else []
    held_out = evaluation_examples(test_clips, ctx, TASKS, config.eval_examples,
                                   config.seed) if test_clips else {}
    return _Data(train_clips, test_clips, vocab, lm_config, samplers, held_out, skipped)


def _build_model(config: LMTrainConfig, lm_config: LMConfig,
                 run: _Run) -> tuple[torch.nn.Module, torch.optim.Optimizer, set[str]]:
    """The seeded model on the run's device, its optimiser, and the names of its frozen
    weights."""
    from core.lm.model import MotionLanguageModel

    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model = MotionLanguageModel(lm_config)
    init_new_rows_from_tokenizers(model, run.tokenizers_dir, config.seed)
    model = model.to(run.dist.device)
    model.train()
    optimizer = _adamw(_parameter_groups(model, config.weight_decay), config.lr)
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    return model, optimizer, frozen


def _steps(config: LMTrainConfig, run: _Run, data: _Data, model: torch.nn.Module,
           optimizer: torch.optim.Optimizer, saver: StateSaver,
           start_step: int) -> tuple[int, float | None]:
    """Train from `start_step` to the config's last step; returns the completed steps and the
    last step's loss (None when no step ran)."""
    dist, plan = run.dist, config.plan()
    trained = data_parallel(model, dist.device) if dist.active else model
    per_rank = config.batch_size // dist.world
    rows = range(dist.rank * per_rank, (dist.rank + 1) * per_rank)
    trainable = [p for p in model.parameters() if p.requires_grad]

    def train_step(step: int) -> tuple[str, Any]:
        stage = _stage_at(plan, step)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config.steps, config.lr,
                                        config.warmup_steps) * group["lr_scale"]
        torch.manual_seed(_seed_for(config.seed, step, dist.rank))  # dropout: same on resume
        batch = to_device(collate(data.samplers[stage].batch(step, rows), data.vocab),
                          dist.device)
        optimizer.zero_grad(set_to_none=True)
        with autocast(dist.device):
            output = trained(batch)
        output.loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        return stage, output

    bar = progress_bar(run.progress and dist.main, config.steps, start_step, "language model")
    final_loss = None

    def after_step(completed: int, result: tuple[str, Any]) -> None:
        nonlocal final_loss
        stage, output = result
        final_loss = dist.mean(float(output.loss.detach()))
        event = {"event": "step", "step": completed, "stage": stage, "loss": final_loss,
                 "lr": optimizer.param_groups[0]["lr"]}
        if output.motion_accuracy is not None:
            event["motion_accuracy"] = output.motion_accuracy
        if output.token_accuracy is not None:
            event["token_accuracy"] = output.token_accuracy
        run.emit(event)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(stage=stage, loss=f"{final_loss:.3f}")
        if (dist.main and data.held_out and config.eval_every
                and completed % config.eval_every == 0
                and completed < config.steps):  # the last step gets the final evaluation
            run.emit({"event": "eval", "step": completed,
                      **evaluate(model, data.held_out, data.vocab, dist.device, per_rank or 1)})

    state_file = checkpoint_files(run.out / STATE_NAME).config
    completed = run_steps(start_step, config.steps, train_step, after_step, saver, state_file,
                          bar)
    return completed, final_loss


def _finish(config: LMTrainConfig, run: _Run, data: _Data, model: torch.nn.Module,
            fingerprint: dict[str, Any], completed: int) -> dict[str, float]:
    """Rank 0 at the end: the final evaluation, the checkpoint with its config, the model
    folder. Returns the held-out metrics."""
    metrics: dict[str, float] = {}
    if data.held_out:
        metrics = evaluate(model, data.held_out, data.vocab, run.dist.device,
                           config.batch_size // run.dist.world or 1)
        run.emit({"event": "eval", "step": completed, **metrics})
    checkpoint = run.out / CHECKPOINT_NAME
    save_trained(checkpoint, run.out / MODEL_DIR_NAME, model, config, run.tokenizers_dir,
                 fingerprint, completed, run.dist.world, run.roots, len(data.train_clips),
                 metrics)
    run.emit({"event": "done", "step": completed, "checkpoint": str(checkpoint),
              "model": str(run.out / MODEL_DIR_NAME)})
    return metrics


# --- command line ---------------------------------------------------------------------------------


def run_from_args(args: argparse.Namespace) -> LMTrainingReport:
    report = train_lm(config_from_args(args), args.data, args.tokenizers, args.out,
                      device=args.device, resume=not args.no_resume, progress=not args.quiet,
                      cache_dir=args.cache)
    if int(os.environ.get("RANK", "0")) == 0:
        summary = {k: v for k, v in asdict(report).items() if k != "skipped"}
        print(json.dumps(summary, default=str, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    """`python -m core.train.lm ...` (also under torchrun for data-parallel training)."""
    from core.cli import exit_code

    parser = argparse.ArgumentParser(prog="python -m core.train.lm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return exit_code(lambda: run_from_args(args))


if __name__ == "__main__":
    sys.exit(main())
