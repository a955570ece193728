import json

import numpy as np
import pytest
import torch
from motion_synth import smooth_motion, write_corpus

from core.checkpoint import checkpoint_files, save_checkpoint
from core.errors import BodyLanguageError
from core.motion import Motion
from core.rotations import axis_angle_to_rot6d
from core.skeleton import PART_JOINTS, PARTS, forward_kinematics
from core.tokenizers.motion_vqvae import (
    CHECKPOINT_KIND,
    MotionTokenizer,
    MotionVQVAE,
    part_config,
)
from core.tokenizers.part_kinematics import PartKinematics
from core.train.motion_tokenizer import (
    STATE_NAME,
    TOKENIZER_NAME,
    TrainingConfig,
    evaluate_motion_tokenizer,
    train_motion_tokenizer,
    training_config,
)
from core.train.saved_config import load_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS = 60


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("synthetic_corpus"), train=10, test=3)


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("tokenizer")
    events = []
    tokenizer = train_motion_tokenizer(training_config("tiny", steps=STEPS, eval_every=30),
                                       corpus, out, device="cpu", progress=False,
                                       log=events.append)
    return tokenizer, out, events


def test_tiny_tokenizer_reconstructs_far_better_than_the_mean_pose(trained, corpus):
    tokenizer, out, events = trained
    metrics = evaluate_motion_tokenizer(tokenizer, corpus, "test")
    assert metrics["clips"] == 3
    assert metrics["body_mpjpe_cm"] < 0.5 * metrics["body_mpjpe_cm_mean_pose"]
    assert metrics["finger_mpjpe_cm"] < 0.5 * metrics["finger_mpjpe_cm_mean_pose"]
    assert metrics["face_mae"] < 0.5 * metrics["face_mae_mean_pose"]
    assert metrics["codebook_usage_pct"] > 25
    assert metrics["window_mismatch"] < 1e-3 and metrics["seam_ratio"] < 1.5
    assert all(metrics[f"{part}_perplexity"] > 4 for part in PARTS)
    # Training logged a periodic evaluation, then the final one, and wrote the checkpoint.
    assert [e["step"] for e in events if e["event"] == "eval"] == [30, STEPS]
    losses = [e["loss"] for e in events if e["event"] == "step"]
    assert len(losses) == STEPS and np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    assert checkpoint_files(out / TOKENIZER_NAME).weights.is_file()
    header = json.loads(checkpoint_files(out / TOKENIZER_NAME).config.read_text())
    assert header["metadata"]["test_metrics"]["body_mpjpe_cm"] == pytest.approx(
        metrics["body_mpjpe_cm"], rel=1e-4)
    # The config it was trained with lies beside the checkpoint.
    assert load_config(out / TOKENIZER_NAME, TrainingConfig) == training_config(
        "tiny", steps=STEPS, eval_every=30)


def test_codes_are_in_range_for_any_length(trained):
    tokenizer, _, _ = trained
    motion = smooth_motion(97, seed=500)  # not a multiple of 4
    codes = tokenizer.tokenize(motion)
    assert set(codes) == set(PARTS)
    for part, part_codes in codes.items():
        assert part_codes.shape == (25,) and part_codes.dtype == np.int64
        assert 0 <= part_codes.min() and part_codes.max() < tokenizer.codebook_size(part)
    rebuilt = tokenizer.detokenize(codes, num_frames=97, start_trans=motion.trans[0])
    assert rebuilt.num_frames == 97 and rebuilt.face_space == "arkit52"
    np.testing.assert_allclose(rebuilt.trans[0, [0, 2]], motion.trans[0, [0, 2]], atol=1e-6)
    full = tokenizer.models["upper"].decode(codes["upper"])
    assert full.shape == (100, 78)
    batch = tokenizer.models["hands"].encode(torch.from_numpy(
        np.stack([tokenizer.features(motion)["hands"]] * 2)))
    assert batch.shape == (2, 25) and torch.equal(batch[0], torch.from_numpy(codes["hands"]))


