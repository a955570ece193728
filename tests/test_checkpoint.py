import json

import numpy as np
import pytest
import safetensors.torch
import torch

from core import checkpoint as ckpt
from core.checkpoint import (
    checkpoint_files,
    load_checkpoint,
    load_training_state,
    read_config,
    read_header,
    save_checkpoint,
    save_training_state,
)
from core.errors import BodyLanguageError

CONFIG = {"codebook_size": 512, "parts": ["face", "hands"], "rate": 7.5, "nested": {"a": [1, 2]}}


def _torch_tensors() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "encoder.weight": torch.randn(8, 5, generator=generator),
        "half": torch.randn(4, 3, generator=generator).to(torch.float16),
        "brain": torch.randn(6, generator=generator).to(torch.bfloat16),
        "double": torch.randn(2, 2, generator=generator, dtype=torch.float64),
        "counts": torch.arange(7, dtype=torch.int64) - 3,
        "bytes": torch.arange(5, dtype=torch.uint8),
        "flags": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 4),
    }


def _save_simple(path, value: float = 1.0, version: int = 1):
    tensors = {"w": torch.full((3, 4), value), "b": torch.arange(4, dtype=torch.int32)}
    return save_checkpoint(path, "motion_vqvae", {"value": value}, tensors, format_version=version)


def test_torch_round_trip_keeps_values_dtypes_and_config(tmp_path):
    tensors = _torch_tensors()
    files = save_checkpoint(
        tmp_path / "face", "motion_vqvae", CONFIG, tensors, format_version=3,
        metadata={"trained_steps": 1200, "note": "tiny"},
    )
    assert files.config == tmp_path / "face.json" and files.config.is_file()
    assert files.weights == tmp_path / "face.safetensors" and files.weights.is_file()

    config, loaded = load_checkpoint(tmp_path / "face", "motion_vqvae", [2, 3])
    assert config == CONFIG
    assert set(loaded) == set(tensors)
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.dtype, name
        assert loaded[name].device.type == "cpu"
        assert loaded[name].shape == tensor.shape
        assert torch.equal(loaded[name], tensor), name

    header = read_header(files.config)
    assert header.kind == "motion_vqvae" and header.format_version == 3
    assert header.metadata == {"trained_steps": 1200, "note": "tiny"}
    assert header.tensors["brain"] == {"dtype": "bfloat16", "shape": [6]}


def test_numpy_round_trip(tmp_path):
    arrays = {
        "codebook": np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32),
        "mean": np.linspace(-1, 1, 5),
        "half": np.array([0.5, -2.0], dtype=np.float16),
        "ids": np.array([[1, 2], [3, 4]], dtype=np.int32),
        "mask": np.array([True, False]),
        # A strided view must be stored by value, not by its base buffer.
        "column": np.arange(12, dtype=np.float32).reshape(3, 4)[:, 1],
    }
    save_checkpoint(tmp_path / "audio", "audio_tokenizer", {"units": 16}, arrays)
    config, loaded = load_checkpoint(tmp_path / "audio.json", "audio_tokenizer", 1, as_numpy=True)
    assert config == {"units": 16}
    for name, array in arrays.items():
        assert isinstance(loaded[name], np.ndarray)
        assert loaded[name].dtype == array.dtype, name
        np.testing.assert_array_equal(loaded[name], array)


def test_bfloat16_loads_as_float32_numpy_without_loss(tmp_path):
    values = torch.tensor([1.5, -0.0078125, 3.0e38], dtype=torch.bfloat16)
    save_checkpoint(tmp_path / "lm", "lm", {}, {"x": values})
    _, loaded = load_checkpoint(tmp_path / "lm", "lm", 1, as_numpy=True)
    assert loaded["x"].dtype == np.float32
    np.testing.assert_array_equal(loaded["x"], values.float().numpy())


