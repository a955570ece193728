"""Checks of what callers hand the API, made before any work: each bad input becomes a
BodyLanguageError that names it, instead of a RecursionError, a MemoryError, a hang or minutes of
work that end in an unrelated message.

  check_generate_arguments  seed, prompt, transcript and how long the output would be
  check_motion_length       a motion handed to predict_emotion (or any per-frame work)
  check_seconds             one length in seconds against the one-hour limit
  whole_sample_rate         a sample rate: a whole number of Hz in the range audio is read at
  check_model_folder        a model folder before anything in it is built: its JSON files, files
                            that lead outside it, the speech model the audio tokenizer names, and
                            the language model's config against the shapes of its weights
  check_inside              a path that must stay inside a folder (no "..", no escaping link)
  check_state_fits          a config against a checkpoint's tensor shapes, without allocating
  unknown_fields            the keys of a stored config that its dataclass does not have
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BodyLanguageError

# torch and core.checkpoint are imported where needed: the argument checks are used by light
# modules (the text tokenizer) that must not pull torch in on import.

# Longest audio, duration or motion one request may cover. An hour of output is ~108 000 frames,
# already minutes of CPU work; far more is a typo or an attack that would exhaust memory.
MAX_SECONDS = 3600.0
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000  # what audio may be read, decoded or resampled at
# A model folder's manifest (core/model_folder.py takes the name from here: this module must load
# without torch or the model code).
MANIFEST_NAME = "model.json"


# --- arguments ------------------------------------------------------------------------------------


def check_generate_arguments(
    *,
    seed: Any = 0,
    prompt: Any = None,
    transcript: Any = None,
    duration: Any = None,
    audio: Any = None,
    sample_rate: Any = None,
    keep: Any = None,
) -> None:
    """What `core.api.generate` must refuse before reading audio or building a single row.

    Only the failures the API's own checks would turn into tracebacks or runaway work are caught
    here; everything else (types, ranges, mono audio...) keeps the API's own messages.
    """
    check_seed(seed)
    check_text(prompt, "prompt")
    check_text(transcript, "transcript")
    if _is_real_number(duration) and math.isfinite(duration):  # inf, NaN: the API's message
        check_seconds(float(duration), "duration")
    if isinstance(audio, np.ndarray) and audio.ndim >= 1 and _is_real_number(sample_rate) \
            and sample_rate > 0:
        check_seconds(audio.shape[0] / float(sample_rate), "audio")
    if keep is not None:
        check_motion_length(keep, "keep")


def check_seed(seed: Any) -> None:
    """A seed must fit torch's 64-bit generator state (beyond it: an OverflowError/ValueError)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        return  # not a whole number: core.api says so
    if not INT64_MIN <= int(seed) <= INT64_MAX:
        raise BodyLanguageError(
            f"seed {int(seed)} is outside the 64-bit range {INT64_MIN}..{INT64_MAX}"
        )


def check_text(value: Any, name: str) -> None:
    """Text must be encodable as UTF-8: a lone surrogate (from a broken decode, or a crafted
    request) makes the tokenizer raise a TypeError that names nothing."""
    if not isinstance(value, str):
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BodyLanguageError(
            f"{name} holds an invalid character {value[exc.start]!r} at position {exc.start} "
            "(a lone surrogate, not valid Unicode text)"
        ) from None


def check_seconds(seconds: float, name: str, limit: float = MAX_SECONDS) -> None:
    """`seconds` of `name` must be at most `limit` (one hour by default)."""
    if math.isfinite(seconds) and seconds <= limit:
        return
    raise BodyLanguageError(
        f"{name} lasts {seconds:g} s, longer than the {limit:g} s ({limit / 3600:g} h) one "
        "request may cover; split it into shorter pieces"
    )


def whole_sample_rate(sample_rate: Any) -> int:
    """`sample_rate` as a whole number of Hz in [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE] (16000.0 is
    fine), or an error."""
    try:
        whole = int(sample_rate)
        valid = not isinstance(sample_rate, bool) and whole == sample_rate
    except (TypeError, ValueError, OverflowError):
        valid = False
    if not valid or not MIN_SAMPLE_RATE <= whole <= MAX_SAMPLE_RATE:
        raise BodyLanguageError(f"sample rate must be a whole number of Hz in "
                                f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}, got {sample_rate!r}")
    return whole


def check_motion_length(motion: Any, name: str = "motion") -> None:
    """A motion (anything with `num_frames` and `fps`) must last at most MAX_SECONDS."""
    frames, fps = getattr(motion, "num_frames", None), getattr(motion, "fps", None)
    if _is_real_number(frames) and _is_real_number(fps) and fps > 0:
        check_seconds(frames / float(fps), name)


def _is_real_number(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.number))


# --- model folders -------------------------------------------------------------------------------


def unknown_fields(cls: type, values: Mapping[str, Any]) -> list[str]:
    """The keys of `values` that are not fields of the dataclass `cls`, sorted: a stored config
    that names one was written by other code."""
    return sorted(set(values) - {f.name for f in dataclasses.fields(cls)})


