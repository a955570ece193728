"""Train the four part VQ-VAEs of the motion tokenizer, and measure what their tokens keep.

    train_motion_tokenizer(["corpus/"], "out/")   ->  out/motion_tokenizer.{json,safetensors}

Clips of the "train" split are loaded once into memory as part features; every step draws random
windows (the same windows for all four parts) and trains the four models jointly. Every
`eval_every` steps the tokenizer is measured on the "test" split. A resumable training state
(weights, optimizer, step) is written every `save_every_s` seconds, every `save_every_steps`
steps, on Ctrl-C and at the end; a later call with the same `out_dir` continues from it.

Randomness is drawn from generators seeded by (seed, step), so a resumed run draws exactly the
windows and codebook restarts the uninterrupted run would have drawn.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint import checkpoint_files, load_training_state, save_training_state
from core.devices import pick_device
from core.errors import BodyLanguageError
from core.io.beat2 import read_motion_npz
from core.motion import Motion
from core.rotations import axis_angle_to_matrix
from core.skeleton import PART_JOINTS, PARTS, forward_kinematics
from core.tokenizers.motion_features import FeatureStats, assemble, motion_features
from core.tokenizers.motion_vqvae import (
    FRAMES_PER_TOKEN,
    MotionTokenizer,
    MotionVQVAEConfig,
    part_config,
)
from core.train import StateSaver, data_folders, progress_bar, run_steps
from core.train.saved_config import save_config

TOKENIZER_NAME = "motion_tokenizer"
STATE_NAME = "motion_tokenizer_training"
BODY_JOINTS = tuple(range(22))  # pelvis to wrists: what "body" means in the error figures
FINGER_JOINTS = PART_JOINTS["hands"]
SEAM_WINDOW_TOKENS = 16  # windows of 64 frames (~2 s) when measuring seams


@dataclass(frozen=True)
class TrainingConfig:
    """How to train: model shape (overrides of every part's MotionVQVAEConfig), schedule and
    seed; saved beside the trained tokenizer (`motion_tokenizer.training.json`)."""

    name: str
    steps: int
    batch_size: int
    window_frames: int
    learning_rate: float
    warmup_steps: int
    eval_every: int
    eval_clips: int  # held-out clips measured at each periodic evaluation (all at the end)
    model: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    save_every_s: float = 300.0  # wall seconds between resumable states
    save_every_steps: int | None = None  # also every this many steps, when set


CONFIGS: dict[str, TrainingConfig] = {
    # Trains in seconds on a CPU; for tests.
    "tiny": TrainingConfig(
        name="tiny", steps=80, batch_size=8, window_frames=32, learning_rate=3e-3,
        warmup_steps=10, eval_every=0, eval_clips=4,
        model={"codebook_size": 32, "code_dim": 16, "width": 32, "depth": 1,
               "dead_code_steps": 10},
    ),
    # The shipped tokenizer. Code counts and code widths follow the paper's recommendation; the
    # conv width is a quarter of the usual 256 so that the four parts train on a 2-core CPU in
    # about half an hour and encode+decode a minute of motion in well under half a second.
    "default": TrainingConfig(
        name="default", steps=4000, batch_size=16, window_frames=64, learning_rate=2e-3,
        warmup_steps=100, eval_every=1000, eval_clips=24,
        model={"codebook_size": 512, "width": 64, "depth": 3, "dead_code_steps": 100},
    ),
}


def training_config(name: str, **overrides: Any) -> TrainingConfig:
    """The preset `name` with some of its fields replaced (None keeps the preset's value):
    `training_config("tiny", steps=20, seed=1)`."""
    if name not in CONFIGS:
        raise BodyLanguageError(f"unknown motion tokenizer config {name!r}; "
                                f"expected one of {sorted(CONFIGS)}")
    unknown = sorted(set(overrides) - {spec.name for spec in fields(TrainingConfig)})
    if unknown:
        raise BodyLanguageError(f"motion tokenizer configs have no {', '.join(unknown)}")
    return replace(CONFIGS[name], **{k: v for k, v in overrides.items() if v is not None})


def _check(config: TrainingConfig) -> None:
    for key in ("steps", "batch_size", "window_frames", "eval_every"):
        value = getattr(config, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (
                key != "eval_every" and value == 0):
            raise BodyLanguageError(f"{key} must be a positive integer, got {value!r}")
    if config.window_frames % FRAMES_PER_TOKEN:
        raise BodyLanguageError(
            f"window_frames must be a multiple of {FRAMES_PER_TOKEN}, got {config.window_frames}")


def part_configs(config: TrainingConfig, face_space: str) -> dict[str, MotionVQVAEConfig]:
    """Each part's model config: the part's recommended defaults, then the training config's."""
    return {part: part_config(part, face_space, **config.model) for part in PARTS}


# --- data ---------------------------------------------------------------------------------------


def load_motions(
    data_dirs: str | os.PathLike | Iterable[str | os.PathLike],
    split: str,
    fps: float = 30.0,
    max_clips: int | None = None,
) -> list[tuple[str, Motion]]:
    """(path, motion) of every clip of `split` in the folders, resampled to `fps`."""
    # Imported here: the corpus package pulls in the audio stack, which evaluating or using a
    # trained tokenizer does not need.
    from core.corpus.layout import iter_corpus

    motions = []
    for root in data_folders(data_dirs):
        for entry in iter_corpus(root, split):
            if max_clips is not None and len(motions) >= max_clips:
                return motions
            motion = read_motion_npz(entry.npz)
            if motion.fps != fps:
                motion = motion.resample(fps)
            motions.append((str(entry.npz), motion))
    return motions


def common_face_space(motions: Sequence[tuple[str, Motion]]) -> str:
    """The one face space of all clips, or an error naming a clip that differs."""
    if not motions:
        raise BodyLanguageError("no clips to read the face space from")
    first_path, first = motions[0]
    for path, motion in motions[1:]:
        if motion.face_space != first.face_space:
            raise BodyLanguageError(
                f"face space {motion.face_space!r} differs from {first.face_space!r} of "
                f"{first_path}; one tokenizer reads one face space", path
            )
    return first.face_space


class WindowSampler:
    """Random fixed-length windows of the clips' part features, drawn from a given generator."""

    def __init__(self, clips: list[dict[str, np.ndarray]], window_frames: int) -> None:
        if not clips:
            raise BodyLanguageError("no training clips")
        self.clips = clips
        self.window = window_frames
        lengths = np.array([len(clip["lower"]) for clip in clips], np.float64)
        self.weights = lengths / lengths.sum()  # longer clips hold more windows

    def batch(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        picked: dict[str, list[np.ndarray]] = {part: [] for part in PARTS}
        for index in rng.choice(len(self.clips), size=size, p=self.weights):
            clip = self.clips[int(index)]
            frames = len(clip["lower"])
            start = int(rng.integers(0, max(1, frames - self.window + 1)))
            for part in PARTS:
                window = clip[part][start : start + self.window]
                if len(window) < self.window:  # short clip: hold its last frame
                    pad = np.repeat(window[-1:], self.window - len(window), axis=0)
                    window = np.concatenate([window, pad])
                picked[part].append(window)
        return {part: np.stack(windows) for part, windows in picked.items()}


# --- evaluation ---------------------------------------------------------------------------------


def _body_positions(motion: Motion) -> np.ndarray:
    """(T, 22, 3) root-relative body joint positions (pelvis rotation kept, trans dropped)."""
    return forward_kinematics(motion.poses)[:, list(BODY_JOINTS)]


def _finger_positions(motion: Motion) -> np.ndarray:
    """(T, 30, 3) finger joint positions with the body at rest: the hands' own error only."""
    poses = np.zeros_like(motion.poses)
    poses[:, list(FINGER_JOINTS)] = motion.poses[:, list(FINGER_JOINTS)]
    return forward_kinematics(poses)[:, list(FINGER_JOINTS)]


def _mpjpe_cm(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b, axis=-1).mean() * 100.0)


def _body_speed(motion: Motion) -> np.ndarray:
    """(T-1,) mean body joint speed (m/s) of each frame-to-frame transition, root included."""
    positions = forward_kinematics(motion.poses, motion.trans)[:, list(BODY_JOINTS)]
    return np.linalg.norm(np.diff(positions, axis=0), axis=-1).mean(axis=1) * motion.fps


def _seam_ratios(motion: Motion, window_frames: int) -> list[float]:
    """Body speed across each window join / the clip's median body speed (none for a clip that
    stands still: it has no pace to compare with)."""
    speed = _body_speed(motion)
    median = float(np.median(speed)) if speed.size else 0.0
    if median < 1e-3:
        return []
    # Transition join-1 -> join is speed[join - 1]: the step that crosses the join.
    return [float(speed[join - 1] / median)
            for join in range(window_frames, motion.num_frames, window_frames)]


def _perplexity(counts: np.ndarray) -> float:
    p = counts / max(1, counts.sum())
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def _mean_pose_motion(tokenizer: MotionTokenizer, frames: int) -> Motion:
    """The training data's mean features as a motionless clip: the baseline to beat."""
    parts = {}
    for part, model in tokenizer.models.items():
        mean = model.feature_mean.detach().cpu().numpy()
        parts[part] = np.repeat(mean[None], frames, axis=0)
    return assemble(parts, None, tokenizer.fps, tokenizer.face_space)


def _independent_window_codes(
    tokenizer: MotionTokenizer, motion: Motion, window_tokens: int
) -> dict[str, np.ndarray]:
    """Codes of each window encoded on its own, with no context from its neighbours, as a
    window-by-window generator would produce them."""
    features = tokenizer.features(motion)
    window = window_tokens * FRAMES_PER_TOKEN
    return {
        part: np.concatenate([
            tokenizer.models[part].encode(features[part][start : start + window])
            for start in range(0, motion.num_frames, window)
        ])
        for part in PARTS
    }


@torch.no_grad()
def evaluate_motions(
    tokenizer: MotionTokenizer, motions: Sequence[Motion], seams: bool = True
) -> dict[str, float]:
    """What the tokens keep of `motions` (see `evaluate_motion_tokenizer`)."""
    if not motions:
        raise BodyLanguageError("no clips to evaluate the motion tokenizer on")
    tokenizer.eval()
    errors: dict[str, list[float]] = {key: [] for key in (
        "body", "fingers", "face", "body_mean", "fingers_mean", "face_mean")}
    weights: list[int] = []
    counts = {part: np.zeros(tokenizer.codebook_size(part), np.int64) for part in PARTS}
    seams_found: dict[str, list[float]] = {"windowed": [], "original": [], "independent": []}
    mismatch = 0.0
    for motion in motions:
        if motion.fps != tokenizer.fps:
            motion = motion.resample(tokenizer.fps)
        codes = tokenizer.tokenize(motion)
        for part, part_codes in codes.items():
            counts[part] += np.bincount(part_codes, minlength=counts[part].shape[0])
        rebuilt = tokenizer.detokenize(codes, motion.num_frames, motion.trans[0])
        mean_pose = _mean_pose_motion(tokenizer, motion.num_frames)
        weights.append(motion.num_frames)
        for suffix, other in (("", rebuilt), ("_mean", mean_pose)):
            errors["body" + suffix].append(
                _mpjpe_cm(_body_positions(motion), _body_positions(other)))
            errors["fingers" + suffix].append(
                _mpjpe_cm(_finger_positions(motion), _finger_positions(other)))
            errors["face" + suffix].append(float(np.abs(motion.face - other.face).mean()))
        if seams:
            window_frames = SEAM_WINDOW_TOKENS * FRAMES_PER_TOKEN
            windowed = tokenizer.detokenize(
                tokenizer.tokenize(motion, SEAM_WINDOW_TOKENS), motion.num_frames,
                motion.trans[0], SEAM_WINDOW_TOKENS,
            )
            # Compared as matrices: one rotation has two axis-angle spellings near 180 degrees.
            mismatch = max(mismatch, float(np.abs(
                axis_angle_to_matrix(windowed.poses) - axis_angle_to_matrix(rebuilt.poses)).max()))
            seams_found["windowed"] += _seam_ratios(windowed, window_frames)
            seams_found["original"] += _seam_ratios(motion, window_frames)
            independent = tokenizer.detokenize(
                _independent_window_codes(tokenizer, motion, SEAM_WINDOW_TOKENS),
                motion.num_frames, motion.trans[0],
            )
            seams_found["independent"] += _seam_ratios(independent, window_frames)

    def weighted(key: str) -> float:
        return float(np.average(errors[key], weights=weights))

    metrics = {
        "clips": float(len(motions)),
        "seconds": float(sum(weights) / tokenizer.fps),
        "body_mpjpe_cm": weighted("body"),
        "finger_mpjpe_cm": weighted("fingers"),
        "face_mae": weighted("face"),
        "body_mpjpe_cm_mean_pose": weighted("body_mean"),
        "finger_mpjpe_cm_mean_pose": weighted("fingers_mean"),
        "face_mae_mean_pose": weighted("face_mean"),
    }
    if seams:
        def mean(values: list[float]) -> float:
            return float(np.mean(values)) if values else float("nan")

        metrics["seam_ratio"] = mean(seams_found["windowed"])
        metrics["seam_ratio_original"] = mean(seams_found["original"])
        metrics["seam_ratio_independent_windows"] = mean(seams_found["independent"])
        metrics["window_mismatch"] = mismatch
    for part in PARTS:
        metrics[f"{part}_codebook_usage_pct"] = float(
            np.count_nonzero(counts[part]) / counts[part].shape[0] * 100.0)
        metrics[f"{part}_perplexity"] = _perplexity(counts[part])
    metrics["codebook_usage_pct"] = float(
        np.mean([metrics[f"{part}_codebook_usage_pct"] for part in PARTS]))
    return metrics


def evaluate_motion_tokenizer(
    tokenizer: MotionTokenizer,
    data_dirs: str | os.PathLike | Iterable[str | os.PathLike],
    split: str = "test",
    max_clips: int | None = None,
) -> dict[str, float]:
    """Encode -> decode every clip of `split` and report what is lost.

    - body_mpjpe_cm: mean position error of the 22 body joints (pelvis to wrists, root-relative,
      default skeleton), finger_mpjpe_cm: of the 30 finger joints with the body at rest (the
      hands' own error), face_mae: mean absolute error of the face channels; each also for the
      data's mean pose (`*_mean_pose`), the baseline a useless tokenizer would reach.
    - seam_ratio: mean over window joins of body joint speed across the join / the clip's median
      body speed, when the clip is encoded and decoded in 64-frame windows; seam_ratio_original
      is the same measure on the original motion at the same frames (what the motion itself
      does there), seam_ratio_independent_windows the same when each window's codes are made
      without any context (as from a window-by-window generator) and decoded in one pass.
      window_mismatch: the largest rotation-matrix entry difference between windowed and
      one-pass decoding (0 up to rounding: windows carry their receptive field as context).
    - <part>_codebook_usage_pct, <part>_perplexity, codebook_usage_pct (mean over parts).
    """
    motions = load_motions(data_dirs, split, tokenizer.fps, max_clips)
    if not motions:
        folders = ", ".join(map(str, data_folders(data_dirs)))
        raise BodyLanguageError(f"no {split!r} clips in {folders}")
    return evaluate_motions(tokenizer, [motion for _, motion in motions])


# --- training -----------------------------------------------------------------------------------


def _learning_rate(config: TrainingConfig, step: int, total: int) -> float:
    """Linear warm-up, then a cosine decay to a tenth of the peak by the last step."""
    peak = config.learning_rate
    if step < config.warmup_steps:
        return peak * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, total - config.warmup_steps)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def _step_seed(seed: int, step: int) -> int:
    return (seed * 1_000_003 + step) % (2**63)


def _default_log(event: dict[str, Any]) -> None:
    if event["event"] in ("eval", "resume", "done"):
        from tqdm import tqdm

        shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in event.items()}
        tqdm.write(f"[motion tokenizer] {shown}", file=sys.stderr)


