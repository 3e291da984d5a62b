"""The closed triangle meshes of the synthetic shape classes: boxes, spheres, cones, tori, ...

Every shape is a closed triangle :class:`~graphnn.sparse3d.mesh.mesh.Mesh`:
watertight, wound counter-clockwise seen from outside (outward normals, so
its signed volume is positive), without degenerate faces, and centred at the
origin.  Shapes with an axis (cylinder, cone, torus, pyramid, capsule) have
it along z, and those with a height span ``z`` from ``-height / 2`` to
``height / 2``.

All but the sphere are *sweeps*: a convex polygon (the ``ring``, a circle
approximated by ``sections`` sides, a rectangle, a diamond), scaled by a
radius profile ``r(z)``.  Where the profile meets the axis the ring closes
into a pole, so a cap is a fan of triangles around one vertex.  The torus is
the sweep of a closed profile, a circle off the axis.  The sphere is an
icosphere.  Construction is vectorised: the faces are index arithmetic on a
grid of (profile point, ring vertex).  :mod:`~graphnn.sparse3d.mesh.shapes`
draws labelled shapes of random proportions from them.

Examples
--------
>>> box(size=(2, 1, 1))
Mesh(10 vertices, 16 faces)
>>> [len(sphere(subdivisions=k).faces) for k in range(3)]
[20, 80, 320]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from graphnn._validation import check_int, check_number
from graphnn.sparse3d.mesh.mesh import Mesh

__all__ = ["box", "capsule", "cone", "cylinder", "octahedron", "pyramid", "sphere", "torus"]


# --- the shapes ---------------------------------------------------------------------------


def box(size: Sequence[float] = (1.0, 1.0, 1.0)) -> Mesh:
    """Return an axis-aligned box with sides ``size`` centred at the origin.

    Parameters
    ----------
    size : 3 positive floats, default (1, 1, 1)
        Side lengths along x, y and z.

    Returns
    -------
    Mesh
        10 vertices, 16 faces (each end is a fan around its centre).

    Raises
    ------
    ValueError, TypeError
        If a side is not a positive finite number.

    Examples
    --------
    >>> m = box((1, 2, 3))
    >>> m.bounds
    array([[-0.5, -1. , -1.5],
           [ 0.5,  1. ,  1.5]])
    >>> float(m.face_areas.sum())
    22.0
    """
    a, b, c = _sizes("size", size, 3)
    ring = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * [a / 2, b / 2]
    return _sweep(ring, [0, 1, 1, 0], [-c / 2, -c / 2, c / 2, c / 2])


def sphere(radius: float = 1.0, subdivisions: int = 2) -> Mesh:
    """Return an icosphere: a subdivided icosahedron with its vertices on the sphere.

    Parameters
    ----------
    radius : float, default 1
    subdivisions : int, default 2
        Each one splits every triangle into four; the mesh has
        ``10 * 4**subdivisions + 2`` vertices and ``20 * 4**subdivisions``
        faces.

    Returns
    -------
    Mesh

    Raises
    ------
    ValueError, TypeError
        If ``radius`` is not positive or ``subdivisions`` is negative.

    Examples
    --------
    >>> m = sphere(2.0, subdivisions=1)
    >>> m
    Mesh(42 vertices, 80 faces)
    >>> bool(np.allclose(np.linalg.norm(m.vertices, axis=1), 2.0))
    True
    """
    radius = _positive("radius", radius)
    check_int("subdivisions", subdivisions, low=0)
    t = (1 + math.sqrt(5)) / 2
    vertices = np.array(
        [
            [-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0],
            [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
            [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1],
        ]
    )  # fmt: skip
    faces = np.array(
        [
            [0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11],
            [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6], [7, 1, 8],
            [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9],
            [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1],
        ]
    )  # fmt: skip
    vertices /= np.linalg.norm(vertices, axis=1, keepdims=True)
    for _ in range(subdivisions):
        vertices, faces = _subdivide(vertices, faces)
        vertices /= np.linalg.norm(vertices, axis=1, keepdims=True)
    return Mesh(radius * vertices, faces)


def cylinder(radius: float = 0.5, height: float = 1.0, sections: int = 24) -> Mesh:
    """Return a cylinder along z: a prism on a regular ``sections``-gon.

    Parameters
    ----------
    radius : float, default 0.5
        Circumradius of the polygon (its vertices lie on the circle).
    height : float, default 1
    sections : int, default 24
        Sides of the polygon, at least 3.

    Returns
    -------
    Mesh
        ``2 * sections + 2`` vertices, ``4 * sections`` faces.

    Raises
    ------
    ValueError, TypeError
        If a size is not positive or ``sections < 3``.

    Examples
    --------
    >>> cylinder(1.0, 2.0, sections=8)
    Mesh(18 vertices, 32 faces)
    """
    radius, height = _positive("radius", radius), _positive("height", height)
    ring = _polygon(_sections(sections))
    return _sweep(ring, [0, radius, radius, 0], [-height / 2, -height / 2, height / 2, height / 2])


def cone(radius: float = 0.5, height: float = 1.0, sections: int = 24) -> Mesh:
    """Return a cone along z: a pyramid on a regular ``sections``-gon, apex up.

    Parameters
    ----------
    radius : float, default 0.5
        Circumradius of the base polygon, at ``z = -height / 2``.
    height : float, default 1
        The apex is at ``z = height / 2``.
    sections : int, default 24
        Sides of the base, at least 3.

    Returns
    -------
    Mesh
        ``sections + 2`` vertices, ``2 * sections`` faces.

    Raises
    ------
    ValueError, TypeError
        If a size is not positive or ``sections < 3``.

    Examples
    --------
    >>> cone(sections=6).bounds[:, 2]
    array([-0.5,  0.5])
    """
    radius, height = _positive("radius", radius), _positive("height", height)
    return _sweep(
        _polygon(_sections(sections)), [0, radius, 0], [-height / 2, -height / 2, height / 2]
    )


def torus(major: float = 1.0, minor: float = 0.25, sections: int = 24, rings: int = 12) -> Mesh:
    """Return a torus around the z axis.

    Parameters
    ----------
    major : float, default 1
        Distance from the z axis to the centre of the tube.
    minor : float, default 0.25
        Radius of the tube, less than ``major``.
    sections : int, default 24
        Sides of the polygon that approximates the circle around z, at least 3.
    rings : int, default 12
        Sides of the polygon that approximates the tube's cross-section, at
        least 3.

    Returns
    -------
    Mesh
        ``sections * rings`` vertices, ``2 * sections * rings`` faces.

    Raises
    ------
    ValueError, TypeError
        If a size is not positive, ``minor >= major`` (the tube would cross
        the axis), or ``sections`` or ``rings`` is below 3.

    Examples
    --------
    >>> torus(2.0, 0.5, sections=16, rings=8)
    Mesh(128 vertices, 256 faces)
    """
    major, minor = _positive("major", major), _positive("minor", minor)
    if minor >= major:
        raise ValueError(
            f"a torus needs minor < major (the tube must not cross the axis), got minor={minor} "
            f"and major={major}"
        )
    check_int("rings", rings, low=3)
    # The cross-section counter-clockwise in the (r, z) plane, from its outermost point.
    angle = 2 * np.pi * np.arange(rings) / rings
    return _sweep(
        _polygon(_sections(sections)),
        major + minor * np.cos(angle),
        minor * np.sin(angle),
        closed=True,
    )


def pyramid(base: Sequence[float] = (1.0, 1.0), height: float = 1.0) -> Mesh:
    """Return a pyramid on an axis-aligned rectangle, apex up.

    Parameters
    ----------
    base : 2 positive floats, default (1, 1)
        Sides of the base along x and y, at ``z = -height / 2``.
    height : float, default 1
        The apex is at ``z = height / 2``.

    Returns
    -------
    Mesh
        6 vertices, 8 faces (the base is a fan around its centre).

    Raises
    ------
    ValueError, TypeError
        If a size is not positive.

    Examples
    --------
    >>> m = pyramid((2, 3), height=1.5)
    >>> m
    Mesh(6 vertices, 8 faces)
    >>> m.bounds
    array([[-1.  , -1.5 , -0.75],
           [ 1.  ,  1.5 ,  0.75]])
    """
    a, b = _sizes("base", base, 2)
    height = _positive("height", height)
    ring = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * [a / 2, b / 2]
    return _sweep(ring, [0, 1, 0], [-height / 2, -height / 2, height / 2])


def octahedron(radius: float = 1.0) -> Mesh:
    """Return a regular octahedron with its vertices on the axes at distance ``radius``.

    Parameters
    ----------
    radius : float, default 1

    Returns
    -------
    Mesh
        6 vertices, 8 faces.

    Raises
    ------
    ValueError, TypeError
        If ``radius`` is not positive.

    Examples
    --------
    >>> octahedron(2.0).bounds
    array([[-2., -2., -2.],
           [ 2.,  2.,  2.]])
    """
    radius = _positive("radius", radius)
    ring = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])
    return _sweep(ring, [0, radius, 0], [-radius, 0, radius])


def capsule(radius: float = 0.25, length: float = 1.0, sections: int = 24, rings: int = 6) -> Mesh:
    """Return a capsule along z: a cylinder of ``length`` closed by two hemispheres.

    Parameters
    ----------
    radius : float, default 0.25
        Of the cylinder and the hemispheres.
    length : float, default 1
        Of the straight part; the capsule spans ``length + 2 * radius``.
    sections : int, default 24
        Sides of the polygon around z, at least 3.
    rings : int, default 6
        Segments of each quarter circle of the profile, at least 1.

    Returns
    -------
    Mesh
        ``2 * rings * sections + 2`` vertices, ``4 * rings * sections``
        faces.

    Raises
    ------
    ValueError, TypeError
        If a size is not positive, ``sections < 3`` or ``rings < 1``.

    Examples
    --------
    >>> capsule(0.5, 1.0).bounds[:, 2]
    array([-1.,  1.])
    """
    radius, length = _positive("radius", radius), _positive("length", length)
    check_int("rings", rings, low=1)
    angle = np.linspace(-np.pi / 2, 0, rings + 1)  # the lower quarter circle, pole to equator
    r = radius * np.cos(angle)
    z = radius * np.sin(angle) - length / 2
    r[0] = 0.0  # exactly on the axis
    return _sweep(_polygon(_sections(sections)), np.r_[r, r[::-1]], np.r_[z, -z[::-1]])


# --- construction -------------------------------------------------------------------------


def _sweep(ring: np.ndarray, r: Sequence[float], z: Sequence[float], closed: bool = False) -> Mesh:
    """Return the surface swept by ``ring`` (convex, counter-clockwise seen from +z).

    Profile point ``k`` is the ring scaled by ``r[k]`` at height ``z[k]``,
    or a single vertex (a pole) where ``r[k] == 0``.  Open profiles
    (``closed=False``) start and end at poles and go from the bottom one to
    the top one with the solid on their left in the (r, z) plane; closed
    profiles stay off the axis and go counter-clockwise.  Either way the
    faces wind counter-clockwise seen from outside.
    """
    ring = np.asarray(ring, dtype=np.float64)
    r, z = np.asarray(r, dtype=np.float64), np.asarray(z, dtype=np.float64)
    off_axis = r > 0
    assert off_axis.all() if closed else not off_axis[[0, -1]].any() and off_axis[1:-1].all()
    rows, n = len(r), len(ring)
    points = np.concatenate(
        [r[:, None, None] * ring, np.broadcast_to(z[:, None, None], (rows, n, 1))], axis=2
    )
    # A pole keeps its first vertex only; the rest of its row then shares that index.
    keep = off_axis[:, None] | (np.arange(n) == 0)
    grid = np.cumsum(keep.ravel()).reshape(rows, n) - 1
    below, above = (grid, np.roll(grid, -1, axis=0)) if closed else (grid[:-1], grid[1:])
    # Each quad: a, b below, d, c above, b and c one ring step counter-clockwise of a and d.
    a, b = below, np.roll(below, -1, axis=1)
    d, c = above, np.roll(above, -1, axis=1)
    faces = np.stack([np.stack([a, b, c], axis=-1), np.stack([a, c, d], axis=-1)]).reshape(-1, 3)
    # Next to a pole a quad is a triangle: drop the half that repeats the pole.
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2])]
    return Mesh(points[keep], faces)


def _subdivide(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split every triangle into four at the midpoints of its edges (shared edges once)."""
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    unique, inverse = np.unique(edges, axis=0, return_inverse=True)
    mid = len(vertices) + inverse.reshape(-1, 3)  # midpoint of edges ab, bc, ca of each face
    ab, bc, ca = mid.T
    a, b, c = faces.T
    new_faces = np.stack(
        [
            np.stack([a, ab, ca], axis=1),
            np.stack([b, bc, ab], axis=1),
            np.stack([c, ca, bc], axis=1),
            np.stack([ab, bc, ca], axis=1),
        ],
        axis=1,
    ).reshape(-1, 3)
    midpoints = vertices[unique].mean(axis=1)
    return np.concatenate([vertices, midpoints]), new_faces


def _polygon(sides: int) -> np.ndarray:
    """Return the regular ``sides``-gon on the unit circle, counter-clockwise from (1, 0)."""
    angle = 2 * np.pi * np.arange(sides) / sides
    return np.stack([np.cos(angle), np.sin(angle)], axis=1)


# --- checks -------------------------------------------------------------------------------


def _sections(sections: object) -> int:
    return check_int("sections", sections, low=3)


def _positive(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise unless it is a positive finite number."""
    return check_number(name, value, low=0, low_open=True, what="a positive finite number")


def _sizes(name: str, values: object, count: int) -> tuple[float, ...]:
    """Return ``count`` positive sizes, or raise naming ``name`` and the bad entry."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{name} must be {count} positive numbers, got {values!r}")
    if len(values) != count:
        raise ValueError(f"{name} must be {count} positive numbers, got {len(values)}: {values!r}")
    return tuple(_positive(f"{name}[{i}]", v) for i, v in enumerate(values))
