"""Submanifold kernel maps: the output sites are the input sites, each neighbour looked up.

A submanifold map looks up half of the offsets (the other half mirrors
them) in a dense ``int32`` grid over the sites' bounding box, widened by the
kernel's reach so that a shifted index never wraps, which holds each site's
row: one gather per offset.  Where that grid would be too large or too empty
(:func:`~graphnn.sparse3d.kernel_map.sites.dense_grid_fits`), it uses one
``torch.searchsorted`` per kernel column ``(a, b)`` of the sorted keys
instead, then steps along ``z``.  On a CUDA device with triton the look-ups
go through the open-addressing hash table of :mod:`triton_kernels.hash_table`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from graphnn._validation import check_triple
from graphnn.sparse3d.kernel_map.cache import cached_map
from graphnn.sparse3d.kernel_map.map import (
    KernelMap,
    Pairs,
    Triple,
    kernel_offsets,
    neighbors_from_pairs,
    set_pairs,
)
from graphnn.sparse3d.kernel_map.sites import (
    dense_grid_fits,
    hash_table,
    linear_keys,
    lookup_sites,
    sorted_sites,
)

if TYPE_CHECKING:
    from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = ["submanifold_map"]


def _column_walk(t: SparseVoxelTensor, ks: Triple, dil: Triple, pad: Triple, count: int) -> Pairs:
    """Return the pairs ``(in_rows, out_rows)`` of the offsets ``< count`` of a submanifold map.

    The neighbour of ``site`` through offset ``(a, b, c)`` is ``site + (a, b, c) * dil - pad``.
    The sites' keys are taken in a grid padded by ``pad`` on every side, so that a shifted
    key never wraps into another row; then each kernel column ``(a, b)`` costs one
    ``searchsorted`` of the shifted sorted keys, and the offsets along ``z`` follow by
    stepping forward in the sorted keys (they are distinct integers, so the first key
    ``>= q + dil`` is at most ``dil`` places after the first key ``>= q``).  When the
    sites are sorted, the ``out_rows`` and the ``in_rows`` of each offset increase.
    """
    sites = sorted_sites(t)
    device = t.coords.device
    grid = [size + 2 * p for size, p in zip(t.spatial_shape, pad, strict=True)]
    c = t.coords[sites.rows].long()
    keys = ((c[:, 0] * grid[0] + c[:, 1] + pad[0]) * grid[1] + c[:, 2] + pad[1]) * grid[2]
    keys += c[:, 3] + pad[2]
    dtype = torch.int32 if t.batch_size * math.prod(grid) < 2**31 - 1 else torch.int64
    keys = keys.to(dtype)
    table = torch.cat([keys, torch.tensor([torch.iinfo(dtype).max], dtype=dtype, device=device)])
    pairs: Pairs = []
    kx, ky, kz = ks
    for a in range(kx):
        for b in range(ky):
            first = (a * ky + b) * kz
            if first >= count:
                break
            q = keys + ((a * dil[0] - pad[0]) * grid[1] + b * dil[1] - pad[1]) * grid[2] - pad[2]
            p = torch.searchsorted(keys, q)
            hit = None
            for cz in range(min(kz, count - first)):
                if cz and dil[2] == 1:
                    q = q + 1
                    p = p + hit  # the first key >= q + 1 is one further exactly on a hit
                elif cz:
                    q = q + dil[2]
                    for _ in range(dil[2]):
                        p = p + (table[p] < q)
                hit = table[p] == q
                out_rows = torch.nonzero(hit).flatten()
                in_rows = p[out_rows]
                if not sites.sorted:
                    in_rows, out_rows = sites.rows[in_rows], sites.rows[out_rows]
                pairs.append((in_rows, out_rows))
    return pairs


def _grid_walk(
    t: SparseVoxelTensor, ks: Triple, dil: Triple, pad: Triple, count: int
) -> Pairs | None:
    """Return what :func:`_column_walk` does, through a dense grid over the sites' bounding box.

    The grid holds the row of every site (``-1`` elsewhere) over the box that
    encloses the sites, widened by ``pad`` on every side so that no shifted
    index wraps; each offset is then one gather of it.  Returns None when the
    grid would exceed :data:`~graphnn.sparse3d.kernel_map.sites.GRID_CELLS` cells, or
    :data:`~graphnn.sparse3d.kernel_map.sites.GRID_PER_SITE` per site.
    """
    n = t.num_sites
    if n == 0:
        return None
    xyz = t.coords[:, 1:]
    low = xyz.amin(0)
    extent = [int(e) + 2 * p for e, p in zip((xyz.amax(0) - low + 1).tolist(), pad, strict=True)]
    if not dense_grid_fits(t.batch_size * math.prod(extent), n):  # too large, or mostly empty
        return None
    device = t.coords.device
    c = (xyz - low).long()
    cells = (t.coords[:, 0].long() * extent[0] + c[:, 0] + pad[0]) * extent[1] + c[:, 1]
    cells = (cells + pad[1]) * extent[2] + c[:, 2] + pad[2]
    grid = torch.full((t.batch_size * math.prod(extent),), -1, dtype=torch.int32, device=device)
    grid.scatter_(0, cells, torch.arange(n, dtype=torch.int32, device=device))
    pairs: Pairs = []
    for a, b, cz in kernel_offsets(ks).tolist()[:count]:
        shift = ((a * dil[0] - pad[0]) * extent[1] + b * dil[1] - pad[1]) * extent[2]
        found = grid.index_select(0, cells + (shift + cz * dil[2] - pad[2]))
        out_rows = torch.nonzero(found >= 0).flatten()
        pairs.append((found.index_select(0, out_rows).long(), out_rows))
    return pairs


def _hashed_lookup(t: SparseVoxelTensor, ks: Triple, dil: Triple, pad: Triple, count: int) -> Pairs:
    """Return what :func:`_column_walk` does, with one hash-table query per site and offset."""
    device = t.coords.device
    delta = kernel_offsets(ks, device)[:count] * torch.tensor(dil, device=device)
    q = t.coords[None, :, 1:].long() + (delta - torch.tensor(pad, device=device))[:, None]
    inside = ((q >= 0) & (q < torch.tensor(t.spatial_shape, device=device))).all(2)
    batch = t.coords[None, :, :1].long().expand(count, -1, -1)
    keys = linear_keys(torch.cat([batch, q], 2), t.spatial_shape)
    found = lookup_sites(t, torch.where(inside, keys, -1))
    pairs: Pairs = []
    for row in found:
        out_rows = torch.nonzero(row >= 0).flatten()
        pairs.append((row[out_rows], out_rows))
    return pairs


def submanifold_map(
    t: SparseVoxelTensor, kernel_size: int | Sequence[int], dilation: int | Sequence[int] = 1
) -> KernelMap:
    """Return the (cached) map of a submanifold convolution: output sites = input sites.

    Output row ``o`` is input row ``o``; ``neighbors[o, k]`` is the input
    site at ``coords[o] + (offset_k - (kernel_size - 1) / 2) * dilation``.

    Parameters
    ----------
    t : SparseVoxelTensor
    kernel_size : int or 3 ints
        Odd on every axis.
    dilation : int or 3 ints, default 1

    Raises
    ------
    ValueError
        For an even or non-positive kernel size or dilation.

    Examples
    --------
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> t = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 2))
    >>> m = submanifold_map(t, 3)
    >>> m.neighbors.shape, int((m.neighbors >= 0).sum())
    (torch.Size([8, 27]), 64)
    >>> submanifold_map(t, 3) is m
    True
    """
    ks = check_triple("kernel_size", kernel_size, low=1)
    dil = check_triple("dilation", dilation, low=1)
    if any(k % 2 == 0 for k in ks):
        raise ValueError(
            f"a submanifold convolution needs an odd kernel_size on every axis (its output "
            f"sites are its input sites, centred), got {ks}"
        )
    pad = tuple(d * (k - 1) // 2 for k, d in zip(ks, dil, strict=True))
    key = ("submanifold", ks, (1, 1, 1), pad, dil, None)

    def build() -> KernelMap:
        coords, n = t.coords, t.num_sites
        center = math.prod(ks) // 2
        # Only the first half of the offsets is looked up: o feeds i through k exactly when
        # i feeds o through the mirrored offset K - 1 - k, so the other half is a scatter.
        hashed = hash_table(t) is not None
        half = _hashed_lookup(t, ks, dil, pad, center) if hashed else None
        if half is None:
            half = _grid_walk(t, ks, dil, pad, center) or _column_walk(t, ks, dil, pad, center)
        every = torch.arange(n, device=coords.device)
        pairs = [*half, (every, every), *((o, i) for i, o in reversed(half))]
        kmap = KernelMap(
            "submanifold", ks, (1, 1, 1), pad, dil, coords, t.spatial_shape,
            neighbors_from_pairs(pairs, n, coords.device), n,
            in_coords=coords, in_spatial_shape=t.spatial_shape, in_cache=t.cache,
            out_cache=t.cache,
        )  # fmt: skip
        if not hashed and sorted_sites(t).sorted:
            set_pairs(kmap, pairs)
        return kmap

    return cached_map(t, key, build)
