"""Training the masked motion model (core/lm/masked.py) on a tokenised corpus, resumably.

    trainer = MaskedTrainer(TrainConfig(...), clips, out_dir)
    trainer.run(until_step, on_checkpoint)     # resumes from out_dir/state.* when it is there

A training row is one window of one clip: its codes, the audio units of the same span, the clip's
prompt (its action description; none for speech-only clips) and emotion. Each condition is dropped
on its own (and all together now and then) so the model also learns the answer without it, which
classifier-free guidance needs. What is hidden, per row:
  random codes     a share cos(u * pi / 2), u ~ U(0, 1), of all steps x parts (MaskGIT / MoMask)
  whole parts      one to three parts hidden, the rest shown (editing a part)
  a time span      every part of a stretch of steps (in-betweening, editing frames)
The clock that matters here is CPU time: `cpu_seconds` in the state counts the process CPU time
spent training (evaluation excluded), so curves from a loaded machine stay comparable.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint import checkpoint_files, load_training_state, save_training_state
from core.corpus.listener import ALL_PHRASES as LISTEN_PHRASES
from core.devices import pick_device
from core.errors import BodyLanguageError
from core.lm.dataset import AUDIO_PER_STEP, STEP_ALIGNMENT, TokenizedClip
from core.lm.masked import (
    Conditions,
    MaskedMotionModel,
    PromptEncoder,
    build_model,
    cosine_hidden_share,
    init_code_embeddings,
    masked_loss,
)
from core.lm.mouth import CHANNELS as MOUTH_CHANNELS
from core.lm.mouth import track_statistics
from core.skeleton import PARTS
from core.train.masked_options import TrainConfig, config_from_args

STATE_NAME = "state"
LOG_NAME = "train_log.jsonl"


@dataclass
class Batch:
    codes: torch.Tensor  # (B, W, 4)
    hidden: torch.Tensor  # (B, W, 4) bool
    valid: torch.Tensor  # (B, W) bool
    conditions: Conditions
    emotion_targets: torch.Tensor  # (B,) -1 where not trained
    mouth: torch.Tensor | None  # (B, W * 4, C) true mouth track, NaN where there is none


class WindowSampler:
    """Training rows from clips, deterministic per (seed, step)."""

    def __init__(self, clips: Sequence[TokenizedClip], emotions: Sequence[str], window: int,
                 null_audio: int, prompts: PromptEncoder, config: TrainConfig,
                 mouth: dict[str, np.ndarray] | None = None, frames_per_step: int = 4) -> None:
        if not clips:
            raise BodyLanguageError("no training clips")
        self.clips = list(clips)
        self.emotions = {name: index for index, name in enumerate(emotions)}
        self.window = window
        self.null_audio = null_audio
        self.prompts = prompts
        self.config = config
        self.prompted = np.array([i for i, c in enumerate(self.clips) if c.description])
        self.mouth = mouth
        self.frames_per_step = frames_per_step

    def _clip(self, rng: np.random.Generator) -> TokenizedClip:
        if self.prompted.size and rng.random() < self.config.prompt_rows:
            return self.clips[int(self.prompted[rng.integers(self.prompted.size)])]
        return self.clips[int(rng.integers(len(self.clips)))]

    def _window(self, clip: TokenizedClip, rng: np.random.Generator):
        w = self.window
        last = max(0, clip.steps - w)
        # The corpus performs an action from its clip's start (as the action judge assumes), so a
        # prompted window starts there; elsewhere the prompt would name motion outside the window.
        start = 0 if clip.description else int(rng.integers(last // STEP_ALIGNMENT + 1)) * \
            STEP_ALIGNMENT
        codes = np.full((w, len(PARTS)), -1, np.int64)
        part = clip.codes[start:start + w]
        codes[: len(part)] = part
        units = int(w * AUDIO_PER_STEP)
        audio = np.full(units, self.null_audio, np.int64)
        if clip.has_audio:
            a0 = int(start * AUDIO_PER_STEP)
            got = clip.audio[a0:a0 + units]
            audio[: got.size] = got
        return codes, audio, len(part), start

    def _hidden(self, steps: int, rng: np.random.Generator) -> np.ndarray:
        w, p = self.window, len(PARTS)
        hidden = np.zeros((w, p), bool)
        mode = rng.random()
        if mode < self.config.part_masking:
            count = int(rng.integers(1, p))
            hidden[:, rng.choice(p, count, replace=False)] = True
        elif mode < self.config.part_masking + self.config.span_masking:
            length = int(rng.integers(max(1, steps // 6), max(2, steps // 2) + 1))
            start = int(rng.integers(0, max(1, steps - length + 1)))
            hidden[start:start + length] = True
        else:
            u = rng.random()
            share = u if self.config.mask_schedule == "uniform" else \
                float(cosine_hidden_share(torch.tensor(u)))
            hidden = rng.random((w, p)) < share
        hidden[steps:] = False
        if not hidden[:steps].any():
            hidden[int(rng.integers(steps)), int(rng.integers(p))] = True
        return hidden

    def batch(self, step: int) -> Batch:
        rng = np.random.default_rng([self.config.seed, step])
        c = self.config
        rows = [self._row(rng, c) for _ in range(c.batch)]
        codes, hidden, valid, audio, texts, emotion, target, mouth = zip(*rows, strict=True)
        states, mask = self.prompts(list(texts))
        conditions = Conditions(torch.from_numpy(np.stack(audio)), states, mask,
                                torch.tensor(emotion))
        return Batch(torch.from_numpy(np.stack(codes)), torch.from_numpy(np.stack(hidden)),
                     torch.from_numpy(np.stack(valid)), conditions, torch.tensor(target),
                     None if self.mouth is None else torch.from_numpy(np.stack(mouth)))

    def _mouth(self, clip: TokenizedClip, start: int) -> np.ndarray | None:
        if self.mouth is None:
            return None
        frames = self.window * self.frames_per_step
        out = np.full((frames, MOUTH_CHANNELS), np.nan, np.float32)
        track = self.mouth.get(clip.id)
        if track is not None:
            got = track[start * self.frames_per_step:][:frames]
            out[: len(got)] = got
        return out

    def _row(self, rng: np.random.Generator, c: TrainConfig) -> tuple:
        clip = self._clip(rng)
        codes, audio, steps, start = self._window(clip, rng)
        hidden = self._hidden(steps, rng)
        valid = np.arange(self.window) < steps
        text = clip.description or ""
        emotion = self.emotions.get(clip.emotion or "", len(self.emotions))
        drop_all = rng.random() < c.drop_all
        if drop_all or rng.random() < c.drop_prompt:
            text = ""
            if clip.description in LISTEN_PHRASES:
                # A listener answers someone else's voice: unasked, that voice would teach the
                # model to keep its mouth shut over speech. Without the request it hears nothing
                # and stands idle, which is what silence teaches anyway.
                audio = np.full_like(audio, self.null_audio)
        drop_emotion = drop_all or rng.random() < c.drop_emotion
        # The emotion head learns to read emotion from motion where the emotion is not given;
        # half of those rows also lose the audio, so it cannot lean on the voice alone.
        if drop_all or rng.random() < c.drop_audio or (drop_emotion and rng.random() < 0.5):
            audio = np.full_like(audio, self.null_audio)
        target = emotion if drop_emotion and emotion < len(self.emotions) else -1
        if drop_emotion:
            emotion = len(self.emotions)
        return codes, hidden, valid, audio, text, emotion, target, self._mouth(clip, start)


def learning_rate(config: TrainConfig, step: int) -> float:
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = min(1.0, (step - config.warmup) / max(1, config.steps - config.warmup))
    floor = config.lr_floor
    return config.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


class MaskedTrainer:
    """One resumable run: model, optimizer, step and the CPU seconds spent so far."""

    def __init__(self, config: TrainConfig, clips: Sequence[TokenizedClip],
                 codebook_sizes: Sequence[int], audio_units: int, emotions: Sequence[str],
                 out_dir: str | os.PathLike, mouth: dict[str, np.ndarray] | None = None,
                 device: str | torch.device = "cpu",
                 codebooks: Sequence[torch.Tensor] | None = None,
                 **model_overrides: Any) -> None:
        torch.set_num_threads(config.threads)
        self.device = pick_device(device)
        self.config = config
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(config.seed)
        self.model = build_model(codebook_sizes, audio_units, emotions, config.preset,
                                 **model_overrides)
        if config.code_init and codebooks is not None:
            init_code_embeddings(self.model, codebooks, config.seed)  # a resumed run overwrites it
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr,
                                           betas=(0.9, 0.98), weight_decay=config.weight_decay)
        if mouth:
            mean, std = track_statistics(list(mouth.values()))
            self.model.mouth_mean.copy_(torch.from_numpy(mean))
            self.model.mouth_std.copy_(torch.from_numpy(std))
        self.model.to(self.device)
        self.prompts = PromptEncoder(self.model.config.prompt_tokens,
                                     self.model.config.sentence_token)
        self.sampler = WindowSampler(clips, emotions, self.model.config.window_steps,
                                     self.model.null_audio, self.prompts, config, mouth,
                                     self.model.config.frames_per_step)
        self.step = 0
        self.cpu_seconds = 0.0
        self._resume()

    def _resume(self) -> None:
        files = checkpoint_files(self.out / STATE_NAME)
        if not files.config.exists():
            return
        state = load_training_state(self.out / STATE_NAME)
        saved = state.config.get("train", {})
        if saved and saved != self.config.to_dict():
            raise BodyLanguageError(f"{self.out} holds a run with another configuration; use "
                                    "another folder", self.out)
        self.model.load_state_dict(state.model_state)
        self.model.to(self.device)
        self.optimizer.load_state_dict(state.optimizer_state)
        self.step = state.step
        self.cpu_seconds = float(state.config.get("cpu_seconds", 0.0))

    def save_state(self) -> None:
        save_training_state(self.out / STATE_NAME, self.model.state_dict(),
                            self.optimizer.state_dict(), self.step, {},
                            {"train": self.config.to_dict(), "cpu_seconds": self.cpu_seconds,
                             "model": self.model.config.to_dict()})

    def train_step(self) -> dict[str, float]:
        batch = self.sampler.batch(self.step)
        torch.manual_seed(self.config.seed * 1_000_003 + self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.config, self.step)
        self.model.train()
        to = self.device
        conditions = Conditions(batch.conditions.audio.to(to), batch.conditions.prompt.to(to),
                                batch.conditions.prompt_mask.to(to),
                                batch.conditions.emotion.to(to))
        loss, stats = masked_loss(self.model, batch.codes.to(to), batch.hidden.to(to),
                                  batch.valid.to(to), conditions, batch.emotion_targets.to(to),
                                  None if batch.mouth is None else batch.mouth.to(to))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.step += 1
        return {"loss": float(loss.detach()), **stats}

    def run(self, until_step: int, every_cpu_s: float | None = None,
            on_checkpoint: Callable[[MaskedTrainer], None] | None = None,
            max_cpu_s: float | None = None) -> None:
        """Train to `until_step` (or `max_cpu_s` CPU seconds); call `on_checkpoint` every
        `every_cpu_s` CPU seconds of training (its own time is not counted)."""
        last_save = time.monotonic()
        next_check = (math.floor(self.cpu_seconds / every_cpu_s) + 1) * every_cpu_s \
            if every_cpu_s else math.inf
        log = open(self.out / LOG_NAME, "a", encoding="utf-8")
        try:
            while self.step < until_step and (max_cpu_s is None or self.cpu_seconds < max_cpu_s):
                began = time.process_time()
                stats = self.train_step()
                self.cpu_seconds += time.process_time() - began
                if self.step % 10 == 0:
                    log.write(json.dumps({"step": self.step, "cpu_s": round(self.cpu_seconds, 1),
                                          **{k: round(v, 4) for k, v in stats.items()}}) + "\n")
                    log.flush()
                if time.monotonic() - last_save > self.config.save_every_s:
                    self.save_state()
                    last_save = time.monotonic()
                if self.cpu_seconds >= next_check:
                    self.save_state()
                    if on_checkpoint is not None:
                        on_checkpoint(self)
                    next_check += every_cpu_s
        finally:
            log.close()
        self.save_state()


def codebooks(motion_tokenizer: Any) -> list[torch.Tensor]:
    """The motion tokenizer's codebook of each part, PARTS order (for `code_init`)."""
    return [motion_tokenizer.models[part].quantizer.codebook for part in PARTS]


