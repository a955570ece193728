"""Motion npz files exchanged with the worker, on the add-on's side (numpy only, no bpy).

The worker's results come back in BEAT2 layout, kept parts go the other way as keep files, and
Export Performance writes a BEAT2-layout file; the keys of all three are shared/motion_files.py's.
Files are always read without pickle.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .motion_arrays import AddonInputError, MotionArrays
from .shared.face_spaces import FACE_SPACES
from .shared.motion_files import (
    BEAT2_FACE_SPACE,
    BEAT2_FRAME_RATE,
    BEAT2_MODEL,
    BEAT2_NUM_BETAS,
    BETAS,
    FACE_NAMES,
    FACE_SPACE,
    FRAME_RATE,
    GENDER,
    KEEP_FACE,
    KEPT_PARTS,
    MODEL,
    POSES,
    TRANS,
    face_key,
)
from .skeleton_data import NUM_JOINTS


def _load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError) as exc:
        raise AddonInputError(f"{path}: cannot read motion npz: {exc}") from None


def read_motion_file(path: str | os.PathLike) -> MotionArrays:
    """A worker result (or any BEAT2 / SMPL-X npz with poses, trans, mocap_frame_rate)."""
    arrays = _load(path)
    missing = [key for key in (POSES, TRANS) if key not in arrays]
    if missing:
        raise AddonInputError(f"{path}: motion npz lacks {', '.join(missing)}")
    poses = np.asarray(arrays[POSES], np.float64)
    if poses.ndim != 2 or poses.shape[1] != NUM_JOINTS * 3:
        raise AddonInputError(f"{path}: poses have shape {poses.shape}, expected (T, "
                              f"{NUM_JOINTS * 3})")
    fps = float(arrays.get(FRAME_RATE, BEAT2_FRAME_RATE))
    space = str(arrays[FACE_SPACE]) if FACE_SPACE in arrays else BEAT2_FACE_SPACE
    face = arrays.get(face_key(space))
    names: tuple[str, ...] = ()
    if face is not None:
        if FACE_NAMES in arrays:
            names = tuple(str(name) for name in arrays[FACE_NAMES])
        else:
            names = tuple(f"Exp{i:03d}" for i in range(face.shape[-1]))
    try:
        return MotionArrays.from_arrays(
            poses.reshape(len(poses), NUM_JOINTS, 3), arrays[TRANS], face, names, fps)
    except AddonInputError as exc:
        raise AddonInputError(f"{path}: {exc}") from None


def write_keep_file(
    path: str | os.PathLike,
    poses: np.ndarray,
    trans: np.ndarray,
    face: np.ndarray | None,
    face_names: Sequence[str],
    fps: float,
    parts: Sequence[str],
) -> Path:
    """The parts to keep, for the worker to condition on (poses (K, 55, 3) axis-angle)."""
    poses = np.asarray(poses, np.float32)
    frames = len(poses)
    face_array = (np.zeros((frames, 0), np.float32) if face is None
                  else np.asarray(face, np.float32))
    target = Path(path)
    with target.open("wb") as file:
        np.savez(file, **{
            POSES: poses.reshape(frames, NUM_JOINTS * 3),
            TRANS: np.asarray(trans, np.float32),
            KEEP_FACE: face_array,
            FACE_NAMES: np.array(list(face_names), dtype=str),
            FRAME_RATE: np.float64(fps),
            KEPT_PARTS: np.array(list(parts), dtype=str),
        })
    return target


def face_in_space(face: np.ndarray | None, names: Sequence[str], frames: int
                  ) -> tuple[str, np.ndarray, int]:
    """(space, (frames, F) face in that space's channel order, channels found) for the known
    face space that holds most of `names`; channels the face lacks are zeros."""
    names = list(names)
    space = max(FACE_SPACES, key=lambda key: len(set(FACE_SPACES[key]) & set(names)))
    channels = FACE_SPACES[space]
    full = np.zeros((frames, len(channels)), np.float32)
    found = 0
    for column, channel in enumerate(channels):
        if face is not None and channel in names:
            full[:, column] = face[:, names.index(channel)]
            found += 1
    return space, full, found


def write_beat2_file(path: str | os.PathLike, poses: np.ndarray, trans: np.ndarray,
                     face: np.ndarray, space: str, fps: float) -> Path:
    """A motion as a BEAT2-layout npz, as core/io/beat2.py writes one: poses (T, 165), trans,
    the face under its space's key (with `face_space` and `face_names` unless it is FLAME),
    neutral betas, gender and model, and the frame rate (an integer when whole)."""
    poses = np.asarray(poses, np.float32)
    frames = len(poses)
    arrays = {
        POSES: poses.reshape(frames, NUM_JOINTS * 3),
        TRANS: np.asarray(trans, np.float32),
        face_key(space): np.asarray(face, np.float32),
        BETAS: np.zeros(BEAT2_NUM_BETAS, np.float32),
        GENDER: np.array("neutral"),
        MODEL: np.array(BEAT2_MODEL),
        FRAME_RATE: (np.array(int(fps), np.int64) if float(fps).is_integer()
                     else np.array(fps, np.float64)),
    }
    if space != BEAT2_FACE_SPACE:
        arrays[FACE_SPACE] = np.array(space)
        arrays[FACE_NAMES] = np.array(list(FACE_SPACES[space]), dtype=str)
    target = Path(path)
    with target.open("wb") as file:
        np.savez(file, **arrays)
    return target
