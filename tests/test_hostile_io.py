"""Hostile input to the corpus builder, the command line and audio file reading (issue 13).

Each case asserts the exact outcome: a BodyLanguageError (exit code 2 and one `error:` line on
the command line), a message that names the bad input, and files left as they were; above
all, no command deletes a file it did not write.
"""

from __future__ import annotations

import math
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
from file_errors import error_naming
from folder_snapshot import snapshot

import core.corpus.build as build
from core.cli import main
from core.errors import BodyLanguageError
from core.io.audio import load_audio, save_wav
from core.validate import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# Folders: the files a corpus build writes
# ---------------------------------------------------------------------------------------------


def corpus_files(out: Path, finished: bool) -> None:
    """What a build leaves: a finished corpus, or (not finished) one killed mid-write."""
    out.mkdir(parents=True, exist_ok=True)
    for folder, name in (("smplxflame_30", "train_000000.npz"), ("wave16k", "train_000000.wav"),
                         ("textgrid", "train_000000.TextGrid")):
        (out / folder).mkdir(exist_ok=True)
        (out / folder / name).write_bytes(b"old clip")
    if finished:
        (out / "clips.csv").write_text("id,split,duration,emotion\n")
        (out / "train_test_split.csv").write_text("id,type\n")
    else:
        (out / ".building").write_text("seed=0 hours=1\n")
        (out / "smplxflame_30" / ".val_000001.npz.partial").write_bytes(b"half")


def stray_table_and_thesis(out: Path) -> tuple[bool, str]:
    """The issue's case: a stray clips.csv beside the user's work, built with --overwrite."""
    out.mkdir()
    (out / "clips.csv").write_text("whatever\n")
    (out / "thesis.txt").write_text("precious")
    return True, "thesis.txt"


def marker_and_thesis(out: Path) -> tuple[bool, str]:
    """The issue's other case: a `.building` marker beside the user's work, no flag."""
    out.mkdir()
    (out / ".building").write_text("")
    (out / "thesis.txt").write_text("precious")
    return False, "thesis.txt"


def user_file_inside_a_corpus_folder(out: Path) -> tuple[bool, str]:
    corpus_files(out, finished=True)
    (out / "wave16k" / "my_voice.wav").write_bytes(b"mine")
    return True, "wave16k/my_voice.wav"


def user_folder_in_an_interrupted_build(out: Path) -> tuple[bool, str]:
    corpus_files(out, finished=False)
    (out / "photos").mkdir()
    (out / "photos" / "cat.jpg").write_bytes(b"cat")
    return False, "photos"


def folder_named_like_a_clip(out: Path) -> tuple[bool, str]:
    corpus_files(out, finished=False)
    (out / "textgrid" / "train_000009.TextGrid").mkdir()
    (out / "textgrid" / "train_000009.TextGrid" / "notes.txt").write_text("mine")
    return False, "textgrid/train_000009.TextGrid"


def linked_audio_folder(out: Path) -> tuple[bool, str]:
    """A build's folder that is a link to the user's recordings, named like clips."""
    corpus_files(out, finished=True)
    recordings = out.parent / "recordings"
    recordings.mkdir()
    (recordings / "train_000000.wav").write_bytes(b"the user's take")
    for old in (out / "wave16k").iterdir():
        old.unlink()
    (out / "wave16k").rmdir()
    (out / "wave16k").symlink_to(recordings, target_is_directory=True)
    return True, "wave16k"


def linked_clip_file(out: Path) -> tuple[bool, str]:
    corpus_files(out, finished=False)
    precious = out.parent / "precious.npz"
    precious.write_bytes(b"the user's motion")
    (out / "smplxflame_30" / "train_000001.npz").symlink_to(precious)
    return False, "smplxflame_30/train_000001.npz"


FOREIGN_CASES: dict[str, Callable[[Path], tuple[bool, str]]] = {
    "stray clips.csv and --overwrite": stray_table_and_thesis,
    ".building marker, no flag": marker_and_thesis,
    "user file in wave16k": user_file_inside_a_corpus_folder,
    "user folder beside an interrupted build": user_folder_in_an_interrupted_build,
    "folder named like a clip file": folder_named_like_a_clip,
    "wave16k is a link": linked_audio_folder,
    "clip file is a link": linked_clip_file,
}


@pytest.fixture
def no_clips(monkeypatch):
    """A build that makes no clips: what these tests check happens before the first clip, and
    this keeps them independent of espeak-ng and seconds long."""
    monkeypatch.setattr(build, "_clips_in_order", lambda *_arguments: iter(()))


