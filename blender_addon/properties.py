"""The add-on's settings: per armature (its audio, prompt, parts...), per scene (the target) and
per window manager (the running job's progress, which is never saved or undone).

Each armature keeps its own audio binding, so a scene with several speakers is several
armatures, each bound to its own strips.
"""

from __future__ import annotations

from typing import Any

import bpy

from . import bone_maps
from .shared.emotions import EMOTIONS
from .skeleton_data import PARTS

AUTO_EMOTION = "AUTO"
AUDIO_SOURCES = (
    ("SCENE", "All Sound Strips", "Every unmuted sound strip of the scene; with none, motion "
              "from the prompt over the From-To frames"),
    ("STRIPS", "Chosen Strips", "Only the sound strips bound to this armature (one speaker)"),
    ("FILE", "Audio File", "An audio file on disk, starting at a chosen frame"),
    ("NONE", "None", "No audio: motion from the prompt and emotion over the From-To frames"),
)


def _emotion_items(_self: Any = None, _context: Any = None) -> list[tuple[str, str, str]]:
    items = [(AUTO_EMOTION, "Auto", "The model reads the emotion from the voice (without "
                                    "audio, it picks one)")]
    items += [(emotion, emotion.title(), f"Perform with {emotion}") for emotion in EMOTIONS]
    return items


# Enum items returned by a callback must stay referenced while Blender shows them.
_bone_map_items_cache: list[tuple[str, str, str]] = []


def _bone_map_items(_self: Any, _context: Any) -> list[tuple[str, str, str]]:
    items = [(bone_maps.AUTO, "Auto-detect", "The preset that finds most of the rig's bones")]
    presets, _problems = bone_maps.all_presets()
    for key, preset in sorted(presets.items()):
        items.append((key, preset.name, preset.description or key))
    items.append((bone_maps.CUSTOM, "Custom", "The bone map edited below"))
    _bone_map_items_cache[:] = items
    return _bone_map_items_cache


def chosen_frames(settings: Any, scene: Any) -> tuple[int, int]:
    """From and To: the scene's frame range until the user sets either of them."""
    if settings.frame_range_set or scene is None:
        return settings.frame_start_value, settings.frame_end_value
    return scene.frame_start, scene.frame_end


def _frame_getter(index: int) -> Any:
    # Blender gives properties one fixed default; the scene's range is looked up when read.
    return lambda settings: chosen_frames(settings, getattr(bpy.context, "scene", None))[index]


def _frame_setter(name: str) -> Any:
    def set_frame(settings: Any, value: int) -> None:
        if not settings.frame_range_set:
            # Setting one end fixes the other where it stands, instead of letting it follow.
            first, last = chosen_frames(settings, getattr(bpy.context, "scene", None))
            settings.frame_start_value, settings.frame_end_value = first, last
            settings.frame_range_set = True
        setattr(settings, name, value)

    return set_frame


def is_armature(_self: Any, obj: Any) -> bool:
    return obj is not None and obj.type == "ARMATURE"


class BodyLanguageStripRef(bpy.types.PropertyGroup):
    """A sound strip bound to an armature, by name."""

    name: bpy.props.StringProperty(name="Strip", description="The bound sound strip's name")


class BodyLanguageBoneRow(bpy.types.PropertyGroup):
    joint: bpy.props.StringProperty(name="SMPL-X Joint",
                                    description="The SMPL-X joint this row maps")
    bone: bpy.props.StringProperty(name="Bone", description="The rig's bone this joint drives")


class BodyLanguageEmotionScore(bpy.types.PropertyGroup):
    name: bpy.props.StringProperty(name="Emotion", description="One of the model's emotions")
    probability: bpy.props.FloatProperty(
        name="Probability", min=0.0, max=1.0, subtype="FACTOR",
        description="How likely the animation shows this emotion, as Predict Emotion read it")


