"""Data-parallel LM training: one process per rank when launched by `torchrun`
(RANK/WORLD_SIZE/LOCAL_RANK in the environment), gloo on CPU and nccl on CUDA; a single process
otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from core.devices import pick_device
from core.errors import BodyLanguageError


@dataclass
class Distributed:
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


def setup_distributed(device: str) -> Distributed:
    """One process per rank when torchrun (or a test) set WORLD_SIZE > 1; else a single one."""
    picked = pick_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed(device=picked)
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
    return Distributed(torch.distributed.get_rank(), torch.distributed.get_world_size(), picked,
                       created)


def data_parallel(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    import inspect

    DDP = torch.nn.parallel.DistributedDataParallel
    # The model's buffers are constants: syncing them before every forward is wasted traffic.
    # Newer torch renamed the switch (and warns about the old name).
    no_sync = ({"forward_sync_buffers": False}
               if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters
               else {"broadcast_buffers": False})
    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None, **no_sync)
