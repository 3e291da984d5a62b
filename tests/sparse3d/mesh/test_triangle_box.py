"""The triangle-box enumeration: every voxel a triangle meets, against scalar references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

# the modules, not the function of the same name that graphnn.sparse3d exports
from graphnn.sparse3d.mesh import triangle_box, voxelization
from graphnn.sparse3d.mesh.triangle_box import TOLERANCE, surface_pairs
from graphnn.sparse3d.mesh.voxelization import grid_coordinates, voxelize
from tests.sparse3d.mesh.meshes import (
    box,
    clip,
    icosphere,
    mesh,
    placements,
    reference_voxels,
    rotation,
    separation,
    soups,
    voxel_set,
)


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


# ---------------------------------------------------------------- surface_pairs itself


def corners(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``corner [coordinate, vertex, face]``, the layout surface_pairs takes."""
    return np.ascontiguousarray(np.asarray(points, float).T)[:, np.asarray(faces).T]


def pair_set(chunks) -> set[tuple[int, tuple[int, int, int]]]:
    pairs = []
    for face, voxel in chunks:
        assert face.ndim == 1 and voxel.shape == (len(face), 3) and voxel.dtype == np.int64
        pairs += [(int(f), tuple(v)) for f, v in zip(face.tolist(), voxel.tolist(), strict=True)]
    assert len(pairs) == len(set(pairs))  # each pair once
    return set(pairs)


@given(soups(), placements)
def test_surface_pairs_match_the_separating_axes_face_by_face(m, placement):
    points, _ = grid_coordinates(m, **placement)
    pairs = pair_set(surface_pairs(corners(points, m.faces), None))
    for f, face in enumerate(m.faces):
        triangle = points[face]
        low, high = np.floor(triangle.min(axis=0)).astype(int), np.floor(triangle.max(axis=0))
        box_voxels = itertools.product(*[range(low[d], int(high[d]) + 1) for d in range(3)])
        for voxel in box_voxels:
            if separation(triangle.tolist(), voxel) <= TOLERANCE / 2:
                assert (f, voxel) in pairs
    for f, voxel in pairs:
        assert 0 <= f < len(m.faces)
        assert separation(points[m.faces[f]].tolist(), voxel) <= 2 * TOLERANCE


corners_of_a_box = st.tuples(*[st.integers(0, 4)] * 3)


@given(soups(), placements, corners_of_a_box, corners_of_a_box)
def test_bounds_keep_exactly_the_pairs_inside_them(m, placement, a, b):
    points, _ = grid_coordinates(m, **placement)
    low, high = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    corner = corners(points, m.faces)
    every = pair_set(surface_pairs(corner, None))
    inside = {
        (f, v)
        for f, v in every
        if all(lo <= x <= hi for x, lo, hi in zip(v, low, high, strict=True))
    }
    assert pair_set(surface_pairs(corner, (low, high))) == inside


@pytest.mark.parametrize(
    ("gap", "touches"),
    [
        (-0.1, True),  # the hypotenuse crosses the cube
        (0.0, True),  # it passes through the cube's corner
        (TOLERANCE / 2, True),  # it misses the corner by less than the tolerance
        (4 * TOLERANCE, False),  # by more
    ],
)
def test_a_cube_grown_by_the_tolerance_is_met(gap, touches):
    """The hypotenuse x + y = 2 - gap near the corner (1, 1) of voxel (1, 1, 0), in its box."""
    c = 2 - gap
    triangle = [[0.2, 0.2, 0.5], [c - 0.2, 0.2, 0.5], [0.2, c - 0.2, 0.5]]
    pairs = pair_set(surface_pairs(corners(triangle, [[0, 1, 2]]), None))
    assert {voxel for _, voxel in pairs} - {(1, 1, 0)} == {(0, 0, 0), (1, 0, 0), (0, 1, 0)}
    assert ((0, (1, 1, 0)) in pairs) == touches
    assert (separation(triangle, (1, 1, 0)) <= TOLERANCE) == touches  # the reference agrees


def test_the_voxel_box_bounds_the_pairs_whatever_the_tolerance():
    """A flat face within the tolerance of a voxel boundary stays in its own voxel box."""
    for z, voxel in [
        (1.0, (0, 0, 1)),
        (1 + TOLERANCE / 2, (0, 0, 1)),
        (1 - TOLERANCE / 2, (0, 0, 0)),
    ]:
        triangle = [[0.2, 0.2, z], [0.8, 0.2, z], [0.2, 0.8, z]]
        pairs = pair_set(surface_pairs(corners(triangle, [[0, 1, 2]]), None))
        assert {v for _, v in pairs} == {voxel}


@pytest.mark.parametrize("columns", [1, 3, 1 << 12])
def test_chunks_of_any_size_give_the_same_pairs(monkeypatch, columns):
    m = icosphere(2)
    points, _ = grid_coordinates(m, 13, rotation=rotation(7))
    corner = corners(points, m.faces)
    expected = pair_set(surface_pairs(corner, None))
    monkeypatch.setattr(triangle_box, "_COLUMNS_PER_CHUNK", columns)
    chunks = list(surface_pairs(corner, None))
    assert pair_set(chunks) == expected
    if columns == 1:
        assert len(chunks) >= len(m.faces)  # every face has at least one column of its own


def test_faces_clipped_away_or_on_no_voxel_give_no_pairs():
    far = [[50.0, 50.0, 50.0], [51.0, 50.0, 50.0], [50.0, 51.0, 50.0]]
    corner = corners(far, [[0, 1, 2]])
    assert pair_set(surface_pairs(corner, (np.zeros(3, np.int64), np.full(3, 9)))) == set()
    assert pair_set(surface_pairs(corners(np.zeros((3, 3)), np.zeros((0, 3), int)), None)) == set()
