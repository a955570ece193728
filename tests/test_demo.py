"""`python build.py demo` end to end with a tiny real model: the extension installed in headless
Blender 5.0, the sample dialogue on a sound strip, Create Character and Generate through the
add-on's worker, the saved .blend opened again, the contact sheet read back. Also the sample
dialogue's synthesis and the clear message when no model is there."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from blender_harness import run_in_blender
from tiny_model import tiny_masked_model_folder, tiny_model_folder

import build
from core.corpus.speech import espeak_problem
from core.skeleton import JOINT_NAMES, PART_JOINTS

ROOT = Path(build.__file__).resolve().parent
TILE = (64, 48)
# demo/run_demo.py times "raise your right hand" over 3.4-6.2 s of the strip at frame 1 (30 fps).
TIMED_MARKERS = [["bl: raise your right hand", 103], ["bl:", 187]]


def build_py(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def wav_format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as file:
        rate = file.getframerate()
        return file.getnchannels(), file.getsampwidth(), rate, file.getnframes() / rate


# ---------------------------------------------------------------------------- sample dialogue


def test_committed_sample_dialogue_is_a_short_16k_mono_wav_with_its_transcript():
    channels, width, rate, seconds = wav_format(build.DEMO_AUDIO)
    assert (channels, width, rate) == (1, 2, 16000)
    assert 6.0 <= seconds <= 10.0
    assert build.DEMO_AUDIO.stat().st_size < 400_000
    transcript = build.DEMO_TRANSCRIPT.read_text().strip()
    assert transcript.count(".") + transcript.count("!") + transcript.count("?") == 2


@pytest.mark.skipif(bool(espeak_problem()), reason=espeak_problem() or "espeak-ng available")
def test_sample_dialogue_script_gives_the_same_bytes_every_run(tmp_path):
    script = ROOT / "demo" / "make_sample_dialogue.py"
    outputs = []
    for name in ("first", "second"):
        subprocess.run([sys.executable, str(script), "--out-dir", str(tmp_path / name)],
                       check=True, capture_output=True, timeout=120)
        outputs.append((tmp_path / name / "sample_dialogue.wav").read_bytes())
    assert outputs[0] == outputs[1]
    channels, width, rate, seconds = wav_format(tmp_path / "first" / "sample_dialogue.wav")
    assert (channels, width, rate) == (1, 2, 16000) and 6.0 <= seconds <= 10.0
    assert (tmp_path / "first" / "sample_dialogue.txt").read_text() == \
        build.DEMO_TRANSCRIPT.read_text()


# ---------------------------------------------------------------------------- no model


def test_missing_default_model_is_one_clear_line(tmp_path):
    problem = build.demo_model_problem(tmp_path, is_default=True)
    assert "shipped model is missing" in problem and "--model" in problem
    assert "\n" not in problem
    assert build.demo_model_problem(tmp_path / "nowhere", is_default=False).startswith(
        f"{tmp_path / 'nowhere'} is not a model folder")


def test_demo_with_a_folder_that_is_no_model_fails_with_one_line(tmp_path):
    completed = build_py("demo", "--model", str(tmp_path), "--out", str(tmp_path / "out"),
                         timeout=60)
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0
    assert "model.json" in completed.stderr and "Traceback" not in completed.stderr
    assert not (tmp_path / "out").exists()


def test_resolution_option_reads_width_x_height():
    assert build.parse_resolution("640x480") == (640, 480)
    for bad in ("640", "0x10", "axb"):
        with pytest.raises(Exception, match="WIDTHxHEIGHT"):
            build.parse_resolution(bad)


# ---------------------------------------------------------------------------- end to end


def test_demo_times_its_action_only_for_a_model_that_takes_timed_prompts(tmp_path_factory):
    text, start, end = build.DEMO_TIMED_ACTION
    for model, expected in ((build.DEFAULT_MODEL_DIR, True),
                            (tiny_masked_model_folder(tmp_path_factory), True),
                            (tiny_model_folder(tmp_path_factory), False)):
        command = build.demo_command(Path("python"), Path("ext.zip"), model, Path("out"),
                                     (64, 48), 2, "wave")
        timed = ["--timed-action", text, str(start), str(end)]
        assert (command[-4:] == timed) == expected, model
        assert ("--timed-action" in command) == expected


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    # The masked kind, as shipped: it takes the demo's timed prompt.
    model = tiny_masked_model_folder(tmp_path_factory)
    out = tmp_path_factory.mktemp("demo-out")
    completed = build_py("demo", "--model", str(model), "--out", str(out),
                         "--resolution", "x".join(map(str, TILE)), "--samples", "2")
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return out, completed


def test_demo_prints_where_the_scene_and_preview_are(demo_run):
    out, completed = demo_run
    assert f"[build] scene:   {out / 'demo.blend'}" in completed.stdout
    assert f"[build] preview: {out / 'demo_preview.png'}" in completed.stdout
    assert "Animated face, hands, upper, lower of Speaker" in completed.stdout
    # The worker got the timed prompt from the markers: the action over frames 103-186.
    assert "timed prompts 'raise your right hand' (frames 103-186)" in completed.stdout


def test_saved_scene_has_the_strip_and_every_part_keyed_from_its_start(demo_run, tmp_path):
    out, _ = demo_run
    values = run_in_blender("demo_scene_contents", tmp_path,
                            params={"blend": str(out / "demo.blend")}).values
    ((name, kind, start, end, packed),) = values["strips"]
    assert (name, kind, start, packed) == ("dialogue", "SOUND", 1, True)
    _, _, _, seconds = wav_format(build.DEMO_AUDIO)
    assert end - start == pytest.approx(seconds * 30, abs=1)
    assert values["frames"] == [start, end - 1] and values["camera"]
    assert sorted(values["markers"]) == sorted(TIMED_MARKERS)
    assert values["armatures"] == ["Speaker"]
    tracks = values["tracks"]
    assert sorted(tracks) == ["BL face", "BL hands", "BL lower", "BL upper"]
    for part, joints in PART_JOINTS.items():
        keyed, first, last = tracks[f"BL {part}"]
        missing = {JOINT_NAMES[joint] for joint in joints} - set(keyed)
        assert not missing, f"{part}: bones without keys {sorted(missing)}"
        assert first == start and abs(last - (end - 1)) <= 1.0


def test_preview_is_a_contact_sheet_of_rendered_frames(demo_run):
    from matplotlib.image import imread

    out, _ = demo_run
    sheet = imread(out / "demo_preview.png")
    width, height = TILE
    assert sheet.shape[:2] == (2 * height, 4 * width)
    tiles = [sheet[row * height:(row + 1) * height, column * width:(column + 1) * width, :3]
             for row in range(2) for column in range(4)]
    # Every tile is a render (floor, sky, character), not an empty or flat image.
    for index, tile in enumerate(tiles):
        assert tile.std() > 0.02, f"tile {index} is flat"
    assert np.mean([tile.mean() for tile in tiles]) > 0.1
