"""The project's one checkpoint format: `<name>.safetensors` (weights) + `<name>.json` (config).

Weights go through `safetensors`, which stores raw tensor bytes and a JSON header, so loading a
checkpoint never unpickles code. The JSON file holds the format version, the kind of checkpoint, the
model's config, free metadata, and a manifest of every tensor (dtype and shape) so a file that does
not hold what its config promises is caught at load time rather than deep inside a model.

A checkpoint path is either a file stem (`ckpt/face` -> `ckpt/face.json` + `ckpt/face.safetensors`;
a `.json` or `.safetensors` suffix is accepted and stripped) or an existing folder, which then holds
`checkpoint.json` + `checkpoint.safetensors`.

Saving is atomic per file: each file is written to a temporary name in the same folder, flushed to
disk, and moved over the old one with `os.replace`, the JSON last. A crash while writing (by far the
longest step) leaves the previous checkpoint untouched. Both files carry the same random `save_id`;
in the microseconds between the two renames a crash could pair new weights with the old JSON, and
the id check turns that into a clear error instead of a silently mismatched model.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import safetensors
import safetensors.torch
import torch

from core.errors import BodyLanguageError

DEFAULT_NAME = "checkpoint"
TRAINING_STATE_KIND = "training_state"
TRAINING_STATE_VERSION = 1
_SAVE_ID_KEY = "save_id"
_HEADER_KEYS = ("format_version", "kind", "config", "metadata", "tensors", _SAVE_ID_KEY)
# The largest JSON file the project reads from a model folder. The shipped LM's config is 25 KB;
# a bigger file is damaged or hostile, and reading it whole would cost its size in memory.
MAX_JSON_BYTES = 16 * 2**20


class CheckpointFiles(NamedTuple):
    config: Path
    weights: Path


@dataclass(frozen=True)
class CheckpointHeader:
    """Everything in a checkpoint's JSON file."""

    kind: str
    format_version: int
    config: dict[str, Any]
    metadata: dict[str, Any]
    tensors: dict[str, dict[str, Any]]  # name -> {"dtype": "float32", "shape": [..]}
    save_id: str


@dataclass
class TrainingState:
    """What a resumed training run needs: weights, optimizer, step and random generators."""

    model_state: dict[str, torch.Tensor]
    optimizer_state: Any
    step: int
    rng_state: Any
    config: dict[str, Any]


def checkpoint_files(path: str | os.PathLike) -> CheckpointFiles:
    """The JSON and safetensors paths a checkpoint path stands for (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        stem = path / DEFAULT_NAME
    elif path.suffix in (".json", ".safetensors"):
        stem = path.with_suffix("")
    else:
        stem = path
    return CheckpointFiles(
        stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".safetensors")
    )


def save_checkpoint(
    path: str | os.PathLike,
    kind: str,
    config: Mapping[str, Any],
    tensors: Mapping[str, torch.Tensor | np.ndarray],
    format_version: int = 1,
    metadata: Mapping[str, Any] | None = None,
) -> CheckpointFiles:
    """Write `tensors` and `config` as one checkpoint, replacing any old one only once complete.

    `config` and `metadata` must be JSON-serialisable (tuples come back as lists). Tensors may be
    torch (any device, any safetensors dtype incl. float16/bfloat16) or numpy arrays.
    """
    files = checkpoint_files(path)
    header, weights = _prepare(files.config, kind, config, tensors, format_version, metadata)
    _commit(
        [
            (files.weights, lambda tmp: _write_safetensors(weights, tmp, header["save_id"])),
            (files.config, lambda tmp: _write_json(header, tmp)),
        ]
    )
    return files


def read_header(path: str | os.PathLike) -> CheckpointHeader:
    """The checkpoint's JSON file, validated in shape; the weights are not opened."""
    config_path = checkpoint_files(path).config
    _require_file(config_path, "checkpoint config")
    return _header_from_document(read_json(config_path, "checkpoint config"), config_path)


