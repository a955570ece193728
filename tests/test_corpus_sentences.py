"""The corpus's sentences: enough of them, grammatical, annotated, split by template, stable."""

from __future__ import annotations

import collections
import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.corpus.script import GESTURE_TAGS
from core.corpus.sentences import (
    HELDOUT_TEMPLATES,
    KINDS,
    TEMPLATES,
    TRAIN_TEMPLATES,
    all_sentences,
    parse_marked,
    sample_sentence,
)
from core.errors import BodyLanguageError

ROOT = Path(__file__).resolve().parent.parent

TRAIN = all_sentences("train")
HELDOUT = all_sentences("heldout")
EVERY = TRAIN + HELDOUT

# Words that should never carry the sentence stress: the template stresses content words.
FUNCTION_WORDS = {"a", "an", "the", "of", "to", "and", "or", "in", "on", "at", "for", "by", "with"}
# Vowel letters read as consonants, and silent h's; the article must follow the sound.
CONSONANT_SOUND = ("university", "useful", "usual", "unique", "unicorn", "uniform", "union",
                   "one", "once", "euro", "european", "user")
VOWEL_SOUND_H = ("hour", "honest", "honor", "heir")
# Words after which a subject pronoun is inverted or the verb is a bare infinitive.
AUXILIARIES = {"do", "does", "did", "don't", "doesn't", "didn't", "will", "would", "can", "could",
               "should", "might", "must", "won't", "can't", "let", "make", "help", "to"}
BASE_VERBS = {"say", "go", "do", "have", "want", "need", "like", "make", "live", "play", "look",
              "come", "agree", "love", "get", "don't", "are", "were", "am"}
THIRD_SINGULAR_VERBS = {"says", "goes", "does", "has", "wants", "needs", "likes", "makes", "lives",
                        "plays", "looks", "comes", "agrees", "loves", "gets", "doesn't", "is",
                        "hasn't", "isn't"}
NAMES = {"Sarah", "Tom", "Anna", "David", "Maria", "James", "Lucy"}
PLURAL_NOUNS = {"parents", "kids", "friends", "neighbors", "cousins", "twins"}


def _spoken(text: str) -> list[str]:
    """Independent tokeniser: drop punctuation except apostrophes inside words."""
    return re.sub(r"[^\w\s']", " ", text).split()


def _article(word: str) -> str:
    lower = word.lower()
    if lower.startswith(CONSONANT_SOUND):
        return "a"
    if lower.startswith(VOWEL_SOUND_H) or lower[0] in "aeiou":
        return "an"
    return "a"


# --- size, split, kinds -------------------------------------------------------------------------

def test_there_are_enough_distinct_sentences_in_each_split() -> None:
    assert len({s.text for s in TRAIN}) == len(TRAIN) >= 3000
    assert len({s.text for s in HELDOUT}) == len(HELDOUT) >= 300


def test_held_out_templates_are_a_fixed_tenth_disjoint_from_training() -> None:
    ids = [t.id for t in TEMPLATES]
    assert len(set(ids)) == len(ids)
    assert not set(TRAIN_TEMPLATES) & set(HELDOUT_TEMPLATES)
    assert set(TRAIN_TEMPLATES) | set(HELDOUT_TEMPLATES) == set(ids)
    assert 0.07 <= len(HELDOUT_TEMPLATES) / len(ids) <= 0.15
    assert {s.template for s in TRAIN} == set(TRAIN_TEMPLATES)
    assert {s.template for s in HELDOUT} == set(HELDOUT_TEMPLATES)
    assert not {s.text for s in TRAIN} & {s.text for s in HELDOUT}


def test_every_kind_has_a_fair_share_in_both_splits() -> None:
    for split in (TRAIN, HELDOUT):
        counts = collections.Counter(s.kind for s in split)
        assert set(counts) == set(KINDS)
        assert min(counts.values()) >= 0.08 * len(split), counts


def test_lengths_and_topics_vary() -> None:
    lengths = [len(s.words) for s in EVERY]
    assert min(lengths) >= 3 and max(lengths) <= 25
    assert len(set(lengths)) >= 12
    assert len({w.lower() for s in TRAIN for w in s.words}) >= 900


