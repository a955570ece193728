import os

import numpy as np
import pytest
import safetensors
import torch

from core.checkpoint import checkpoint_files, read_header
from core.errors import BodyLanguageError
from core.lm import (
    IGNORE,
    MOTION_STEP,
    GenerationCancelled,
    LMConfig,
    MotionLanguageModel,
    generate_motion_codes,
    generate_tokens,
    score_tokens,
)
from core.lm.lm_checkpoint import TEXT_ROWS_KEY
from core.skeleton import PARTS
from core.tokenizers.text import minilm_dir
from core.tokenizers.vocabulary import Vocabulary

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Parts of different sizes, so a code that lands in the wrong part's range is caught.
PART_CODES = {"face": 12, "hands": 20, "upper": 9, "lower": 30}
VOCAB = Vocabulary(120, 16, PART_CODES)
SIZES = [PART_CODES[p] for p in PARTS]


def tiny_config(**overrides) -> LMConfig:
    return LMConfig.tiny(vocabulary=VOCAB.to_config(), dropout=0.0, **overrides)


@pytest.fixture(scope="module")
def model(one_torch_thread) -> MotionLanguageModel:
    torch.manual_seed(0)
    return MotionLanguageModel(tiny_config()).eval()


def encoder_inputs(rows: int, seed: int = 0, steps: int = 4, padding: int = 0) -> dict:
    """task, text, audio and motion-step positions; the last row padded by `padding` positions."""
    g = torch.Generator().manual_seed(seed)
    v = VOCAB
    pieces = [
        torch.full((rows, 1), v.task("edit_part")),
        torch.randint(1000 % v.text_size, v.text_size, (rows, 5), generator=g),
        torch.full((rows, 1), v.special("<audio>")),
        torch.randint(v.range("audio").start, v.range("audio").stop, (rows, 6), generator=g),
        torch.full((rows, 1), v.special("<motion>")),
        torch.full((rows, steps), MOTION_STEP),
    ]
    ids = torch.cat(pieces, dim=1)
    codes = torch.stack([torch.randint(0, n, (rows, ids.shape[1]), generator=g) for n in SIZES], -1)
    codes[:, :, 1] = -1  # hands not given: regenerate them
    mask = torch.ones_like(ids)
    if padding:
        ids = torch.cat([ids, torch.full((rows, padding), v.special("<pad>"))], dim=1)
        codes = torch.cat([codes, torch.full((rows, padding, 4), -1)], dim=1)
        mask = torch.cat([mask, torch.zeros(rows, padding, dtype=torch.long)], dim=1)
        mask[:-1, -padding:] = 1  # only the last row is padded
    return {"input_ids": ids, "motion_codes": codes, "attention_mask": mask}


def motion_targets(rows: int, steps: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(0, n, (rows, steps), generator=g) for n in SIZES], -1)


def mixed_batch() -> dict:
    batch = encoder_inputs(3)
    targets = motion_targets(3, 6)
    targets[2] = IGNORE  # row 2 is a token row
    tokens = torch.full((3, 3), IGNORE)
    tokens[2] = torch.tensor([VOCAB.emotion(VOCAB.emotions[3]), VOCAB.special("<eos>"), IGNORE])
    return {**batch, "motion_targets": targets, "token_targets": tokens}


def test_forward_mixed_batch_gives_finite_loss_and_a_gradient_for_every_weight():
    torch.manual_seed(0)
    model = MotionLanguageModel(tiny_config()).train()
    out = model(mixed_batch())
    assert torch.isfinite(out.loss) and out.loss.item() > 0
    assert out.motion_loss is not None and out.token_loss is not None
    assert set(out.part_losses) == set(PARTS)
    # Untrained: near the uniform cross-entropy of each part.
    for part, loss in out.part_losses.items():
        assert abs(loss.item() - np.log(PART_CODES[part])) < 1.0
    out.loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    for name, parameter in trainable:
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
    assert model.motion_head.weight.grad.abs().sum() > 0
    assert model.token_bias.grad.abs().sum() > 0