def read_json(path: str | os.PathLike, what: str) -> Any:
    """The JSON document in file `path`; every way it can be unreadable is a BodyLanguageError
    naming the file and calling it `what` ("checkpoint config", "model manifest").

    Guards what `json.loads` alone does not: a file too large to be what it claims, and nesting so
    deep that the parser exhausts Python's recursion limit (RecursionError, not a ValueError).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise BodyLanguageError(
                f"{what} is {size} bytes, more than the {MAX_JSON_BYTES} bytes it may hold "
                f"(damaged, or not a {what}?)", path
            )
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BodyLanguageError(f"cannot read the {what}: {exc.strerror or exc}", path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyLanguageError(f"{what} is damaged: not valid JSON ({exc})", path) from None
    except RecursionError:
        raise BodyLanguageError(
            f"{what} is damaged: not valid JSON (nested too deeply to read)", path
        ) from None


def read_config(
    path: str | os.PathLike,
    kind: str | None = None,
    supported_versions: int | Iterable[int] | None = None,
) -> dict[str, Any]:
    """The model config stored in a checkpoint, checked against `kind` and `supported_versions`
    when they are given."""
    header = read_header(path)
    _check_kind_and_version(header, checkpoint_files(path).config, kind, supported_versions)
    return header.config


def load_checkpoint(
    path: str | os.PathLike,
    kind: str,
    supported_versions: int | Iterable[int],
    *,
    as_numpy: bool = False,
    required_tensors: Iterable[str] = (),
) -> tuple[dict[str, Any], dict[str, torch.Tensor] | dict[str, np.ndarray]]:
    """(config, tensors) of a checkpoint of `kind` whose format version is in `supported_versions`.

    Tensors come back as CPU torch tensors, or numpy arrays with `as_numpy` (bfloat16, which numpy
    lacks, is widened losslessly to float32). `required_tensors` names tensors the caller needs
    beyond what the checkpoint's own manifest promises.
    """
    files = checkpoint_files(path)
    header = read_header(files.config)
    _check_kind_and_version(header, files.config, kind, supported_versions)
    tensors = _read_safetensors(files.weights, header.save_id)
    _check_manifest(files.weights, header.tensors, tensors, required_tensors)
    # Here, once, so every kind of checkpoint gets it: a NaN weight otherwise loads "fine" and
    # only shows up as frozen or exploding output, far from the file that caused it.
    check_finite(tensors, files.weights)
    if as_numpy:
        return header.config, {name: _to_numpy(t) for name, t in tensors.items()}
    return header.config, tensors


def save_training_state(
    path: str | os.PathLike,
    model_state: Mapping[str, torch.Tensor],
    optimizer_state: Any,
    step: int,
    rng_state: Any,
    config: Mapping[str, Any] | None = None,
) -> CheckpointFiles:
    """Write everything needed to resume training: a checkpoint of kind "training_state" plus
    `<name>.optim.pt` holding the optimizer and random-generator states.

    The `.pt` file goes through `torch.save` because optimizer states are nested dicts of tensors
    and numbers. It is read back with `torch.load(weights_only=True)`, whose unpickler only rebuilds
    tensors and plain containers and refuses any other class, so loading it never runs code. numpy
    arrays inside `rng_state` (e.g. from `numpy.random.get_state()`) are stored as tensors for that
    reason.
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise BodyLanguageError(f"training step must be a non-negative int, got {step!r}", path)
    files = checkpoint_files(path)
    optim_path = _optimizer_path(files)
    header, weights = _prepare(
        files.config,
        TRAINING_STATE_KIND,
        {"step": step, "config": dict(config or {})},
        model_state,
        TRAINING_STATE_VERSION,
        None,
    )
    payload = {
        _SAVE_ID_KEY: header["save_id"],
        "optimizer": _numpy_to_torch(optimizer_state),
        "rng": _numpy_to_torch(rng_state),
    }
    _commit(
        [
            (files.weights, lambda tmp: _write_safetensors(weights, tmp, header["save_id"])),
            (optim_path, lambda tmp: torch.save(payload, tmp)),
            (files.config, lambda tmp: _write_json(header, tmp)),
        ]
    )
    return files


