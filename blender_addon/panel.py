"""The 3D Viewport sidebar tab "Body Language": target, audio, prompt, parts, Generate, emotion."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import bpy

from . import bone_maps
from .properties import AUTO_EMOTION, target_armature
from .runtime_paths import SETUP_HINT, resolve_runtime
from .scene_audio import sound_strips
from .scene_inputs import without_audio
from .speakers import mixing_warning
from .worker_settings import ADDON_DIR, addon_preferences

CATEGORY = "Body Language"


def _wrapped(layout: Any, text: str, icon: str = "NONE", width: int = 40) -> None:
    # Labels do not wrap; the sidebar is narrow.
    column = layout.column(align=True)
    for index, line in enumerate(textwrap.wrap(text, width=width) or [""]):
        column.label(text=line, icon=icon if index == 0 else "BLANK1")


def _runtime_problems(context: Any) -> list[str]:
    prefs = addon_preferences(context)
    status = resolve_runtime(bpy.path.abspath(prefs.worker_python) if prefs else "",
                             bpy.path.abspath(prefs.checkpoint) if prefs else "",
                             Path(ADDON_DIR), os.environ)
    problems = list(status.problems)
    if status.python is None:
        problems.append(SETUP_HINT)
    return problems


class BODY_LANGUAGE_UL_strips(bpy.types.UIList):
    def draw_item(self, context: Any, layout: Any, data: Any, item: Any, icon: Any,
                  active_data: Any, active_property: str, index: int = 0, flt_flag: int = 0
                  ) -> None:
        from .scene_audio import sound_strip_names

        found = item.name in sound_strip_names(context.scene)
        layout.label(text=item.name, icon="SOUND" if found else "ERROR")


class BODY_LANGUAGE_UL_bones(bpy.types.UIList):
    def draw_item(self, context: Any, layout: Any, data: Any, item: Any, icon: Any,
                  active_data: Any, active_property: str, index: int = 0, flt_flag: int = 0
                  ) -> None:
        armature = target_armature(context)
        split = layout.split(factor=0.45)
        split.label(text=item.joint)
        if armature is not None:
            split.prop_search(item, "bone", armature.data, "bones", text="")
        else:
            split.prop(item, "bone", text="")


class _Panel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY


class BODY_LANGUAGE_PT_main(_Panel, bpy.types.Panel):
    bl_label = "Body Language"

    def draw(self, context: Any) -> None:
        layout = self.layout
        layout.prop(context.scene.body_language, "target")
        armature = target_armature(context)
        problems = _runtime_problems(context)
        if problems:
            box = layout.box()
            box.label(text="Model runtime not ready", icon="ERROR")
            for problem in problems:
                _wrapped(box, problem)
        if armature is None:
            layout.label(text="Choose or create an armature", icon="INFO")
            layout.operator("body_language.create_character", icon="ARMATURE_DATA")
            return
        settings = armature.body_language

        layout.prop(settings, "audio_source")
        if settings.audio_source == "STRIPS":
            row = layout.row()
            row.template_list("BODY_LANGUAGE_UL_strips", "", settings, "strips", settings,
                              "strips_index", rows=2)
            column = row.column(align=True)
            column.operator("body_language.bind_strip", text="", icon="ADD")
            column.operator("body_language.unbind_strip", text="", icon="REMOVE")
            layout.operator("body_language.bind_selected_strips", icon="SEQ_SEQUENCER")
            layout.prop(settings, "listen")
        elif settings.audio_source == "FILE":
            layout.prop(settings, "audio_file")
            layout.prop(settings, "audio_start_frame")
        elif settings.audio_source == "SCENE":
            _offer_speaker_binding(layout, context.scene)
        text_only = without_audio(context.scene, settings)
        if text_only:
            _wrapped(layout, "No audio: motion from the prompt over the From-To frames",
                     icon="INFO")

        layout.prop(settings, "prompt")
        row = layout.row()
        row.active = bool(settings.prompt)
        row.prop(settings, "prompt_strength")
        layout.prop(settings, "transcript")
        layout.prop(settings, "emotion")
        row = layout.row()
        row.active = settings.emotion != AUTO_EMOTION
        row.prop(settings, "emotion_strength")
        layout.prop(settings, "parts", expand=True)
        row = layout.row(align=True)
        row.prop(settings, "use_frame_range")
        sub = row.row(align=True)
        sub.active = settings.use_frame_range or text_only  # without audio they are the clip
        sub.prop(settings, "frame_start")
        sub.prop(settings, "frame_end")
        layout.prop(settings, "seed")
        layout.prop(settings, "key_mode")

        status = context.window_manager.body_language_job
        if status.running:
            _progress(layout, status.progress, status.message)
            layout.operator("body_language.cancel", icon="CANCEL")
        else:
            layout.operator("body_language.generate", icon="PLAY")
            if status.last_report:
                _wrapped(layout, status.last_report, icon="INFO")
            layout.operator("body_language.export_performance", icon="EXPORT")
        layout.operator("body_language.create_character", icon="ARMATURE_DATA")


def _progress(layout: Any, fraction: float, message: str) -> None:
    if hasattr(layout, "progress"):  # Blender 4.0+
        layout.progress(factor=fraction, type="BAR", text=f"{message} {fraction:.0%}")
    else:
        layout.label(text=f"{message} {fraction:.0%}")


def _offer_speaker_binding(layout: Any, scene: Any) -> None:
    # Said before Generate, not after: mixing several voices makes one character mouth them all.
    warning = mixing_warning(sound_strips(scene))
    if warning:
        box = layout.box()
        _wrapped(box, warning, icon="ERROR")
        box.operator("body_language.bind_speakers", icon="SPEAKER")


class _ArmatureSubpanel(_Panel):
    """A closed-by-default section under the main panel, shown once an armature is the target."""

    bl_parent_id = "BODY_LANGUAGE_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return target_armature(context) is not None


class BODY_LANGUAGE_PT_emotion(_ArmatureSubpanel, bpy.types.Panel):
    bl_label = "Emotion"

    def draw(self, context: Any) -> None:
        layout = self.layout
        layout.operator("body_language.predict_emotion", icon="MONKEY")
        for score in target_armature(context).body_language.emotion_scores:
            row = layout.row()
            row.label(text=score.name.title())
            _progress(row, score.probability, "")


class BODY_LANGUAGE_PT_retarget(_ArmatureSubpanel, bpy.types.Panel):
    bl_label = "Bone Map"

    def draw(self, context: Any) -> None:
        layout = self.layout
        settings = target_armature(context).body_language
        layout.prop(settings, "bone_map")
        _presets, problems = bone_maps.all_presets()
        for problem in problems:
            _wrapped(layout, problem, icon="ERROR")
        layout.operator_menu_enum("body_language.custom_map_from_preset", "preset",
                                  text="Edit Custom Map From")
        if settings.bone_map == bone_maps.CUSTOM and len(settings.custom_bones):
            layout.template_list("BODY_LANGUAGE_UL_bones", "", settings, "custom_bones",
                                 settings, "custom_bones_index", rows=6)
            layout.operator("body_language.save_custom_map", icon="FILE_TICK")


CLASSES = (
    BODY_LANGUAGE_UL_strips,
    BODY_LANGUAGE_UL_bones,
    BODY_LANGUAGE_PT_main,
    BODY_LANGUAGE_PT_emotion,
    BODY_LANGUAGE_PT_retarget,
)
