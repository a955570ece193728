"""The one error type the project raises for bad input; defined in core/shared/errors.py, which
the Blender add-on shares, and re-exported here under its usual name."""

from __future__ import annotations

from core.shared.errors import BodyLanguageError

__all__ = ["BodyLanguageError"]
