"""SHAPES, random_shape and shapes: the labelled synthetic data, its proportions and poses."""

import numpy as np
import pytest

from graphnn.sparse3d.mesh.shapes import SHAPES, random_shape, shapes
from tests.sparse3d.mesh.meshes import as_trimesh, check_closed_outward


def test_the_catalogue():
    assert len(SHAPES) >= 6
    assert list(SHAPES) == [
        "box",
        "sphere",
        "cylinder",
        "cone",
        "torus",
        "pyramid",
        "octahedron",
        "capsule",
    ]
    assert all(callable(make) for make in SHAPES.values())


def test_seeded_data_sets_are_reproducible():
    first = shapes(3, seed=5)
    assert [label for _, label in first] == [name for name in SHAPES for _ in range(3)]
    again = shapes(3, seed=5)
    assert all(m == n and a == b for (m, a), (n, b) in zip(first, again, strict=True))
    other = shapes(3, seed=6)
    assert all(m != n for (m, _), (n, _) in zip(first, other, strict=True))
    # a Generator is used as is: two calls on one generator differ, a fresh copy repeats
    rng = np.random.default_rng(5)
    from_rng = shapes(3, seed=rng)
    assert all(m == n for (m, _), (n, _) in zip(first, from_rng, strict=True))
    assert shapes(3, seed=rng)[0][0] != first[0][0]
    assert shapes(0, seed=1) == []
    subset = shapes(2, classes=["torus", "box"], seed=1)
    assert [label for _, label in subset] == ["torus", "torus", "box", "box"]


def test_random_shapes_are_closed_and_outward():
    for mesh, label in shapes(2, seed=11):
        check_closed_outward(mesh, genus=1 if label == "torus" else 0)


def _pose(kind, seed):
    """Recover ``x -> R x + t`` from the posed and the unposed mesh of one seed."""
    posed = random_shape(kind, seed=seed)
    still = random_shape(kind, seed=seed, pose=False)
    A = np.c_[still.vertices, np.ones(len(still.vertices))]
    solution, *_ = np.linalg.lstsq(A, posed.vertices, rcond=None)
    assert np.allclose(A @ solution, posed.vertices, atol=1e-12)
    return solution[:3].T, solution[3], posed, still


@pytest.mark.parametrize("kind", list(SHAPES))
def test_random_poses_are_rotations_and_small_translations(kind):
    for seed in range(5):
        R, t, posed, still = _pose(kind, seed)
        assert np.allclose(R @ R.T, np.eye(3), atol=1e-9)
        assert np.linalg.det(R) == pytest.approx(1.0)
        assert np.all(np.abs(t) <= 0.1 + 1e-12)
        assert np.array_equal(posed.faces, still.faces)  # a rotation keeps the winding
        assert as_trimesh(posed).volume == pytest.approx(as_trimesh(still).volume)


def _radius_xy(mesh):
    return np.linalg.norm(mesh.vertices[:, :2], axis=1).max()


def test_random_proportions_stay_in_their_documented_ranges():
    for seed in range(30):
        rng = np.random.default_rng(seed)
        m = random_shape("box", rng, pose=False)
        assert np.all((m.bounds[1] * 2 >= 0.5) & (m.bounds[1] * 2 <= 1.5))
        assert 0.5 <= _radius_xy(random_shape("sphere", seed, pose=False)) <= 1.0
        assert 0.5 <= _radius_xy(random_shape("octahedron", seed, pose=False)) <= 1.0
        for kind, low in (("cylinder", 0.5), ("cone", 0.75)):
            m = random_shape(kind, seed, pose=False)
            r = _radius_xy(m)
            assert 0.3 <= r <= 0.6
            assert low <= m.bounds[1, 2] / r <= 2.5  # height / diameter
        m = random_shape("torus", seed, pose=False)
        minor = m.bounds[1, 2]
        major = _radius_xy(m) - minor  # up to the polygon's sag
        assert 0.6 * 0.98 <= major <= 1.0 and 0.15 <= minor / major <= 0.4 / 0.98
        m = random_shape("pyramid", seed, pose=False)
        a, b, h = 2 * m.bounds[1]
        assert 0.6 <= a <= 1.4 and 0.75 <= b / a <= 4 / 3 and 0.5 <= 2 * h / (a + b) <= 1.5
        m = random_shape("capsule", seed, pose=False)
        r = _radius_xy(m)
        assert 0.25 <= r <= 0.5
        assert 0.75 <= (2 * m.bounds[1, 2] - 2 * r) / (2 * r) <= 2.0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: random_shape("cube"),
            ValueError,
            r"unknown shape class 'cube'; the known ones are \['box', 'sphere', ",
        ),
        (lambda: shapes(classes=["box", "blob"]), ValueError, "unknown shape class 'blob'"),
        (lambda: shapes(classes="box"), TypeError, "list of class names"),
        (lambda: shapes(classes=["box", "box"]), ValueError, r"\['box'\] more than once"),
        (lambda: shapes(-1), ValueError, "count_per_class must be at least 0"),
        (lambda: shapes(seed=-1), ValueError, "seed must be a non-negative int"),
        (lambda: random_shape("box", seed="x"), TypeError, "seed must be None"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
