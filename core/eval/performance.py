"""Checks of a performance that need no judge: the mouth against a phone alignment (real voices),
blinks, and feet that stay planted.

Phone alignments come as PocketSphinx JSON (`shared/realspeech/*.phone.json`): nested
{"b": start, "d": duration, "t": text, "w": [...]}, phones at the innermost level in ARPAbet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.ndimage

from core.errors import BodyLanguageError
from core.eval.metrics import jaw_opening
from core.face_spaces import channel_names
from core.motion import Motion
from core.skeleton import JOINT_INDEX, forward_kinematics

# How open the mouth is on each phone, 0 (lips closed) .. 1 (wide open); consonants not listed
# are 0.2 (the jaw rests slightly open through them).
OPENNESS: dict[str, float] = {
    "AA": 1.0, "AE": 0.9, "AH": 0.7, "AO": 0.9, "AW": 0.9, "AY": 0.9, "EH": 0.7, "ER": 0.5,
    "EY": 0.6, "IH": 0.45, "IY": 0.35, "OW": 0.7, "OY": 0.8, "UH": 0.45, "UW": 0.35,
    "M": 0.0, "P": 0.0, "B": 0.0, "F": 0.1, "V": 0.1, "SIL": 0.0,
}
CONSONANT_OPENNESS = 0.2
PAUSE_MIN_S = 0.3  # silence at least this long is a pause, where the mouth should be closed
CLOSED_SHARE = 0.35  # jaw below this share of its open-vowel opening counts as closed
BLINK_LEVEL = 0.5
CONTACT_HEIGHT_M = 0.04  # a foot within this height of its lowest point is on the floor
FEET = ("left_ankle", "right_ankle", "left_foot", "right_foot")


@dataclass(frozen=True)
class Phone:
    start: float
    end: float
    symbol: str


def read_phone_alignment(path: str | os.PathLike) -> list[Phone]:
    """The phones of a PocketSphinx JSON alignment, in time order."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BodyLanguageError(f"cannot read the phone alignment: {exc}", path) from None
    phones: list[Phone] = []

    def walk(node: dict, depth: int) -> None:
        children = node.get("w")
        if depth >= 2 or not children:
            phones.append(Phone(float(node["b"]), float(node["b"]) + float(node["d"]),
                                str(node["t"]).upper()))
            return
        for child in children:
            walk(child, depth + 1)

    walk(document, 0)
    return sorted(phones, key=lambda p: p.start)


def openness_track(phones: Sequence[Phone], frames: int, fps: float) -> np.ndarray:
    """(frames,) how open the mouth should be at each frame's time."""
    track = np.zeros(frames)
    times = np.arange(frames) / fps
    for phone in phones:
        symbol = phone.symbol.rstrip("012")
        value = OPENNESS.get(symbol, CONSONANT_OPENNESS)
        track[(times >= phone.start) & (times < phone.end)] = value
    return track


def pause_frames(phones: Sequence[Phone], frames: int, fps: float) -> np.ndarray:
    """(frames,) bool: inside a silence of at least PAUSE_MIN_S (or outside all phones)."""
    spoken = np.zeros(frames, bool)
    times = np.arange(frames) / fps
    for phone in phones:
        if phone.symbol != "SIL":
            spoken |= (times >= phone.start) & (times < phone.end)
    runs, _ = scipy.ndimage.label(~spoken)
    long_enough = np.bincount(runs, minlength=1) / fps >= PAUSE_MIN_S
    long_enough[0] = False  # label 0 marks the spoken frames, not a silence
    return long_enough[runs]


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    norm = float(np.sqrt((a @ a) * (b @ b)))
    return 0.0 if norm < 1e-12 else float(a @ b) / norm


@dataclass(frozen=True)
class MouthScore:
    vowel_r: float  # jaw opening vs the openness track, best lag of -2..2 frames
    pause_closed: float | None  # share of pause frames with the mouth closed (None: no pauses)


def mouth_against_phones(motion: Motion, phones: Sequence[Phone], max_lag: int = 2) -> MouthScore:
    jaw = jaw_opening(motion)
    frames = len(jaw)
    track = openness_track(phones, frames, motion.fps)
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            best = max(best, _pearson(jaw[lag:], track[: frames - lag]))
        else:
            best = max(best, _pearson(jaw[: frames + lag], track[-lag:]))
    pause = pause_frames(phones, frames, motion.fps)
    open_level = np.percentile(jaw[track >= 0.7], 75) if (track >= 0.7).any() else jaw.max()
    closed = jaw <= max(open_level, 1e-3) * CLOSED_SHARE
    return MouthScore(best, float(closed[pause].mean()) if pause.any() else None)


def blinks_per_minute(motion: Motion) -> float:
    """Rising crossings of BLINK_LEVEL by the mean of the two eyeBlink channels (ARKit faces)."""
    names = channel_names(motion.face_space)
    if "eyeBlinkLeft" not in names:
        raise BodyLanguageError(f"blinks need an ARKit face, got {motion.face_space!r}")
    blink = motion.face[:, [names.index("eyeBlinkLeft"), names.index("eyeBlinkRight")]].mean(1)
    above = blink >= BLINK_LEVEL
    rises = int((above[1:] & ~above[:-1]).sum()) + int(above[0])
    return rises / max(motion.duration / 60.0, 1e-9)


def foot_skate(motion: Motion) -> float:
    """Mean horizontal speed (cm/s) of the feet while they are on the floor: a planted foot that
    slides. The floor is each foot joint's lowest point in the clip."""
    positions = forward_kinematics(motion.poses, motion.trans)
    speeds = []
    for name in FEET:
        joint = positions[:, JOINT_INDEX[name]]
        height = joint[:, 1]
        contact = height <= height.min() + CONTACT_HEIGHT_M
        both = contact[1:] & contact[:-1]
        step = np.linalg.norm(np.diff(joint[:, [0, 2]], axis=0), axis=1) * motion.fps * 100.0
        speeds.append(step[both])
    joined = np.concatenate(speeds)
    return float(joined.mean()) if joined.size else 0.0
