"""The kernel-map cache of a site set: maps built once per geometry, and moved between devices.

``t.cache`` is a dict shared by every tensor with the same sites (its keys
are listed in :mod:`graphnn.sparse3d.kernel_map`).  :func:`cached_map`
builds a map on first use and checks a reused one fits; :func:`move_cache`
copies a whole web of linked caches to another device.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from graphnn.sparse3d.kernel_map.map import KernelMap
from graphnn.sparse3d.kernel_map.sites import Sites

if TYPE_CHECKING:
    from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = ["cached_map", "move_cache"]


def cached_map(t: SparseVoxelTensor, key: tuple, build: Callable[[], KernelMap]) -> KernelMap:
    """Return the map under ``key`` in ``t``'s cache, built by ``build()`` the first time.

    Raises
    ------
    RuntimeError
        If the cached map was built for another number of sites (a cache
        shared by tensors whose sites differ).
    """
    kmap = t.cache.get(key)
    if kmap is None:
        kmap = build()
        t.cache[key] = kmap
    elif kmap.n_in != t.num_sites:
        raise RuntimeError(
            f"the kernel-map cache of this tensor holds a map for {kmap.n_in} input sites under "
            f"{key}, but the tensor has {t.num_sites}: tensors share a cache only when they have "
            "the same sites (use replace_features, not a cache from elsewhere)"
        )
    return kmap


class _Mover:
    """Copies a web of kernel-map caches to another device, keeping who shares what.

    Caches link to each other through their maps (``in_cache``/``out_cache``, a conv
    map's ``_inverse``), and one tensor often sits in several places (a submanifold
    map's ``out_coords`` *is* its input's ``coords``).  Each dict, map and tensor is
    copied once (memo by identity), so the copies are linked and shared as the
    originals were.  Not carried: the Triton hash tables (rebuilt on demand on the new
    device) and the torch path's tile plans (plain CPU bookkeeping, rebuilt on demand).
    """

    def __init__(self, device: torch.device, non_blocking: bool) -> None:
        self.device, self.non_blocking = device, non_blocking
        self.memo: dict[int, object] = {}

    def tensor(self, t: torch.Tensor) -> torch.Tensor:
        moved = self.memo.get(id(t))
        if moved is None:
            moved = self.memo[id(t)] = t.to(self.device, non_blocking=self.non_blocking)
            self.memo[id(moved)] = moved  # a tensor already moved stays itself
        return moved

    def cache(self, cache: dict) -> dict:
        moved = self.memo.get(id(cache))
        if moved is not None:
            return moved
        moved = self.memo[id(cache)] = {}
        for key, value in cache.items():
            if key == ("hash",):
                continue
            if key == ("sites",):
                moved[key] = Sites(self.tensor(value.keys), self.tensor(value.rows), value.sorted)
            elif isinstance(value, KernelMap):
                moved[key] = self.kmap(value)
        return moved

    def kmap(self, m: KernelMap) -> KernelMap:
        moved = self.memo.get(id(m))
        if moved is not None:
            return moved
        in_coords = None if m.in_coords is None else self.tensor(m.in_coords)
        moved = dataclasses.replace(
            m, out_coords=self.tensor(m.out_coords), neighbors=self.tensor(m.neighbors),
            in_coords=in_coords, in_cache=None, out_cache={},
        )  # fmt: skip
        self.memo[id(m)] = moved
        object.__setattr__(
            moved, "in_cache", None if m.in_cache is None else self.cache(m.in_cache)
        )
        object.__setattr__(moved, "out_cache", self.cache(m.out_cache))
        derived = m.__dict__
        if "_pairs" in derived:
            ins, outs = derived["_pairs"]
            pairs = ([self.tensor(t) for t in ins], [self.tensor(t) for t in outs])
            object.__setattr__(moved, "_pairs", pairs)
        if "_reverse" in derived:
            object.__setattr__(moved, "_reverse", self.tensor(derived["_reverse"]))
        if "_inverse" in derived:
            object.__setattr__(moved, "_inverse", self.kmap(derived["_inverse"]))
        return moved


def move_cache(
    coords: torch.Tensor, cache: dict, device: torch.device | str, non_blocking: bool = False
) -> tuple[torch.Tensor, dict]:
    """Return ``coords`` and its kernel-map cache copied to ``device``, links and all.

    Every map reachable from ``cache`` is copied once (the caches of the sites a
    strided convolution produced, the inverse maps, the sorted keys), so layers
    on the copy find the maps built before the move.  The Triton hash tables and
    the torch path's tile plans are rebuilt on demand instead.  This is what
    :meth:`SparseVoxelTensor.to <graphnn.sparse3d.tensor.SparseVoxelTensor.to>`
    does: maps built in a data-loading worker on the CPU move with the batch.

    Examples
    --------
    >>> from graphnn.sparse3d.kernel_map import conv_map
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> t = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 2))
    >>> down = conv_map(t, 2, stride=2)
    >>> coords, cache = move_cache(t.coords, t.cache, "meta")
    >>> moved = cache[("conv", (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), 1)]
    >>> moved.neighbors.device.type, moved.in_cache is cache, moved.in_coords is coords
    ('meta', True, True)
    """
    mover = _Mover(torch.device(device), non_blocking)
    return mover.tensor(coords), mover.cache(cache)