def model_of(trainer: MaskedTrainer) -> MaskedMotionModel:
    return trainer.model


# --- python -m core train masked -----------------------------------------------------------------


def train_masked(data_dir: str | os.PathLike, tokenizers_dir: str | os.PathLike,
                 out_dir: str | os.PathLike, config: TrainConfig, max_cpu_min: float,
                 device: str = "cpu", progress: bool = True) -> Path:
    """Train (or resume) on a corpus with the tokenizers of `tokenizers_dir` for at most
    `max_cpu_min` CPU-minutes (on a GPU: the process's CPU time, a bound on the run) and write
    a model folder `out_dir/model` that core.api.load_model reads. Returns that folder."""
    from core.api import save_model_bundle
    from core.lm.dataset import default_cache_dir, load_tokenized, tokenize_corpus
    from core.lm.mouth import load_mouth_tracks
    from core.tokenizers.audio import AudioTokenizer
    from core.tokenizers.motion_vqvae import MotionTokenizer

    pick_device(device)  # a GPU that is not there is named before minutes of tokenising
    out = Path(out_dir)
    cache = default_cache_dir(out, data_dir)
    tokenize_corpus(data_dir, tokenizers_dir, cache, progress=progress)
    clips = load_tokenized(cache, "train")
    motion_tokenizer = MotionTokenizer.load(Path(tokenizers_dir) / "motion_tokenizer")
    audio_tokenizer = AudioTokenizer.load(Path(tokenizers_dir) / "audio_tokenizer")
    mouth = load_mouth_tracks(data_dir, [c.id for c in clips], cache / "mouth_train.npz")
    from core.emotions import EMOTIONS

    trainer = MaskedTrainer(config, clips, [motion_tokenizer.codebook_size(p) for p in PARTS],
                            audio_tokenizer.num_units, EMOTIONS, out, mouth, device,
                            codebooks(motion_tokenizer))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=round(max_cpu_min, 1), unit="cpu-min", file=sys.stderr,
                   initial=round(trainer.cpu_seconds / 60, 1))

    def report(t: MaskedTrainer) -> None:
        if bar is not None:
            bar.n = round(t.cpu_seconds / 60, 1)
            bar.set_postfix(step=t.step)
            bar.refresh()

    trainer.run(config.steps, 30.0, report, max_cpu_min * 60)
    if bar is not None:
        bar.close()
    folder = out / "model"
    save_model_bundle(folder, trainer.model.eval().cpu(), motion_tokenizer, audio_tokenizer,
                      name=out.name, metadata={"steps": trainer.step,
                                               "cpu_minutes": round(trainer.cpu_seconds / 60, 1),
                                               "train": config.to_dict()},
                      dtype=torch.float16)
    return folder


def run_from_args(args: argparse.Namespace) -> Path:
    config = config_from_args(args)
    if not math.isfinite(args.max_cpu_min) or args.max_cpu_min <= 0:
        raise BodyLanguageError(f"--max-cpu-min must be a positive number, got "
                                f"{args.max_cpu_min}")
    folder = train_masked(args.data, args.tokenizers, args.out, config, args.max_cpu_min,
                          args.device, not args.quiet)
    print(f"model written to {folder}")
    return folder
