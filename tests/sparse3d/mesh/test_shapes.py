import math

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.sparse3d.mesh.augment import random_rotation
from graphnn.sparse3d.mesh.mesh import Mesh
from graphnn.sparse3d.mesh.shapes import (
    SHAPES,
    box,
    capsule,
    cone,
    cylinder,
    octahedron,
    pyramid,
    random_shape,
    shapes,
    sphere,
    torus,
)

# name -> mesh: the defaults and the coarsest and odd tessellations
MESHES = {
    **{f"{name}-default": make for name, make in SHAPES.items()},
    "box-flat": lambda: box((3.0, 0.1, 1.0)),
    "sphere-0": lambda: sphere(0.5, subdivisions=0),
    "sphere-3": lambda: sphere(2.0, subdivisions=3),
    "cylinder-3": lambda: cylinder(1.0, 0.2, sections=3),
    "cylinder-7": lambda: cylinder(0.1, 5.0, sections=7),
    "cone-3": lambda: cone(1.0, 1.0, sections=3),
    "cone-5": lambda: cone(2.0, 0.5, sections=5),
    "torus-3": lambda: torus(1.0, 0.9, sections=3, rings=3),
    "torus-fine": lambda: torus(3.0, 1.0, sections=40, rings=17),
    "pyramid-flat": lambda: pyramid((4.0, 0.5), height=0.1),
    "octahedron-small": lambda: octahedron(1e-3),
    "capsule-1": lambda: capsule(0.5, 0.1, sections=3, rings=1),
    "capsule-fine": lambda: capsule(1.0, 2.0, sections=33, rings=9),
}


def as_trimesh(mesh: Mesh) -> trimesh.Trimesh:
    return trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)


def check_closed_outward(mesh: Mesh, genus: int = 0) -> None:
    t = as_trimesh(mesh)
    assert t.is_watertight
    assert t.is_winding_consistent
    assert t.volume > 0  # consistently wound and positive: the normals point outwards
    assert t.euler_number == 2 - 2 * genus
    assert not mesh.degenerate.any()
    assert np.array_equal(np.unique(mesh.faces), np.arange(len(mesh.vertices)))  # all used


@pytest.mark.parametrize("name", MESHES)
def test_shapes_are_closed_outward_and_centred(name):
    mesh = MESHES[name]()
    assert isinstance(mesh, Mesh)
    check_closed_outward(mesh, genus=1 if name.startswith("torus") else 0)
    low, high = mesh.bounds
    assert high[2] == pytest.approx(-low[2])  # centred along the axis
    assert np.allclose(mesh.vertices.mean(axis=0)[:2], 0, atol=1e-12)  # the axis is z


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


def test_vertex_and_face_counts():
    def counts(mesh):
        return len(mesh.vertices), len(mesh.faces)

    assert counts(box()) == (10, 16)
    assert counts(pyramid()) == counts(octahedron()) == (6, 8)
    for s in range(4):
        assert counts(sphere(subdivisions=s)) == (10 * 4**s + 2, 20 * 4**s)
    assert counts(cylinder(sections=9)) == (20, 36)
    assert counts(cone(sections=9)) == (11, 18)
    assert counts(torus(sections=5, rings=4)) == (20, 40)
    assert counts(capsule(sections=5, rings=2)) == (22, 40)


sizes = st.floats(0.05, 20.0)


@settings(max_examples=25)
@given(sizes, sizes, sizes)
def test_box_and_pyramid_volume_and_area_are_exact(a, b, c):
    t = as_trimesh(box((a, b, c)))
    assert t.volume == pytest.approx(a * b * c, rel=1e-12)
    assert t.area == pytest.approx(2 * (a * b + b * c + c * a), rel=1e-12)
    assert np.allclose(t.bounds, [[-a / 2, -b / 2, -c / 2], [a / 2, b / 2, c / 2]], rtol=0, atol=0)
    t = as_trimesh(pyramid((a, b), height=c))
    assert t.volume == pytest.approx(a * b * c / 3, rel=1e-12)
    slant = a * math.hypot(c, b / 2) + b * math.hypot(c, a / 2)
    assert t.area == pytest.approx(a * b + slant, rel=1e-12)


@settings(max_examples=25)
@given(sizes, sizes, st.integers(3, 64))
def test_prisms_and_pyramids_on_polygons_are_exact(radius, height, n):
    polygon_area = n / 2 * radius**2 * math.sin(2 * math.pi / n)
    side = 2 * radius * math.sin(math.pi / n)
    apothem = radius * math.cos(math.pi / n)
    t = as_trimesh(cylinder(radius, height, sections=n))
    assert t.volume == pytest.approx(polygon_area * height, rel=1e-9)
    assert t.area == pytest.approx(2 * polygon_area + n * side * height, rel=1e-9)
    t = as_trimesh(cone(radius, height, sections=n))
    assert t.volume == pytest.approx(polygon_area * height / 3, rel=1e-9)
    assert t.area == pytest.approx(
        polygon_area + n * side * math.hypot(height, apothem) / 2, rel=1e-9
    )


