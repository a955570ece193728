"""A tiny real model folder for tests that need generation: untrained, random weights, made with
core.api.save_model_bundle in a few seconds. Its motion is meaningless but it runs the whole real
pipeline (audio units, language model decoding, part decoders), so worker, add-on and batch tests
exercise what users run. Same seed, same folder contents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

UNITS = 16
CODES = 16


def tiny_model_folder(tmp_path_factory) -> Path:
    """The session's tiny model, made once and shared by every test file of the session."""
    folder = tmp_path_factory.getbasetemp() / "tiny-model"
    if not (folder / "model.json").is_file():
        make_tiny_model(folder)
    return folder


def make_tiny_model(folder: Path, seed: int = 0) -> Path:
    """Write the model folder (model.json + three checkpoints) and return it."""
    from core.api import save_model_bundle
    from core.lm.config import MINILM_TEXT_SIZE, LMConfig
    from core.lm.model import MotionLanguageModel
    from core.skeleton import PARTS
    from core.tokenizers.audio import AudioTokenizer
    from core.tokenizers.motion_vqvae import MotionTokenizer, part_config
    from core.tokenizers.vocabulary import Vocabulary

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    # Noise with a changing envelope: enough distinct frames for UNITS k-means centroids.
    seconds = 6
    envelope = np.repeat(rng.uniform(0.05, 0.5, size=seconds * 10), 1600)
    audio = (rng.normal(size=seconds * 16000) * envelope).astype(np.float32)
    audio_tokenizer = AudioTokenizer(UNITS)
    features = audio_tokenizer.features(np.clip(audio, -1, 1), 16000)
    audio_tokenizer.fit_features([features], steps=20, refine_iterations=2)

    configs = {part: part_config(part, codebook_size=CODES, code_dim=16, width=32, depth=1)
               for part in PARTS}
    motion_tokenizer = MotionTokenizer.create(configs)
    for model in motion_tokenizer.models.values():
        # An untrained codebook is all zeros (every code decodes alike); spread it out so
        # different codes give different poses.
        model.quantizer.codebook.normal_(std=0.5)
        model.quantizer.initialised.fill_(True)
    motion_tokenizer.eval()

    vocabulary = Vocabulary(MINILM_TEXT_SIZE, UNITS, {part: CODES for part in PARTS})
    lm = MotionLanguageModel(LMConfig.tiny(vocabulary=vocabulary.to_config(), dropout=0.0))
    lm.eval()
    save_model_bundle(folder, lm, motion_tokenizer, audio_tokenizer, name="tiny-test",
                      dtype=torch.float32)
    return folder


def tiny_masked_model_folder(tmp_path_factory) -> Path:
    """A tiny masked model beside the same tiny tokenizers, made once per session."""
    folder = tmp_path_factory.getbasetemp() / "tiny-masked-model"
    if not (folder / "model.json").is_file():
        source = tiny_model_folder(tmp_path_factory)
        make_tiny_masked_model(folder, source)
    return folder


def make_tiny_masked_model(folder: Path, tokenizers: Path, seed: int = 0) -> Path:
    """A masked language model (random weights, `tiny` preset) with the tokenizers of folder
    `tokenizers`, written as a model folder."""
    from core.api import save_model_bundle
    from core.emotions import EMOTIONS
    from core.lm.masked import build_model
    from core.skeleton import PARTS
    from core.tokenizers.audio import AudioTokenizer
    from core.tokenizers.motion_vqvae import MotionTokenizer

    torch.manual_seed(seed)
    motion_tokenizer = MotionTokenizer.load(tokenizers / "motion_tokenizer")
    audio_tokenizer = AudioTokenizer.load(tokenizers / "audio_tokenizer")
    lm = build_model([motion_tokenizer.codebook_size(p) for p in PARTS],
                     audio_tokenizer.num_units, EMOTIONS, "tiny").eval()
    save_model_bundle(folder, lm, motion_tokenizer, audio_tokenizer, name="tiny-masked-test",
                      dtype=torch.float32)
    return folder