def check_inside(path: str | os.PathLike, root: str | os.PathLike, what: str) -> Path:
    """`path` with links resolved, refused unless it lies inside `root` (also resolved): a "..",
    an absolute path or a symbolic link must not lead a model folder's reader elsewhere."""
    resolved, base = Path(path).resolve(), Path(root).resolve()
    if resolved == base or base in resolved.parents:
        return resolved
    raise BodyLanguageError(
        f"{what} leads outside the model folder {str(base)!r} (to {str(resolved)!r}); a model "
        "folder must hold all its files itself", path
    )


def check_model_folder(path: str | os.PathLike) -> None:
    """Refuse a model folder whose files could hang, exhaust or mislead the loader, before any
    of it is built. A folder or manifest that is missing or of the wrong format is left to
    `core.model_folder.read_manifest`, whose messages say what to do."""
    from core.checkpoint import checkpoint_files, read_json

    folder = Path(path)
    if folder.name == MANIFEST_NAME and folder.is_file():
        folder = folder.parent
    manifest_path = folder / MANIFEST_NAME
    if not folder.is_dir() or not manifest_path.is_file():
        return
    check_inside(manifest_path, folder, MANIFEST_NAME)
    manifest = read_json(manifest_path, "model manifest")
    pieces = manifest.get("pieces") if isinstance(manifest, dict) else None
    if not isinstance(pieces, dict):
        return
    for piece, entry in pieces.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("checkpoint"), str):
            continue
        stem = folder / entry["checkpoint"]
        for file in checkpoint_files(stem):
            if os.path.lexists(file):
                check_inside(file, folder, f"the {piece} checkpoint file")
        kind = entry.get("kind")
        if kind == "lm":
            _check_language_model(stem)
        elif kind == "audio_tokenizer":
            _check_speech_model_folder(stem, folder)


def _check_language_model(stem: Path) -> None:
    """The LM's config is checked against the shapes its weights file promises, on torch's
    "meta" device (shapes only, no memory), so a config of absurd size fails here and not after
    gigabytes are allocated."""
    from core.checkpoint import checkpoint_files, read_header
    from core.lm.config import LMConfig
    from core.lm.lm_checkpoint import CHECKPOINT_KIND, FORMAT_VERSION, TEXT_ROWS_KEY
    from core.lm.model import MotionLanguageModel

    config_path = checkpoint_files(stem).config
    if not config_path.is_file():
        return  # core.api names the missing file
    header = read_header(stem)
    if header.kind != CHECKPOINT_KIND or header.format_version != FORMAT_VERSION:
        return  # core.api's kind and version check has the better message
    try:
        config = LMConfig.from_dict(header.config)
    except BodyLanguageError as exc:
        raise BodyLanguageError(str(exc), config_path) from None
    # Frozen MiniLM word-piece rows come from the installed package, not from the file.
    optional = (TEXT_ROWS_KEY,) if config.freeze_text_embeddings else ()
    check_state_fits(
        lambda: MotionLanguageModel(config, pretrained=False).state_dict(),
        header.tensors, config_path, optional,
    )


def _check_speech_model_folder(stem: Path, folder: Path) -> None:
    """An audio tokenizer built on a local speech model (`hf:<folder>`) must name a folder inside
    the model folder: a crafted one must not point the loader at any folder on the machine."""
    from core.checkpoint import checkpoint_files, read_header
    from core.tokenizers.audio_features import HF_PREFIX

    config_path = checkpoint_files(stem).config
    if not config_path.is_file():
        return
    source = read_header(stem).config.get("feature_source")
    if not isinstance(source, str) or not source.startswith(HF_PREFIX):
        return
    named = Path(source[len(HF_PREFIX):]).expanduser()
    # A relative folder is relative to the checkpoint's own folder (core.tokenizers.audio).
    where = named if named.is_absolute() else config_path.parent / named
    check_inside(where, folder, f"the audio tokenizer's speech model folder {source!r}")


def check_state_fits(
    build: Callable[[], Mapping[str, Any]],
    manifest: Mapping[str, Mapping[str, Any]],
    where: str | os.PathLike,
    optional: Collection[str] = (),
) -> None:
    """That the tensors `build()` makes have exactly the names and shapes a checkpoint's
    manifest lists (`optional` names may be absent from it). `build` runs on torch's meta
    device: modules get their shapes but no memory, whatever size the config asks for."""
    import torch

    with torch.device("meta"):
        try:
            state = build()
        except BodyLanguageError as exc:
            if exc.path is not None:
                raise
            raise BodyLanguageError(str(exc), where) from None
        expected = {name: list(tensor.shape) for name, tensor in state.items()}
    missing = sorted(set(expected) - set(manifest) - set(optional))
    if missing:
        raise BodyLanguageError(
            f"the config builds tensor {missing[0]!r} the weights do not hold"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""), where
        )
    unexpected = sorted(set(manifest) - set(expected))
    if unexpected:
        raise BodyLanguageError(
            f"the weights hold tensor {unexpected[0]!r} the config does not build"
            + (f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""), where
        )
    for name, shape in expected.items():
        stored = manifest.get(name)
        if stored is not None and list(stored.get("shape", [])) != shape:
            raise BodyLanguageError(
                f"the config builds tensor {name!r} of shape {shape}, the weights hold "
                f"{list(stored.get('shape', []))}", where
            )
