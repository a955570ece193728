"""Audio -> full-body Motion through core.api.generate: seconds and peak memory.

    .venv/bin/python bench/bench_generate.py [--seconds 60] [--long 600] [--device all]
                                             [--windowing two_pass,sequential]

Uses the shipped model (core/checkpoints/default/) when it is there, else the default
configuration with random weights (MiniLM encoder, 512-code motion tokenizer, 512-unit audio
tokenizer): speed does not depend on what the weights learned. Each clip is generated once to warm
up and then timed. Wall time is printed with the process's CPU time beside it, since on a shared
machine wall time includes waiting for other jobs. Memory: the process's peak resident set
(getrusage; it only ever rises, so later rows include earlier ones), the peak of Python/numpy
allocations during the call (tracemalloc), and on CUDA the peak GPU allocation.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core import api  # noqa: E402
from core.errors import BodyLanguageError  # noqa: E402
from core.lm import LMConfig, MotionLanguageModel  # noqa: E402
from core.lm.config import MINILM_TEXT_SIZE  # noqa: E402
from core.skeleton import PARTS  # noqa: E402
from core.tokenizers.audio import AudioTokenizer  # noqa: E402
from core.tokenizers.motion_vqvae import MotionTokenizer, part_config  # noqa: E402
from core.tokenizers.text import TextTokenizer, minilm_dir  # noqa: E402
from core.tokenizers.vocabulary import Vocabulary  # noqa: E402
from core.train.motion_tokenizer import CONFIGS  # noqa: E402
from core.validate import MANIFEST_NAME  # noqa: E402

SAMPLE_RATE = 16000


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise shaped by a syllable-rate envelope with pauses: tokenizes like speech would."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) * (np.sin(2 * np.pi * 0.2 * t) > -0.5)
    carrier = np.sin(2 * np.pi * 140 * t) + 0.3 * rng.standard_normal(n)
    return (0.3 * envelope * carrier).astype(np.float32)


def random_default_model(device: torch.device, text_dir: str | None) -> api.BodyLanguageModel:
    torch.manual_seed(0)
    motion = MotionTokenizer.create(
        {part: part_config(part, **CONFIGS["default"].model) for part in PARTS}
    )
    for model in motion.models.values():
        with torch.no_grad():
            model.quantizer.codebook.normal_()
    audio = AudioTokenizer(512)
    audio.fit_features([audio.features(speech_like(60, 1), SAMPLE_RATE)], steps=20,
                       refine_iterations=2)
    vocab = Vocabulary(MINILM_TEXT_SIZE, 512, {part: 512 for part in PARTS})
    overrides = {"vocabulary": vocab.to_config(), "dropout": 0.0}
    name = "random default"
    try:
        minilm_dir()
    except BodyLanguageError:
        # Same shapes without the MiniLM package (e.g. a GPU machine that cannot install it).
        overrides.update(encoder_init="random", decoder_init="random",
                         freeze_text_embeddings=False)
        name += ", no MiniLM weights"
    lm = MotionLanguageModel(LMConfig.default(**overrides))
    return api.BodyLanguageModel(
        lm.to(device).eval(), motion.to(device).eval(), audio, TextTokenizer.load(text_dir),
        device, name=name, max_rows=api.MAX_ROWS[device.type],
    )


def load(device: str, text_dir: str | None = None,
         folder: str | None = None) -> api.BodyLanguageModel:
    if folder is not None:
        return api.load_model(folder, device=device)
    if (api.DEFAULT_MODEL_DIR / MANIFEST_NAME).is_file():
        return api.load_model(device=device)
    resolved = api.resolve_device(device)
    if resolved.type == "cpu":
        torch.set_num_threads(api.cpu_threads())
    return random_default_model(resolved, text_dir)


def timed(model: api.BodyLanguageModel, audio: np.ndarray, windowing: str) -> tuple:
    if model.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    motion = api.generate(model, audio, SAMPLE_RATE, seed=0,
                          windowing="two_pass" if windowing == "masked" else windowing)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    gpu_peak = torch.cuda.max_memory_allocated() if model.device.type == "cuda" else 0
    return motion, wall, cpu, python_peak, gpu_peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="clip length")
    parser.add_argument("--long", type=float, default=0.0,
                        help="also time a long clip of this many seconds (e.g. 600)")
    parser.add_argument("--device", default="all", help="cpu, cuda, auto or all (cpu + cuda)")
    parser.add_argument("--windowing", default="two_pass,sequential",
                        help="comma-separated: two_pass, sequential, independent")
    parser.add_argument("--model", default=None,
                        help="a model folder to time (default: the shipped one)")
    parser.add_argument("--text-tokenizer", default=None,
                        help="folder with MiniLM's vocab.txt (default: the installed package)")
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) \
        if args.device == "all" else [args.device]
    lengths = [args.seconds] + ([args.long] if args.long else [])
    for device in devices:
        started = time.perf_counter()
        model = load(device, args.text_tokenizer, args.model)
        print(f"{device}: {model.name} ({model.config_name}) loaded in "
              f"{time.perf_counter() - started:.1f} s, torch threads {torch.get_num_threads()}")
        api.generate(model, speech_like(12.0), SAMPLE_RATE)  # warm-up
        for seconds in lengths:
            audio = speech_like(seconds, seed=int(seconds))
            # The masked model writes every window in a few parallel passes: no windowing choice.
            schemes = ["masked"] if model.masked is not None else args.windowing.split(",")
            for windowing in schemes:
                motion, wall, cpu, python_peak, gpu_peak = timed(model, audio, windowing)
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                gpu = f", GPU peak {gpu_peak / 2**20:7.1f} MiB" if gpu_peak else ""
                print(f"  {seconds:6.0f} s audio  {windowing:11s} -> {motion.num_frames:6d} "
                      f"frames in {wall:7.2f} s wall ({cpu:7.2f} s CPU); peak RSS "
                      f"{rss:7.1f} MiB, Python peak {python_peak / 2**20:6.1f} MiB{gpu}",
                      flush=True)


if __name__ == "__main__":
    main()
