"""Body Language add-on: registration only.

The add-on collects inputs and writes keyframes; the model runs in a separate worker process,
so nothing here imports torch.
"""

from __future__ import annotations


def _classes() -> tuple[type, ...]:
    # Imported on use, not at module import, so the plain-Python modules of this package
    # (runtime_paths, runtime, ...) can be imported and tested without bpy.
    from . import export, operators, panel
    from .preferences import CLASSES as PREFERENCE_CLASSES

    return (*PREFERENCE_CLASSES, *operators.CLASSES, *export.CLASSES, *panel.CLASSES)


def register() -> None:
    import bpy

    from . import properties

    properties.register()
    for cls in _classes():
        bpy.utils.register_class(cls)


def unregister() -> None:
    import bpy

    from . import jobs, properties, runtime

    job = jobs.active_job()
    if job is not None:
        job.cancel()
    jobs.set_active(None)
    # The worker holds the model in memory; it goes with the add-on.
    runtime.shutdown_shared()
    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)
    properties.unregister()
