import re

import pytest
from file_errors import error_naming

from core.errors import BodyLanguageError
from core.io.textgrid import Interval, read_textgrid, read_word_tier, write_textgrid

# As Praat writes it ("Save as text file", less its trailing spaces, which the writer's
# round-trip tests cover), with a phone tier first so that picking the word tier
# by name is tested, a point tier, an escaped quote and a label that spans two lines.
LONG = """File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 2.5
tiers? <exists>
size = 3
item []:
    item [1]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 2.5
        intervals: size = 3
        intervals [1]:
            xmin = 0
            xmax = 0.35
            text = "HH"
        intervals [2]:
            xmin = 0.35
            xmax = 1.2
            text = "AY1"
        intervals [3]:
            xmin = 1.2
            xmax = 2.5
            text = ""
    item [2]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 2.5
        intervals: size = 4
        intervals [1]:
            xmin = 0
            xmax = 0.1
            text = ""
        intervals [2]:
            xmin = 0.1
            xmax = 1.2
            text = "say ""hi""\"
        intervals [3]:
            xmin = 1.2
            xmax = 1.9
            text = "two
lines"
        intervals [4]:
            xmin = 1.9
            xmax = 2.5
            text = "   "
    item [3]:
        class = "TextTier"
        name = "beats"
        xmin = 0
        xmax = 2.5
        points: size = 2
        points [1]:
            number = 0.5
            mark = "b1"
        points [2]:
            number = 1.75
            mark = "b2"
"""

# The same grid in Praat's short text format ("Save as short text file"), with a comment.
SHORT = """File type = "ooTextFile"
Object class = "TextGrid"

0
2.5
<exists>
3
"IntervalTier"
"phones"
0
2.5
3
0
0.35
"HH"
0.35
1.2
"AY1"
1.2
2.5
""
"IntervalTier"
"words"
0
2.5
4
0
0.1
""
0.1
1.2
"say ""hi""\"
1.2
1.9
"two
lines"
1.9
2.5
"   "
"TextTier" ! a point tier
"beats"
0
2.5
2
0.5
"b1"
1.75
"b2"
"""

EXPECTED = {
    "phones": [Interval(0, 0.35, "HH"), Interval(0.35, 1.2, "AY1"), Interval(1.2, 2.5, "")],
    "words": [
        Interval(0, 0.1, ""),
        Interval(0.1, 1.2, 'say "hi"'),
        Interval(1.2, 1.9, "two\nlines"),
        Interval(1.9, 2.5, "   "),
    ],
    "beats": [Interval(0.5, 0.5, "b1"), Interval(1.75, 1.75, "b2")],
}


@pytest.mark.parametrize("text", [LONG, SHORT], ids=["long", "short"])
@pytest.mark.parametrize(
    ("encoding", "newline"),
    [
        ("utf-8", "\n"),
        ("utf-8-sig", "\r\n"),
        ("utf-16", "\n"),  # Praat's own choice for non-ASCII text: big-endian with a BOM
        ("utf-16-be", "\n"),
        ("utf-16-le", "\r\n"),
    ],
)
def test_reads_both_formats_in_each_encoding(tmp_path, text, encoding, newline):
    path = tmp_path / "clip.TextGrid"
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    tiers = read_textgrid(path)
    assert tiers == EXPECTED
    assert list(tiers) == ["phones", "words", "beats"]


def test_reads_non_ascii_labels(tmp_path):
    path = tmp_path / "clip.TextGrid"
    path.write_bytes(LONG.replace("AY1", "ɑː").replace("say", "café").encode("utf-16"))
    tiers = read_textgrid(path)
    assert tiers["phones"][1].text == "ɑː"
    assert tiers["words"][1].text == 'café "hi"'


def test_word_tier_is_found_by_name_and_skips_empty_intervals(tmp_path):
    path = tmp_path / "clip.TextGrid"
    path.write_text(LONG)
    assert read_word_tier(path) == [
        Interval(0.1, 1.2, 'say "hi"'),
        Interval(1.2, 1.9, "two\nlines"),
    ]


