"""Operators: Generate, Predict emotion, Create character, strip and speaker binding, bone map
editing.

Generate and Predict emotion are modal: a 0.2 s timer polls the worker, progress shows in the
status bar, the cursor and the panel, Esc cancels while the job runs (and only then: once it
has ended, Esc is left to whatever else wants it), and every other event passes through so the
UI stays responsive. In background mode (no event loop) they run to the end in `execute`.
Both carry the UNDO flag: Blender pushes one undo step when a modal operator finishes, after
the keys were written in one go, and none when it is cancelled.
"""

from __future__ import annotations

from typing import Any

import bpy

from . import bone_maps, jobs
from .motion_arrays import AddonInputError
from .properties import target_armature
from .runtime import WorkerError
from .scene_audio import sound_strip_names
from .scene_inputs import build_generate_request
from .worker_settings import model_spec, runtime_config, worker_for

POLL_INTERVAL = 0.2


def _status(context: Any) -> Any:
    return context.window_manager.body_language_job


def _redraw(context: Any) -> None:
    screen = getattr(context, "screen", None)
    for area in getattr(screen, "areas", ()):
        if area.type in {"VIEW_3D", "PROPERTIES"}:
            area.tag_redraw()


class _JobOperator:
    """Drives a jobs.Job: modal with a timer in the UI, blocking in background mode."""

    _job: jobs.Job | None = None
    _timer: Any = None

    def make_job(self, context: Any) -> jobs.Job:
        raise NotImplementedError

    @classmethod
    def poll(cls, context: Any) -> bool:
        return target_armature(context) is not None and jobs.active_job() is None

    def _create(self, context: Any) -> bool:
        try:
            self._job = self.make_job(context)
        except (AddonInputError, WorkerError) as exc:
            self.report({"ERROR"}, str(exc))
            _status(context).last_report = str(exc)
            return False
        jobs.set_active(self._job)
        self._job.start()
        status = _status(context)
        status.running, status.progress, status.message = True, 0.0, self._job.message
        return True

    def execute(self, context: Any) -> set[str]:
        if not self._create(context):
            return {"CANCELLED"}

        def show(fraction: float, message: str) -> None:
            print(f"[Body Language] {fraction:4.0%} {message}", flush=True)

        self._job.run(on_progress=show)
        return self._finish(context)

    def invoke(self, context: Any, event: Any) -> set[str]:
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if not self._create(context):
            return {"CANCELLED"}
        if self._job.state != jobs.RUNNING:
            return self._finish(context)
        wm = context.window_manager
        self._timer = wm.event_timer_add(POLL_INTERVAL, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0.0, 1.0)
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[str]:
        if event.type == "ESC" and event.value == "PRESS" and self._job.state == jobs.RUNNING:
            self._job.cancel()
            return self._finish(context)
        if event.type != "TIMER" or event.timer is not self._timer:
            return {"PASS_THROUGH"}
        state = self._job.step()
        status = _status(context)
        status.progress, status.message = self._job.progress, self._job.message
        context.window_manager.progress_update(self._job.progress)
        if context.workspace is not None:
            context.workspace.status_text_set(
                f"Body Language: {self._job.message} {self._job.progress:.0%} (Esc to cancel)")
        _redraw(context)
        if state == jobs.RUNNING:
            return {"PASS_THROUGH"}
        return self._finish(context)

    def cancel(self, context: Any) -> None:
        # Blender ends modal operators this way when the window closes or a file loads.
        if self._job is not None:
            self._job.cancel()
            self._finish(context)

    def _finish(self, context: Any) -> set[str]:
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
            wm.progress_end()
            if context.workspace is not None:
                context.workspace.status_text_set(None)
        job = self._job
        jobs.set_active(None)
        status = _status(context)
        status.running, status.progress = False, job.progress
        status.message = status.last_report = job.report
        _redraw(context)
        if job.state == jobs.FINISHED:
            # Done, but with something missing (bones the rig lacks): a warning, not an info.
            self.report({"WARNING"} if job.warnings else {"INFO"}, job.report)
            return {"FINISHED"}
        self.report({"WARNING"} if job.state == jobs.CANCELLED else {"ERROR"}, job.report)
        return {"CANCELLED"}


