"""voxelize: the exact overlap test against scalar references, coverage, features, errors."""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage
from scipy.spatial.transform import Rotation

# the module, not the function of the same name that graphnn.sparse3d exports
from graphnn.sparse3d.mesh import triangle_box, voxelization
from graphnn.sparse3d.mesh.voxelization import TOLERANCE, grid_coordinates, voxelize
from tests.conftest import require_peer

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


# ---------------------------------------------------------------- the overlap test


@given(soups(), placements)
def test_voxels_match_the_scalar_reference(m, placement):
    points, size = grid_coordinates(m, **placement)
    coords, features = voxelize(m, **placement)
    ours = voxel_set(coords)
    sure, maybe = reference_voxels(points, m.faces, size)
    assert sure <= ours <= maybe
    assert len(ours) == len(coords)  # no duplicates
    assert coords.tolist() == sorted(coords.tolist())
    assert coords.dtype == np.int32 and features.dtype == np.float32
    assert features.shape == (len(coords), 1) and (features == 1).all()


@given(soups(), placements)
def test_every_vertex_voxel_is_active(m, placement):
    points, size = grid_coordinates(m, **placement)
    ours = voxel_set(voxelize(m, **placement)[0])
    for v in np.unique(m.faces):
        voxel = tuple(np.floor(points[v]).astype(int).tolist())
        assert voxel in ours, (v, points[v])
        assert all(0 <= x < s for x, s in zip(voxel, size, strict=True))  # the default grid


@given(soups(max_faces=2), placements)
def test_voxels_lie_between_shrunk_and_grown_cubes(m, placement):
    """Independent of the separating axes: clip each triangle to each cube of its box."""
    points, _ = grid_coordinates(m, **placement)
    ours = voxel_set(voxelize(m, **placement)[0])
    delta = 1e-6
    touched = set()
    for face in m.faces:
        triangle = points[face].tolist()
        low = np.floor(points[face].min(axis=0)).astype(int)
        high = np.floor(points[face].max(axis=0)).astype(int)
        for voxel in itertools.product(*[range(low[d], high[d] + 1) for d in range(3)]):
            corner = np.array(voxel, float)
            if clip(triangle, corner + delta, corner + 1 - delta):
                assert voxel in ours
            if clip(triangle, corner - delta, corner + 1 + delta):
                touched.add(voxel)
    assert ours <= touched


def test_faces_on_voxel_boundaries_make_one_layer():
    """A 4-voxel cube with its faces on the planes 1 and 5 activates the shell [1, 5]^3."""
    cube = box()
    points, size = grid_coordinates(cube, 4, spatial_size=6)
    assert size == (6, 6, 6) and set(points.ravel().tolist()) == {1.0, 5.0}
    coords, _ = voxelize(cube, 4, spatial_size=6)
    shell = {v for v in itertools.product(range(1, 6), repeat=3) if {1, 5} & set(v)}
    assert voxel_set(coords) == shell


def test_touching_counts_inside_the_box_only():
    """The hypotenuse x + y = 4 passes through grid points: those cubes count, within the box."""
    triangle = mesh([[0, 0, 0.5], [4, 0, 0.5], [0, 4, 0.5]], [[0, 1, 2]])
    points, _ = grid_coordinates(triangle, 4, spatial_size=(5, 5, 1))
    assert points.tolist() == [[0.5, 0.5, 0.5], [4.5, 0.5, 0.5], [0.5, 4.5, 0.5]]
    coords, _ = voxelize(triangle, 4, spatial_size=(5, 5, 1), translate=[-0.5, -0.5, 0])
    assert voxel_set(coords) == {(i, j, 0) for i in range(5) for j in range(5) if i + j <= 4}


def test_large_and_thin_triangles_have_no_holes():
    rng = np.random.default_rng(5)
    large = mesh([[0, 0, 0], [1, 0.3, 0.1], [0.2, 0.9, 1]], [[0, 1, 2]])
    thin = mesh([[0, 0, 0], [1, 0.37, 0.11], [1, 0.37 + 1e-7, 0.11]], [[0, 1, 2]])
    for m, render in [(large, 97), (thin, 61.5)]:
        points, _ = grid_coordinates(m, render)
        ours = voxel_set(voxelize(m, render)[0])
        weights = rng.dirichlet([1, 1, 1], size=200_000)
        weights[:3] = np.eye(3)
        samples = np.floor(weights @ points[m.faces[0]]).astype(int)
        assert voxel_set(samples) <= ours
        # and nothing far from the plane of the triangle
        a, b, c = points[m.faces[0]]
        normal = np.cross(b - a, c - a)
        normal /= np.linalg.norm(normal)
        centres = np.array(sorted(ours)) + 0.5
        assert np.abs((centres - a) @ normal).max() <= np.abs(normal).sum() / 2 + 1e-6


