"""Labelled synthetic meshes of 8 shape classes, with random proportions and poses: no download.

The shapes themselves are made in :mod:`~graphnn.sparse3d.mesh.primitives`.
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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from graphnn._random import SeedLike, as_rng
from graphnn._validation import check_int
from graphnn.sparse3d.mesh.augment import random_rotation
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

__all__ = ["SHAPES", "random_shape", "shapes"]

#: Translations of :func:`random_shape` are uniform in ``[-_SHIFT, _SHIFT]`` per axis.
_SHIFT = 0.1


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


def _check_kind(kind: object) -> None:
    if not isinstance(kind, str) or kind not in SHAPES:
        raise ValueError(f"unknown shape class {kind!r}; the known ones are {list(SHAPES)}")
