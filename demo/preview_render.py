"""The demo's stage (camera, light, floor) and its preview: a contact sheet of rendered frames.

Cycles on the CPU renders the preview: it needs no GPU or display, so it works wherever bpy
does (Workbench and EEVEE need an OpenGL/EGL context, which a headless machine may lack).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

SHEET_COLUMNS = 4
SHEET_ROWS = 2
LENS_MM = 50.0
SENSOR_MM = 36.0
# Room above and below the characters' rest extent in the shot (for raised hands), and the
# camera's height above the bodies' middle: a little above, looking down, so the floor shows
# around the feet.
FRAMING_MARGIN = 1.2
CAMERA_RAISE = 0.4
FLOOR_SIZE = 200.0
FLOOR_COLOUR = (0.4, 0.41, 0.43, 1.0)
WORLD_COLOUR = (0.16, 0.18, 0.22)


def line_spans(scene: bpy.types.Scene) -> list[tuple[int, int]]:
    """Scene frames [first, end) of each unmuted sound strip (each line), in time order."""
    editor = scene.sequence_editor
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    return sorted((int(strip.frame_final_start), int(strip.frame_final_end))
                  for strip in strips if strip.type == "SOUND" and not strip.mute)


def sheet_frames(spans: list[tuple[int, int]],
                 count: int = SHEET_COLUMNS * SHEET_ROWS) -> list[int]:
    """`count` frames shared out over the lines (spans [first, end) in time order), each line's
    spread evenly inside it, so the sheet shows every line with its speaker and listener."""
    frames = []
    for (first, end), share in zip(spans, np.array_split(np.arange(count), len(spans)),
                                   strict=True):
        frames += [int(first + (end - first) * (k + 0.5) / len(share))
                   for k in range(len(share))]
    return frames


def rest_bounds(armatures: list[bpy.types.Object]) -> tuple[np.ndarray, np.ndarray]:
    """World-space (min, max) corners of the characters' meshes in the rest pose."""
    meshes = [obj for armature in armatures for obj in armature.children_recursive
              if obj.type == "MESH"]
    positions = [armature.data.pose_position for armature in armatures]
    for armature in armatures:
        armature.data.pose_position = "REST"
    try:
        depsgraph = bpy.context.evaluated_depsgraph_get()
        depsgraph.update()
        corners = []
        for obj in meshes:
            evaluated = obj.evaluated_get(depsgraph)
            corners += [tuple(evaluated.matrix_world @ Vector(c)) for c in evaluated.bound_box]
    finally:
        for armature, position in zip(armatures, positions, strict=True):
            armature.data.pose_position = position
    points = np.array(corners)
    return points.min(axis=0), points.max(axis=0)


def _link(scene: bpy.types.Scene, obj: bpy.types.Object) -> bpy.types.Object:
    scene.collection.objects.link(obj)
    return obj


def add_camera(scene: bpy.types.Scene, armatures: list[bpy.types.Object],
               resolution: tuple[int, int]) -> bpy.types.Object:
    """A camera in front of the characters (they face -Y, or turn partly toward each other)
    that holds all of them at rest, arms out, with room for raised hands."""
    camera_data = bpy.data.cameras.new("Demo camera")
    camera_data.lens, camera_data.sensor_width = LENS_MM, SENSOR_MM
    camera_data.sensor_fit = "HORIZONTAL"
    camera = _link(scene, bpy.data.objects.new("Demo camera", camera_data))
    low, high = rest_bounds(armatures)
    width, height = resolution
    tan_horizontal = SENSOR_MM / 2 / LENS_MM
    tan_vertical = tan_horizontal * height / width
    half = (high - low) / 2
    centre = (high + low) / 2
    # The camera aims at the group's middle, so half the extent on each side of the view axis.
    # The rest pose's arms-out width already holds gestures to the side; only raised hands need
    # room above.
    distance = max(half[0] / tan_horizontal, FRAMING_MARGIN * half[2] / tan_vertical)
    camera.location = (centre[0], low[1] - distance, centre[2] + CAMERA_RAISE)
    # Looking along +Y (towards the characters' front), tilted down onto their middle.
    tilt = math.atan2(CAMERA_RAISE, distance + half[1])
    camera.rotation_euler = (math.pi / 2 - tilt, 0.0, 0.0)
    scene.camera = camera
    return camera