# --- annotation ---------------------------------------------------------------------------------

def test_words_are_the_spoken_words_of_the_text() -> None:
    for s in EVERY:
        assert list(s.words) == _spoken(s.text), s.text
        assert len(s.words) == len(s.emphasis) == len(s.gestures)
        # Each word is one spoken word for the aligner: no digits, no hyphenated compounds.
        assert not re.search(r"\d|\w-\w", s.text), s.text
    assert any("don't" in s.words for s in EVERY)  # contractions stay one word


def test_every_sentence_stresses_one_to_a_few_content_words() -> None:
    for s in EVERY:
        stressed = [w for w, e in zip(s.words, s.emphasis, strict=True) if e]
        assert stressed, s.text
        assert len(stressed) <= max(2, math.ceil(len(s.words) / 3)), (s.text, stressed)
        assert not {w.lower() for w in stressed} & FUNCTION_WORDS, (s.text, stressed)


def test_wh_words_and_negation_contrasts_take_the_stress() -> None:
    by_id = collections.defaultdict(list)
    for s in EVERY:
        by_id[s.template].append(s)
    for s in by_id["q_where_put"]:
        assert s.words[0] == "Where" and s.emphasis[0]
    for s in by_id["neg_never_said"]:
        assert s.emphasis[s.words.index("never")]
    for s in by_id["neg_wasnt_me"]:
        assert s.emphasis[s.words.index("me")]


def test_gesture_tags_are_known_and_all_of_them_occur() -> None:
    seen = {g for s in EVERY for g in s.gestures if g is not None}
    assert seen <= set(GESTURE_TAGS)
    assert seen == set(GESTURE_TAGS)


def test_semantic_words_get_their_gestures() -> None:
    expected = {"I": "self", "me": "self", "my": "self", "I'm": "self", "you": "you",
                "your": "you", "these": "this", "those": "that", "everyone": "all",
                "nothing": "nothing", "never": "nothing", "nobody": "nothing", "maybe": "maybe",
                "together": "together", "here": "here", "huge": "big", "tiny": "small",
                "lots": "many", "fell": "down"}
    checked = collections.Counter()
    for s in EVERY:
        for i, (word, gesture) in enumerate(zip(s.words, s.gestures, strict=True)):
            if word in expected and s.words[i - 1:i] != ("mind",):  # "mind you" is no pointing
                assert gesture == expected[word], (s.text, word, gesture)
                checked[word] += 1
    assert set(checked) == set(expected)


def test_template_overrides_silence_non_deictic_words() -> None:
    existential = idiom = 0
    for s in EVERY:
        for i, word in enumerate(s.words):
            # Existential "there is/are" points nowhere; "Believe it or not" is no refusal.
            if word.lower() == "there" and s.words[i + 1:i + 2] in (("are",), ("is",)):
                assert s.gestures[i] is None, s.text
                existential += 1
            if word == "not" and s.words[i - 3:i] == ("Believe", "it", "or"):
                assert s.gestures[i] is None, s.text
                idiom += 1
    assert existential > 0 and idiom > 0


def test_markup_parser_reads_stress_and_overrides() -> None:
    s = parse_marked("No, I *really* said that~ — *sure*~maybe, over *there*!", "aside", "t")
    assert s.text == "No, I really said that — sure, over there!"
    assert s.words == ("No", "I", "really", "said", "that", "sure", "over", "there")
    assert s.emphasis == (False, False, True, False, False, True, False, True)
    assert s.gestures == ("no", "self", None, None, None, "maybe", None, "there")
    with pytest.raises(ValueError):
        parse_marked("An *unbalanced star.", "statement", "t")
    with pytest.raises(ValueError):
        parse_marked("A made~wave gesture.", "statement", "t")


# --- grammar ------------------------------------------------------------------------------------

def test_articles_match_the_next_sound() -> None:
    both = collections.Counter()
    for s in EVERY:
        for word, following in zip(s.words, s.words[1:], strict=False):
            if word.lower() in ("a", "an"):
                assert word.lower() == _article(following), s.text
                both[word.lower()] += 1
    assert both["a"] > 100 and both["an"] > 30  # both branches are exercised


