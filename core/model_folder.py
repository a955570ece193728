"""Model folders: what `core.api.load_model` reads and `save_model_bundle` writes.

A model folder holds three project checkpoints — the language model (`lm.*`), the motion tokenizer
(`motion_tokenizer.*`) and the audio tokenizer (`audio_tokenizer.*`) — and `model.json`, a small
manifest naming the pieces with their kinds, format versions and save ids, so pieces copied in
from another training run are caught at load time instead of producing nonsense.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from core.checkpoint import checkpoint_files, read_header
from core.errors import BodyLanguageError
from core.lm.lm_checkpoint import CHECKPOINT_KIND as LM_KIND
from core.lm.lm_checkpoint import FORMAT_VERSION as LM_FORMAT
from core.lm.masked import CHECKPOINT_KIND as MASKED_KIND
from core.lm.masked import FORMAT_VERSION as MASKED_FORMAT
from core.lm.masked import MaskedMotionModel
from core.lm.model import MotionLanguageModel
from core.rates import FPS
from core.skeleton import PARTS
from core.tokenizers.audio import FORMAT_VERSION as AUDIO_FORMAT
from core.tokenizers.audio import KIND as AUDIO_KIND
from core.tokenizers.audio import AudioTokenizer
from core.tokenizers.motion_vqvae import CHECKPOINT_KIND as MOTION_KIND
from core.tokenizers.motion_vqvae import FORMAT_VERSION as MOTION_FORMAT
from core.tokenizers.motion_vqvae import FRAMES_PER_TOKEN, MotionTokenizer
from core.validate import MANIFEST_NAME, check_model_folder

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "checkpoints" / "default"
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


def piece_path(folder: Path, manifest: Mapping[str, Any], piece: str) -> Path:
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


def open_model_folder(path: str | os.PathLike | None) -> tuple[Path, dict[str, Any]]:
    """The folder `path` names (None: the shipped one; `model.json` itself names its folder) and
    its checked manifest."""
    check_model_folder(DEFAULT_MODEL_DIR if path is None else path)
    folder = DEFAULT_MODEL_DIR if path is None else Path(path)
    if folder.name == MANIFEST_NAME and folder.is_file():
        folder = folder.parent
    return folder, read_manifest(folder)
