"""The triangle-box overlap test of the voxelizer: every voxel a triangle meets, enumerated.

:func:`surface_pairs` finds, for a set of triangles in voxel coordinates,
every pair (triangle, voxel) such that the triangle meets the voxel's
closed cube grown by :data:`TOLERANCE`: the separating-axis test of
Akenine-Möller (2001) on its 13 axes, solved as intervals.  Every
separating-axis condition ``L <= w . corner <= U`` is linear in the voxel
index, so in each row of a triangle's voxel box the voxels that pass form an
interval of ``j``, and in each column an interval of ``k``: only the hits
are enumerated, never the candidates.  :mod:`~graphnn.sparse3d.mesh.voxelization`
builds the active voxels and their features from these pairs.

References
----------
T. Akenine-Möller, "Fast 3D triangle-box overlap testing", Journal of
Graphics Tools 6(1), 2001.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["TOLERANCE", "cross", "surface_pairs"]

#: How far (in voxels) a cube is grown for the overlap test.
TOLERANCE = 1e-9

# columns of candidate voxels per step
_COLUMNS_PER_CHUNK = 1 << 12
_FAR = 1e200  # caps 1 / w, so that no product overflows to inf


def surface_pairs(
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
    guide = cross(corner[:, 1] - corner[:, 0], corner[:, 2] - corner[:, 1])  # the normal,
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
    n = cross(e[:, 0], e[:, 1])
    own = cross(v, e)  # [u, edge, face]: projections of the edge's vertices,
    far = cross(v[:, [2, 0, 1]], e)  # and of the opposite one
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


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
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
