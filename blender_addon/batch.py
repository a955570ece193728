"""Headless batch animation: every speaker of a .blend, or a folder of audio files onto a rig.

In Blender (the add-on installed and enabled):
    blender -b scene.blend --python-expr "import bl_ext.user_default.body_language.batch as b; \
b.main()" -- --out animated.blend
With Blender as a Python module, from a checkout:
    python -m blender_addon.batch scene.blend --out animated.blend
    python -m blender_addon.batch --audio-dir lines/ --rig rig.blend --out-dir animated/

Speakers of a .blend are its armatures bound to audio (chosen sound strips or a file, set in the
panel); a file with a single armature and no binding uses all its sound strips. Each speaker is
generated from its own audio only; one failure does not stop the others, and a summary closes
the run. The exit status is 0 when every speaker was animated, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy

from . import jobs
from .motion_arrays import AddonInputError
from .runtime import WorkerError
from .scene_audio import sound_strips
from .scene_inputs import build_generate_request
from .speakers import bind_speakers, mixing_warning, several_speakers
from .worker_settings import addon_preferences, model_spec, runtime_config, worker_for

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
Printer = Callable[[str], None]


def _print(line: str) -> None:
    print(f"[Body Language batch] {line}", flush=True)


@dataclass
class BatchSummary:
    animated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    saved: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and bool(self.animated)

    def lines(self) -> list[str]:
        lines = [f"{len(self.animated)} animated, {len(self.failed)} failed"]
        lines += [f"  ok      {name}" for name in self.animated]
        lines += [f"  FAILED  {name}: {reason}" for name, reason in self.failed]
        lines += [f"  saved   {path}" for path in self.saved]
        return lines


def ensure_registered() -> None:
    """Register the add-on when this runs in a plain bpy module rather than in Blender."""
    if hasattr(bpy.types.Object, "body_language"):
        return
    import addon_utils

    addon_utils.enable(__package__, default_set=True, handle_error=None)
    if not hasattr(bpy.types.Object, "body_language"):
        raise SystemExit(f"cannot enable the add-on {__package__}")


def configure(python: str | None, checkpoint: str | None, device: str | None) -> None:
    prefs = addon_preferences(bpy.context)
    if prefs is None:
        return
    if python:
        prefs.worker_python = python
    if checkpoint:
        prefs.checkpoint = checkpoint
    if device:
        prefs.device = device


def _is_bound(settings: Any) -> bool:
    return (settings.audio_source == "STRIPS" and len(settings.strips) > 0) or (
        settings.audio_source == "FILE" and bool(settings.audio_file))


def speakers(scene: Any, printer: Printer = _print) -> list[Any]:
    """The scene's armatures bound to audio; a lone unbound armature uses all sound strips.

    When no armature is bound and there are several, and the strips hold several speakers, each
    armature is first bound to its own strips as Bind Speakers does (the pairing is printed); a
    lone armature that mixes several speakers is warned about.
    """
    armatures = [obj for obj in scene.objects if obj.type == "ARMATURE"]
    strips = sound_strips(scene)
    if not any(_is_bound(armature.body_language) for armature in armatures):
        if len(armatures) > 1 and several_speakers(strips):
            printer(f"bound speakers: {bind_speakers(scene).summary()}")
        elif len(armatures) == 1 and mixing_warning(strips):
            printer(f"warning: {armatures[0].name}: {mixing_warning(strips)}")
    bound = [armature for armature in armatures if _is_bound(armature.body_language)]
    if not bound and len(armatures) == 1:
        return armatures
    return sorted(bound, key=lambda obj: obj.name)


def animate(scene: Any, armature: Any, printer: Printer = _print, label: str = "") -> str:
    """Generate one speaker in the blocking way; returns the report or raises with the reason."""
    config = runtime_config(bpy.context)
    client = worker_for(config)
    request = build_generate_request(scene, armature, client)
    job = jobs.GenerateJob(client, request, model_spec(config))
    last = [-1.0]

    def progress(fraction: float, message: str) -> None:
        # One line per ten per cent keeps logs readable for long clips.
        if fraction - last[0] >= 0.1 or fraction >= 1.0:
            last[0] = fraction
            printer(f"{label}{armature.name}: {fraction:4.0%} {message}")

    state = job.run(on_progress=progress)
    if state != jobs.FINISHED:
        raise AddonInputError(job.report)
    return job.report


def animate_scene(scene: Any, printer: Printer = _print,
                  summary: BatchSummary | None = None) -> BatchSummary:
    """Animate every speaker of `scene`, each from its own audio."""
    summary = summary or BatchSummary()
    found = speakers(scene)
    if not found:
        summary.failed.append((scene.name, "no armature bound to audio (bind each speaker's "
                               "strips in the Body Language panel)"))
        return summary
    for index, armature in enumerate(found, 1):
        label = f"[{index}/{len(found)}] "
        started = time.monotonic()
        try:
            report = animate(scene, armature, printer, label)
        except (AddonInputError, WorkerError) as exc:
            summary.failed.append((armature.name, str(exc)))
            printer(f"{label}{armature.name}: failed: {exc}")
        else:
            summary.animated.append(armature.name)
            printer(f"{label}{report} ({time.monotonic() - started:.1f} s)")
    return summary


def _save(path: Path, summary: BatchSummary) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    summary.saved.append(str(path))


def run_blend(out: Path | None, printer: Printer = _print) -> BatchSummary:
    """The open .blend: animate its speakers and save it (to `out`, else beside it)."""
    summary = animate_scene(bpy.context.scene, printer)
    if summary.animated:
        current = Path(bpy.data.filepath or os.path.abspath("animated.blend"))
        _save(out or current.with_name(current.stem + "_animated.blend"), summary)
    return summary


def _load_rig(rig: Path | None) -> Any:
    """A fresh file holding the rig: the armature of `rig`'s .blend, or a created character."""
    if rig is None:
        bpy.ops.wm.read_homefile(use_empty=True)
        from .rig import create_character

        return create_character("BL Character")
    bpy.ops.wm.open_mainfile(filepath=str(rig))
    armatures = [obj for obj in bpy.context.scene.objects if obj.type == "ARMATURE"]
    if len(armatures) != 1:
        raise AddonInputError(f"{rig}: a rig file needs exactly one armature, found "
                              f"{len(armatures)}")
    return armatures[0]


