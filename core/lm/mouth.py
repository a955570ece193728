"""The fast face: the jaw and the lip shapes that follow speech syllable by syllable, and blinks.

Measured on 11 corpus speech clips decoded back from their own codes: the face tokenizer, at 4
frames a code, keeps the slow face (brows, smiles, gaze: r 0.9+ against the teacher) but smooths the
speech-rate channels away — jawOpen r 0.52 at half the movement, mouthClose / mouthFunnel /
mouthPucker / mouthRollLower / mouthLowerDown r 0.04-0.25 — and every blink (r 0.09). No model
writing face codes can lip-sync through it. So the masked model also regresses these channels
frame by frame from its step states (which see the audio of their step), and generation writes
them over the decoded face. Blinks are not predictable from audio; they are drawn from the seed
at the corpus' measured rate.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from core.face_spaces import channel_names
from core.io.beat2 import read_motion_npz
from core.motion import Motion
from core.skeleton import JOINT_INDEX

FACE_SPACE = "arkit52"
MOUTH_SHAPES: tuple[str, ...] = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRollLower",
    "mouthLowerDownLeft", "mouthLowerDownRight",
)
JAW_AXES = 3  # the jaw joint's axis-angle rotation
CHANNELS = JAW_AXES + len(MOUTH_SHAPES)
_JAW = JOINT_INDEX["jaw"]
BLINK_SHAPES = ("eyeBlinkLeft", "eyeBlinkRight")
BLINKS_PER_MINUTE = 14.0  # the corpus teacher's mean on held-out speech (5.7 to 29 per clip)
BLINK_MIN_GAP_S = 1.2
_BLINK_CURVE = np.array([0.35, 0.8, 1.0, 1.0, 0.75, 0.45, 0.2, 0.05])  # 30 fps, ~0.27 s


def _shape_columns(face_space: str) -> list[int]:
    names = channel_names(face_space)
    return [names.index(name) for name in MOUTH_SHAPES]


def mouth_track(motion: Motion) -> np.ndarray:
    """(T, CHANNELS) float32: jaw rotation then the mouth shapes, of an ARKit motion."""
    if motion.face_space != FACE_SPACE:
        raise ValueError(f"the mouth track reads {FACE_SPACE!r} faces, not {motion.face_space!r}")
    return np.concatenate([motion.poses[:, _JAW], motion.face[:, _shape_columns(FACE_SPACE)]],
                          axis=1).astype(np.float32)


def smooth_step_seams(track: np.ndarray, frames_per_step: int) -> np.ndarray:
    """`track` (T, C) with the jumps where model steps meet spread out.

    The mouth head writes a step's frames at once, so its track jumps every `frames_per_step`
    frames (7.5 times a second at 30 fps), a flutter on the lips and a key on every seam for
    Keys: Reduced. Each seam's jump beyond the local slope is spread over the two frames on
    either side (1/8, 3/8 | -3/8, -1/8 of it): a steady or closed mouth keeps its values, and
    every frame moves by at most 3/8 of its seam's jump."""
    out = np.asarray(track, dtype=np.float64).copy()
    if frames_per_step < 4:  # the four frames around a seam would reach the next seam
        return out.astype(track.dtype)
    seams = np.arange(frames_per_step, len(out) - 1, frames_per_step)
    t = out.copy()
    slope = 0.5 * ((t[seams - 1] - t[seams - 2]) + (t[seams + 1] - t[seams]))
    jump = (t[seams] - t[seams - 1]) - slope
    out[seams - 2] += jump / 8
    out[seams - 1] += 3 * jump / 8
    out[seams] -= 3 * jump / 8
    out[seams + 1] -= jump / 8
    return out.astype(track.dtype)


def write_mouth(poses: np.ndarray, face: np.ndarray, track: np.ndarray, face_space: str,
                weight: np.ndarray | None = None) -> None:
    """Write `track` (T, CHANNELS) over the jaw and mouth shapes of poses/face in place, blended
    with what is there by `weight` (T,) where given."""
    columns = _shape_columns(face_space)
    jaw, shapes = track[:, :JAW_AXES], np.clip(track[:, JAW_AXES:], 0.0, 1.0)
    if weight is None:
        poses[:, _JAW] = jaw
        face[:, columns] = shapes
        return
    w = weight[:, None]
    poses[:, _JAW] = (1 - w) * poses[:, _JAW] + w * jaw
    face[:, columns] = (1 - w) * face[:, columns] + w * shapes


def add_blinks(face: np.ndarray, face_space: str, fps: float, rng: np.random.Generator,
               per_minute: float = BLINKS_PER_MINUTE) -> None:
    """Blinks at random times (a Poisson process with a refractory gap), drawn over the eyelids
    in place; an eyelid already more closed keeps its value."""
    names = channel_names(face_space)
    if not all(name in names for name in BLINK_SHAPES):
        return
    columns = [names.index(name) for name in BLINK_SHAPES]
    frames = face.shape[0]
    mean_gap = 60.0 / per_minute
    time = float(rng.uniform(0.2, mean_gap))
    curve = np.interp(np.arange(0, len(_BLINK_CURVE), 30.0 / fps), np.arange(len(_BLINK_CURVE)),
                      _BLINK_CURVE)
    while time * fps < frames:
        start = int(time * fps)
        stop = min(frames, start + len(curve))
        for column in columns:
            face[start:stop, column] = np.maximum(face[start:stop, column], curve[: stop - start])
        time += BLINK_MIN_GAP_S + float(rng.exponential(max(mean_gap - BLINK_MIN_GAP_S, 0.1)))


def load_mouth_tracks(data_dir: str | os.PathLike, ids: Iterable[str],
                      cache: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """{clip id: (T, CHANNELS) float16} read from the corpus' motion files, cached as one npz."""
    ids = sorted(set(ids))
    cache_path = Path(cache) if cache is not None else None
    if cache_path is not None and cache_path.exists():
        with np.load(cache_path) as stored:
            if sorted(stored.files) == ids:
                return {name: stored[name] for name in ids}
    folder = Path(data_dir) / "smplxflame_30"
    tracks = {}
    for clip_id in ids:
        motion = read_motion_npz(folder / f"{clip_id}.npz")
        tracks[clip_id] = mouth_track(motion).astype(np.float16)
    if cache_path is not None:
        np.savez(cache_path, **tracks)
    return tracks


def track_statistics(tracks: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    joined = np.concatenate([np.asarray(t, np.float32) for t in tracks])
    return joined.mean(0), np.maximum(joined.std(0), 1e-3)
