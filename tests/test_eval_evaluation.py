"""`evaluate` end to end on a tiny corpus built by the real corpus builder, with tiny judges."""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.corpus.layout import read_table, write_tables
from core.corpus.speech import espeak_problem
from core.errors import BodyLanguageError
from core.eval import systems
from core.eval.baselines import fit_length
from core.eval.command_line import add_arguments, run_from_args
from core.eval.data_efficiency import EfficiencyRun, data_efficiency_study, parse_efficiency_run
from core.eval.evaluation import evaluate
from core.eval.judges import Judges, train_judges
from core.eval.table import METRICS
from core.motion import Motion
from core.skeleton import PART_JOINTS

pytestmark = [
    pytest.mark.skipif(bool(espeak_problem()), reason=espeak_problem() or "espeak ok"),
    pytest.mark.usefixtures("one_torch_thread"),
]

TINY_STEPS = {"features": 10, "action_classifier": 10, "emotion_classifier": 10}


def _hold_out(root: Path, ids: set[str]) -> None:
    """Move clips `ids` to the test split in both split tables."""
    rows = read_table(root).values()
    write_tables(root, [{**row, "split": "test"} if row["id"] in ids else row for row in rows])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Judges]:
    from core.corpus.build import build_corpus

    root = tmp_path_factory.mktemp("eval") / "corpus"
    build_corpus(root, hours=0.01, seed=3, progress=False)
    table = read_table(root)
    # The test split must hold a speech clip and an action clip, whatever the builder drew.
    speech = sorted(i for i, row in table.items() if row["transcript"])
    actions = sorted(i for i, row in table.items() if row["action"])
    assert len(speech) >= 2 and len(actions) >= 2, "seed 3 no longer gives speech and actions"
    _hold_out(root, {speech[-1], actions[-1]})
    judges = train_judges(root, root.parent / "judges", steps=TINY_STEPS, progress=False)
    return root, judges


def test_baselines_end_to_end(corpus, tmp_path):
    root, judges = corpus
    table = evaluate(None, root, "test", progress=False, judges=judges, out=tmp_path)
    assert table.systems == ["teacher", "mean_pose", "nearest_clip"]
    assert any("no model" in note for note in table.notes)
    teacher, mean_pose, nearest = (table.values[s] for s in table.systems)

    # The teacher is the reference for the face, its jaw follows its own speech.
    assert teacher["face_mae"] == 0.0
    assert teacher["lip_sync"] > 0.3
    assert 0.0 < teacher["bc"] <= 1.0
    assert table.counts["teacher"]["bc"] == 1 and table.counts["teacher"]["prompt_following"] == 1
    assert teacher["emotion_from_motion"] is not None and teacher["edit_kept"] is None
    assert teacher["fgd"] is not None and teacher["fgd"] >= 0.0

    # A pose held still: no beats, no jaw movement, every clip alike, nothing to read from it.
    assert mean_pose["bc"] == 0.0
    assert mean_pose["lip_sync"] == 0.0
    assert mean_pose["div"] == 0.0
    assert mean_pose["fgd"] > 0.0
    assert mean_pose["emotion_from_motion"] is None
    assert mean_pose["face_mae"] > 0.0
    # Baselines edit by pasting their own motion: kept channels stay bit-identical.
    assert mean_pose["edit_kept"] == 1.0 and mean_pose["edit_seam"] is not None
    assert nearest["div"] > 0.0 and nearest["edit_kept"] == 1.0

    saved = json.loads((tmp_path / "eval_test.json").read_text())
    assert saved["values"] == json.loads(json.dumps(table.values))
    lines = table.format().splitlines()
    header, rule, rows = lines[1], lines[2], lines[3:3 + len(table.systems)]
    assert header.split() == ["system", *METRICS]
    assert {len(line) for line in (header, rule, *rows)} == {len(header)}  # aligned columns
    assert [row.split()[0] for row in rows] == table.systems
    assert rows[1].split()[1] == "0.000"  # mean pose BC


