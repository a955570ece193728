"""The extension registers its panels, operators and settings, every property and operator the
panels and preferences draw exists, and disabling it removes them all."""

import importlib
import types

import addon_utils
import bpy
from blender_snippet import emit
from installed_addon import MODULE, animated_speaker, prefs, scene

emit(classes=sorted(name for name in dir(bpy.types) if name.startswith("BODY_LANGUAGE")))
panel = bpy.types.BODY_LANGUAGE_PT_main
emit(panel=[panel.bl_space_type, panel.bl_region_type, panel.bl_category])
properties = importlib.import_module(MODULE + ".properties")
emit(emotions=list(properties.EMOTIONS))
armature = animated_speaker()
settings = armature.body_language
emit(defaults=[settings.audio_source, sorted(settings.parts), settings.emotion, settings.seed,
               settings.bone_map])
emit(emotion_items=[item.identifier for item in
                    settings.bl_rna.properties["emotion"].enum_items])
chosen = []
for key in ("smplx", "mixamo", "rigify", "CUSTOM", "AUTO"):
    settings.bone_map = key  # an enum refuses values its items do not offer
    chosen.append(settings.bone_map)
emit(bone_maps=chosen)


class RecordingLayout:
    """Stands in for UILayout in panel.draw: checks every property and operator it is given."""

    def __init__(self, problems):
        self.problems = problems

    def __getattr__(self, name):
        def call(*args, **kwargs):
            if name in ("prop", "prop_search") and len(args) >= 2:
                data, prop = args[0], args[1]
                if prop not in data.bl_rna.properties:
                    self.problems.append(f"{type(data).__name__} has no property {prop}")
            if name in ("operator", "operator_menu_enum"):
                idname = args[0]
                category, op = idname.split(".")
                if not hasattr(getattr(bpy.ops, category), op):
                    self.problems.append(f"no operator {idname}")
            if name == "template_list":
                data, prop = args[2], args[3]
                if prop not in data.bl_rna.properties:
                    self.problems.append(f"{type(data).__name__} has no property {prop}")
            return RecordingLayout(self.problems)
        return call


# Every property and operator the panels name exists.
problems = []
context = types.SimpleNamespace(scene=scene, window_manager=bpy.context.window_manager,
                                active_object=armature, preferences=bpy.context.preferences)
for panel_class in (bpy.types.BODY_LANGUAGE_PT_main, bpy.types.BODY_LANGUAGE_PT_emotion,
                    bpy.types.BODY_LANGUAGE_PT_retarget):
    fake = types.SimpleNamespace(layout=RecordingLayout(problems))
    for source in ("STRIPS", "FILE", "SCENE"):
        settings.audio_source = source
        settings.bone_map = "CUSTOM"
        panel_class.draw(fake, context)


class PreferencesProxy:
    """The real preferences, drawn into a recording layout."""

    def __init__(self, prefs):
        self.__dict__["_prefs"] = prefs
        self.__dict__["layout"] = RecordingLayout(problems)

    def __getattr__(self, name):
        return getattr(self._prefs, name)


type(prefs).draw(PreferencesProxy(prefs), context)
emit(problems=problems)

addon_utils.disable(MODULE, default_set=True)
emit(after=[name for name in dir(bpy.types) if name.startswith("BODY_LANGUAGE")],
     object_settings=hasattr(bpy.types.Object, "body_language"))
