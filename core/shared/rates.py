"""The rates every stream runs at, in one place: motion frames, motion steps (the codes of the
motion tokenizer) and audio units, and how they line up.

3 motion steps (12 frames at 30 fps) last 0.4 s, exactly as long as 10 audio units, so windows
start on a multiple of STEP_ALIGNMENT steps and their audio starts on a whole unit.
"""

from __future__ import annotations

from fractions import Fraction

FPS = 30.0
FRAMES_PER_STEP = 4
MOTION_STEPS_PER_SECOND = Fraction(15, 2)  # 30 fps, 4 frames per code
AUDIO_UNITS_PER_SECOND = Fraction(25)
AUDIO_PER_STEP = AUDIO_UNITS_PER_SECOND / MOTION_STEPS_PER_SECOND
STEP_ALIGNMENT = AUDIO_PER_STEP.denominator
