"""Rotation conversions for numpy arrays and torch tensors alike; defined in
core/shared/rotations.py, which the Blender add-on shares, and re-exported here under the names
the model core has always used."""

from __future__ import annotations

from core.shared.rotations import (
    EULER_ORDERS,
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    axis_angle_to_rot6d,
    axis_rotation,
    euler_to_matrix,
    matrix_to_axis_angle,
    matrix_to_euler,
    matrix_to_quaternion,
    matrix_to_rot6d,
    quaternion_conjugate,
    quaternion_multiply,
    quaternion_normalize,
    quaternion_slerp,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rot6d_to_axis_angle,
    rot6d_to_matrix,
)

__all__ = [
    "EULER_ORDERS", "axis_angle_to_matrix", "axis_angle_to_quaternion", "axis_angle_to_rot6d",
    "axis_rotation", "euler_to_matrix", "matrix_to_axis_angle", "matrix_to_euler",
    "matrix_to_quaternion", "matrix_to_rot6d", "quaternion_conjugate", "quaternion_multiply",
    "quaternion_normalize", "quaternion_slerp", "quaternion_to_axis_angle", "quaternion_to_matrix",
    "rot6d_to_axis_angle", "rot6d_to_matrix",
]