def test_subjects_and_verbs_agree() -> None:
    for s in EVERY:
        words = ("",) + s.words + ("",)
        for prev, word, nxt in zip(words, words[1:], words[2:], strict=False):
            if prev.lower() in AUXILIARIES:
                continue
            if word in ("he", "she", "it", "He", "She", "It") or word in NAMES:
                assert nxt not in BASE_VERBS, s.text
            if word in ("I", "you", "we", "they", "You", "We", "They"):
                assert nxt not in THIRD_SINGULAR_VERBS, s.text
            if word in PLURAL_NOUNS:
                assert nxt not in THIRD_SINGULAR_VERBS | {"was"}, s.text
            if word == "I":
                assert nxt not in {"are", "were", "is"}, s.text
            if word in ("we", "they", "you", "We", "They", "You"):
                assert nxt not in {"was", "am", "is"}, s.text


def test_punctuation_matches_the_kind() -> None:
    for s in EVERY:
        assert s.text[0].isupper(), s.text
        assert s.text.endswith("?") == (s.kind == "question"), s.text
        assert s.text.endswith("!") == (s.kind == "exclamation"), s.text
        if s.kind not in ("question", "exclamation"):
            assert s.text.endswith("."), s.text
        assert s.text.count("?") + s.text.count("!") + s.text.count(".") == 1, s.text


def test_no_spacing_slips_or_leftover_markup() -> None:
    for s in EVERY:
        assert s.text == s.text.strip()
        assert "  " not in s.text
        assert not re.search(r"\s[,.!?:]", s.text), s.text
        assert not re.search(r"[*~{}=@_]", s.text), s.text
        lower = [w.lower() for w in s.words]
        assert all(a != b for a, b in zip(lower, lower[1:], strict=False)), s.text  # "the the"


def test_slots_of_one_list_draw_different_fillers() -> None:
    prefixes = {"li_drinks": r"You can have ", "li_visited": r"On our trip we visited ",
                "li_invite": r"We invited ", "li_jobs": r".*? worked as ",
                "li_sports": r".*? plays? "}
    listed = 0
    for s in EVERY:
        if s.template in prefixes:
            body = re.sub("^" + prefixes[s.template], "", s.text.rstrip("."))
            items = [re.sub(r"^(and|or) ", "", i.strip()) for i in body.split(",")]
            items = [re.sub(r"^(a|an) ", "", i) for i in items]
            assert len(items) == 3 and len(set(items)) == 3, s.text
            listed += 1
        names = [w for w in s.words if w in NAMES]
        assert len(names) == len(set(names)), s.text  # no "Tom ... Tom"
    assert listed >= 5 * 40


# --- API and determinism ------------------------------------------------------------------------

def test_all_sentences_is_stable_and_returns_a_copy() -> None:
    first = all_sentences("train")
    first.clear()
    assert all_sentences("train") == TRAIN
    with pytest.raises(BodyLanguageError, match="split"):
        all_sentences("test")


def test_sample_sentence_draws_from_the_split_reproducibly() -> None:
    a = [sample_sentence(np.random.default_rng(3), "heldout") for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(7)
    drawn = [sample_sentence(rng) for _ in range(200)]
    assert all(s.template in TRAIN_TEMPLATES for s in drawn)
    assert len({s.text for s in drawn}) > 150
    py_rng = random.Random(1)
    held = {sample_sentence(py_rng, "heldout").template for _ in range(200)}
    assert held <= set(HELDOUT_TEMPLATES) and len(held) > 6
    with pytest.raises(BodyLanguageError):
        sample_sentence(rng, "validation")


def _digest_in_subprocess(hash_seed: str) -> list:
    code = ("import json; from core.corpus.sentences import all_sentences; "
            "print(json.dumps([[s.text, s.emphasis, s.gestures, s.template] "
            "for split in ('train', 'heldout') for s in all_sentences(split)]))")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True)
    return json.loads(result.stdout)


def test_generation_does_not_depend_on_the_hash_seed() -> None:
    here = json.loads(json.dumps([[s.text, s.emphasis, s.gestures, s.template] for s in EVERY]))
    assert _digest_in_subprocess("1") == here
    assert _digest_in_subprocess("987654") == here
