"""The evaluation judges: heading-frame features, the FGD feature extractor and the classifiers,
trained in seconds on a tiny corpus of real action performances written in the BEAT2 layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.corpus.actions import ACTIONS
from core.corpus.layout import write_tables
from core.corpus.style import STYLES
from core.errors import BodyLanguageError
from core.eval import classifiers, features, metrics
from core.io.beat2 import write_motion_npz
from core.motion import Motion
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FRAMES = 120
# Two clearly different actions, each performed under its own emotion.
KINDS = {"wave_right_hand": "happiness", "nod": "sadness"}


def _idle(seed: int) -> Motion:
    """A rest pose with a little seeded sway, so no two clips are alike."""
    rng = np.random.default_rng(seed)
    t = np.arange(FRAMES)[:, None] / 30.0
    poses = np.zeros((FRAMES, 55, 3))
    sway = 0.03 * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t + rng.uniform(0, 6))
    poses[:, [3, 6, 9], 2] = sway
    trans = np.zeros((FRAMES, 3))
    trans[:, 0] = rng.uniform(-1, 1)
    return Motion(poses=poses, trans=trans, face=np.zeros((FRAMES, 52)))


def _write_clip(root: Path, clip_id: str, motion: Motion) -> None:
    (root / "smplxflame_30").mkdir(parents=True, exist_ok=True)
    write_motion_npz(root / "smplxflame_30" / f"{clip_id}.npz", motion)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("judges")
    rows = []
    for split, count, seed0 in (("train", 6, 0), ("test", 3, 100)):
        for action, emotion in KINDS.items():
            for i in range(count):
                seed = seed0 + i + (50 if action == "nod" else 0)
                performed = ACTIONS[action].animate(
                    _idle(seed), STYLES[emotion], np.random.default_rng(seed)
                )
                clip_id = f"{split}_{action}_{i}"
                _write_clip(root, clip_id, performed)
                rows.append({"id": clip_id, "split": split, "duration": f"{FRAMES / 30:.3f}",
                             "emotion": emotion, "voice": "", "action": action,
                             "description": action, "transcript": ""})
    write_tables(root, rows)
    return root


def test_heading_channels_ignore_where_the_character_stands_and_faces():
    rng = np.random.default_rng(0)
    poses = rng.normal(0, 0.2, (30, 55, 3))
    trans = np.cumsum(rng.normal(0, 0.01, (30, 3)), axis=0)
    motion = Motion(poses=poses, trans=trans, face=np.zeros((30, 52)))
    turn = axis_angle_to_matrix(np.array([0.0, 1.3, 0.0]))
    turned_root = matrix_to_axis_angle(turn @ axis_angle_to_matrix(poses[:, 0]))
    moved_poses = poses.copy()
    moved_poses[:, 0] = turned_root
    # The pelvis rest offset turns with the character: rotate the pelvis position, not trans.
    pelvis = trans + np.array([0.0, 0.94, 0.0])
    moved_trans = pelvis @ turn.T - np.array([0.0, 0.94, 0.0]) + np.array([2.0, 0.0, -3.0])
    moved = Motion(poses=moved_poses, trans=moved_trans, face=np.zeros((30, 52)))
    a, b = features.heading_channels(motion), features.heading_channels(moved)
    assert np.allclose(a.positions, b.positions, atol=1e-4)
    assert np.allclose(a.rotations, b.rotations, atol=1e-4)
    assert np.allclose(a.root, b.root, atol=1e-3)
    # ...but walking forward and walking backward stay different.
    walk = Motion(poses=np.zeros((30, 55, 3)), face=np.zeros((30, 52)),
                  trans=np.stack([np.zeros(30), np.zeros(30), np.linspace(0, 1, 30)], 1))
    forward = features.heading_channels(walk).root[:, 1]
    assert np.all(forward > 0.9)


def test_feature_extractor_trains_saves_and_embeds_deterministically(tiny_corpus, tmp_path):
    extractor = features.train_motion_features(
        tiny_corpus, tmp_path / "features", steps=30, batch=4, window=32, width=32, latent=8,
        progress=False,
    )
    clip = classifiers.corpus_entries(tiny_corpus, "test", 1)[0]
    from core.io.beat2 import read_motion_npz

    motion = read_motion_npz(clip.npz)
    embedded = extractor.embed(motion)
    assert embedded.shape == (FRAMES // 4, 8)
    loaded = features.load_motion_features(tmp_path / "features")
    assert np.array_equal(loaded.embed(motion), embedded)
    assert np.array_equal(extractor.embed(motion), embedded)
    assert loaded.metadata["heldout_loss"] is not None
    # FGD between a clip and itself is 0; against a still pose it is not.
    still = Motion.rest(FRAMES)
    assert metrics.frechet_distance(embedded, embedded) == pytest.approx(0.0, abs=1e-6)
    assert metrics.frechet_distance(embedded, extractor.embed(still) + 1e-3 * np.random.
                                    default_rng(0).normal(size=(FRAMES // 4, 8))) > 1e-3
    with pytest.raises(BodyLanguageError):
        extractor.embed(Motion.rest(FRAMES, face_space="flame100"))


@pytest.mark.parametrize("kind", [classifiers.ACTION_KIND, classifiers.EMOTION_KIND])
def test_classifier_separates_wave_from_nod(tiny_corpus, tmp_path, kind):
    train = (classifiers.train_action_classifier if kind == classifiers.ACTION_KIND
             else classifiers.train_emotion_classifier)
    judge = train(tiny_corpus, tmp_path / kind, steps=80, batch=16, width=32, lr=3e-3,
                  progress=False, eval_split="test")
    result = classifiers.evaluate_classifier(judge, tiny_corpus, "test")
    assert result.count == 6
    assert result.accuracy >= 5 / 6
    assert judge.metadata["test_accuracy"] == result.accuracy
    truth = set(KINDS) if kind == classifiers.ACTION_KIND else set(KINDS.values())
    assert set(result.confusion) == truth

    loaded = classifiers.load_classifier(tmp_path / kind, kind)
    from core.io.beat2 import read_motion_npz

    motion = read_motion_npz(classifiers.corpus_entries(tiny_corpus, "test", 1)[0].npz)
    probabilities = loaded.probabilities(motion)
    assert probabilities == pytest.approx(judge.probabilities(motion))
    assert set(probabilities) == set(judge.labels)
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    other = (classifiers.EMOTION_KIND if kind == classifiers.ACTION_KIND
             else classifiers.ACTION_KIND)
    with pytest.raises(BodyLanguageError):
        classifiers.load_classifier(tmp_path / kind, other)


def test_action_labels_cover_every_action_and_none():
    assert len(classifiers.ACTION_LABELS) == 51
    assert classifiers.ACTION_LABELS[-1] == classifiers.NONE_LABEL
    assert set(classifiers.ACTION_LABELS[:-1]) == set(ACTIONS)
