r"""Voxelize the surface of a triangle mesh: every voxel the surface touches is active.

:func:`voxelize` turns a mesh into sparse voxels, ``coords int32 [N, 3]``
and ``features float32 [N, C]``, the input of a sparse convolutional
network; :func:`grid_coordinates` gives the vertices' positions in the same
grid.  The work is vectorised numpy, in chunks of bounded memory; in each
column of a triangle's voxel box the active voxels are an interval, found
from the separating axes without testing candidates one by one.

Placement in the grid
---------------------
With ``c`` the centre of the bounding box of the faces' vertices, ``e`` the
longest side of that box, ``s = render_size / e``, ``R`` the rotation, ``A``
the affine matrix and ``t`` the translation (each optional), vertex ``v``
goes to

.. math:: q = A\,R\,s\,(v - c) + t + S / 2,

that is: centre, scale the longest side to ``render_size`` voxels, rotate
about the centre, apply the affine matrix, translate by ``t`` voxels, and
put the centre of the box in the middle of the grid of ``S = spatial_size``
voxels per axis.  Voxel ``(i, j, k)`` is the unit cube
:math:`[i, i+1) \times [j, j+1) \times [k, k+1)`: a point ``q`` lies in
voxel ``floor(q)``, so a point on a boundary belongs to the voxel above it.
An object ``render_size`` voxels long spans ``render_size + 1`` voxels.

The default ``spatial_size`` is the smallest ``S`` (the same on every axis)
that holds any mesh for these transforms: the normalised mesh lies in the
cube :math:`[-r/2, r/2]^3` (``r = render_size``), so every coordinate of
``q - S/2`` is at most :math:`m = \max_i (\sum_j |(A R)_{ij}|\, r/2 + |t_i|)`
in absolute value (a bound the corners of a cube reach), and ``S`` is the
smallest integer above ``2 m`` (with a relative margin of 1e-9 against
rounding).  Without transforms that is ``render_size + 1``; with a
rotation up to about ``sqrt(3) render_size + 1``.

Which voxels are active
-----------------------
A triangle ``T`` makes voxel ``i`` active when

* ``i`` is in the voxel bounding box of ``T``: ``floor(min T) <= i <=
  floor(max T)`` on every axis, and
* ``T`` meets the closed cube :math:`[i - \tau, i + 1 + \tau]^3`, with the
  tolerance :data:`TOLERANCE` :math:`\tau = 10^{-9}` voxel.

The second test is the separating-axis test of Akenine-Möller (2001) on the
13 axes (3 cube normals, the triangle normal, the 9 cross products of an
edge and a cube edge).  It is exact up to the tolerance, which is far above
the rounding of the arithmetic, so no voxel the surface reaches is lost to
rounding.  Consequences, all tested:

* every voxel that contains a point of the surface is active (no holes in
  large or thin triangles), in particular the voxel ``floor(q)`` of every
  vertex;
* a voxel whose cube the surface only touches (along a face, an edge or at
  a corner) is active too, except on the low side of the triangle's voxel
  box: a face lying in the plane ``x = 4`` makes one layer of voxels
  ``x = 4``, not two;
* a connected surface (a closed mesh, say) gives a 26-connected set of
  voxels.

Degenerate faces (zero area: repeated or collinear vertices) are kept: they
activate the voxels their segment or point touches, and carry zero area.
No division by the face's size is made, so they never produce NaN.

Voxels outside ``[0, S)`` on some axis are removed (``outside="filter"``),
moved to the nearest voxel inside (``"clamp"``: a flat layer on the grid's
border, merged with the voxels already there) or refused (``"raise"``).
The coordinates are sorted lexicographically and have no duplicates.

Features
--------
``"ones"``
    1 per active voxel (SparseConvNet's default input), 1 channel.
``"area"``
    The area of the surface inside the voxel, in square voxels (after the
    scaling and the transforms): the exact area of each triangle clipped to
    the closed cube, summed over the triangles.  Each point of the surface
    is counted in one voxel (the cubes overlap only on boundaries), so the
    areas sum to the surface area of the placed mesh (less what
    ``outside="filter"`` removes).  A voxel the surface only touches has
    area 0.  1 channel.
``"normal"``
    The area-weighted mean of the unit normals of the triangles in the
    voxel (from the vertex order, right-handed; the normals of the placed
    triangles), not re-normalised: its length is below 1 where the surface
    bends.  ``(0, 0, 0)`` where the surface inside has zero area.  3
    channels.

A tuple of names concatenates the channels in its order.

Examples
--------
A tetrahedron with its longest side scaled to 2 voxels, in a grid of 3:

>>> from types import SimpleNamespace
>>> import numpy as np
>>> tetra = SimpleNamespace(
...     vertices=np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]]),
...     faces=np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]),
... )
>>> grid_coordinates(tetra, 2)[0].tolist()
[[0.5, 0.5, 0.5], [2.5, 0.5, 0.5], [0.5, 2.5, 0.5], [0.5, 0.5, 2.5]]
>>> coords, features = voxelize(tetra, 2, features=("ones", "area"))
>>> coords.shape, features.shape
((17, 3), (17, 2))
>>> coords[:4].tolist()
[[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 0]]
>>> round(float(features[:, 1].sum()), 6)  # 3 faces of area 2 and one of area 2 sqrt(3)
9.464102

References
----------
T. Akenine-Möller, "Fast 3D triangle-box overlap testing", Journal of
Graphics Tools 6(1), 2001.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from graphnn._validation import check_number, check_triple
from graphnn.exceptions import MeshError
from graphnn.sparse3d.mesh.triangle_box import TOLERANCE, surface_pairs

__all__ = ["voxelize", "grid_coordinates", "FEATURES", "OUTSIDE", "TOLERANCE"]

#: The feature names and their number of channels.
FEATURES = {"ones": 1, "area": 1, "normal": 3}
#: The choices for voxels outside the grid.
OUTSIDE = ("filter", "clamp", "raise")
# (face, voxel) pairs per clipping step
_PAIRS_PER_CHUNK = 1 << 15


class MeshLike(Protocol):
    """Anything with ``vertices [V, 3]`` and triangle ``faces [F, 3]``, e.g. a ``Mesh``."""

    vertices: ArrayLike
    faces: ArrayLike


def grid_coordinates(
    mesh: MeshLike,
    render_size: float,
    *,
    spatial_size: int | Sequence[int] | None = None,
    rotation: ArrayLike | None = None,
    affine: ArrayLike | None = None,
    translate: ArrayLike | None = None,
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Return the vertices of ``mesh`` placed in the voxel grid, and the grid's size.

    The placement is the one of :func:`voxelize` (see the module notes):
    vertex ``v`` lies in voxel ``floor(points[v])``.

    Parameters
    ----------
    mesh, render_size, spatial_size, rotation, affine, translate
        As for :func:`voxelize`.

    Returns
    -------
    points : numpy.ndarray
        float64 ``[V, 3]``, one row per vertex (unreferenced ones too).
    spatial_size : tuple of 3 ints
        The grid size, the default one when ``spatial_size`` is None.

    Raises
    ------
    TypeError, ValueError
        As for :func:`voxelize`.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> triangle = SimpleNamespace(vertices=[[0, 0, 0], [2, 0, 0], [2, 1, 0]], faces=[[0, 1, 2]])
    >>> points, size = grid_coordinates(triangle, 4, translate=[1, 0, 0])
    >>> points.tolist(), size
    ([[2.5, 2.5, 3.5], [6.5, 2.5, 3.5], [6.5, 4.5, 3.5]], (7, 7, 7))
    """
    points, _, size = _place(mesh, render_size, spatial_size, rotation, affine, translate)
    return points, size