class BODY_LANGUAGE_OT_generate(_JobOperator, bpy.types.Operator):
    """Animate the chosen parts of the armature from its audio, prompt and emotion"""

    bl_idname = "body_language.generate"
    bl_label = "Generate"
    bl_options = {"REGISTER", "UNDO"}

    def make_job(self, context: Any) -> jobs.Job:
        config = runtime_config(context)
        client = worker_for(config)
        request = build_generate_request(context.scene, target_armature(context), client)
        return jobs.GenerateJob(client, request, model_spec(config))


class BODY_LANGUAGE_OT_predict_emotion(_JobOperator, bpy.types.Operator):
    """Estimate the emotion of the armature's current Body Language animation"""

    bl_idname = "body_language.predict_emotion"
    bl_label = "Predict Emotion"
    bl_options = {"REGISTER", "UNDO"}

    def make_job(self, context: Any) -> jobs.Job:
        config = runtime_config(context)
        client = worker_for(config)
        return jobs.PredictEmotionJob(client, target_armature(context), context.scene,
                                      model_spec(config))


class BODY_LANGUAGE_OT_cancel(bpy.types.Operator):
    """Stop the running job (Esc); the scene stays as it was"""

    bl_idname = "body_language.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return jobs.active_job() is not None

    def execute(self, context: Any) -> set[str]:
        job = jobs.active_job()
        if job is not None:
            job.cancel()  # the modal operator sees it on its next timer tick and ends
        return {"FINISHED"}


class BODY_LANGUAGE_OT_create_character(bpy.types.Operator):
    """Add an SMPL-X armature with a simple preview body and make it the target"""

    bl_idname = "body_language.create_character"
    bl_label = "Create Character"
    bl_options = {"REGISTER", "UNDO"}

    name: bpy.props.StringProperty(name="Name", default="BL Character",
                                   description="Name of the new armature")
    with_body: bpy.props.BoolProperty(name="Preview Body", default=True,
                                      description="Add a simple mesh body that follows the "
                                                  "bones, to see the animation")

    def execute(self, context: Any) -> set[str]:
        from .rig import create_character

        armature = create_character(self.name, context.collection, self.with_body)
        armature.location = context.scene.cursor.location
        context.scene.body_language.target = armature
        for obj in context.view_layer.objects:
            obj.select_set(False)
        armature.select_set(True)
        context.view_layer.objects.active = armature
        self.report({"INFO"}, f"Created {armature.name}")
        return {"FINISHED"}


EnumItems = list[tuple[str, str, str]]


def _kept(cache: EnumItems, items: EnumItems) -> EnumItems:
    # Blender reads a dynamic enum's strings after the callback returns: Python must keep them.
    cache[:] = items
    return cache


def _strip_items(_self: Any, context: Any) -> EnumItems:
    names = sound_strip_names(context.scene) if context else []
    return _kept(_strip_items_cache, [(name, name, "Sound strip") for name in names] or [
        ("", "(no sound strips)", "The scene has no sound strips to bind")])


_strip_items_cache: EnumItems = []


class BODY_LANGUAGE_OT_bind_strip(bpy.types.Operator):
    """Bind a sound strip to the armature (this speaker's audio)"""

    bl_idname = "body_language.bind_strip"
    bl_label = "Bind Sound Strip"
    bl_options = {"REGISTER", "UNDO"}
    bl_property = "strip"

    strip: bpy.props.EnumProperty(name="Strip", items=_strip_items,
                                  description="The sound strip to bind")

    @classmethod
    def poll(cls, context: Any) -> bool:
        return target_armature(context) is not None

    def invoke(self, context: Any, event: Any) -> set[str]:
        context.window_manager.invoke_search_popup(self)
        return {"RUNNING_MODAL"}

    def execute(self, context: Any) -> set[str]:
        if not self.strip:
            self.report({"ERROR"}, "The scene has no sound strips")
            return {"CANCELLED"}
        settings = target_armature(context).body_language
        if self.strip not in {ref.name for ref in settings.strips}:
            settings.strips.add().name = self.strip
        settings.audio_source = "STRIPS"
        return {"FINISHED"}


class BODY_LANGUAGE_OT_bind_selected_strips(bpy.types.Operator):
    """Bind the sound strips selected in the Sequencer to the armature"""

    bl_idname = "body_language.bind_selected_strips"
    bl_label = "Bind Selected Strips"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return target_armature(context) is not None

    def execute(self, context: Any) -> set[str]:
        from .scene_audio import all_strips
        from .speakers import bind_strips

        selected = [strip.name for strip in all_strips(context.scene)
                    if strip.type == "SOUND" and strip.select]
        if not selected:
            self.report({"ERROR"}, "Select sound strips in the Sequencer first")
            return {"CANCELLED"}
        bind_strips(target_armature(context).body_language, selected)
        self.report({"INFO"}, f"Bound {len(selected)} strip(s)")
        return {"FINISHED"}


