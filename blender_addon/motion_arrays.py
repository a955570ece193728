"""A motion as the worker hands it to the add-on: plain numpy arrays, checked once (no bpy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .shared.rates import FPS
from .skeleton_data import NUM_JOINTS


class AddonInputError(ValueError):
    """Input the add-on cannot use (a motion, bone map or rig); the message says what is wrong
    and names the file when there is one."""


def _array(name: str, value: object, shape: tuple[int | None, ...]) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != len(shape) or any(
        want is not None and have != want for have, want in zip(array.shape, shape, strict=True)
    ):
        wanted = ", ".join("T" if want is None else str(want) for want in shape)
        raise AddonInputError(f"motion {name} has shape {array.shape}, expected ({wanted})")
    if not np.all(np.isfinite(array)):
        raise AddonInputError(f"motion {name} holds NaN or infinite values")
    return array


@dataclass(frozen=True)
class MotionArrays:
    """SMPL-X motion: poses (T, 55, 3) axis-angle in each parent's frame, trans (T, 3) metres
    (SMPL-X Y-up coordinates), face (T, F) channels named by `face_names`, at `fps`."""

    poses: np.ndarray
    trans: np.ndarray
    face: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    face_names: tuple[str, ...] = ()
    fps: float = FPS

    def __post_init__(self) -> None:
        poses = _array("poses", self.poses, (None, NUM_JOINTS, 3))
        frames = poses.shape[0]
        if frames < 1:
            raise AddonInputError("motion has no frames")
        trans = _array("trans", self.trans, (frames, 3))
        names = tuple(str(name) for name in self.face_names)
        face = np.asarray(self.face, dtype=np.float64)
        if face.size == 0 and not names:
            face = np.zeros((frames, 0))
        face = _array("face", face, (frames, len(names)))
        if len(set(names)) != len(names):
            raise AddonInputError("motion face_names repeat a channel name")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise AddonInputError(f"motion fps must be positive, got {self.fps}")
        object.__setattr__(self, "poses", poses)
        object.__setattr__(self, "trans", trans)
        object.__setattr__(self, "face", face)
        object.__setattr__(self, "face_names", names)
        object.__setattr__(self, "fps", float(self.fps))

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @classmethod
    def from_arrays(
        cls,
        poses: np.ndarray,
        trans: np.ndarray,
        face: np.ndarray | None = None,
        face_names: Sequence[str] = (),
        fps: float = FPS,
    ) -> MotionArrays:
        return cls(poses, trans, np.zeros((len(poses), 0)) if face is None else face,
                   tuple(face_names), fps)
