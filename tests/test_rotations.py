"""Property tests for core.rotations on numpy float64/float32 and torch float32/float64."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation, Slerp

from core import rotations as rot
from core.errors import BodyLanguageError
from core.motion import Motion

ROOT = Path(__file__).resolve().parent.parent
PROPERTY = settings(max_examples=20, deadline=None)

Convert = Callable[[np.ndarray], "np.ndarray | torch.Tensor"]
# name -> (convert a float64 numpy array into this backend, absolute tolerance on matrices)
BACKENDS: dict[str, tuple[Convert, float]] = {
    "numpy-float64": (lambda a: np.asarray(a, dtype=np.float64), 1e-10),
    "torch-float32": (lambda a: torch.tensor(a, dtype=torch.float32), 3e-6),
    "torch-float64": (lambda a: torch.tensor(a, dtype=torch.float64), 1e-10),
}
ALL_DTYPES = {
    **BACKENDS,
    "numpy-float32": (lambda a: np.asarray(a, dtype=np.float32), 3e-6),
}
# Runs a test once per backend, given that backend's convert and tolerance.
per_backend = pytest.mark.parametrize(("convert", "tol"), BACKENDS.values(), ids=BACKENDS.keys())


def backend_property(**strategies: st.SearchStrategy) -> Callable[[Callable], Callable]:
    """A property test (PROPERTY settings, arguments drawn from `strategies`) run per backend."""

    def decorate(test: Callable) -> Callable:
        return per_backend(PROPERTY(given(**strategies)(test)))

    return decorate


def as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().astype(np.float64)
    return np.asarray(x, dtype=np.float64)


def close(a, b, atol: float) -> None:
    np.testing.assert_allclose(as_numpy(a), as_numpy(b), rtol=0, atol=atol)


# --- strategies -------------------------------------------------------------------------------

SPECIAL_ANGLES = [0.0, 1e-7, 1e-3, math.pi / 2, math.pi - 1e-6, math.pi]
unit_axes = (
    st.tuples(*[st.floats(-1, 1)] * 3)
    .map(np.array)
    .filter(lambda v: np.linalg.norm(v) > 0.1)
    .map(lambda v: v / np.linalg.norm(v))
)
angles = st.one_of(st.sampled_from(SPECIAL_ANGLES), st.floats(0, math.pi))
axis_angles = st.lists(st.tuples(unit_axes, angles), min_size=1, max_size=6).map(
    lambda pairs: np.array([axis * angle for axis, angle in pairs])
)
unit_quaternion = (
    st.one_of(
        st.tuples(*[st.floats(-1, 1)] * 4),
        # w = 0 exactly and w = +-1e-7: rotations by (nearly) pi.
        st.tuples(st.sampled_from([0.0, 1e-7, -1e-7]), *[st.floats(-1, 1)] * 3),
    )
    .map(np.array)
    .filter(lambda q: np.linalg.norm(q) > 0.1)
    .map(lambda q: q / np.linalg.norm(q))
)
unit_quaternions = st.lists(unit_quaternion, min_size=1, max_size=6).map(np.array)
euler_angles = st.lists(
    st.tuples(
        st.floats(-math.pi, math.pi),
        st.one_of(
            st.floats(-math.pi / 2, math.pi / 2),
            st.sampled_from([-math.pi / 2, math.pi / 2, 0.0]),  # gimbal lock, and none
        ),
        st.floats(-math.pi, math.pi),
    ),
    min_size=1,
    max_size=6,
).map(np.array)


def angle_between(m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """The rotation angle of m1^T m2, computed without core.rotations."""
    relative = np.swapaxes(m1, -1, -2) @ m2
    cos = (np.trace(relative, axis1=-2, axis2=-1) - 1) / 2
    sin = (
        np.linalg.norm(
            np.stack(
                [
                    relative[..., 2, 1] - relative[..., 1, 2],
                    relative[..., 0, 2] - relative[..., 2, 0],
                    relative[..., 1, 0] - relative[..., 0, 1],
                ],
                axis=-1,
            ),
            axis=-1,
        )
        / 2
    )
    return np.arctan2(sin, cos)


# --- references -------------------------------------------------------------------------------


@PROPERTY
@given(aa=axis_angles)
def test_axis_angle_and_quaternion_match_scipy(aa: np.ndarray) -> None:
    reference = Rotation.from_rotvec(aa)
    close(rot.axis_angle_to_matrix(aa), reference.as_matrix(), 1e-12)
    xyzw = reference.as_quat()
    q = rot.axis_angle_to_quaternion(aa)
    # Ours is (cos(angle / 2), sin(angle / 2) * axis); scipy may return either sign.
    close(q[:, 0], np.cos(np.linalg.norm(aa, axis=-1) / 2), 1e-12)
    wxyz = xyzw[:, [3, 0, 1, 2]]
    close(q, np.sign(np.sum(q * wxyz, axis=-1, keepdims=True)) * wxyz, 1e-12)


@PROPERTY
@given(q=unit_quaternions)
def test_quaternion_to_matrix_matches_scipy(q: np.ndarray) -> None:
    close(rot.quaternion_to_matrix(q), Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix(), 1e-12)
    # A non-unit quaternion means the same rotation.
    close(rot.quaternion_to_matrix(3.0 * q), rot.quaternion_to_matrix(q), 1e-12)


# --- round trips ------------------------------------------------------------------------------


@backend_property(aa=axis_angles)
def test_axis_angle_matrix_round_trip(convert: Convert, tol: float, aa: np.ndarray) -> None:
    matrix = rot.axis_angle_to_matrix(convert(aa))
    back = rot.matrix_to_axis_angle(matrix)
    close(rot.axis_angle_to_matrix(back), matrix, tol)
    assert np.all(np.linalg.norm(as_numpy(back), axis=-1) <= math.pi + tol)
    # Below pi the axis-angle vector is unique, so it must come back itself.
    unique = np.linalg.norm(aa, axis=-1) < math.pi - 1e-3
    close(as_numpy(back)[unique], aa[unique], 30 * tol)


@PROPERTY
@given(axis=unit_axes, offset=st.sampled_from([0.0, 1e-9, 1e-6, 1e-4]))
def test_matrix_to_axis_angle_near_pi_reads_axis_from_symmetric_part(
    axis: np.ndarray, offset: float
) -> None:
    # The skew part of the matrix is 2 sin(angle) ~ 2 * offset here, so an axis read from it would
    # carry a relative error of ~1e-16 / offset; the symmetric part keeps it at ~1e-16.
    angle = math.pi - offset
    back = rot.matrix_to_axis_angle(Rotation.from_rotvec(axis * angle).as_matrix())
    if offset == 0.0:
        back = back * np.sign(back @ axis)  # at pi exactly, +axis and -axis are the same
    close(back, axis * angle, 1e-12)


@backend_property(aa=axis_angles)
def test_axis_angle_quaternion_round_trip(convert: Convert, tol: float, aa: np.ndarray) -> None:
    q = rot.axis_angle_to_quaternion(convert(aa))
    close(np.linalg.norm(as_numpy(q), axis=-1), np.ones(len(aa)), tol)
    for sign in (1, -1):  # q and -q are one rotation and give one axis-angle
        back = rot.quaternion_to_axis_angle(sign * q)
        assert np.all(np.linalg.norm(as_numpy(back), axis=-1) <= math.pi + tol)
        assert np.all(
            angle_between(
                as_numpy(rot.axis_angle_to_matrix(back)), Rotation.from_rotvec(aa).as_matrix()
            )
            < 10 * tol
        )


@backend_property(q=unit_quaternions)
def test_quaternion_matrix_round_trip(convert: Convert, tol: float, q: np.ndarray) -> None:
    back = as_numpy(rot.matrix_to_quaternion(rot.quaternion_to_matrix(convert(q))))
    assert np.all(back[:, 0] >= 0)
    same_sign = np.abs(back - q).max(axis=-1)
    flipped = np.abs(back + q).max(axis=-1)
    assert np.all(np.minimum(same_sign, flipped) < 10 * tol)


@backend_property(aa=axis_angles)
def test_matrix_rot6d_round_trip(convert: Convert, tol: float, aa: np.ndarray) -> None:
    matrix = rot.axis_angle_to_matrix(convert(aa))
    d6 = rot.matrix_to_rot6d(matrix)
    # Layout: column 0, then column 1.
    close(d6, np.concatenate([as_numpy(matrix)[:, :, 0], as_numpy(matrix)[:, :, 1]], -1), 0)
    close(rot.rot6d_to_matrix(d6), matrix, tol)
    close(rot.axis_angle_to_rot6d(convert(aa)), d6, tol)
    close(rot.axis_angle_to_matrix(rot.rot6d_to_axis_angle(d6)), matrix, tol)


@PROPERTY
@given(
    d6=st.lists(st.tuples(*[st.floats(-10, 10)] * 6), min_size=1, max_size=6)
    .map(np.array)
    .filter(lambda d: np.all(np.linalg.norm(np.cross(d[:, :3], d[:, 3:]), axis=-1) > 1e-2))
)
def test_rot6d_to_matrix_gram_schmidt(d6: np.ndarray) -> None:
    m = rot.rot6d_to_matrix(d6)
    close(np.swapaxes(m, -1, -2) @ m, np.broadcast_to(np.eye(3), m.shape), 1e-10)
    close(np.linalg.det(m), np.ones(len(d6)), 1e-10)
    # Column 0 is the first half normalized; column 1 lies in the plane of both halves.
    close(m[:, :, 0], d6[:, :3] / np.linalg.norm(d6[:, :3], axis=-1, keepdims=True), 1e-10)
    assert np.all(np.einsum("ni,ni->n", m[:, :, 1], d6[:, 3:]) > 0)
    close(np.einsum("ni,ni->n", m[:, :, 2], d6[:, 3:]), np.zeros(len(d6)), 1e-9)


# --- Euler ------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", rot.EULER_ORDERS)
@per_backend
@settings(max_examples=10, deadline=None)
@given(angles=euler_angles)
def test_euler_round_trip(convert: Convert, tol: float, order: str, angles: np.ndarray) -> None:
    matrix = rot.euler_to_matrix(convert(angles), order)
    close(matrix, Rotation.from_euler(order, angles).as_matrix(), tol)
    back = rot.matrix_to_euler(matrix, order)
    close(rot.euler_to_matrix(back, order), matrix, 10 * tol)
    # Away from gimbal lock and from the +-pi seam the angles themselves are unique.
    interior = (np.abs(angles[:, 1]) < math.pi / 2 - 1e-2) & np.all(
        np.abs(angles[:, [0, 2]]) < math.pi - 1e-3, axis=-1
    )
    close(as_numpy(back)[interior], angles[interior], 1e3 * tol)
    degrees = rot.matrix_to_euler(matrix, order, degrees=True)
    close(degrees, np.degrees(as_numpy(back)), 1e-3)
    close(rot.euler_to_matrix(degrees, order, degrees=True), matrix, 10 * tol)


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_axis_rotation_matches_scipy_and_one_euler_angle(axis: int) -> None:
    angles = np.linspace(-3.0, 3.0, 7)
    name = "XYZ"[axis]
    expected = Rotation.from_euler(name, angles[:, None]).as_matrix()
    close(rot.axis_rotation(axis, angles), expected, 1e-12)
    single = np.zeros((7, 3))
    single[:, 0] = angles
    order = next(o for o in rot.EULER_ORDERS if o[0] == name)
    assert np.array_equal(rot.axis_rotation(axis, angles), rot.euler_to_matrix(single, order))
    with pytest.raises(BodyLanguageError, match="axis must be 0"):
        rot.axis_rotation(3, angles)


def test_euler_is_intrinsic_bvh_channel_order() -> None:
    # BVH "Zrotation Xrotation Yrotation" 30 -20 75 (degrees) means Rz(30) @ Rx(-20) @ Ry(75).
    z, x, y = 0.5, -0.3, 1.2
    expected = {
        "ZXY": _rz(z) @ _rx(x) @ _ry(y),
        "XYZ": _rx(x) @ _ry(y) @ _rz(z),
        "YZX": _ry(y) @ _rz(z) @ _rx(x),
    }
    values = {"ZXY": (z, x, y), "XYZ": (x, y, z), "YZX": (y, z, x)}
    for order, matrix in expected.items():
        close(rot.euler_to_matrix(np.array(values[order]), order), matrix, 1e-12)
    degrees = np.array([30.0, -20.0, 75.0])
    close(
        rot.euler_to_matrix(degrees, "ZXY", degrees=True),
        _rz(math.radians(30)) @ _rx(math.radians(-20)) @ _ry(math.radians(75)),
        1e-12,
    )
    # Right-handed: a quarter turn about Z takes +X to +Y.
    close(
        rot.euler_to_matrix(np.array([90.0, 0, 0]), "ZXY", degrees=True) @ [1, 0, 0],
        [0, 1, 0],
        1e-12,
    )


# --- slerp ------------------------------------------------------------------------------------


def _about_z(angle: float) -> np.ndarray:
    return np.array([math.cos(angle / 2), 0, 0, math.sin(angle / 2)])


@per_backend
def test_slerp_endpoints_midpoint_and_shortest_path(convert: Convert, tol: float) -> None:
    q0, q1 = convert(_about_z(0.0)), convert(_about_z(math.pi / 2))
    close(rot.quaternion_slerp(q0, q1, 0.0), q0, tol)
    close(rot.quaternion_slerp(q0, q1, 1.0), q1, tol)
    close(rot.quaternion_slerp(q0, q1, 0.5), _about_z(math.pi / 4), tol)
    # -q1 is the same rotation; the short way to it still passes 45 degrees about +Z (up to sign),
    # while the long way would pass 135 degrees about -Z.
    middle = as_numpy(rot.quaternion_slerp(q0, -q1, 0.5))
    close(middle * np.sign(middle[0]), _about_z(math.pi / 4), tol)
    close(
        rot.quaternion_to_matrix(rot.quaternion_slerp(q0, -q1, 1.0)),
        rot.quaternion_to_matrix(q1),
        tol,
    )


@PROPERTY
@given(q0=unit_quaternion, q1=unit_quaternion, t=st.lists(st.floats(0, 1), min_size=2))
def test_slerp_matches_scipy(q0: np.ndarray, q1: np.ndarray, t: list[float]) -> None:
    # Rotations 180 degrees apart (q0 . q1 = 0) have two shortest arcs; scipy may take either.
    assume(abs(q0 @ q1) > 1e-6)
    ours = rot.quaternion_to_matrix(rot.quaternion_slerp(q0, q1, np.array(t)))
    reference = Slerp([0, 1], Rotation.from_quat(np.stack([q0, q1])[:, [1, 2, 3, 0]]))(t)
    close(ours, reference.as_matrix(), 1e-9)


def test_slerp_nearly_parallel_is_finite_and_between() -> None:
    q0 = _about_z(0.3)
    for gap in (0.0, 1e-12, 1e-8):
        out = rot.quaternion_slerp(q0, _about_z(0.3 + gap), 0.5)
        assert np.all(np.isfinite(out))
        close(out, _about_z(0.3 + gap / 2), 1e-12)


def test_slerp_broadcasts_t_like_motion_resample() -> None:
    rng = np.random.default_rng(0)
    frames = 7
    quats = rot.axis_angle_to_quaternion(rng.normal(size=(frames + 1, 55, 3)))
    t = rng.uniform(size=frames)
    expected = np.stack([rot.quaternion_slerp(quats[i], quats[i + 1], t[i]) for i in range(frames)])
    for shaped in (t[:, None, None], t[:, None], np.broadcast_to(t[:, None], (frames, 55))):
        out = rot.quaternion_slerp(quats[:-1], quats[1:], shaped)
        assert out.shape == (frames, 55, 4)
        close(out, expected, 1e-12)
    # One pair, many weights.
    assert rot.quaternion_slerp(quats[0, 0], quats[1, 0], t).shape == (frames, 4)


def test_motion_resample_slerps_joint_rotations() -> None:
    poses = np.zeros((3, 55, 3), np.float32)
    poses[:, 3, 2] = [0.0, 1.0, 2.5]  # one joint turning about Z
    motion = Motion(poses=poses, trans=np.zeros((3, 3)), face=np.zeros((3, 52)), fps=10)
    doubled = motion.resample(20)
    assert doubled.num_frames == 6
    close(doubled.poses[:, 3, 2], [0, 0.5, 1.0, 1.75, 2.5, 2.5], 1e-6)
    close(doubled.poses[:, 0], np.zeros((6, 3)), 0)


# --- types, gradients, imports, errors --------------------------------------------------------

PUBLIC_CALLS = {
    "axis_angle_to_matrix": lambda c: rot.axis_angle_to_matrix(c([[0.1, 0.2, 0.3]])),
    "matrix_to_axis_angle": lambda c: rot.matrix_to_axis_angle(c(_rz(0.4)[None])),
    "axis_angle_to_quaternion": lambda c: rot.axis_angle_to_quaternion(c([[0.1, 0.2, 0.3]])),
    "quaternion_to_axis_angle": lambda c: rot.quaternion_to_axis_angle(c(_about_z(0.4)[None])),
    "quaternion_to_matrix": lambda c: rot.quaternion_to_matrix(c(_about_z(0.4)[None])),
    "matrix_to_quaternion": lambda c: rot.matrix_to_quaternion(c(_rz(0.4)[None])),
    "quaternion_multiply": lambda c: rot.quaternion_multiply(c(_about_z(0.4)), c(_about_z(0.2))),
    "quaternion_conjugate": lambda c: rot.quaternion_conjugate(c(_about_z(0.4))),
    "quaternion_normalize": lambda c: rot.quaternion_normalize(c([1.0, 2.0, 3.0, 4.0])),
    "quaternion_slerp": lambda c: rot.quaternion_slerp(c(_about_z(0)), c(_about_z(1)), 0.25),
    "matrix_to_rot6d": lambda c: rot.matrix_to_rot6d(c(_rz(0.4))),
    "rot6d_to_matrix": lambda c: rot.rot6d_to_matrix(c([1.0, 0, 0, 0.5, 1.0, 0])),
    "axis_angle_to_rot6d": lambda c: rot.axis_angle_to_rot6d(c([0.1, 0.2, 0.3])),
    "rot6d_to_axis_angle": lambda c: rot.rot6d_to_axis_angle(c([1.0, 0, 0, 0.5, 1.0, 0])),
    "euler_to_matrix": lambda c: rot.euler_to_matrix(c([0.1, 0.2, 0.3]), "ZXY"),
    "axis_rotation": lambda c: rot.axis_rotation(1, c([0.1, 0.2])),
    "matrix_to_euler": lambda c: rot.matrix_to_euler(c(_rz(0.4)), "ZXY"),
}


@pytest.mark.parametrize("name", PUBLIC_CALLS)
@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
def test_every_function_preserves_kind_and_dtype(name: str, dtype_name: str) -> None:
    convert, _ = ALL_DTYPES[dtype_name]
    sample = convert(np.zeros(1))
    out = PUBLIC_CALLS[name](convert)
    assert type(out) is type(sample)
    assert out.dtype == sample.dtype
    if isinstance(out, torch.Tensor):
        assert out.device == sample.device


def test_quaternion_algebra() -> None:
    a, b = _about_z(0.4), rot.axis_angle_to_quaternion(np.array([0.3, -0.2, 0.9]))
    close(
        rot.quaternion_to_matrix(rot.quaternion_multiply(a, b)),
        rot.quaternion_to_matrix(a) @ rot.quaternion_to_matrix(b),
        1e-12,
    )
    close(rot.quaternion_multiply(b, rot.quaternion_conjugate(b)), [1, 0, 0, 0], 1e-12)
    close(rot.quaternion_normalize(np.array([[0, 3.0, 0, 4.0]])), [[0, 0.6, 0, 0.8]], 1e-12)
    assert np.all(rot.quaternion_normalize(np.zeros(4)) == 0)


def test_non_float_input_becomes_float64() -> None:
    assert rot.axis_angle_to_matrix([[0, 0, 1]]).dtype == np.float64
    assert rot.euler_to_matrix(torch.tensor([0, 0, 1])).is_floating_point()


def test_gradients_are_finite_and_correct_at_zero_rotation() -> None:
    zero = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    target = torch.tensor(_rz(0.5))
    loss = ((rot.axis_angle_to_matrix(zero) - target) ** 2).sum()
    loss.backward()
    assert torch.isfinite(zero.grad).all() and zero.grad.abs().sum() > 0
    # The gradient at rest is the one of I + skew(aa): d/daa_z of sum (R - Rz)^2.
    expected_z = 2 * ((0 - target[1, 0]) - (0 - target[0, 1]))
    assert torch.allclose(zero.grad[:, 2], expected_z.expand(2))
    assert torch.autograd.gradcheck(rot.axis_angle_to_matrix, (zero.detach().requires_grad_(),))
    small = torch.full((1, 3), 1e-4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rot.axis_angle_to_matrix, (small,))

    for function, value in [
        (rot.matrix_to_axis_angle, torch.eye(3, dtype=torch.float64)[None]),
        (rot.quaternion_to_axis_angle, torch.tensor([[1.0, 0, 0, 0]], dtype=torch.float64)),
        (rot.axis_angle_to_rot6d, torch.zeros(1, 3, dtype=torch.float64)),
        (rot.rot6d_to_matrix, torch.tensor([[1.0, 0, 0, 0, 1, 0]], dtype=torch.float64)),
    ]:
        leaf = value.clone().requires_grad_()
        assert torch.autograd.gradcheck(function, (leaf,)), function.__name__

    q = torch.tensor(_about_z(0.3), requires_grad=True)
    rot.quaternion_slerp(q, q.detach(), 0.5).sum().backward()
    assert torch.isfinite(q.grad).all()


def test_importing_rotations_does_not_import_torch() -> None:
    code = "import sys, core.rotations; assert 'torch' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_bad_input_raises_body_language_error() -> None:
    with pytest.raises(BodyLanguageError, match=r"axis_angle_to_matrix.*\[\.\.\., 3\].*\(2, 4\)"):
        rot.axis_angle_to_matrix(np.zeros((2, 4)))
    with pytest.raises(BodyLanguageError, match="rotation matrices"):
        rot.matrix_to_quaternion(np.zeros((3, 4)))
    with pytest.raises(BodyLanguageError, match="'xyz'"):
        rot.euler_to_matrix(np.zeros(3), order="xyz")
    with pytest.raises(BodyLanguageError, match="'XYX'"):
        rot.matrix_to_euler(np.eye(3), order="XYX")
