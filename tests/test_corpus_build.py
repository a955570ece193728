"""The corpus end to end: a test-sized build, its layout, plausibility, determinism, preview."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.corpus import listener
from core.corpus.speech import espeak_problem

pytestmark = pytest.mark.skipif(bool(espeak_problem()), reason=espeak_problem() or "espeak ok")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Ten minutes of corpus, built through the command line as a user would."""
    out = tmp_path_factory.mktemp("corpus") / "c"
    result = subprocess.run(
        [sys.executable, "-m", "core", "corpus", "build", "--hours", str(10 / 60), "--seed", "11",
         "--out", str(out), "--workers", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "clips" in result.stdout and "real time" in result.stdout
    return out


def test_layout_is_beat2(corpus):
    from core.corpus.layout import iter_corpus, read_table
    from core.io.audio import load_audio
    from core.io.beat2 import read_motion_npz
    from core.io.textgrid import read_textgrid

    listening = listener.PHRASES["train"] + listener.PHRASES["heldout"]

    table = read_table(corpus)
    entries = list(iter_corpus(corpus))
    assert len(entries) == len(table) >= 20
    total = sum(float(row["duration"]) for row in table.values())
    assert 600 <= total < 700
    with open(corpus / "train_test_split.csv", newline="") as handle:
        splits = {row["id"]: row["type"] for row in csv.DictReader(handle)}
    assert splits.keys() == table.keys()
    assert {"train", "test"} <= set(splits.values())
    for entry in entries[:12]:
        motion = read_motion_npz(entry.npz)
        assert motion.fps == 30 and motion.face_space == "arkit52"
        audio = load_audio(entry.wav, 16000)
        assert abs(len(audio) / 16000 - motion.duration) < 1 / 30
        tiers = read_textgrid(entry.textgrid)
        assert set(tiers) == {"words", "phones"}
        spoken = [i.text for i in tiers["words"] if i.text]
        if entry.transcript:
            assert len(spoken) >= 3
            assert np.abs(audio).max() > 0.05
        elif entry.action:  # an action in silence
            assert entry.description and not spoken
        else:  # a listener: someone else's voice, no words of its own
            assert entry.description in listening and not spoken
            assert np.abs(audio).max() > 0.05
    emotions = {row["emotion"] for row in table.values()}
    assert len(emotions) >= 6
    assert any(row["action"] for row in table.values())


def test_every_clip_is_plausible(corpus):
    from core.corpus.layout import iter_corpus
    from core.corpus.plausibility import check_motion
    from core.io.beat2 import read_motion_npz

    for entry in iter_corpus(corpus):
        problems = check_motion(read_motion_npz(entry.npz))
        assert not problems, f"{entry.id}: {problems[:3]}"


def test_held_out_clips_use_held_out_voices_sentences_and_phrasings(corpus):
    from core.corpus.actions import ACTIONS
    from core.corpus.layout import iter_corpus
    from core.corpus.sentences import all_sentences
    from core.corpus.voices import HELDOUT_VOICES, TRAIN_VOICES

    train_text = {s.text for s in all_sentences("train")}
    held_voices = {f"{base}+{variant}" for base, variant in HELDOUT_VOICES}
    train_voices = {f"{base}+{variant}" for base, variant in TRAIN_VOICES}
    held_phrases = {d for a in ACTIONS.values() for d in a.heldout_descriptions}
    held_phrases |= set(listener.PHRASES["heldout"])
    for entry in iter_corpus(corpus):
        heldout = entry.split != "train"
        if entry.voice:
            assert entry.voice in (held_voices if heldout else train_voices), entry
        if entry.description:
            assert (entry.description in held_phrases) == heldout, entry
        if entry.transcript and heldout:
            assert not any(entry.transcript.startswith(t) for t in train_text)


def test_same_seed_same_bytes_other_seed_other_clips(corpus, tmp_path):
    from core.corpus.build import build_corpus

    again = tmp_path / "again"
    build_corpus(again, hours=40 / 3600, seed=11, progress=False)
    written = sorted((again / "smplxflame_30").glob("*.npz"))
    assert written
    for path in written:
        assert path.read_bytes() == (corpus / "smplxflame_30" / path.name).read_bytes(), path.name
        wav = Path("wave16k") / f"{path.stem}.wav"
        assert (again / wav).read_bytes() == (corpus / wav).read_bytes()

    other = tmp_path / "other"
    build_corpus(other, hours=40 / 3600, seed=12, progress=False)
    first = sorted((other / "smplxflame_30").glob("*.npz"))[0]
    assert first.read_bytes() != (corpus / "smplxflame_30" / first.name).read_bytes()


def test_refuses_to_overwrite_a_folder_that_is_not_a_corpus(tmp_path):
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "thesis.txt").write_text("precious")
    result = subprocess.run(
        [sys.executable, "-m", "core", "corpus", "build", "--hours", "0.01", "--out", str(keep)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "not a corpus folder" in result.stderr and "Traceback" not in result.stderr
    assert (keep / "thesis.txt").read_text() == "precious"


def test_preview_png(corpus, tmp_path):
    out = tmp_path / "preview.png"
    result = subprocess.run(
        [sys.executable, "-m", "core", "corpus", "preview", "--data", str(corpus), "--out",
         str(out), "--clips", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    image = imread(out)
    assert image.shape[0] > 400 and image.shape[1] > 800
    assert image[..., :3].std() > 0.05, "the sheet has drawn content"


def test_an_implausible_performance_is_performed_again(monkeypatch):
    import core.corpus.plausibility as plausibility
    from core.corpus.builder import make_clip
    from core.errors import BodyLanguageError

    real = plausibility.check_motion
    calls = []

    def fails_first(motion):
        calls.append(motion)
        return ["made up problem"] if len(calls) == 1 else real(motion)

    monkeypatch.setattr(plausibility, "check_motion", fails_first)
    clip = make_clip(5, 0)
    assert clip.redrawn == 1 and len(calls) == 2
    assert not np.array_equal(calls[0].poses, clip.motion.poses)

    monkeypatch.setattr(plausibility, "check_motion", lambda motion: ["always wrong"])
    with pytest.raises(BodyLanguageError, match="stayed implausible .* always wrong"):
        make_clip(5, 0)


def test_a_finished_corpus_is_only_replaced_when_asked(tmp_path):
    from core.corpus.build import build_corpus
    from core.errors import BodyLanguageError

    out = tmp_path / "c"
    build_corpus(out, hours=5 / 3600, seed=3, progress=False)
    table = (out / "clips.csv").read_bytes()
    with pytest.raises(BodyLanguageError, match="--overwrite"):
        build_corpus(out, hours=5 / 3600, seed=4, progress=False)
    assert (out / "clips.csv").read_bytes() == table
    build_corpus(out, hours=5 / 3600, seed=4, progress=False, overwrite=True)
    assert (out / "clips.csv").read_bytes() != table
