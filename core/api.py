"""The one surface the worker and the command line use:

    model = load_model()                       # the shipped model, core/checkpoints/default/
    motion = generate(model, audio, 16000, prompt="wave with the right hand", seed=3)
    probabilities = predict_emotion(model, motion)
    save_model_bundle("core/checkpoints/default", lm, motion_tokenizer, audio_tokenizer)

A model folder (core/model_folder.py) holds the language model, its two tokenizers and
`model.json`, the manifest that ties them together; generate's arguments are checked in
core/generate_arguments.py.

Every bad input is a BodyLanguageError that says what is wrong; cancelling raises
`GenerationCancelled` (core/lm/generate.py), which is not a BodyLanguageError.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.compose import Conditioning, Request
from core.devices import THREADS_ENV, cpu_threads, pick_device  # noqa: F401 (public API)
from core.errors import BodyLanguageError
from core.generate_arguments import (
    audio_samples,
    checked_emotion,
    checked_keep,
    checked_parts,
    checked_temperature,
    checked_timed_prompts,
    frame_span,
    frames_of_duration,
    stripped_text,
)
from core.lm.generate import GenerationCancelled
from core.lm.masked import CHECKPOINT_KIND as MASKED_KIND
from core.lm.masked import MaskedMotionModel
from core.lm.masked_generate import FillOptions
from core.lm.model import MotionLanguageModel
from core.lm.windows import Span
from core.masked_inference import MaskedSystem
from core.model_folder import (  # noqa: F401 (DEFAULT_MODEL_DIR, save_model_bundle: public API)
    DEFAULT_MODEL_DIR,
    check_compatible,
    open_model_folder,
    piece_path,
    save_model_bundle,
)
from core.motion import Motion
from core.rates import FPS
from core.skeleton import PARTS
from core.tokenizers.audio import AudioTokenizer
from core.tokenizers.motion_vqvae import MotionTokenizer
from core.tokenizers.text import TextTokenizer
from core.validate import MANIFEST_NAME, check_generate_arguments, check_motion_length

__all__ = [
    "DEFAULT_MODEL_DIR",
    "BodyLanguageModel",
    "GenerationCancelled",
    "generate",
    "load_model",
    "predict_emotion",
    "save_model_bundle",
]

# Windows decoded side by side at most; more go in further batches (bounds memory on long clips).
MAX_ROWS = {"cpu": 64, "cuda": 256}

ProgressCallback = Callable[[float, str], None]
CancelCallback = Callable[[], bool]


@dataclass
class BodyLanguageModel:
    """A loaded model: the language model, its tokenizers and where it runs."""

    lm: MotionLanguageModel | MaskedMotionModel
    motion_tokenizer: MotionTokenizer
    audio_tokenizer: AudioTokenizer
    text_tokenizer: TextTokenizer
    device: torch.device
    name: str = "custom"
    path: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    max_rows: int = MAX_ROWS["cpu"]
    context: Any = field(init=False, repr=False)  # the autoregressive model's TaskContext
    masked: MaskedSystem | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_compatible(self.lm, self.motion_tokenizer, self.audio_tokenizer, self.path)
        if isinstance(self.lm, MaskedMotionModel):
            self.context = None
            self.masked = MaskedSystem(self.lm, self.motion_tokenizer, self.audio_tokenizer)
        else:
            # The autoregressive path builds its rows with the training task code; only it loads
            # that code, so masked generation imports no corpus or training module.
            from core.lm.tasks import TaskContext

            self.context = TaskContext.from_config(self.lm.config, self.text_tokenizer)
            self.masked = None

    @property
    def face_space(self) -> str:
        return self.motion_tokenizer.face_space

    @property
    def fps(self) -> float:
        return self.motion_tokenizer.fps

    @property
    def emotions(self) -> tuple[str, ...]:
        if isinstance(self.lm, MaskedMotionModel):
            return self.lm.config.emotions
        return self.lm.vocab.emotions

    @property
    def config_name(self) -> str:
        return self.lm.config.preset


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto": CUDA when available, else the CPU; "cpu", "cuda", "cuda:N" as asked (core.devices),
    and only devices generation has been sized for."""
    resolved = pick_device(device)
    if resolved.type not in MAX_ROWS:
        raise BodyLanguageError(f"unsupported device {device!r}; use 'auto', 'cpu' or 'cuda'")
    return resolved


