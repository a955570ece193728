"""`python build.py demo` end to end with a tiny real model: the extension installed in headless
Blender 5.0, two speakers' lines alternating on two Sequencer channels, Create Character for each,
Bind Speakers, Generate on each through the add-on's worker (each looks at the other while the
other speaks), the saved .blend opened again, the contact sheet read back. Also the speakers'
synthesis, the conversation's layout and the clear message when no model is there."""

from __future__ import annotations

import re
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

# demo/ is no package: its Blender-side scripts import each other from that folder.
sys.path.insert(0, str(Path(build.__file__).resolve().parent / "demo"))
import two_speakers  # noqa: E402

ROOT = Path(build.__file__).resolve().parent
TILE = (64, 48)
# demo/two_speakers.py places the lines back to back from frame 1 (30 fps): Ben's first (the
# reply wav's frames 0-70), Anna's first (the dialogue's 0-96), Ben's second, Anna's second. Its
# wav starts at frame 253 - 96 = 157, so 3.4-6.2 s into it is frames 259-343.
STRIPS = [["Ben 1: come on in", 2, 1, 71], ["Anna 1: hello", 1, 71, 167],
          ["Ben 2: what is it?", 2, 167, 253], ["Anna 2: let me show you", 1, 253, 373]]
TIMED_MARKERS = [["bl: raise your right hand", 259], ["bl:", 343]]
CLIPS = {"Anna": (71, 372), "Ben": (1, 252)}
LISTENING = {"Anna": "looking at Ben (frames 167-252)", "Ben": "looking at Anna (frames 71-166)"}