def _state_config(config: TrainingConfig, face_space: str, seed: int) -> dict[str, Any]:
    return {"training": asdict(config), "face_space": face_space, "seed": seed,
            "parts": {p: asdict(c) for p, c in part_configs(config, face_space).items()}}


def _train_step(
    tokenizer: MotionTokenizer,
    optimizer: torch.optim.Optimizer,
    sampler: WindowSampler,
    config: TrainingConfig,
    step: int,
    seed: int,
    device: torch.device,
) -> dict[str, float]:
    """One optimiser step of all four parts on one batch of windows; returns each part's loss."""
    lr = _learning_rate(config, step, config.steps)
    for group in optimizer.param_groups:
        group["lr"] = lr
    rng = np.random.default_rng(_step_seed(seed, step))
    generator = torch.Generator().manual_seed(_step_seed(seed, step))
    batch = sampler.batch(rng, config.batch_size)
    optimizer.zero_grad(set_to_none=True)
    losses = {}
    for part, model in tokenizer.models.items():
        model.train()
        result = model(torch.from_numpy(batch[part]).to(device), generator)
        result["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        losses[part] = float(result["loss"].detach())
    optimizer.step()
    return losses


def train_motion_tokenizer(
    config: TrainingConfig,
    data_dirs: str | os.PathLike | Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    device: str = "auto",
    progress: bool = True,
    resume: bool = True,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> MotionTokenizer:
    """Train the motion tokenizer as `config` says (`training_config("default")` for the
    shipped one) on the "train" clips of `data_dirs`; returns it trained.

    Writes `out_dir/motion_tokenizer.{json,safetensors}` (the final checkpoint, with the held-out
    metrics in its metadata), `config` beside it (`motion_tokenizer.training.json`, read back
    with `core.train.saved_config.load_config`) and keeps `out_dir/motion_tokenizer_training.*`
    to resume from. `log` receives events as dicts: {"event": "step", "step", "loss", <part>:
    loss}, "eval" (the metrics of `evaluate_motions`), "resume" (the step resumed from),
    "saved", "done".
    """
    _check(config)
    log = log or _default_log
    torch_device = pick_device(device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE_NAME
    clips, held_out, face_space = _training_data(data_dirs)
    tokenizer, optimizer = _create(config, clips, face_space, torch_device)
    state_config = _state_config(config, face_space, config.seed)

    start_step = 0
    if resume and checkpoint_files(state_path).config.is_file():
        start_step = _resume(state_path, tokenizer, optimizer, state_config, torch_device)
        log({"event": "resume", "step": start_step})

    def save_state(step: int) -> None:
        save_training_state(state_path, tokenizer.state_tensors(), optimizer.state_dict(), step,
                            {"seed": config.seed}, state_config)
        log({"event": "saved", "step": step})

    sampler = WindowSampler(clips, config.window_frames)
    bar = progress_bar(progress, config.steps, start_step, "motion tokenizer")

    def train_step(step: int) -> dict[str, float]:
        return _train_step(tokenizer, optimizer, sampler, config, step, config.seed,
                           torch_device)

    def after_step(completed: int, losses: dict[str, float]) -> None:
        total_loss = float(sum(losses.values()))
        log({"event": "step", "step": completed, "loss": total_loss, **losses})
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total_loss:.3f}")
        if (config.eval_every and completed % config.eval_every == 0 and held_out
                and completed < config.steps):  # the last step gets the full evaluation
            metrics = evaluate_motions(tokenizer, held_out[: config.eval_clips], seams=False)
            log({"event": "eval", "step": completed, **metrics})

    saver = StateSaver(save_state, start_step, config.save_every_s, config.save_every_steps)
    completed = run_steps(start_step, config.steps, train_step, after_step, saver,
                          checkpoint_files(state_path).config, bar)
    _save_trained(tokenizer, config, completed, held_out, data_dirs, out, log)
    return tokenizer


def _training_data(
    data_dirs: str | os.PathLike | Iterable[str | os.PathLike],
) -> tuple[list[dict[str, np.ndarray]], list[Motion], str]:
    """The train clips as part features, the held-out motions of the same face space, and that
    face space."""
    train = load_motions(data_dirs, "train")
    if not train:
        raise BodyLanguageError(
            f"no 'train' clips in {', '.join(map(str, data_folders(data_dirs)))}")
    face_space = common_face_space(train)
    clips = [motion_features(motion) for _, motion in train]
    held_out = [m for _, m in load_motions(data_dirs, "test")]
    return clips, [m for m in held_out if m.face_space == face_space], face_space


def _create(
    config: TrainingConfig, clips: list[dict[str, np.ndarray]], face_space: str,
    device: torch.device,
) -> tuple[MotionTokenizer, torch.optim.Optimizer]:
    """The seeded, untrained tokenizer normalised to the clips, and its optimiser."""
    with torch.random.fork_rng(devices=[]):  # seeded weights, the caller's generator untouched
        torch.manual_seed(config.seed)
        tokenizer = MotionTokenizer.create(part_configs(config, face_space), face_space)
    for part, model in tokenizer.models.items():
        model.set_normalisation(FeatureStats.from_arrays(clip[part] for clip in clips))
    tokenizer.to(device)
    parameters = [p for model in tokenizer.models.values() for p in model.parameters()]
    return tokenizer, torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=0.0)


def _resume(state_path: Path, tokenizer: MotionTokenizer, optimizer: torch.optim.Optimizer,
            state_config: dict[str, Any], device: torch.device) -> int:
    """Load the resumable state into the tokenizer and optimiser; returns its step."""
    state = load_training_state(state_path)
    saved = state.config
    if saved.get("parts") != state_config["parts"] or \
            saved.get("face_space") != state_config["face_space"]:
        raise BodyLanguageError(
            "training state was made with another model config or face space; "
            "use another output folder or resume=False", checkpoint_files(state_path).config)
    tokenizer.load_state_tensors(state.model_state, state_path)
    tokenizer.to(device)
    optimizer.load_state_dict(state.optimizer_state)
    return state.step


def _save_trained(
    tokenizer: MotionTokenizer, config: TrainingConfig, steps: int, held_out: list[Motion],
    data_dirs: str | os.PathLike | Iterable[str | os.PathLike], out: Path,
    log: Callable[[dict[str, Any]], None],
) -> None:
    """The final evaluation, the checkpoint with its metrics and the config beside it."""
    tokenizer.eval()
    metadata: dict[str, Any] = {"config_name": config.name, "steps": steps,
                                "data": [str(d) for d in data_folders(data_dirs)]}
    if held_out:
        metrics = evaluate_motions(tokenizer, held_out)
        metadata["test_metrics"] = {k: v for k, v in metrics.items() if math.isfinite(v)}
        log({"event": "eval", "step": steps, **metrics})
    tokenizer.save(out / TOKENIZER_NAME, metadata)
    save_config(out / TOKENIZER_NAME, config)
    log({"event": "done", "step": steps, "checkpoint": str(out / TOKENIZER_NAME)})