def load_model(
    path: str | os.PathLike | None = None, device: str | torch.device = "auto"
) -> BodyLanguageModel:
    """The model in folder `path` (default: the shipped one, core/checkpoints/default/), on
    `device`; a missing, damaged or mismatched folder is a BodyLanguageError naming the file."""
    folder, manifest = open_model_folder(path)
    resolved = resolve_device(device)
    if resolved.type == "cpu":
        torch.set_num_threads(cpu_threads())
    lm_class = MaskedMotionModel if manifest["pieces"]["lm"]["kind"] == MASKED_KIND \
        else MotionLanguageModel
    lm = lm_class.load(piece_path(folder, manifest, "lm"), device=resolved)
    motion_tokenizer = MotionTokenizer.load(piece_path(folder, manifest, "motion_tokenizer"),
                                            device=resolved)
    audio_tokenizer = AudioTokenizer.load(piece_path(folder, manifest, "audio_tokenizer"))
    return BodyLanguageModel(
        lm=lm, motion_tokenizer=motion_tokenizer, audio_tokenizer=audio_tokenizer,
        text_tokenizer=TextTokenizer.load(), device=resolved,
        name=str(manifest.get("name", folder.name)), path=folder / MANIFEST_NAME,
        manifest=manifest, max_rows=MAX_ROWS[resolved.type],
    )


# --- generation ----------------------------------------------------------------------------------


def generate(
    model: BodyLanguageModel,
    audio: np.ndarray | str | os.PathLike | None = None,
    sample_rate: int = 16000,
    prompt: str = "",
    transcript: str | None = None,
    emotion: str | None = None,
    parts: Iterable[str] = PARTS,
    keep: Motion | None = None,
    frames: tuple[int, int] | None = None,
    seed: int = 0,
    duration: float | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = 0.95,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
    windowing: str = "two_pass",
    guidance: Mapping[str, float] | None = None,
    prompts: Sequence[tuple[str, float | None, float | None]] = (),
) -> Motion:
    """Motion (30 fps, the model's face space) for speech and/or a text prompt.

    `audio`: mono float samples at `sample_rate`, or a path to wav/flac/ogg/mp3. The output is as
    many frames as the audio lasts (round(seconds * 30)); without audio `duration` (seconds) sets
    the length. `prompt` describes an action, `transcript` is what the audio says, `emotion` one
    of `model.emotions`.

    Editing: with `keep` (a Motion of the output's length), the parts not in `parts` are copied
    from it bit for bit, and with `frames=(a, b)` only frames a..b-1 of `parts` are written (the
    rest is `keep`'s, the written stretch fades in and out over a few frames inside a..b). Without
    `keep`, parts not in `parts` are at rest.

    Same `seed`, same inputs, same device: the same motion. `progress(fraction, message)` is called
    with a rising fraction ending at 1.0; `cancel()` returning True stops generation with
    GenerationCancelled. `windowing` ("two_pass", "sequential", "independent") chooses how long
    clips carry context across windows for the autoregressive model (see core/lm/windows.py).

    `guidance` (masked model): strength per condition, {"prompt": 2.5, "audio": 1.0,
    "emotion": 2.0} by default (core/lm/masked_generate.py); 1 follows the condition as trained,
    higher follows it more closely, 0 ignores it. `top_k`/`top_p` apply to the autoregressive
    model only.

    `prompts` (masked model): actions timed on the clip, e.g. [("wave hello", 2.0, 4.0)]: each
    is performed from its start (seconds; None: the clip's start) within its span (end None: the
    clip's end, at most the model's 8 s window). Spans may not overlap; `prompt` still applies
    to the whole clip.
    """
    report = _checked_model(model, progress, seed=seed, prompt=prompt, transcript=transcript,
                            duration=duration, audio=audio, sample_rate=sample_rate, keep=keep)
    parts, emotion, prompt, transcript = _checked_choices(model, parts, emotion, prompt,
                                                          transcript, seed, guidance)
    units, total = _units_and_length(model, audio, sample_rate, duration, keep, report, cancel)
    keep = checked_keep(model, keep, total)
    span = frame_span(frames, total, keep)
    pieces, transcript_times = _transcript_pieces(model, transcript, total)
    condition = Conditioning(units, prompt, pieces, transcript_times, emotion,
                             checked_timed_prompts(model, prompts, total))
    request = _request(model, Request(total, parts, span, keep))
    _check_cancel(cancel)
    report(0.03, "Preparing")
    generator = torch.Generator(device=model.device).manual_seed(int(seed))
    if model.masked is not None:
        options = FillOptions(temperature=checked_temperature(temperature), guidance=guidance,
                              generator=generator)
        return model.masked.motion(condition, request, options, report,
                                   lambda: _check_cancel(cancel))
    from core.inference import Sampling, generate_motion

    sampling = Sampling(temperature, top_k, top_p, generator)
    return generate_motion(model, condition, request, sampling, report, cancel, windowing)