def voxelize(
    mesh: MeshLike,
    render_size: float,
    *,
    spatial_size: int | Sequence[int] | None = None,
    rotation: ArrayLike | None = None,
    affine: ArrayLike | None = None,
    translate: ArrayLike | None = None,
    features: str | Sequence[str] = "ones",
    outside: str = "filter",
) -> tuple[np.ndarray, np.ndarray]:
    """Return the voxels the surface of ``mesh`` passes through, with their features.

    Parameters
    ----------
    mesh : Mesh or object with ``vertices`` and ``faces``
        Finite ``vertices [V, 3]`` and integer triangle ``faces [F, 3]``
        (at least one face, not all on one point).
    render_size : float
        Length, in voxels, of the longest side of the bounding box.
    spatial_size : int or 3 ints, optional
        The grid, ``[0, S)`` on each axis; by default the smallest cube that
        holds any mesh under these transforms (module notes).
    rotation : array_like, shape [3, 3], optional
        A proper rotation (orthogonal, determinant +1, to 1e-6), applied
        about the centre after the scaling.
    affine : array_like, shape [3, 3], optional
        Any finite matrix, applied after the rotation.
    translate : array_like, shape [3], optional
        A shift in voxels, applied last.
    features : str or sequence of str, default "ones"
        ``"ones"``, ``"area"``, ``"normal"`` or a sequence of them, whose
        channels are concatenated (module notes).
    outside : {"filter", "clamp", "raise"}, default "filter"
        What to do with active voxels outside the grid: remove them, move
        them to the nearest voxel inside (merging voxels), or raise.

    Returns
    -------
    coords : numpy.ndarray
        int32 ``[N, 3]``, sorted lexicographically, no duplicates.
    features : numpy.ndarray
        float32 ``[N, C]``.

    Raises
    ------
    TypeError
        If ``mesh`` has no ``vertices``/``faces``, or an argument has the
        wrong type.
    ValueError
        If an argument has a bad value (the message names it), the mesh has
        no faces or only one point, or ``outside="raise"`` and a vertex lies
        outside the grid.

    Examples
    --------
    A single triangle in the plane z = 0, 2 voxels long, in a 2 x 2 x 2 grid:

    >>> from types import SimpleNamespace
    >>> triangle = SimpleNamespace(vertices=[[0, 0, 0], [1, 0, 0], [0, 1, 0]], faces=[[0, 1, 2]])
    >>> coords, features = voxelize(triangle, 2, spatial_size=2, features=("area", "normal"))
    >>> coords.tolist()
    [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    >>> features.tolist()
    [[1.0, 0.0, 0.0, 1.0], [0.5, 0.0, 0.0, 1.0], [0.5, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    >>> voxelize(triangle, 2, spatial_size=2, outside="raise")
    Traceback (most recent call last):
    ...
    ValueError: 2 vertices lie outside the grid of spatial_size [2, 2, 2], e.g. vertex 1 at ...
    >>> voxelize(triangle, 2, features="colour")
    Traceback (most recent call last):
    ...
    ValueError: unknown feature 'colour'; the features are 'ones', 'area', 'normal'
    """
    names = _feature_names(features)
    if outside not in OUTSIDE:
        raise ValueError(f"outside must be one of {', '.join(map(repr, OUTSIDE))}, got {outside!r}")
    points, faces, size = _place(mesh, render_size, spatial_size, rotation, affine, translate)
    grid = np.array(size, dtype=np.int64)
    if outside == "raise":
        _require_inside(points, faces, grid)
    bounds = (np.zeros(3, np.int64), grid - 1) if outside == "filter" else None
    weighted = any(name != "ones" for name in names)
    triangles = points[faces] if weighted else None
    keys, areas, face_ids = [], [], []
    for face, voxel in surface_pairs(np.ascontiguousarray(points.T)[:, faces.T], bounds):
        if weighted:
            areas.append(_clipped_areas(triangles[face], voxel))
            face_ids.append(face)
        if outside == "clamp":
            np.clip(voxel, 0, grid - 1, out=voxel)
        keys.append((voxel[:, 0] * grid[1] + voxel[:, 1]) * grid[2] + voxel[:, 2])
    key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    if len(key) == 0:  # the surface misses the grid
        channels = sum(FEATURES[name] for name in names)
        return np.zeros((0, 3), np.int32), np.zeros((0, channels), np.float32)
    if not weighted:
        unique = _unique_keys(key, int(grid.prod()))
        columns = [np.ones((len(unique), 1))]
    else:
        unique, inverse = np.unique(key, return_inverse=True)
        area = np.concatenate(areas)
        face = np.concatenate(face_ids)
        area_sum = np.bincount(inverse, area, minlength=len(unique))
        columns = []
        for name in names:
            if name == "ones":
                columns.append(np.ones((len(unique), 1)))
            elif name == "area":
                columns.append(area_sum[:, None])
            else:
                columns.append(_mean_normals(triangles, face, area, inverse, area_sum))
    coords = np.stack(np.unravel_index(unique, size), axis=1).astype(np.int32)
    return coords, np.concatenate(columns, axis=1).astype(np.float32)


