"""The one error type the project raises for bad input, so callers catch one thing."""

from __future__ import annotations

from os import PathLike


class BodyLanguageError(Exception):
    """A problem the user can act on: a missing file, a malformed array, an empty clip.

    The message always says what is wrong and, when a file is involved, which file.
    """

    def __init__(self, message: str, path: str | PathLike | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)