def _checked_model(model: BodyLanguageModel, progress: ProgressCallback | None,
                   **arguments: Any) -> ProgressCallback:
    """The checks made before anything else (runaway inputs, then the model); reports the start
    through the returned callback."""
    check_generate_arguments(**arguments)
    if not isinstance(model, BodyLanguageModel):
        raise BodyLanguageError(f"model must come from load_model, got {type(model).__name__}")
    report = _monotonic(progress)
    report(0.0, "Reading inputs")
    return report


def _checked_choices(model: BodyLanguageModel, parts: Iterable[str], emotion: str | None,
                     prompt: str, transcript: str | None, seed: Any,
                     guidance: Mapping[str, float] | None,
                     ) -> tuple[tuple[str, ...], str | None, str, str | None]:
    """(parts, emotion, prompt, transcript) checked, in the order generate has always checked
    them, then the seed and the guidance strengths (named before any work)."""
    parts = checked_parts(parts)
    emotion = checked_emotion(model, emotion)
    prompt = stripped_text(prompt, "prompt")
    transcript = stripped_text(transcript, "transcript") or None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise BodyLanguageError(f"seed must be an integer, got {seed!r}")
    if model.masked is not None:
        FillOptions(guidance=guidance).strengths()
    return parts, emotion, prompt, transcript


def _request(model: BodyLanguageModel, request: Request) -> Request:
    """The request with the codes of what an edit keeps, which the model must not rewrite."""
    if request.edits_frames or request.edits_parts:
        return Request(request.frames, request.parts, request.span, request.keep,
                       _kept_codes(model, request))
    return request


def _units_and_length(model: BodyLanguageModel, audio: Any, sample_rate: Any, duration: Any,
                      keep: Any, report: ProgressCallback,
                      cancel: CancelCallback | None) -> tuple[np.ndarray | None, int]:
    """The audio units (None without audio) and the output's length in frames."""
    if audio is not None:
        if duration is not None:
            raise BodyLanguageError("give either audio or a duration: with audio the motion "
                                    "lasts as long as the audio")
        samples, rate = audio_samples(audio, sample_rate)
        total = max(1, round(samples.size / rate * FPS))
        _check_cancel(cancel)
        report(0.01, "Reading audio")
        return np.asarray(model.audio_tokenizer.encode(samples, rate), dtype=np.int64), total
    if duration is not None:
        return None, frames_of_duration(duration)
    if keep is not None:
        return None, keep.num_frames if isinstance(keep, Motion) else 0
    raise BodyLanguageError("give audio, or a duration in seconds for a text-only prompt")


