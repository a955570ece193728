"""BEAT2 motion npz files: read, write byte-deterministically, and find the clips of a BEAT2 tree.

A BEAT2 file (`smplxflame_30/*.npz`) holds `poses` (T, 165) = 55 joints x 3 axis-angle,
`expressions` (T, 100) FLAME coefficients, `trans` (T, 3), `betas`, `gender`, `model` and
`mocap_frame_rate`.

Conventions for the files we write (their keys and the defaults a reader assumes are
core/shared/motion_files.py's, which the add-on shares):
- The face is stored in its own space. FLAME faces go under `expressions`, exactly as BEAT2 does.
  ARKit-52 faces (our corpus) go under `face_arkit52` (T, 52) with `face_space` = "arkit52", and
  no `expressions` key is written: zeros there would make a BEAT2 loader that ignores
  `face_space` animate a frozen face without any sign that something is missing.
- A file without `face_space` is a BEAT2 file and reads as face space "flame100".
- Every other key (`model` included) is kept: it lands in `Motion.extras` on read and is written
  back on write, so read -> write -> read returns every key with the same dtype and value.
- `betas` are written as zeros(300) (BEAT2's count, a neutral body) when the Motion has none,
  `model` as "smplx2020" when extras hold none, so BEAT2 loaders find what they expect.
- Writing is byte-deterministic: the zip is written member by member in sorted key order with a
  fixed timestamp, so the same Motion always gives the same bytes (the corpus relies on it).
- Files are always read with allow_pickle=False.
"""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import BodyLanguageError
from core.face_spaces import FACE_SPACES, channel_names
from core.motion import Motion
from core.shared.motion_files import (
    BEAT2_FACE_SPACE,
    BEAT2_FRAME_RATE,
    BEAT2_MODEL,
    BEAT2_NUM_BETAS,
    BETAS,
    FACE_SPACE,
    FRAME_RATE,
    GENDER,
    POSES,
    TRANS,
    face_key,
)
from core.skeleton import NUM_JOINTS

_FACE_KEYS = {space: face_key(space) for space in FACE_SPACES}
# Keys whose meaning this module owns, besides the face key of the motion's own space; every
# other key (the other space's face key too) is carried through `Motion.extras`.
_OWNED_KEYS = frozenset({POSES, TRANS, BETAS, GENDER, FRAME_RATE, FACE_SPACE})
# Zip's epoch: a fixed member timestamp makes two writes of the same data byte-identical.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)

# BEAT2 clip index ranges (inclusive) per emotion, from the dataset's recording protocol.
BEAT2_EMOTION_RANGES: dict[str, tuple[int, int]] = {
    "neutral": (0, 64),
    "happiness": (65, 72),
    "anger": (73, 80),
    "sadness": (81, 86),
    "contempt": (87, 94),
    "surprise": (95, 102),
    "fear": (103, 110),
    "disgust": (111, 118),
}


def read_motion_npz(path: str | os.PathLike) -> Motion:
    """The Motion stored in a BEAT2-layout npz; unknown keys go into `Motion.extras`."""
    arrays = _load_npz(path)
    if "poses" not in arrays:
        raise BodyLanguageError("has no 'poses' array; not a BEAT2 motion file", path)
    poses = _numeric(arrays, "poses", path)
    if poses.ndim != 2 or poses.shape[1] != NUM_JOINTS * 3:
        raise BodyLanguageError(
            f"'poses' has shape {poses.shape}, expected (T, {NUM_JOINTS * 3})", path
        )
    frames = poses.shape[0]
    if frames == 0:
        raise BodyLanguageError("'poses' has zero frames", path)

    face_space = _face_space(arrays, path)
    face_key = _FACE_KEYS[face_space]
    if face_key not in arrays:
        raise BodyLanguageError(f"has no {face_key!r} array for face space {face_space!r}", path)
    face = _numeric(arrays, face_key, path)
    _check_frames(face, face_key, frames, len(channel_names(face_space)), path)
    if "trans" not in arrays:
        raise BodyLanguageError("has no 'trans' array", path)
    trans = _numeric(arrays, "trans", path)
    _check_frames(trans, "trans", frames, 3, path)

    betas = None
    if "betas" in arrays:
        betas = _numeric(arrays, "betas", path).reshape(-1)
    owned = _OWNED_KEYS | {face_key}
    extras = {key: value for key, value in arrays.items() if key not in owned}
    try:
        return Motion(
            poses=poses.reshape(frames, NUM_JOINTS, 3),
            trans=trans,
            face=face,
            face_space=face_space,
            fps=_frame_rate(arrays, path),
            betas=betas,
            gender=_text(arrays, "gender", path) if "gender" in arrays else "neutral",
            extras=extras,
        )
    except BodyLanguageError as exc:
        raise BodyLanguageError(str(exc), path) from None


