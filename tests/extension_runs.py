"""Scripts from tests/blender_scripts/ run in real headless Blender with the built extension
installed (blender_scripts/installed_addon.py does the install), and tones for them to play."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np
from blender_harness import BlenderRun, bpy_python, run_in_blender

MODULE = "bl_ext.user_default.body_language"


def write_tone(path: Path, seconds: float, rate: int = 16000, level: float = 0.3) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    samples = (level * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(samples.tobytes())
    return path


def run_with_extension(script: str, tmp_path: Path, version: str, extension_zip: Path,
                       checkpoint: Path | None = None, params: dict | None = None,
                       **kwargs) -> BlenderRun:
    """Run `script` in Blender `version` with the extension installed, its worker Python this
    venv's (it has torch) and its checkpoint folder `checkpoint` (an empty one if None)."""
    checkpoint = checkpoint or (tmp_path / "checkpoint")
    checkpoint.mkdir(exist_ok=True)
    params = {"extension_zip": str(extension_zip), "module": MODULE,
              "worker_python": sys.executable, "checkpoint": str(checkpoint), **(params or {})}
    return run_in_blender(script, tmp_path, params=params, python=bpy_python(version), **kwargs)
