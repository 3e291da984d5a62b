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

import numbers
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from graphnn.structure._checks import check_int

__all__ = ["voxelize", "grid_coordinates", "FEATURES", "OUTSIDE", "TOLERANCE"]

#: The feature names and their number of channels.
FEATURES = {"ones": 1, "area": 1, "normal": 3}
#: The choices for voxels outside the grid.
OUTSIDE = ("filter", "clamp", "raise")
#: How far (in voxels) a cube is grown for the overlap test.
TOLERANCE = 1e-9

# Chunk sizes: columns of candidate voxels per step, and (face, voxel) pairs per clipping step.
_COLUMNS_PER_CHUNK = 1 << 12
_PAIRS_PER_CHUNK = 1 << 15
_FAR = 1e200  # caps 1 / w, so that no product overflows to inf


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
    for face, voxel in _surface_pairs(np.ascontiguousarray(points.T)[:, faces.T], bounds):
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


def _surface_pairs(
    corner: np.ndarray, bounds: tuple[np.ndarray, np.ndarray] | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield chunks of active ``(face index [M], voxel int64 [M, 3])`` pairs.

    ``corner [coordinate, vertex, face]`` holds the triangles.  Each one
    names its axes ``(i, j, k)`` so that ``k`` is where its normal is
    largest (for a degenerate one, where its longest edge is) and walks its
    voxel box in rows ``i`` and columns ``(i, j)``.  Every separating-axis
    condition ``L <= w . corner <= U`` is linear in the voxel index: the
    conditions with ``w_k = 0`` bound ``j`` in a row to an interval, the
    others bound ``k`` in a column to an interval.  So only the hits are
    enumerated, not the candidates.  The faces go by dropped axis, in chunks
    of about :data:`_COLUMNS_PER_CHUNK` columns (small chunks reuse memory:
    fresh arrays cost page faults).  ``bounds`` (lowest and highest voxel)
    clips the boxes.
    """
    low = np.floor(np.minimum(np.minimum(corner[:, 0], corner[:, 1]), corner[:, 2]))
    high = np.floor(np.maximum(np.maximum(corner[:, 0], corner[:, 1]), corner[:, 2]))
    low, high = low.astype(np.int64), high.astype(np.int64)
    if bounds is not None:
        np.maximum(low, bounds[0][:, None], out=low)
        np.minimum(high, bounds[1][:, None], out=high)
    kept = np.flatnonzero((low <= high).all(axis=0))  # boxes not clipped away entirely
    if len(kept) < corner.shape[2]:
        corner, low, high = corner.take(kept, 2), low.take(kept, 1), high.take(kept, 1)
    guide = _cross(corner[:, 1] - corner[:, 0], corner[:, 2] - corner[:, 1])  # the normal,
    flat = np.flatnonzero((guide == 0).all(axis=0))
    if len(flat):  # or for a degenerate face its longest edge
        edge = corner[:, [1, 2, 0]][..., flat] - corner[..., flat]
        longest = np.argmax((edge**2).sum(axis=0), axis=0)
        guide[:, flat] = edge[:, longest, np.arange(len(flat))]
    dropped = np.argmax(np.abs(guide), axis=0).astype(np.int8)
    group = np.argsort(dropped, kind="stable")  # faces by dropped axis
    kept, corner = kept[group], corner.take(group, 2)  # take: C-contiguous results
    low, high = low.take(group, 1), high.take(group, 1)
    edges = np.searchsorted(dropped[group], [0, 1, 2, 3])
    for axis in range(3):
        order = [(axis + 1) % 3, (axis + 2) % 3, axis]  # (i, j, k): the dropped axis last
        first, end = edges[axis], edges[axis + 1]
        # a cyclic permutation of the coordinates: the cross products stay the same
        triangles = corner[order, :, first:end]
        box_low, box_high = low[order, first:end], high[order, first:end]
        cells = np.cumsum((box_high[0] - box_low[0] + 1) * (box_high[1] - box_low[1] + 1))
        start = 0
        while start < end - first:
            budget = cells[start - 1] + _COLUMNS_PER_CHUNK if start else _COLUMNS_PER_CHUNK
            stop = max(int(np.searchsorted(cells, budget, "right")), start + 1)
            part = slice(start, stop)
            face, ijk = _hits(*_laws(triangles[..., part]), box_low[:, part], box_high[:, part])
            voxel = np.empty((len(face), 3), dtype=np.int64)
            for column, values in zip(order, ijk, strict=True):
                voxel[:, column] = values
            yield kept[first + start + face], voxel
            start = stop


def _laws(corner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the row and column laws of triangles ``corner [(i, j, k), vertex, face]``.

    A cube at corner ``c`` overlaps a triangle on axis ``w`` when ``lower <=
    w . c <= upper``.  Besides the cube normals (the voxel box), the axes
    are the normal and edge ``e`` x unit vector ``u``; those with ``u = k``
    have ``w_k = 0`` and bound ``j`` in a row: the row law ``[3, 3, F]``.
    The other 7 bound ``k`` in a column: the column law ``[4, 7, F]``.  An
    axis with ``w_k = 0`` among those, or ``w_j = 0`` among the first, is
    parallel to a cube normal, so the voxel box implies it and it is left
    out.  Projections on ``e x u`` are components of cross products, ``(e x
    u) . v = (v x e) . u``, and ``e x u`` is ``(0, e_k, -e_j)``, ``(-e_k,
    0, e_i)``, ``(e_j, -e_i, 0)`` for ``u = i, j, k``.  (Fresh temporaries
    cost page faults, hence the ``out=``.)
    """
    v = corner
    f = v.shape[2]
    e = np.empty_like(v)  # [coordinate, edge, face]: edge m runs from vertex m to m + 1
    for m in range(3):
        np.subtract(v[:, (m + 1) % 3], v[:, m], out=e[:, m])
    n = _cross(e[:, 0], e[:, 1])
    own = _cross(v, e)  # [u, edge, face]: projections of the edge's vertices,
    far = _cross(v[:, [2, 0, 1]], e)  # and of the opposite one
    lower = np.minimum(own, far)
    upper = np.maximum(own, far, out=own)
    # [0, 1]^3 projects on w = e x u to [-minus, plus]; the slack grows it by the tolerance
    positive = np.maximum(e, 0.0, out=far)
    negative = positive - e  # max(-e, 0)
    plus, minus = np.empty_like(lower), np.empty_like(lower)
    for u, (a, b) in enumerate([(2, 1), (0, 2), (1, 0)]):  # e x u = e_a at one place, -e_b
        np.add(positive[a], negative[b], out=plus[u])
        np.add(negative[a], positive[b], out=minus[u])
    slack = np.add(plus, minus)
    slack *= TOLERANCE
    plus += slack
    minus += slack
    lower -= plus
    upper += minus
    p = n[0] * v[0] + n[1] * v[1] + n[2] * v[2]  # [vertex, face]
    n_plus, n_minus = np.maximum(n, 0.0).sum(axis=0), np.maximum(-n, 0.0).sum(axis=0)
    n_slack = TOLERANCE * (n_plus + n_minus)
    n_lower = p.min(axis=0) - n_plus - n_slack
    n_upper = p.max(axis=0) + n_minus + n_slack
    row_law = np.empty((3, 3, f))  # e x k = (e_j, -e_i, 0)
    _solve(lower[2], upper[2], -e[0], [e[1]], row_law)
    column_law = np.empty((4, 7, f))
    e_i, e_j, e_k = e
    zero = np.zeros((3, f))
    _solve(
        np.concatenate([n_lower[None], lower[0], lower[1]]),
        np.concatenate([n_upper[None], upper[0], upper[1]]),
        np.concatenate([n[None, 2], -e_j, e_i]),  # w_k of the normal, e x i, e x j
        [np.concatenate([n[None, 0], zero, -e_k]), np.concatenate([n[None, 1], e_k, zero])],
        column_law,
    )
    return row_law, column_law


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross products ``a x b`` of vectors stored as rows of components, ``[3, ...]``."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    scratch = np.empty_like(out[0])
    for d in range(3):
        p, q = (d + 1) % 3, (d + 2) % 3
        np.multiply(a[p], b[q], out=out[d])
        out[d] -= np.multiply(a[q], b[p], out=scratch)
    return out


def _solve(
    lower: np.ndarray, upper: np.ndarray, w: np.ndarray, others: list[np.ndarray], out: np.ndarray
) -> None:
    """Solve ``lower <= others . x + w y <= upper`` for ``y`` where ``w != 0``, into ``out``.

    ``out`` gets ``[y_low, y_high, *slopes]`` with ``y_low + slopes . x <= y
    <= y_high + slopes . x``; where ``w = 0``, bounds that never bind
    (infinite, zero slopes).
    """
    idle = w == 0
    inverse = np.divide(1.0, w, out=np.zeros_like(w), where=~idle)
    np.clip(inverse, -_FAR, _FAR, out=inverse)
    low, high = lower * inverse, np.multiply(upper, inverse, out=out[1])
    np.minimum(low, high, out=out[0])
    np.maximum(low, high, out=out[1])
    np.copyto(out[0], -np.inf, where=idle)
    np.copyto(out[1], np.inf, where=idle)
    inverse *= -1.0
    for slope, o in zip(out[2:], others, strict=True):
        np.multiply(o, inverse, out=slope)


def _hits(
    row_law: np.ndarray, column_law: np.ndarray, box_low: np.ndarray, box_high: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Return the active voxels of some triangles: face indices and ``(i, j, k)``."""
    # rows i of each triangle's box, and the interval of j in each
    face, i = _expand(box_low[0], box_high[0] - box_low[0] + 1)
    law = np.take(row_law, face, axis=2)  # np.take keeps the result C-contiguous
    low, high = law[0] + law[2] * i, law[1] + law[2] * i
    j_low = np.maximum(np.ceil(np.maximum(np.maximum(low[0], low[1]), low[2])), box_low[1, face])
    j_high = np.minimum(
        np.floor(np.minimum(np.minimum(high[0], high[1]), high[2])), box_high[1, face]
    )
    # columns (i, j), and the interval of k in each
    row, j = _expand(j_low, np.maximum(j_high - j_low + 1, 0).astype(np.int64))
    face, i = face[row], i[row]
    k_low, k_high = np.full(len(face), -np.inf), np.full(len(face), np.inf)
    shift, term = np.empty(len(face)), np.empty(len(face))
    # axis by axis, through two buffers (gathering the law [4, 7, columns] costs page faults)
    for low, high, slope_i, slope_j in column_law.transpose(1, 0, 2):
        np.multiply(np.take(slope_i, face, out=shift), i, out=shift)
        shift += np.multiply(np.take(slope_j, face, out=term), j, out=term)
        np.maximum(k_low, np.add(np.take(low, face, out=term), shift, out=term), out=k_low)
        np.minimum(k_high, np.add(np.take(high, face, out=term), shift, out=term), out=k_high)
    k_low = np.maximum(np.ceil(k_low), box_low[2, face])
    k_high = np.minimum(np.floor(k_high), box_high[2, face])
    column, k = _expand(k_low, np.maximum(k_high - k_low + 1, 0).astype(np.int64))
    return face[column], (i[column], j[column].astype(np.int64), k.astype(np.int64))


def _expand(first: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(owner, value)``: ``first[n], first[n] + 1, ...`` ``count[n]`` times, for each n."""
    owner = np.repeat(np.arange(len(count)), count)
    value = first[owner] + (np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count))
    return owner, value


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
    if isinstance(render_size, bool) or not isinstance(render_size, numbers.Real):
        raise TypeError(f"render_size must be a positive number, got {render_size!r}")
    if not 0 < render_size < np.inf:
        raise ValueError(f"render_size must be a positive finite number, got {render_size!r}")
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
        size = _grid_size(spatial_size)
    used = np.bincount(faces.ravel(), minlength=len(vertices)) > 0
    corners = vertices if used.all() else vertices[used]
    low = np.array([column.min() for column in corners.T])  # faster than min(axis=0)
    high = np.array([column.max() for column in corners.T])
    extent = float((high - low).max())
    if extent == 0:
        raise ValueError(
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
        raise ValueError(f"mesh vertices must have shape [V, 3], got {list(vertices.shape)}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"mesh faces must have shape [F, 3], got {list(faces.shape)}")
    if len(faces) == 0:
        raise ValueError("the mesh has no faces: there is no surface to voxelize")
    if not np.issubdtype(faces.dtype, np.integer):
        raise TypeError(f"mesh faces must be integer vertex indices, got dtype {faces.dtype}")
    if faces.min() < 0 or faces.max() >= len(vertices):
        bad = np.flatnonzero(((faces < 0) | (faces >= len(vertices))).any(axis=1))[0]
        raise ValueError(
            f"face {bad} is {faces[bad].tolist()}, but vertex indices must be in "
            f"[0, {len(vertices)})"
        )
    if not np.isfinite(vertices).all():
        bad = np.flatnonzero(~np.isfinite(vertices).all(axis=1))[0]
        raise ValueError(f"vertex {bad} is not finite: {vertices[bad].tolist()}")
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


def _grid_size(value: object) -> tuple[int, int, int]:
    sizes = (value,) * 3 if isinstance(value, numbers.Number) else value
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise TypeError(f"spatial_size must be an int or 3 ints, got {value!r}") from None
    if len(sizes) != 3:
        raise ValueError(f"spatial_size must be an int or 3 ints, got {value!r}")
    for axis, size in enumerate(sizes):
        check_int(f"spatial_size[{axis}]", size, low=1)
    return tuple(int(s) for s in sizes)
