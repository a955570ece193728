"""The SMPL-X skeleton: joint names, parents, the four body parts, a default rest pose, FK on
numpy arrays and torch tensors, and joint positions from a real SMPL-X model file.

Coordinates follow SMPL-X: metres, Y up, the character faces +Z, its left side is +X.
"""

from __future__ import annotations

import contextlib
import io
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import BodyLanguageError
from core.shared.skeleton import (
    DEPTH_LEVELS,
    FINGERTIP_LENGTH,
    HEAD_TOP_ABOVE_HEAD_JOINT,
    JOINT_INDEX,
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    PART_JOINTS,
    PARTS,
    default_rest_offsets,
    default_rest_positions,
    forward_kinematics_numpy,
    mirror_joint,
    offsets_from_positions,
    positions_from_offsets,
)

if TYPE_CHECKING:
    from core.motion import Motion

# The skeleton's data, its default rest pose and numpy FK live in core/shared/skeleton.py, which
# the Blender add-on shares; they are re-exported here under the names core has always used.
__all__ = [
    "DEPTH_LEVELS", "FINGERTIP_LENGTH", "HEAD_TOP_ABOVE_HEAD_JOINT", "JOINT_INDEX", "JOINT_NAMES",
    "NUM_JOINTS", "PARENTS", "PARTS", "PART_JOINTS", "SmplxBody", "default_rest_offsets",
    "default_rest_positions", "forward_kinematics", "forward_kinematics_with_rotations",
    "mirror_joint", "motion_positions", "offsets_from_positions", "positions_from_offsets",
]


def _is_torch(value: object) -> bool:
    # Checking the type's module keeps numpy-only callers from ever importing torch.
    return type(value).__module__.startswith("torch")


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(value.shape) if hasattr(value, "shape") else np.shape(value)


def _check_shapes(poses: Any, trans: Any, offsets: Any) -> None:
    poses_shape, offsets_shape = _shape(poses), _shape(offsets)
    if len(poses_shape) < 2 or poses_shape[-2:] != (NUM_JOINTS, 3):
        raise BodyLanguageError(f"poses have shape {poses_shape}, expected (..., 55, 3)")
    if trans is not None and (len(_shape(trans)) < 1 or _shape(trans)[-1] != 3):
        raise BodyLanguageError(f"trans has shape {_shape(trans)}, expected (..., 3)")
    if len(offsets_shape) < 2 or offsets_shape[-2:] != (NUM_JOINTS, 3):
        raise BodyLanguageError(f"rest offsets have shape {offsets_shape}, expected (..., 55, 3)")


def forward_kinematics_with_rotations(
    poses: Any, trans: Any = None, rest_offsets: Any = None
) -> tuple[Any, Any]:
    """World joint positions (..., 55, 3) and world rotation matrices (..., 55, 3, 3).

    `poses` (..., 55, 3) are SMPL-X axis-angle rotations, each in its parent's frame:
    R_world[j] = R_world[parent] @ R_local[j] and p[j] = p[parent] + R_world[parent] @ offset[j];
    the root sits at offset[0] + trans. `rest_offsets` default to `default_rest_offsets()` and
    may carry batch dimensions that broadcast against those of `poses`. numpy in, numpy out;
    torch in, torch out (differentiable, on the poses' device and dtype).
    """
    if rest_offsets is None:
        rest_offsets = default_rest_offsets()
    _check_shapes(poses, trans, rest_offsets)
    if _is_torch(poses):
        return _fk_torch(poses, trans, rest_offsets)
    return forward_kinematics_numpy(poses, trans, rest_offsets)


def forward_kinematics(poses: Any, trans: Any = None, rest_offsets: Any = None) -> Any:
    """World joint positions (..., 55, 3); see `forward_kinematics_with_rotations`."""
    return forward_kinematics_with_rotations(poses, trans, rest_offsets)[0]


def _fk_torch(poses: Any, trans: Any, rest_offsets: Any) -> tuple[Any, Any]:
    import torch

    from core.rotations import axis_angle_to_matrix

    offsets = torch.as_tensor(rest_offsets, dtype=poses.dtype, device=poses.device)
    if trans is not None:
        trans = torch.as_tensor(trans, dtype=poses.dtype, device=poses.device)
    batch = torch.broadcast_shapes(
        poses.shape[:-2], offsets.shape[:-2], () if trans is None else trans.shape[:-1]
    )
    local = axis_angle_to_matrix(poses)
    # Per-joint lists instead of in-place writes keep autograd happy.
    world: list[Any] = [None] * NUM_JOINTS
    positions: list[Any] = [None] * NUM_JOINTS
    world[0] = local[..., 0, :, :].expand(*batch, 3, 3)
    root = offsets[..., 0, :] if trans is None else offsets[..., 0, :] + trans
    positions[0] = root.expand(*batch, 3)
    for level in DEPTH_LEVELS[1:]:
        joints = list(level)
        parent_world = torch.stack([world[PARENTS[j]] for j in joints], dim=-3)
        parent_positions = torch.stack([positions[PARENTS[j]] for j in joints], dim=-2)
        level_world = parent_world @ local[..., joints, :, :]
        bones = (parent_world @ offsets[..., joints, :, None])[..., 0]
        level_positions = parent_positions + bones
        for k, joint in enumerate(joints):
            world[joint] = level_world[..., k, :, :]
            positions[joint] = level_positions[..., k, :]
    return torch.stack(positions, dim=-2), torch.stack(world, dim=-3)