def test_fit_length_plays_back_and_forth():
    motion = Motion.rest(4)
    poses = motion.poses.copy()
    poses[:, 0, 0] = np.arange(4)
    counted = replace(motion, poses=poses)
    fitted = fit_length(counted, 10)
    assert fitted.poses[:, 0, 0].tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert fit_length(counted, 3).num_frames == 3


class _FakeApi:
    """Stands in for core.api: a "model" that holds the mean pose and keeps what it is told."""

    @staticmethod
    def generate(model, audio, sample_rate, prompt=None, transcript=None, emotion=None,
                 parts=None, keep=None, frames=None, seed=0):
        length = int(round(len(audio) / sample_rate * 30))
        still = Motion.rest(length)
        if keep is None:
            return still
        edited = keep
        for part in parts:
            if frames is None:
                edited = edited.with_part(part, still)
        if frames is not None:
            poses = keep.poses.copy()
            poses[frames[0]:frames[1], list(PART_JOINTS["upper"])] = 0.0
            edited = replace(keep, poses=poses)
        return edited

    @staticmethod
    def predict_emotion(model, motion):
        return {"neutral": 0.9, "anger": 0.1}


def test_model_row_and_data_efficiency_study(corpus, tmp_path, monkeypatch):
    root, judges = corpus
    monkeypatch.setattr(systems, "model_api", lambda: _FakeApi)
    table = evaluate("a model", root, "test", systems=("model", "teacher"),
                            progress=False, judges=judges, out=None)
    model = table.values["model"]
    assert table.systems == ["model", "teacher"]
    assert model["edit_kept"] == 1.0
    assert model["edit_seam"] > 1.0  # the fake drops the arms to rest mid-clip: a visible cut
    assert model["lip_sync"] == 0.0
    emotions = [row for row in csv.DictReader(open(root / "clips.csv")) if row["split"] == "test"]
    expected = np.mean([row["emotion"] == "neutral" for row in emotions])
    assert model["emotion_from_motion"] == pytest.approx(expected)

    runs = [EfficiencyRun(0.25, False, "small"), EfficiencyRun(1.0, True, "full")]
    document = data_efficiency_study(runs, root, progress=False, judges=judges,
                                            out=tmp_path, load_model=lambda path: path)
    assert [(row["fraction"], row["pretrained"]) for row in document["runs"]] == [
        (0.25, False), (1.0, True)]
    assert all(row["fgd"] is not None for row in document["runs"])
    png = (tmp_path / "data_efficiency.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert json.loads((tmp_path / "data_efficiency.json").read_text())["runs"] == document["runs"]
    with pytest.raises(BodyLanguageError):
        data_efficiency_study([EfficiencyRun(1.5, True, "x")], root,
                                     progress=False, judges=judges, out=tmp_path,
                                     load_model=lambda path: path)


def test_unknown_system_is_an_error(corpus):
    root, judges = corpus
    with pytest.raises(BodyLanguageError):
        evaluate(None, root, "test", systems=("teacher", "oracle"), progress=False,
                        judges=judges, out=None)
    with pytest.raises(BodyLanguageError):
        evaluate(None, root, "test", systems=("model",), progress=False, judges=judges,
                        out=None)


def test_command_line_scores_the_baselines_with_saved_judges(corpus, tmp_path):
    root, _ = corpus
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--data", str(root), "--no-model", "--systems", "teacher",
                              "mean_pose", "--out", str(tmp_path), "--judges",
                              str(root.parent / "judges"), "--quiet"])
    text = run_from_args(args)
    assert [line.split()[0] for line in text.splitlines()[3:5]] == ["teacher", "mean_pose"]
    saved = json.loads((tmp_path / "eval_test.json").read_text())
    assert saved["systems"] == ["teacher", "mean_pose"]


def test_efficiency_run_specs():
    assert parse_efficiency_run("0.25:pre:out/lm_25") == EfficiencyRun(
        0.25, True, "out/lm_25")
    assert parse_efficiency_run("1:scratch:C:/models/x").checkpoint == "C:/models/x"
    for bad in ("0.25:pre", "quarter:pre:x", "0.5:maybe:x"):
        with pytest.raises(BodyLanguageError):
            parse_efficiency_run(bad)