def _transcript_pieces(model: BodyLanguageModel, transcript: str | None,
                       total: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    if transcript is None:
        return None, None
    pieces = np.asarray(model.text_tokenizer.encode(transcript), dtype=np.int64)
    # Without word timings the words are spread evenly over the clip, as in training.
    times = (np.arange(pieces.size) + 0.5) * (total / FPS) / max(pieces.size, 1)
    return pieces, times


def _monotonic(progress: ProgressCallback | None) -> ProgressCallback:
    highest = [0.0]

    def report(fraction: float, message: str) -> None:
        highest[0] = max(highest[0], min(1.0, float(fraction)))
        if progress is not None:
            progress(highest[0], message)

    return report


def _check_cancel(cancel: CancelCallback | None) -> None:
    if cancel is not None and cancel():
        raise GenerationCancelled("generation was cancelled")


def _kept_codes(model: BodyLanguageModel, request: Request) -> np.ndarray:
    """(steps, 4) codes of the kept motion for the parts the model is shown or keeps writing
    outside an edited stretch; -1 for parts it rewrites entirely."""
    needed = PARTS if request.edits_frames else tuple(p for p in PARTS if p not in request.parts)
    tokenizer = model.motion_tokenizer
    features = tokenizer.features(request.keep)
    codes = np.full((request.steps, len(PARTS)), -1, dtype=np.int64)
    for part in needed:
        part_codes = np.asarray(tokenizer.models[part].encode(features[part]), dtype=np.int64)
        codes[:, PARTS.index(part)] = part_codes[: request.steps]
    return codes


# --- emotion -------------------------------------------------------------------------------------


def predict_emotion(model: BodyLanguageModel, motion: Motion) -> dict[str, float]:
    """{emotion: probability} over the model's emotions (summing to 1): the motion -> emotion
    task's answer, each window of the motion weighted by its length."""
    check_motion_length(motion)
    if not isinstance(model, BodyLanguageModel):
        raise BodyLanguageError(f"model must come from load_model, got {type(model).__name__}")
    if not isinstance(motion, Motion):
        raise BodyLanguageError(f"motion must be a Motion, got {type(motion).__name__}")
    tokenizer = model.motion_tokenizer
    if motion.face_space != model.face_space:
        raise BodyLanguageError(f"motion has face space {motion.face_space!r}; the model reads "
                                f"{model.face_space!r}")
    if model.masked is not None:
        probabilities = model.masked.emotion(motion)
        return {name: float(p) for name, p in zip(model.emotions, probabilities, strict=True)}
    from core.inference import RowBuilder, Task
    from core.lm.batches import collate
    from core.lm.generate import score_tokens

    codes = np.stack([np.asarray(c, np.int64) for c in tokenizer.tokenize(motion).values()],
                     axis=1)
    window = model.context.window_steps
    spans = [Span(s, min(s + window, len(codes))) for s in range(0, len(codes), window)]
    task = Task("motion_to_emotion", motion_block=True)
    rows = RowBuilder(model.context, Conditioning(), len(codes))
    candidates = [model.lm.vocab.emotion(name) for name in model.emotions]
    total = np.zeros(len(candidates))
    for first in range(0, len(spans), model.max_rows):
        chunk = spans[first:first + model.max_rows]
        batch = collate([rows.row(task, s, codes[s.start:s.stop]) for s in chunk],
                        model.lm.vocab)
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "motion_codes")}
        probabilities = score_tokens(model.lm, inputs, candidates).exp().double().numpy()
        lengths = np.array([s.length for s in chunk], dtype=np.float64)
        total += (probabilities * lengths[:, None]).sum(axis=0)
    total /= total.sum()
    return {name: float(p) for name, p in zip(model.emotions, total, strict=True)}