def test_octahedron_is_exact():
    t = as_trimesh(octahedron(1.5))
    assert t.volume == pytest.approx(4 / 3 * 1.5**3, rel=1e-12)
    assert t.area == pytest.approx(4 * math.sqrt(3) * 1.5**2, rel=1e-12)


@pytest.mark.parametrize(
    ("mesh", "volume", "area"),
    [
        (sphere(1.5, subdivisions=5), 4 / 3 * math.pi * 1.5**3, 4 * math.pi * 1.5**2),
        (cylinder(0.5, 2.0, sections=512), math.pi * 0.25 * 2, 2 * math.pi * (0.25 + 0.5 * 2)),
        (
            cone(0.5, 2.0, sections=512),
            math.pi * 0.25 * 2 / 3,
            math.pi * 0.5 * (0.5 + math.hypot(0.5, 2.0)),
        ),
        (
            torus(2.0, 0.5, sections=256, rings=128),
            2 * math.pi**2 * 2.0 * 0.25,
            4 * math.pi**2 * 2.0 * 0.5,
        ),
        (
            capsule(0.5, 1.0, sections=256, rings=64),
            math.pi * 0.25 * 1.0 + 4 / 3 * math.pi * 0.125,
            2 * math.pi * 0.5 * 1.0 + 4 * math.pi * 0.25,
        ),
    ],
    ids=["sphere", "cylinder", "cone", "torus", "capsule"],
)
def test_fine_tessellations_approach_the_smooth_shape(mesh, volume, area):
    t = as_trimesh(mesh)
    assert t.volume == pytest.approx(volume, rel=2e-3)
    assert t.area == pytest.approx(area, rel=2e-3)
    assert t.volume < volume  # inscribed: the vertices lie on the smooth surface


def test_sphere_converges_and_keeps_vertices_on_the_sphere():
    errors = []
    for s in range(5):
        m = sphere(2.0, subdivisions=s)
        assert np.allclose(np.linalg.norm(m.vertices, axis=1), 2.0, rtol=1e-14)
        errors.append(4 / 3 * math.pi * 8 - as_trimesh(m).volume)
    assert all(e > 0 for e in errors) and errors == sorted(errors, reverse=True)


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


def test_random_rotations_look_uniform():
    rng = np.random.default_rng(0)
    Rs = np.stack([random_rotation(rng) for _ in range(3000)])
    assert np.allclose(Rs @ Rs.transpose(0, 2, 1), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(Rs), 1.0)
    # Haar measure: E[R] = 0, and every entry has variance 1/3
    assert np.abs(Rs.mean(axis=0)).max() < 0.05
    assert np.allclose((Rs**2).mean(axis=0), 1 / 3, atol=0.03)
    # the rotation angle has density (1 - cos a) / pi on [0, pi]: mean pi/2 + 2/pi
    angles = np.arccos(np.clip((np.trace(Rs, axis1=1, axis2=2) - 1) / 2, -1, 1))
    assert angles.mean() == pytest.approx(math.pi / 2 + 2 / math.pi, abs=0.03)


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
        (lambda: box((1, 0, 1)), ValueError, r"size\[1\] must be a positive finite number"),
        (lambda: box((1, 1)), ValueError, "size must be 3 positive numbers, got 2"),
        (lambda: box(1.0), TypeError, "size must be 3 positive numbers"),
        (lambda: box((1, "a", 1)), TypeError, r"size\[1\] must be a positive number"),
        (lambda: sphere(-1.0), ValueError, "radius must be a positive finite number"),
        (lambda: sphere(math.nan), ValueError, "radius must be a positive finite number"),
        (lambda: sphere(math.inf), ValueError, "radius must be a positive finite number"),
        (lambda: sphere(True), TypeError, "radius must be a positive number"),
        (lambda: sphere(subdivisions=-1), ValueError, "subdivisions must be at least 0"),
        (lambda: sphere(subdivisions=1.5), TypeError, "subdivisions must be an int"),
        (lambda: cylinder(sections=2), ValueError, "sections must be at least 3"),
        (lambda: cylinder(height=0), ValueError, "height must be a positive"),
        (lambda: cone(sections=2), ValueError, "sections must be at least 3"),
        (lambda: cone(radius=-2), ValueError, "radius must be a positive"),
        (lambda: torus(1.0, 1.0), ValueError, "minor < major"),
        (lambda: torus(rings=2), ValueError, "rings must be at least 3"),
        (lambda: torus(sections=1), ValueError, "sections must be at least 3"),
        (lambda: pyramid((1, 1), height=-1), ValueError, "height must be a positive"),
        (lambda: pyramid((1, -1)), ValueError, r"base\[1\]"),
        (lambda: octahedron(0), ValueError, "radius must be a positive"),
        (lambda: capsule(rings=0), ValueError, "rings must be at least 1"),
        (lambda: capsule(length=0), ValueError, "length must be a positive"),
        (lambda: capsule(sections=2), ValueError, "sections must be at least 3"),
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
