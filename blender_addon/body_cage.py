"""A subdivision cage built by extruding tubes of rings out of each other (numpy, no bpy).

The preview body is one closed polygon mesh: a torso tube whose end and side faces are replaced
by the tubes of the legs, arms, neck, fingers and feet, so the skin runs on without a seam from
one part into the next. Blender's Subdivision Surface modifier rounds it, pulling the surface in:
a four-point ring on an ellipse of radius r becomes a near circle of radius ~0.66 r. Each ring
carries its skin weights, so weights blend along a limb as the rings do.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

Weights = Mapping[str, float]
# A ring's weights: one mapping for all its points, or a rule giving each point its own.
RingWeights = Weights | Callable[[np.ndarray], list[Weights]]


@dataclass(frozen=True)
class Ring:
    """A cross-section: `centre`, its in-plane axes `u` and `v` (unit, perpendicular), and the
    half-extents along +u, -u, +v and -v (a lopsided ellipse: a chest deeper in front)."""

    centre: np.ndarray
    u: np.ndarray
    v: np.ndarray
    extents: tuple[float, float, float, float]
    weights: RingWeights

    def points(self, sides: int) -> np.ndarray:
        """`sides` points around the ring, starting half a step past +u, turning towards +v."""
        angles = 2 * np.pi * (np.arange(sides) + 0.5) / sides
        cos, sin = np.cos(angles), np.sin(angles)
        along_u = np.where(cos > 0, self.extents[0], self.extents[1]) * cos
        along_v = np.where(sin > 0, self.extents[2], self.extents[3]) * sin
        return self.centre + along_u[:, None] * self.u + along_v[:, None] * self.v


def frame(direction: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) perpendicular to `direction`, u as close to `up` as the direction allows."""
    w = direction / np.linalg.norm(direction)
    u = up - (up @ w) * w
    u /= np.linalg.norm(u)
    return u, np.cross(w, u)


@dataclass
class Cage:
    """Vertices, polygons and per-vertex skin weights ({bone name: weight}) under construction."""

    vertices: list[np.ndarray] = field(default_factory=list)
    faces: list[tuple[int, ...]] = field(default_factory=list)
    weights: list[Weights] = field(default_factory=list)

    def add_points(self, points: np.ndarray, weights: Weights | Sequence[Weights]) -> list[int]:
        start = len(self.vertices)
        self.vertices.extend(np.asarray(points, dtype=np.float64))
        per_point = [weights] * len(points) if isinstance(weights, Mapping) else list(weights)
        self.weights.extend(per_point)
        return list(range(start, len(self.vertices)))

    def add_ring(self, ring: Ring, sides: int) -> list[int]:
        points = ring.points(sides)
        weights = ring.weights if isinstance(ring.weights, Mapping) else ring.weights(points)
        return self.add_points(points, weights)

    def bridge(self, first: Sequence[int], second: Sequence[int]) -> None:
        """Quads between two loops of equal length whose i-th vertices face each other."""
        count = len(first)
        self.faces.extend((first[i], first[(i + 1) % count], second[(i + 1) % count], second[i])
                          for i in range(count))

    def remove_face(self, loop: Sequence[int]) -> None:
        """Drop the polygon with exactly these vertices: a tube grows out of its hole."""
        wanted = frozenset(loop)
        self.faces = [face for face in self.faces if frozenset(face) != wanted]

    def side_face(self, first: Sequence[int], second: Sequence[int], index: int) -> list[int]:
        """The loop of the quad `bridge(first, second)` made at `index`."""
        count = len(first)
        return [first[index], first[(index + 1) % count], second[(index + 1) % count],
                second[index]]

    def facing_face(self, first: Sequence[int], second: Sequence[int],
                    direction: np.ndarray) -> list[int]:
        """The loop of the quad between two bridged rings that faces most along `direction`."""
        points = np.array(self.vertices)
        middle = points[list(first) + list(second)].mean(axis=0)
        loops = [self.side_face(first, second, index) for index in range(len(first))]
        return max(loops, key=lambda loop: float((points[loop].mean(axis=0) - middle)
                                                 @ direction))

    def extrude(self, loop: Sequence[int], rings: Sequence[Ring],
                cap: bool = True) -> list[list[int]]:
        """Replace the face `loop` by a tube through `rings` (as many sides as the loop has
        corners, matched to them so it does not twist), closed at its end unless `cap` is
        False; returns the loop and each ring's vertices."""
        self.remove_face(loop)
        previous = aligned_loop(np.array([self.vertices[i] for i in loop]), list(loop), rings[0])
        loops = [previous]
        for ring in rings:
            current = self.add_ring(ring, len(previous))
            self.bridge(previous, current)
            loops.append(current)
            previous = current
        if cap:
            self.faces.append(tuple(previous))
        return loops


