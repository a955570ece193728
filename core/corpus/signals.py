"""Smooth signals the performer's modules share: eases, noise, pulses and key interpolation.

Every function works on numpy arrays over frames (or times in seconds); none draws from a
generator it was not given, so each body part keeps its own random stream.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from core.limb_ik import axis_rotation


def child_rngs(rng: np.random.Generator, count: int) -> list[np.random.Generator]:
    """Independent generators seeded from `rng`'s draws, one per sub-task.

    Each part of the body draws from its own stream, so changing how much one part draws does
    not reshuffle the others; seeding from draws (not `spawn`) follows the generator's state.
    """
    return [np.random.default_rng(int(seed)) for seed in rng.integers(0, 2**63, size=count)]


def min_jerk(s: np.ndarray | float) -> np.ndarray:
    """Minimum-jerk ease 0 -> 1 over s in [0, 1] (zero velocity and acceleration at both ends)."""
    s = np.clip(np.asarray(s, dtype=np.float64), 0.0, 1.0)
    return s**3 * (10.0 - 15.0 * s + 6.0 * s * s)


def smooth_noise(
    rng: np.random.Generator, frames: int, fps: float, period: float, dims: int = 1
) -> np.ndarray:
    """(frames, dims) smooth random signal with unit standard deviation.

    Random knots every `period` seconds joined by a uniform cubic B-spline, normalised so the
    variance does not dip between knots; wiggles last about one period.
    """
    u_all = np.arange(frames) / (fps * period)
    knots = rng.standard_normal((int(u_all[-1]) + 4 if frames else 4, dims))
    i = np.floor(u_all).astype(np.int64)
    u = (u_all - i)[:, None]
    b0 = (1 - u) ** 3 / 6
    b1 = (3 * u**3 - 6 * u**2 + 4) / 6
    b2 = (-3 * u**3 + 3 * u**2 + 3 * u + 1) / 6
    b3 = u**3 / 6
    value = b0 * knots[i] + b1 * knots[i + 1] + b2 * knots[i + 2] + b3 * knots[i + 3]
    return value / np.sqrt(b0**2 + b1**2 + b2**2 + b3**2)


def bump(times: np.ndarray, center: float, width: float) -> np.ndarray:
    """Raised-cosine pulse of height 1 at `center`, `width` seconds from end to end."""
    x = (times - center) / (0.5 * width)
    return np.where(np.abs(x) < 1, 0.5 * (1 + np.cos(np.pi * x)), 0.0)


def plateau(times: np.ndarray, start: float, stop: float, ramp: float) -> np.ndarray:
    """0 -> 1 over [start, start + ramp], 1 until `stop`, back to 0 over [stop, stop + ramp]."""
    return min_jerk((times - start) / ramp) * (1 - min_jerk((times - stop) / ramp))


def interpolate_keys(
    key_times: np.ndarray,
    values: np.ndarray,
    times: np.ndarray,
    velocities: np.ndarray | None = None,
) -> np.ndarray:
    """(T, D) values at `times` through keys (K,) / (K, D): quintic Hermite segments.

    Accelerations are zero at every key, so the curve is C2; with no velocities each segment is
    a minimum-jerk move and the mix of one-hot vectors stays convex.
    """
    values = np.asarray(values, np.float64)
    if len(key_times) == 1:
        return np.repeat(values[:1], len(times), axis=0)
    seg = np.clip(np.searchsorted(key_times, times, side="right") - 1, 0, len(key_times) - 2)
    t0, t1 = key_times[seg], key_times[seg + 1]
    h = (t1 - t0)[:, None]
    s = np.clip((times - t0) / (t1 - t0), 0.0, 1.0)[:, None]
    s3, s4, s5 = s**3, s**4, s**5
    out = (1 - 10 * s3 + 15 * s4 - 6 * s5) * values[seg] + (10 * s3 - 15 * s4 + 6 * s5) * values[
        seg + 1
    ]
    if velocities is not None:
        out += h * (s - 6 * s3 + 8 * s4 - 3 * s5) * velocities[seg]
        out += h * (-4 * s3 + 7 * s4 - 3 * s5) * velocities[seg + 1]
    return out


def limit_key_rates(key_times: np.ndarray, values: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Key values (K, D) whose minimum-jerk moves never exceed `rates` (D,) per second.

    A key that asks for too big a change in too little time only gets part of the way; the
    next keys carry on from there, so the channel lags instead of snapping.
    """
    out = np.array(values, np.float64, copy=True)
    for k in range(1, len(out)):
        # A minimum-jerk move peaks at 1.875 times its average speed.
        step = rates * (key_times[k] - key_times[k - 1]) / 1.875
        out[k] = out[k - 1] + np.clip(values[k] - out[k - 1], -step, step)
    return out


def yaw_pitch_roll(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(N, 3, 3) = R_Y(yaw) @ R_X(pitch) @ R_Z(roll): turn, then nod (+ down), then tilt."""
    return axis_rotation(1, yaw) @ axis_rotation(0, pitch) @ axis_rotation(2, roll)


def gaussian_smooth(signal: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian low-pass along axis 0 with edge padding (no shrinking toward zero at the ends).

    The kernel reaches int(3 sigma) + 1 frames each way, as the corpus has always used.
    """
    if sigma_frames <= 0:
        return signal
    return gaussian_filter1d(
        signal, sigma_frames, axis=0, mode="nearest", radius=int(3 * sigma_frames) + 1
    )
