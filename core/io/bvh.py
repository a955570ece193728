"""BVH export of a Motion on the SMPL-X skeleton.

The file is written in SMPL-X axes (Y up, the character faces +Z) with offsets in metres times
`scale`. Every joint rotates in intrinsic Z-X-Y Euler order (R = Rz @ Rx @ Ry, the usual BVH
reading); the root also carries its world position. Blender's BVH importer reads this back to the
same joint rotations.
"""

from __future__ import annotations

import math
from numbers import Real
from os import PathLike

import numpy as np

from core.errors import BodyLanguageError
from core.motion import Motion
from core.rotations import axis_angle_to_matrix, matrix_to_euler
from core.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, default_rest_offsets

EULER_ORDER = "ZXY"
_ROTATION_CHANNELS = " ".join(f"{axis}rotation" for axis in EULER_ORDER)
_ROOT_CHANNELS = f"6 Xposition Yposition Zposition {_ROTATION_CHANNELS}"
_JOINT_CHANNELS = f"3 {_ROTATION_CHANNELS}"
# End sites continue a leaf bone by this fraction of its own length.
_END_SITE_FRACTION = 0.5
# A leaf whose offset is (nearly) zero has no direction to continue; it points up instead.
_FALLBACK_END_SITE = np.array([0.0, 0.05, 0.0])


def write_bvh(
    path: str | PathLike,
    motion: Motion,
    rest_offsets: np.ndarray | None = None,
    scale: float = 1.0,
) -> None:
    """Write `motion` as a BVH file at `path`.

    `rest_offsets` are (55, 3) offsets of each joint from its parent in metres, the root's being
    its world position (default: `core.skeleton.default_rest_offsets()`). Offsets and positions are
    multiplied by `scale` (e.g. 100 for centimetres); angles are in degrees.
    """
    if not isinstance(motion, Motion):
        raise BodyLanguageError(f"expected a Motion, got {type(motion).__name__}", path)
    if not (isinstance(scale, Real) and math.isfinite(scale) and scale > 0):
        raise BodyLanguageError(f"BVH scale must be a positive number, got {scale!r}", path)
    offsets = _checked_offsets(
        default_rest_offsets() if rest_offsets is None else rest_offsets, path
    )

    order = _depth_first_order()
    hierarchy = _hierarchy_text(offsets * scale, order)
    frames = _frame_values(motion, offsets[0], scale, order)
    lines = "\n".join(" ".join(f"{value:.6f}" for value in row) for row in frames)
    text = (
        f"{hierarchy}MOTION\nFrames: {motion.num_frames}\n"
        f"Frame Time: {1.0 / motion.fps:.8f}\n{lines}\n"
    )
    try:
        with open(path, "w", encoding="ascii", newline="\n") as stream:
            stream.write(text)
    except OSError as exc:
        raise BodyLanguageError(f"cannot write BVH file: {exc.strerror or exc}", path) from None


def _checked_offsets(offsets: object, path: str | PathLike) -> np.ndarray:
    try:
        array = np.asarray(offsets, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BodyLanguageError(f"rest offsets are not numeric: {exc}", path) from None
    if array.shape != (NUM_JOINTS, 3):
        raise BodyLanguageError(
            f"rest offsets have shape {array.shape}, expected ({NUM_JOINTS}, 3)", path
        )
    if not np.isfinite(array).all():
        raise BodyLanguageError("rest offsets hold NaN or infinite values", path)
    return array


def _children() -> list[list[int]]:
    children: list[list[int]] = [[] for _ in range(NUM_JOINTS)]
    for joint, parent in enumerate(PARENTS):
        if parent >= 0:
            children[parent].append(joint)
    return children


def _depth_first_order() -> list[int]:
    """Joints in the order BVH lists them, which is also the order of the motion columns."""
    children = _children()
    order: list[int] = []
    stack = [joint for joint, parent in enumerate(PARENTS) if parent < 0]
    while stack:
        joint = stack.pop()
        order.append(joint)
        stack.extend(reversed(children[joint]))
    return order


def _hierarchy_text(offsets: np.ndarray, order: list[int]) -> str:
    children = _children()
    lines = ["HIERARCHY"]
    depth_of: dict[int, int] = {}
    open_depth = 0  # how many joint blocks are open

    def offset_line(depth: int, offset: np.ndarray) -> str:
        x, y, z = offset
        return f"{'  ' * depth}OFFSET {x:.6f} {y:.6f} {z:.6f}"

    for joint in order:
        parent = PARENTS[joint]
        depth = 0 if parent < 0 else depth_of[parent] + 1
        depth_of[joint] = depth
        # Close the blocks of the previous branch down to this joint's parent.
        while open_depth > depth:
            open_depth -= 1
            lines.append(f"{'  ' * open_depth}}}")
        pad = "  " * depth
        keyword = "ROOT" if parent < 0 else "JOINT"
        lines.append(f"{pad}{keyword} {JOINT_NAMES[joint]}")
        lines.append(f"{pad}{{")
        lines.append(offset_line(depth + 1, offsets[joint]))
        channels = _ROOT_CHANNELS if parent < 0 else _JOINT_CHANNELS
        lines.append(f"{pad}  CHANNELS {channels}")
        open_depth = depth + 1
        if not children[joint]:
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(offset_line(depth + 2, _end_site(offsets[joint])))
            lines.append(f"{pad}  }}")
    while open_depth > 0:
        open_depth -= 1
        lines.append(f"{'  ' * open_depth}}}")
    return "\n".join(lines) + "\n"


def _end_site(offset: np.ndarray) -> np.ndarray:
    if np.linalg.norm(offset) < 1e-6:
        return _FALLBACK_END_SITE
    return offset * _END_SITE_FRACTION


def _frame_values(
    motion: Motion, root_offset: np.ndarray, scale: float, order: list[int]
) -> np.ndarray:
    """(T, 3 + 3 * 55) rows: root position, then Euler degrees per joint in hierarchy order."""
    matrices = axis_angle_to_matrix(motion.poses[:, order].astype(np.float64))
    eulers = _unwrapped(np.asarray(matrix_to_euler(matrices, EULER_ORDER, degrees=True)))
    position = (root_offset[None] + motion.trans.astype(np.float64)) * scale
    return np.concatenate([position, eulers.reshape(motion.num_frames, -1)], axis=1)


def _unwrapped(eulers: np.ndarray) -> np.ndarray:
    """Euler degrees (T, J, 3), each frame moved to the equivalent triple nearest the last one.

    Any Tait-Bryan triple (a, b, c) equals (a + 180, 180 - b, c + 180), and each angle may gain
    whole turns; picking the nearest keeps curves free of 360-degree jumps between frames.
    """
    out = eulers.copy()
    for frame in range(1, len(out)):
        previous = out[frame - 1]
        current = out[frame]
        flipped = current * np.array([1.0, -1.0, 1.0]) + np.array([180.0, 180.0, 180.0])
        candidates = [_nearest_turn(current, previous), _nearest_turn(flipped, previous)]
        distances = [np.abs(c - previous).sum(axis=-1) for c in candidates]
        use_flipped = (distances[1] < distances[0])[..., None]
        out[frame] = np.where(use_flipped, candidates[1], candidates[0])
    return out


def _nearest_turn(angles: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return angles + 360.0 * np.round((reference - angles) / 360.0)
