import copy
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from graphnn.exceptions import GraphnnError, MeshError
from graphnn.sparse3d.mesh.mesh import Mesh

TRIANGLE = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


@st.composite
def meshes(draw: st.DrawFn, max_vertices: int = 8, max_faces: int = 12, scale: float = 1e3) -> Mesh:
    """Meshes with small integer-ish or arbitrary coordinates; repeated indices allowed."""
    count = draw(st.integers(1, max_vertices))
    grid = draw(st.booleans())  # small integers make exact degeneracies likely
    elements = (
        st.integers(-2, 2).map(float)
        if grid
        else st.floats(-scale, scale, allow_nan=False, allow_subnormal=False)
    )
    vertices = draw(hnp.arrays(np.float64, (count, 3), elements=elements))
    faces = draw(
        hnp.arrays(
            np.int64, (draw(st.integers(0, max_faces)), 3), elements=st.integers(0, count - 1)
        )
    )
    return Mesh(vertices, faces)


def reference_geometry(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    corners = mesh.vertices[mesh.faces]
    edges = np.stack([corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]], axis=1)
    # each face's edges scaled by a power of two (exact) so that tiny faces do not underflow
    largest = np.abs(edges).max(axis=(1, 2), initial=0.0)
    _, exponent = np.frexp(np.where(largest > 0, largest, 1.0))
    scaled = np.ldexp(edges, -exponent[:, None, None])
    cross = np.cross(scaled[:, 0], scaled[:, 1]).reshape(-1, 3)
    size = np.abs(cross).max(axis=1, initial=0.0)  # the norm of a tiny vector, not of its squares
    with np.errstate(invalid="ignore", divide="ignore"):
        length = size * np.linalg.norm(cross / np.where(size > 0, size, 1.0)[:, None], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        normals = np.where(length[:, None] > 0, cross / length[:, None], 0.0)
    return np.ldexp(0.5 * length, 2 * exponent), normals


# --- construction ----------------------------------------------------------------------


def test_fields_are_float64_and_int64_copies():
    vertices = np.array(TRIANGLE, dtype=np.float32)
    faces = [[0, 1, 2]]
    mesh = Mesh(vertices, faces)
    assert mesh.vertices.dtype == np.float64 and mesh.faces.dtype == np.int64
    vertices[0, 0] = 9.0
    assert mesh.vertices[0, 0] == 0.0
    assert mesh.vertex_colors is None and mesh.face_colors is None
    assert list(mesh.fields()) == ["vertices", "faces"]


def test_empty_sequences_are_an_empty_mesh():
    mesh = Mesh([], [])
    assert mesh.vertices.shape == (0, 3) and mesh.faces.shape == (0, 3)
    assert repr(mesh) == "Mesh(0 vertices, 0 faces)"


def test_integer_valued_float_faces_are_accepted():
    assert Mesh(TRIANGLE, np.array([[0.0, 1.0, 2.0]])).faces.tolist() == [[0, 1, 2]]


@pytest.mark.parametrize(
    ("vertices", "faces", "error", "match"),
    [
        ([0.0, 1.0, 2.0], [], ValueError, r"vertices must have shape \[N, 3\], got \[3\]"),
        ([[0.0, 1.0]], [], ValueError, r"vertices must have shape \[N, 3\], got \[1, 2\]"),
        ([[0, 0, 0], [0, np.nan, 0]], [], ValueError, r"vertices\[1\] is not finite"),
        ([[0, 0, 0], [np.inf, 0, 0]], [], ValueError, r"vertices\[1\] is not finite"),
        ([["a", "b", "c"]], [], TypeError, "vertices must be an array of numbers"),
        (
            TRIANGLE,
            [0, 1, 2],
            ValueError,
            r"faces must have shape \[F, 3\] \(triangles\), got \[3\]",
        ),
        (TRIANGLE, [[0, 1, 2, 0]], ValueError, r"faces must have shape \[F, 3\]"),
        (
            TRIANGLE,
            [[0, 1, 2], [0, 1, 3]],
            ValueError,
            r"faces\[1\] holds vertex index 3, outside \[0, 3\)",
        ),
        (TRIANGLE, [[0, -1, 2]], ValueError, r"faces\[0\] holds vertex index -1"),
        (TRIANGLE, [[0, 1.5, 2]], ValueError, r"faces\[0\] holds 1.5, not a vertex index"),
        (TRIANGLE, [[0, np.nan, 2]], ValueError, r"faces\[0\] holds nan"),
        (TRIANGLE, [[True, False, True]], TypeError, "faces must be integer vertex indices"),
        (TRIANGLE, [["0", "1", "2"]], TypeError, "faces must be integer vertex indices"),
    ],
)
def test_bad_vertices_and_faces_are_named(vertices, faces, error, match):
    with pytest.raises(error, match=match):
        Mesh(vertices, faces)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        (
            {"vertex_colors": [[1.0]] * 2},
            r"vertex_colors must have one row per vertex \(3\), got 2",
        ),
        (
            {"vertex_colors": np.ones((3, 5))},
            r"vertex_colors must have shape \[N, 1 or 2 or 3 or 4\]",
        ),
        ({"vertex_colors": [[1.0], [np.nan], [1.0]]}, r"vertex_colors\[1\] is not finite"),
        ({"vertex_normals": np.ones((3, 2))}, r"vertex_normals must have shape \[N, 3\]"),
        ({"texture_coords": np.ones((3, 3))}, r"texture_coords must have shape \[N, 2\]"),
        ({"texture_coords": [[0, 0], [0, 0], [0, np.inf]]}, r"texture_coords\[2\] is not finite"),
        ({"face_colors": np.ones((2, 3))}, r"face_colors must have one row per face \(1\), got 2"),
        ({"face_colors": [[1.0, np.inf]]}, r"face_colors\[0\] is not finite"),
        ({"face_colors": [[np.nan, 1.0]]}, r"face_colors\[0\] has a number after a NaN"),
    ],
)
def test_bad_optional_fields_are_named(fields, match):
    with pytest.raises(ValueError, match=match):
        Mesh(TRIANGLE, [[0, 1, 2]], **fields)