def write_motion_npz(
    path: str | os.PathLike, motion: Motion, extra: Mapping[str, object] | None = None
) -> None:
    """Write `motion` (plus `motion.extras`, then `extra`, which wins on clashes) as an npz.

    The bytes depend only on the data: same Motion, same file.
    """
    carried = {**motion.extras, **(extra or {})}
    clash = sorted((_OWNED_KEYS | {_FACE_KEYS[motion.face_space]}) & carried.keys())
    if clash:
        raise BodyLanguageError(
            f"extra keys {clash} would overwrite the motion's own arrays", path
        )
    arrays: dict[str, np.ndarray] = {}
    for key, value in carried.items():
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise BodyLanguageError(
                f"extra key {key!r} holds Python objects; only plain arrays can be stored "
                "(files are read without pickle)",
                path,
            )
        arrays[str(key)] = array
    arrays.setdefault("model", np.array(BEAT2_MODEL))

    frames = motion.num_frames
    arrays["poses"] = motion.poses.reshape(frames, NUM_JOINTS * 3)
    arrays["trans"] = motion.trans
    arrays[_FACE_KEYS[motion.face_space]] = motion.face
    if motion.face_space != BEAT2_FACE_SPACE:
        arrays[FACE_SPACE] = np.array(motion.face_space)
    arrays["betas"] = (
        np.zeros(BEAT2_NUM_BETAS, np.float32) if motion.betas is None else motion.betas
    )
    arrays["gender"] = np.array(motion.gender)
    # BEAT2 stores the rate as an integer; keep that whenever the rate is whole.
    fps = motion.fps
    # Explicit widths: a bare int would be int32 on Windows and change the bytes.
    arrays[FRAME_RATE] = (
        np.array(int(fps), np.int64) if fps.is_integer() else np.array(fps, np.float64)
    )
    _save_npz_deterministic(path, arrays)


def emotion_of_clip(name: str | os.PathLike) -> str:
    """The emotion of a BEAT2 clip from its name `speaker_name_type_start_end` (a path works too).

    The start index decides when a name spans two indices.
    """
    stem = Path(name).stem
    parts = stem.split("_")
    if len(parts) < 5 or not all(p.isdigit() for p in (parts[0], *parts[-3:])):
        raise BodyLanguageError(
            f"clip name {stem!r} does not follow BEAT2's speaker_name_type_start_end pattern"
        )
    index = int(parts[-2])
    for emotion, (low, high) in BEAT2_EMOTION_RANGES.items():
        if low <= index <= high:
            return emotion
    raise BodyLanguageError(f"clip {stem!r} has index {index}, outside BEAT2's ranges 0-118")


@dataclass(frozen=True)
class Beat2Clip:
    """One clip of a BEAT2-layout tree and the files that belong to it."""

    id: str
    npz: Path
    wav: Path | None
    textgrid: Path | None
    split: str | None  # "train", "val", "test", "additional", ...; None when not in the csv
    emotion: str | None  # None when the id does not follow BEAT2's naming


def iter_beat2_clips(root: str | os.PathLike) -> Iterator[Beat2Clip]:
    """The clips under a BEAT2 root (e.g. `beat_english_v2.0.0`), sorted by id.

    A clip is an npz in `smplxflame_30/`; its audio is `wave16k/<id>.wav`, its transcript
    `textgrid/<id>.TextGrid`, its split the `type` column of `train_test_split.csv`.
    """
    root = Path(root)
    motion_dir = root / "smplxflame_30"
    if not motion_dir.is_dir():
        raise BodyLanguageError("has no smplxflame_30/ folder; not a BEAT2 root", root)
    splits = _read_splits(root / "train_test_split.csv")
    for npz in sorted(motion_dir.glob("*.npz")):
        clip_id = npz.stem
        wav = root / "wave16k" / f"{clip_id}.wav"
        textgrid = root / "textgrid" / f"{clip_id}.TextGrid"
        try:
            emotion: str | None = emotion_of_clip(clip_id)
        except BodyLanguageError:
            emotion = None
        yield Beat2Clip(
            id=clip_id,
            npz=npz,
            wav=wav if wav.is_file() else None,
            textgrid=textgrid if textgrid.is_file() else None,
            split=splits.get(clip_id),
            emotion=emotion,
        )


