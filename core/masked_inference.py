"""Generation with the masked model behind `core.api.generate`: codes for the whole request
(core/lm/masked_generate.py), decoded by the motion tokenizer, composed with what is kept.

Kept parts and kept frames are given to the model as codes it never rewrites, and the output
copies them bit for bit from `keep` (compose), exactly as with the autoregressive model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from core.compose import Conditioning, Request, compose, edit_weights
from core.foot_contact import lock_feet, planted_root
from core.lm import mouth as mouth_module
from core.lm.masked import HIDDEN, MaskedMotionModel, PromptEncoder
from core.lm.masked_generate import (
    ClipConditions,
    FillOptions,
    emotion_probabilities,
    generate_codes,
)
from core.lm.windows import Span
from core.motion import Motion
from core.skeleton import PARTS
from core.tokenizers.audio import AudioTokenizer
from core.tokenizers.motion_vqvae import MotionTokenizer

ProgressCallback = Callable[[float, str], None]
_PREPARED, _DECODED = 0.05, 0.9


@dataclass
class MaskedSystem:
    """A masked model with the tokenizers it reads and writes."""

    lm: MaskedMotionModel
    motion_tokenizer: MotionTokenizer
    audio_tokenizer: AudioTokenizer
    prompts: PromptEncoder = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.prompts = PromptEncoder(self.lm.config.prompt_tokens,
                                     self.lm.config.sentence_token)

    def motion(self, condition: Conditioning, request: Request, options: FillOptions,
               progress: ProgressCallback | None = None,
               cancel: Callable[[], None] | None = None) -> Motion:
        """Motion for a validated request (core.api.generate checks the inputs)."""
        report = progress or (lambda fraction, message: None)
        given = np.full((request.steps, len(PARTS)), HIDDEN, np.int64)
        if request.kept_codes is not None:
            given = np.where(request.free(), HIDDEN, request.kept_codes)
        report(_PREPARED, "Generating motion")

        def on_step(done: int, total: int) -> None:
            report(_PREPARED + (_DECODED - _PREPARED) * done / total,
                   f"Generating motion {done}/{total}")

        clip = ClipConditions(condition.units, condition.prompt, condition.emotion,
                              tuple((t.text, t.start, t.end) for t in condition.timed_prompts))
        codes, mouth = generate_codes(self.lm, self.prompts, clip, given, options, on_step,
                                      cancel)
        report(_DECODED, "Finishing the motion")
        features = {part: self.motion_tokenizer.models[part].decode(codes[:, PARTS.index(part)])
                    for part in request.parts}
        motion = compose(features, Span(0, request.frames), request,
                         self.motion_tokenizer.face_space, self.motion_tokenizer.fps)
        if "lower" in request.parts and request.keep is None:
            # The root first: root drift makes planted feet look like sliding steps, which the
            # IK leaves free (foot skate of 20 s clips, seeds 0-9: 2.1 cm/s with the IK alone,
            # 0.26 with both).
            motion.trans[:] = planted_root(motion.poses, motion.trans)
            motion.poses[:] = lock_feet(motion.poses, motion.trans, motion.fps)
        if "face" in request.parts and motion.face_space == mouth_module.FACE_SPACE:
            self._fast_face(motion, mouth, request, options)
        report(1.0, "Done")
        return motion

    def _fast_face(self, motion: Motion, mouth: np.ndarray, request: Request,
                   options: FillOptions) -> None:
        """The regressed jaw and lips, and blinks, over the written face frames."""
        a, b = request.span.start, request.span.stop
        weight = edit_weights(request) if request.keep is not None else None
        mouth_module.write_mouth(motion.poses[a:b], motion.face[a:b], mouth[a:b],
                                 motion.face_space, weight)
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=options.generator)) \
            if options.generator is not None else 0
        if request.keep is None:
            mouth_module.add_blinks(motion.face, motion.face_space, motion.fps,
                                    np.random.default_rng(seed))

    def emotion(self, motion: Motion) -> np.ndarray:
        """(E,) probabilities of the model's emotions read from a motion."""
        tokens = self.motion_tokenizer.tokenize(motion)
        codes = np.stack([np.asarray(tokens[part], np.int64) for part in PARTS], axis=1)
        return emotion_probabilities(self.lm, codes)

    def quick(self, audio: np.ndarray | None, sample_rate: int, prompt: str,
              emotion: str | None, duration: float | None, options: FillOptions) -> Motion:
        """Plain generation for benchmarks (no edits, inputs assumed valid)."""
        units = None
        if audio is not None:
            units = np.asarray(self.audio_tokenizer.encode(audio, sample_rate), np.int64)
            frames = max(1, round(audio.size / sample_rate * self.motion_tokenizer.fps))
        else:
            frames = max(1, round(float(duration) * self.motion_tokenizer.fps))
        request = Request(frames, PARTS, Span(0, frames))
        return self.motion(Conditioning(units, prompt, None, None, emotion), request, options)