def test_face_colors_drop_columns_that_are_absent_everywhere():
    mesh = Mesh(
        TRIANGLE, [[0, 1, 2]] * 2, face_colors=[[1, 2, np.nan, np.nan], [3, np.nan, np.nan, np.nan]]
    )
    assert mesh.face_colors.shape == (2, 2)
    assert Mesh(TRIANGLE, [[0, 1, 2]], face_colors=[[np.nan, np.nan]]).face_colors is None
    assert Mesh(TRIANGLE, [], face_colors=np.zeros((0, 3))).face_colors is None


# --- immutability, equality, repr ------------------------------------------------------


def test_mesh_is_immutable():
    mesh = Mesh(TRIANGLE, [[0, 1, 2]], vertex_normals=np.eye(3), face_colors=[[1.0]])
    for array in mesh.fields().values():
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 1
    with pytest.raises(AttributeError, match="Mesh is immutable"):
        mesh.vertices = np.zeros((3, 3))
    with pytest.raises(AttributeError, match="Mesh is immutable"):
        mesh.extra = 1
    with pytest.raises(TypeError, match="unhashable"):
        hash(mesh)


def test_pickle_and_copy_keep_the_mesh_read_only():
    mesh = Mesh(TRIANGLE, [[0, 1, 2]], texture_coords=np.ones((3, 2)), face_colors=[[1.0, np.nan]])
    for clone in (pickle.loads(pickle.dumps(mesh)), copy.copy(mesh), copy.deepcopy(mesh)):
        assert clone == mesh
        assert not clone.vertices.flags.writeable and not clone.texture_coords.flags.writeable


