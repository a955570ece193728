import json

import numpy as np
import pytest

from core.emotions import EMOTIONS
from core.errors import BodyLanguageError
from core.skeleton import PARTS
from core.tokenizers.vocabulary import MODALITIES, SPECIAL_TOKENS, TASKS, Vocabulary

PART_CODES = {"lower": 128, "upper": 512, "face": 256, "hands": 1024}  # deliberately out of order


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary(30522, 500, PART_CODES)


def test_blocks_are_contiguous_disjoint_and_cover_everything(vocab):
    blocks = [vocab.range(m) for m in MODALITIES]
    assert blocks[0].start == 0
    for before, after in zip(blocks, blocks[1:], strict=False):
        assert before.stop == after.start
    assert blocks[-1].stop == vocab.size == len(vocab)
    expected_sizes = [30522, 500, *(PART_CODES[p] for p in PARTS), len(EMOTIONS),
                      len(SPECIAL_TOKENS)]
    assert [len(b) for b in blocks] == expected_sizes
    assert vocab.size == sum(expected_sizes)


def test_parts_follow_the_paper_order(vocab):
    assert PARTS == ("face", "hands", "upper", "lower")
    starts = [vocab.range(p).start for p in PARTS]
    assert starts == sorted(starts)
    assert vocab.range("face").start == vocab.range("audio").stop
    assert vocab.range("motion") == range(vocab.range("face").start, vocab.range("lower").stop)


def test_text_ids_are_unchanged(vocab):
    for piece in (0, 101, 7592, 30521):
        assert vocab.text(piece) == piece
        assert vocab.decode_id(piece) == ("text", piece)
    np.testing.assert_array_equal(vocab.ids("text", [5, 7592]), [5, 7592])


def test_every_id_round_trips(vocab):
    seen = set()
    for token_id in range(vocab.size):
        modality, value = vocab.decode_id(token_id)
        assert token_id in vocab.range(modality)
        assert vocab.token_id(modality, value) == token_id
        seen.add((modality, value))
    assert len(seen) == vocab.size


def test_value_to_id_helpers(vocab):
    assert vocab.audio(0) == 30522
    assert vocab.audio(499) == 30522 + 499
    assert vocab.part("face", 0) == 30522 + 500
    assert vocab.part("hands", 0) == 30522 + 500 + 256
    assert vocab.part("lower", 127) == vocab.range("lower").stop - 1
    assert vocab.decode_id(vocab.part("upper", 300)) == ("upper", 300)
    for index, name in enumerate(EMOTIONS):
        assert vocab.emotion(name) == vocab.range("emotion").start + index
        assert vocab.decode_id(vocab.emotion(name)) == ("emotion", name)
    assert vocab.decode_id(vocab.special("<eos>")) == ("special", "<eos>")
    assert vocab.task("edit_part") == vocab.special("<task_edit_part>")
    assert vocab.describe(vocab.part("face", 12)) == "<face_12>"
    assert vocab.describe(vocab.emotion("anger")) == "<emotion_anger>"
    assert vocab.describe(vocab.special("<motion_mask>")) == "<motion_mask>"


def test_special_tokens_cover_modalities_masks_and_tasks(vocab):
    for name in ("<pad>", "<bos>", "<eos>", "<motion_mask>", "<audio>", "</audio>"):
        assert vocab.special(name) in vocab.range("special")
    for part in PARTS:
        vocab.special(f"<{part}>")
        vocab.special(f"</{part}>")
        vocab.special(f"<{part}_mask>")
    for task in ("audio_to_motion", "text_to_motion", "audio_text_to_motion", "emotion_to_motion",
                 "motion_to_emotion", "edit_part", "edit_frames", "upper_to_lower",
                 "body_to_hands", "body_to_face", "audio_to_text", "motion_inbetween",
                 "transcript_audio_to_motion"):
        assert task in TASKS
        assert vocab.task(task) in vocab.range("special")
    ids = [vocab.special(name) for name in SPECIAL_TOKENS]
    assert len(set(ids)) == len(SPECIAL_TOKENS)


