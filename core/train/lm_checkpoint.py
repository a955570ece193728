"""The LM trainer's files: the resumable state (weights without the frozen ones, optimiser, step),
checked on resume against the settings it was made with, and a finished run's checkpoint with
its training config beside it and its model folder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from core.checkpoint import checkpoint_files, load_training_state, save_training_state
from core.errors import BodyLanguageError
from core.lm.config import LMConfig
from core.lm.tasks import PRETRAIN_TASKS
from core.train.lm_options import LMTrainConfig
from core.train.saved_config import save_config


def state_settings(config: LMTrainConfig, lm_config: LMConfig,
                   tokenizers: dict[str, Any]) -> dict[str, Any]:
    """What a resumable state must have been made with to be resumed by this run (the keys of
    states written before, so those still resume)."""
    return {
        "lm": lm_config.to_dict(),
        "batch_size": config.batch_size,
        "plan": [list(p) for p in config.plan()],
        "data_fraction": config.data_fraction,
        "pretrain": config.pretrain,
        "seed": config.seed,
        "lr": config.lr,
        "warmup_steps": config.warmup_steps,
        "tokenizers": tokenizers,
    }


def load_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               frozen: set[str], settings: dict[str, Any], device: torch.device) -> int:
    """Load the state at `path` into `model` and `optimizer`; returns its step. The frozen
    weights are not in a state: they came with the model."""
    state = load_training_state(path)
    differing = sorted(k for k in settings if state.config.get(k) != settings[k])
    if differing:
        raise BodyLanguageError(
            f"training state was made with other settings ({', '.join(differing)}); use "
            f"another output folder or resume=False", checkpoint_files(path).config
        )
    missing, unexpected = model.load_state_dict(
        {k: v.to(device) for k, v in state.model_state.items()}, strict=False)
    if unexpected or set(missing) != frozen:
        lacking = sorted(set(missing) - frozen)[:3]
        raise BodyLanguageError(
            f"training state does not fit the model (missing {lacking}, unexpected "
            f"{unexpected[:3]})", checkpoint_files(path).config
        )
    optimizer.load_state_dict(state.optimizer_state)
    return state.step


def save_state(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               frozen: set[str], step: int, seed: int, settings: dict[str, Any]) -> None:
    # Frozen weights (MiniLM's word-piece rows) come from the package on every start: the
    # state leaves them out (~47 MB in float32 for the default preset).
    weights = {k: v for k, v in model.state_dict().items() if k not in frozen}
    save_training_state(path, weights, optimizer.state_dict(), step, {"seed": seed}, settings)


def save_trained(
    checkpoint: Path, model_dir: Path, model: Any, config: LMTrainConfig, tokenizers_dir: Path,
    tokenizers: dict[str, Any], steps: int, world_size: int, roots: Sequence[Path],
    train_clips: int, metrics: dict[str, float],
) -> None:
    """The trained model as `checkpoint` (its training in the metadata, `config` beside it in
    `<checkpoint>.training.json`) and as the model folder `model_dir`."""
    model.save(checkpoint, metadata={
        "tokenizers": tokenizers,
        "training": {
            "preset": config.preset,
            "steps": steps,
            "stages": {name: [start, stop] for name, start, stop in config.plan()},
            "batch_size": config.batch_size,
            "lr": config.lr,
            "data_fraction": config.data_fraction,
            "pretrain": config.pretrain,
            "seed": config.seed,
            "world_size": world_size,
            "data": [str(root.resolve()) for root in roots],
            "train_clips": train_clips,
            "pretrain_tasks": list(PRETRAIN_TASKS),
        },
        "evaluation": metrics,
    })
    save_config(checkpoint, config)
    write_model_folder(model_dir, model, tokenizers_dir, config.preset)


def write_model_folder(
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
