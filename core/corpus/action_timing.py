"""Timing and shaping helpers every choreography uses: gesture phases, windows, envelopes,
holds, hand shapes and head turns, all over a Stage's frames."""

from __future__ import annotations

import numpy as np

from core.corpus.action_keys import mirror
from core.corpus.action_stage import FROM_BASE, ArmTrack, HandKey, Stage, ease_keys
from core.corpus.signals import min_jerk


def amplitude(stage: Stage, spread: float = 0.12) -> float:
    """The style's gesture size with a little per-clip variation."""
    return float(stage.style.amplitude * stage.rng.uniform(1.0 - spread, 1.0 + spread))


def rate(stage: Stage) -> float:
    """The style's tempo with a little per-clip variation."""
    return float(stage.style.tempo * stage.rng.uniform(0.92, 1.08))


def phases(stage: Stage, prep: float = 0.6, retract: float = 0.6) -> tuple[float, float]:
    """(ready, release): when the hold of a gesture starts and ends. Preparation and retraction
    scale with tempo but never get so fast that the limbs whip; a span too short for the whole
    gesture gets a smaller one (`stage.reach` < 1), done at the same pace."""
    # Tempo speeds gestures up only partly: the arms must not whip from pose to pose.
    tempo = np.sqrt(stage.style.tempo)
    prep, retract = max(prep / tempo, 0.6), max(retract / tempo, 0.6)
    available = gesture_end(stage) - 0.25  # at least a short hold
    if prep + retract > available:
        squeeze = available / (prep + retract)
        stage.reach = min(stage.reach, max(squeeze, 0.5))
        prep, retract = prep * squeeze, retract * squeeze
    return prep, gesture_end(stage) - retract


def gesture_end(stage: Stage) -> float:
    """When the arms are back where the base has them: before the fade-out, so the fade and the
    retraction do not add up to a whip."""
    return stage.span - 0.5 * stage.blend


def window(stage: Stage, t0: float, t1: float, ramp: float = 0.2) -> np.ndarray:
    """(T,) 1 between t0 and t1, easing in and out over `ramp` seconds."""
    t = stage.t
    ramp = max(1e-3, min(ramp, (t1 - t0) / 2))
    return min_jerk((t - t0) / ramp) * min_jerk((t1 - t) / ramp)


def cycles(stage: Stage, t0: float, t1: float, frequency: float) -> np.ndarray:
    """(T,) phase in cycles since t0, the frequency nudged so whole cycles fit [t0, t1]."""
    count = max(1, round((t1 - t0) * frequency))
    return (stage.t - t0) * count / max(t1 - t0, 1e-6)


def envelope(stage: Stage, ready: float, release: float, start: float = 0.0) -> np.ndarray:
    """(T,) 0 -> reach over [start, ready], held, -> 0 over [release, gesture end]."""
    rise = min_jerk((stage.t - start) / max(ready - start, 1e-3))
    fall = min_jerk((gesture_end(stage) - stage.t) / max(gesture_end(stage) - release, 1e-3))
    return stage.reach * np.minimum(rise, fall)


def hold(stage: Stage, key: HandKey, side: str, ready: float, release: float) -> ArmTrack:
    """From wherever the hand is to `key` (or part-way, on a short span), hold, and back to
    what the base does."""
    return ArmTrack([(0.0, FROM_BASE), (1.0, key)], weight=envelope(stage, ready, release))


def shapes(stage: Stage, side: str, shape: str, ready: float, release: float) -> None:
    """The fingers form `shape` while the gesture holds, from and back to the base's."""
    lead = min(0.25, ready / 2)
    stage.set_hand_shapes(side, [(0.0, None), (max(ready - lead, 0.01), shape),
                                 (release + lead, shape), (stage.span, None)])


def head(stage: Stage, pitch: np.ndarray | float = 0.0, yaw: np.ndarray | float = 0.0,
         roll: np.ndarray | float = 0.0, chest: float = 0.0) -> None:
    """Turn the head, spreading the turn over neck and head (and the chest by `chest`)."""
    base_pitch = stage.style.head_pitch
    pitch = np.asarray(pitch) + base_pitch
    if chest:
        stage.set_euler("spine3", pitch=chest * pitch, yaw=chest * np.asarray(yaw))
    rest = 1.0 - chest
    stage.set_euler("neck", pitch=0.4 * rest * pitch, yaw=0.4 * rest * np.asarray(yaw),
                    roll=0.4 * np.asarray(roll))
    stage.set_euler("head", pitch=0.6 * rest * pitch, yaw=0.6 * rest * np.asarray(yaw),
                    roll=0.6 * np.asarray(roll))


def keyed(stage: Stage, keys: list[tuple[float, float]]) -> np.ndarray:
    """(T,) a scalar eased through (time, value) keys."""
    times = np.array([k[0] for k in keys])
    values = np.stack([np.full((stage.frames, 1), k[1]) for k in keys])
    return ease_keys(stage.t, times, values)[:, 0]


def hold_pose(stage: Stage, key: HandKey, shape: str, ready: float, release: float,
              sides: tuple[str, ...] = ("right",)) -> None:
    """The hands of `sides` go to `key` (mirrored for the left) and form `shape`, hold, and
    come back to what the base does."""
    stage.drive_arms({side: hold(stage, mirror(key, side), side, ready, release)
                      for side in sides})
    for side in sides:
        shapes(stage, side, shape, ready, release)
