"""Every file reader names a missing file in a BodyLanguageError."""

import pytest
from file_errors import error_naming

from core.io.audio import load_audio
from core.io.beat2 import read_motion_npz
from core.io.textgrid import read_textgrid


@pytest.mark.parametrize("read, name", [
    (load_audio, "missing.wav"),
    (read_motion_npz, "missing.npz"),
    (read_textgrid, "missing.TextGrid"),
], ids=["audio", "motion", "textgrid"])
def test_a_missing_file_is_named(tmp_path, read, name):
    path = tmp_path / name
    with error_naming(path, "not found"):
        read(path)
