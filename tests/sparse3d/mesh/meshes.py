"""Meshes built by hand, scalar references and strategies shared by the mesh tests.

Plain arrays (``SimpleNamespace(vertices, faces)``), independent of graphnn's own shapes, and
the slow references the voxelizer and its triangle-box enumeration are compared against.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from graphnn.sparse3d.mesh.triangle_box import TOLERANCE

if TYPE_CHECKING:
    import trimesh

    from graphnn.sparse3d.mesh.mesh import Mesh

# ---------------------------------------------------------------- meshes built here


def mesh(vertices, faces) -> SimpleNamespace:
    return SimpleNamespace(vertices=np.asarray(vertices, float), faces=np.asarray(faces))


def icosphere(level: int) -> SimpleNamespace:
    """The icosahedron, each triangle split in 4 ``level`` times, on the unit sphere."""
    t = (1 + 5**0.5) / 2
    vertices = [
        [-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t],
        [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1],
    ]  # fmt: skip
    faces = [
        [0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
        [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
        [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1],
    ]  # fmt: skip
    for _ in range(level):
        vertices, faces = split(vertices, faces)
    v = np.array(vertices, float)
    return mesh(v / np.linalg.norm(v, axis=1, keepdims=True), faces)


def split(vertices: list, faces: list) -> tuple[list, list]:
    """Each triangle into 4, through the middles of its edges (shared between neighbours)."""
    vertices, middle = [list(v) for v in vertices], {}

    def mid(a: int, b: int) -> int:
        key = (min(a, b), max(a, b))
        if key not in middle:
            middle[key] = len(vertices)
            vertices.append([(x + y) / 2 for x, y in zip(vertices[a], vertices[b], strict=True)])
        return middle[key]

    new = []
    for a, b, c in faces:
        ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
        new += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
    return vertices, new


def box(size=(1.0, 1.0, 1.0)) -> SimpleNamespace:
    """An axis-aligned box of 12 outward-facing triangles."""
    corners = np.array(list(itertools.product([0, 1], repeat=3)), float) * size
    faces = [
        [0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
        [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3],
    ]  # fmt: skip
    return mesh(corners, faces)


def rotation(seed: int) -> np.ndarray:
    return Rotation.random(random_state=seed).as_matrix()


def triangle_areas(triangles: np.ndarray) -> np.ndarray:
    cross = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    return 0.5 * np.linalg.norm(cross, axis=1)


def voxel_set(coords: np.ndarray) -> set[tuple[int, int, int]]:
    return set(map(tuple, coords.tolist()))


# ---------------------------------------------------------------- scalar references


def separation(triangle, voxel) -> float:
    """How far the 10 non-cube axes of Akenine-Moller's test separate the triangle and the cube.

    Per axis w: the gap between the projections of the triangle and of the cube
    ``voxel + [0, 1]^3``, over ``|w|_1`` (so that the cube grown by ``tau`` on every side
    overlaps on that axis when the gap is at most ``tau``); the largest over the axes.
    """
    centre = [c + 0.5 for c in voxel]
    v = [[p[d] - centre[d] for d in range(3)] for p in triangle]
    e = [[v[(j + 1) % 3][d] - v[j][d] for d in range(3)] for j in range(3)]

    def cross(a, b):
        return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]

    units = [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]
    axes = [cross(e[0], e[1])] + [cross(edge, unit) for edge in e for unit in units]
    worst = -math.inf
    for w in axes:
        size = sum(abs(x) for x in w)
        if size == 0:
            continue
        p = [sum(w[d] * point[d] for d in range(3)) for point in v]
        radius = 0.5 * size
        worst = max(worst, (min(p) - radius) / size, (-max(p) - radius) / size)
    return worst


def reference_voxels(points, faces, size):
    """(voxels that must be active, voxels that may be active), from ``separation``."""
    sure, maybe = set(), set()
    for face in faces:
        triangle = points[face].tolist()
        low = np.maximum(np.floor(points[face].min(axis=0)).astype(int), 0)
        high = np.minimum(np.floor(points[face].max(axis=0)).astype(int), np.array(size) - 1)
        ranges = [range(low[d], high[d] + 1) for d in range(3)]
        for voxel in itertools.product(*ranges):
            gap = separation(triangle, voxel)
            if gap <= TOLERANCE / 2:
                sure.add(voxel)
            if gap <= 2 * TOLERANCE:
                maybe.add(voxel)
    return sure, maybe


def clip(triangle, low, high):
    """The part of a triangle inside the box ``[low, high]`` (Sutherland-Hodgman), a list."""
    polygon = [tuple(p) for p in triangle]
    for d in range(3):
        for bound, sign in ((low[d], 1.0), (high[d], -1.0)):
            out = []
            for a, b in zip(polygon, polygon[1:] + polygon[:1], strict=True):
                da, db = sign * (a[d] - bound), sign * (b[d] - bound)
                if da >= 0:
                    out.append(a)
                if (da >= 0) != (db >= 0):
                    t = da / (da - db)
                    out.append(tuple(x + t * (y - x) for x, y in zip(a, b, strict=True)))
            polygon = out
    return polygon


def polygon_area(polygon) -> float:
    if len(polygon) < 3:
        return 0.0
    p = np.array(polygon)
    return 0.5 * float(np.linalg.norm(np.cross(p[1:-1] - p[0], p[2:] - p[0]).sum(axis=0)))


def as_trimesh(mesh) -> trimesh.Trimesh:
    """The mesh as a ``trimesh.Trimesh``, unprocessed (trimesh is imported when first needed)."""
    import trimesh

    return trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)


def check_closed_outward(mesh: Mesh, genus: int = 0) -> None:
    t = as_trimesh(mesh)
    assert t.is_watertight
    assert t.is_winding_consistent
    assert t.volume > 0  # consistently wound and positive: the normals point outwards
    assert t.euler_number == 2 - 2 * genus
    assert not mesh.degenerate.any()
    assert np.array_equal(np.unique(mesh.faces), np.arange(len(mesh.vertices)))  # all used


# ---------------------------------------------------------------- strategies


coordinate = st.one_of(
    st.integers(-3, 3).map(float),
    st.sampled_from([0.5, -0.5, 1.25, 1e-12, -1e-12, 2.999999999]),
    st.floats(-3, 3, allow_nan=False, allow_subnormal=False),
)


@st.composite
def soups(draw, max_faces: int = 4) -> SimpleNamespace:
    """A few triangles over shared vertices, degenerate ones included."""
    n = draw(st.integers(3, 7))
    vertices = draw(st.lists(st.tuples(coordinate, coordinate, coordinate), min_size=n, max_size=n))
    index = st.integers(0, n - 1)
    faces = draw(st.lists(st.tuples(index, index, index), min_size=1, max_size=max_faces))
    used = np.array(vertices)[np.array(faces)].reshape(-1, 3)
    if np.ptp(used, axis=0).max() == 0:
        faces.append((0, 1, 2))  # all on one point: add a face that may extend it
        used = np.array(vertices)[np.array(faces)].reshape(-1, 3)
    if np.ptp(used, axis=0).max() == 0:
        vertices[0] = (vertices[0][0] + 1.0, *vertices[0][1:])
    return mesh(vertices, faces)


placements = st.fixed_dictionaries(
    {
        "render_size": st.one_of(st.integers(1, 6), st.floats(0.5, 6.0)),
        "rotation": st.one_of(st.none(), st.integers(0, 10**6).map(rotation)),
        "translate": st.one_of(st.none(), st.tuples(*[st.floats(-2, 2)] * 3)),
    }
)