def test_equality_is_exact_over_every_field():
    mesh = Mesh(TRIANGLE, [[0, 1, 2]], face_colors=[[1.0, 0.5, np.nan]])
    assert mesh == Mesh(np.array(TRIANGLE), np.array([[0, 1, 2]]), face_colors=[[1.0, 0.5]])
    assert mesh != Mesh(TRIANGLE, [[0, 1, 2]], face_colors=[[1.0, 0.5, 0.0]])
    assert mesh != Mesh(TRIANGLE, [[0, 1, 2]])
    assert mesh != Mesh(TRIANGLE, [[0, 2, 1]], face_colors=[[1.0, 0.5]])
    assert Mesh(TRIANGLE, []) != Mesh(TRIANGLE[:2], [])
    assert Mesh(TRIANGLE, [[0, 1, 2]]) != Mesh(np.nextafter(TRIANGLE, 2), [[0, 1, 2]])
    assert mesh != "a mesh"


def test_repr_counts_vertices_faces_and_fields():
    mesh = Mesh(TRIANGLE, [[0, 1, 2]], vertex_colors=np.ones((3, 4)), face_colors=[[1.0]])
    assert repr(mesh) == "Mesh(3 vertices, 1 faces; vertex_colors [3, 4], face_colors [1, 1])"


# --- geometry --------------------------------------------------------------------------


def test_bounds():
    assert Mesh([[1, 2, 3], [-1, 5, 0]], []).bounds.tolist() == [[-1, 2, 0], [1, 5, 3]]
    with pytest.raises(ValueError, match="without vertices"):
        _ = Mesh([], []).bounds


def test_degenerate_faces_have_zero_area_and_zero_normals():
    vertices = [[0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 1, 0], [0, 1, 0]]
    faces = [[0, 1, 3], [0, 0, 3], [0, 1, 2], [0, 3, 4], [1, 1, 1]]
    mesh = Mesh(vertices, faces, face_colors=[[1.0], [2.0], [3.0], [4.0], [5.0]])
    assert mesh.degenerate.tolist() == [False, True, True, True, True]
    assert mesh.face_areas.tolist() == [0.5, 0, 0, 0, 0]
    assert mesh.face_normals.tolist() == [[0, 0, 1]] + [[0, 0, 0]] * 4
    kept = mesh.without_degenerate()
    assert kept.faces.tolist() == [[0, 1, 3]] and kept.face_colors.tolist() == [[1.0]]
    assert len(kept.vertices) == 5


def test_huge_and_tiny_coordinates_give_finite_unit_normals():
    for scale in (1e300, 1e-300, 1e-310):
        mesh = Mesh(np.array(TRIANGLE) * scale, [[0, 1, 2]])
        assert mesh.face_normals.tolist() == [[0, 0, 1]]
        assert not mesh.degenerate[0]
    assert Mesh(np.array(TRIANGLE) * 1e200, [[0, 1, 2]]).face_areas.tolist() == [np.inf]
    assert Mesh(np.array(TRIANGLE) * 1e100, [[0, 1, 2]]).face_areas[0] == pytest.approx(0.5e200)
    assert Mesh(np.array(TRIANGLE) * 1e-100, [[0, 1, 2]]).face_areas[0] == pytest.approx(0.5e-200)


@given(meshes())
def test_geometry_matches_the_plain_numpy_reference(mesh):
    areas, normals = reference_geometry(mesh)
    assert not np.isnan(mesh.face_normals).any()
    np.testing.assert_allclose(mesh.face_areas, areas, rtol=1e-12)
    np.testing.assert_allclose(mesh.face_normals, normals, rtol=1e-9, atol=1e-9)
    assert np.array_equal(mesh.degenerate, areas == 0)
    length = np.linalg.norm(mesh.face_normals, axis=1)
    np.testing.assert_allclose(length[~mesh.degenerate], 1.0)
    assert (length[mesh.degenerate] == 0).all()
    kept = mesh.without_degenerate()
    assert not kept.degenerate.any() and len(kept.faces) == (~mesh.degenerate).sum()


# --- transformations -------------------------------------------------------------------


def rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


