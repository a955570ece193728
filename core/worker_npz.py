"""The npz files the worker (core/worker.py) reads and writes, laid out as
core/shared/motion_files.py says.

Results are written by core.io.beat2; a kept motion is fitted to the clip's length by holding its
last frame. A `keep` or `motion` file may also be BEAT2 layout (a result of this worker, say): a
file without `face` is read by core.io.beat2, the module that writes results, so both agree on
its keys.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BodyLanguageError
from core.rates import FPS
from core.shared.motion_files import FACE_NAMES, FRAME_RATE, KEPT_PARTS, POSES, TRANS
from core.shared.motion_files import KEEP_FACE as KEEP_FACE_KEY
from core.shared.skeleton import PARTS
from core.worker_errors import RequestError
from core.worker_fields import MAX_CLIP_SECONDS


def npz_arrays(path: object, what: str) -> dict[str, np.ndarray]:
    """Every array of the npz at `path` (never unpickled), or RequestError naming the file."""
    if not isinstance(path, str) or not path:
        raise RequestError(f"{what}: no file path given")
    if not Path(path).is_file():
        raise RequestError(f"{path}: {what} file not found")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy: one array, no names
            raise ValueError("it holds a single .npy array, not an npz archive")
        with loaded as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise RequestError(f"{path}: cannot read {what} npz: {exc}") from None


def face_space_of(names: tuple[str, ...], default: str) -> str:
    """The face space whose channel names these are (by majority), else `default`."""
    from core.face_spaces import FACE_SPACES

    if not names:
        return default
    best = max(FACE_SPACES, key=lambda space: len(set(FACE_SPACES[space]) & set(names)))
    return best if set(FACE_SPACES[best]) & set(names) else default


def save_motion(motion: Any, path: str) -> None:
    """Write a Motion as a BEAT2-layout npz with `face_names`, atomically."""
    from core.face_spaces import channel_names
    from core.io.beat2 import write_motion_npz

    target = Path(path)
    partial = target.with_name(target.name + ".partial.npz")
    try:
        write_motion_npz(partial, motion,
                         extra={FACE_NAMES: np.array(channel_names(motion.face_space))})
        os.replace(partial, target)
    except OSError as exc:
        raise RequestError(f"{path}: cannot write the result: {exc.strerror or exc}") from None
    finally:
        # Only this function's own partial file goes; after os.replace it is already gone.
        partial.unlink(missing_ok=True)


def _keep_layout(arrays: Mapping[str, np.ndarray], path: str,
                 what: str) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, tuple[str, ...]]:
    """(poses (K, 55, 3), trans, fps, face (K, F), face names) of an add-on keep file."""
    try:
        poses = np.asarray(arrays[POSES], np.float32).reshape(len(arrays[POSES]), 55, 3)
        trans = np.asarray(arrays[TRANS], np.float32)
        fps = float(arrays[FRAME_RATE])
        given = np.asarray(arrays[KEEP_FACE_KEY], np.float32)
    except (KeyError, ValueError, TypeError) as exc:
        raise RequestError(f"{path}: {what} needs poses (K, 165), trans (K, 3), "
                           f"{KEEP_FACE_KEY} (K, F) and mocap_frame_rate: {exc}") from None
    names = tuple(str(name) for name in arrays.get(FACE_NAMES, np.array([], str)).reshape(-1))
    if given.shape != (len(poses), len(names)):
        raise RequestError(f"{path}: {what} face has shape {given.shape}, expected "
                           f"({len(poses)}, {len(names)}) for its face_names")
    return poses, trans, fps, given, names


def _beat2_layout(path: str,
                  what: str) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, tuple[str, ...]]:
    """The same from a BEAT2-layout npz, read by the module that writes the worker's results."""
    from core.face_spaces import channel_names
    from core.io.beat2 import read_motion_npz

    try:
        motion = read_motion_npz(path)
    except BodyLanguageError as exc:  # it names the file
        raise RequestError(f"{what}: {exc} (expected an add-on keep file with "
                           f"`{KEEP_FACE_KEY}` or a BEAT2-layout motion npz)") from None
    return (motion.poses, motion.trans, motion.fps, motion.face,
            tuple(channel_names(motion.face_space)))


def load_motion(path: object, frames: int | None, face_space: str, what: str) -> tuple[Any, tuple]:
    """A Motion from an add-on keep file or a BEAT2-layout npz (see the module doc) and the part
    names it holds.

    With `frames`, the motion is cut or padded (holding its last frame) to that length.
    """
    from core.face_spaces import channel_names
    from core.motion import Motion

    arrays = npz_arrays(path, what)
    path = str(path)  # npz_arrays refused anything but a non-empty string
    poses, trans, fps, given, names = (_keep_layout(arrays, path, what)
                                       if KEEP_FACE_KEY in arrays else _beat2_layout(path, what))
    space = face_space_of(names, face_space)
    wanted = channel_names(space)
    face = np.zeros((len(poses), len(wanted)), np.float32)
    column = {name: i for i, name in enumerate(wanted)}
    for i, name in enumerate(names):
        if name in column:
            face[:, column[name]] = given[:, i]
    parts = tuple(str(part) for part in arrays.get(KEPT_PARTS, np.array(PARTS)).reshape(-1))
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise RequestError(f"{path}: {what} names unknown parts {unknown}")
    try:
        motion = Motion(poses=poses, trans=trans, face=face, face_space=space, fps=fps)
    except Exception as exc:  # BodyLanguageError: shapes or NaNs
        raise RequestError(f"{path}: {what} is not a valid motion: {exc}") from None
    if motion.duration > MAX_CLIP_SECONDS:
        # Checked before resampling: 100 frames at 1e-6 fps would become 3e9 frames.
        raise RequestError(f"{path}: {what} lasts {motion.duration:g} s ({len(poses)} frames at "
                           f"{fps:g} fps), beyond the worker's limit of {MAX_CLIP_SECONDS:g} s")
    if fps != FPS:
        motion = motion.resample(FPS)
    if frames is not None:
        motion = _fit_length(motion, frames)
    return motion, parts


def _fit_length(motion: Any, frames: int) -> Any:
    from dataclasses import replace

    have = motion.num_frames
    if have >= frames:
        return motion.slice_frames(0, frames)
    held = np.full(frames, have - 1)
    held[:have] = np.arange(have)
    return replace(motion, poses=motion.poses[held], trans=motion.trans[held],
                   face=motion.face[held])