def test_degenerate_faces_mark_their_segment_without_nan():
    segment = mesh([[0, 0, 0], [1, 1, 1], [2, 2, 2], [0, 3, 0]], [[0, 1, 2], [3, 3, 3]])
    coords, features = voxelize(segment, 6, features=("ones", "area", "normal"))
    points, size = grid_coordinates(segment, 6)
    sure, maybe = reference_voxels(points, segment.faces, size)
    assert sure <= voxel_set(coords) <= maybe
    assert np.isfinite(features).all()
    assert (features[:, 1:] == 0).all()  # no area, no normal
    assert tuple(np.floor(points[3]).astype(int)) in voxel_set(coords)


@pytest.mark.parametrize("columns", [1, 7])
def test_chunking_does_not_change_the_result(monkeypatch, columns):
    m = icosphere(1)
    options = dict(rotation=rotation(3), features=("ones", "area", "normal"))
    expected = voxelize(m, 11, **options)
    points, _ = grid_coordinates(m, 11, rotation=rotation(3))
    monkeypatch.setattr(triangle_box, "_COLUMNS_PER_CHUNK", columns)
    monkeypatch.setattr(voxelization, "_PAIRS_PER_CHUNK", 5)
    chunks = list(triangle_box.surface_pairs(np.ascontiguousarray(points.T)[:, m.faces.T], None))
    assert len(chunks) > len(m.faces) // (columns * 4)  # the chunks are small
    got = voxelize(m, 11, **options)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------- closed meshes


@given(
    st.sampled_from([0, 1, 2]),
    st.one_of(st.integers(2, 24), st.floats(1.5, 24.0)),
    st.integers(0, 10**6),
)
def test_closed_meshes_give_26_connected_voxels(level, render_size, seed):
    for m in (icosphere(level), box((1.0, 0.4, 0.7))):
        coords, _ = voxelize(m, render_size, rotation=rotation(seed))
        dense = np.zeros(tuple(coords.max(axis=0) + 1), dtype=bool)
        dense[tuple(coords.T)] = True
        _, components = ndimage.label(dense, structure=np.ones((3, 3, 3)))
        assert components == 1


@pytest.mark.parametrize("render_size", [16, 40, 100])
def test_counts_scale_with_the_surface_area(render_size):
    """A voxel has unit faces: a surface of area A needs between A / sqrt(3) and ~3 A voxels."""
    rng = np.random.default_rng(render_size)
    sphere, cube = icosphere(3), box()
    for m, area in [(sphere, math.pi * render_size**2), (cube, 6 * render_size**2)]:
        seeds = rng.integers(0, 10**6, size=4)
        counts = [len(voxelize(m, render_size, rotation=rotation(s))[0]) for s in seeds]
        assert all(area / 3**0.5 <= count <= 3 * area for count in counts)
        assert max(counts) / min(counts) < 1.5  # rotations change the count by a bounded factor
        _, features = voxelize(m, render_size, rotation=rotation(seeds[0]), features="area")
        placed = triangle_areas(grid_coordinates(m, render_size)[0][m.faces]).sum()
        assert math.isclose(features.sum(dtype=float), placed, rel_tol=1e-5)


def test_an_axis_aligned_cube_needs_few_voxels_and_a_rotated_one_more():
    aligned = len(voxelize(box(), 40)[0])
    assert aligned == 41**3 - 39**3
    tilted = [len(voxelize(box(), 40, rotation=rotation(s))[0]) for s in range(5)]
    assert all(aligned < t < 2.5 * aligned for t in tilted)


