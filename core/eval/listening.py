"""Is a listener listening? Figures of a performance against the other speaker's pauses.

- `mouth_opening`: the mean jaw angle in degrees; a listener's mouth stays near closed while a
  speaker's follows the words.
- `nod_response`: the share of the speaker's pauses that a nod follows within NOD_WINDOW_S (the
  head pitching down by NOD_DEGREES or more against where it was at the pause), beside the
  same share at random moments (what nodding at random would score).
- `head_speed`: the mean angular speed of the head in degrees per second: a frozen listener
  scores near 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.motion import Motion
from core.rotations import axis_angle_to_matrix
from core.skeleton import JOINT_INDEX

NOD_WINDOW_S = 1.0
NOD_DEGREES = 3.0
_CHAIN = ("pelvis", "spine1", "spine2", "spine3", "neck", "head")


@dataclass(frozen=True)
class ListeningScore:
    mouth_opening: float  # degrees
    nod_response: float  # share of pauses followed by a nod
    nod_chance: float  # the same share at random moments
    head_speed: float  # degrees per second


def _head_rotations(motion: Motion) -> np.ndarray:
    """(T, 3, 3) head orientation in the pelvis frame: the chain pelvis-spine-neck-head."""
    chain = [JOINT_INDEX[name] for name in _CHAIN]
    rotation = np.broadcast_to(np.eye(3), (motion.num_frames, 3, 3))
    for joint in chain[1:]:
        rotation = rotation @ axis_angle_to_matrix(motion.poses[:, joint].astype(np.float64))
    return rotation


def head_pitch(motion: Motion) -> np.ndarray:
    """(T,) degrees the face points down (SMPL-X: the head's +Z forward, +Y up)."""
    forward = _head_rotations(motion)[:, :, 2]
    return np.degrees(np.arcsin(np.clip(-forward[:, 1], -1.0, 1.0)))


def _nodded_after(pitch: np.ndarray, frames: Sequence[int], window: int) -> float:
    if not len(frames):
        return float("nan")
    hits = [float(np.max(pitch[f:f + window]) - pitch[f] >= NOD_DEGREES) for f in frames]
    return float(np.mean(hits))


def listening_score(motion: Motion, pauses: Sequence[float], seed: int = 0) -> ListeningScore:
    """The figures above for `motion` while someone pauses at `pauses` (seconds)."""
    fps = motion.fps
    window = int(round(NOD_WINDOW_S * fps))
    pitch = head_pitch(motion)
    last = motion.num_frames - window
    pause_frames = [int(round(t * fps)) for t in pauses if 0 <= int(round(t * fps)) < last]
    rng = np.random.default_rng(seed)
    random_frames = rng.integers(0, max(1, last), size=max(8, 4 * len(pause_frames))).tolist()
    forward = _head_rotations(motion)
    relative = np.einsum("tji,tjk->tik", forward[:-1], forward[1:])
    cosine = np.clip((np.trace(relative, axis1=1, axis2=2) - 1) / 2, -1.0, 1.0)
    return ListeningScore(
        mouth_opening=float(np.degrees(np.linalg.norm(motion.poses[:, JOINT_INDEX["jaw"]],
                                                      axis=1)).mean()),
        nod_response=_nodded_after(pitch, pause_frames, window),
        nod_chance=_nodded_after(pitch, random_frames, window),
        head_speed=float(np.degrees(np.arccos(cosine)).mean() * fps) if len(cosine) else 0.0,
    )


def silence_onsets(audio: np.ndarray, sample_rate: int, minimum: float = 0.2,
                   floor_db: float = -35.0) -> list[float]:
    """Where speech stops for at least `minimum` seconds (and where it ends), from 20 ms frame
    loudness against the clip's loudest frame: the pauses a listener answers."""
    hop = int(sample_rate * 0.02)
    frames = len(audio) // hop
    if frames == 0:
        return []
    power = (audio[:frames * hop].reshape(frames, hop).astype(np.float64) ** 2).mean(axis=1)
    loud = 10 * np.log10(power + 1e-12) > 10 * np.log10(power.max() + 1e-12) + floor_db
    onsets, speaking, quiet_since = [], False, None
    for index, is_loud in enumerate(loud):
        if is_loud:
            if speaking and quiet_since is not None and index - quiet_since >= minimum / 0.02:
                onsets.append(quiet_since * 0.02)
            speaking, quiet_since = True, None
        elif speaking and quiet_since is None:
            quiet_since = index
    if speaking and quiet_since is not None:
        onsets.append(quiet_since * 0.02)
    return onsets