def test_a_batch_of_one_kind_still_gives_every_weight_a_gradient():
    torch.manual_seed(0)
    model = MotionLanguageModel(tiny_config()).train()
    batch = encoder_inputs(2)
    model({**batch, "motion_targets": motion_targets(2, 5)}).loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert model.token_bias.grad.abs().sum() == 0  # reached, but with a zero gradient


def test_loss_ignores_untrained_entries_but_teacher_forces_them():
    torch.manual_seed(0)
    model = MotionLanguageModel(tiny_config()).eval()
    batch = encoder_inputs(2)
    targets = motion_targets(2, 5)
    only_hands = torch.zeros_like(targets, dtype=torch.bool)
    only_hands[..., 1] = True
    base = model({**batch, "motion_targets": targets, "motion_loss_mask": only_hands})
    assert set(base.part_losses) == {"hands"}
    changed_face = targets.clone()
    changed_face[:, 0, 0] = (changed_face[:, 0, 0] + 1) % PART_CODES["face"]
    # The face is not trained, but it is the decoder's input: changing it changes the hands' loss.
    other = model({**batch, "motion_targets": changed_face, "motion_loss_mask": only_hands})
    assert not torch.isclose(base.loss, other.loss)
    # The last step's codes are never an input, so changing an untrained one changes nothing.
    changed_last = targets.clone()
    changed_last[:, -1, 0] = (changed_last[:, -1, 0] + 1) % PART_CODES["face"]
    same = model({**batch, "motion_targets": changed_last, "motion_loss_mask": only_hands})
    assert torch.equal(base.loss, same.loss)


def test_bad_batches_raise_clear_errors(model):
    batch = mixed_batch()
    with pytest.raises(BodyLanguageError, match="row 2 has both"):
        model({**batch, "motion_targets": motion_targets(3, 6)})
    with pytest.raises(BodyLanguageError, match="row 2 has no trained target"):
        model({**batch, "token_targets": None})
    codes = batch["motion_codes"].clone()
    codes[0, -1, 3] = PART_CODES["lower"]
    with pytest.raises(BodyLanguageError, match="lower code 30"):
        model.encode({**batch, "motion_codes": codes})
    with pytest.raises(BodyLanguageError, match="no motion_codes"):
        model.encode({"input_ids": batch["input_ids"]})
    with pytest.raises(BodyLanguageError, match="decoder positions"):
        model({**encoder_inputs(1), "motion_targets": motion_targets(1, 129)})