def _read_splits(csv_path: Path) -> dict[str, str]:
    """Clip id -> split from BEAT2's train_test_split.csv; empty when the file is absent."""
    if not csv_path.is_file():
        return {}
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            fields = set(reader.fieldnames or ())
            if not {"id", "type"} <= fields:
                raise BodyLanguageError(
                    f"needs columns 'id' and 'type', found {sorted(fields)}", csv_path
                )
            return {row["id"].strip(): row["type"].strip() for row in reader}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BodyLanguageError(f"cannot read the split table: {exc}", csv_path) from None


def _load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an npz, read without pickle, or an error that names the file."""
    if not Path(path).is_file():
        raise BodyLanguageError("motion file not found", path)
    if not zipfile.is_zipfile(path):
        raise BodyLanguageError("is not an npz archive (not a zip file)", path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as exc:
        # numpy says "pickled data" for object arrays and for members that are not .npy.
        raise BodyLanguageError(f"holds an array that cannot be read safely: {exc}", path) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise BodyLanguageError(f"is a damaged npz archive: {exc}", path) from None
    # np.load hands back raw bytes for members that are not .npy arrays.
    odd = sorted(key for key, value in arrays.items() if not isinstance(value, np.ndarray))
    if odd:
        raise BodyLanguageError(f"holds members that are not .npy arrays: {odd}", path)
    return arrays


def _numeric(arrays: Mapping[str, np.ndarray], key: str, path: str | os.PathLike) -> np.ndarray:
    array = arrays[key]
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise BodyLanguageError(f"{key!r} is not numeric (dtype {array.dtype})", path)
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise BodyLanguageError(f"{key!r} holds {bad} NaN or infinite values", path)
    return array


def _check_frames(
    array: np.ndarray, key: str, frames: int, width: int, path: str | os.PathLike
) -> None:
    if array.shape != (frames, width):
        raise BodyLanguageError(
            f"{key!r} has shape {array.shape}, expected ({frames}, {width}) to match 'poses'", path
        )


def _text(arrays: Mapping[str, np.ndarray], key: str, path: str | os.PathLike) -> str:
    array = arrays[key]
    if array.size != 1 or array.dtype.kind not in "US":
        raise BodyLanguageError(f"{key!r} should be a single string, got {array!r}", path)
    value = array.reshape(()).item()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _face_space(arrays: Mapping[str, np.ndarray], path: str | os.PathLike) -> str:
    if FACE_SPACE not in arrays:
        return BEAT2_FACE_SPACE
    space = _text(arrays, FACE_SPACE, path)
    if space not in _FACE_KEYS:
        raise BodyLanguageError(
            f"unknown face_space {space!r}; expected one of {sorted(_FACE_KEYS)}", path
        )
    return space


def _frame_rate(arrays: Mapping[str, np.ndarray], path: str | os.PathLike) -> float:
    """BEAT2's `mocap_frame_rate`; 30 when absent, as the layout is 30 fps by definition."""
    if FRAME_RATE not in arrays:
        return BEAT2_FRAME_RATE
    rate = arrays[FRAME_RATE]
    if rate.size != 1 or not np.issubdtype(rate.dtype, np.number):
        raise BodyLanguageError(f"'mocap_frame_rate' should be one number, got {rate!r}", path)
    fps = float(rate.reshape(()))
    if not (np.isfinite(fps) and fps > 0):
        raise BodyLanguageError(f"'mocap_frame_rate' must be positive, got {fps!r}", path)
    return fps


def _save_npz_deterministic(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """An npz np.load reads, whose bytes depend only on `arrays` (no clock, no key order).

    Written to a sibling temporary file first so a failed write never leaves half a file.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.partial")
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
            for key in sorted(arrays):
                member = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE_TIME)
                member.create_system = 3  # Unix, whatever machine writes it
                member.external_attr = 0o644 << 16
                member.compress_type = zipfile.ZIP_STORED
                # force_zip64 as np.savez does: the member size is unknown until written.
                with archive.open(member, "w", force_zip64=True) as handle:
                    np.lib.format.write_array(handle, np.asarray(arrays[key]), allow_pickle=False)
        os.replace(temporary, target)
    except (OSError, ValueError) as exc:
        temporary.unlink(missing_ok=True)
        raise BodyLanguageError(f"cannot write motion file: {exc}", path) from None
