"""What a masked-model training run is decided by, and its command-line options: torch-free, so
`python -m core` lists its commands without loading torch."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    """Everything a masked training run is decided by; saved with its state."""

    preset: str = "cpu"
    batch: int = 48
    lr: float = 1.5e-3
    warmup: int = 100
    steps: int = 6000  # the schedule's length (cosine decay to lr_floor)
    lr_floor: float = 0.1
    weight_decay: float = 0.01
    drop_prompt: float = 0.15
    drop_audio: float = 0.15
    drop_emotion: float = 0.15
    drop_all: float = 0.10
    part_masking: float = 0.15  # share of rows hiding whole parts
    span_masking: float = 0.15  # share of rows hiding a time span
    prompt_rows: float = 0.0  # extra share of rows drawn from clips with a prompt (0: uniform)
    # How the hidden share of a row is drawn: "cosine" (MaskGIT: cos(u * pi / 2), mean 0.64) or
    # "uniform" (u, mean 0.5: more rows with most codes shown, where copying neighbours pays).
    mask_schedule: str = "cosine"
    # Code embeddings start as a random projection of the motion tokenizer's codebooks, so codes
    # of similar poses start near each other (lower loss from the first steps).
    code_init: bool = True
    seed: int = 0
    threads: int = 2
    save_every_s: float = 240.0  # wall seconds between resumable states

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m core train masked`."""
    parser.add_argument("--data", required=True, help="corpus folder (BEAT2 layout)")
    parser.add_argument("--tokenizers", required=True,
                        help="folder with motion_tokenizer.* and audio_tokenizer.*")
    parser.add_argument("--out", required=True, help="run folder: state, log and model/")
    parser.add_argument("--max-cpu-min", type=float, default=150.0,
                        help="stop after this much process CPU time (minutes)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--quiet", action="store_true")
    for spec in fields(TrainConfig):
        kind = _switch if isinstance(spec.default, bool) else type(spec.default)
        parser.add_argument(f"--{spec.name.replace('_', '-')}", type=kind, default=spec.default)


def _switch(text: str) -> bool:
    """true/false (yes/no, 1/0) for a boolean option; bool("false") would be True."""
    value = text.strip().lower()
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