def test_vectorised_ids_and_values(vocab):
    codes = np.array([[0, 5], [255, 17]])
    ids = vocab.ids("face", codes)
    assert ids.dtype == np.int64 and ids.shape == (2, 2)
    assert ids[1, 0] == vocab.part("face", 255)
    np.testing.assert_array_equal(vocab.values("face", ids), codes)
    np.testing.assert_array_equal(vocab.values("audio", vocab.ids("audio", [3, 499])), [3, 499])
    with pytest.raises(BodyLanguageError, match="not a face token .*it is hands"):
        vocab.values("face", [vocab.part("hands", 0)])
    with pytest.raises(BodyLanguageError, match="hands value 1024 is outside 0..1023"):
        vocab.ids("hands", [1, 1024])
    with pytest.raises(BodyLanguageError, match="must be integers"):
        vocab.ids("audio", [1.5])
    with pytest.raises(BodyLanguageError, match="not an integer-valued modality"):
        vocab.ids("emotion", [0])


def test_masks_for_constrained_decoding(vocab):
    mask = vocab.mask("hands")
    assert mask.shape == (vocab.size,) and mask.dtype == bool
    assert mask.sum() == PART_CODES["hands"]
    assert mask[vocab.part("hands", 0)] and not mask[vocab.part("face", 255)]
    both = vocab.mask("upper", "special")
    assert both.sum() == PART_CODES["upper"] + len(SPECIAL_TOKENS)
    assert both[vocab.special("<eos>")] and both[vocab.part("upper", 0)]


def test_out_of_range_and_unknown_names_are_clear(vocab):
    with pytest.raises(BodyLanguageError, match="face code 256 is outside 0..255"):
        vocab.part("face", 256)
    with pytest.raises(BodyLanguageError, match="audio unit -1 is outside 0..499"):
        vocab.audio(-1)
    with pytest.raises(BodyLanguageError, match="must be an integer"):
        vocab.audio(True)
    with pytest.raises(BodyLanguageError, match="must be an integer"):
        vocab.audio(2.0)
    with pytest.raises(BodyLanguageError, match="text piece id 30522 is outside 0..30521"):
        vocab.text(30522)
    with pytest.raises(BodyLanguageError, match="unknown body part 'torso'"):
        vocab.part("torso", 0)
    with pytest.raises(BodyLanguageError, match="unknown emotion 'angry'.*anger"):
        vocab.emotion("angry")
    with pytest.raises(BodyLanguageError, match="unknown special token '<audoi>'.*<audio>"):
        vocab.special("<audoi>")
    with pytest.raises(BodyLanguageError, match="unknown task 'dance'"):
        vocab.task("dance")
    with pytest.raises(BodyLanguageError, match="unknown modality 'video'"):
        vocab.range("video")
    with pytest.raises(BodyLanguageError, match=f"token id {vocab.size} is outside"):
        vocab.decode_id(vocab.size)


def test_bad_construction(vocab):
    with pytest.raises(BodyLanguageError, match="exactly the parts"):
        Vocabulary(10, 5, {"face": 4, "hands": 4, "upper": 4})
    with pytest.raises(BodyLanguageError, match="audio_units must be a positive integer"):
        Vocabulary(10, 0, PART_CODES)
    with pytest.raises(BodyLanguageError, match="lists <pad> more than once"):
        Vocabulary(10, 5, PART_CODES, special_tokens=("<pad>", "<pad>"))


def test_config_round_trip_through_json(vocab):
    config = json.loads(json.dumps(vocab.to_config()))
    restored = Vocabulary.from_config(config)
    assert restored == vocab
    assert hash(restored) == hash(vocab)
    assert restored.range("hands") == vocab.range("hands")
    assert restored != Vocabulary(30522, 500, {**PART_CODES, "hands": 512})
    assert vocab != Vocabulary(30522, 501, PART_CODES)


def test_stored_token_lists_keep_old_ids_stable(vocab):
    # A model saved before a new special token was added keeps its own list, hence its ids.
    config = vocab.to_config()
    config["special_tokens"] = config["special_tokens"][:5]
    older = Vocabulary.from_config(config)
    assert older.size == vocab.size - (len(SPECIAL_TOKENS) - 5)
    assert older.special("<text>") == vocab.special("<text>")
    with pytest.raises(BodyLanguageError, match="unknown special token"):
        older.special("<task_edit_part>")


def test_bad_config_is_refused(vocab):
    config = vocab.to_config()
    with pytest.raises(BodyLanguageError, match="layout version 99"):
        Vocabulary.from_config({**config, "layout_version": 99})
    broken = dict(config)
    del broken["part_codes"]
    with pytest.raises(BodyLanguageError, match="lacks part_codes"):
        Vocabulary.from_config(broken)
