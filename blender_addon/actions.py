"""Actions, F-curves and NLA tracks on both action APIs Blender 4.2-5.0 have.

Blender 4.4 introduced layered actions (slots, channelbags) and 5.0 removed `Action.fcurves`;
4.2 LTS has only the legacy API. Which one to use is decided by feature, never by version number.
Keys are always written in bulk, hundreds of times faster than per-key inserts: see
`ActionBuilder.add_curve`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import bpy
import numpy as np

from .key_reduction import key_handles

# Blender's enum values for keyframe interpolation (BEZT_IPO_CONST, BEZT_IPO_LIN, BEZT_IPO_BEZ).
_INTERPOLATION_CODES = {"CONSTANT": 0, "LINEAR": 1, "BEZIER": 2}
# Blender's enum value for a Free keyframe handle (HD_FREE).
_FREE_HANDLE = 0
# The frame range F-curve sampling accepts (MINAFRAME, MAXFRAME).
_MIN_FRAME, _MAX_FRAME = -1048574, 1048574


def layered_actions_available() -> bool:
    """True where actions have slots and channelbags (Blender 4.4 and later)."""
    try:
        from bpy_extras import anim_utils
    except ImportError:
        return False
    has_slots = "slots" in bpy.types.Action.bl_rna.properties
    return has_slots and hasattr(anim_utils, "action_ensure_channelbag_for_slot")


@dataclass
class _KeyLayout:
    """Key frames shared by the curves of an action: the (frame, value) pairs `foreach_set`
    takes, with the frames filled in, and whether the fast linear route applies."""

    frames: np.ndarray
    co: np.ndarray
    consecutive: bool

    @classmethod
    def of(cls, frames: np.ndarray) -> _KeyLayout:
        frames = np.array(frames, dtype=np.float64)
        co = np.empty(2 * len(frames), dtype=np.float32)
        co[0::2] = frames
        return cls(frames, co, _whole_consecutive_frames(frames))


@dataclass
class ActionBuilder:
    """A new action for one ID type, filled with fully keyed F-curves."""

    action: Any
    slot: Any
    _channelbag: Any
    name: str = ""
    # The writer keys every curve of an action on the same frames; they are laid out once.
    _layout: _KeyLayout | None = field(default=None, repr=False)

    @classmethod
    def create(cls, name: str, id_type: str, slot_name: str) -> ActionBuilder:
        action = bpy.data.actions.new(name)
        if layered_actions_available():
            from bpy_extras import anim_utils

            slot = action.slots.new(id_type=id_type, name=slot_name)
            channelbag = anim_utils.action_ensure_channelbag_for_slot(action, slot)
            return cls(action, slot, channelbag, name)
        action.id_root = id_type
        return cls(action, None, None, name)

    def add_curve(
        self, data_path: str, index: int, group: str, frames: np.ndarray, values: np.ndarray,
        keys: np.ndarray | None = None,
    ) -> Any:
        """A new F-curve: a linear key per (frame, value), or with `keys` (a mask over the
        frames) Bezier keys on those frames only, with the fitted Free handles the reduction
        chose them for (key_reduction.key_handles)."""
        handles = None
        if keys is not None:
            handles = key_handles(values, keys)
            frames, values = frames[keys], values[keys]
        if self._channelbag is not None:
            fcurve = self._channelbag.fcurves.new(data_path, index=index, group_name=group)
        else:
            fcurve = self.action.fcurves.new(data_path, index=index, action_group=group)
        layout = self._layout
        if layout is None or not np.array_equal(layout.frames, frames):
            layout = self._layout = _KeyLayout.of(frames)
        # One buffer serves every curve: foreach_set copies it before the next curve refills it.
        co = layout.co
        co[1::2] = values
        if handles is None and layout.consecutive:
            _fill_linear_from_samples(fcurve, int(layout.frames[0]), co)
        elif handles is None:
            _fill_keyframes(fcurve, co, "LINEAR")
        else:
            _fill_keyframes(fcurve, co, "BEZIER", _free_handles(frames, handles))
        return fcurve

    def discard(self) -> None:
        """Remove the half-built action after a failure."""
        bpy.data.actions.remove(self.action)


def _whole_consecutive_frames(frames: np.ndarray) -> bool:
    """True for two or more frames first, first + 1, ... on whole numbers inside Blender's frame
    range. (A lone key keeps the handles `update` clamps; handle recalculation skips it.)"""
    if len(frames) < 2 or frames[0] != np.floor(frames[0]):
        return False
    if frames[0] < _MIN_FRAME or frames[0] + len(frames) > _MAX_FRAME:
        return False
    return bool(np.array_equal(frames, frames[0] + np.arange(len(frames))))


def _fill_linear_from_samples(fcurve: Any, first_frame: int, co: np.ndarray) -> None:
    """Linear keys on consecutive frames through F-curve samples.

    Sample points store their (frame, value) pairs plainly, so `foreach_set` copies them in one
    block, while keyframe `co` and `interpolation` go through Blender's per-key property code.
    `convert_to_keyframes` then makes exactly what `keyframe_points.add` + `foreach_set` +
    `update` would (linear keys, auto-clamped handles computed) in about half the time.
    """
    count = len(co) // 2
    end = first_frame + count  # exclusive in both conversion calls
    # convert_to_samples samples existing keys; this placeholder key is replaced by the samples.
    fcurve.keyframe_points.add(1)
    fcurve.convert_to_samples(first_frame, end)
    samples = fcurve.sampled_points
    if len(samples) != count:
        raise RuntimeError(f"F-curve {fcurve.data_path!r} got {len(samples)} samples for "
                           f"frames {first_frame}-{end - 1}")
    samples.foreach_set("co", co)
    fcurve.convert_to_keyframes(first_frame, end)


def _free_handles(frames: np.ndarray, handles: tuple[np.ndarray, np.ndarray]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Flat (x, y) pairs of the left and right handles, a third of the way to each neighbour
    (the first and last key's outer handles mirror their inner ones in time)."""
    x = np.asarray(frames, dtype=np.float64)
    gaps = np.diff(x)
    before, after = np.r_[gaps[:1], gaps], np.r_[gaps, gaps[-1:]]
    left = np.stack([x - before / 3.0, handles[0]], axis=1)
    right = np.stack([x + after / 3.0, handles[1]], axis=1)
    return left.astype(np.float32).reshape(-1), right.astype(np.float32).reshape(-1)