@settings(max_examples=25)
@given(meshes(), st.integers(0, 2**32 - 1))
def test_rigid_motions_keep_areas_and_turn_normals(mesh, seed):
    R = rotation(seed)
    moved = mesh.transformed(R, translation=[1.0, -2.0, 3.0])
    np.testing.assert_allclose(moved.vertices, mesh.vertices @ R.T + [1, -2, 3])
    np.testing.assert_allclose(moved.face_areas, mesh.face_areas, rtol=1e-9, atol=1e-9)
    solid = ~mesh.degenerate & (mesh.face_areas > 1e-6)
    np.testing.assert_allclose(moved.face_normals[solid], mesh.face_normals[solid] @ R.T, atol=1e-6)
    assert np.array_equal(moved.faces, mesh.faces)


def test_mirroring_reverses_winding_and_maps_vertex_normals():
    mesh = Mesh(TRIANGLE, [[0, 1, 2]], vertex_normals=[[0, 0, 1], [0, 0, 2], [0, 0, 0]])
    mirrored = mesh.transformed(np.diag([1.0, 1.0, -1.0]))
    assert mirrored.faces.tolist() == [[0, 2, 1]]
    assert mirrored.face_normals.tolist() == [[0, 0, -1]]
    assert mirrored.vertex_normals.tolist() == [[0, 0, -1], [0, 0, -1], [0, 0, 0]]
    stretched = mesh.transformed(np.diag([1.0, 1.0, 4.0]))
    assert stretched.vertex_normals.tolist() == [[0, 0, 1], [0, 0, 1], [0, 0, 0]]
    assert mesh.transformed() == mesh
    assert mesh.transformed(translation=[0.0, 0.0, 0.0]) == mesh


def test_bad_transformations_are_refused():
    mesh = Mesh(TRIANGLE, [[0, 1, 2]], vertex_normals=np.eye(3))
    with pytest.raises(ValueError, match="finite 3x3"):
        mesh.transformed(np.eye(4))
    with pytest.raises(ValueError, match="translation must be 3 finite numbers"):
        mesh.transformed(translation=[0, 0])
    with pytest.raises(ValueError, match="singular"):
        mesh.transformed(np.diag([1.0, 1.0, 0.0]))
    assert Mesh(TRIANGLE, []).transformed(np.zeros((3, 3))).vertices.tolist() == [[0, 0, 0]] * 3
    with pytest.raises(ValueError, match=r"vertices\[1\] is not finite"):
        Mesh(TRIANGLE, []).transformed(np.eye(3) * 1e308, translation=[1e308, 0, 0])


@pytest.mark.parametrize(
    ("vertices", "faces", "fields", "match"),
    [
        ([[0, 0, 0], [0, 0, 0], [0, np.nan, 0]], [], {}, r"^vertices\[2\] is not finite"),
        ([[0.0, 1.0]], [], {}, r"^vertices must have shape \[N, 3\]"),
        (TRIANGLE, [[0, 1, 2], [0, 1, 2], [2, 7, 0]], {}, r"^faces\[2\] holds vertex index 7"),
        (TRIANGLE, [[0, 1, 2], [0.5, 1, 2]], {}, r"^faces\[1\] holds 0.5"),
        (TRIANGLE, [[0, 1, 2, 0]], {}, r"^faces must have shape \[F, 3\]"),
        (TRIANGLE, [[0, 1, 2]], {"vertex_normals": [[0, 0, 1]] * 2 + [[np.inf, 0, 0]]},
         r"^vertex_normals\[2\] is not finite"),
        (TRIANGLE, [[0, 1, 2]] * 2, {"face_colors": [[1.0, 1.0], [np.nan, 1.0]]},
         r"^face_colors\[1\] has a number after a NaN"),
    ],
)  # fmt: skip
def test_bad_arrays_raise_a_mesh_error_naming_the_row(vertices, faces, fields, match):
    with pytest.raises(MeshError, match=match) as info:
        Mesh(vertices, faces, **fields)
    assert isinstance(info.value, ValueError) and isinstance(info.value, GraphnnError)
    assert type(info.value) is MeshError