def build_py(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def wav_format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as file:
        rate = file.getframerate()
        return file.getnchannels(), file.getsampwidth(), rate, file.getnframes() / rate


def wav_samples(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit mono wav's samples in [-1, 1), and its sample rate."""
    with wave.open(str(path), "rb") as file:
        samples = np.frombuffer(file.readframes(file.getnframes()), "<i2") / 32768.0
        return samples, file.getframerate()


# ---------------------------------------------------------------------------- sample dialogue


SPEAKERS = [(build.DEMO_AUDIO, build.DEMO_TRANSCRIPT, (6.0, 10.0)),
            (build.DEMO_REPLY_AUDIO, build.DEMO_REPLY_TRANSCRIPT, (3.0, 6.0))]


@pytest.mark.parametrize(("wav", "transcript", "seconds_range"), SPEAKERS,
                         ids=["dialogue", "reply"])
def test_committed_lines_are_short_16k_mono_wavs_with_their_transcripts(wav, transcript,
                                                                        seconds_range):
    channels, width, rate, seconds = wav_format(wav)
    assert (channels, width, rate) == (1, 2, 16000)
    assert seconds_range[0] <= seconds <= seconds_range[1]
    assert wav.stat().st_size < 400_000
    text = transcript.read_text().strip()
    assert text.count(".") + text.count("!") + text.count("?") == 2


def test_the_two_voices_differ_clearly():
    # Anna is a Scottish woman, Ben a Caribbean man: his median pitch is far below hers.
    def median_pitch(path: Path) -> float:
        audio, _ = wav_samples(path)
        frames = audio[: len(audio) // 640 * 640].reshape(-1, 640)
        pitches = []
        for frame in frames[np.abs(frames).max(axis=1) > 0.1]:
            correlation = np.correlate(frame, frame, "full")[639:]
            lag = 40 + int(np.argmax(correlation[40:200]))  # 80-400 Hz at 16 kHz
            pitches.append(16000 / lag)
        return float(np.median(pitches))

    assert median_pitch(build.DEMO_AUDIO) > 1.4 * median_pitch(build.DEMO_REPLY_AUDIO)


@pytest.mark.skipif(bool(espeak_problem()), reason=espeak_problem() or "espeak-ng available")
def test_sample_dialogue_script_gives_the_same_bytes_every_run(tmp_path):
    script = ROOT / "demo" / "make_sample_dialogue.py"
    for name in ("first", "second"):
        subprocess.run([sys.executable, str(script), "--out-dir", str(tmp_path / name)],
                       check=True, capture_output=True, timeout=120)
    for wav, transcript, (shortest, longest) in SPEAKERS:
        written = [(tmp_path / name / wav.name).read_bytes() for name in ("first", "second")]
        assert written[0] == written[1] == wav.read_bytes()
        channels, width, rate, seconds = wav_format(tmp_path / "first" / wav.name)
        assert (channels, width, rate) == (1, 2, 16000) and shortest <= seconds <= longest
        assert (tmp_path / "first" / transcript.name).read_text() == transcript.read_text()


def test_lines_alternate_cut_in_silence_and_name_only_their_speaker():
    assert [line.speaker for line in two_speakers.LINES] == ["Ben", "Anna", "Ben", "Anna"]
    wavs = {"Anna": build.DEMO_AUDIO, "Ben": build.DEMO_REPLY_AUDIO}
    for line in two_speakers.LINES:
        # Bind Speakers binds by name: a line names its speaker and not the other.
        other = ({"Anna", "Ben"} - {line.speaker}).pop()
        assert line.name.startswith(line.speaker) and other.lower() not in line.name.lower()
        audio, rate = wav_samples(wavs[line.speaker])
        for cut in (line.first, line.end):
            if cut:  # a cut inside the file falls in the pause between sentences
                around = audio[int((cut / 30 - 0.1) * rate):int((cut / 30 + 0.1) * rate)]
                assert np.abs(around).max() < 0.01, (line.name, cut)
    anna, ben = (two_speakers.PLACES[name] for name in ("Anna", "Ben"))
    # Apart, and each turned partly toward the other (a character faces -Y unturned).
    assert anna[0][0] < ben[0][0] and 0 < anna[1] < 90 and -90 < ben[1] < 0


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


def report_of(stdout: str, character: str) -> str:
    """The demo's line with Generate's report on `character`."""
    (line,) = [line for line in stdout.splitlines()
               if line.startswith("[demo") and f"lower of {character}:" in line]
    return line


def test_demo_binds_each_speaker_generates_each_and_prints_where_things_are(demo_run):
    out, completed = demo_run
    assert f"[build] scene:   {out / 'demo.blend'}" in completed.stdout
    assert f"[build] preview: {out / 'demo_preview.png'}" in completed.stdout
    # Bind Speakers (the operator's report) gave each character the lines that name it.
    assert ("Bound Anna: Anna 1: hello, Anna 2: let me show you (by name); "
            "Ben: Ben 1: come on in, Ben 2: what is it? (by name)") in completed.stdout
    for character, (first, _) in CLIPS.items():
        report = report_of(completed.stdout, character)
        assert f"Animated face, hands, upper, lower of {character}" in report
        assert f"frames from frame {first}" in report
        # Each listens to the other's line inside its own clip, and the report says where.
        assert LISTENING[character] in report
    # The worker got Anna's timed prompt from the markers; Ben's clip ends before them.
    assert "timed prompts 'raise your right hand' (frames 259-342)" in report_of(
        completed.stdout, "Anna")
    assert "timed prompts" not in report_of(completed.stdout, "Ben")


def test_saved_scene_has_both_speakers_placed_bound_and_keyed_over_their_clips(demo_run, tmp_path):
    out, _ = demo_run
    values = run_in_blender("demo_scene_contents", tmp_path,
                            params={"blend": str(out / "demo.blend")}).values
    assert values["strips"] == STRIPS and values["kinds"] == [["SOUND", True]]
    assert values["frames"] == [1, 372] and values["camera"]
    assert sorted(values["markers"]) == sorted(TIMED_MARKERS)
    # Each character stands where two_speakers.py puts it, bound to its own strips.
    bound = values["bound"]
    assert sorted(bound) == ["Anna", "Ben"]
    for name, (source, strips, location, turn) in bound.items():
        place, degrees = two_speakers.PLACES[name]
        assert source == "STRIPS"
        assert strips == [strip[0] for strip in STRIPS if strip[0].startswith(name)]
        assert location == pytest.approx(list(place)) and np.degrees(turn) == pytest.approx(degrees)
    keys = values["keys"]
    assert sorted(keys) == sorted(f"{name} BL {part}" for name in bound for part in PART_JOINTS)
    for name, (start, end) in CLIPS.items():
        for part, joints in PART_JOINTS.items():
            keyed, first, last = keys[f"{name} BL {part}"]
            missing = {JOINT_NAMES[joint] for joint in joints} - set(keyed)
            assert not missing, f"{name} {part}: bones without keys {sorted(missing)}"
            assert first == start and abs(last - end) <= 1.0


def test_preview_is_a_contact_sheet_of_rendered_frames_two_in_each_line(demo_run):
    from matplotlib.image import imread

    out, completed = demo_run
    (listed,) = re.findall(r"rendered frames ([\d, ]+) into", completed.stdout)
    frames = [int(frame) for frame in listed.split(", ")]
    assert [sum(first <= frame < end for frame in frames) for _, _, first, end in STRIPS] == \
        [2, 2, 2, 2]
    sheet = imread(out / "demo_preview.png")
    width, height = TILE
    assert sheet.shape[:2] == (2 * height, 4 * width)
    tiles = [sheet[row * height:(row + 1) * height, column * width:(column + 1) * width, :3]
             for row in range(2) for column in range(4)]
    # Every tile is a render (floor, sky, character), not an empty or flat image.
    for index, tile in enumerate(tiles):
        assert tile.std() > 0.02, f"tile {index} is flat"
    assert np.mean([tile.mean() for tile in tiles]) > 0.1