class BODY_LANGUAGE_OT_bind_speakers(bpy.types.Operator):
    """Bind each character (armature) of the scene to its own sound strips: the strips that
    name it, else one Sequencer channel per character in name order"""

    bl_idname = "body_language.bind_speakers"
    bl_label = "Bind Speakers"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        return bool(sound_strip_names(context.scene))

    def execute(self, context: Any) -> set[str]:
        from .speakers import bind_speakers

        bindings = bind_speakers(context.scene)
        if not bindings.strips:
            self.report({"ERROR"}, f"No character could be bound: {bindings.summary()}")
            return {"CANCELLED"}
        unbound = bindings.unbound_characters or bindings.unbound_channels
        self.report({"WARNING"} if unbound else {"INFO"}, f"Bound {bindings.summary()}")
        return {"FINISHED"}


class BODY_LANGUAGE_OT_unbind_strip(bpy.types.Operator):
    """Remove the highlighted strip from the armature's audio"""

    bl_idname = "body_language.unbind_strip"
    bl_label = "Unbind Sound Strip"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: Any) -> bool:
        armature = target_armature(context)
        return armature is not None and len(armature.body_language.strips) > 0

    def execute(self, context: Any) -> set[str]:
        settings = target_armature(context).body_language
        settings.strips.remove(min(settings.strips_index, len(settings.strips) - 1))
        settings.strips_index = max(0, settings.strips_index - 1)
        return {"FINISHED"}


def _preset_items(_self: Any, _context: Any) -> EnumItems:
    presets, _problems = bone_maps.all_presets()
    return _kept(_preset_items_cache, [("", "Empty", "No bones")] + [
        (key, preset.name, preset.description or f"The {preset.name} bone map")
        for key, preset in sorted(presets.items())])


_preset_items_cache: EnumItems = []


class BODY_LANGUAGE_OT_custom_map_from_preset(bpy.types.Operator):
    """Fill the custom bone map from a preset, to edit it"""

    bl_idname = "body_language.custom_map_from_preset"
    bl_label = "Custom Map From Preset"
    bl_options = {"REGISTER", "UNDO"}

    preset: bpy.props.EnumProperty(name="Preset", items=_preset_items,
                                   description="The bone map to start the custom map from")

    @classmethod
    def poll(cls, context: Any) -> bool:
        return target_armature(context) is not None

    def execute(self, context: Any) -> set[str]:
        settings = target_armature(context).body_language
        bone_maps.fill_custom_rows(settings, self.preset)
        settings.bone_map = bone_maps.CUSTOM
        return {"FINISHED"}


class BODY_LANGUAGE_OT_save_custom_map(bpy.types.Operator):
    """Save the custom bone map as a preset for other rigs and files"""

    bl_idname = "body_language.save_custom_map"
    bl_label = "Save Bone Map Preset"

    name: bpy.props.StringProperty(name="Preset Name", default="my_rig",
                                   description="Name of the saved bone map preset")

    @classmethod
    def poll(cls, context: Any) -> bool:
        armature = target_armature(context)
        return armature is not None and len(armature.body_language.custom_bones) > 0

    def invoke(self, context: Any, event: Any) -> set[str]:
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context: Any) -> set[str]:
        try:
            path = bone_maps.save_custom_preset(target_armature(context).body_language, self.name)
        except AddonInputError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Saved bone map preset {path}")
        return {"FINISHED"}


CLASSES = (
    BODY_LANGUAGE_OT_generate,
    BODY_LANGUAGE_OT_predict_emotion,
    BODY_LANGUAGE_OT_cancel,
    BODY_LANGUAGE_OT_create_character,
    BODY_LANGUAGE_OT_bind_strip,
    BODY_LANGUAGE_OT_bind_selected_strips,
    BODY_LANGUAGE_OT_bind_speakers,
    BODY_LANGUAGE_OT_unbind_strip,
    BODY_LANGUAGE_OT_custom_map_from_preset,
    BODY_LANGUAGE_OT_save_custom_map,
)
