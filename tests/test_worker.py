"""The worker protocol with a real worker process (core/worker.py) and the add-on's client
(blender_addon/runtime.py), plus the audio mixing and motion files both sides exchange."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tiny_model import tiny_masked_model_folder, tiny_model_folder
from worker_client import RATE, ROOT, assert_kept_bit_identical, new_client, write_wav

from blender_addon.motion_files import read_motion_file, write_keep_file
from blender_addon.runtime import WorkerClient, WorkerError, worker_environment
from core.face_spaces import ARKIT52
from core.motion import Motion
from core.shared.protocol import PROTOCOL_VERSION
from core.skeleton import PART_JOINTS
from core.worker_audio import mix_tracks, request_audio
from core.worker_errors import RequestError
from core.worker_npz import load_motion, save_motion


@pytest.fixture(scope="module")
def client():
    """One warm worker for the tests that leave it running."""
    made = new_client()
    yield made
    made.shutdown()


@pytest.fixture
def own_client():
    """A worker of the test's own, for tests that kill it."""
    made = new_client()
    yield made
    made.shutdown()


def next_news(client: WorkerClient, timeout: float = 30.0) -> list:
    """The client's next messages, waiting on the worker's events for at most `timeout` s."""
    deadline = time.monotonic() + timeout
    messages = []
    while not messages and (left := deadline - time.monotonic()) > 0:
        messages = client.poll(timeout=left)
    return messages


# ---------------------------------------------------------------------------- protocol


def test_hello_round_trip_reports_versions(client):
    info = client.call("hello", timeout=60)
    import torch

    assert info["protocol"] == PROTOCOL_VERSION
    assert info["torch"] == torch.__version__
    assert info["numpy"] == np.__version__
    assert Path(info["core"]) == ROOT / "core"
    assert info["pid"] == client.pid and info["devices"] is None
    assert client.ready and client.restarts == 0
    probed = client.call("hello", timeout=60, probe_devices=True)
    assert probed["devices"][0] == "cpu"
    assert len(probed["devices"]) == 1 + torch.cuda.device_count()


def test_waiting_for_news_leaves_the_answer_for_poll(client):
    assert not client.wait_for_news(0.05)  # nothing asked, nothing comes
    request_id = client.request("hello")
    assert client.wait_for_news(60)
    assert client.wait_for_news(0)  # still there: waiting read nothing
    answers = [m for m in next_news(client) if m.request_id == request_id]
    assert answers and answers[0].type == "result"


def test_worker_stdout_carries_only_protocol_lines(tmp_path):
    # A library that prints must not corrupt the protocol: prints land on stderr.
    code = ("from core.worker_channel import protect_stdout\n"
            "channel = protect_stdout()\n"
            "print('noise from a library')\n"
            "channel.result('r1', {'ok': True})\n")
    completed = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                               text=True, env=worker_environment(ROOT, os.environ), timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert [json.loads(line) for line in completed.stdout.splitlines()] == [
        {"id": "r1", "type": "result", "data": {"ok": True}}]
    assert "noise from a library" in completed.stderr


