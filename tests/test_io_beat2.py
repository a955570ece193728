import time
import zipfile

import numpy as np
import pytest
from file_errors import error_naming

from core.errors import BodyLanguageError
from core.io.beat2 import (
    BEAT2_EMOTION_RANGES,
    Beat2Clip,
    emotion_of_clip,
    iter_beat2_clips,
    read_motion_npz,
    write_motion_npz,
)
from core.motion import Motion

FRAMES = 12


def beat2_arrays(frames: int = FRAMES, seed: int = 0) -> dict[str, np.ndarray]:
    """The arrays of a BEAT2 smplxflame_30 file, with BEAT2's dtypes (float64, int rate)."""
    rng = np.random.default_rng(seed)
    return {
        "poses": rng.normal(0, 0.3, (frames, 165)),
        "expressions": rng.normal(0, 1, (frames, 100)),
        "trans": rng.normal(0, 0.1, (frames, 3)),
        "betas": rng.normal(0, 1, 300),
        "gender": np.array("neutral"),
        "model": np.array("smplx2020"),
        "mocap_frame_rate": np.array(30),
    }


def save_beat2(path, **overrides) -> None:
    arrays = beat2_arrays()
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})


def arkit_motion(seed: int = 1) -> Motion:
    rng = np.random.default_rng(seed)
    return Motion(
        poses=rng.normal(0, 0.3, (FRAMES, 55, 3)),
        trans=rng.normal(0, 0.1, (FRAMES, 3)),
        face=rng.uniform(0, 1, (FRAMES, 52)),
        face_space="arkit52",
        fps=30.0,
        betas=rng.normal(0, 1, 10),
        gender="female",
    )


def assert_same_motion(a: Motion, b: Motion) -> None:
    np.testing.assert_array_equal(a.poses, b.poses)
    np.testing.assert_array_equal(a.trans, b.trans)
    np.testing.assert_array_equal(a.face, b.face)
    assert (a.face_space, a.fps, a.gender) == (b.face_space, b.fps, b.gender)
    np.testing.assert_array_equal(a.betas, b.betas)


def npz_contents(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def test_reads_a_beat2_file_as_flame100(tmp_path):
    path = tmp_path / "2_scott_0_1_1.npz"
    save_beat2(path)
    source = beat2_arrays()

    motion = read_motion_npz(path)

    assert motion.face_space == "flame100"
    assert motion.fps == 30.0 and motion.gender == "neutral"
    np.testing.assert_array_equal(
        motion.poses, source["poses"].astype(np.float32).reshape(FRAMES, 55, 3)
    )
    np.testing.assert_array_equal(motion.face, source["expressions"].astype(np.float32))
    np.testing.assert_array_equal(motion.trans, source["trans"].astype(np.float32))
    np.testing.assert_array_equal(motion.betas, source["betas"].astype(np.float32))
    # Joint 15 is the head: the reshape must keep SMPL-X joint-major order.
    np.testing.assert_array_equal(motion.poses[:, 15], source["poses"][:, 45:48].astype(np.float32))
    assert set(motion.extras) == {"model"}


def test_read_write_read_round_trips_every_key(tmp_path):
    original = tmp_path / "original.npz"
    unknown = {
        "speaker_id": np.array([2, 2, 2], dtype=np.int16),
        "scale": np.array(0.25, dtype=np.float64),
        "note": np.array("take 3 ünicode"),
        "mask": np.array([[True, False], [False, True]]),
    }
    save_beat2(original, **unknown)
    first = tmp_path / "first.npz"
    second = tmp_path / "second.npz"

    motion_1 = read_motion_npz(original)
    write_motion_npz(first, motion_1)
    motion_2 = read_motion_npz(first)
    write_motion_npz(second, motion_2)

    assert_same_motion(motion_1, motion_2)
    written_1, written_2 = npz_contents(first), npz_contents(second)
    assert set(written_1) == set(written_2) == set(npz_contents(original))
    for key, value in written_1.items():
        assert written_2[key].dtype == value.dtype, key
        np.testing.assert_array_equal(written_2[key], value, err_msg=key)
    for key, value in unknown.items():
        assert written_1[key].dtype == value.dtype and written_1[key].shape == value.shape
        np.testing.assert_array_equal(written_1[key], value)
        np.testing.assert_array_equal(motion_2.extras[key], value)
    assert written_1["mocap_frame_rate"].dtype.kind == "i" and written_1["mocap_frame_rate"] == 30
    assert str(written_1["model"]) == "smplx2020"


def test_arkit_faces_use_their_own_key_and_no_expressions(tmp_path):
    path = tmp_path / "ours.npz"
    motion = arkit_motion()

    write_motion_npz(path, motion, extra={"emotion": np.array("anger")})

    stored = npz_contents(path)
    assert "expressions" not in stored
    assert str(stored["face_space"]) == "arkit52"
    np.testing.assert_array_equal(stored["face_arkit52"], motion.face)
    assert stored["poses"].shape == (FRAMES, 165)
    back = read_motion_npz(path)
    assert_same_motion(back, motion)
    assert str(back.extras["emotion"]) == "anger"


def test_flame_faces_are_written_as_expressions(tmp_path):
    path = tmp_path / "flame.npz"
    motion = Motion.rest(FRAMES, face_space="flame100")
    write_motion_npz(path, motion)
    stored = npz_contents(path)
    assert stored["expressions"].shape == (FRAMES, 100)
    assert "face_space" not in stored and "face_arkit52" not in stored
    # No betas in the Motion: BEAT2 loaders still find 300 neutral ones.
    np.testing.assert_array_equal(stored["betas"], np.zeros(300))


def test_fractional_frame_rate_survives(tmp_path):
    path = tmp_path / "rate.npz"
    write_motion_npz(path, Motion.rest(4, fps=29.97))
    assert read_motion_npz(path).fps == pytest.approx(29.97)


def test_writes_are_byte_identical_whatever_the_clock_and_key_order(tmp_path, monkeypatch):
    motion = arkit_motion()
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    write_motion_npz(first, motion, extra={"x": np.arange(3), "a": np.array("z")})
    # A day later, and the extras given in another order (np.savez keeps the order it is given).
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 86_400)
    write_motion_npz(second, motion, extra={"a": np.array("z"), "x": np.arange(3)})

    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        members = archive.infolist()
    names = [member.filename for member in members]
    assert names == sorted(names)
    # Nothing that depends on the writing machine: fixed time, Unix attributes everywhere.
    assert {(m.date_time, m.create_system) for m in members} == {((1980, 1, 1, 0, 0, 0), 3)}
    assert not list(tmp_path.glob(".*partial"))


