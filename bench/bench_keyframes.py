"""Keyframe writing speed: the add-on's bulk writer against per-key `keyframe_insert`.

Writes a synthetic motion of --seconds (default 60 s at 30 fps) onto the 55 bones of the
Create Character armature, in the Blender of the interpreter that runs this script:

    .venv/bin/python bench/bench_keyframes.py            # bpy 5.0
    .venv-bpy42/bin/python bench/bench_keyframes.py      # bpy 4.2 LTS

The bulk writer is timed twice: on the motion without face channels, which keys exactly what the
per-key side inserts (rotation_quaternion of the 55 bones and the pelvis location), so that ratio
compares like with like; and on the full motion, which also keys 52 face channels as custom
properties. Both include retargeting and building the per-part actions and NLA tracks; the
per-key side is handed finished quaternions and pays only for its inserts.

Each side runs on a fresh armature; the bulk writer's best of --repeat runs (default 3) is
compared, the per-key side's best of --per-key-repeat runs (default 1: one run lasts minutes and
averages over 400,000 inserts). Wall time and process CPU time are both reported: on a loaded
machine CPU time is the steadier of the two. Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Keep Blender's user configuration out of the measurement (and untouched).
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="bench-blender-"))
sys.path.insert(0, str(ROOT))

import bpy  # noqa: E402  (after the environment is set)
import numpy as np  # noqa: E402

from blender_addon.actions import ActionBuilder, action_fcurves  # noqa: E402
from blender_addon.keyframes import write_motion  # noqa: E402
from blender_addon.motion_arrays import MotionArrays  # noqa: E402
from blender_addon.rig import create_character  # noqa: E402
from blender_addon.skeleton_data import JOINT_NAMES  # noqa: E402


def synthetic_motion(frames: int, seed: int = 0) -> MotionArrays:
    """Every joint swaying on two sinusoids, the root walking, 52 face channels moving."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None] / 30.0
    freq = rng.uniform(0.2, 1.5, (2, 55, 3))
    phase = rng.uniform(0, 2 * np.pi, (2, 55, 3))
    poses = 0.3 * np.sin(2 * np.pi * freq[0] * t + phase[0]) + 0.1 * np.sin(
        2 * np.pi * freq[1] * t + phase[1])
    trans = np.zeros((frames, 3))
    trans[:, 2] = np.arange(frames) * 0.01
    face = 0.5 + 0.4 * np.sin(np.arange(frames)[:, None] / 7.0 + np.arange(52))
    return MotionArrays(poses, trans, face, [f"channel{i:02d}" for i in range(52)])


@dataclass(frozen=True)
class Timing:
    """Seconds of wall-clock and of process CPU time."""

    wall: float
    cpu: float

    @staticmethod
    def best(runs: list[Timing]) -> Timing:
        return Timing(min(run.wall for run in runs), min(run.cpu for run in runs))


