"""Body Language add-on: registration only.

The add-on collects inputs and writes keyframes; the model runs in a separate worker process,
so nothing here imports torch.
"""

from __future__ import annotations


def _classes() -> tuple[type, ...]:
    # Imported on use, not at module import, so the plain-Python modules of this package
    # (runtime_paths, ...) can be imported and tested without bpy.
    from .preferences import BodyLanguagePreferences

    return (BodyLanguagePreferences,)


def register() -> None:
    import bpy

    for cls in _classes():
        bpy.utils.register_class(cls)


def unregister() -> None:
    import bpy

    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)