def aligned_loop(points: np.ndarray, loop: list[int], ring: Ring) -> list[int]:
    """`loop` turned and, if need be, reversed so its i-th vertex lies the way the ring's i-th
    point does from its centre: bridging then makes no twisted quads."""
    targets = ring.points(len(loop)) - ring.centre
    targets /= np.linalg.norm(targets, axis=1, keepdims=True)
    offsets = points - points.mean(axis=0)
    offsets /= np.linalg.norm(offsets, axis=1, keepdims=True)
    best, best_score = loop, -np.inf
    for order in (list(range(len(loop))), list(reversed(range(len(loop))))):
        for shift in range(len(loop)):
            indices = order[shift:] + order[:shift]
            score = float(np.sum(offsets[indices] * targets))
            if score > best_score:
                best, best_score = [loop[i] for i in indices], score
    return best


def orient_outward(vertices: np.ndarray, faces: list[tuple[int, ...]]
                   ) -> list[tuple[int, ...]]:
    """The faces wound consistently over each connected shell (a neighbour across an edge runs
    that edge the other way), each shell's normals pointing out (positive enclosed volume)."""
    edge_faces: dict[tuple[int, int], list[int]] = {}
    for index, face in enumerate(faces):
        for a, b in zip(face, face[1:] + face[:1], strict=True):
            edge_faces.setdefault((min(a, b), max(a, b)), []).append(index)
    oriented: list[tuple[int, ...] | None] = [None] * len(faces)
    for seed in range(len(faces)):
        if oriented[seed] is not None:
            continue
        oriented[seed] = faces[seed]
        shell, queue = [seed], deque([seed])
        while queue:
            current = oriented[queue.popleft()]
            assert current is not None
            for a, b in zip(current, current[1:] + current[:1], strict=True):
                for other in edge_faces[(min(a, b), max(a, b))]:
                    if oriented[other] is None:
                        face = faces[other]
                        runs_same_way = any(face[i] == a and face[(i + 1) % len(face)] == b
                                            for i in range(len(face)))
                        oriented[other] = tuple(reversed(face)) if runs_same_way else face
                        shell.append(other)
                        queue.append(other)
        if enclosed_volume(vertices, [oriented[i] for i in shell]) < 0:
            for i in shell:
                oriented[i] = tuple(reversed(oriented[i]))
    return [face for face in oriented if face is not None]


def enclosed_volume(vertices: np.ndarray, faces: Sequence[Sequence[int]]) -> float:
    """Signed volume inside a closed mesh (positive when its normals point out), by fanning
    each polygon into triangles."""
    total = 0.0
    for face in faces:
        a = vertices[face[0]]
        for b, c in zip(face[1:-1], face[2:], strict=True):
            total += float(np.dot(a, np.cross(vertices[b], vertices[c])))
    return total / 6.0


def weight_matrix(weights: Sequence[Weights], bone_names: Sequence[str]) -> np.ndarray:
    """(vertices, bones) skin weights, each row summing to one."""
    column = {name: index for index, name in enumerate(bone_names)}
    matrix = np.zeros((len(weights), len(bone_names)))
    for row, vertex in enumerate(weights):
        for name, weight in vertex.items():
            matrix[row, column[name]] += weight
    return matrix / matrix.sum(axis=1, keepdims=True)