def load_training_state(path: str | os.PathLike) -> TrainingState:
    """The state written by `save_training_state`, tensors on CPU."""
    files = checkpoint_files(path)
    stored, model_state = load_checkpoint(files.config, TRAINING_STATE_KIND, TRAINING_STATE_VERSION)
    header = read_header(files.config)
    optim_path = _optimizer_path(files)
    if not optim_path.is_file():
        raise BodyLanguageError("optimizer state file not found", optim_path)
    try:
        payload = torch.load(optim_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # the unpickler raises many types; every one means a bad file
        raise BodyLanguageError(
            f"optimizer state is corrupt or unsafe: {exc}", optim_path
        ) from None
    if not isinstance(payload, dict) or payload.get(_SAVE_ID_KEY) != header.save_id:
        raise BodyLanguageError(
            "optimizer state does not belong to this checkpoint (interrupted save?)", optim_path
        )
    step = stored.get("step")
    if isinstance(step, bool) or not isinstance(step, int):
        raise BodyLanguageError(f"training state has no integer step: {step!r}", files.config)
    return TrainingState(
        model_state=model_state,
        optimizer_state=payload.get("optimizer"),
        step=step,
        rng_state=payload.get("rng"),
        config=stored.get("config", {}),
    )


# --- writing ------------------------------------------------------------------------------------


def _prepare(
    config_path: Path,
    kind: str,
    config: Mapping[str, Any],
    tensors: Mapping[str, torch.Tensor | np.ndarray],
    format_version: int,
    metadata: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    if not isinstance(kind, str) or not kind:
        raise BodyLanguageError(f"checkpoint kind must be a non-empty string, got {kind!r}")
    if isinstance(format_version, bool) or not isinstance(format_version, int):
        raise BodyLanguageError(f"format_version must be an int, got {format_version!r}")
    if not isinstance(config, Mapping):
        raise BodyLanguageError(f"checkpoint config must be a dict, got {type(config).__name__}")
    weights = _as_storable_tensors(tensors, config_path)
    header = {
        "format_version": format_version,
        "kind": kind,
        "config": dict(config),
        "metadata": dict(metadata or {}),
        "tensors": {
            name: {"dtype": _dtype_name(t.dtype), "shape": list(t.shape)}
            for name, t in weights.items()
        },
        _SAVE_ID_KEY: uuid.uuid4().hex,
    }
    try:
        # Fail before any file is touched if the config cannot be stored as strict JSON.
        json.dumps(header, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BodyLanguageError(
            f"checkpoint config is not JSON-serialisable: {exc}", config_path
        ) from None
    return header, weights


def _as_storable_tensors(
    tensors: Mapping[str, torch.Tensor | np.ndarray], where: Path
) -> dict[str, torch.Tensor]:
    """CPU, contiguous torch tensors, no two sharing memory (safetensors refuses shared ones)."""
    out: dict[str, torch.Tensor] = {}
    seen_storage: set[int] = set()
    for name, value in tensors.items():
        if not isinstance(name, str) or not name:
            raise BodyLanguageError(f"tensor names must be non-empty strings, got {name!r}", where)
        if isinstance(value, np.ndarray):
            try:
                tensor = torch.from_numpy(np.ascontiguousarray(value))
            except TypeError as exc:
                raise BodyLanguageError(
                    f"tensor {name!r}: unsupported dtype: {exc}", where
                ) from None
        elif isinstance(value, torch.Tensor):
            tensor = value.detach().to("cpu").contiguous()
        else:
            raise BodyLanguageError(
                f"tensor {name!r} is a {type(value).__name__}, not a torch tensor or numpy array",
                where,
            )
        storage = tensor.untyped_storage().data_ptr()
        if tensor.numel() and storage in seen_storage:
            tensor = tensor.clone()  # tied weights: store each copy on its own
        seen_storage.add(tensor.untyped_storage().data_ptr())
        out[name] = tensor
    return out


def _write_safetensors(tensors: dict[str, torch.Tensor], path: Path, save_id: str) -> None:
    safetensors.torch.save_file(tensors, str(path), metadata={_SAVE_ID_KEY: save_id})


def _write_json(header: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(header, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _commit(writes: list[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write every file under a temporary name, then move them into place in the given order."""
    temporaries: list[tuple[Path, Path]] = []
    try:
        for final, write in writes:
            final.parent.mkdir(parents=True, exist_ok=True)
            temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex[:12]}.tmp")
            temporaries.append((temporary, final))
            write(temporary)
            # safetensors creates its file owner-only; a checkpoint is meant to be shared.
            os.chmod(temporary, 0o666 & ~_umask())
            _fsync_file(temporary)
        for temporary, final in temporaries:
            os.replace(temporary, final)
    finally:
        for temporary, _ in temporaries:
            temporary.unlink(missing_ok=True)
    for directory in {final.parent for _, final in temporaries}:
        _fsync_directory(directory)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    # Makes the renames themselves durable on POSIX; Windows cannot open folders, and needs not.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _optimizer_path(files: CheckpointFiles) -> Path:
    return files.config.with_name(files.config.name.removesuffix(".json") + ".optim.pt")


def _numpy_to_torch(tree: Any) -> Any:
    """numpy arrays and scalars inside nested containers become tensors and Python numbers."""
    if isinstance(tree, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(tree))
    if isinstance(tree, np.generic):
        return tree.item()
    if isinstance(tree, dict):
        return {key: _numpy_to_torch(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_numpy_to_torch(value) for value in tree)
    return tree


# --- reading ------------------------------------------------------------------------------------


def _header_from_document(document: Any, config_path: Path) -> CheckpointHeader:
    if not isinstance(document, dict):
        raise BodyLanguageError("checkpoint config is not a JSON object", config_path)
    missing = [key for key in _HEADER_KEYS if key not in document]
    if missing:
        raise BodyLanguageError(
            f"checkpoint config lacks {', '.join(missing)} (not a Body Language checkpoint?)",
            config_path,
        )
    version = document["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise BodyLanguageError(f"format_version is not an integer: {version!r}", config_path)
    for key, expected in (("kind", str), ("save_id", str), ("config", dict), ("metadata", dict)):
        if not isinstance(document[key], expected):
            raise BodyLanguageError(f"{key} must be a {expected.__name__}", config_path)
    manifest = document["tensors"]
    if not isinstance(manifest, dict) or not all(
        isinstance(entry, dict) and isinstance(entry.get("dtype"), str)
        and isinstance(entry.get("shape"), list)
        for entry in manifest.values()
    ):
        raise BodyLanguageError("tensors manifest must map names to {dtype, shape}", config_path)
    return CheckpointHeader(
        kind=document["kind"],
        format_version=version,
        config=document["config"],
        metadata=document["metadata"],
        tensors=manifest,
        save_id=document["save_id"],
    )


def _check_kind_and_version(
    header: CheckpointHeader,
    config_path: Path,
    kind: str | None,
    supported_versions: int | Iterable[int] | None,
) -> None:
    if kind is not None and header.kind != kind:
        raise BodyLanguageError(
            f"is a {header.kind!r} checkpoint, expected a {kind!r} checkpoint", config_path
        )
    if supported_versions is None:
        return
    versions = (
        [supported_versions] if isinstance(supported_versions, int) else list(supported_versions)
    )
    if header.format_version not in versions:
        expected = " or ".join(str(v) for v in sorted(versions)) or "none"
        raise BodyLanguageError(
            f"{header.kind} checkpoint has format version {header.format_version}, "
            f"this code reads format version {expected}",
            config_path,
        )


def _require_file(path: Path, what: str) -> None:
    """A regular file, not just a name: reading a FIFO or a device would block or never end."""
    if not path.exists():
        raise BodyLanguageError(f"{what} not found", path)
    if not path.is_file():
        raise BodyLanguageError(f"{what} is not a regular file", path)


def _read_safetensors(weights_path: Path, save_id: str) -> dict[str, torch.Tensor]:
    _require_file(weights_path, "checkpoint weights")
    try:
        with safetensors.safe_open(str(weights_path), framework="pt", device="cpu") as handle:
            stored_id = (handle.metadata() or {}).get(_SAVE_ID_KEY)
            if stored_id != save_id:
                raise BodyLanguageError(
                    "weights and config come from different saves (interrupted save or files "
                    "mixed from two checkpoints)",
                    weights_path,
                )
            return {name: handle.get_tensor(name) for name in handle.keys()}
    except BodyLanguageError:
        raise
    except (safetensors.SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise BodyLanguageError(f"weights are corrupt or truncated: {exc}", weights_path) from None


def _check_manifest(
    weights_path: Path,
    manifest: dict[str, dict[str, Any]],
    tensors: dict[str, torch.Tensor],
    required: Iterable[str],
) -> None:
    missing = sorted((set(manifest) | set(required)) - set(tensors))
    if missing:
        raise BodyLanguageError(f"weights lack tensors {', '.join(missing)}", weights_path)
    unexpected = sorted(set(tensors) - set(manifest))
    if unexpected:
        raise BodyLanguageError(
            f"weights hold tensors the config does not list: {', '.join(unexpected)}",
            weights_path,
        )
    for name, entry in manifest.items():
        tensor = tensors[name]
        found = {"dtype": _dtype_name(tensor.dtype), "shape": list(tensor.shape)}
        if found != {"dtype": entry["dtype"], "shape": entry["shape"]}:
            raise BodyLanguageError(
                f"tensor {name!r} is {found['dtype']} {found['shape']}, "
                f"the config promises {entry['dtype']} {entry['shape']}",
                weights_path,
            )


def check_finite(tensors: Mapping[str, torch.Tensor], where: str | os.PathLike) -> None:
    """Refuse NaN or infinite values in any floating tensor, naming the first bad tensor."""
    for name, tensor in tensors.items():
        if not (tensor.is_floating_point() or tensor.is_complex()) or not tensor.numel():
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            bad = int(finite.numel() - finite.sum())
            raise BodyLanguageError(
                f"tensor {name!r} holds {bad} NaN or infinite value{'s' if bad > 1 else ''} "
                "(damaged weights, or a training run that diverged)", where
            )


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.to(torch.float32)
    return tensor.numpy()
