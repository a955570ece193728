"""Checks that an error names the file it is about."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.errors import BodyLanguageError


@contextmanager
def error_naming(
    path: str | os.PathLike, match: str | None = None
) -> Iterator[pytest.ExceptionInfo]:
    """Expect the block to raise a BodyLanguageError whose message matches `match` (a regex, as
    pytest.raises takes it) and whose .path is `path`; gives pytest's ExceptionInfo."""
    with pytest.raises(BodyLanguageError, match=match) as caught:
        yield caught
    assert caught.value.path == str(path)