def test_malformed_requests_get_protocol_errors_and_the_worker_keeps_serving(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "core.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=worker_environment(ROOT, os.environ))
    lines = "not json\n" + json.dumps({"id": "x", "type": "dance"}) + "\n" + json.dumps(
        {"id": "h", "type": "shutdown"}) + "\n"
    stdout, stderr = process.communicate(lines, timeout=60)
    events = [json.loads(line) for line in stdout.splitlines()]
    assert events[0]["type"] == "ready"
    errors = [event for event in events if event["type"] == "error"]
    assert [event["kind"] for event in errors] == ["protocol", "protocol"]
    assert "not JSON" in errors[0]["message"] and "dance" in errors[1]["message"]
    assert events[-1] == {"id": "h", "type": "result", "data": {}}
    assert process.returncode == 0
    assert "Traceback" not in stdout


def test_missing_audio_file_is_a_clear_input_error(client, tmp_path):
    missing = tmp_path / "nowhere" / "line.wav"
    request = client.request("generate", audio={"tracks": [{"path": str(missing)}]},
                             output=str(client.new_file("motion")), parts=["face"])
    with pytest.raises(WorkerError) as caught:
        client.wait(request, timeout=60)
    assert caught.value.kind == "input"
    assert str(missing) in str(caught.value) and "not found" in str(caught.value)
    # The worker survived the bad request.
    assert client.call("hello", timeout=60)["pid"] == client.pid


def test_bad_options_are_input_errors_naming_the_option(client, tmp_path):
    wav = write_wav(tmp_path / "a.wav", np.zeros(RATE))
    audio = {"tracks": [{"path": str(wav)}]}
    cases = {"parts": {"parts": ["tail"]}, "emotion": {"emotion": "bored"},
             "seed": {"seed": "seven"}, "frames": {"frames": [5, 2]}}
    for name, fields in cases.items():
        with pytest.raises(WorkerError) as caught:
            client.call("generate", timeout=60, audio=audio, output=str(tmp_path / "o.npz"),
                        **fields)
        assert caught.value.kind == "input" and name in str(caught.value)


def test_worker_crash_is_reported_and_the_next_request_restarts_it(own_client):
    client = own_client
    first_pid = client.call("hello", timeout=60)["pid"]
    # A request in flight when the process dies gets an error, not silence. The worker is
    # stopped first, so it cannot answer the request in the moment before the kill lands.
    os.kill(first_pid, signal.SIGSTOP)
    request = client.request("hello")
    os.kill(first_pid, signal.SIGKILL)
    (message,) = next_news(client)
    assert message.request_id == request and message.type == "error"
    assert message.kind == "crashed" and "stopped unexpectedly" in message.message
    assert not client.alive
    info = client.call("hello", timeout=60)
    assert info["pid"] != first_pid and client.restarts == 1


def test_worker_that_cannot_import_core_reports_its_log(tmp_path):
    broken = WorkerClient(sys.executable, tmp_path, startup_timeout=60)
    try:
        with pytest.raises(WorkerError) as caught:
            broken.call("hello", timeout=60)
        assert caught.value.kind == "crashed"
        assert "No module named" in str(caught.value) and "core" in str(caught.value)
    finally:
        broken.shutdown()


def test_missing_worker_python_is_a_runtime_error(tmp_path):
    absent = WorkerClient(tmp_path / "no-python", ROOT)
    try:
        with pytest.raises(WorkerError) as caught:
            absent.request("hello")
        assert caught.value.kind == "runtime" and "no-python" in str(caught.value)
    finally:
        absent.shutdown()


def test_a_worker_that_never_starts_times_out(tmp_path):
    silent = tmp_path / "silent-python"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    stuck = WorkerClient(silent, ROOT, startup_timeout=0.5)
    try:
        with pytest.raises(WorkerError) as caught:
            stuck.call("hello", timeout=30)
        assert caught.value.kind == "timeout" and "did not start" in str(caught.value)
        assert not stuck.alive
    finally:
        stuck.shutdown()


def test_shutdown_stops_the_worker_and_removes_the_exchange_folder():
    made = new_client()
    made.call("hello", timeout=60)
    process_pid, folder = made.pid, made.exchange_dir
    made.new_file("motion").write_bytes(b"x")
    made.shutdown()
    assert not made.alive and not folder.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(process_pid, 0)
    with pytest.raises(WorkerError):
        made.request("hello")


# ---------------------------------------------------------------------------- audio mixing


def test_tracks_are_placed_trimmed_scaled_and_mixed(tmp_path):
    ramp = np.linspace(-0.5, 0.5, RATE, dtype=np.float32)  # one second
    a = write_wav(tmp_path / "a.wav", ramp)
    b = write_wav(tmp_path / "b.wav", np.full(RATE // 2, 0.25, np.float32))
    spec = {"tracks": [
        {"path": str(a), "start": 0.5, "offset": 0.25, "duration": 0.5, "volume": 2.0},
        {"path": str(b), "start": 0.75},
    ]}
    mix = mix_tracks(spec)
    assert len(mix) == int(1.25 * RATE)  # track b ends last, at 0.75 + 0.5 s
    np.testing.assert_array_equal(mix[: RATE // 2], 0.0)
    start, quarter = RATE // 2, RATE // 4
    # Track a from 0.25 s into its file, doubled, for half a second; b added from 0.75 s.
    np.testing.assert_allclose(mix[start:start + quarter], 2 * ramp[quarter:2 * quarter],
                               atol=1e-6)
    np.testing.assert_allclose(mix[start + quarter:RATE], 2 * ramp[2 * quarter:3 * quarter]
                               + 0.25, atol=1e-6)
    np.testing.assert_allclose(mix[RATE:], 0.25, atol=1e-6)


def test_clip_duration_pads_and_cuts_and_mix_is_clipped(tmp_path):
    loud = write_wav(tmp_path / "loud.wav", np.full(RATE, 0.8, np.float32))
    spec = {"tracks": [{"path": str(loud)}, {"path": str(loud), "start": 0.5}],
            "duration": 2.0}
    mix = mix_tracks(spec)
    assert len(mix) == 2 * RATE
    assert mix.max() == pytest.approx(1.0)  # 0.8 + 0.8 is clipped
    np.testing.assert_array_equal(mix[int(1.5 * RATE):], 0.0)
    short = mix_tracks({"tracks": [{"path": str(loud)}], "duration": 0.5})
    assert len(short) == RATE // 2


def test_negative_file_offset_starts_with_silence(tmp_path):
    tone = write_wav(tmp_path / "t.wav", np.full(RATE, 0.5, np.float32))
    mix = mix_tracks({"tracks": [{"path": str(tone), "offset": -0.5, "duration": 1.0}]})
    np.testing.assert_array_equal(mix[: RATE // 2], 0.0)
    np.testing.assert_allclose(mix[RATE // 2:], 0.5, atol=1e-6)


def test_audio_samples_npz_is_resampled(tmp_path):
    path = tmp_path / "samples.npz"
    np.savez(path, samples=np.zeros(8000, np.float32), sample_rate=np.int64(8000))
    assert len(request_audio({"samples": str(path)})) == RATE
    with pytest.raises(RequestError, match="not found"):
        request_audio({"samples": str(tmp_path / "none.npz")})
    with pytest.raises(RequestError, match="no tracks"):
        request_audio({"tracks": []})


# ---------------------------------------------------------------------------- motion files


def random_motion(frames: int, seed: int = 0) -> Motion:
    rng = np.random.default_rng(seed)
    return Motion(poses=rng.normal(scale=0.3, size=(frames, 55, 3)),
                  trans=rng.normal(size=(frames, 3)),
                  face=rng.uniform(size=(frames, len(ARKIT52))), face_space="arkit52", fps=30)


def test_worker_results_read_back_in_the_addon_exactly(tmp_path):
    motion = random_motion(40)
    path = tmp_path / "result.npz"
    save_motion(motion, str(path))
    assert not list(tmp_path.glob("*.partial*"))
    arrays = read_motion_file(path)
    np.testing.assert_array_equal(arrays.poses, motion.poses)
    np.testing.assert_array_equal(arrays.trans, motion.trans)
    np.testing.assert_array_equal(arrays.face, motion.face)
    assert arrays.face_names == ARKIT52 and arrays.fps == 30.0


def test_kept_parts_reach_the_worker_by_face_channel_name_and_fitted_length(tmp_path):
    motion = random_motion(20, seed=1)
    names = ("jawOpen", "browInnerUp", "notAChannel")
    face = np.random.default_rng(2).uniform(size=(20, 3))
    path = write_keep_file(tmp_path / "keep.npz", motion.poses, motion.trans, face, names, 30.0,
                           ["face", "upper"])
    kept, parts = load_motion(str(path), 25, "arkit52", "kept motion")
    assert parts == ("face", "upper") and kept.num_frames == 25
    np.testing.assert_allclose(kept.poses[:20], motion.poses, atol=1e-6)
    np.testing.assert_array_equal(kept.poses[20:], np.repeat(kept.poses[19:20], 5, axis=0))
    np.testing.assert_allclose(kept.face[:20, ARKIT52.index("jawOpen")], face[:, 0], atol=1e-6)
    np.testing.assert_allclose(kept.face[:20, ARKIT52.index("browInnerUp")], face[:, 1],
                               atol=1e-6)
    others = [i for i, name in enumerate(ARKIT52) if name not in names]
    np.testing.assert_array_equal(kept.face[:, others], 0.0)
    cut, _ = load_motion(str(path), 10, "arkit52", "kept motion")
    np.testing.assert_allclose(cut.poses, motion.poses[:10], atol=1e-6)
    hands = list(PART_JOINTS["hands"])
    np.testing.assert_allclose(cut.poses[:, hands], motion.poses[:10, hands], atol=1e-6)


def test_keep_file_at_another_rate_is_resampled_to_30_fps(tmp_path):
    motion = random_motion(48)
    path = write_keep_file(tmp_path / "keep.npz", motion.poses, motion.trans, None, (), 24.0,
                           ["lower"])
    kept, _parts = load_motion(str(path), None, "arkit52", "kept motion")
    assert kept.fps == 30.0 and kept.num_frames == 60


def test_malformed_motion_file_is_an_input_error(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, poses=np.zeros((4, 10)), trans=np.zeros((4, 3)))
    with pytest.raises(RequestError, match="bad.npz"):
        load_motion(str(path), None, "arkit52", "motion")


# ---------------------------------------------------------------------------- with a model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tiny_model_folder(tmp_path_factory)


@pytest.fixture(scope="module")
def warm(client, model_dir):
    """The module's worker with the tiny model loaded."""
    info = client.call("load", timeout=300, checkpoint=str(model_dir), device="cpu")
    return info["model"]


def generate_request(client, wav: Path, **fields):
    return client.request("generate", audio={"tracks": [{"path": str(wav)}]},
                          output=str(client.new_file("motion")), **fields)


def test_load_keeps_the_model_warm_between_requests(client, warm, model_dir):
    assert warm["checkpoint"] == str(model_dir) and warm["device"] == "cpu"
    assert warm["face_space"] == "arkit52" and warm["config_name"] == "tiny"
    assert client.call("hello", timeout=60)["model"] == warm


def test_generate_streams_progress_and_returns_the_motion(client, warm, tmp_path):
    wav = write_wav(tmp_path / "line.wav", 0.1 * np.sin(np.arange(int(2.5 * RATE)) / 9.0))
    request = generate_request(client, wav, prompt="waves", seed=3)
    progress = []
    data = client.wait(request, timeout=300, on_progress=lambda f, m: progress.append((f, m)))
    fractions = [fraction for fraction, _message in progress]
    assert len(progress) >= 3 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(message for _fraction, message in progress)
    motion = read_motion_file(data["motion"])
    assert motion.num_frames == data["frames"] == 75 and motion.fps == 30.0
    assert motion.face_names == ARKIT52 and data["face_space"] == "arkit52"
    # Same seed, same inputs: the same motion.
    again = client.wait(generate_request(client, wav, prompt="waves", seed=3), timeout=300)
    np.testing.assert_array_equal(read_motion_file(again["motion"]).poses, motion.poses)


def test_text_only_generate_lasts_its_duration_and_matches_the_api(client, warm, model_dir):
    """Without audio the worker generates from the prompt for `duration` seconds: the motion
    is the API's own for the same inputs, and no audio is read."""
    fields = {"prompt": "wave hello", "emotion": "happiness", "seed": 4}
    progress = []
    data = client.wait(client.request("generate", audio=None, duration=2.5,
                                      output=str(client.new_file("motion")), **fields),
                       timeout=300, on_progress=lambda f, m: progress.append(m))
    motion = read_motion_file(data["motion"])
    assert motion.num_frames == data["frames"] == 75
    assert "Reading audio" not in progress
    assert any(message.startswith("Generating motion") for message in progress)
    from core import api

    expected = api.generate(api.load_model(str(model_dir), device="cpu"), duration=2.5,
                            **fields)
    np.testing.assert_array_equal(motion.poses, expected.poses)
    np.testing.assert_array_equal(motion.trans, expected.trans)
    # `audio` left out altogether reads the same as null.
    again = client.wait(client.request("generate", duration=2.5,
                                       output=str(client.new_file("motion")), **fields),
                        timeout=300)
    np.testing.assert_array_equal(read_motion_file(again["motion"]).poses, motion.poses)


def test_timed_prompts_reach_the_model(own_client, tmp_path_factory, tmp_path):
    """A masked model takes actions timed on the clip; a span past the clip is an input error
    that names the prompt, and the worker keeps serving."""
    folder = tiny_masked_model_folder(tmp_path_factory)
    own_client.call("load", timeout=300, checkpoint=str(folder), device="cpu")
    wav = write_wav(tmp_path / "line.wav", 0.1 * np.sin(np.arange(6 * RATE) / 9.0))
    plain = own_client.wait(generate_request(own_client, wav, seed=1), timeout=300)
    timed = own_client.wait(generate_request(own_client, wav, seed=1,
                                             prompts=[["shrug", 1.0, 3.0], ["nod", 4.0, None]]),
                            timeout=300)
    a, b = read_motion_file(plain["motion"]), read_motion_file(timed["motion"])
    assert a.num_frames == b.num_frames == 180
    assert np.abs(a.poses - b.poses).mean() > 1e-4
    with pytest.raises(WorkerError) as caught:
        own_client.wait(generate_request(own_client, wav, prompts=[["nod", 7.0, 8.0]]),
                        timeout=300)
    assert caught.value.kind == "input" and "'nod'" in str(caught.value)
    assert own_client.call("hello", timeout=60)["model"]["checkpoint"] == str(folder)


def test_cancel_mid_run_stops_generation(client, warm, tmp_path):
    wav = write_wav(tmp_path / "long.wav", 0.1 * np.sin(np.arange(60 * RATE) / 7.0))
    output = client.new_file("motion")
    request = client.request("generate", audio={"tracks": [{"path": str(wav)}]},
                             output=str(output))
    seen = []

    def on_progress(fraction, message):
        seen.append((fraction, message))

    # Cancel once the model is decoding (between its steps), not before it started.
    with pytest.raises(WorkerError) as caught:
        client.wait(request, timeout=300, on_progress=on_progress,
                    should_cancel=lambda: any(m.startswith("Generating motion")
                                              for _f, m in seen))
    assert caught.value.kind == "cancelled"
    assert seen[-1][0] < 1.0 and not output.exists()
    # The worker is still warm and answers the next request.
    assert client.call("hello", timeout=60)["model"] == warm


def test_kept_parts_come_back_bit_identical(client, warm, tmp_path):
    wav = write_wav(tmp_path / "line.wav", 0.1 * np.sin(np.arange(2 * RATE) / 5.0))
    first = read_motion_file(client.wait(generate_request(client, wav, seed=1), timeout=300)
                             ["motion"])
    keep = write_keep_file(tmp_path / "keep.npz", first.poses, first.trans, first.face,
                           first.face_names, 30.0, ["face", "upper", "lower"])
    data = client.wait(generate_request(client, wav, seed=2, parts=["hands"], keep=str(keep)),
                       timeout=300)
    edited = read_motion_file(data["motion"])
    assert_kept_bit_identical(edited, first)
    hands = list(PART_JOINTS["hands"])
    assert not np.array_equal(edited.poses[:, hands], first.poses[:, hands])


def test_predict_emotion_returns_a_distribution(client, warm, tmp_path):
    motion = random_motion(60)
    path = write_keep_file(tmp_path / "motion.npz", motion.poses, motion.trans, motion.face,
                           ARKIT52, 30.0, ["face", "hands", "upper", "lower"])
    probabilities = client.call("predict_emotion", timeout=300, motion=str(path))[
        "probabilities"]
    from core.emotions import EMOTIONS

    assert set(probabilities) == set(EMOTIONS)
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())


def test_loading_a_folder_that_is_no_model_is_an_input_error(client, warm, tmp_path):
    with pytest.raises(WorkerError) as caught:
        client.call("load", timeout=120, checkpoint=str(tmp_path), device="cpu")
    assert caught.value.kind == "input" and "model.json" in str(caught.value)
    assert str(tmp_path) in str(caught.value)


def test_worker_runs_as_a_file_without_core_shadowing_packages(model_dir, tmp_path):
    # `python <extension>/core/worker.py`: core/tokenizers must not hide Hugging Face's
    # `tokenizers`, which loading the model imports through transformers.
    requests = json.dumps({"id": "a", "type": "load", "checkpoint": str(model_dir),
                           "device": "cpu"}) + "\n"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    process = subprocess.Popen([sys.executable, str(ROOT / "core" / "worker.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    process.stdin.write(requests)
    process.stdin.flush()
    events = []
    for line in process.stdout:
        events.append(json.loads(line))
        if events[-1].get("id") == "a" and events[-1]["type"] != "progress":
            break
    process.stdin.close()
    process.wait(timeout=60)
    assert events[-1]["type"] == "result", events[-1]
    assert events[-1]["data"]["model"]["face_space"] == "arkit52"