def test_folder_path_uses_checkpoint_name(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    _save_simple(folder, value=2.0)
    assert (folder / "checkpoint.json").is_file()
    assert (folder / "checkpoint.safetensors").is_file()
    config, tensors = load_checkpoint(folder, "motion_vqvae", 1)
    assert config == {"value": 2.0}
    assert torch.equal(tensors["w"], torch.full((3, 4), 2.0))
    assert checkpoint_files(folder / "checkpoint.safetensors").config == folder / "checkpoint.json"


def test_tied_and_non_contiguous_tensors_are_stored_by_value(tmp_path):
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    tensors = {"embed": base, "head": base, "transposed": base.t(), "row": base[1]}
    save_checkpoint(tmp_path / "tied", "lm", {}, tensors)
    _, loaded = load_checkpoint(tmp_path / "tied", "lm", 1)
    for name, tensor in tensors.items():
        assert torch.equal(loaded[name], tensor), name
    assert loaded["embed"].data_ptr() != loaded["head"].data_ptr()


def _truncated_weights_write(monkeypatch) -> type[BaseException]:
    """Saving writes the weights, truncates them as a killed process would leave them, and is
    interrupted."""
    real_save_file = safetensors.torch.save_file

    def crash_half_way(tensors, filename, metadata=None):
        real_save_file(tensors, filename, metadata=metadata)
        with open(filename, "r+b") as handle:
            handle.truncate(handle.seek(0, 2) // 2)
        raise KeyboardInterrupt("killed while saving")

    monkeypatch.setattr(safetensors.torch, "save_file", crash_half_way)
    return KeyboardInterrupt


def _no_renames(monkeypatch) -> type[BaseException]:
    def no_rename(src, dst):
        raise OSError("disk vanished")

    monkeypatch.setattr(ckpt.os, "replace", no_rename)
    return OSError


def _weights_renamed_only(monkeypatch) -> type[BaseException]:
    """The power goes between the weights' rename and the config's."""
    real_replace = ckpt.os.replace
    calls = []

    def replace_weights_only(src, dst):
        calls.append(dst)
        if len(calls) > 1:
            raise OSError("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(ckpt.os, "replace", replace_weights_only)
    return OSError


def _crash_resaving(path, monkeypatch, sabotage) -> None:
    """Save `path` (value 1.0), then save it again (value 9.0) through `sabotage`, which must
    make that second save fail."""
    _save_simple(path, value=1.0)
    crash = sabotage(monkeypatch)
    with pytest.raises(crash):
        _save_simple(path, value=9.0)
    monkeypatch.undo()


@pytest.mark.parametrize("sabotage", [_truncated_weights_write, _no_renames])
def test_crash_while_saving_keeps_old_checkpoint(tmp_path, monkeypatch, sabotage):
    _crash_resaving(tmp_path / "face", monkeypatch, sabotage)
    config, tensors = load_checkpoint(tmp_path / "face", "motion_vqvae", 1)
    assert config == {"value": 1.0}
    assert torch.equal(tensors["w"], torch.full((3, 4), 1.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.json", "face.safetensors"]


def test_crash_between_renames_is_detected_not_loaded(tmp_path, monkeypatch):
    _crash_resaving(tmp_path / "face", monkeypatch, _weights_renamed_only)
    with pytest.raises(BodyLanguageError, match="different saves") as error:
        load_checkpoint(tmp_path / "face", "motion_vqvae", 1)
    assert "face.safetensors" in str(error.value)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(BodyLanguageError, match="config not found") as error:
        load_checkpoint(tmp_path / "nothing", "lm", 1)
    assert "nothing.json" in str(error.value)

    files = _save_simple(tmp_path / "face")
    files.weights.unlink()
    with pytest.raises(BodyLanguageError, match="weights not found") as error:
        load_checkpoint(tmp_path / "face", "motion_vqvae", 1)
    assert error.value.path == str(files.weights)


def test_wrong_kind(tmp_path):
    _save_simple(tmp_path / "face")
    with pytest.raises(BodyLanguageError, match="'motion_vqvae' checkpoint, expected a 'lm'"):
        load_checkpoint(tmp_path / "face", "lm", 1)
    with pytest.raises(BodyLanguageError, match="expected a 'lm'"):
        read_config(tmp_path / "face", kind="lm")


def test_incompatible_version_names_file_expected_and_found(tmp_path):
    _save_simple(tmp_path / "face", version=4)
    with pytest.raises(BodyLanguageError) as error:
        load_checkpoint(tmp_path / "face", "motion_vqvae", [1, 2])
    message = str(error.value)
    assert "face.json" in message
    assert "format version 4" in message
    assert "format version 1 or 2" in message
    assert read_config(tmp_path / "face", "motion_vqvae", 4) == {"value": 1.0}


def test_garbage_and_truncated_weights(tmp_path):
    files = _save_simple(tmp_path / "face")
    good = files.weights.read_bytes()

    files.weights.write_bytes(good[: len(good) - 7])
    with pytest.raises(BodyLanguageError, match="corrupt or truncated") as error:
        load_checkpoint(tmp_path / "face", "motion_vqvae", 1)
    assert error.value.path == str(files.weights)

    files.weights.write_bytes(b"\x00" * 3)
    with pytest.raises(BodyLanguageError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "face", "motion_vqvae", 1)

    files.weights.write_bytes(b"this is not a safetensors file at all")
    with pytest.raises(BodyLanguageError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "face", "motion_vqvae", 1)


def test_unparseable_or_foreign_json(tmp_path):
    files = _save_simple(tmp_path / "face")
    text = files.config.read_text()

    files.config.write_text(text[: len(text) // 2])
    with pytest.raises(BodyLanguageError, match="not valid JSON") as error:
        load_checkpoint(tmp_path / "face", "motion_vqvae", 1)
    assert error.value.path == str(files.config)

    files.config.write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(BodyLanguageError, match="lacks format_version"):
        read_config(tmp_path / "face")

    document = json.loads(text)
    document["format_version"] = "1"
    files.config.write_text(json.dumps(document))
    with pytest.raises(BodyLanguageError, match="format_version is not an integer"):
        read_config(tmp_path / "face")


def test_tensors_promised_by_config_must_be_present(tmp_path):
    files = _save_simple(tmp_path / "face")
    document = json.loads(files.config.read_text())

    promised = json.loads(json.dumps(document))
    promised["tensors"]["decoder.weight"] = {"dtype": "float32", "shape": [2]}
    files.config.write_text(json.dumps(promised))
    with pytest.raises(BodyLanguageError, match="lack tensors decoder.weight"):
        load_checkpoint(tmp_path / "face", "motion_vqvae", 1)

    reshaped = json.loads(json.dumps(document))
    reshaped["tensors"]["w"]["shape"] = [4, 3]
    files.config.write_text(json.dumps(reshaped))
    expected = r"'w' is float32 \[3, 4\].*promises float32 \[4, 3\]"
    with pytest.raises(BodyLanguageError, match=expected):
        load_checkpoint(tmp_path / "face", "motion_vqvae", 1)

    files.config.write_text(json.dumps(document))
    with pytest.raises(BodyLanguageError, match="lack tensors codebook"):
        load_checkpoint(tmp_path / "face", "motion_vqvae", 1, required_tensors=["w", "codebook"])
    config, _ = load_checkpoint(tmp_path / "face", "motion_vqvae", 1, required_tensors=["w", "b"])
    assert config == {"value": 1.0}


def test_bad_input_to_save_writes_nothing(tmp_path):
    with pytest.raises(BodyLanguageError, match="not JSON-serialisable"):
        save_checkpoint(tmp_path / "x", "lm", {"size": np.int64(3)}, {"w": torch.zeros(1)})
    with pytest.raises(BodyLanguageError, match="not JSON-serialisable"):
        save_checkpoint(tmp_path / "x", "lm", {"loss": float("nan")}, {"w": torch.zeros(1)})
    with pytest.raises(BodyLanguageError, match="not a torch tensor or numpy array"):
        save_checkpoint(tmp_path / "x", "lm", {}, {"w": [1.0, 2.0]})
    with pytest.raises(BodyLanguageError, match="format_version must be an int"):
        save_checkpoint(tmp_path / "x", "lm", {}, {"w": torch.zeros(1)}, format_version="2")
    assert list(tmp_path.iterdir()) == []


def _train_steps(model, optimizer, steps):
    for _ in range(steps):
        loss = model(torch.randn(4, 3)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_training_state_resumes_exactly(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    _train_steps(model, optimizer, 3)
    rng_state = {"numpy": np.arange(4, dtype=np.int64), "seed": 6}

    save_training_state(
        tmp_path / "state", model.state_dict(), optimizer.state_dict(), 3, rng_state,
        config={"lr": 0.01},
    )
    torch.manual_seed(7)
    _train_steps(model, optimizer, 2)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    resumed = load_training_state(tmp_path / "state")
    assert resumed.step == 3 and resumed.config == {"lr": 0.01}
    # numpy arrays in the generator state come back as tensors (the safe unpickler's types).
    assert resumed.rng_state["seed"] == 6
    assert torch.equal(resumed.rng_state["numpy"], torch.arange(4))
    model2 = torch.nn.Linear(3, 2)
    model2.load_state_dict(resumed.model_state)
    optimizer2 = torch.optim.Adam(model2.parameters(), lr=0.01)
    optimizer2.load_state_dict(resumed.optimizer_state)
    torch.manual_seed(7)  # the same batches as the uninterrupted run
    _train_steps(model2, optimizer2, 2)
    for name, value in model2.state_dict().items():
        assert torch.equal(value, expected[name]), name


class _Exploit:
    def __reduce__(self):
        return (print, ("this code must never run",))


def test_training_state_refuses_pickled_code(tmp_path, capsys):
    model = torch.nn.Linear(2, 2)
    save_training_state(tmp_path / "state", model.state_dict(), {}, 0, {})
    optim_path = tmp_path / "state.optim.pt"
    payload = torch.load(optim_path, weights_only=True)
    payload["optimizer"] = _Exploit()
    torch.save(payload, optim_path)
    with pytest.raises(BodyLanguageError, match="corrupt or unsafe") as error:
        load_training_state(tmp_path / "state")
    assert error.value.path == str(optim_path)
    assert "must never run" not in capsys.readouterr().out


def test_training_state_from_another_save_is_refused(tmp_path):
    model = torch.nn.Linear(2, 2)
    save_training_state(tmp_path / "a", model.state_dict(), {}, 1, {})
    save_training_state(tmp_path / "b", model.state_dict(), {}, 2, {})
    (tmp_path / "a.optim.pt").write_bytes((tmp_path / "b.optim.pt").read_bytes())
    with pytest.raises(BodyLanguageError, match="does not belong"):
        load_training_state(tmp_path / "a")
    with pytest.raises(BodyLanguageError, match="non-negative int"):
        save_training_state(tmp_path / "c", model.state_dict(), {}, -1, {})


def test_saved_files_are_readable_by_others_as_the_umask_allows(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        files = save_checkpoint(tmp_path / "shared", "unit_test", {}, {"w": np.zeros(3)})
    finally:
        os.umask(previous)
    for path in (files.config, files.weights):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
