"""Reduced keys against every-frame keys on a generated performance, in headless Blender.

    .venv/bin/python bench/bench_key_reduction.py [--seconds 60] [--audio speech|none]
        [--seed 0] [--rotation-degrees 0.5] [--location-mm 1] [--face 0.005] [--foot-mm 2]

The shipped model (core.api.load_model) performs --seconds of speech: the real voices of
../shared/realspeech, one after another with half a second between them and repeated to length
(--audio none, or without that folder: generate(duration=...) with no audio). The performance is
written twice onto the Create Character rig with its body (52 face shape keys), with Keys: Every
Frame and Keys: Reduced, and the reduced curves are evaluated by Blender on every frame against
the every-frame keys: the worst rotation angle per bone, root location, face channel (custom
property and shape key), planted foot (the rig's foot bones, on the frames key_reduction finds
the foot on the floor) and mouth-closure frame. Prints figures; never passes or fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Keep Blender's user configuration out of the measurement (and untouched).
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="bench-blender-"))
sys.path.insert(0, str(ROOT))
# The F-curve collector the add-on's Blender tests use.
sys.path.insert(0, str(ROOT / "tests" / "blender_scripts"))

import bpy  # noqa: E402  (after the environment is set)
import numpy as np  # noqa: E402
from performance_curves import performance_curves  # noqa: E402

from blender_addon import key_reduction as kr  # noqa: E402
from blender_addon.keyframes import REDUCED, write_motion  # noqa: E402
from blender_addon.motion_arrays import MotionArrays  # noqa: E402
from blender_addon.rig import create_character  # noqa: E402
from blender_addon.skeleton_data import forward_kinematics  # noqa: E402

SPEECH = ROOT.parent / "shared" / "realspeech"
FEET = (("left_ankle", "left_foot"), ("right_ankle", "right_foot"))


def performance(seconds: float, audio: str, seed: int) -> tuple[MotionArrays, str]:
    """The shipped model's performance and a line saying what it performed."""
    from core import api
    from core.face_spaces import channel_names
    from core.io.audio import load_audio

    model = api.load_model()
    files = sorted(SPEECH.glob("*.wav")) if audio == "speech" else []
    if files:
        gap = np.zeros(8000, np.float32)
        voices = np.concatenate([part for path in files for part in (load_audio(path), gap)])
        samples = np.tile(voices, int(np.ceil(seconds * 16000 / len(voices))))
        motion = api.generate(model, audio=samples[:int(seconds * 16000)], seed=seed)
        what = f"{len(files)} real voices of {SPEECH.name} repeated to {seconds:g} s"
    else:
        motion = api.generate(model, duration=seconds, seed=seed)
        what = f"{seconds:g} s without audio"
    arrays = MotionArrays(motion.poses, motion.trans, motion.face,
                          channel_names(motion.face_space), motion.fps)
    return arrays, f"{model.name}, seed {seed}: {what}"


def key_values(fcurve: bpy.types.FCurve) -> np.ndarray:
    co = np.empty(2 * len(fcurve.keyframe_points), np.float32)
    fcurve.keyframe_points.foreach_get("co", co)
    return co[1::2].astype(np.float64)


def timed_write(armature: bpy.types.Object, motion: MotionArrays, **options: object) -> str:
    wall, cpu = time.perf_counter(), time.process_time()
    write_motion(armature, motion, start_frame=1, **options)
    return f"{time.perf_counter() - wall:.2f} s wall, {time.process_time() - cpu:.2f} s CPU"


def kind_of(name: str) -> str:
    if name.startswith("shape key "):
        return "shape keys"
    if "rotation_quaternion" in name:
        return "bone rotations"
    return "root location" if name.endswith(("location|0", "location|1", "location|2")) \
        else "face properties"


def played_pairs(every: dict, reduced: dict, frames: int) -> dict[str, tuple[np.ndarray, ...]]:
    """{curve: (every-frame keys, reduced curve evaluated by Blender on the same frames)}."""
    times = 1.0 + np.arange(frames)
    return {name: (key_values(fcurve), np.array([reduced[name].evaluate(t) for t in times]))
            for name, fcurve in every.items()}


def worst_errors(pairs: dict[str, tuple[np.ndarray, ...]]) -> dict[str, float]:
    """Worst error per channel kind: degrees per bone, millimetres of root, face units."""
    bones: dict[str, list] = {}
    worst: dict[str, float] = {}
    for name, (wanted, got) in pairs.items():
        kind = kind_of(name)
        if kind == "bone rotations":
            bones.setdefault(name.rsplit("|", 1)[0], []).append((wanted, got))
        elif kind == "root location":
            bones.setdefault("root", []).append((wanted, got))
        else:
            worst[kind] = max(worst.get(kind, 0.0), float(np.abs(got - wanted).max()))
    for bone, axes in bones.items():
        wanted, got = (np.stack([pair[i] for pair in axes], axis=-1)[None] for i in (0, 1))
        if bone == "root":
            worst["root location"] = 1000.0 * float(kr.curve_error(wanted, got).max())
        else:
            angle = float(np.degrees(kr.curve_error(wanted, got, kr.ANGLE).max()))
            worst["bone rotations"] = max(worst.get("bone rotations", 0.0), angle)
    return worst