def timed(action: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def keys_on_tracks(armature: bpy.types.Object) -> int:
    """Keyframes in the actions of the armature's NLA strips."""
    return sum(len(fcurve.keyframe_points) for track in armature.animation_data.nla_tracks
               for strip in track.strips for fcurve in action_fcurves(strip.action))


def time_bulk(motion: MotionArrays, name: str) -> tuple[Timing, Timing, int]:
    """(write_motion, the F-curve filling inside it, keys written) on a fresh armature."""
    armature = create_character(f"Bulk {name}", with_body=False)
    filling = [0.0, 0.0]
    real_add_curve = ActionBuilder.add_curve

    def timed_add_curve(self, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return real_add_curve(self, *args, **kwargs)
        finally:
            filling[0] += time.perf_counter() - wall
            filling[1] += time.process_time() - cpu

    ActionBuilder.add_curve = timed_add_curve
    try:
        total = timed(lambda: write_motion(armature, motion, start_frame=1))
    finally:
        ActionBuilder.add_curve = real_add_curve
    return total, Timing(*filling), keys_on_tracks(armature)


def time_keyframe_insert(motion: MotionArrays, quaternions: np.ndarray, run: int) -> Timing:
    """Per-key inserts of the same channels: rotation_quaternion on 55 bones, pelvis location."""
    armature = create_character(f"PerKey{run}", with_body=False)
    armature.animation_data_create()
    armature.animation_data.action = bpy.data.actions.new(f"PerKey{run}")
    bones = [armature.pose.bones[name] for name in JOINT_NAMES]

    def insert_every_key() -> None:
        for frame in range(motion.num_frames):
            for index, bone in enumerate(bones):
                bone.rotation_quaternion = quaternions[frame, index]
                bone.keyframe_insert("rotation_quaternion", frame=frame + 1, group=bone.name)
            bones[0].location = motion.trans[frame]
            bones[0].keyframe_insert("location", frame=frame + 1, group=bones[0].name)

    return timed(insert_every_key)


@dataclass(frozen=True)
class BulkResult:
    """The bulk writer's best runs on one motion: the whole call and the F-curve filling in it."""

    label: str
    whole: Timing
    filling: Timing
    keys: int


def best_bulk(label: str, motion: MotionArrays, repeat: int) -> BulkResult:
    runs = [time_bulk(motion, f"{label}{run}") for run in range(max(1, repeat))]
    return BulkResult(label, Timing.best([total for total, _filling, _keys in runs]),
                      Timing.best([filling for _total, filling, _keys in runs]), runs[0][2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="motion length (30 fps)")
    parser.add_argument("--repeat", type=int, default=3, help="bulk writer runs (best counts)")
    parser.add_argument("--per-key-repeat", type=int, default=1,
                        help="keyframe_insert runs (best counts)")
    args = parser.parse_args()
    frames = int(round(args.seconds * 30))
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    motion = synthetic_motion(frames)
    bone_keys_only = MotionArrays(motion.poses, motion.trans, fps=motion.fps)
    keys = frames * (55 * 4 + 3)

    bulk = (best_bulk("bone keys only", bone_keys_only, args.repeat),
            best_bulk("with face channels", motion, args.repeat))
    # The per-key path gets the quaternions the bulk path computed, so it only pays for keys.
    from blender_addon.quaternions import axis_angle_to_quaternion

    quaternions = axis_angle_to_quaternion(motion.poses)
    per_key_runs = max(1, args.per_key_repeat)
    per_key = Timing.best([time_keyframe_insert(motion, quaternions, run)
                           for run in range(per_key_runs)])

    print(f"Blender {bpy.app.version_string}: {args.seconds:g} s at 30 fps = {frames} frames, "
          f"55 bones: {keys:,} bone keys (rotation_quaternion x 55, pelvis location)")
    print(f"  best of {max(1, args.repeat)} write_motion run(s) per motion, {per_key_runs} "
          "keyframe_insert run(s)       wall        CPU")
    rows = ((f"write_motion, bone keys only ({bulk[0].keys:,} keys):", bulk[0].whole),
            ("  of which F-curve filling:", bulk[0].filling),
            (f"write_motion, with face ({bulk[1].keys:,} keys):", bulk[1].whole),
            ("  of which F-curve filling:", bulk[1].filling),
            ("keyframe_insert, bone keys only:", per_key))
    for label, timing in rows:
        print(f"  {label:<50} {timing.wall:8.3f} s {timing.cpu:8.3f} s")
    for result in bulk:
        for label, attribute in (("wall", "wall"), ("CPU", "cpu")):
            whole = getattr(per_key, attribute) / getattr(result.whole, attribute)
            fill = getattr(per_key, attribute) / getattr(result.filling, attribute)
            print(f"  speed-up, write_motion {result.label} ({label}): {whole:,.0f}x whole writer, "
                  f"{fill:,.0f}x filling alone")
    print("  (like for like: 'bone keys only' writes the same keys as keyframe_insert)")

if __name__ == "__main__":
    main()
