"""The worker's model (core/worker.py): loaded on request, kept between requests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import BodyLanguageError
from core.worker_errors import RequestError


def core_api() -> Any:
    try:
        import core.api as api
    except ImportError as exc:
        raise RequestError(f"the worker Python cannot load the model core: {exc}.",
                           "runtime") from None
    return api


@dataclass
class ModelSlot:
    """The loaded model (kept between requests) and what it was loaded from."""

    model: Any = None
    checkpoint: str | None = None
    device: str | None = None

    def info(self) -> dict[str, Any] | None:
        if self.model is None:
            return None
        info = {"checkpoint": self.checkpoint or "default", "device": self.device}
        for name in ("face_space", "config_name", "name"):
            value = getattr(self.model, name, None)
            if isinstance(value, str | int | float):
                info[name] = value
        return info

    def ensure(self, checkpoint: str | None, device: str,
               report: Callable[[float, str], None]) -> Any:
        if device not in ("auto", "cpu", "cuda"):
            raise RequestError(f"unknown device {device!r}; expected auto, cpu or cuda")
        if self.model is not None and (checkpoint, device) == (self.checkpoint, self.device):
            return self.model
        api = core_api()
        report(0.0, "Loading the model")
        self.model = None
        try:
            self.model = api.load_model(checkpoint, device=device)
        except BodyLanguageError as exc:
            raise RequestError(f"cannot load the model: {exc}") from None
        self.checkpoint, self.device = checkpoint, device
        return self.model


def requested_model(request: Mapping[str, Any], slot: ModelSlot) -> tuple[str | None, str]:
    spec = request.get("model")
    if spec is None:
        if slot.model is None:
            raise RequestError("no model is loaded: send `load` first or give `model`")
        return slot.checkpoint, slot.device or "auto"
    if not isinstance(spec, Mapping):
        raise RequestError("`model` must be an object {checkpoint, device}")
    checkpoint = spec.get("checkpoint") or None
    if checkpoint is not None and not isinstance(checkpoint, str):
        raise RequestError("model checkpoint must be a path")
    return checkpoint, str(spec.get("device") or "auto")
