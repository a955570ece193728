"""Motion: the one value type for a performance, from the corpus to the keyframes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from core.errors import BodyLanguageError
from core.face_spaces import channel_names
from core.rates import FPS
from core.skeleton import NUM_JOINTS, PART_JOINTS, PARTS


def _checked(name: str, value: object, shape: tuple[int | None, ...]) -> np.ndarray:
    """`value` as float32 of the given shape (None = any length), or a clear error."""
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise BodyLanguageError(f"Motion.{name} is not numeric: {exc}") from None
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=False)
    ):
        want = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
        raise BodyLanguageError(f"Motion.{name} has shape {array.shape}, expected {want}")
    if not np.isfinite(array).all():
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise BodyLanguageError(f"Motion.{name} holds {bad} NaN or infinite values")
    return array


@dataclass(frozen=True)
class PartView:
    """The channels of one body part: joint rotations plus what the part owns besides joints."""

    name: str
    joints: tuple[int, ...]
    rotations: np.ndarray  # (T, J, 3) axis-angle
    face: np.ndarray | None = None  # (T, F) for the face part
    trans: np.ndarray | None = None  # (T, 3) for the lower part


@dataclass(frozen=True)
class Motion:
    """A performance at `fps`: SMPL-X joint rotations, face channels and root translation.

    `poses` are (T, 55, 3) axis-angle in SMPL-X joint order, jaw and eyes included; `face` is
    (T, F) in the named `face_space` ("arkit52" or "flame100"); `trans` is the (T, 3) pelvis
    translation in metres. Arrays are float32 and validated on construction.
    """

    poses: np.ndarray
    trans: np.ndarray
    face: np.ndarray
    face_space: str = "arkit52"
    fps: float = FPS
    betas: np.ndarray | None = None
    gender: str = "neutral"
    extras: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        poses = _checked("poses", self.poses, (None, NUM_JOINTS, 3))
        frames = poses.shape[0]
        if frames == 0:
            raise BodyLanguageError("Motion has zero frames")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise BodyLanguageError(f"Motion.fps must be a positive number, got {self.fps!r}")
        width = len(channel_names(self.face_space))
        face = _checked("face", self.face, (frames, width))
        trans = _checked("trans", self.trans, (frames, 3))
        object.__setattr__(self, "poses", poses)
        object.__setattr__(self, "face", face)
        object.__setattr__(self, "trans", trans)
        object.__setattr__(self, "fps", float(self.fps))
        if self.betas is not None:
            object.__setattr__(self, "betas", _checked("betas", self.betas, (None,)))

    @classmethod
    def rest(cls, frames: int, fps: float = FPS, face_space: str = "arkit52") -> Motion:
        """A motionless rest pose of `frames` frames."""
        width = len(channel_names(face_space))
        return cls(
            poses=np.zeros((frames, NUM_JOINTS, 3), np.float32),
            trans=np.zeros((frames, 3), np.float32),
            face=np.zeros((frames, width), np.float32),
            face_space=face_space,
            fps=fps,
        )

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.num_frames / self.fps

    def __len__(self) -> int:
        return self.num_frames

    def slice_frames(self, start: int, stop: int | None = None) -> Motion:
        """Frames [start, stop) as a new Motion (negative indices count from the end)."""
        picked = range(self.num_frames)[slice(start, stop)]
        if len(picked) == 0:
            raise BodyLanguageError(
                f"frames [{start}, {stop}) select nothing from a {self.num_frames}-frame motion"
            )
        window = slice(picked.start, picked.stop)
        return replace(
            self, poses=self.poses[window], trans=self.trans[window], face=self.face[window]
        )

    def resample(self, fps: float) -> Motion:
        """The same performance at another frame rate; rotations are slerped, not lerped."""
        from core.rotations import (
            axis_angle_to_quaternion,
            quaternion_slerp,
            quaternion_to_axis_angle,
        )

        if not (np.isfinite(fps) and fps > 0):
            raise BodyLanguageError(f"cannot resample to fps {fps!r}")
        if fps == self.fps:
            return self
        frames = max(1, int(round(self.duration * fps)))
        # Sample times of the new frames, expressed in (fractional) source frames.
        source = np.clip(np.arange(frames) * (self.fps / fps), 0, self.num_frames - 1)
        lo = np.floor(source).astype(np.int64)
        hi = np.minimum(lo + 1, self.num_frames - 1)
        t = (source - lo).astype(np.float32)

        quats = axis_angle_to_quaternion(self.poses.astype(np.float64))
        slerped = quaternion_slerp(quats[lo], quats[hi], t[:, None, None].astype(np.float64))
        poses = quaternion_to_axis_angle(slerped).astype(np.float32)

        def lerp(a: np.ndarray) -> np.ndarray:
            return a[lo] * (1 - t[:, None]) + a[hi] * t[:, None]

        return replace(self, poses=poses, trans=lerp(self.trans), face=lerp(self.face), fps=fps)

    def part(self, name: str) -> PartView:
        """The channels of one body part: "face", "hands", "upper" or "lower"."""
        if name not in PART_JOINTS:
            raise BodyLanguageError(f"unknown body part {name!r}; expected one of {PARTS}")
        joints = PART_JOINTS[name]
        return PartView(
            name=name,
            joints=joints,
            rotations=self.poses[:, list(joints)],
            face=self.face if name == "face" else None,
            trans=self.trans if name == "lower" else None,
        )

    def with_part(self, name: str, source: Motion) -> Motion:
        """This motion with part `name` taken from `source` (same length, fps and face space)."""
        if source.num_frames != self.num_frames or source.fps != self.fps:
            raise BodyLanguageError(
                f"cannot take part {name!r} from a motion of {source.num_frames} frames at "
                f"{source.fps} fps into one of {self.num_frames} frames at {self.fps} fps"
            )
        view = source.part(name)
        poses = self.poses.copy()
        poses[:, list(view.joints)] = view.rotations
        face, trans = self.face, self.trans
        if name == "face":
            if source.face_space != self.face_space:
                raise BodyLanguageError(
                    f"face space {source.face_space!r} does not match {self.face_space!r}"
                )
            face = source.face.copy()
        if name == "lower":
            trans = source.trans.copy()
        return replace(self, poses=poses, face=face, trans=trans)