class BodyLanguageSettings(bpy.types.PropertyGroup):
    """One speaker's generation settings, stored on its armature object."""

    audio_source: bpy.props.EnumProperty(
        name="Audio", items=AUDIO_SOURCES, default="SCENE",
        description="What the character speaks to: its lips, head and gestures follow it")
    strips: bpy.props.CollectionProperty(
        type=BodyLanguageStripRef, name="Strips",
        description="The sound strips of this speaker (Audio: Chosen Strips)")
    strips_index: bpy.props.IntProperty(default=0, name="Active Strip",
                                        description="The highlighted bound strip")
    listen: bpy.props.BoolProperty(
        name="Listen to Others", default=True,
        description="While a strip bound to another character plays and this one's do not, "
                    "its head and eyes turn toward that speaker")
    audio_file: bpy.props.StringProperty(name="Audio File", subtype="FILE_PATH",
                                         description="The audio file this speaker says")
    audio_start_frame: bpy.props.IntProperty(
        name="Start Frame", default=1, description="Scene frame where the audio file starts")
    prompt: bpy.props.StringProperty(
        name="Prompt", description="A short action for the whole clip, such as 'wave hello', "
                                   "'nod' or 'shrug'. The model follows it only weakly: try a "
                                   "few seeds. Timeline markers named 'bl: nod' add actions "
                                   "from their frame on")
    prompt_strength: bpy.props.FloatProperty(
        name="Prompt Strength", default=2.5, min=0.0, max=8.0, soft_max=5.0,
        description="How closely the motion follows the prompt: 1 as trained, higher follows it "
                    "more closely (less varied), 0 ignores it")
    emotion_strength: bpy.props.FloatProperty(
        name="Emotion Strength", default=2.0, min=0.0, max=8.0, soft_max=5.0,
        description="How strongly the chosen emotion shows: 1 as trained, higher stronger, "
                    "0 ignores it")
    transcript: bpy.props.PointerProperty(
        name="Transcript", type=bpy.types.Text,
        description="Optional text of what is said; the shipped model does not read it (the "
                    "older autoregressive model spreads the words over the clip)")
    emotion: bpy.props.EnumProperty(name="Emotion", items=_emotion_items(),
                                    description="The feeling the whole body performs")
    parts: bpy.props.EnumProperty(
        name="Parts", options={"ENUM_FLAG"},
        items=tuple((part, part.title(), f"(Re)generate the {part}") for part in PARTS),
        default=set(PARTS),
        description="Parts to (re)generate; the others are kept and condition the model")
    use_frame_range: bpy.props.BoolProperty(
        name="Only Frames", default=False,
        description="Regenerate only these scene frames of the chosen parts; the rest of their "
                    "keys is kept")
    frame_start: bpy.props.IntProperty(
        name="From", get=_frame_getter(0), set=_frame_setter("frame_start_value"),
        description="First frame to generate (without audio) or to regenerate (Only Frames); "
                    "the scene's start until set")
    frame_end: bpy.props.IntProperty(
        name="To", get=_frame_getter(1), set=_frame_setter("frame_end_value"),
        description="Last frame to generate (without audio) or to regenerate (Only Frames); "
                    "the scene's end until set")
    frame_start_value: bpy.props.IntProperty(default=1, options={"HIDDEN"}, name="From Value",
                                             description="From, once set")
    frame_end_value: bpy.props.IntProperty(default=250, options={"HIDDEN"}, name="To Value",
                                           description="To, once set")
    frame_range_set: bpy.props.BoolProperty(
        default=False, options={"HIDDEN"}, name="Frame Range Set",
        description="From and To were set here rather than following the scene's range")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0,
                                description="Same seed and inputs, same motion")
    key_mode: bpy.props.EnumProperty(
        name="Keys", default="EVERY_FRAME",
        items=(("EVERY_FRAME", "Every Frame", "A linear key on every frame of every curve"),
               ("REDUCED", "Reduced", "Bezier keys only where a curve needs one, with free "
                "handles fitted to the motion")),
        description="How the animation is keyed: a key on every frame, or Bezier keys only "
                    "where needed to stay within 0.5 degrees per bone, 1 mm of root location "
                    "and 0.005 per face shape of that, keeping planted feet and mouth closures "
                    "(far fewer keys, easier to edit)")
    bone_map: bpy.props.EnumProperty(name="Bone Map", items=_bone_map_items,
                                     description="Which of the rig's bones each SMPL-X joint "
                                                 "drives")
    custom_bones: bpy.props.CollectionProperty(
        type=BodyLanguageBoneRow, name="Custom Bones",
        description="The custom bone map: one rig bone per SMPL-X joint")
    custom_bones_index: bpy.props.IntProperty(default=0, name="Active Row",
                                              description="The highlighted bone map row")
    custom_base: bpy.props.StringProperty(name="Based On",
                                          description="The preset the custom map started from")
    emotion_scores: bpy.props.CollectionProperty(
        type=BodyLanguageEmotionScore, name="Emotion Scores",
        description="The emotions Predict Emotion read from the animation")


class BodyLanguageSceneSettings(bpy.types.PropertyGroup):
    target: bpy.props.PointerProperty(
        name="Armature", type=bpy.types.Object, poll=is_armature,
        description="The character to animate")


class BodyLanguageJobStatus(bpy.types.PropertyGroup):
    """The running job as the panel shows it (window manager data: not saved, not undone)."""

    running: bpy.props.BoolProperty(default=False, name="Running",
                                    description="A job is running (Esc cancels it)")
    progress: bpy.props.FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR",
                                      name="Progress", description="How far the job has come")
    message: bpy.props.StringProperty(default="", name="Message",
                                      description="What the job is doing now")
    last_report: bpy.props.StringProperty(default="", name="Last Report",
                                          description="How the last job ended")


CLASSES = (
    BodyLanguageStripRef,
    BodyLanguageBoneRow,
    BodyLanguageEmotionScore,
    BodyLanguageSettings,
    BodyLanguageSceneSettings,
    BodyLanguageJobStatus,
)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Object.body_language = bpy.props.PointerProperty(type=BodyLanguageSettings)
    bpy.types.Scene.body_language = bpy.props.PointerProperty(type=BodyLanguageSceneSettings)
    bpy.types.WindowManager.body_language_job = bpy.props.PointerProperty(
        type=BodyLanguageJobStatus)


def unregister() -> None:
    del bpy.types.WindowManager.body_language_job
    del bpy.types.Scene.body_language
    del bpy.types.Object.body_language
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)


def target_armature(context: Any) -> Any | None:
    """The scene's target armature, else the active object when it is an armature."""
    target = context.scene.body_language.target
    if target is not None and target.name in context.scene.objects:
        return target
    active = context.active_object
    return active if is_armature(None, active) else None
