"""The rates every stream runs at; defined in core/shared/rates.py, which the Blender add-on
shares, and re-exported here under their usual names."""

from __future__ import annotations

from core.shared.rates import (
    AUDIO_PER_STEP,
    AUDIO_UNITS_PER_SECOND,
    FPS,
    FRAMES_PER_STEP,
    MOTION_STEPS_PER_SECOND,
    STEP_ALIGNMENT,
)

__all__ = [
    "AUDIO_PER_STEP", "AUDIO_UNITS_PER_SECOND", "FPS", "FRAMES_PER_STEP",
    "MOTION_STEPS_PER_SECOND", "STEP_ALIGNMENT",
]
