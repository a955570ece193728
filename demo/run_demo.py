"""The demo scene, built in headless Blender (bpy) the way a user builds it in the UI.

    .venv/bin/python demo/run_demo.py --extension ZIP --worker-python PY --model DIR --out DIR

`python build.py demo` runs this with everything prepared; run by hand, give it the extension zip
from `python build.py extension` and a fresh BLENDER_USER_RESOURCES folder, because installing
the extension writes to that Blender user folder.

Steps: install and enable the extension, point its preferences at the worker Python and the
model, put the two speakers' lines on the Sequencer (two_speakers.py: Ben, Anna, Ben, Anna, a
channel each), time an action on Anna's last line with timeline markers (--timed-action), Create
Character for each where it stands, with its prompt and transcript, Bind Speakers, Generate each
in turn (in background mode the operator runs its job to the end), save the .blend and render a
contact sheet of the animation. Nothing here imports torch or the model core: generation happens
in the add-on's worker process, as in Blender.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import bpy
from preview_render import render_contact_sheet, stage_scene
from two_speakers import FPS, add_conversation, cursor_for, last_line_of, place_character

EXTENSION_MODULE = "bl_ext.user_default.body_language"
_started = time.monotonic()


def progress(message: str) -> None:
    print(f"[demo {time.monotonic() - _started:5.1f}s] {message}", flush=True)


class DemoError(Exception):
    """A step failed in a way the user can act on; the message is one line."""


def install_extension(zip_path: Path, worker_python: Path, model_dir: Path) -> None:
    """Install the built extension as Blender's "Install from Disk" does, then set its
    preferences (the same fields as Preferences > Add-ons > Body Language)."""
    bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                             enable_on_install=True)
    addon = bpy.context.preferences.addons.get(EXTENSION_MODULE)
    if addon is None:
        raise DemoError(f"installing {zip_path} did not enable {EXTENSION_MODULE}")
    addon.preferences.worker_python = str(worker_python)
    addon.preferences.checkpoint = str(model_dir)


def add_timed_action(scene: bpy.types.Scene, strip: bpy.types.Strip, action: str,
                     span: tuple[float, float]) -> list[bpy.types.TimelineMarker]:
    """A `bl: <action>` marker where the action starts and a bare `bl:` marker where it ends,
    seconds counted from the start of the strip's file (a cut strip starts later in it), as a
    user times an action on the timeline."""
    start, end = (round(strip.frame_start + seconds * scene.render.fps) for seconds in span)
    return [scene.timeline_markers.new(f"bl: {action}", frame=start),
            scene.timeline_markers.new("bl:", frame=end)]


def create_character(name: str, prompt: str, transcript: str) -> bpy.types.Object:
    """Create Character at the 3D cursor, turned toward the other speaker, then the prompt and
    transcript as typed into the panel."""
    bpy.context.scene.cursor.location = cursor_for(name)
    bpy.ops.body_language.create_character(name=name)
    armature = bpy.context.scene.body_language.target
    place_character(armature)
    settings = armature.body_language
    settings.prompt = prompt
    text = bpy.data.texts.new(f"{name} transcript")
    text.from_string(transcript)
    settings.transcript = text
    return armature


def bind_speakers() -> None:
    """Press Bind Speakers: each character gets the strips that name it."""
    if bpy.ops.body_language.bind_speakers() != {"FINISHED"}:
        raise DemoError("Bind Speakers bound no character (its report is above)")


def generate() -> str:
    """Press Generate; the add-on's worker runs the model. Returns the add-on's report."""
    try:
        result = bpy.ops.body_language.generate()
    except RuntimeError:
        # An operator that reports an error raises here; its report says what went wrong.
        result = {"CANCELLED"}
    report = bpy.context.window_manager.body_language_job.last_report
    if result != {"FINISHED"}:
        raise DemoError(report)
    return report


def shut_down_worker() -> None:
    # The worker holds the model in memory; stop it before this process exits.
    importlib.import_module(EXTENSION_MODULE + ".runtime").shutdown_shared()


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extension", type=Path, required=True, help="the built extension zip")
    parser.add_argument("--worker-python", type=Path, required=True,
                        help="a Python with torch (the project's .venv)")
    parser.add_argument("--model", type=Path, required=True, help="model folder (model.json)")
    parser.add_argument("--speaker", nargs=4, action="append", required=True,
                        metavar=("NAME", "WAV", "TRANSCRIPT", "PROMPT"),
                        help="a character, its lines' wav and transcript and what it does "
                             "(Anna and Ben, see two_speakers.py)")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for demo.blend and demo_preview.png")
    parser.add_argument("--resolution", type=parse_size, default=(480, 360),
                        help="one preview frame, WIDTHxHEIGHT")
    parser.add_argument("--samples", type=int, default=16, help="Cycles samples per frame")
    parser.add_argument("--timed-action", nargs=3, metavar=("TEXT", "START", "END"),
                        help="an action timed on the first speaker's last line (seconds into its "
                             "wav) with `bl:` timeline markers; needs a masked model")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    blend_path = args.out / "demo.blend"
    preview_path = args.out / "demo_preview.png"

    # An empty scene: no default cube, camera or light.
    bpy.ops.wm.read_factory_settings(use_empty=True)
    progress(f"installing the extension {args.extension.name}")
    install_extension(args.extension, args.worker_python, args.model)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    strips = add_conversation(scene, {name: Path(wav) for name, wav, _, _ in args.speaker})
    progress(", ".join(f"'{s.name}' (channel {s.channel}) at frames {s.frame_final_start}-"
                       f"{s.frame_final_end - 1}" for s in strips))
    if args.timed_action:
        text, start, end = args.timed_action
        line = last_line_of(strips, args.speaker[0][0])
        markers = add_timed_action(scene, line, text, (float(start), float(end)))
        progress("timeline markers " + ", ".join(f"'{m.name}' at frame {m.frame}"
                                                  for m in markers))
    armatures = []
    for name, _, transcript, prompt in args.speaker:
        armatures.append(create_character(name, prompt, Path(transcript).read_text().strip()))
        progress(f"created {name}; prompt: {prompt!r}")
    bind_speakers()
    progress(f"generating with the model in {args.model}")
    try:
        for armature in armatures:
            scene.body_language.target = armature
            progress(generate())
    finally:
        shut_down_worker()

    stage_scene(scene, armatures, args.resolution, args.samples)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend_path.resolve()))
    progress(f"saved {blend_path}")
    frames = render_contact_sheet(scene, preview_path, progress)
    progress(f"rendered frames {', '.join(map(str, frames))} into {preview_path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except DemoError as exc:
        print(f"[demo] {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