def _clipped_areas(triangles: np.ndarray, voxels: np.ndarray) -> np.ndarray:
    """Areas of ``triangles [M, 3, 3]`` inside the cubes of ``voxels [M, 3]``.

    Sutherland-Hodgman clipping against the planes ``x = i``, ``x = i + 1``,
    then ``y``, then ``z``, on polygons of a fixed number of vertices
    (repeating the last one), in chunks of :data:`_PAIRS_PER_CHUNK`.  The
    coordinates stay absolute, so two voxels on either side of a plane cut a
    triangle at the same points and its areas add up, even for a triangle
    that lies almost in the plane.
    """
    areas = np.empty(len(triangles))
    for start in range(0, len(triangles), _PAIRS_PER_CHUNK):
        polygon = triangles[start : start + _PAIRS_PER_CHUNK]
        low = voxels[start : start + _PAIRS_PER_CHUNK, None].astype(np.float64)
        for axis in range(3):
            polygon = _clip(polygon, polygon[..., axis] - low[..., axis])
            polygon = _clip(polygon, (low[..., axis] + 1.0) - polygon[..., axis])
        spokes = polygon[:, 1:] - polygon[:, :1]
        twice = np.cross(spokes[:, :-1], spokes[:, 1:]).sum(axis=1)
        areas[start : start + len(polygon)] = 0.5 * np.sqrt((twice**2).sum(axis=1))
    return areas