def _overfit(batch: dict, steps: int = 60) -> tuple[float, float]:
    torch.manual_seed(0)
    model = MotionLanguageModel(tiny_config()).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = last = None
    for _ in range(steps):
        loss = model(batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
        last = loss.item()
    return first, last


def test_overfits_a_tiny_motion_batch():
    batch = {**encoder_inputs(2), "motion_targets": motion_targets(2, 8)}
    first, last = _overfit(batch)
    assert last <= 0.1 * first


def test_overfits_a_tiny_token_batch():
    g = torch.Generator().manual_seed(3)
    tokens = torch.randint(0, VOCAB.text_size, (2, 6), generator=g)
    tokens[:, -1] = VOCAB.special("<eos>")
    first, last = _overfit({**encoder_inputs(2), "token_targets": tokens})
    assert last <= 0.1 * first


def test_generated_codes_have_the_right_shape_and_stay_in_each_parts_range(model):
    codes = generate_motion_codes(model, encoder_inputs(3), 9, temperature=5.0,
                                  generator=torch.Generator().manual_seed(0))
    assert codes.shape == (3, 9, 4) and codes.dtype == torch.int64
    for index, size in enumerate(SIZES):
        assert codes[..., index].min() >= 0 and codes[..., index].max() < size
    # At a high temperature, a part uses more than one code: the range check above is not vacuous.
    assert all(codes[..., index].unique().numel() > 2 for index in range(4))


def test_kept_codes_come_back_exactly_and_condition_the_rest(model):
    inputs = encoder_inputs(2, padding=3)
    steps = 7
    upper = np.random.default_rng(0).integers(0, PART_CODES["upper"], (2, steps))
    face = torch.full((2, steps), -1)
    face[:, 2:4] = torch.tensor([[5, 6], [7, 8]])  # only frames 2..3 kept
    codes = generate_motion_codes(model, inputs, steps, keep={"upper": upper, "face": face},
                                  temperature=0.0)
    assert np.array_equal(codes[..., 2].numpy(), upper)
    assert torch.equal(codes[:, 2:4, 0], face[:, 2:4])
    # Greedy choices are the argmax of the teacher-forced logits of the returned codes: the
    # kept codes were the decoder's inputs, not the codes the model would have picked.
    with torch.inference_mode():
        memory = model.encode(inputs)
        hidden = model.decode(model.teacher_forced_motion_inputs(codes, memory), memory)
        best = torch.stack([logits.argmax(-1) for logits in model.motion_logits(hidden)], -1)
    free = torch.ones_like(codes, dtype=torch.bool)
    free[..., 2] = False
    free[:, 2:4, 0] = False
    assert torch.equal(codes[free], best[free])
    assert not torch.equal(codes[..., 2], best[..., 2])  # the model alone would differ


def test_keep_is_checked(model):
    with pytest.raises(BodyLanguageError, match=r"kept hands codes must be \(2, 5\)"):
        generate_motion_codes(model, encoder_inputs(2), 5, keep={"hands": torch.zeros(2, 4)
                                                                  .long()})
    with pytest.raises(BodyLanguageError, match="below 9"):
        generate_motion_codes(model, encoder_inputs(2), 5, keep={"upper": torch.full((2, 5), 9)})
    with pytest.raises(BodyLanguageError, match="unknown parts"):
        generate_motion_codes(model, encoder_inputs(2), 5, keep={"arms": None})


def test_same_seed_same_codes_other_seed_other_codes(model):
    inputs = encoder_inputs(2)

    def run(seed: int) -> torch.Tensor:
        return generate_motion_codes(model, inputs, 10, temperature=1.0, top_k=8, top_p=0.95,
                                     generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(7), run(7))
    assert not torch.equal(run(7), run(8))


def test_top_k_one_is_greedy(model):
    inputs = encoder_inputs(2)
    greedy = generate_motion_codes(model, inputs, 6, temperature=0.0)
    top1 = generate_motion_codes(model, inputs, 6, temperature=1.3, top_k=1,
                                 generator=torch.Generator().manual_seed(1))
    assert torch.equal(greedy, top1)


def test_cancel_stops_early_with_its_own_exception(model):
    seen = []
    with pytest.raises(GenerationCancelled):
        generate_motion_codes(model, encoder_inputs(1), 20, progress=lambda d, t: seen.append(d),
                              cancel=lambda: len(seen) >= 3)
    assert seen == [1, 2, 3]
    with pytest.raises(GenerationCancelled):
        generate_tokens(model, encoder_inputs(1), VOCAB.mask("text"), 5, cancel=lambda: True)


def test_progress_reports_every_step(model):
    seen = []
    generate_motion_codes(model, encoder_inputs(1), 5, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(i, 5) for i in range(1, 6)]


def test_kv_cache_generation_equals_recomputation(model):
    inputs = encoder_inputs(3, seed=4, padding=4)
    cached = generate_motion_codes(model, inputs, 12, temperature=0.0)
    recomputed = generate_motion_codes(model, inputs, 12, temperature=0.0, use_cache=False)
    assert torch.equal(cached, recomputed)
    allowed = VOCAB.mask("text", "emotion")
    tokens = generate_tokens(model, inputs, allowed, 8, use_cache=True)
    assert torch.equal(tokens, generate_tokens(model, inputs, allowed, 8, use_cache=False))


def test_padding_does_not_change_a_rows_output(model):
    plain = encoder_inputs(2, seed=5)
    padded = encoder_inputs(2, seed=5, padding=6)
    padded["input_ids"][-1, -6:] = 3  # whatever padding holds must not matter
    a = generate_motion_codes(model, plain, 8, temperature=0.0)
    b = generate_motion_codes(model, padded, 8, temperature=0.0)
    assert torch.equal(a, b)


def test_motion_step_positions_read_their_codes_and_other_positions_do_not(model):
    inputs = encoder_inputs(1)
    with torch.inference_mode():
        base = model.encode(inputs).hidden
        elsewhere = {**inputs, "motion_codes": inputs["motion_codes"].clone()}
        elsewhere["motion_codes"][0, 0] = 0  # position 0 is the task token
        assert torch.equal(base, model.encode(elsewhere).hidden)
        step = {**inputs, "motion_codes": inputs["motion_codes"].clone()}
        step["motion_codes"][0, -1, 3] = (step["motion_codes"][0, -1, 3] + 1) % SIZES[3]
        assert not torch.allclose(base, model.encode(step).hidden)


def test_token_mode_respects_the_allowed_mask(model):
    inputs = encoder_inputs(3, padding=2)
    allowed = np.zeros(VOCAB.size, dtype=bool)
    chosen = [5, 17, 40, VOCAB.emotion(VOCAB.emotions[0]), VOCAB.special("<eos>")]
    allowed[chosen] = True
    for temperature in (0.0, 3.0):
        tokens = generate_tokens(model, inputs, allowed, 10, temperature=temperature,
                                 generator=torch.Generator().manual_seed(2))
        assert tokens.shape[0] == 3 and 1 <= tokens.shape[1] <= 10
        assert set(tokens.flatten().tolist()) <= set(chosen) | {VOCAB.special("<pad>")}
        for row in tokens.tolist():  # after <eos> only <pad>
            if VOCAB.special("<eos>") in row:
                end = row.index(VOCAB.special("<eos>"))
                assert set(row[end + 1:]) <= {VOCAB.special("<pad>")}
    emotions = generate_tokens(model, inputs, VOCAB.mask("emotion"), 1)
    assert emotions.shape == (3, 1)
    assert all(VOCAB.decode_id(t)[0] == "emotion" for t in emotions.flatten().tolist())
    per_row = np.zeros((3, VOCAB.size), dtype=bool)
    per_row[0, 5] = per_row[1, 6] = per_row[2, 7] = True
    assert generate_tokens(model, inputs, per_row, 1).flatten().tolist() == [5, 6, 7]


def test_score_tokens_gives_a_distribution_over_the_candidates(model):
    inputs = encoder_inputs(2)
    emotions = list(VOCAB.range("emotion"))
    log_probs = score_tokens(model, inputs, emotions)
    assert log_probs.shape == (2, len(emotions))
    assert torch.allclose(log_probs.exp().sum(-1), torch.ones(2), atol=1e-5)
    greedy = generate_tokens(model, inputs, VOCAB.mask("emotion"), 1)
    assert [emotions[i] for i in log_probs.argmax(-1).tolist()] == greedy.flatten().tolist()
    with pytest.raises(BodyLanguageError, match="distinct"):
        score_tokens(model, inputs, [5, 5])


def test_save_load_round_trip_gives_identical_outputs(model, tmp_path):
    inputs = encoder_inputs(2, padding=2)
    batch = {**inputs, "motion_targets": motion_targets(2, 5)}
    model.save(tmp_path / "exact", dtype=torch.float32)
    loaded = MotionLanguageModel.load(tmp_path / "exact")
    assert loaded.config == model.config and not loaded.training
    with torch.inference_mode():
        assert torch.equal(model(batch).loss, loaded(batch).loss)
    seed = torch.Generator().manual_seed
    assert torch.equal(generate_motion_codes(model, inputs, 6, generator=seed(3)),
                       generate_motion_codes(loaded, inputs, 6, generator=seed(3)))

    files = model.save(tmp_path / "half")  # float16 by default
    header = read_header(files.config)
    assert header.kind == "lm" and header.format_version == 1
    assert {entry["dtype"] for entry in header.tensors.values()} == {"float16"}
    assert os.path.getsize(files.weights) < 0.6 * os.path.getsize(checkpoint_files(
        tmp_path / "exact").weights)
    half = MotionLanguageModel.load(tmp_path / "half")
    with torch.inference_mode():
        assert torch.allclose(model(batch).loss, half(batch).loss, rtol=1e-2)
    half.save(tmp_path / "again", dtype=torch.float32)
    again = MotionLanguageModel.load(tmp_path / "again")
    assert all(torch.equal(a, b) for a, b in zip(half.state_dict().values(),
                                                 again.state_dict().values(), strict=True))


def test_load_refuses_other_checkpoints(tmp_path):
    from core.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "vq", "motion_tokenizer", {}, {"w": torch.zeros(1)})
    with pytest.raises(BodyLanguageError, match="expected a 'lm' checkpoint"):
        MotionLanguageModel.load(tmp_path / "vq")