def test_extras_may_not_overwrite_motion_arrays(tmp_path):
    with pytest.raises(BodyLanguageError, match="poses"):
        write_motion_npz(tmp_path / "x.npz", arkit_motion(), extra={"poses": np.zeros(3)})
    with pytest.raises(BodyLanguageError, match="face_arkit52"):
        write_motion_npz(tmp_path / "x.npz", arkit_motion(), extra={"face_arkit52": np.zeros(3)})


def test_extras_of_python_objects_are_refused(tmp_path):
    with pytest.raises(BodyLanguageError, match="objects"):
        write_motion_npz(tmp_path / "x.npz", arkit_motion(), extra={"meta": {"a": 1}})
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"poses": None}, "no 'poses'"),
        ({"poses": np.zeros((FRAMES, 164))}, r"\(T, 165\)"),
        ({"poses": np.zeros((FRAMES, 55, 3))}, r"\(T, 165\)"),
        ({"expressions": np.zeros((FRAMES - 1, 100))}, "'expressions' has shape"),
        ({"expressions": np.zeros((FRAMES, 50))}, "'expressions' has shape"),
        ({"expressions": None}, "no 'expressions'"),
        ({"trans": np.zeros((FRAMES + 2, 3))}, "'trans' has shape"),
        ({"poses": np.full((FRAMES, 165), np.nan)}, "NaN"),
        ({"trans": np.full((FRAMES, 3), np.inf)}, "NaN or infinite"),
        (
            {"poses": np.zeros((0, 165)), "expressions": np.zeros((0, 100)),
             "trans": np.zeros((0, 3))},
            "zero frames",
        ),
        ({"mocap_frame_rate": np.array(0)}, "positive"),
        ({"mocap_frame_rate": np.array(-30.0)}, "positive"),
        ({"mocap_frame_rate": np.array(np.nan)}, "positive"),
        ({"mocap_frame_rate": np.array([30, 60])}, "one number"),
        ({"face_space": np.array("blendshapes")}, "unknown face_space"),
        ({"poses": np.array(["a"] * 165)}, "not numeric"),
    ],
)
def test_bad_motion_files_name_the_file(tmp_path, overrides, message):
    path = tmp_path / "bad.npz"
    save_beat2(path, **overrides)
    with error_naming(path, message):
        read_motion_npz(path)


def test_non_npz_files(tmp_path):
    text = tmp_path / "text.npz"
    text.write_text("poses = 1, 2, 3\n")
    with pytest.raises(BodyLanguageError, match="not an npz"):
        read_motion_npz(text)

    single = tmp_path / "single.npy"
    np.save(single, np.zeros((3, 165)))
    with pytest.raises(BodyLanguageError, match="not an npz"):
        read_motion_npz(single)