def _fill_keyframes(fcurve: Any, co: np.ndarray, interpolation: str,
                    handles: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    count = len(co) // 2
    points = fcurve.keyframe_points
    points.add(count)
    points.foreach_set("co", co)
    points.foreach_set(
        "interpolation", np.full(count, _INTERPOLATION_CODES[interpolation], np.int32))
    if interpolation == "BEZIER":
        # Continuous Acceleration would reshape the whole curve from each key.
        fcurve.auto_smoothing = "NONE"
    if handles is not None:
        # Reduced keys are chosen for these fitted handles (key_reduction.py): Free, so
        # Blender keeps them as they are.
        for side, pairs in zip(("handle_left", "handle_right"), handles, strict=True):
            points.foreach_set(f"{side}_type", np.full(count, _FREE_HANDLE, np.int32))
            points.foreach_set(side, pairs)
    fcurve.update()


def action_fcurves(action: Any) -> Iterator[Any]:
    """Every F-curve of an action, on either API, in creation order."""
    if "slots" in action.bl_rna.properties and len(action.slots):
        for layer in action.layers:
            for strip in layer.strips:
                for channelbag in strip.channelbags:
                    yield from channelbag.fcurves
        return
    yield from getattr(action, "fcurves", ())


def strip_on_track(id_block: Any, track_name: str) -> Any | None:
    """The first strip of the named NLA track on an ID, or None."""
    animation = id_block.animation_data
    if animation is None:
        return None
    track = animation.nla_tracks.get(track_name)
    if track is None or not len(track.strips):
        return None
    return track.strips[0]


@dataclass
class StagedTrack:
    """A new action on a new NLA track, placed right above the track it is to replace.

    Staging changes nothing the ID already had: `commit_track` then swaps the new track in
    (removing the old one), and `rollback_track` removes what staging added, so a failure while
    staging the parts one by one can leave every part exactly as it was.
    """

    id_block: Any
    track_name: str
    builder: ActionBuilder
    old_track: Any | None
    created_animation: bool
    track: Any = None


def stage_on_track(id_block: Any, track_name: str, builder: ActionBuilder,
                   start_frame: int) -> StagedTrack:
    """Put `builder.action` on a new track next to the named one; see StagedTrack."""
    animation = id_block.animation_data
    created = animation is None
    if created:
        animation = id_block.animation_data_create()
    old = animation.nla_tracks.get(track_name)
    staged = StagedTrack(id_block, track_name, builder, old, created)
    try:
        # Right after the old track, so once that is removed the new one holds its place.
        staged.track = animation.nla_tracks.new(prev=old)
        staged.track.name = track_name
        strip = staged.track.strips.new(track_name, int(start_frame), builder.action)
        if builder.slot is not None and hasattr(strip, "action_slot"):
            strip.action_slot = builder.slot
        # Before and after its keys a part holds its first and last pose, not the rest pose.
        strip.extrapolation = "HOLD"
        strip.blend_type = "REPLACE"
    except Exception:
        rollback_track(staged)
        raise
    return staged


def commit_track(staged: StagedTrack) -> None:
    """Replace the old track by the staged one (keeping its mute, lock and solo switches); the
    action the old track held is removed once nothing else uses it."""
    animation = staged.id_block.animation_data
    track, old = staged.track, staged.old_track
    if old is not None:
        switches = (old.mute, old.lock, old.is_solo)
        old_actions = [strip.action for strip in old.strips]
        animation.nla_tracks.remove(old)
        track.mute, track.lock = switches[0], switches[1]
        if switches[2]:
            track.is_solo = True
        for action in old_actions:
            if action is not None and action != staged.builder.action and action.users == 0:
                bpy.data.actions.remove(action)
    # Made while the old track, strip and action held the names, the new ones got ".001"s.
    track.name = staged.track_name
    track.strips[0].name = staged.track_name
    builder = staged.builder
    if builder.name and builder.action.name != builder.name:
        builder.action.name = builder.name


def rollback_track(staged: StagedTrack) -> None:
    """Remove the staged track (and the animation data staging created); the builder's action
    is the caller's to discard."""
    animation = staged.id_block.animation_data
    if animation is not None and staged.track is not None:
        animation.nla_tracks.remove(staged.track)
        staged.track = None
    if staged.created_animation and animation is not None:
        staged.id_block.animation_data_clear()


def remove_track(id_block: Any, track_name: str) -> bool:
    """Delete the named NLA track and its no longer used actions; True when there was one."""
    animation = id_block.animation_data
    track = None if animation is None else animation.nla_tracks.get(track_name)
    if track is None:
        return False
    actions = [strip.action for strip in track.strips]
    animation.nla_tracks.remove(track)
    for action in actions:
        if action is not None and action.users == 0:
            bpy.data.actions.remove(action)
    return True


def strip_action_frames(strip: Any, scene_frames: np.ndarray) -> np.ndarray:
    """Scene frames -> the strip's action time (its offset and scale; repeats are not used)."""
    scale = strip.scale if strip.scale else 1.0
    return strip.action_frame_start + (np.asarray(scene_frames) - strip.frame_start) / scale


def evaluate_curves(fcurves: list[Any], frames: np.ndarray) -> np.ndarray:
    """(len(frames), len(fcurves)) values; evaluate() honours whatever interpolation a user
    gave edited keys."""
    values = np.empty((len(frames), len(fcurves)))
    for column, fcurve in enumerate(fcurves):
        evaluate = fcurve.evaluate
        values[:, column] = [evaluate(float(frame)) for frame in frames]
    return values