def test_config_round_trips_and_checks():
    for name in ("tiny", "default", "large"):
        config = LMConfig.preset_named(name)
        assert LMConfig.from_dict(config.to_dict()) == config
        assert config.steps_per_window == 75 and config.audio_units_per_window == 250
        budget = config.position_budget()
        assert budget["audio"] + budget["motion"] + budget["framing"] + budget["text"] == 512
        assert budget["text"] >= 128
    with pytest.raises(BodyLanguageError, match="multiple of"):
        LMConfig.tiny(encoder_hidden=65)
    with pytest.raises(BodyLanguageError, match="more than decoder_max_positions"):
        LMConfig.tiny(window_seconds=20.0)
    with pytest.raises(BodyLanguageError, match="unknown keys"):
        LMConfig.from_dict({"preset": "tiny", "layers": 3})
    with pytest.raises(BodyLanguageError, match="unknown LM preset"):
        LMConfig.preset_named("huge")


def test_default_starts_from_minilm_offline_and_references_its_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    model = MotionLanguageModel(LMConfig.default())
    with safetensors.safe_open(str(minilm_dir() / "model.safetensors"), "pt") as handle:
        words = handle.get_tensor("embeddings.word_embeddings.weight")
        layer2_query = handle.get_tensor("encoder.layer.2.attention.self.query.weight")
        layer5_query = handle.get_tensor("encoder.layer.5.attention.self.query.weight")
    table = model.embedding
    assert torch.equal(table.text_weight, words) and not table.text_weight.requires_grad
    assert table.extra_weight.shape == (model.vocab.size - words.shape[0], words.shape[1])
    # New rows: the mean word embedding plus small noise, distinct from each other.
    assert torch.allclose(table.extra_weight.mean(0), words.mean(0), atol=0.01)
    assert table.extra_weight.std(0).mean() < 0.05 and table.extra_weight.unique(dim=0).shape[0] \
        == table.extra_weight.shape[0]
    # The encoder keeps MiniLM's first three layers.
    assert len(model.encoder.encoder.layer) == 3 == model.encoder.config.num_hidden_layers
    assert torch.equal(model.encoder.encoder.layer[2].attention.self.query.weight, layer2_query)
    # The decoder's last layer is warm-started from MiniLM's last one, which the encoder drops.
    assert torch.equal(model.decoder.encoder.layer[3].attention.self.query.weight, layer5_query)

    files = model.save(tmp_path / "default")
    with safetensors.safe_open(str(files.weights), "pt") as handle:
        assert TEXT_ROWS_KEY not in handle.keys()
    assert os.path.getsize(files.weights) < 50e6
    loaded = MotionLanguageModel.load(tmp_path / "default")
    assert torch.equal(loaded.embedding.text_weight, words)
    assert torch.equal(loaded.embedding.extra_weight, table.extra_weight.half().float())
