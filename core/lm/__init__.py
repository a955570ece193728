"""The motion language model: config, model (training loss, save/load) and generation.

Importing this package loads torch but not transformers; building a model does.
"""

from core.lm.batch_format import IGNORE, MOTION_STEP
from core.lm.config import LMConfig
from core.lm.generate import (
    GenerationCancelled,
    generate_motion_codes,
    generate_tokens,
    score_tokens,
)
from core.lm.model import LMOutput, Memory, MotionLanguageModel

__all__ = [
    "IGNORE",
    "MOTION_STEP",
    "GenerationCancelled",
    "LMConfig",
    "LMOutput",
    "Memory",
    "MotionLanguageModel",
    "generate_motion_codes",
    "generate_tokens",
    "score_tokens",
]