def test_covers_the_surface_voxels_of_trimesh():
    """trimesh marks the voxels of points on the (subdivided) surface: all are ours."""
    trimesh = require_peer("trimesh")
    for m, render_size, seed in [(icosphere(2), 32, 1), (box((1, 0.5, 0.3)), 50, 2)]:
        points, _ = grid_coordinates(m, render_size, rotation=rotation(seed))
        ours = voxel_set(voxelize(m, render_size, rotation=rotation(seed))[0])
        # trimesh rounds: its voxel n is [n - 1/2, n + 1/2), so shift by half a voxel
        grid = trimesh.Trimesh(points - 0.5, m.faces, process=False).voxelized(1.0)
        theirs = voxel_set(grid.sparse_indices + np.round(grid.transform[:3, 3]).astype(int))
        assert len(theirs & ours) / len(theirs) == 1.0
        assert len(ours) >= len(theirs)


# ---------------------------------------------------------------- placement and the grid


def test_placement_order_is_rotate_affine_translate():
    m = mesh([[0, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 0.5]], [[0, 1, 2], [0, 1, 3]])
    r, a, t = rotation(9), np.array([[1, 0.2, 0], [0, 0.9, 0.1], [0.05, 0, 1.1]]), [0.5, -1, 2]
    points, size = grid_coordinates(m, 10, rotation=r, affine=a, translate=t, spatial_size=30)
    centred = (m.vertices - [1, 0.5, 0.25]) * 5
    np.testing.assert_allclose(points, centred @ r.T @ a.T + t + 15, atol=1e-12)
    assert size == (30, 30, 30)


@given(
    st.floats(0.5, 50),
    st.one_of(st.none(), st.integers(0, 10**6).map(rotation)),
    st.one_of(st.none(), st.tuples(*[st.floats(-5, 5)] * 3)),
)
def test_the_default_grid_holds_any_mesh(render_size, rot, shift):
    """The default size fits the worst case, the box's corners, and is the smallest that does."""
    cube = box()
    points, size = grid_coordinates(cube, render_size, rotation=rot, translate=shift)
    assert size[0] == size[1] == size[2]
    assert (points > 0).all() and (points < size[0]).all()
    reach = np.abs(points - size[0] / 2).max()
    assert size[0] - 1 <= 2 * reach * (1 + 1e-9) < size[0]


def test_outside_voxels_are_filtered_clamped_or_refused():
    m, r = icosphere(1), rotation(4)
    big = voxelize(m, 12, rotation=r, spatial_size=30)[0].astype(int) - 10  # centre 15 -> 5
    filtered = voxelize(m, 12, rotation=r, spatial_size=10)[0]
    inside = big[((big >= 0) & (big < 10)).all(axis=1)]
    assert voxel_set(filtered) == voxel_set(inside)
    clamped, features = voxelize(
        m, 12, rotation=r, spatial_size=10, outside="clamp", features=("ones", "area")
    )
    assert voxel_set(clamped) == voxel_set(np.clip(big, 0, 9))
    assert len(voxel_set(clamped)) == len(clamped)
    placed = triangle_areas(grid_coordinates(m, 12, rotation=r)[0][m.faces]).sum()
    assert math.isclose(features[:, 1].sum(dtype=float), placed, rel_tol=1e-5)
    with pytest.raises(ValueError, match=r"outside the grid of spatial_size \[10, 10, 10\]"):
        voxelize(m, 12, rotation=r, spatial_size=10, outside="raise")
    shifted = voxelize(m, 12, rotation=r, spatial_size=(30, 8, 30), outside="filter")[0]
    assert shifted[:, 1].max() < 8


# ---------------------------------------------------------------- features