def test_save_and_load_give_identical_codes_and_decoding(trained, tmp_path):
    tokenizer, _, _ = trained
    tokenizer.save(tmp_path / "copy")
    loaded = MotionTokenizer.load(tmp_path / "copy")
    motion = smooth_motion(150, seed=501)
    codes, loaded_codes = tokenizer.tokenize(motion), loaded.tokenize(motion)
    for part in PARTS:
        np.testing.assert_array_equal(codes[part], loaded_codes[part])
        np.testing.assert_array_equal(tokenizer.models[part].decode(codes[part]),
                                      loaded.models[part].decode(codes[part]))


def test_bad_checkpoints_are_refused(trained, tmp_path):
    tokenizer, _, _ = trained
    tokenizer.save(tmp_path / "good")
    files = checkpoint_files(tmp_path / "good")

    data = files.weights.read_bytes()
    files.weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(BodyLanguageError, match="corrupt or truncated"):
        MotionTokenizer.load(tmp_path / "good")

    tokenizer.save(tmp_path / "future")
    future = checkpoint_files(tmp_path / "future").config
    header = json.loads(future.read_text())
    header["format_version"] = 2
    future.write_text(json.dumps(header))
    with pytest.raises(BodyLanguageError, match="format version 2.*reads format version 1"):
        MotionTokenizer.load(tmp_path / "future")

    save_checkpoint(tmp_path / "audio", "audio_tokenizer", {}, {"w": np.zeros(2)})
    with pytest.raises(BodyLanguageError, match="expected a 'motion_tokenizer' checkpoint"):
        MotionTokenizer.load(tmp_path / "audio")

    config = tokenizer.config_dict()
    del config["parts"]["hands"]
    save_checkpoint(tmp_path / "partless", CHECKPOINT_KIND, config, tokenizer.state_tensors())
    with pytest.raises(BodyLanguageError, match=r"partless.json: .*lacks parts \['hands'\]"):
        MotionTokenizer.load(tmp_path / "partless")


def test_bad_input_is_reported(trained):
    tokenizer, _, _ = trained
    flame = smooth_motion(40, seed=1, face_space="flame100")
    with pytest.raises(BodyLanguageError, match="face space 'flame100'"):
        tokenizer.tokenize(flame)
    with pytest.raises(BodyLanguageError, match="codebook has 32 codes"):
        tokenizer.models["face"].decode(np.array([0, 32]))
    with pytest.raises(BodyLanguageError, match=r"expected \(B, T, 180\)"):
        tokenizer.models["hands"].encode(np.zeros((8, 78), np.float32))


def test_windows_join_without_seams(trained):
    tokenizer, _, _ = trained
    motion = smooth_motion(600, seed=502)
    window = 16  # tokens: 64 frames, so the 600 frames cross 9 joins
    one_pass = tokenizer.tokenize(motion)
    windowed = tokenizer.tokenize(motion, window_tokens=window)
    for part in PARTS:
        assert np.mean(one_pass[part] == windowed[part]) > 0.98
    rebuilt = tokenizer.detokenize(windowed, 600, motion.trans[0], window_tokens=window)
    whole = tokenizer.detokenize(windowed, 600, motion.trans[0])
    np.testing.assert_allclose(rebuilt.poses, whole.poses, atol=2e-4)

    positions = forward_kinematics(rebuilt.poses, rebuilt.trans)[:, :22]
    speed = np.linalg.norm(np.diff(positions, axis=0), axis=-1).mean(axis=1)
    median = np.median(speed)
    for join in range(64, 600, 64):
        assert speed[join - 1] < 1.5 * median, f"seam at frame {join}"