def add_light_floor_and_world(scene: bpy.types.Scene, floor_height: float) -> None:
    sun_data = bpy.data.lights.new("Demo sun", "SUN")
    sun_data.energy = 3.0
    sun_data.angle = math.radians(10.0)  # soft shadow edges
    sun = _link(scene, bpy.data.objects.new("Demo sun", sun_data))
    sun.rotation_euler = (math.radians(50.0), 0.0, math.radians(-30.0))

    floor_mesh = bpy.data.meshes.new("Demo floor")
    half = FLOOR_SIZE / 2
    floor_mesh.from_pydata([(-half, -half, 0.0), (half, -half, 0.0), (half, half, 0.0),
                            (-half, half, 0.0)], [], [(0, 1, 2, 3)])
    material = bpy.data.materials.new("Demo floor")
    material.diffuse_color = FLOOR_COLOUR
    shader = material.node_tree.nodes.get("Principled BSDF") if material.node_tree else None
    if shader is not None:
        shader.inputs["Base Color"].default_value = FLOOR_COLOUR
    floor_mesh.materials.append(material)
    floor = _link(scene, bpy.data.objects.new("Demo floor", floor_mesh))
    floor.location.z = floor_height

    world = bpy.data.worlds.new("Demo world")
    world.color = WORLD_COLOUR
    # Cycles lights with the world's Background node (new worlds have one), not world.color.
    background = world.node_tree.nodes.get("Background") if world.node_tree else None
    if background is not None:
        background.inputs["Color"].default_value = (*WORLD_COLOUR, 1.0)
    scene.world = world


def configure_render(scene: bpy.types.Scene, resolution: tuple[int, int], samples: int) -> None:
    render = scene.render
    render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False  # at these sizes denoising costs more than it gives
    scene.cycles.max_bounces = 2
    render.resolution_x, render.resolution_y = resolution
    render.resolution_percentage = 100
    render.film_transparent = False
    render.image_settings.file_format = "PNG"
    render.image_settings.color_mode = "RGB"


def stage_scene(scene: bpy.types.Scene, armatures: list[bpy.types.Object],
                resolution: tuple[int, int], samples: int = 16) -> None:
    """Camera, sun, floor and render settings around the animated characters."""
    add_camera(scene, armatures, resolution)
    add_light_floor_and_world(scene, float(rest_bounds(armatures)[0][2]))
    configure_render(scene, resolution, samples)


def _read_pixels(path: Path) -> np.ndarray:
    """An image file as float RGBA rows, top row first."""
    image = bpy.data.images.load(str(path))
    try:
        width, height = image.size
        pixels = np.empty(width * height * 4, np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    return pixels.reshape(height, width, 4)[::-1]


def tile_sheet(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    """Equal-sized (H, W, C) tiles in reading order, `columns` to a row, as one image."""
    height, width, channels = tiles[0].shape
    rows = math.ceil(len(tiles) / columns)
    sheet = np.zeros((rows * height, columns * width, channels), tiles[0].dtype)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        sheet[row * height:(row + 1) * height, column * width:(column + 1) * width] = tile
    return sheet


def save_png(pixels: np.ndarray, path: Path) -> None:
    """Float RGBA rows (top row first) as an 8-bit PNG, written by Blender's image code."""
    height, width, _ = pixels.shape
    image = bpy.data.images.new(path.stem, width, height, alpha=False)
    try:
        image.pixels.foreach_set(np.ascontiguousarray(pixels[::-1]).ravel())
        image.filepath_raw = str(path)
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)


def render_contact_sheet(scene: bpy.types.Scene, path: Path,
                         progress: Callable[[str], None]) -> list[int]:
    """Render frames spread over the lines and save them as one PNG; returns the frames."""
    frames = sheet_frames(line_spans(scene))
    tiles = []
    with tempfile.TemporaryDirectory(prefix="body-language-demo-") as scratch:
        for number, frame in enumerate(frames, start=1):
            scene.frame_set(frame)
            scene.render.filepath = str(Path(scratch) / f"frame_{frame:05d}.png")
            bpy.ops.render.render(write_still=True)
            tiles.append(_read_pixels(Path(scene.render.filepath)))
            progress(f"rendered frame {frame} ({number}/{len(frames)})")
    scene.frame_set(scene.frame_start)
    save_png(tile_sheet(tiles, SHEET_COLUMNS), path)
    return frames
