"""voxelize: coverage of closed meshes, placement and the grid, features, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage

from graphnn.exceptions import MeshError
from graphnn.sparse3d.mesh.voxelization import grid_coordinates, voxelize
from tests.conftest import require_peer
from tests.sparse3d.mesh.meshes import (
    box,
    clip,
    icosphere,
    mesh,
    placements,
    polygon_area,
    rotation,
    soups,
    triangle_areas,
    voxel_set,
)


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


@pytest.mark.parametrize(
    ("m", "match"),
    [
        (mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, np.inf]], [[0, 1, 2], [1, 2, 3]]),
         r"^vertex 3 is not finite"),
        (mesh(np.eye(3), [[0, 1, 2], [0, 1, 2], [2, 1, 5]]), r"^face 2 is \[2, 1, 5\]"),
        (mesh(np.eye(3), [[0, 1, 2]] * 2 + [[-1, 0, 1]]), r"^face 2 is \[-1, 0, 1\]"),
        (mesh(np.zeros((3, 3)), np.zeros((0, 3), int)), "^the mesh has no faces"),
        (mesh(np.ones((3, 3)), [[0, 1, 2]]), "^the mesh's faces all lie on the point"),
    ],
)  # fmt: skip
def test_bad_meshes_raise_a_mesh_error_naming_the_row(m, match):
    with pytest.raises(MeshError, match=match) as info:
        voxelize(m, 4)
    assert isinstance(info.value, ValueError)
