"""The eight BEAT2 emotions; defined in core/shared/emotions.py, which the Blender add-on shares,
and re-exported here under their usual name."""

from __future__ import annotations

from core.shared.emotions import EMOTIONS

__all__ = ["EMOTIONS"]
