"""The sites of a sparse tensor as sorted linear keys (or a hash table), and their look-up.

A site's linear key is ``((batch * D + x) * H + y) * W + z`` (``int64``):
sorting the keys sorts the sites lexicographically.  The keys are sorted
once per site set and kept in the tensor's cache under ``("sites",)``; on
CUDA with triton the hash table of :mod:`triton_kernels.hash_table` is kept
under ``("hash",)``.  :func:`dense_grid_fits` decides when the builders may
index a dense grid over a bounding box instead of sorting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import torch

from graphnn import backends

if TYPE_CHECKING:
    from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = [
    "GRID_CELLS",
    "GRID_PER_SITE",
    "Sites",
    "coords_from_keys",
    "dense_grid_fits",
    "hash_table",
    "linear_keys",
    "lookup_sites",
    "sorted_sites",
]

#: Most cells of a dense look-up grid over the sites' bounding box (int32 or int64 each),
#: and most cells per site (beyond, filling and scanning the grid costs more than sorting).
GRID_CELLS = 2**24
GRID_PER_SITE = 64


def dense_grid_fits(cells: int, sites: int) -> bool:
    """Whether a dense grid of ``cells`` cells over ``sites`` sites is small and full enough.

    At most :data:`GRID_CELLS` cells and :data:`GRID_PER_SITE` per site;
    beyond, the builders sort the keys instead.
    """
    return cells <= min(GRID_CELLS, GRID_PER_SITE * sites)


def linear_keys(coords: torch.Tensor, spatial_shape: Sequence[int]) -> torch.Tensor:
    """Return the ``int64`` keys ``((batch * D + x) * H + y) * W + z`` of ``coords [..., 4]``.

    Sorting the keys sorts the sites lexicographically by ``(batch, x, y, z)``.

    Examples
    --------
    >>> linear_keys(torch.tensor([[1, 0, 2, 3]]), (4, 5, 6)).tolist()
    [135]
    """
    c = coords.long()
    D, H, W = spatial_shape
    return ((c[..., 0] * D + c[..., 1]) * H + c[..., 2]) * W + c[..., 3]


def coords_from_keys(keys: torch.Tensor, spatial_shape: Sequence[int]) -> torch.Tensor:
    """Return the ``int32 [N, 4]`` sites of linear keys: the inverse of :func:`linear_keys`."""
    D, H, W = spatial_shape
    z = keys % W
    rest = keys // W
    y = rest % H
    rest = rest // H
    x = rest % D
    return torch.stack([rest // D, x, y, z], dim=1).to(torch.int32)


class Sites(NamedTuple):
    """The sorted keys of a site set and the row of each."""

    keys: torch.Tensor  # int64 [N], sorted
    rows: torch.Tensor  # int64 [N], rows[j] = row of keys[j]
    sorted: bool  # the rows are in key order: rows = arange(N)

    @classmethod
    def of(cls, keys: torch.Tensor) -> Sites:
        """Sort the keys of the rows (stably)."""
        in_order = keys.numel() < 2 or bool((keys[1:] >= keys[:-1]).all())
        if in_order:
            return cls(keys, torch.arange(keys.numel(), device=keys.device), True)
        keys, rows = torch.sort(keys, stable=True)
        return cls(keys, rows, False)


def sorted_sites(t: SparseVoxelTensor) -> Sites:
    """Return the sorted keys of ``t``'s sites, computed once and kept in its cache."""
    sites = t.cache.get(("sites",))
    if sites is None:
        sites = t.cache[("sites",)] = Sites.of(linear_keys(t.coords, t.spatial_shape))
    return sites


def hash_table(t: SparseVoxelTensor):
    """Return the triton hash table of ``t``'s sites, or None where the torch path runs."""
    kernels = backends.triton_module("hash_table", t.coords)
    if kernels is None:
        return None
    if ("hash",) not in t.cache:
        keys = linear_keys(t.coords, t.spatial_shape)
        t.cache[("hash",)] = kernels.hash_build(keys, validate=False)
    return t.cache[("hash",)]


def lookup_sites(t: SparseVoxelTensor, keys: torch.Tensor) -> torch.Tensor:
    """Return the ``int64`` row of ``t`` with each linear key, ``-1`` where there is none.

    Keys below 0 (invalid queries) give -1.

    Examples
    --------
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> t = SparseVoxelTensor(torch.tensor([[0, 1, 1, 1]]), torch.ones(1, 1), (2, 2, 2))
    >>> lookup_sites(t, torch.tensor([7, 0, -1])).tolist()
    [0, -1, -1]
    """
    if keys.numel() == 0 or t.num_sites == 0:
        return torch.full(keys.shape, -1, dtype=torch.int64, device=keys.device)
    table = hash_table(t)
    if table is not None:
        from triton_kernels.hash_table import hash_lookup

        flat = keys.reshape(-1)
        valid = flat >= 0
        rows = torch.full_like(flat, -1)
        rows[valid] = hash_lookup(table, flat[valid]).long()
        return rows.view(keys.shape)
    sites = sorted_sites(t)
    pos = torch.searchsorted(sites.keys, keys).clamp_(max=sites.keys.numel() - 1)
    found = sites.keys[pos] == keys
    return torch.where(found, sites.rows[pos], -1)
