"""The one surface the worker and the command line use:

    model = load_model()                       # the shipped model, core/checkpoints/default/
    motion = generate(model, audio, 16000, prompt="wave with the right hand", seed=3)
    probabilities = predict_emotion(model, motion)
    save_model_bundle("core/checkpoints/default", lm, motion_tokenizer, audio_tokenizer)

A model folder holds three project checkpoints — the language model (`lm.*`), the motion tokenizer
(`motion_tokenizer.*`) and the audio tokenizer (`audio_tokenizer.*`) — and `model.json`, a small
manifest naming the pieces with their kinds, format versions and save ids, so pieces copied in
from another training run are caught at load time instead of producing nonsense.

Every bad input is a BodyLanguageError that says what is wrong; cancelling raises
`GenerationCancelled` (core/lm/generate.py), which is not a BodyLanguageError.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint import checkpoint_files, read_header
from core.compose import Conditioning, Request, TimedPrompt
from core.devices import THREADS_ENV, cpu_threads, pick_device  # noqa: F401 (public API)
from core.errors import BodyLanguageError
from core.lm.generate import GenerationCancelled
from core.lm.masked import CHECKPOINT_KIND as MASKED_KIND
from core.lm.masked import FORMAT_VERSION as MASKED_FORMAT
from core.lm.masked import MaskedMotionModel
from core.lm.masked_generate import FillOptions
from core.lm.model import CHECKPOINT_KIND as LM_KIND
from core.lm.model import FORMAT_VERSION as LM_FORMAT
from core.lm.model import MotionLanguageModel
from core.lm.windows import Span
from core.masked_inference import MaskedSystem
from core.motion import Motion
from core.rates import FPS
from core.skeleton import PARTS
from core.tokenizers.audio import FORMAT_VERSION as AUDIO_FORMAT
from core.tokenizers.audio import KIND as AUDIO_KIND
from core.tokenizers.audio import AudioTokenizer
from core.tokenizers.motion_vqvae import CHECKPOINT_KIND as MOTION_KIND
from core.tokenizers.motion_vqvae import FORMAT_VERSION as MOTION_FORMAT
from core.tokenizers.motion_vqvae import FRAMES_PER_TOKEN, MotionTokenizer
from core.tokenizers.text import TextTokenizer
from core.validate import (
    check_generate_arguments,
    check_model_folder,
    check_motion_length,
    check_text,
)

__all__ = [
    "DEFAULT_MODEL_DIR",
    "BodyLanguageModel",
    "GenerationCancelled",
    "generate",
    "load_model",
    "predict_emotion",
    "save_model_bundle",
]

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "checkpoints" / "default"
MANIFEST_NAME = "model.json"
BUNDLE_FORMAT = "body-language-model"
BUNDLE_VERSION = 1
# piece -> (checkpoint name in the folder, checkpoint kind, format version this code reads)
PIECES: dict[str, tuple[str, str, int]] = {
    "lm": ("lm", LM_KIND, LM_FORMAT),
    "motion_tokenizer": ("motion_tokenizer", MOTION_KIND, MOTION_FORMAT),
    "audio_tokenizer": ("audio_tokenizer", AUDIO_KIND, AUDIO_FORMAT),
}
# The language model is either kind: the masked model (the default since it learns its conditions
# on a CPU) or the autoregressive encoder-decoder.
LM_KINDS: dict[str, int] = {MASKED_KIND: MASKED_FORMAT, LM_KIND: LM_FORMAT}
# Windows decoded side by side at most; more go in further batches (bounds memory on long clips).
MAX_ROWS = {"cpu": 64, "cuda": 256}
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000

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


# --- model folders -------------------------------------------------------------------------------


def _masked_problems(lm: MaskedMotionModel, motion_tokenizer: MotionTokenizer,
                     audio_tokenizer: AudioTokenizer) -> list[str]:
    problems = []
    if lm.config.audio_units != audio_tokenizer.num_units:
        problems.append(f"the LM reads {lm.config.audio_units} audio units, the audio tokenizer "
                        f"makes {audio_tokenizer.num_units}")
    for part, size in zip(PARTS, lm.config.codebook_sizes, strict=True):
        if motion_tokenizer.codebook_size(part) != size:
            problems.append(f"the LM reads {size} {part} codes, the motion tokenizer makes "
                            f"{motion_tokenizer.codebook_size(part)}")
    if motion_tokenizer.fps != FPS or audio_tokenizer.frame_rate != 25:
        problems.append("the tokenizers must run at 30 fps and 25 audio units per second")
    return problems


def check_compatible(
    lm: MotionLanguageModel | MaskedMotionModel, motion_tokenizer: MotionTokenizer,
    audio_tokenizer: AudioTokenizer, where: Any = None,
) -> None:
    """That the tokenizers make exactly the tokens the language model's vocabulary holds, at the
    rates its windows assume."""
    if isinstance(lm, MaskedMotionModel):
        problems = _masked_problems(lm, motion_tokenizer, audio_tokenizer)
        if problems:
            raise BodyLanguageError("the model's pieces do not fit together: "
                                    + "; ".join(problems), where)
        return
    vocab, config = lm.vocab, lm.config
    problems = []
    if vocab.audio_units != audio_tokenizer.num_units:
        problems.append(f"the LM reads {vocab.audio_units} audio units, the audio tokenizer "
                        f"makes {audio_tokenizer.num_units}")
    for part in PARTS:
        size = motion_tokenizer.codebook_size(part)
        if vocab.part_codes[part] != size:
            problems.append(f"the LM reads {vocab.part_codes[part]} {part} codes, the motion "
                            f"tokenizer makes {size}")
    if motion_tokenizer.fps != FPS:
        problems.append(f"the motion tokenizer runs at {motion_tokenizer.fps} fps, not {FPS}")
    elif config.motion_steps_per_second != FPS / FRAMES_PER_TOKEN:
        problems.append(f"the LM expects {config.motion_steps_per_second} motion steps per "
                        f"second, the motion tokenizer makes {FPS / FRAMES_PER_TOKEN}")
    if config.audio_units_per_second != audio_tokenizer.frame_rate:
        problems.append(f"the LM expects {config.audio_units_per_second} audio units per second, "
                        f"the audio tokenizer makes {audio_tokenizer.frame_rate}")
    if problems:
        raise BodyLanguageError(
            "the model's pieces do not fit together: " + "; ".join(problems)
            + " (train the language model on this pair of tokenizers)", where
        )


def save_model_bundle(
    folder: str | os.PathLike,
    lm: MotionLanguageModel | MaskedMotionModel,
    motion_tokenizer: MotionTokenizer | None,
    audio_tokenizer: AudioTokenizer | None,
    name: str = "default",
    metadata: Mapping[str, Any] | None = None,
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Write a model folder `load_model` reads: the three checkpoints and `model.json` (written
    last, so a folder without it was never finished). Language-model weights are stored as
    `dtype`. A tokenizer given as None is the one already in `folder`, kept as it is (a new
    language model beside shipped tokenizers rewrites no tokenizer file). Returns the manifest's
    path."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST_NAME
    given = {"motion_tokenizer": motion_tokenizer, "audio_tokenizer": audio_tokenizer}
    loaders = {"motion_tokenizer": MotionTokenizer.load, "audio_tokenizer": AudioTokenizer.load}
    present = {piece: tokenizer if tokenizer is not None
               else loaders[piece](folder / PIECES[piece][0])
               for piece, tokenizer in given.items()}
    check_compatible(lm, present["motion_tokenizer"], present["audio_tokenizer"], manifest_path)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(lm, MaskedMotionModel):
        lm.save(folder / PIECES["lm"][0], metadata, dtype=dtype)
    else:
        lm.save(folder / PIECES["lm"][0], dtype=dtype)
    for piece, tokenizer in given.items():
        if tokenizer is not None:
            tokenizer.save(folder / PIECES[piece][0])
    motion_tokenizer = present["motion_tokenizer"]
    pieces = {}
    for piece, (stem, kind, version) in PIECES.items():
        header = read_header(folder / stem)
        if piece == "lm":
            kind, version = header.kind, LM_KINDS[header.kind]
        pieces[piece] = {"checkpoint": stem, "kind": kind, "format_version": version,
                         "save_id": header.save_id}
    manifest = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "name": str(name),
        "face_space": motion_tokenizer.face_space,
        "fps": FPS,
        "lm_preset": lm.config.preset,
        "pieces": pieces,
        "metadata": dict(metadata or {}),
    }
    text = json.dumps(manifest, indent=2, allow_nan=False) + "\n"
    temporary = folder / f".{MANIFEST_NAME}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, manifest_path)
    finally:
        temporary.unlink(missing_ok=True)
    return manifest_path


def read_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """A model folder's `model.json`, checked; errors name the file and what to do."""
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    default = folder.resolve() == DEFAULT_MODEL_DIR
    if not folder.is_dir():
        if default:
            raise BodyLanguageError(
                "the shipped model is not installed; reinstall the add-on, or train one and "
                "write it here with core.api.save_model_bundle", folder
            )
        raise BodyLanguageError("model folder not found", folder)
    if not path.is_file() and default:
        raise BodyLanguageError(
            "the shipped folder holds the trained tokenizers but no trained language model yet: "
            "train one with `python -m core train lm --data CORPUS --tokenizers "
            f"{DEFAULT_MODEL_DIR} --out DIR` and write it here with core.api.save_model_bundle, "
            "or pass another model folder", path
        )
    if not path.is_file():
        raise BodyLanguageError(
            f"not a model folder: {MANIFEST_NAME} is missing (write the folder with "
            "core.api.save_model_bundle, or pass the folder that holds model.json)", path
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyLanguageError(
            f"model manifest is damaged ({exc}); write the folder again with "
            "core.api.save_model_bundle", path
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BodyLanguageError(f"not a Body Language model manifest (format is not "
                                f"{BUNDLE_FORMAT!r})", path)
    version = manifest.get("format_version")
    if version != BUNDLE_VERSION:
        raise BodyLanguageError(
            f"model folder format version {version!r}; this code reads version {BUNDLE_VERSION} "
            "(update the add-on, or use a model written by this version)", path
        )
    pieces = manifest.get("pieces")
    if not isinstance(pieces, dict):
        raise BodyLanguageError("model manifest has no 'pieces' table", path)
    for piece, (_, kind, supported) in PIECES.items():
        entry = pieces.get(piece)
        if not isinstance(entry, dict) or not isinstance(entry.get("checkpoint"), str):
            raise BodyLanguageError(f"model manifest does not name its {piece}", path)
        if piece == "lm" and entry.get("kind") in LM_KINDS:
            kind, supported = entry["kind"], LM_KINDS[entry["kind"]]
        if entry.get("kind") != kind or entry.get("format_version") != supported:
            raise BodyLanguageError(
                f"the manifest's {piece} is a {entry.get('kind')!r} checkpoint of format "
                f"{entry.get('format_version')!r}; this code reads {kind!r} format {supported}",
                path,
            )
        stem = Path(entry["checkpoint"])
        if stem.is_absolute() or ".." in stem.parts:
            raise BodyLanguageError(f"the manifest's {piece} must be a name inside the folder",
                                    path)
    return manifest


def _piece_path(folder: Path, manifest: Mapping[str, Any], piece: str) -> Path:
    """A piece's checkpoint path, checked to be the very save the manifest recorded."""
    entry = manifest["pieces"][piece]
    stem = folder / entry["checkpoint"]
    header = read_header(stem)  # names the missing/damaged file itself
    if entry.get("save_id") is not None and header.save_id != entry["save_id"]:
        raise BodyLanguageError(
            f"this {piece} is not the one the model was assembled with (save ids differ); "
            "copy the whole model folder again or rewrite it with core.api.save_model_bundle",
            checkpoint_files(stem).config,
        )
    return stem


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
    check_model_folder(DEFAULT_MODEL_DIR if path is None else path)
    folder = DEFAULT_MODEL_DIR if path is None else Path(path)
    if folder.name == MANIFEST_NAME and folder.is_file():
        folder = folder.parent
    manifest = read_manifest(folder)
    resolved = resolve_device(device)
    if resolved.type == "cpu":
        torch.set_num_threads(cpu_threads())
    lm_class = MaskedMotionModel if manifest["pieces"]["lm"]["kind"] == MASKED_KIND \
        else MotionLanguageModel
    lm = lm_class.load(_piece_path(folder, manifest, "lm"), device=resolved)
    motion_tokenizer = MotionTokenizer.load(_piece_path(folder, manifest, "motion_tokenizer"),
                                            device=resolved)
    audio_tokenizer = AudioTokenizer.load(_piece_path(folder, manifest, "audio_tokenizer"))
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
    check_generate_arguments(seed=seed, prompt=prompt, transcript=transcript, duration=duration,
                             audio=audio, sample_rate=sample_rate, keep=keep)
    if not isinstance(model, BodyLanguageModel):
        raise BodyLanguageError(f"model must come from load_model, got {type(model).__name__}")
    report = _monotonic(progress)
    report(0.0, "Reading inputs")
    parts = _parts(parts)
    emotion = _emotion(model, emotion)
    prompt = _text(prompt, "prompt")
    transcript = _text(transcript, "transcript") or None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise BodyLanguageError(f"seed must be an integer, got {seed!r}")
    if model.masked is not None:
        FillOptions(guidance=guidance).strengths()  # names a bad strength before any work
    units, total = _units_and_length(model, audio, sample_rate, duration, keep, report, cancel)
    keep = _keep(model, keep, total)
    span = _frame_span(frames, total, keep)
    pieces, transcript_times = _transcript_pieces(model, transcript, total)
    condition = Conditioning(units, prompt, pieces, transcript_times, emotion,
                             _timed_prompts(model, prompts, total))
    request = _request(model, Request(total, parts, span, keep))
    _check_cancel(cancel)
    report(0.03, "Preparing")
    generator = torch.Generator(device=model.device).manual_seed(int(seed))
    if model.masked is not None:
        options = FillOptions(temperature=_temperature(temperature), guidance=guidance,
                              generator=generator)
        return model.masked.motion(condition, request, options, report,
                                   lambda: _check_cancel(cancel))
    from core.inference import Sampling, generate_motion

    sampling = Sampling(temperature, top_k, top_p, generator)
    return generate_motion(model, condition, request, sampling, report, cancel, windowing)


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
        samples, rate = _audio_samples(audio, sample_rate)
        total = max(1, round(samples.size / rate * FPS))
        _check_cancel(cancel)
        report(0.01, "Reading audio")
        return np.asarray(model.audio_tokenizer.encode(samples, rate), dtype=np.int64), total
    if duration is not None:
        return None, _frames_of_duration(duration)
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


def _temperature(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
            math.isfinite(value) and 0 <= value <= 10):
        raise BodyLanguageError(f"temperature must be a number in 0..10, got {value!r}")
    return float(value)


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


def _parts(parts: Iterable[str]) -> tuple[str, ...]:
    if isinstance(parts, str):
        parts = (parts,)
    try:
        chosen = tuple(parts)
    except TypeError:
        raise BodyLanguageError(f"parts must be a list of {', '.join(PARTS)}") from None
    unknown = [p for p in chosen if p not in PARTS]
    if unknown:
        raise BodyLanguageError(f"unknown body part {unknown[0]!r}; parts are {', '.join(PARTS)}")
    if not chosen:
        raise BodyLanguageError(f"parts is empty; choose some of {', '.join(PARTS)}")
    if len(set(chosen)) != len(chosen):
        raise BodyLanguageError(f"parts lists a part twice: {list(chosen)}")
    return tuple(p for p in PARTS if p in chosen)


def _emotion(model: BodyLanguageModel, emotion: str | None) -> str | None:
    if emotion is None or emotion == "":
        return None
    if model.masked is not None:
        if emotion not in model.emotions:
            raise BodyLanguageError(f"unknown emotion {emotion!r}; the model knows "
                                    f"{list(model.emotions)}")
        return emotion
    model.lm.vocab.emotion(emotion)  # raises, naming the known emotions
    return emotion


def _timed_prompts(model: BodyLanguageModel, prompts: Any, frames: int) -> tuple[TimedPrompt, ...]:
    """Checked timed prompts in time order; seconds are clamped to the clip."""
    if prompts is None or (isinstance(prompts, Sequence) and not isinstance(prompts, str)
                           and len(prompts) == 0):
        return ()
    if isinstance(prompts, str) or not isinstance(prompts, Sequence):
        raise BodyLanguageError("prompts must be a list of (text, start, end) with start and end "
                                f"in seconds, got {type(prompts).__name__}")
    if model.masked is None:
        raise BodyLanguageError("timed prompts need a masked model; this model takes one prompt "
                                "for the whole clip")
    length = frames / model.fps
    out = []
    for index, item in enumerate(prompts):
        if isinstance(item, str) or not isinstance(item, Sequence) or len(item) != 3:
            raise BodyLanguageError(f"prompts[{index}] must be (text, start, end), got {item!r}")
        text = _text(item[0], f"prompts[{index}] text")
        check_text(text, f"prompts[{index}] text")
        if not text:
            raise BodyLanguageError(f"prompts[{index}] has no text")
        start = _seconds(item[1], 0.0, f"prompts[{index}] start")
        end = _seconds(item[2], length, f"prompts[{index}] end")
        if not 0.0 <= start < length:
            raise BodyLanguageError(f"prompts[{index}] ({text!r}) starts at {start:g} s, outside "
                                    f"the clip's 0..{length:g} s")
        if end <= start:
            raise BodyLanguageError(f"prompts[{index}] ({text!r}) ends at {end:g} s, not after "
                                    f"its start {start:g} s")
        out.append(TimedPrompt(text, start, min(end, length)))
    out.sort(key=lambda t: t.start)
    for before, after in zip(out, out[1:], strict=False):
        if after.start < before.end:
            raise BodyLanguageError(f"prompts {before.text!r} ({before.start:g}-{before.end:g} s) "
                                    f"and {after.text!r} ({after.start:g}-{after.end:g} s) "
                                    "overlap")
    return tuple(out)


def _seconds(value: Any, default: float, name: str) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise BodyLanguageError(f"{name} must be a number of seconds, got {value!r}")
    return float(value)


def _text(value: str | None, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BodyLanguageError(f"{name} must be text, got {type(value).__name__}")
    return value.strip()


def _audio_samples(audio: Any, sample_rate: Any) -> tuple[np.ndarray, int]:
    if isinstance(audio, (str, os.PathLike)):
        from core.io.audio import load_audio  # soundfile: only needed for files

        return load_audio(audio, AudioTokenizer.sample_rate), AudioTokenizer.sample_rate
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer, float)) or (
            sample_rate != int(sample_rate)):
        raise BodyLanguageError(f"sample_rate must be a whole number of Hz, got {sample_rate!r}")
    rate = int(sample_rate)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise BodyLanguageError(f"sample_rate {rate} Hz is outside {MIN_SAMPLE_RATE}.."
                                f"{MAX_SAMPLE_RATE} Hz")
    try:
        samples = np.asarray(audio)
    except (TypeError, ValueError) as exc:
        raise BodyLanguageError(f"audio is not an array of samples: {exc}") from None
    if samples.ndim != 1:
        raise BodyLanguageError(f"audio must be mono samples of shape (N,), got {samples.shape}")
    if samples.size == 0:
        raise BodyLanguageError("audio is empty (zero samples)")
    if not np.issubdtype(samples.dtype, np.floating):
        raise BodyLanguageError(f"audio samples must be floats in [-1, 1], got {samples.dtype}")
    if not np.isfinite(samples).all():
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        raise BodyLanguageError(f"audio holds {bad} NaN or infinite samples")
    return samples.astype(np.float32, copy=False), rate


def _frames_of_duration(duration: Any) -> int:
    if isinstance(duration, bool) or not isinstance(duration, (int, float, np.number)) or not (
            math.isfinite(duration) and duration > 0):
        raise BodyLanguageError(f"duration must be a positive number of seconds, got "
                                f"{duration!r}")
    return max(1, round(float(duration) * FPS))


def _keep(model: BodyLanguageModel, keep: Any, total: int) -> Motion | None:
    if keep is None:
        return None
    if not isinstance(keep, Motion):
        raise BodyLanguageError(f"keep must be a Motion, got {type(keep).__name__}")
    if keep.face_space != model.face_space:
        raise BodyLanguageError(f"keep has face space {keep.face_space!r}; the model writes "
                                f"{model.face_space!r}")
    if keep.fps != model.fps:
        raise BodyLanguageError(f"keep is at {keep.fps} fps; the model writes {model.fps} fps "
                                "(resample it with Motion.resample first)")
    if keep.num_frames != total:
        raise BodyLanguageError(f"keep has {keep.num_frames} frames; the output has {total} "
                                f"(the audio's length at {model.fps:g} fps)")
    return keep


def _frame_span(frames: Any, total: int, keep: Motion | None) -> Span:
    if frames is None:
        return Span(0, total)
    if keep is None:
        raise BodyLanguageError("frames=(a, b) regenerates part of a kept motion: give keep too")
    try:
        a, b = frames
    except (TypeError, ValueError):
        raise BodyLanguageError(f"frames must be a pair (start, stop), got {frames!r}") from None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (a, b)):
        raise BodyLanguageError(f"frames must be whole frame numbers, got {frames!r}")
    if not 0 <= a < b <= total:
        raise BodyLanguageError(f"frames ({a}, {b}) are out of range: need 0 <= start < stop <= "
                                f"{total}")
    return Span(int(a), int(b))


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
    from core.lm.generate import score_tokens
    from core.lm.tasks import collate

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