# ---------------------------------------------------------------------------------------------
# 1. corpus build never deletes what it did not write
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(FOREIGN_CASES))
def test_build_refuses_a_folder_holding_other_files_and_deletes_nothing(tmp_path, no_clips,
                                                                         case):
    out = tmp_path / "out"
    overwrite, foreign = FOREIGN_CASES[case](out)
    before = snapshot(tmp_path)

    with pytest.raises(BodyLanguageError) as caught:
        build.build_corpus(out, hours=0.001, progress=False, overwrite=overwrite)

    message = str(caught.value)
    assert caught.value.path == str(out)
    assert "does not write" in message and foreign in message and "nothing was deleted" in message
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("case", ["stray clips.csv and --overwrite", ".building marker, no flag"])
def test_the_command_line_refuses_too_in_one_line(tmp_path, capsys, case):
    out = tmp_path / "out"
    overwrite, foreign = FOREIGN_CASES[case](out)
    before = snapshot(tmp_path)

    code = main(["corpus", "build", "--hours", "0.001", "--quiet", "--out", str(out)]
                + ["--overwrite"] * overwrite)

    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("error: ") and error.count("\n") == 1
    assert str(out) in error and foreign in error
    assert snapshot(tmp_path) == before


def test_many_stray_files_are_counted_not_all_listed(tmp_path, no_clips):
    out = tmp_path / "out"
    corpus_files(out, finished=False)
    for index in range(8):
        (out / f"note{index}.txt").write_text("mine")
    before = snapshot(tmp_path)
    with pytest.raises(BodyLanguageError, match=r"note0\.txt, .*note4\.txt and 3 more"):
        build.build_corpus(out, hours=0.001, progress=False)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("finished", [False, True], ids=["interrupted", "finished+overwrite"])
def test_a_previous_build_alone_is_replaced_file_by_file(tmp_path, no_clips, finished):
    out = tmp_path / "out"
    corpus_files(out, finished=finished)
    neighbour = tmp_path / "neighbour.txt"  # beside --out, never inside: must not be touched
    neighbour.write_text("mine")

    build.build_corpus(out, hours=0.001, progress=False, overwrite=finished)

    # The old clips are gone (not mixed with the new build); what is left is this build's.
    assert sorted(snapshot(out)) == ["clips.csv", "train_test_split.csv"]
    assert (out / "clips.csv").read_text().startswith("id,split,duration")
    assert neighbour.read_text() == "mine"


def test_a_finished_corpus_still_needs_overwrite(tmp_path, no_clips):
    out = tmp_path / "out"
    corpus_files(out, finished=True)
    before = snapshot(tmp_path)
    with error_naming(out, "--overwrite"):
        build.build_corpus(out, hours=0.001, progress=False)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ["file", "file as parent"])
def test_an_out_path_through_a_file_is_refused(tmp_path, capsys, kind):
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    out = taken if kind == "file" else taken / "corpus"

    code = main(["corpus", "build", "--hours", "0.001", "--quiet", "--out", str(out)])

    error = capsys.readouterr().err
    assert code == 2 and error.startswith("error: ") and str(out) in error
    assert taken.read_text() == "mine"


def test_an_empty_folder_is_used(tmp_path, no_clips):
    out = tmp_path / "out"
    out.mkdir()
    build.build_corpus(out, hours=0.001, progress=False)
    assert (out / "clips.csv").is_file() and not (out / ".building").exists()


# ---------------------------------------------------------------------------------------------
# 2. numbers on the command line
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "value"), [
    ("--hours", "inf"), ("--hours", "-inf"), ("--hours", "nan"), ("--hours", "-1"),
    ("--hours", "0"), ("--hours", "1e300"), ("--hours", "1e400"),
    ("--seed", "-1"), ("--seed", str(2**63)),
    ("--workers", "0"), ("--workers", "-3"), ("--workers", "100000"),
])
def test_corpus_build_numbers_out_of_range(tmp_path, capsys, option, value):
    out = tmp_path / "c"
    args = {"--hours": "0.001", "--seed": "0", "--workers": "1", option: value}
    # `--hours=-inf`: argparse reads a separate "-inf" as an option name.
    code = main(["corpus", "build", "--quiet", "--out", str(out),
                 *(f"{name}={number}" for name, number in args.items())])

    error = capsys.readouterr().err
    assert code == 2 and error.startswith("error: ") and error.count("\n") == 1
    assert option in error
    # The value as the program saw it: argparse turns "1e400" into inf, "0" into 0.0.
    assert (repr(float(value)) if option == "--hours" else value) in error
    assert not out.exists()  # refused before anything was written