def run_folder(audio_dir: Path, rig: Path | None, out_dir: Path,
               printer: Printer = _print) -> BatchSummary:
    """Each audio file in `audio_dir` onto a fresh copy of the rig, saved as <stem>.blend."""
    summary = BatchSummary()
    files = sorted(path for path in audio_dir.iterdir() if path.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        summary.failed.append((str(audio_dir), "no audio files (wav, flac, ogg, mp3)"))
        return summary
    for index, audio in enumerate(files, 1):
        label = f"[{index}/{len(files)}] {audio.name} "
        try:
            armature = _load_rig(rig)
            scene = bpy.context.scene
            settings = armature.body_language
            settings.audio_source = "FILE"
            settings.audio_file = str(audio)
            settings.audio_start_frame = scene.frame_start
            report = animate(scene, armature, printer, label)
        except (AddonInputError, WorkerError) as exc:
            summary.failed.append((audio.name, str(exc)))
            printer(f"{label}failed: {exc}")
            continue
        summary.animated.append(audio.name)
        printer(f"{label}{report}")
        _save(out_dir / f"{audio.stem}.blend", summary)
    return summary


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="body_language.batch",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("blend", nargs="?", type=Path,
                        help="the .blend to animate (inside Blender: the open file)")
    parser.add_argument("--out", type=Path, help="where to save the animated .blend")
    parser.add_argument("--audio-dir", type=Path, help="animate each audio file of this folder")
    parser.add_argument("--rig", type=Path, help="with --audio-dir: a .blend with one armature "
                        "(default: a created SMPL-X character)")
    parser.add_argument("--out-dir", type=Path, help="with --audio-dir: where the .blend files go")
    parser.add_argument("--python", help="worker Python (default: the add-on's preferences)")
    parser.add_argument("--checkpoint", help="model checkpoint (default: the shipped one)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"))
    args = parser.parse_args(list(argv))
    if args.audio_dir is not None and args.out_dir is None:
        parser.error("--audio-dir needs --out-dir")
    # Blender resolves relative paths against $PWD, which a launcher may not have updated
    # (Python's own working folder is the true one), so every path is made absolute here.
    for name in ("blend", "out", "audio_dir", "rig", "out_dir"):
        value = getattr(args, name)
        if value is not None:
            setattr(args, name, Path(os.path.abspath(value)))
    return args


def main(argv: Sequence[str] | None = None, printer: Printer = _print) -> int:
    if argv is None:
        # Inside Blender the script's own arguments follow "--".
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    try:
        args = parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and 2
    ensure_registered()
    configure(args.python, args.checkpoint, args.device)
    try:
        if args.audio_dir is not None:
            summary = run_folder(args.audio_dir, args.rig, args.out_dir, printer)
        else:
            if args.blend is not None:
                bpy.ops.wm.open_mainfile(filepath=str(args.blend))
            summary = run_blend(args.out, printer)
    finally:
        from .runtime import shutdown_shared

        shutdown_shared()
    for line in summary.lines():
        printer(line)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