def motion_positions(motion: Motion, model: SmplxBody | None = None) -> np.ndarray:
    """(T, 55, 3) world joint positions of a Motion.

    With no `model` the default rest skeleton is posed (Motion.betas are ignored: it has no
    shape space); with a `SmplxBody` the real SMPL-X model computes them at the motion's betas.
    """
    if model is not None:
        return model.joint_positions(motion)
    return forward_kinematics(motion.poses, motion.trans).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# A real SMPL-X model, when the user has one
# ---------------------------------------------------------------------------------------------


def _model_file(model_path: str | PathLike, gender: str) -> Path:
    """The SMPL-X file for `model_path`: the file itself, or SMPLX_<GENDER>.npz/.pkl in a folder."""
    path = Path(model_path)
    if path.is_dir():
        for ext in ("npz", "pkl"):
            candidate = path / f"SMPLX_{gender.upper()}.{ext}"
            if candidate.is_file():
                return candidate
        raise BodyLanguageError(
            f"folder holds no SMPLX_{gender.upper()}.npz or .pkl SMPL-X model file", path
        )
    if not path.is_file():
        raise BodyLanguageError("SMPL-X model file does not exist", path)
    if path.suffix.lower() not in (".npz", ".pkl"):
        raise BodyLanguageError("SMPL-X model file must be a .npz or .pkl file", path)
    return path


class SmplxBody:
    """Joint positions from a real SMPL-X model file (the `smplx` package, loaded lazily).

    Motion.poses are taken as the full rotations applied to the flat-handed rest pose, the
    convention of our forward kinematics and of the Blender rig (flat_hand_mean=True).
    """

    def __init__(
        self,
        model_path: str | PathLike,
        gender: str = "neutral",
        num_betas: int = 10,
        flat_hand_mean: bool = True,
        chunk_frames: int = 256,
    ) -> None:
        self.model_file = _model_file(model_path, gender)
        self.gender = gender
        self.chunk_frames = max(1, int(chunk_frames))
        try:
            import smplx
            import torch
        except ImportError as exc:
            raise BodyLanguageError(
                f"reading an SMPL-X model needs the smplx and torch packages ({exc})",
                self.model_file,
            ) from None
        self._torch = torch
        try:
            # smplx prints warnings to stdout, which would corrupt the worker's pipe protocol.
            with contextlib.redirect_stdout(io.StringIO()):
                self._model = smplx.SMPLX(
                    str(self.model_file),
                    gender=gender,
                    num_betas=num_betas,
                    use_pca=False,
                    flat_hand_mean=flat_hand_mean,
                    ext=self.model_file.suffix.lower()[1:],
                    batch_size=1,
                )
        except Exception as exc:  # a malformed file can fail anywhere inside smplx: report it all
            raise BodyLanguageError(
                f"not a readable SMPL-X model ({type(exc).__name__}: {exc})", self.model_file
            ) from None
        self._model.eval()
        joints = int(self._model.J_regressor.shape[0])
        if joints != NUM_JOINTS:
            raise BodyLanguageError(
                f"SMPL-X model regresses {joints} joints, expected {NUM_JOINTS}", self.model_file
            )

    @property
    def num_betas(self) -> int:
        return int(self._model.num_betas)

    def _betas(self, betas: np.ndarray | None) -> Any:
        """(1, num_betas) tensor: `betas` cut or zero-padded to the model's shape space."""
        torch = self._torch
        row = torch.zeros(1, self.num_betas, dtype=torch.float32)
        if betas is not None:
            values = np.asarray(betas, dtype=np.float32).reshape(-1)[: self.num_betas]
            row[0, : values.shape[0]] = torch.from_numpy(values.copy())
        return row

    def rest_positions(self, betas: np.ndarray | None = None) -> np.ndarray:
        """(55, 3) joint positions of the zero pose at `betas`, regressed from the mesh."""
        from smplx.lbs import blend_shapes, vertices2joints

        model = self._model
        with self._torch.no_grad():
            shaped = model.v_template[None] + blend_shapes(self._betas(betas), model.shapedirs)
            joints = vertices2joints(model.J_regressor, shaped)[0]
        return joints.numpy().astype(np.float64)

    def rest_offsets(self, betas: np.ndarray | None = None) -> np.ndarray:
        """(55, 3) rest offsets at `betas`, ready for `forward_kinematics`."""
        return offsets_from_positions(self.rest_positions(betas))

    def joint_positions(self, motion: Motion) -> np.ndarray:
        """(T, 55, 3) world joint positions of `motion` at its betas (zeros when it has none)."""
        torch = self._torch
        model = self._model
        poses = torch.from_numpy(np.ascontiguousarray(motion.poses, dtype=np.float32))
        trans = torch.from_numpy(np.ascontiguousarray(motion.trans, dtype=np.float32))
        betas = self._betas(motion.betas)
        chunks = []
        with torch.no_grad():
            for start in range(0, motion.num_frames, self.chunk_frames):
                p = poses[start : start + self.chunk_frames]
                n = p.shape[0]
                output = model(
                    global_orient=p[:, 0],
                    body_pose=p[:, 1:22].reshape(n, -1),
                    jaw_pose=p[:, 22],
                    leye_pose=p[:, 23],
                    reye_pose=p[:, 24],
                    left_hand_pose=p[:, 25:40].reshape(n, -1),
                    right_hand_pose=p[:, 40:55].reshape(n, -1),
                    betas=betas.expand(n, -1),
                    expression=torch.zeros(n, model.num_expression_coeffs),
                    transl=trans[start : start + n],
                    return_verts=False,
                )
                chunks.append(output.joints[:, :NUM_JOINTS])
        return torch.cat(chunks).numpy().astype(np.float32)