@pytest.mark.parametrize("hours", [math.inf, math.nan, -0.5, 0, "1", True, None])
def test_build_corpus_checks_hours_when_called_directly(tmp_path, hours):
    with pytest.raises(BodyLanguageError, match="--hours") as caught:
        build.build_corpus(tmp_path / "c", hours=hours, progress=False)
    assert repr(hours) in str(caught.value)
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("clips", ["-1", "0", "101"])
def test_corpus_preview_clip_count_out_of_range(tmp_path, capsys, clips):
    corpus_files(tmp_path / "corpus", finished=True)
    png = tmp_path / "p.png"
    code = main(["corpus", "preview", "--data", str(tmp_path / "corpus"), "--out", str(png),
                 "--clips", clips])

    error = capsys.readouterr().err
    assert code == 2 and error.startswith("error: ") and error.count("\n") == 1
    assert "--clips" in error and clips in error
    assert "holds no clips" not in error  # the option is at fault, not the corpus
    assert not png.exists()


def test_corpus_preview_too_many_ids(tmp_path, capsys):
    png = tmp_path / "p.png"
    code = main(["corpus", "preview", "--data", str(tmp_path), "--out", str(png),
                 "--ids", *(f"train_{i:06d}" for i in range(101))])
    error = capsys.readouterr().err
    assert code == 2 and "--ids" in error and "101" in error
    assert not png.exists()


def test_a_hostile_number_is_one_line_not_a_traceback_in_a_real_process(tmp_path):
    """The same path as a user's shell: `python -m core`, exit code 2, no traceback."""
    out = tmp_path / "c"
    result = subprocess.run(
        [sys.executable, "-m", "core", "corpus", "build", "--hours", "inf", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --hours") and "inf" in result.stderr
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# 3. audio files
# ---------------------------------------------------------------------------------------------

RATE = 16000


def tone(rate: int = RATE, channels: int = 1, seconds: float = 0.25) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t)
    return np.repeat(wave[:, None], channels, axis=1).astype(np.float32)


def wav_bytes(path: Path, rate: int = RATE, channels: int = 1) -> bytes:
    soundfile.write(path, tone(rate, channels), rate, subtype="PCM_16", format="WAV")
    return path.read_bytes()


def patched_wav(path: Path, offset: int, value: int, size: str = "<I") -> None:
    """A good WAV with one field of its canonical 44-byte header replaced."""
    data = bytearray(wav_bytes(path))
    data[offset:offset + struct.calcsize(size)] = struct.pack(size, value)
    path.write_bytes(bytes(data))


def random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(1).bytes(4000))


def mp3_sync_then_noise(path: Path) -> None:
    """An MPEG frame sync word, then noise: the input that reaches libsndfile's mp3 reader,
    which answers 'File does not exist'."""
    path.write_bytes(b"\xff\xfb\x90\x00" + np.random.default_rng(2).bytes(3000))


