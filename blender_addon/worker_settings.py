"""The model runtime the add-on's preferences name: which worker Python and core, which model
folder and device a job asks for."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy

from .motion_arrays import AddonInputError
from .runtime import WorkerClient, shared_client
from .runtime_paths import SETUP_HINT, resolve_runtime

ADDON_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class RuntimeConfig:
    python: Path
    core_root: Path
    checkpoint: Path | None
    device: str


def addon_preferences(context: Any) -> Any | None:
    addon = context.preferences.addons.get(__package__)
    return None if addon is None else addon.preferences


def runtime_config(context: Any) -> RuntimeConfig:
    """The worker runtime the preferences point at, or AddonInputError saying what to fix."""
    prefs = addon_preferences(context)
    python = bpy.path.abspath(prefs.worker_python) if prefs else ""
    checkpoint = bpy.path.abspath(prefs.checkpoint) if prefs else ""
    status = resolve_runtime(python, checkpoint, ADDON_DIR, os.environ)
    if not status.ready:
        advice = "" if status.python is not None else f" {SETUP_HINT}"
        raise AddonInputError("The model runtime is not ready: " + " ".join(status.problems)
                              + advice)
    return RuntimeConfig(status.python, status.core_root, status.checkpoint,
                         prefs.device if prefs else "auto")


def _log_worker_line(line: str) -> None:
    print(f"[Body Language worker] {line}", flush=True)


def worker_for(config: RuntimeConfig) -> WorkerClient:
    return shared_client(config.python, config.core_root, log=_log_worker_line)


def model_spec(config: RuntimeConfig) -> dict[str, Any]:
    return {"checkpoint": None if config.checkpoint is None else str(config.checkpoint),
            "device": config.device}
