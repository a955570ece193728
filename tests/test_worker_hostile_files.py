"""Hostile files for the model worker (issue 13): audio samples, clip lengths, output paths and
motion files that are damaged, mislabelled or too big are answered with an input error naming the
file, and the worker answers the next request. Hostile request lines and fields are
tests/test_worker_hostile.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tiny_model import tiny_model_folder
from worker_client import (
    MODEL_TIMEOUT,
    RATE,
    assert_kept_bit_identical,
    assert_still_serving,
    error_of,
    keep_file,
    line_wav,
    running_client,
)

from blender_addon.motion_files import read_motion_file, write_keep_file
from blender_addon.runtime import WorkerClient
from core.face_spaces import ARKIT52
from core.shared.motion_files import KEEP_FACE
from core.skeleton import PARTS
from core.worker_errors import RequestError
from core.worker_npz import load_motion, save_motion


@pytest.fixture(scope="module")
def client() -> Iterator[WorkerClient]:
    with running_client() as made:
        yield made


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> dict[str, str]:
    """The `model` field that makes the worker load (or keep) the tiny model."""
    return {"checkpoint": str(tiny_model_folder(tmp_path_factory)), "device": "cpu"}


@pytest.fixture(scope="module")
def wav(tmp_path_factory) -> Path:
    return line_wav(tmp_path_factory.mktemp("audio"))


def tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


# ---------------------------------------------------------------------------- samples files


def samples_file(path: Path, rate: object, samples: object = None) -> Path:
    samples = np.zeros(RATE, np.float32) if samples is None else samples
    np.savez(path, samples=samples, sample_rate=np.asarray(rate))
    return path


@pytest.mark.parametrize("rate, samples, words", [
    (0, None, ("sample_rate 0 Hz", "8000..192000")),
    (-16000, None, ("sample_rate -16000 Hz", "outside")),
    (1, None, ("sample_rate 1 Hz", "outside")),
    (7999, None, ("sample_rate 7999 Hz",)),
    (192001, None, ("sample_rate 192001 Hz",)),
    (16000.5, None, ("whole number of Hz", "16000.5")),
    (float("nan"), None, ("whole number of Hz", "nan")),
    (float("inf"), None, ("whole number of Hz", "inf")),
    ([16000, 16000], None, ("sample_rate must be one number",)),
    ("16000", None, ("sample_rate must be one number",)),
    (16000, np.zeros(RATE, np.int16), ("floats", "int16")),
    (16000, np.zeros((2, 3, 4), np.float32), ("(N,) finite",)),
    (16000, np.zeros(0, np.float32), ("(N,) finite",)),
    (16000, np.array([0.1, np.nan], np.float32), ("(N,) finite",)),
], ids=["zero", "negative", "one_hz", "just_below", "just_above", "fraction", "nan", "inf",
        "two_rates", "text_rate", "int16_samples", "three_dims", "empty", "nan_sample"])
def test_bad_samples_file_is_an_input_error_naming_it(client, tmp_path, rate, samples, words):
    path = samples_file(tmp_path / "samples.npz", rate, samples)
    output = tmp_path / "out.npz"
    error = error_of(client, "generate", audio={"samples": str(path)}, output=str(output))
    assert error.kind == "input" and str(path) in str(error)
    for word in words:
        assert word in str(error), str(error)
    assert not output.exists()
    assert_still_serving(client)


@pytest.mark.parametrize("content, words", [
    (b"", ("cannot read audio samples npz",)),
    (b"\x00\x01 random bytes, no zip", ("cannot read audio samples npz",)),
    (None, ("single .npy array",)),
], ids=["empty_file", "random_bytes", "bare_npy"])
def test_samples_file_that_is_no_npz_is_an_input_error_naming_it(client, tmp_path, content,
                                                                  words):
    path = tmp_path / "samples.npz"
    if content is None:
        with path.open("wb") as file:
            np.save(file, np.zeros(10, np.float32))
    else:
        path.write_bytes(content)
    error = error_of(client, "generate", audio={"samples": str(path)},
                     output=str(tmp_path / "out.npz"))
    assert error.kind == "input" and str(path) in str(error)
    for word in words:
        assert word in str(error), str(error)
    assert_still_serving(client)


def test_pickled_samples_are_refused_without_unpickling(client, tmp_path):
    path = tmp_path / "samples.npz"
    np.savez(path, samples=np.array([{"a": 1}], dtype=object), sample_rate=np.int64(RATE))
    error = error_of(client, "generate", audio={"samples": str(path)},
                     output=str(tmp_path / "out.npz"))
    assert error.kind == "input" and str(path) in str(error) and "pickle" in str(error)
    assert_still_serving(client)


# ---------------------------------------------------------------------------- clip lengths


@pytest.mark.parametrize("audio, words", [
    ({"duration": 1e12}, ("audio: duration", "limit of 3600 s")),
    ({"duration": 3601}, ("audio: duration 3601",)),
    ({"track": {"start": 1e12}}, ("audio track 1: start",)),
    ({"track": {"duration": 1e15}}, ("audio track 1: duration",)),
    ({"track": {"offset": -1e12}}, ("audio track 1: offset",)),
    ({"second_track": {"start": 3599.5}}, ("the clip lasts 3601.5 s", "limit of 3600 s")),
    ({"track": {"volume": float("nan")}}, ("audio track 1: volume must be a number",)),
    ({"track": {"start": "soon"}}, ("audio track 1: start must be a number",)),
    ({"track": {"path": ""}}, ("audio track 1 has no file path",)),
], ids=["huge_duration", "just_too_long", "huge_start", "huge_track_duration",
        "huge_negative_offset", "tracks_end_too_late", "nan_volume", "text_start", "no_path"])
def test_clip_lengths_and_track_numbers_are_bounded(client, wav, tmp_path, audio, words):
    track = {"path": str(wav), **audio.get("track", {})}
    tracks = [track]
    if "second_track" in audio:
        tracks.append({"path": str(wav), **audio["second_track"]})
    spec = {"tracks": tracks, **({"duration": audio["duration"]} if "duration" in audio else {})}
    error = error_of(client, "generate", audio=spec, output=str(tmp_path / "out.npz"))
    assert error.kind == "input"
    for word in words:
        assert word in str(error), str(error)
    assert_still_serving(client)


# ---------------------------------------------------------------------------- output paths


def test_a_folder_as_output_path_is_refused_and_left_alone(client, wav, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "mine.txt").write_text("the user's file")
    before = tree(tmp_path)
    error = error_of(client, "generate", audio={"tracks": [{"path": str(wav)}]},
                     output=str(folder))
    assert error.kind == "input" and str(folder) in str(error) and "is a folder" in str(error)
    assert tree(tmp_path) == before
    assert_still_serving(client)


@pytest.mark.parametrize("output, words", [
    ("missing/sub/out.npz", ("does not exist",)),
    ("out\x00.npz", ("NUL",)),
    ("", ("needs an `output` npz path",)),
    (7, ("needs an `output` npz path",)),
], ids=["missing_folder", "nul_in_path", "empty", "number"])
def test_unusable_output_path_is_refused_before_any_work(client, wav, tmp_path, output, words):
    target = str(tmp_path / output) if isinstance(output, str) and output else output
    error = error_of(client, "generate", audio={"tracks": [{"path": str(wav)}]}, output=target)
    assert error.kind == "input"
    for word in words:
        assert word in str(error), str(error)
    if isinstance(output, str) and "missing" in output:
        assert str(tmp_path / "missing" / "sub") in str(error)
    assert list(tmp_path.iterdir()) == []
    assert_still_serving(client)


def test_save_failure_names_the_output_and_removes_only_its_partial_file(tmp_path):
    from core.motion import Motion

    folder = tmp_path / "locked"
    folder.mkdir()
    target = folder / "out.npz"
    target.mkdir()  # os.replace cannot put a file over a folder
    (target / "keep-me").write_text("x")
    with pytest.raises(RequestError) as caught:
        save_motion(Motion.rest(4), str(target))
    assert str(target) in str(caught.value) and "cannot write the result" in str(caught.value)
    assert sorted(path.name for path in folder.iterdir()) == ["out.npz"]
    assert (target / "keep-me").read_text() == "x"


# ---------------------------------------------------------------------------- motion files back


def test_worker_result_is_accepted_back_as_keep_and_as_motion(client, model, wav, tmp_path):
    first_path = client.new_file("first")
    client.call("generate", timeout=MODEL_TIMEOUT, audio={"tracks": [{"path": str(wav)}]},
                output=str(first_path), seed=1, model=model)
    with np.load(first_path) as stored:
        assert "face_arkit52" in stored.files and KEEP_FACE not in stored.files
    first = read_motion_file(first_path)
    # Kept parts come back bit for bit from the worker's own file, its face included.
    data = client.call("generate", timeout=MODEL_TIMEOUT,
                       audio={"tracks": [{"path": str(wav)}]}, output=str(tmp_path / "b.npz"),
                       seed=2, parts=["hands"], keep=str(first_path), model=model)
    assert_kept_bit_identical(read_motion_file(data["motion"]), first)
    probabilities = client.call("predict_emotion", timeout=MODEL_TIMEOUT,
                                motion=str(first_path), model=model)["probabilities"]
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_both_motion_layouts_read_the_same_motion(tmp_path):
    from core.motion import Motion

    rng = np.random.default_rng(0)
    motion = Motion(poses=rng.normal(scale=0.3, size=(12, 55, 3)), trans=rng.normal(size=(12, 3)),
                    face=rng.uniform(size=(12, len(ARKIT52))), face_space="arkit52", fps=30)
    result = tmp_path / "result.npz"
    save_motion(motion, str(result))
    keep = write_keep_file(tmp_path / "keep.npz", motion.poses, motion.trans, motion.face,
                           ARKIT52, 30.0, ["face", "hands", "upper", "lower"])
    from_result, parts = load_motion(str(result), None, "arkit52", "kept motion")
    from_keep, _ = load_motion(str(keep), None, "arkit52", "kept motion")
    assert parts == PARTS
    for loaded in (from_result, from_keep):
        np.testing.assert_allclose(loaded.poses, motion.poses, atol=1e-6)
        np.testing.assert_allclose(loaded.face, motion.face, atol=1e-6)


@pytest.mark.parametrize("make, words", [
    (lambda p: keep_file(p, mocap_frame_rate=np.float64(1e-6)), ("beyond the worker's limit",)),
    (lambda p: keep_file(p, mocap_frame_rate=np.float64(0.0)), ("not a valid motion",)),
    (lambda p: keep_file(p, poses=np.full((60, 165), np.nan, np.float32)),
     ("not a valid motion",)),
    (lambda p: keep_file(p, face=np.zeros((60, 3))), ("face has shape (60, 3)",)),
    (lambda p: keep_file(p, face_names=np.array("jawOpen")), ("face has shape",)),
    (lambda p: keep_file(p, parts=np.array(["tail"])), ("unknown parts ['tail']",)),
    (lambda p: keep_file(p, poses=np.zeros((60, 10))), ("needs poses (K, 165)",)),
    (lambda p: np.savez(p, poses=np.zeros((5, 165)), trans=np.zeros((5, 3)),
                        face_space=np.array("klingon")), ("unknown face_space 'klingon'",)),
    (lambda p: np.savez(p, poses=np.zeros((5, 165)), trans=np.zeros((5, 3))),
     ("'expressions'", "BEAT2-layout")),
    (lambda p: np.savez(p, poses=np.array([object()], dtype=object)), ("pickle",)),
    (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), ("cannot read motion npz",)),
], ids=["fps_one_per_million_seconds", "fps_zero", "nan_poses", "face_too_narrow",
        "face_names_scalar", "unknown_part", "poses_too_narrow", "unknown_face_space",
        "no_face_at_all", "pickled_object", "damaged_zip"])
def test_bad_motion_file_is_an_input_error_naming_it(client, model, tmp_path, make, words):
    path = tmp_path / "motion.npz"
    make(path)
    error = error_of(client, "predict_emotion", timeout=MODEL_TIMEOUT, motion=str(path),
                     model=model)
    assert error.kind == "input" and str(path) in str(error)
    for word in words:
        assert word in str(error), str(error)
    assert_still_serving(client)
