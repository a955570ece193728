"""The regressed mouth's step seams: each jump where two model steps meet is spread over the
frames around it, without moving a steady or closed mouth."""

from __future__ import annotations

import numpy as np

from core.lm.mouth import smooth_step_seams


def _seam_jumps(track: np.ndarray, per: int) -> np.ndarray:
    steps = np.abs(np.diff(track, axis=0))
    return steps[per - 1::per]


def test_a_staircase_is_smoothed_where_steps_meet_and_nowhere_else():
    rng = np.random.default_rng(0)
    per, steps = 4, 30
    smooth = np.sin(np.linspace(0, 6, steps * per))[:, None] * [1.0, 0.5]
    # Each step of the head is offset on its own: a jump at every seam.
    track = (smooth + np.repeat(rng.normal(0, 0.05, (steps, 2)), per, axis=0)).astype(np.float32)
    out = smooth_step_seams(track, per)
    assert out.dtype == np.float32 and out.shape == track.shape
    assert _seam_jumps(out, per).mean() < 0.5 * _seam_jumps(track, per).mean()
    assert np.abs(out - smooth).mean() < np.abs(track - smooth).mean()
    # With longer steps the middle frames stay; no frame moves by more than 3/8 of a jump.
    long_steps = np.repeat(np.arange(8.0), 8)[:, None]
    moved = np.abs(smooth_step_seams(long_steps, 8) - long_steps)[:, 0] > 0
    assert not moved[np.isin(np.arange(64) % 8, (2, 3, 4, 5))].any()
    frame = np.arange(64)
    around_seams = np.isin(frame % 8, (0, 1, 6, 7)) & (frame >= 6) & (frame <= 57)
    assert moved[around_seams].all() and not moved[~around_seams].any()
    assert np.abs(out - track).max() <= 3 / 8 * np.abs(np.diff(track, axis=0)).max() + 1e-6


def test_a_steady_or_closed_mouth_keeps_its_values():
    line = np.linspace(0.0, 1.0, 40, dtype=np.float32)[:, None]
    np.testing.assert_allclose(smooth_step_seams(line, 4), line, atol=1e-6)
    closed = np.zeros((40, 3), np.float32)
    assert np.array_equal(smooth_step_seams(closed, 4), closed)
    short_steps = np.repeat(np.arange(10.0), 2)[:, None]
    assert np.array_equal(smooth_step_seams(short_steps, 2), short_steps)