@given(soups(max_faces=3), placements)
def test_areas_match_scalar_clipping(m, placement):
    points, _ = grid_coordinates(m, **placement)
    coords, features = voxelize(m, **placement, features=("area", "ones", "normal"))
    assert features.shape == (len(coords), 5) and (features[:, 1] == 1).all()
    triangles = points[m.faces]
    expected = [
        sum(polygon_area(clip(t.tolist(), voxel, voxel + 1)) for t in triangles)
        for voxel in coords.astype(float)
    ]
    np.testing.assert_allclose(features[:, 0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        features[:, 0].sum(), triangle_areas(triangles).sum(), rtol=1e-5, atol=1e-6
    )
    assert (np.linalg.norm(features[:, 2:], axis=1) <= 1 + 1e-6).all()


def test_normals_of_a_plane_and_a_sphere():
    square = mesh([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 3]])
    coords, features = voxelize(square, 8, features=("area", "normal"))
    touched = features[:, 0] > 0
    np.testing.assert_allclose(features[touched, 1:], [[0, 0, 1]] * int(touched.sum()), atol=1e-6)
    assert (features[~touched, 1:] == 0).all()
    _, size = grid_coordinates(icosphere(3), 30)
    coords, features = voxelize(icosphere(3), 30, features=("area", "normal"))
    solid = features[:, 0] > 0.05
    outward = coords[solid] + 0.5 - np.array(size) / 2
    cosine = (features[solid, 1:] * outward).sum(axis=1) / np.linalg.norm(outward, axis=1)
    assert cosine.min() > 0.95


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"render_size": 0}, ValueError, "render_size must be a positive finite number"),
        ({"render_size": math.inf}, ValueError, "render_size must be a positive finite number"),
        ({"render_size": True}, TypeError, "render_size must be a positive number"),
        ({"rotation": np.eye(2)}, ValueError, r"rotation must be a 3x3 matrix, got shape \[2, 2\]"),
        ({"rotation": np.diag([1, 1, -1])}, ValueError, "proper rotation"),
        ({"rotation": 2 * np.eye(3)}, ValueError, "pass other matrices as affine="),
        ({"affine": np.full((3, 3), np.nan)}, ValueError, "affine must be finite"),
        ({"affine": "identity"}, TypeError, "affine must be a 3x3 array of numbers"),
        ({"translate": [1, 2]}, ValueError, r"translate must have shape \[3\]"),
        ({"translate": [1, 2, np.inf]}, ValueError, "translate must be finite"),
        ({"features": "colour"}, ValueError, "unknown feature 'colour'; the features are 'ones'"),
        ({"features": ("area", "curvature")}, ValueError, "'ones', 'area', 'normal'"),
        ({"features": ()}, ValueError, "features names no feature"),
        ({"features": 3}, TypeError, "features must be a name or a sequence"),
        ({"outside": "wrap"}, ValueError, "outside must be one of 'filter', 'clamp', 'raise'"),
        ({"spatial_size": 0}, ValueError, r"spatial_size\[0\] must be at least 1"),
        ({"spatial_size": (4, 4)}, ValueError, "spatial_size must be one int or 3 positive ints"),
        ({"spatial_size": 2.5}, TypeError, r"spatial_size\[0\] must be an int"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    arguments = {"render_size": 4, **kwargs}
    with pytest.raises(error, match=match):
        voxelize(box(), **arguments)


@pytest.mark.parametrize(
    ("m", "error", "match"),
    [
        (mesh(np.zeros((3, 3)), np.zeros((0, 3), int)), ValueError, "the mesh has no faces"),
        (mesh(np.ones((3, 3)), [[0, 1, 2]]), ValueError, r"all lie on the point \[1.0, 1.0, 1.0\]"),
        (mesh(np.eye(3), [[0, 1, 3]]), ValueError, r"face 0 is \[0, 1, 3\], but vertex indices"),
        (mesh([[0, 0, np.nan], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]]), ValueError, "vertex 0 is not"),
        (mesh(np.eye(3), [[0.0, 1.0, 2.0]]), TypeError, "faces must be integer vertex indices"),
        (mesh(np.eye(2), [[0, 1, 1]]), ValueError, r"vertices must have shape \[V, 3\]"),
        (np.eye(3), TypeError, "mesh must have vertices and faces"),
    ],
)
def test_bad_meshes_are_named(m, error, match):
    with pytest.raises(error, match=match):
        voxelize(m, 4)


@pytest.mark.parametrize("size", [4, 100])  # the bitmap and the sort paths
@pytest.mark.parametrize("features", ["ones", ("ones", "area", "normal")])
def test_a_mesh_outside_the_grid_gives_no_voxels(size, features):
    coords, values = voxelize(box(), 3, spatial_size=size, translate=[500, 0, 0], features=features)
    assert coords.shape == (0, 3) and coords.dtype == np.int32
    assert values.shape == (0, 1 if features == "ones" else 5) and values.dtype == np.float32


def test_a_mesh_object_voxelizes_like_its_arrays():
    from graphnn.sparse3d.mesh.mesh import Mesh

    sphere = icosphere(1)
    options = dict(rotation=rotation(5), features=("ones", "area", "normal"))
    got = voxelize(Mesh(sphere.vertices, sphere.faces), 9, **options)
    expected = voxelize(sphere, 9, **options)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