def test_word_tier_falls_back_to_the_first_interval_tier(tmp_path):
    path = tmp_path / "clip.TextGrid"
    write_textgrid(
        path,
        {"transcript": [Interval(0.2, 0.6, "hello")], "other": [Interval(0, 1, "x")]},
        xmax=1.0,
    )
    assert read_word_tier(path) == [Interval(0.2, 0.6, "hello")]


@pytest.mark.parametrize("name", ["Word", "WORDS", "speaker1 - words"])
def test_word_tier_names(tmp_path, name):
    path = tmp_path / "clip.TextGrid"
    write_textgrid(
        path, {"phones": [Interval(0, 1, "AH")], name: [Interval(0, 1, "a")]}, xmax=1.0
    )
    assert read_word_tier(path) == [Interval(0, 1, "a")]


def test_word_tier_needs_an_interval_tier(tmp_path):
    path = tmp_path / "points.TextGrid"
    start = LONG.index("    item [3]:")
    only_points = LONG[:start].split("size = 3", 1)[0] + "size = 1\nitem []:\n" + LONG[start:]
    path.write_text(only_points)
    assert list(read_textgrid(path)) == ["beats"]
    with pytest.raises(BodyLanguageError, match="no interval tier"):
        read_word_tier(path)


def test_write_then_read_round_trips_word_and_phone_tiers(tmp_path):
    path = tmp_path / "out.TextGrid"
    duration = 2.0 / 3.0 + 1.1  # values that only survive if numbers are written exactly
    words = [
        Interval(0.1, 1 / 3, "hello"),
        Interval(1 / 3, 0.7, 'say "x"'),
        Interval(0.9, 1.5, "é"),
    ]
    phones = [
        Interval(0.0, 0.1, ""),
        Interval(0.1, 0.2, "HH"),
        Interval(0.2, 1 / 3, "AH0"),
        Interval(1 / 3, duration, "L"),
    ]

    write_textgrid(path, {"words": words, "phones": phones}, xmax=duration)

    tiers = read_textgrid(path)
    assert list(tiers) == ["words", "phones"]
    assert tiers["phones"] == phones  # already contiguous: comes back unchanged
    # Gaps are filled with empty intervals so Praat accepts the tier.
    assert tiers["words"] == [
        Interval(0.0, 0.1, ""),
        words[0],
        words[1],
        Interval(0.7, 0.9, ""),
        words[2],
        Interval(1.5, duration, ""),
    ]
    assert read_word_tier(path) == words
    assert path.read_text(encoding="utf-8").startswith('File type = "ooTextFile"\n')


def test_times_next_to_whole_seconds_and_padded_labels_survive(tmp_path):
    # Sums of durations can land an ulp above a whole second (0.05 + 0.55 + 0.3 + 0.1); a
    # writer that prints such times as integers or strips labels (praatio 6.2's does both)
    # loses them.
    path = tmp_path / "out.TextGrid"
    after_one, after_two = 1.0 + 2**-52, 2.0 + 2**-51
    words = [Interval(0.5, after_one, " sp "), Interval(after_one, after_two, "a ")]
    write_textgrid(path, {"words": words}, xmax=after_two)
    assert read_textgrid(path) == {"words": [Interval(0.0, 0.5, ""), *words]}


def test_written_file_is_the_long_format(tmp_path):
    path = tmp_path / "out.TextGrid"
    write_textgrid(path, {"words": [Interval(0, 0.5, "hi")]}, xmax=1.0)
    lines = path.read_text().splitlines()
    assert 'Object class = "TextGrid"' in lines
    assert "tiers? <exists> " in lines
    assert "        intervals [2]:" in lines
    assert '            text = "hi" ' in lines
    assert "            xmax = 1 " in lines


