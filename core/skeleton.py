"""The SMPL-X skeleton: joint names, parents, the four body parts, a default rest pose, FK.

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

if TYPE_CHECKING:
    from core.motion import Motion

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    # SMPL-X calls the eyes left_eye_smplhf/right_eye_smplhf; the short names are the bone
    # names of Meshcapade's SMPL-X add-on, which our users' characters already carry.
    "jaw", "left_eye", "right_eye",
    "left_index1", "left_index2", "left_index3", "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3", "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3", "right_middle1", "right_middle2",
    "right_middle3", "right_pinky1", "right_pinky2", "right_pinky3", "right_ring1",
    "right_ring2", "right_ring3", "right_thumb1", "right_thumb2", "right_thumb3",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)

# The four body parts of the Language of Motion split. Face channels belong to "face" and root
# translation to "lower"; those are not joints, so Motion's part views add them.
PART_JOINTS: dict[str, tuple[int, ...]] = {
    "face": (22, 23, 24),
    "hands": tuple(range(25, 55)),
    "upper": (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21),
    "lower": (0, 1, 2, 4, 5, 7, 8, 10, 11),
}
PARTS: tuple[str, ...] = ("face", "hands", "upper", "lower")


def mirror_joint(index: int) -> int:
    """The index of the joint on the other side (itself for joints on the midline)."""
    name = JOINT_NAMES[index]
    if name.startswith("left_"):
        return JOINT_INDEX["right_" + name[5:]]
    if name.startswith("right_"):
        return JOINT_INDEX["left_" + name[6:]]
    return index


# ---------------------------------------------------------------------------------------------
# Default rest skeleton
# ---------------------------------------------------------------------------------------------

# The top of the skull lies this far above joint 15 'head'; stature = head.y + this.
HEAD_TOP_ABOVE_HEAD_JOINT = 0.115
# Each finger ends this far beyond its *3 joint, along the direction of that last bone.
FINGERTIP_LENGTH = 0.022

# Rest offsets from the parent joint in metres, for the midline and the character's left side
# (+X). The right side is the exact mirror. The pose is SMPL-X's zero pose: a T-pose with the
# palms down, fingers extended along the arm and the thumbs pointing forward (+Z) and down.
_MIDLINE_OFFSETS: dict[str, tuple[float, float, float]] = {
    "pelvis": (0.0, 0.94, 0.0),  # world position: the root stands 0.94 m above the floor
    "spine1": (0.0, 0.105, -0.015),
    "spine2": (0.0, 0.135, 0.005),
    "spine3": (0.0, 0.055, 0.02),
    "neck": (0.0, 0.235, -0.03),
    "head": (0.0, 0.14, 0.045),
    "jaw": (0.0, -0.025, 0.03),
}
_LEFT_OFFSETS: dict[str, tuple[float, float, float]] = {
    "hip": (0.06, -0.085, 0.0),
    "knee": (0.035, -0.38, 0.005),
    "ankle": (-0.01, -0.395, -0.035),
    "foot": (0.025, -0.055, 0.125),
    "collar": (0.07, 0.115, -0.005),
    "shoulder": (0.10, 0.055, -0.015),
    "elbow": (0.26, 0.0, 0.0),
    "wrist": (0.25, 0.0, 0.0),
    "eye": (0.031, 0.012, 0.08),
    "index1": (0.088, -0.006, 0.024),
    "index2": (0.036, -0.002, 0.001),
    "index3": (0.023, -0.002, 0.0),
    "middle1": (0.094, -0.004, 0.003),
    "middle2": (0.041, -0.002, -0.001),
    "middle3": (0.026, -0.002, 0.0),
    "pinky1": (0.078, -0.01, -0.035),
    "pinky2": (0.028, -0.002, -0.005),
    "pinky3": (0.018, -0.002, -0.002),
    "ring1": (0.088, -0.006, -0.017),
    "ring2": (0.037, -0.002, -0.003),
    "ring3": (0.024, -0.002, -0.001),
    "thumb1": (0.025, -0.014, 0.025),
    "thumb2": (0.032, -0.008, 0.022),
    "thumb3": (0.028, -0.006, 0.012),
}


def _build_default_offsets() -> np.ndarray:
    offsets = np.zeros((NUM_JOINTS, 3), np.float64)
    for index, name in enumerate(JOINT_NAMES):
        if name in _MIDLINE_OFFSETS:
            offsets[index] = _MIDLINE_OFFSETS[name]
        elif name.startswith("left_"):
            offsets[index] = _LEFT_OFFSETS[name[5:]]
        else:
            x, y, z = _LEFT_OFFSETS[name[6:]]
            offsets[index] = (-x, y, z)
    return offsets


def positions_from_offsets(offsets: np.ndarray) -> np.ndarray:
    """World joint positions (..., 55, 3) of a rest skeleton given its offsets (..., 55, 3)."""
    offsets = np.asarray(offsets, dtype=np.float64)
    positions = np.empty_like(offsets)
    for joint, parent in enumerate(PARENTS):
        base = 0.0 if parent < 0 else positions[..., parent, :]
        positions[..., joint, :] = base + offsets[..., joint, :]
    return positions


def offsets_from_positions(positions: np.ndarray) -> np.ndarray:
    """Offsets (..., 55, 3) of each joint from its parent; the root keeps its world position."""
    positions = np.asarray(positions, dtype=np.float64)
    offsets = positions.copy()
    offsets[..., 1:, :] -= positions[..., list(PARENTS[1:]), :]
    return offsets


_DEFAULT_OFFSETS = _build_default_offsets()
_DEFAULT_POSITIONS = positions_from_offsets(_DEFAULT_OFFSETS)


def default_rest_offsets() -> np.ndarray:
    """(55, 3) offset of each joint from its parent in the default rest skeleton, in metres.

    The root's offset is its world position, so a Motion with trans = 0 stands on the floor.
    """
    return _DEFAULT_OFFSETS.copy()


def default_rest_positions() -> np.ndarray:
    """(55, 3) world joint positions of the default adult skeleton in the SMPL-X zero pose.

    Floor at y = 0, pelvis 0.94 m up, stature 1.725 m, left/right mirror-symmetric.
    """
    return _DEFAULT_POSITIONS.copy()


# ---------------------------------------------------------------------------------------------
# Forward kinematics
# ---------------------------------------------------------------------------------------------


def _depth_levels() -> tuple[tuple[int, ...], ...]:
    """Joints grouped by depth in the tree, so FK runs one batched step per level, not per joint."""
    depth = [0] * NUM_JOINTS
    for joint, parent in enumerate(PARENTS):
        depth[joint] = 0 if parent < 0 else depth[parent] + 1
    return tuple(
        tuple(j for j in range(NUM_JOINTS) if depth[j] == level) for level in range(max(depth) + 1)
    )


_LEVELS = _depth_levels()


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
        rest_offsets = _DEFAULT_OFFSETS
    _check_shapes(poses, trans, rest_offsets)
    if _is_torch(poses):
        return _fk_torch(poses, trans, rest_offsets)
    return _fk_numpy(poses, trans, rest_offsets)


def forward_kinematics(poses: Any, trans: Any = None, rest_offsets: Any = None) -> Any:
    """World joint positions (..., 55, 3); see `forward_kinematics_with_rotations`."""
    return forward_kinematics_with_rotations(poses, trans, rest_offsets)[0]


def _fk_numpy(poses: Any, trans: Any, rest_offsets: Any) -> tuple[np.ndarray, np.ndarray]:
    from core.rotations import axis_angle_to_matrix

    poses = np.asarray(poses)
    dtype = np.result_type(poses.dtype, np.float32)
    poses = poses.astype(dtype, copy=False)
    offsets = np.asarray(rest_offsets, dtype=dtype)
    trans = None if trans is None else np.asarray(trans, dtype=dtype)
    batch = np.broadcast_shapes(
        poses.shape[:-2], offsets.shape[:-2], () if trans is None else trans.shape[:-1]
    )
    local = np.asarray(axis_angle_to_matrix(poses), dtype=dtype)
    world = np.empty(batch + (NUM_JOINTS, 3, 3), dtype)
    positions = np.empty(batch + (NUM_JOINTS, 3), dtype)
    world[..., 0, :, :] = local[..., 0, :, :]
    positions[..., 0, :] = offsets[..., 0, :] + (0.0 if trans is None else trans)
    for level in _LEVELS[1:]:
        joints = list(level)
        parents = [PARENTS[j] for j in joints]
        parent_world = world[..., parents, :, :]
        world[..., joints, :, :] = parent_world @ local[..., joints, :, :]
        bones = (parent_world @ offsets[..., joints, :, None])[..., 0]
        positions[..., joints, :] = positions[..., parents, :] + bones
    return positions, world


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
    for level in _LEVELS[1:]:
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