def feet_off(every: bpy.types.Object, reduced: bpy.types.Object, motion: MotionArrays
             ) -> tuple[float, float]:
    """(mm, share of frames): the worst distance between the two rigs' foot bones (heads and
    tails) on the frames key_reduction finds that foot planted, and how many those are."""
    positions, _ = forward_kinematics(motion.poses, motion.trans)
    planted = kr.planted_frames(positions)
    scene = bpy.context.scene
    worst = 0.0
    for frame in range(motion.num_frames):
        scene.frame_set(frame + 1)
        for side, names in enumerate(FEET):
            if not planted[frame, side]:
                continue
            for name in names:
                a, b = every.pose.bones[name], reduced.pose.bones[name]
                for end in ("head", "tail"):
                    gap = (every.matrix_world @ getattr(a, end)
                           - reduced.matrix_world @ getattr(b, end)).length
                    worst = max(worst, gap)
    return 1000.0 * worst, float(planted.any(axis=1).mean())


def closures_off(pairs: dict[str, tuple[np.ndarray, ...]], motion: MotionArrays
                 ) -> tuple[int, float]:
    """(mouth closures, the worst difference on their frames of the jaw and mouth curves)."""
    names = list(motion.face_names)
    openness = (motion.face[:, names.index("jawOpen")] if "jawOpen" in names
                else np.linalg.norm(motion.poses[:, 22], axis=-1))
    closes = kr.closure_frames(openness)
    paths = ['pose.bones["jaw"]'] + [f'"{prefix}{channel}"' for channel in names
                                     if kr.is_mouth_channel(channel)
                                     for prefix in ("bl_face_", "")]
    mouth = [name for name in pairs if any(path in name for path in paths)]
    if not closes.any() or not mouth:
        return int(closes.sum()), 0.0
    return int(closes.sum()), max(float(np.abs(got[closes] - wanted[closes]).max())
                                  for wanted, got in (pairs[name] for name in mouth))


def report(every: dict, reduced: dict, worst: dict[str, float], tolerances: kr.Tolerances
           ) -> None:
    limits = {"bone rotations": (tolerances.rotation_degrees, "degrees"),
              "root location": (1000.0 * tolerances.location_m, "mm"),
              "face properties": (tolerances.face, ""), "shape keys": (tolerances.face, "")}
    print(f"  {'curves':<16} {'count':>6} {'keys before':>12} {'keys after':>11} {'factor':>7}"
          f"   worst error (tolerance)")
    rows = sorted({kind_of(name) for name in every}, key=list(limits).index)
    for kind in [*rows, "all"]:
        names = [n for n in every if kind in ("all", kind_of(n))]
        before = sum(len(every[n].keyframe_points) for n in names)
        after = sum(len(reduced[n].keyframe_points) for n in names)
        error = ""
        if kind in worst:
            limit, unit = limits[kind]
            error = f"{worst[kind]:.4g} {unit} ({limit:g})".replace("  ", " ")
        print(f"  {kind:<16} {len(names):>6} {before:>12,} {after:>11,} {before / after:>6.1f}x"
              f"   {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--audio", choices=("speech", "none"), default="speech")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rotation-degrees", type=float, default=0.5)
    parser.add_argument("--location-mm", type=float, default=1.0)
    parser.add_argument("--face", type=float, default=0.005)
    parser.add_argument("--foot-mm", type=float, default=2.0)
    args = parser.parse_args()
    tolerances = kr.Tolerances(args.rotation_degrees, args.location_mm / 1000.0, args.face,
                               args.foot_mm / 1000.0)
    motion, what = performance(args.seconds, args.audio, args.seed)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    every, reduced = create_character("Every"), create_character("Reduced")
    print(f"Blender {bpy.app.version_string}, {what}: {motion.num_frames} frames at 30 fps")
    print(f"  write_motion, Every Frame: {timed_write(every, motion)}; Reduced: "
          f"{timed_write(reduced, motion, key_mode=REDUCED, tolerances=tolerances)}")
    old, new = (performance_curves(every, "shape key "),
                performance_curves(reduced, "shape key "))
    pairs = played_pairs(old, new, motion.num_frames)
    report(old, new, worst_errors(pairs), tolerances)
    foot, planted = feet_off(every, reduced, motion)
    closes, mouth = closures_off(pairs, motion)
    print(f"  planted feet ({planted:.0%} of frames): foot bones within {foot:.3f} mm "
          f"({1000 * tolerances.planted_foot_m:g}); {closes} mouth closures: jaw and mouth "
          f"curves within {mouth:.2g} of every frame there")


if __name__ == "__main__":
    main()