def _clip(polygon: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Keep the part of each convex polygon ``[M, K, 3]`` where ``distance >= 0``.

    Returns polygons of ``K + 1`` vertices, the last one repeated as needed
    (an empty result is ``K + 1`` copies of one point: zero area).
    """
    m, k, _ = polygon.shape
    inside = distance >= 0
    following = np.roll(distance, -1, axis=1)
    crossing = inside != (following >= 0)
    t = distance / np.where(crossing, distance - following, 1.0)
    cut = polygon + t[..., None] * (np.roll(polygon, -1, axis=1) - polygon)
    vertices = np.stack([polygon, cut], axis=2).reshape(m, 2 * k, 3)
    keep = np.stack([inside, crossing], axis=2).reshape(m, 2 * k)
    position = np.cumsum(keep, axis=1) - 1
    keep &= position <= k  # only rounding could emit more than K + 1 vertices
    out = np.zeros((m, k + 1, 3))
    rows, cols = np.nonzero(keep)
    out[rows, position[rows, cols]] = vertices[rows, cols]
    last = np.minimum(keep.sum(axis=1), k + 1) - 1
    fill = np.minimum(np.arange(k + 1), np.maximum(last, 0)[:, None])
    return np.take_along_axis(out, fill[..., None], axis=1)


def _mean_normals(
    triangles: np.ndarray,
    face: np.ndarray,
    area: np.ndarray,
    inverse: np.ndarray,
    area_sum: np.ndarray,
) -> np.ndarray:
    """Area-weighted mean unit normal per voxel, ``[N, 3]``; zero where the area is zero."""
    normal = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    length = np.sqrt((normal**2).sum(axis=1, keepdims=True))
    unit = np.divide(normal, length, out=np.zeros_like(normal), where=length > 0)
    weighted = unit[face] * area[:, None]
    total = np.stack([np.bincount(inverse, weighted[:, d], len(area_sum)) for d in range(3)], 1)
    return np.divide(
        total, area_sum[:, None], out=np.zeros_like(total), where=area_sum[:, None] > 0
    )


def _unique_keys(key: np.ndarray, cells: int) -> np.ndarray:
    """Sorted distinct values of ``key`` (all in ``[0, cells)``): a bitmap when small, or a sort."""
    if cells <= 64 * len(key) + (1 << 16):
        marked = np.zeros(cells, dtype=bool)
        marked[key] = True
        return np.flatnonzero(marked)
    key = np.sort(key)
    return key[np.diff(key, prepend=-1) != 0]


def _feature_names(features: object) -> tuple[str, ...]:
    names = (features,) if isinstance(features, str) else features
    try:
        names = tuple(names)
    except TypeError:
        raise TypeError(
            f"features must be a name or a sequence of names, got {type(features).__name__}"
        ) from None
    if not names:
        raise ValueError(f"features names no feature; choose from {_known()}")
    for name in names:
        if name not in FEATURES:
            raise ValueError(f"unknown feature {name!r}; the features are {_known()}")
    return names


def _known() -> str:
    return ", ".join(map(repr, FEATURES))


def _require_inside(points: np.ndarray, faces: np.ndarray, grid: np.ndarray) -> None:
    used = np.unique(faces)
    voxel = np.floor(points[used])
    bad = np.flatnonzero(((voxel < 0) | (voxel >= grid)).any(axis=1))
    if len(bad):
        low, high = voxel.min(axis=0).astype(int), voxel.max(axis=0).astype(int)
        v = used[bad[0]]
        raise ValueError(
            f"{len(bad)} vertices lie outside the grid of spatial_size {grid.tolist()}, e.g. "
            f"vertex {v} at {points[v].tolist()} (voxel {voxel[bad[0]].astype(int).tolist()}); "
            f"the voxels span {low.tolist()} to {high.tolist()}: use a larger spatial_size, "
            f'or outside="filter" or "clamp"'
        )


def _place(
    mesh: MeshLike,
    render_size: object,
    spatial_size: object,
    rotation: ArrayLike | None,
    affine: ArrayLike | None,
    translate: ArrayLike | None,
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """Check the arguments; return the vertices placed in the grid, the faces, the grid size."""
    render_size = check_number(
        "render_size", render_size, low=0, low_open=True, what="a positive finite number"
    )
    vertices, faces = _mesh_arrays(mesh)
    matrix = np.eye(3)
    if rotation is not None:
        matrix = _rotation(rotation)
    if affine is not None:
        matrix = _matrix("affine", affine) @ matrix
    shift = np.zeros(3) if translate is None else _vector("translate", translate)
    if spatial_size is None:
        reach = (np.abs(matrix).sum(axis=1) * render_size / 2 + np.abs(shift)).max()
        size = (int(np.floor(2 * reach * (1 + 1e-9))) + 1,) * 3
    else:
        size = check_triple("spatial_size", spatial_size, low=1)
    used = np.bincount(faces.ravel(), minlength=len(vertices)) > 0
    corners = vertices if used.all() else vertices[used]
    low = np.array([column.min() for column in corners.T])  # faster than min(axis=0)
    high = np.array([column.max() for column in corners.T])
    extent = float((high - low).max())
    if extent == 0:
        raise MeshError(
            f"the mesh's faces all lie on the point {low.tolist()}: there is no extent to "
            "scale to render_size"
        )
    matrix = matrix * (render_size / extent)
    points = (vertices - (low + high) / 2) @ matrix.T + (shift + np.array(size) / 2)
    return points, faces, size


def _mesh_arrays(mesh: MeshLike) -> tuple[np.ndarray, np.ndarray]:
    try:
        vertices, faces = mesh.vertices, mesh.faces
    except AttributeError:
        raise TypeError(
            "mesh must have vertices and faces (a graphnn.sparse3d.Mesh), got "
            f"{type(mesh).__name__}"
        ) from None
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise MeshError(f"mesh vertices must have shape [V, 3], got {list(vertices.shape)}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise MeshError(f"mesh faces must have shape [F, 3], got {list(faces.shape)}")
    if len(faces) == 0:
        raise MeshError("the mesh has no faces: there is no surface to voxelize")
    if not np.issubdtype(faces.dtype, np.integer):
        raise TypeError(f"mesh faces must be integer vertex indices, got dtype {faces.dtype}")
    if faces.min() < 0 or faces.max() >= len(vertices):
        bad = np.flatnonzero(((faces < 0) | (faces >= len(vertices))).any(axis=1))[0]
        raise MeshError(
            f"face {bad} is {faces[bad].tolist()}, but vertex indices must be in "
            f"[0, {len(vertices)})"
        )
    if not np.isfinite(vertices).all():
        bad = np.flatnonzero(~np.isfinite(vertices).all(axis=1))[0]
        raise MeshError(f"vertex {bad} is not finite: {vertices[bad].tolist()}")
    return vertices, faces.astype(np.int64)


def _matrix(name: str, value: ArrayLike) -> np.ndarray:
    try:
        matrix = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 3x3 array of numbers, got {value!r}") from None
    if matrix.shape != (3, 3):
        raise ValueError(f"{name} must be a 3x3 matrix, got shape {list(matrix.shape)}")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{name} must be finite, got {matrix.tolist()}")
    return matrix


def _rotation(value: ArrayLike) -> np.ndarray:
    matrix = _matrix("rotation", value)
    error = np.abs(matrix.T @ matrix - np.eye(3)).max()
    determinant = np.linalg.det(matrix)
    if error > 1e-6 or determinant < 0:
        raise ValueError(
            f"rotation must be a proper rotation (orthogonal with determinant +1, to 1e-6), but "
            f"R^T R is off the identity by {error:.2g} and det R = {determinant:.6g}; pass "
            "other matrices as affine="
        )
    return matrix


def _vector(name: str, value: ArrayLike) -> np.ndarray:
    try:
        vector = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be 3 numbers, got {value!r}") from None
    if vector.shape != (3,):
        raise ValueError(f"{name} must have shape [3], got {list(vector.shape)}")
    if not np.isfinite(vector).all():
        raise ValueError(f"{name} must be finite, got {vector.tolist()}")
    return vector
