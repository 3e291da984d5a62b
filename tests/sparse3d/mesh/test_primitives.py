"""The primitive meshes: closed, outward, centred, exact volumes and areas, checked arguments."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.sparse3d.mesh.mesh import Mesh
from graphnn.sparse3d.mesh.primitives import (
    box,
    capsule,
    cone,
    cylinder,
    octahedron,
    pyramid,
    sphere,
    torus,
)
from tests.sparse3d.mesh.meshes import as_trimesh, check_closed_outward

PRIMITIVES = (box, sphere, cylinder, cone, torus, pyramid, octahedron, capsule)


MESHES = {
    **{f"{make.__name__}-default": make for make in PRIMITIVES},
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


@pytest.mark.parametrize("name", MESHES)
def test_shapes_are_closed_outward_and_centred(name):
    mesh = MESHES[name]()
    assert isinstance(mesh, Mesh)
    check_closed_outward(mesh, genus=1 if name.startswith("torus") else 0)
    low, high = mesh.bounds
    assert high[2] == pytest.approx(-low[2])  # centred along the axis
    assert np.allclose(mesh.vertices.mean(axis=0)[:2], 0, atol=1e-12)  # the axis is z


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
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
