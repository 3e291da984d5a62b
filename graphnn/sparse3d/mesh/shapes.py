"""Labelled synthetic meshes: boxes, spheres, cones, tori and more, with no download.

Every shape is a closed triangle :class:`~graphnn.sparse3d.mesh.Mesh`:
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
grid of (profile point, ring vertex).

:func:`random_shape` draws one shape with random proportions in a random
pose, and :func:`shapes` draws a labelled data set from a seed.  The
proportions (uniform draws, lengths in arbitrary units):

==============  ============================================================
``box``         three sides in [0.5, 1.5] each
``sphere``      radius in [0.5, 1]
``cylinder``    radius in [0.3, 0.6]; height / diameter in [0.5, 2.5]
``cone``        radius in [0.3, 0.6]; height / diameter in [0.75, 2.5]
``torus``       major radius in [0.6, 1]; minor / major in [0.15, 0.4]
``pyramid``     base side a in [0.6, 1.4], b / a in [0.75, 4/3];
                height / mean side in [0.5, 1.5]
``octahedron``  radius in [0.5, 1]
``capsule``     radius in [0.25, 0.5]; straight length / diameter in [0.75, 2]
==============  ============================================================

So the classes differ in kind, not by a threshold on one ratio: a cylinder
never flattens into a disk or stretches into a rod, a capsule is always
clearly longer than wide, a torus always has a hole.  The pose is a
uniformly random rotation (Haar measure on SO(3)) followed by a translation
uniform in ``[-0.1, 0.1]`` on each axis.

Examples
--------
>>> data = shapes(count_per_class=2, classes=["box", "torus"], seed=0)
>>> [label for _, label in data]
['box', 'box', 'torus', 'torus']
>>> box(size=(2, 1, 1))
Mesh(10 vertices, 16 faces)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from graphnn.sparse3d.augment import random_rotation
from graphnn.sparse3d.mesh import Mesh
from graphnn.structure._checks import check_int
from graphnn.structure._seed import SeedLike, as_rng

__all__ = [
    "SHAPES",
    "box",
    "sphere",
    "cylinder",
    "cone",
    "torus",
    "pyramid",
    "octahedron",
    "capsule",
    "random_shape",
    "shapes",
]

#: Translations of :func:`random_shape` are uniform in ``[-_SHIFT, _SHIFT]`` per axis.
_SHIFT = 0.1


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


#: Every shape class by name, its constructor with default proportions.  The
#: class index of a name is its position, ``list(SHAPES).index(name)``.
SHAPES: dict[str, Callable[..., Mesh]] = {
    "box": box,
    "sphere": sphere,
    "cylinder": cylinder,
    "cone": cone,
    "torus": torus,
    "pyramid": pyramid,
    "octahedron": octahedron,
    "capsule": capsule,
}


# --- random shapes ------------------------------------------------------------------------


def _proportions(kind: str, rng: np.random.Generator) -> dict[str, object]:
    """Draw the keyword arguments of ``SHAPES[kind]`` (the ranges of the module notes)."""
    u = rng.uniform
    if kind == "box":
        return {"size": tuple(u(0.5, 1.5, size=3))}
    if kind in ("sphere", "octahedron"):
        return {"radius": u(0.5, 1.0)}
    if kind in ("cylinder", "cone"):
        radius = u(0.3, 0.6)
        low = 0.5 if kind == "cylinder" else 0.75
        return {"radius": radius, "height": 2 * radius * u(low, 2.5)}
    if kind == "torus":
        major = u(0.6, 1.0)
        return {"major": major, "minor": major * u(0.15, 0.4)}
    if kind == "pyramid":
        a = u(0.6, 1.4)
        b = a * u(0.75, 4 / 3)
        return {"base": (a, b), "height": (a + b) / 2 * u(0.5, 1.5)}
    if kind == "capsule":
        radius = u(0.25, 0.5)
        return {"radius": radius, "length": 2 * radius * u(0.75, 2.0)}
    raise AssertionError(f"no proportions for shape class {kind!r}")  # SHAPES and this agree


def random_shape(kind: str, seed: SeedLike = None, *, pose: bool = True) -> Mesh:
    """Return a shape of class ``kind`` with random proportions, in a random pose.

    Parameters
    ----------
    kind : str
        A key of :data:`SHAPES`.
    seed : None, int or numpy.random.Generator, optional
        The proportions are drawn first, then the pose, so the same seed
        with ``pose=False`` gives the same shape unmoved.
    pose : bool, default True
        Rotate the shape uniformly at random (Haar measure on SO(3)) and
        translate it by a vector uniform in ``[-0.1, 0.1]`` per axis.

    Returns
    -------
    Mesh
        Closed and outward-oriented, like every shape here (a rotation
        keeps the orientation).

    Raises
    ------
    ValueError
        If ``kind`` is not a known class (the message lists them).

    Examples
    --------
    >>> m = random_shape("cone", seed=1)
    >>> m == random_shape("cone", seed=1), m == random_shape("cone", seed=2)
    (True, False)
    """
    _check_kind(kind)
    rng = as_rng(seed)
    mesh = SHAPES[kind](**_proportions(kind, rng))
    if pose:
        mesh = mesh.transformed(random_rotation(rng), rng.uniform(-_SHIFT, _SHIFT, size=3))
    return mesh


def shapes(
    count_per_class: int = 10, classes: Sequence[str] | None = None, seed: SeedLike = None
) -> list[tuple[Mesh, str]]:
    """Return ``count_per_class`` random meshes of each class, labelled with the class name.

    Parameters
    ----------
    count_per_class : int, default 10
        At least 0.
    classes : sequence of str, optional
        Keys of :data:`SHAPES`, without repeats; default: all of them.
    seed : None, int or numpy.random.Generator, optional
        One stream for all the draws: the same seed and arguments give the
        same meshes.

    Returns
    -------
    list of (Mesh, str)
        Ordered by class (in the order of ``classes``), then by draw; each
        mesh comes from :func:`random_shape` with ``pose=True``.

    Raises
    ------
    ValueError
        If a class is unknown (the message lists the known ones) or
        repeated, or ``count_per_class`` is negative.
    TypeError
        If ``classes`` is a single string or ``count_per_class`` not an int.

    Examples
    --------
    >>> data = shapes(1, seed=3)
    >>> len(data), data[0][1], data[-1][1]
    (8, 'box', 'capsule')
    """
    check_int("count_per_class", count_per_class, low=0)
    if classes is None:
        classes = list(SHAPES)
    elif isinstance(classes, str):
        raise TypeError(f"classes must be a list of class names, got the string {classes!r}")
    classes = list(classes)
    for kind in classes:
        _check_kind(kind)
    repeated = sorted({kind for kind in classes if classes.count(kind) > 1})
    if repeated:
        raise ValueError(f"classes must not repeat a name, got {repeated} more than once")
    rng = as_rng(seed)
    return [(random_shape(kind, rng), kind) for kind in classes for _ in range(count_per_class)]


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


def _check_kind(kind: object) -> None:
    if not isinstance(kind, str) or kind not in SHAPES:
        raise ValueError(f"unknown shape class {kind!r}; the known ones are {list(SHAPES)}")


def _sections(sections: object) -> int:
    check_int("sections", sections, low=3)
    return int(sections)


def _positive(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise unless it is a positive finite number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__} {value!r}")
    if not (0 < value < math.inf):  # also rejects NaN
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _sizes(name: str, values: object, count: int) -> tuple[float, ...]:
    """Return ``count`` positive sizes, or raise naming ``name`` and the bad entry."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{name} must be {count} positive numbers, got {values!r}")
    if len(values) != count:
        raise ValueError(f"{name} must be {count} positive numbers, got {len(values)}: {values!r}")
    return tuple(_positive(f"{name}[{i}]", v) for i, v in enumerate(values))