def truncated_wav(path: Path) -> None:
    whole = wav_bytes(path)
    path.write_bytes(whole[: len(whole) // 2])


def truncated_flac(path: Path) -> None:
    soundfile.write(path, np.random.default_rng(3).uniform(-0.3, 0.3, 16000), RATE,
                    format="FLAC")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


def at_rate(rate: int, file_format: str = "WAV") -> Callable[[Path], None]:
    def write(path: Path) -> None:
        soundfile.write(path, tone(rate), rate, format=file_format)
    return write


# name -> (file name, how to make it, fragments the message must hold)
BAD_AUDIO: dict[str, tuple[str, Callable[[Path], None], tuple[str, ...]]] = {
    "random bytes as mp3": ("song.mp3", random_bytes, ("content is not",)),
    "mp3 sync word then noise": ("song.mp3", mp3_sync_then_noise, ("content is not",)),
    "random bytes as wav": ("take.wav", random_bytes, ("content is not",)),
    "random bytes, no extension": ("take", random_bytes, ("content is not",)),
    "empty": ("empty.wav", lambda path: path.write_bytes(b""), ("empty", "0 bytes")),
    "header only": ("stub.wav", lambda path: path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt "),
                    ("content is not",)),
    "truncated wav": ("half.wav", truncated_wav,
                      ("truncated", "promises 8000 bytes", "only 3978")),
    "truncated flac": ("half.flac", truncated_flac, ("cannot decode",)),
    "100 Hz wav": ("slow.wav", at_rate(100), ("100 Hz", "outside 8000..192000")),
    "7999 Hz wav": ("slow.wav", at_rate(7999), ("7999 Hz", "outside")),
    "192001 Hz wav": ("fast.wav", at_rate(192001), ("192001 Hz", "outside")),
    "4000 Hz flac": ("slow.flac", at_rate(4000, "FLAC"), ("4000 Hz", "outside")),
    "384 kHz flac": ("fast.flac", at_rate(384000, "FLAC"), ("384000 Hz", "outside")),
    "4 GHz in the header": ("huge.wav", lambda path: patched_wav(path, 24, 4_000_000_000),
                            ("4000000000 Hz", "outside")),
    "1 Hz in the header": ("one.wav", lambda path: patched_wav(path, 24, 1), ("1 Hz", "outside")),
    "60000 channels in the header": ("wide.wav", lambda path: patched_wav(path, 22, 60000, "<H"),
                                     ("cannot decode", "channels")),
    "NaN samples": ("nan.wav", lambda path: soundfile.write(
        path, np.array([0.0, np.nan, 0.1], np.float32), RATE, subtype="FLOAT"), ("NaN",)),
    "zero frames": ("none.wav", lambda path: soundfile.write(
        path, np.zeros((0, 2)), RATE, subtype="PCM_16"), ("zero length",)),
}


@pytest.mark.parametrize("case", list(BAD_AUDIO))
def test_bad_audio_files_are_refused_naming_the_file(tmp_path, case):
    name, make, fragments = BAD_AUDIO[case]
    path = tmp_path / name
    make(path)
    content = path.read_bytes()

    with pytest.raises(BodyLanguageError) as caught:
        load_audio(path)

    message = str(caught.value)
    assert caught.value.path == str(path) and message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message, message
    # The file is there: nothing may send the user looking for a missing one.
    assert "does not exist" not in message and "not found" not in message
    assert path.read_bytes() == content


@pytest.mark.parametrize(("name", "make", "message"), [
    ("missing.wav", lambda path: None, "audio file not found"),
    ("folder.wav", lambda path: path.mkdir(), "is a folder"),
])
def test_a_path_without_a_file_says_so(tmp_path, name, make, message):
    path = tmp_path / name
    make(path)
    with error_naming(path, message):
        load_audio(path)


@pytest.mark.parametrize("rate", [MIN_SAMPLE_RATE, 44100, MAX_SAMPLE_RATE])
def test_rates_at_and_inside_the_limits_load(tmp_path, rate):
    path = tmp_path / "edge.wav"
    soundfile.write(path, tone(rate), rate, subtype="PCM_16")
    audio = load_audio(path, RATE)
    assert audio.shape == (RATE // 4,) and np.isfinite(audio).all()


@pytest.mark.parametrize("channels", [2, 6, 1024])
def test_multichannel_audio_is_mixed_to_mono(tmp_path, channels):
    path = tmp_path / "many.wav"
    wav_bytes(path, channels=channels)
    audio = load_audio(path, RATE)
    assert audio.shape == (RATE // 4,)
    np.testing.assert_allclose(audio, tone()[:, 0], atol=2 / 32768)


def test_a_streamed_wav_with_no_data_length_is_not_called_truncated(tmp_path):
    """Writers that stream (ffmpeg to a pipe) leave the data length 0xFFFFFFFF, "unknown";
    that is not damage."""
    path = tmp_path / "streamed.wav"
    patched_wav(path, 40, 0xFFFFFFFF)
    assert load_audio(path, RATE).shape == (RATE // 4,)


@pytest.mark.parametrize("rate", [1, 100, 7999, 192001, 10**9])
def test_the_rate_asked_for_has_the_same_limits(tmp_path, rate):
    path = tmp_path / "ok.wav"
    wav_bytes(path)
    range_then_value = f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}, got {rate}"
    with pytest.raises(BodyLanguageError, match=range_then_value):
        load_audio(path, rate)
    with pytest.raises(BodyLanguageError, match=f"got {rate}"):
        save_wav(tmp_path / "out.wav", tone()[:, 0], rate)
    assert not (tmp_path / "out.wav").exists()
