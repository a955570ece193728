"""Held-out evaluation of the language model during and after training, and the device
helpers it shares with the training step (autocast, moving a batch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from core.lm.batches import collate
from core.lm.tasks import Example
from core.tokenizers.vocabulary import Vocabulary


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
                batch = to_device(collate(chunk, vocab), device)
                with autocast(device):
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


def autocast(device: torch.device) -> Any:
    # bf16 needs no loss scaling; CPU autocast would be slower than float32 on most CPUs.
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def to_device(batch: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {name: tensor.to(device, non_blocking=True) for name, tensor in batch.items()}
