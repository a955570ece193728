"""Smooth synthetic motions (sinusoids per joint) and a small corpus of them in the BEAT2 layout,
for tokenizer tests that must not wait for the real corpus."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from core.io.beat2 import write_motion_npz
from core.motion import Motion
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from core.skeleton import PART_JOINTS

# Radians of swing per part: fingers curl more than the spine bends.
_AMPLITUDE = {"upper": 0.25, "lower": 0.15, "hands": 0.35, "face": 0.08}


def smooth_motion(frames: int, seed: int, face_space: str = "arkit52") -> Motion:
    """A performance driven by one circling phase per clip (sin and cos of 0.3-1 Hz): every
    joint axis and face channel sways with a fixed mix of the two (the same mix in every clip, as
    one performer's joints move together), so joints trace ellipses at a fairly steady pace; the
    pelvis turns a little and walks slowly."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 30.0
    phase = 2 * np.pi * rng.uniform(0.3, 1.0) * t + rng.uniform(0, 2 * np.pi)
    drivers = np.concatenate([np.sin(phase), np.cos(phase)], axis=1)
    mixing = np.random.default_rng(12345)  # the performer: fixed across clips
    poses = np.zeros((frames, 55, 3))
    for part, joints in PART_JOINTS.items():
        weights = mixing.uniform(-1, 1, (2, len(joints) * 3)) * _AMPLITUDE[part]
        poses[:, list(joints)] = (drivers @ weights).reshape(frames, len(joints), 3)
    yaw = rng.uniform(-0.2, 0.2) + 0.15 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t[:, 0])
    c, s = np.cos(yaw), np.sin(yaw)
    turn = np.zeros((frames, 3, 3))
    turn[:, 0, 0], turn[:, 0, 2], turn[:, 1, 1], turn[:, 2, 0], turn[:, 2, 2] = c, s, 1, -s, c
    poses[:, 0] = matrix_to_axis_angle(turn @ axis_angle_to_matrix(poses[:, 0]))
    speed = (0.2 + 0.05 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t[:, 0])) / 30.0
    trans = np.zeros((frames, 3))
    trans[:, 0] = np.cumsum(np.sin(yaw) * speed)
    trans[:, 2] = np.cumsum(np.cos(yaw) * speed)
    trans[:, 1] = 0.02 * np.sin(2 * np.pi * 1.0 * t[:, 0])
    width = 52 if face_space == "arkit52" else 100
    face = 0.4 + 0.3 * drivers @ mixing.uniform(-1, 1, (2, width))
    return Motion(poses=poses, trans=trans, face=face, face_space=face_space)


def write_corpus(
    root: Path, train: int = 12, test: int = 3, frames: int = 240, seed: int = 0
) -> Path:
    """`train` + `test` clips of smooth motion under root/smplxflame_30 with a split table."""
    (root / "smplxflame_30").mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(train + test):
        clip_id = f"synthetic_{index:03d}"
        write_motion_npz(root / "smplxflame_30" / f"{clip_id}.npz",
                         smooth_motion(frames + 7 * index, seed * 1000 + index))
        rows.append((clip_id, "train" if index < train else "test"))
    with open(root / "train_test_split.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "type"])
        writer.writerows(rows)
    return root