@pytest.mark.parametrize(
    ("tiers", "xmax", "message"),
    [
        ({"w": [Interval(0, 0.5, "a"), Interval(0.4, 0.8, "b")]}, 1.0, "overlaps"),
        ({"w": [Interval(0.5, 0.8, "b"), Interval(0.0, 0.4, "a")]}, 1.0, "sorted"),
        ({"w": [Interval(0.5, 1.5, "a")]}, 1.0, "leaves the span"),
        ({"w": [Interval(0.5, 0.5, "a")]}, 1.0, "xmin < xmax"),
        ({"w": [Interval(0.5, float("nan"), "a")]}, 1.0, "finite"),
        ({"w": []}, 0.0, "xmin < xmax"),
    ],
)
def test_write_refuses_bad_tiers(tmp_path, tiers, xmax, message):
    path = tmp_path / "bad.TextGrid"
    with error_naming(path, message):
        write_textgrid(path, tiers, xmax=xmax)
    assert not path.exists()


def test_empty_tier_is_written_as_one_empty_interval(tmp_path):
    path = tmp_path / "empty.TextGrid"
    write_textgrid(path, {"words": []}, xmax=2.0)
    assert read_textgrid(path) == {"words": [Interval(0, 2.0, "")]}
    assert read_word_tier(path) == []


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("broken", "line", "message"),
    [
        # A quote is never closed: the quotes pair up wrongly from there on, so the error points
        # at the first string that runs over several lines.
        (LONG.replace('text = "AY1"', 'text = "AY1'), line_of(LONG, '"AY1"'), "never closed"),
        # A number is replaced by a word.
        (LONG.replace("xmax = 1.2\n", "xmax = soon\n", 1), line_of(LONG, "xmax = 1.2\n"), "xmax"),
        # The tier promises more intervals than it holds: the next tier's class comes instead.
        (
            LONG.replace("intervals: size = 3", "intervals: size = 4"),
            line_of(LONG, '"IntervalTier"\n        name = "words"'),
            "interval 4 xmin",
        ),
        # An interval that ends before it starts.
        (LONG.replace("xmax = 0.35\n", "xmax = -1\n", 1), line_of(LONG, "xmax = 0.35\n"), "ends"),
        (LONG.replace('"IntervalTier"', '"Tier"', 1), line_of(LONG, '"IntervalTier"'),
         'class "Tier"'),
        (LONG.replace('"TextGrid"', '"Pitch"'), 2, "not a TextGrid"),
        (LONG.replace("<exists>", "<maybe>"), line_of(LONG, "<exists>"), "<maybe>"),
        (LONG.replace("size = 3\nitem", "size = 2.5\nitem"), line_of(LONG, "size = 3\nitem"),
         "whole number"),
        (LONG + '"extra"\n', LONG.count("\n") + 1, "after the last tier"),
        (LONG.replace("xmin = 0.35\n", "xmin = 0.35 #\n", 1), line_of(LONG, "xmin = 0.35\n"),
         "unexpected character '#'"),
        (LONG[: LONG.index("    item [3]:")], LONG[: LONG.index("    item [3]:")].count("\n"),
         "file ends"),
    ],
)
def test_malformed_files_report_file_and_line(tmp_path, broken, line, message):
    path = tmp_path / "broken.TextGrid"
    path.write_text(broken)
    with error_naming(path, message) as caught:
        read_textgrid(path)
    assert re.search(rf"\bline {line}\b", str(caught.value))


def test_short_format_errors_report_the_line(tmp_path):
    path = tmp_path / "broken.TextGrid"
    path.write_text(SHORT.replace('"b1"', "b1"))
    line = line_of(SHORT, '"b1"')
    with error_naming(path, f"line {line}: expected point 1 mark"):
        read_textgrid(path)


def test_duplicate_tier_names_are_an_error(tmp_path):
    path = tmp_path / "dupes.TextGrid"
    path.write_text(LONG.replace('"phones"', '"words"'))
    with pytest.raises(BodyLanguageError, match="several tiers named 'words'"):
        read_textgrid(path)


def test_undecodable_files(tmp_path):
    latin = tmp_path / "latin1.TextGrid"
    latin.write_bytes(LONG.replace("HH", "é").encode("latin-1"))
    with pytest.raises(BodyLanguageError, match="UTF-8 nor UTF-16"):
        read_textgrid(latin)

    empty = tmp_path / "empty.TextGrid"
    empty.write_bytes(b"")
    with pytest.raises(BodyLanguageError, match="file ends"):
        read_textgrid(empty)