def test_resume_continues_where_the_interrupted_run_stopped(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", train=4, test=0, frames=120)
    steps = 6

    def run(out, log, resume=True):
        config = training_config("tiny", steps=steps, batch_size=4, save_every_steps=3)
        return train_motion_tokenizer(config, corpus, out, device="cpu", progress=False,
                                      resume=resume, log=log)

    straight = []
    reference = run(tmp_path / "straight", straight.append)

    interrupted = []

    def interrupt_at_four(event):
        interrupted.append(event)
        if event["event"] == "step" and event["step"] == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "resumed", interrupt_at_four)
    assert [e["step"] for e in interrupted if e["event"] == "saved"] == [3, 4]
    assert not checkpoint_files(tmp_path / "resumed" / TOKENIZER_NAME).config.exists()
    assert checkpoint_files(tmp_path / "resumed" / STATE_NAME).config.exists()

    resumed = []
    tokenizer = run(tmp_path / "resumed", resumed.append)
    assert resumed[0] == {"event": "resume", "step": 4}
    resumed_steps = [e for e in resumed if e["event"] == "step"]
    assert [e["step"] for e in resumed_steps] == [5, 6]
    # The resumed run is the same run: same losses and same final weights as the straight one.
    straight_losses = {e["step"]: e["loss"] for e in straight if e["event"] == "step"}
    for event in resumed_steps:
        assert event["loss"] == pytest.approx(straight_losses[event["step"]], rel=1e-6)
    for name, tensor in reference.state_tensors().items():
        torch.testing.assert_close(tokenizer.state_tensors()[name], tensor)

    fresh = []
    run(tmp_path / "resumed", fresh.append, resume=False)
    assert fresh[0]["event"] == "step" and fresh[0]["step"] == 1

    # The config saved beside the checkpoint trains the same tokenizer again.
    saved = load_config(tmp_path / "straight" / TOKENIZER_NAME, TrainingConfig)
    assert saved.steps == steps and saved.batch_size == 4 and saved.save_every_steps == 3
    again = train_motion_tokenizer(saved, corpus, tmp_path / "again", device="cpu",
                                   progress=False, log=lambda event: None)
    assert load_config(tmp_path / "again" / TOKENIZER_NAME, TrainingConfig) == saved
    for name, tensor in reference.state_tensors().items():
        assert torch.equal(again.state_tensors()[name], tensor), name


def test_part_kinematics_match_full_forward_kinematics():
    rng = np.random.default_rng(0)
    poses = np.zeros((5, 55, 3))
    for part in ("hands", "upper", "lower"):
        joints = list(PART_JOINTS[part])
        part_poses = rng.normal(0, 0.5, (5, len(joints), 3))
        positions = PartKinematics(part)(torch.from_numpy(axis_angle_to_rot6d(part_poses)))
        posed = poses.copy()
        posed[:, joints] = part_poses
        expected = forward_kinematics(posed)[:, joints]
        np.testing.assert_allclose(positions.numpy(), expected, atol=1e-6)


def test_position_loss_pulls_body_parts_towards_the_right_joint_positions():
    model = MotionVQVAE(part_config("upper", codebook_size=16, code_dim=8, width=16, depth=1))
    joints = list(PART_JOINTS["upper"])
    rotations = np.stack([smooth_motion(32, seed).poses[:, joints] for seed in range(2)])
    features = torch.from_numpy(axis_angle_to_rot6d(rotations).reshape(2, 32, -1)).float()
    terms = model(features)
    assert terms["position"] > 0 and torch.isfinite(terms["loss"])
    terms["position"].backward()
    assert model.decoder.layers[-1].weight.grad.abs().sum() > 0
    assert "position" not in MotionVQVAE(part_config("face", width=16, depth=1))(
        torch.zeros(1, 8, 70))


def test_training_refuses_a_folder_without_train_clips(tmp_path):
    (tmp_path / "smplxflame_30").mkdir()
    with pytest.raises(BodyLanguageError, match="no 'train' clips"):
        train_motion_tokenizer(training_config("tiny"), tmp_path, tmp_path / "out",
                               progress=False)
    with pytest.raises(BodyLanguageError, match="unknown motion tokenizer config"):
        training_config("huge")


def test_motion_is_resampled_to_the_tokenizer_rate(trained):
    tokenizer, _, _ = trained
    motion = smooth_motion(120, seed=503)
    slow = Motion(poses=motion.poses[::2], trans=motion.trans[::2], face=motion.face[::2],
                  fps=15.0)
    codes = tokenizer.tokenize(slow)
    assert codes["upper"].shape == (30,)  # 60 frames at 15 fps are 120 at 30 fps
