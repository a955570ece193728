"""The command line: every command answers --help, and bad input ends in one clear line."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("command, expected", [
    (("corpus", "build"), "--hours"),
    (("corpus", "preview"), "--data"),
    (("train", "tokenizers"), "--which"),
    (("train", "lm"), "--tokenizers"),
    (("eval",), "--systems"),
])
def test_every_command_explains_itself(command, expected):
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


@pytest.mark.parametrize("command", [
    ("corpus", "preview", "--data", "{missing}", "--out", "{tmp}/p.png"),
    ("train", "tokenizers", "--data", "{missing}", "--out", "{tmp}/t", "--which", "audio"),
    ("train", "lm", "--data", "{missing}", "--tokenizers", "{missing}", "--out", "{tmp}/lm"),
    ("corpus", "build", "--hours", "-1", "--out", "{tmp}/c"),
])
def test_bad_input_is_one_line_not_a_traceback(command, tmp_path):
    missing = str(tmp_path / "no-such-corpus")
    args = [part.format(missing=missing, tmp=tmp_path) for part in command]
    result = run(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error:")
