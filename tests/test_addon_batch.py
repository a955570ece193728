"""Headless batch animation (blender_addon/batch.py) in real Blender 5.0.1 and 4.2 LTS with a
real worker: speakers found by their audio binding, one failure not stopping the others, a
summary and exit status at the end."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from blender_harness import BPY_VERSIONS, ROOT, bpy_python, run_in_blender
from tiny_model import tiny_model_folder


def write_tone(path: Path, seconds: float, rate: int = 16000) -> Path:
    samples = (0.3 * np.sin(2 * np.pi * 200 * np.arange(int(seconds * rate)) / rate) * 32767)
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(samples.astype("<i2").tobytes())
    return path


def run_batch(version: str, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """`python -m blender_addon.batch ...` with that Blender version as a module."""
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "blender-user"),
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([str(bpy_python(version)), "-m", "blender_addon.batch", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def make_two_speaker_blend(tmp_path: Path) -> tuple[Path, dict]:
    anna = write_tone(tmp_path / "anna.wav", 1.5)
    ben = write_tone(tmp_path / "ben.wav", 1.0)
    blend = tmp_path / "two.blend"
    values = run_in_blender("two_speaker_scene", tmp_path, params={
        "anna": str(anna), "ben": str(ben), "blend": str(blend)}).values
    return blend, values


def test_each_speaker_gets_only_its_own_strips(tmp_path):
    _blend, values = make_two_speaker_blend(tmp_path)
    assert values["speakers"] == ["Anna", "Ben"]
    assert values["clips"] == {"Anna": [["anna 1", "anna 2"], 1, 115],
                               "Ben": [["ben"], 30, 60]}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_model_folder(tmp_path_factory)


def animated_ranges(blend: Path, tmp_path: Path, version: str = "5.0") -> dict:
    """{armature: {track: [first key frame, last key frame]}} of a saved .blend."""
    return run_in_blender("keyed_ranges_of_blend", tmp_path, params={"blend": str(blend)},
                          python=bpy_python(version)).values["found"]


PART_TRACKS = ["BL face", "BL hands", "BL lower", "BL upper"]


def test_two_speaker_batch_animates_each_from_its_own_strips(tmp_path, model_dir):
    blend, _values = make_two_speaker_blend(tmp_path)
    out = tmp_path / "out.blend"
    completed = run_batch("5.0", [str(blend), "--out", str(out), "--python", sys.executable,
                                  "--checkpoint", str(model_dir)], tmp_path)
    log = completed.stdout
    assert completed.returncode == 0, log + completed.stderr
    assert "2 animated, 0 failed" in log and f"saved   {out}" in log
    found = animated_ranges(out, tmp_path)
    # Anna speaks from frame 1 to the end of her second strip (70 + 45 frames); Ben from 30
    # for his one second. The unbound armature is left alone.
    assert sorted(found["Anna"]) == PART_TRACKS and sorted(found["Ben"]) == PART_TRACKS
    for first, last in found["Anna"].values():
        assert first == 1 and abs(last - 115) <= 1
    for first, last in found["Ben"].values():
        assert first == 30 and abs(last - 60) <= 1
    assert found["Extra"] == {}


def test_one_failure_does_not_stop_the_others_and_a_summary_closes(tmp_path, model_dir):
    blend, _values = make_two_speaker_blend(tmp_path)
    (tmp_path / "anna.wav").unlink()  # Anna's audio is gone; Ben's is there
    out = tmp_path / "out.blend"
    completed = run_batch("5.0", [str(blend), "--out", str(out), "--python", sys.executable,
                                  "--checkpoint", str(model_dir)], tmp_path)
    log = completed.stdout
    assert completed.returncode == 1, log + completed.stderr
    # Both speakers were tried, in order; Anna's failure names her file.
    assert "[1/2] Anna: failed" in log and "anna.wav: audio file not found" in log
    assert "1 animated, 1 failed" in log and "FAILED  Anna" in log and "ok      Ben" in log
    assert "Traceback" not in log + completed.stderr
    found = animated_ranges(out, tmp_path)
    assert found["Anna"] == {} and sorted(found["Ben"]) == PART_TRACKS


@pytest.mark.parametrize("version", BPY_VERSIONS)
def test_folder_batch_animates_each_file_onto_a_fresh_rig(tmp_path, version, model_dir):
    folder = tmp_path / "lines"
    folder.mkdir()
    write_tone(folder / "a_good.wav", 1.0)
    (folder / "b_broken.wav").write_bytes(b"not audio at all")
    (folder / "notes.txt").write_text("ignored")
    # A relative folder: the worker, which runs elsewhere, still finds the files.
    completed = run_batch(version, ["--audio-dir", "lines", "--out-dir", "out", "--python",
                                    sys.executable, "--checkpoint", str(model_dir)], tmp_path)
    log = completed.stdout
    assert completed.returncode == 1, log + completed.stderr
    assert "[2/2] b_broken.wav failed" in log and "cannot decode audio" in log
    assert "1 animated, 1 failed" in log and "notes.txt" not in log
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a_good.blend"], log
    found = animated_ranges(tmp_path / "out" / "a_good.blend", tmp_path, version)
    (tracks,) = found.values()
    assert sorted(tracks) == PART_TRACKS
    # A fresh file runs at 24 fps: one second of audio ends at frame 25, resampled from 30 fps.
    for first, last in tracks.values():
        assert first == 1 and abs(last - 25) <= 1


def test_bad_arguments_exit_2(tmp_path):
    completed = run_batch("5.0", ["--audio-dir", str(tmp_path)], tmp_path)
    assert completed.returncode == 2
    assert "--out-dir" in completed.stderr