def test_pickled_members_are_refused_not_loaded(tmp_path):
    path = tmp_path / "pickled.npz"
    save_beat2(path, meta=np.array([{"a": 1}], dtype=object))
    with error_naming(path, "cannot be read safely"):
        read_motion_npz(path)


def test_damaged_archive_is_reported(tmp_path):
    path = tmp_path / "damaged.npz"
    save_beat2(path)
    # Keep the central directory, damage a member's payload so its CRC no longer matches.
    damaged = bytearray(path.read_bytes())
    damaged[5000:5200] = bytes(200)
    path.write_bytes(bytes(damaged))
    with error_naming(path, "damaged"):
        read_motion_npz(path)


@pytest.mark.parametrize(
    ("index", "emotion"),
    [
        (0, "neutral"), (64, "neutral"), (65, "happiness"), (72, "happiness"),
        (73, "anger"), (80, "anger"), (81, "sadness"), (86, "sadness"),
        (87, "contempt"), (94, "contempt"), (95, "surprise"), (102, "surprise"),
        (103, "fear"), (110, "fear"), (111, "disgust"), (118, "disgust"),
    ],
)
def test_emotion_from_clip_index(index, emotion):
    assert emotion_of_clip(f"2_scott_0_{index}_{index}") == emotion


def test_emotion_ranges_cover_0_to_118_without_overlap():
    covered = [i for low, high in BEAT2_EMOTION_RANGES.values() for i in range(low, high + 1)]
    assert sorted(covered) == list(range(119))


def test_emotion_uses_the_start_index_and_accepts_paths():
    assert emotion_of_clip("/data/smplxflame_30/10_kieks_0_103_103.npz") == "fear"
    assert emotion_of_clip("1_wayne_1_64_65") == "neutral"


@pytest.mark.parametrize("name", ["scott_0_1_1", "2_scott_0_x_1", "2_scott_0_119_119", "clip"])
def test_bad_clip_names_are_errors(name):
    with pytest.raises(BodyLanguageError, match=name):
        emotion_of_clip(name)


def test_iter_beat2_clips_pairs_files_and_splits(tmp_path):
    root = tmp_path / "beat_english_v2.0.0"
    for folder in ("smplxflame_30", "wave16k", "textgrid"):
        (root / folder).mkdir(parents=True)
    ids = ["2_scott_0_1_1", "2_scott_0_66_66", "custom_take"]
    for clip_id in ids:
        save_beat2(root / "smplxflame_30" / f"{clip_id}.npz")
    (root / "wave16k" / "2_scott_0_1_1.wav").write_bytes(b"RIFF")
    (root / "wave16k" / "2_scott_0_66_66.wav").write_bytes(b"RIFF")
    (root / "textgrid" / "2_scott_0_66_66.TextGrid").write_text("x")
    (root / "smplxflame_30" / "notes.txt").write_text("not a clip")
    (root / "train_test_split.csv").write_text(
        "id,type\n2_scott_0_1_1,train\n2_scott_0_66_66,test\n"
    )

    clips = list(iter_beat2_clips(root))

    assert clips == [
        Beat2Clip(
            id="2_scott_0_1_1",
            npz=root / "smplxflame_30" / "2_scott_0_1_1.npz",
            wav=root / "wave16k" / "2_scott_0_1_1.wav",
            textgrid=None,
            split="train",
            emotion="neutral",
        ),
        Beat2Clip(
            id="2_scott_0_66_66",
            npz=root / "smplxflame_30" / "2_scott_0_66_66.npz",
            wav=root / "wave16k" / "2_scott_0_66_66.wav",
            textgrid=root / "textgrid" / "2_scott_0_66_66.TextGrid",
            split="test",
            emotion="happiness",
        ),
        Beat2Clip(
            id="custom_take",
            npz=root / "smplxflame_30" / "custom_take.npz",
            wav=None,
            textgrid=None,
            split=None,
            emotion=None,
        ),
    ]


def test_iter_beat2_clips_errors(tmp_path):
    with pytest.raises(BodyLanguageError, match="smplxflame_30"):
        list(iter_beat2_clips(tmp_path))
    (tmp_path / "smplxflame_30").mkdir()
    (tmp_path / "train_test_split.csv").write_text("name,split\na,train\n")
    with error_naming(tmp_path / "train_test_split.csv", "'id' and 'type'"):
        list(iter_beat2_clips(tmp_path))


def test_members_that_are_not_arrays_are_refused(tmp_path):
    path = tmp_path / "mixed.npz"
    save_beat2(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("readme.txt", "hello")
    with error_naming(path, "not .npy arrays"):
        read_motion_npz(path)
