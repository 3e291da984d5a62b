r"""Kernel maps: which input site feeds which output site through which kernel offset.

Every sparse convolution (and pooling) of :mod:`graphnn.sparse3d` is

.. math:: \mathrm{out}[o] = \sum_k \mathrm{features}[\mathrm{neighbors}[o, k]]\, W[k]

over the offsets ``k`` whose neighbour exists (``neighbors[o, k] >= 0``), with
``W`` of shape ``[K, C_in, C_out]``.  A :class:`KernelMap` holds the output
sites and that ``neighbors`` table; the builders below make one from a
:class:`~graphnn.sparse3d.tensor.SparseVoxelTensor` and store it in the
tensor's cache, so layers with the same geometry on the same sites build it
once.

Conventions
-----------
Offset order
    Offsets ``(a, b, c)``, ``a in range(kx)``, ``b in range(ky)``,
    ``c in range(kz)``, have the flat index ``k = (a * ky + b) * kz + c``
    (x-major, z fastest): the order of ``torch``'s ``conv3d`` weight
    ``w[o, i].reshape(-1)`` with ``(D, H, W) = (x, y, z)``.
Geometry
    As a dense ``conv3d`` (cross-correlation): output site ``q`` reads the
    input site ``q * stride - padding + offset * dilation``, and the output
    size per axis is ``(size + 2 padding - dilation (k - 1) - 1) // stride + 1``.
Kinds
    ``"submanifold"``: output sites = input sites, in the input's row order
    (``out_coords`` *is* the input's ``coords``); the padding is
    ``dilation (k - 1) / 2`` and the stride 1, so odd kernel sizes only.
    ``"conv"``: output sites are those with at least ``min_active_inputs``
    active input sites in their window (SparseConvNet's rule).
    ``"transpose"``: ``conv_transpose3d`` geometry, input ``i`` feeds output
    ``i * stride - padding + offset * dilation``; every reachable site is an
    output site.  ``"inverse"``: the transpose of a ``"conv"`` map, back to
    that conv's input sites: ``neighbors`` is the conv map's :meth:`reverse`
    with the same offsets (no mirroring), which is ``conv_transpose3d``'s
    convention, so an inverse conv equals a dense ``conv_transpose3d`` with
    the conv's geometry, sampled at the conv's input sites.
    The output sites of ``"conv"`` and ``"transpose"`` maps are sorted
    lexicographically by ``(batch, x, y, z)``.
Site look-up
    A site's linear key is ``((batch * D + x) * H + y) * W + z`` (``int64``);
    the keys are sorted once per site set (and cached), with no Python loop
    over sites.  A submanifold map looks up half of the offsets (the other
    half mirrors them) in a dense ``int32`` grid over the sites' bounding
    box, widened by the kernel's reach so that a shifted index never wraps,
    which holds each site's row: one gather per offset.  Where that grid
    would exceed ``_GRID_CELLS`` cells or ``_GRID_PER_SITE`` cells per site
    (sites spread thinly over a large box), it uses one
    ``torch.searchsorted`` per kernel column ``(a, b)`` of the sorted keys
    instead, then steps along ``z``.  Strided and transposed maps
    list the output each (offset, input) pair reaches, axis by axis (a kernel
    that tiles the grid, ``stride = kernel_size``, reaches one output per
    input directly), and count the distinct outputs in a dense grid over
    their bounding box (``torch.bincount``; ``torch.unique`` of the keys
    when the box is too large).  On a CUDA device with triton, the
    submanifold look-ups go through the open-addressing hash table of
    :mod:`triton_kernels.hash_table` instead (when it imports), as chosen by
    :func:`graphnn.nn.functional.backend`.
Cache
    ``t.cache`` is a dict shared by all tensors with the same sites.  Its keys
    are ``("submanifold", kernel_size, (1, 1, 1), padding, dilation, None)``,
    ``("conv", kernel_size, stride, padding, dilation, min_active_inputs)``
    and ``("transpose", kernel_size, stride, padding, dilation,
    output_padding)`` for the maps whose *input* are those sites, and
    ``("inverse", kernel_size, stride, padding, dilation)`` for the
    ``"conv"`` map whose *output* they are: a conv map's output cache
    (:attr:`KernelMap.out_cache`, the cache of the tensor a strided conv
    returns) links back to it, which is how :func:`find_inverse_map` finds
    the map to invert, and the inverse map's output cache is the conv
    input's cache again.  ``("sites",)`` and ``("hash",)`` hold the sorted
    keys and the hash table of the sites.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import torch

if TYPE_CHECKING:
    from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = [
    "KernelMap",
    "conv_map",
    "conv_output_shape",
    "find_inverse_map",
    "inverse_map",
    "kernel_offsets",
    "linear_keys",
    "lookup_sites",
    "move_cache",
    "submanifold_map",
    "transpose_map",
    "transpose_output_shape",
]

Triple = tuple[int, int, int]

#: Most cells of a dense look-up grid over the sites' bounding box (int32 or int64 each),
#: and most cells per site (beyond, filling and scanning the grid costs more than sorting).
_GRID_CELLS = 2**24
_GRID_PER_SITE = 64


@dataclasses.dataclass(frozen=True, eq=False)
class KernelMap:
    """The neighbour table of one sparse convolution, and its output sites.

    Parameters
    ----------
    kind : {"submanifold", "conv", "transpose", "inverse"}
    kernel_size, stride, padding, dilation : tuple of 3 ints
        The geometry, as for a dense convolution (for ``"inverse"``: the
        geometry of the conv it inverts).
    out_coords : torch.Tensor
        ``int32 [N_out, 4]`` ``(batch, x, y, z)`` of the output sites.
    out_spatial_shape : tuple of 3 ints
    neighbors : torch.Tensor
        ``int32 [N_out, K]``: the input row feeding output row ``o`` through
        offset ``k``, ``-1`` if none.  For a fixed ``k`` an input row appears
        at most once.
    n_in : int
        Number of input sites.
    in_coords : torch.Tensor, optional
        ``int32 [n_in, 4]``, the input sites (kept by the builders).
    in_spatial_shape : tuple of 3 ints, optional
    in_cache, out_cache : dict
        The kernel-map caches of the input and of the output sites (see the
        module notes).

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> coords = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1]], dtype=torch.int32)
    >>> t = SparseVoxelTensor(coords, torch.ones(2, 1), (1, 1, 2))
    >>> m = submanifold_map(t, (1, 1, 3))
    >>> m.neighbors.tolist()
    [[-1, 0, 1], [0, 1, -1]]
    >>> m.reverse().tolist()
    [[1, 0, -1], [-1, 1, 0]]
    >>> [p.tolist() for p in m.pairs(2)]
    [[1], [0]]
    """

    kind: str
    kernel_size: Triple
    stride: Triple
    padding: Triple
    dilation: Triple
    out_coords: torch.Tensor
    out_spatial_shape: Triple
    neighbors: torch.Tensor
    n_in: int
    in_coords: torch.Tensor | None = dataclasses.field(default=None, repr=False)
    in_spatial_shape: Triple | None = None
    in_cache: dict | None = dataclasses.field(default=None, repr=False)
    out_cache: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def kernel_volume(self) -> int:
        """``K``, the number of kernel offsets."""
        kx, ky, kz = self.kernel_size
        return kx * ky * kz

    @property
    def n_out(self) -> int:
        """Number of output sites."""
        return int(self.out_coords.shape[0])

    @property
    def num_pairs(self) -> int:
        """Number of (input, output, offset) triples: the multiply-adds per channel pair."""
        return sum(o.numel() for o in self._pair_lists()[1])

    def reverse(self) -> torch.Tensor:
        """Return the reverse table ``int32 [n_in, K]``, computed once, then cached.

        ``reverse[i, k] = o`` where ``neighbors[o, k] == i``, else -1.
        """
        cached = self.__dict__.get("_reverse")
        if cached is None:
            in_rows, out_rows = self._pair_lists()
            cached = _neighbors_from_pairs(
                list(zip(out_rows, in_rows, strict=True)), self.n_in, self.neighbors.device
            )
            object.__setattr__(self, "_reverse", cached)
        return cached

    def pairs(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(in_rows, out_rows)``, ``int64``, of the pairs through offset ``k``.

        ``out_rows`` is increasing.
        """
        if not 0 <= k < self.kernel_volume:
            raise IndexError(f"offset {k} out of range for a kernel of {self.kernel_volume}")
        in_rows, out_rows = self._pair_lists()
        return in_rows[k], out_rows[k]

    def _pair_lists(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Return the ``in_rows`` and the ``out_rows`` of every offset (two lists of K)."""
        cached = self.__dict__.get("_pairs")
        if cached is None:
            offsets, out_rows = torch.nonzero(self.neighbors.t() >= 0, as_tuple=True)
            in_rows = self.neighbors[out_rows, offsets].long()
            counts = torch.bincount(offsets, minlength=self.kernel_volume).tolist()
            cached = (list(in_rows.split(counts)), list(out_rows.split(counts)))
            object.__setattr__(self, "_pairs", cached)
        return cached


# --- geometry ----------------------------------------------------------------------------


def _triple(name: str, value: int | Sequence[int], low: int) -> Triple:
    """``value`` as 3 ints ``>= low`` (an int is repeated), or raise naming ``name``."""
    values = (value,) * 3 if not isinstance(value, Sequence) else tuple(value)
    if len(values) != 3:
        raise ValueError(f"{name} must be an int or 3 ints, got {value!r}")
    out = []
    for v in values:
        if isinstance(v, bool):
            raise TypeError(f"{name} must be an int or 3 ints, got {value!r}")
        try:
            v = operator.index(v)
        except TypeError:
            raise TypeError(f"{name} must be an int or 3 ints, got {value!r}") from None
        if v < low:
            raise ValueError(f"{name} must be >= {low} on every axis, got {value!r}")
        out.append(v)
    return tuple(out)


def conv_output_shape(
    spatial_shape: Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Triple:
    """Return the output spatial shape of a dense ``conv3d`` with this geometry.

    Raises
    ------
    ValueError
        If the dilated kernel is larger than the padded input on some axis.

    Examples
    --------
    >>> conv_output_shape((8, 8, 5), 3, stride=2, padding=1)
    (4, 4, 3)
    """
    ks, st = _triple("kernel_size", kernel_size, 1), _triple("stride", stride, 1)
    pad, dil = _triple("padding", padding, 0), _triple("dilation", dilation, 1)
    shape = []
    for axis, (n, k, s, p, d) in enumerate(zip(spatial_shape, ks, st, pad, dil, strict=True)):
        span = d * (k - 1) + 1
        if n + 2 * p < span:
            raise ValueError(
                f"the kernel does not fit on axis {axis}: kernel_size {k} with dilation {d} "
                f"spans {span} sites, the input has {n} + 2 * padding {p} = {n + 2 * p}"
            )
        shape.append((n + 2 * p - span) // s + 1)
    return tuple(shape)


def kernel_offsets(kernel_size: int | Sequence[int], device: torch.device | str = "cpu"):
    """Return the ``int64 [K, 3]`` offsets ``(a, b, c)`` in the order ``(a * ky + b) * kz + c``.

    Examples
    --------
    >>> kernel_offsets((2, 1, 2)).tolist()
    [[0, 0, 0], [0, 0, 1], [1, 0, 0], [1, 0, 1]]
    """
    kx, ky, kz = _triple("kernel_size", kernel_size, 1)
    grids = torch.meshgrid(
        torch.arange(kx, device=device),
        torch.arange(ky, device=device),
        torch.arange(kz, device=device),
        indexing="ij",
    )
    return torch.stack([g.reshape(-1) for g in grids], dim=1)


# --- site lookup -------------------------------------------------------------------------


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


def _coords_from_keys(keys: torch.Tensor, spatial_shape: Sequence[int]) -> torch.Tensor:
    D, H, W = spatial_shape
    z = keys % W
    rest = keys // W
    y = rest % H
    rest = rest // H
    x = rest % D
    return torch.stack([rest // D, x, y, z], dim=1).to(torch.int32)


class _Sites(NamedTuple):
    """The sorted keys of a site set and the row of each."""

    keys: torch.Tensor  # int64 [N], sorted
    rows: torch.Tensor  # int64 [N], rows[j] = row of keys[j]
    sorted: bool  # the rows are in key order: rows = arange(N)

    @classmethod
    def of(cls, keys: torch.Tensor) -> _Sites:
        """Sort the keys of the rows (stably)."""
        in_order = keys.numel() < 2 or bool((keys[1:] >= keys[:-1]).all())
        if in_order:
            return cls(keys, torch.arange(keys.numel(), device=keys.device), True)
        keys, rows = torch.sort(keys, stable=True)
        return cls(keys, rows, False)


def _sorted_sites(t: SparseVoxelTensor) -> _Sites:
    sites = t.cache.get(("sites",))
    if sites is None:
        sites = t.cache[("sites",)] = _Sites.of(linear_keys(t.coords, t.spatial_shape))
    return sites


def _hash_table(t: SparseVoxelTensor):
    """Return the triton hash table of ``t``'s sites, or None where the torch path runs."""
    from graphnn.nn.functional import _use_triton

    if not _use_triton(t.coords):
        return None
    if ("hash",) not in t.cache:
        try:
            from triton_kernels.hash_table import hash_build
        except ImportError:
            t.cache[("hash",)] = None
        else:
            t.cache[("hash",)] = hash_build(linear_keys(t.coords, t.spatial_shape), validate=False)
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
    table = _hash_table(t)
    if table is not None:
        from triton_kernels.hash_table import hash_lookup

        flat = keys.reshape(-1)
        valid = flat >= 0
        rows = torch.full_like(flat, -1)
        rows[valid] = hash_lookup(table, flat[valid]).long()
        return rows.view(keys.shape)
    sites = _sorted_sites(t)
    pos = torch.searchsorted(sites.keys, keys).clamp_(max=sites.keys.numel() - 1)
    found = sites.keys[pos] == keys
    return torch.where(found, sites.rows[pos], -1)


# --- builders ----------------------------------------------------------------------------


def _cached(t: SparseVoxelTensor, key: tuple, build) -> KernelMap:
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


Pairs = list[tuple[torch.Tensor, torch.Tensor]]


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
    sites = _sorted_sites(t)
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
    grid would exceed ``_GRID_CELLS`` cells, or ``_GRID_PER_SITE`` per site.
    """
    n = t.num_sites
    if n == 0:
        return None
    xyz = t.coords[:, 1:]
    low = xyz.amin(0)
    extent = [int(e) + 2 * p for e, p in zip((xyz.amax(0) - low + 1).tolist(), pad, strict=True)]
    cells_needed = t.batch_size * math.prod(extent)
    if cells_needed > min(_GRID_CELLS, _GRID_PER_SITE * n):  # too large, or mostly empty
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


def _neighbors_from_pairs(pairs: Pairs, n_out: int, device: torch.device) -> torch.Tensor:
    """Return the ``int32 [n_out, K]`` neighbour table of the pairs of each offset."""
    table = torch.full((n_out, len(pairs)), -1, dtype=torch.int32, device=device)
    for k, (in_rows, out_rows) in enumerate(pairs):
        table[:, k].scatter_(0, out_rows, in_rows.to(torch.int32))
    return table


def _set_pairs(kmap: KernelMap, pairs: Pairs) -> None:
    """Cache the pairs on ``kmap`` (each offset's ``out_rows`` must increase)."""
    object.__setattr__(kmap, "_pairs", ([i for i, _ in pairs], [o for _, o in pairs]))


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
    ks, dil = _triple("kernel_size", kernel_size, 1), _triple("dilation", dilation, 1)
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
        hashed = _hash_table(t) is not None
        half = _hashed_lookup(t, ks, dil, pad, center) if hashed else None
        if half is None:
            half = _grid_walk(t, ks, dil, pad, center) or _column_walk(t, ks, dil, pad, center)
        every = torch.arange(n, device=coords.device)
        pairs = [*half, (every, every), *((o, i) for i, o in reversed(half))]
        kmap = KernelMap(
            "submanifold", ks, (1, 1, 1), pad, dil, coords, t.spatial_shape,
            _neighbors_from_pairs(pairs, n, coords.device), n,
            in_coords=coords, in_spatial_shape=t.spatial_shape, in_cache=t.cache,
            out_cache=t.cache,
        )  # fmt: skip
        if not hashed and _sorted_sites(t).sorted:
            _set_pairs(kmap, pairs)
        return kmap

    return _cached(t, key, build)


Reached = tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...]]


def _reached(t: SparseVoxelTensor, ks: Triple, positions: list[torch.Tensor]) -> Reached:
    """Return ``(k_idx, i_idx, (batch, x, y, z))`` of every (offset, input) pair reaching an output.

    ``positions[axis]`` is ``int64 [k_axis, N]``: the output coordinate on that axis that
    input ``i`` reaches through kernel index ``a`` on it, ``-1`` where it reaches none.
    The pairs come offset by offset, inputs in row order, with the coordinates of the
    output each reaches.  Working per axis keeps every full ``[K, N]`` step boolean.
    """
    n = t.num_sites
    px, py, pz = positions
    valid = (px >= 0)[:, None, None] & (py >= 0)[None, :, None] & (pz >= 0)[None, None, :]
    a, b, c, i_idx = torch.nonzero(valid, as_tuple=True)
    site = (
        t.coords[:, 0].long()[i_idx],
        px.view(-1)[a * n + i_idx],
        py.view(-1)[b * n + i_idx],
        pz.view(-1)[c * n + i_idx],
    )
    return (a * ks[1] + b) * ks[2] + c, i_idx, site


def _reached_by_tiles(t: SparseVoxelTensor, ks: Triple, out_shape: Triple) -> Reached:
    """Return what :func:`_reached` does for ``stride = kernel_size``, no padding or dilation.

    The windows then tile the grid: every input reaches exactly the output ``coords //
    kernel_size`` through the offset ``coords % kernel_size`` (inside the output grid).
    The pairs are sorted by offset later (:func:`_scatter_map`).
    """
    site, k_idx, inside = [t.coords[:, 0]], None, None
    for axis in range(3):
        v = t.coords[:, axis + 1]
        q = torch.div(v, ks[axis], rounding_mode="floor")
        r = v - q * ks[axis]
        k_idx = r if k_idx is None else k_idx * ks[axis] + r
        if out_shape[axis] * ks[axis] < t.spatial_shape[axis]:  # a partial last window
            fits = q < out_shape[axis]
            inside = fits if inside is None else inside & fits
        site.append(q)
    i_idx = torch.arange(t.num_sites, device=t.coords.device)
    if inside is not None and not bool(inside.all()):  # partial windows are dropped
        i_idx = torch.nonzero(inside).flatten()
        k_idx, site = k_idx[i_idx], [v[i_idx] for v in site]
    return k_idx, i_idx, tuple(site)


def _distinct_sites(
    site: tuple[torch.Tensor, ...], out_shape: Triple
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return ``(coords, inverse, counts)`` of the distinct sites among ``site = (b, x, y, z)``.

    ``coords`` (``int32 [m, 4]``) are sorted lexicographically, ``inverse``
    (``int64``) maps each entry to its row there and ``counts`` says how often
    each occurs.  Counted in a dense grid over the sites' bounding box when it
    has at most ``_GRID_CELLS`` cells and ``_GRID_PER_SITE`` per entry (a
    ``bincount``), else sorted
    (``torch.unique`` of the linear keys).
    """
    if site[0].numel():
        low = [int(v.min()) for v in site]
        extent = [int(v.max()) - lo + 1 for v, lo in zip(site, low, strict=True)]
    else:
        low, extent = [0, 0, 0, 0], [1, 1, 1, 1]
    if math.prod(extent) <= min(_GRID_CELLS, _GRID_PER_SITE * site[0].numel()):
        cells = site[0].long() - low[0]
        for v, lo, e in zip(site[1:], low[1:], extent[1:], strict=True):
            cells = cells.mul_(e).add_(v).sub_(lo)
        dense = torch.bincount(cells, minlength=math.prod(extent))
        present = dense > 0
        occupied = torch.nonzero(present).flatten()
        inverse = (torch.cumsum(present, 0) - 1).index_select(0, cells)
        parts, rest = [], occupied
        for e in reversed(extent):
            parts.append(rest % e)
            rest = rest // e
        coords = torch.stack(parts[::-1], 1) + torch.tensor(low, device=cells.device)
        return coords.to(torch.int32), inverse, dense.index_select(0, occupied)
    keys = linear_keys(torch.stack(site, 1), out_shape)
    unique, inverse, counts = torch.unique(keys, return_inverse=True, return_counts=True)
    return _coords_from_keys(unique, out_shape), inverse, counts


def _scatter_map(
    t: SparseVoxelTensor,
    kind: str,
    geometry: tuple[Triple, Triple, Triple, Triple],
    reached: Reached,
    out_shape: Triple,
    min_count: int,
) -> KernelMap:
    """Build a map from the pairs ``(k_idx, i_idx, site)`` of :func:`_reached`.

    The output sites are the distinct sites reached by at least ``min_count`` pairs,
    sorted lexicographically.
    """
    ks, st, pad, dil = geometry
    device = t.coords.device
    K, n = math.prod(ks), t.num_sites
    k_idx, i_idx, site = reached
    out_coords, inverse, counts = _distinct_sites(site, out_shape)
    if k_idx.numel() > 1 and not bool((k_idx[1:] >= k_idx[:-1]).all()):
        # offset by offset, inputs in row order: a stable sort (as uint8: several times faster)
        narrow = torch.uint8 if K <= 256 else torch.int64
        k_idx, order = torch.sort(k_idx.to(narrow), stable=True)
        i_idx, inverse = i_idx.index_select(0, order), inverse.index_select(0, order)
    k_idx = k_idx.long()
    if min_count > 1:
        keep = counts >= min_count
        out_coords = out_coords[keep]
        new_row = torch.cumsum(keep, 0) - 1
        pair_kept = keep[inverse]
        k_idx, i_idx, inverse = k_idx[pair_kept], i_idx[pair_kept], new_row[inverse[pair_kept]]
    neighbors = torch.full((out_coords.shape[0] * K,), -1, dtype=torch.int32, device=device)
    neighbors.scatter_(0, inverse * K + k_idx, i_idx.to(torch.int32))
    neighbors = neighbors.view(-1, K)
    out_cache: dict = {}
    kmap = KernelMap(
        kind, ks, st, pad, dil, out_coords, out_shape, neighbors, n,
        in_coords=t.coords, in_spatial_shape=t.spatial_shape, in_cache=t.cache,
        out_cache=out_cache,
    )  # fmt: skip
    if kind == "conv":
        out_cache[("inverse", ks, st, pad, dil)] = kmap
    if _sorted_sites(t).sorted:  # then each offset's pairs are in increasing output order
        counts = torch.bincount(k_idx, minlength=K).tolist()
        _set_pairs(kmap, list(zip(i_idx.split(counts), inverse.split(counts), strict=True)))
    return kmap


def _check_batch_fits(t: SparseVoxelTensor, shape: Triple) -> None:
    D, H, W = shape
    if t.batch_size * D * H * W >= 2**62:
        raise ValueError(
            f"batch size {t.batch_size} times the output spatial shape {shape} does not fit "
            "the int64 site keys"
        )


def conv_map(
    t: SparseVoxelTensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    min_active_inputs: int = 1,
) -> KernelMap:
    """Return the (cached) map of a sparse convolution with a dense conv's geometry.

    Output site ``q`` (in the dense conv's output grid) is active when at
    least ``min_active_inputs`` input sites ``q * stride - padding + offset *
    dilation`` are active; ``neighbors[o, k]`` is the input row at that site
    for offset ``k``.  The output sites are sorted lexicographically.

    Parameters
    ----------
    t : SparseVoxelTensor
    kernel_size, stride : int or 3 ints
        Positive.
    padding : int or 3 ints, default 0
        Non-negative.
    dilation : int or 3 ints, default 1
    min_active_inputs : int, default 1
        Between 1 and the kernel volume.

    Raises
    ------
    ValueError
        If the dilated kernel is larger than the padded input (named axis),
        or an argument is out of range.

    Examples
    --------
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> t = SparseVoxelTensor.from_dense(torch.ones(1, 1, 4, 4, 4))
    >>> m = conv_map(t, 2, stride=2)
    >>> m.out_spatial_shape, m.n_out, bool((m.neighbors >= 0).all())
    ((2, 2, 2), 8, True)
    >>> m.out_cache[("inverse", (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1))] is m
    True
    """
    ks, st = _triple("kernel_size", kernel_size, 1), _triple("stride", stride, 1)
    pad, dil = _triple("padding", padding, 0), _triple("dilation", dilation, 1)
    K = ks[0] * ks[1] * ks[2]
    if isinstance(min_active_inputs, bool) or not isinstance(min_active_inputs, int):
        raise TypeError(f"min_active_inputs must be an int, got {min_active_inputs!r}")
    if not 1 <= min_active_inputs <= K:
        raise ValueError(
            f"min_active_inputs must be between 1 and the kernel volume {K}, "
            f"got {min_active_inputs}"
        )
    out_shape = conv_output_shape(t.spatial_shape, ks, st, pad, dil)
    _check_batch_fits(t, out_shape)
    key = ("conv", ks, st, pad, dil, min_active_inputs)

    def build() -> KernelMap:
        if st == ks and pad == (0, 0, 0) and dil == (1, 1, 1):
            reached = _reached_by_tiles(t, ks, out_shape)
        else:
            positions = []
            for axis in range(3):
                step = torch.arange(ks[axis], device=t.coords.device)[:, None] * dil[axis]
                numerator = t.coords[None, :, axis + 1].long() + pad[axis] - step
                q = torch.div(numerator, st[axis], rounding_mode="floor")
                valid = (numerator >= 0) & (q < out_shape[axis])
                if st[axis] > 1:
                    valid &= q * st[axis] == numerator
                positions.append(torch.where(valid, q, -1))
            reached = _reached(t, ks, positions)
        geometry = (ks, st, pad, dil)
        return _scatter_map(t, "conv", geometry, reached, out_shape, min_active_inputs)

    return _cached(t, key, build)


def transpose_output_shape(
    spatial_shape: Sequence[int],
    kernel_size: Triple,
    stride: Triple,
    padding: Triple,
    dilation: Triple,
    output_padding: Triple,
) -> Triple:
    """Return the output shape of a dense ``conv_transpose3d`` with this geometry."""
    shape = []
    for axis, (n, k, s, p, d, op) in enumerate(
        zip(spatial_shape, kernel_size, stride, padding, dilation, output_padding, strict=True)
    ):
        if op >= max(s, d):
            raise ValueError(
                f"output_padding must be smaller than stride or dilation on each axis, got "
                f"{op} on axis {axis} with stride {s} and dilation {d}"
            )
        size = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        if size < 1:
            raise ValueError(
                f"the transposed convolution's output is empty on axis {axis}: (size {n} - 1) * "
                f"stride {s} - 2 * padding {p} + dilation {d} * (kernel_size {k} - 1) + "
                f"output_padding {op} + 1 = {size}"
            )
        shape.append(size)
    return tuple(shape)


def transpose_map(
    t: SparseVoxelTensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    output_padding: int | Sequence[int] = 0,
) -> KernelMap:
    """Return the (cached) map of a transposed convolution: every reachable site is an output.

    Input row ``i`` feeds output site ``coords[i] * stride - padding + offset
    * dilation`` through ``offset`` (``conv_transpose3d``'s geometry), when
    that lies in the output grid of ``conv_transpose3d``'s size.  The output
    sites are sorted lexicographically.

    Raises
    ------
    ValueError
        If the output grid would be empty or ``output_padding`` is not
        smaller than the stride or the dilation.

    Examples
    --------
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> t = SparseVoxelTensor(torch.tensor([[0, 1, 0, 0]]), torch.ones(1, 1), (2, 1, 1))
    >>> m = transpose_map(t, (2, 1, 1), stride=(2, 1, 1))
    >>> m.out_spatial_shape, m.out_coords[:, 1].tolist(), m.neighbors.tolist()
    ((4, 1, 1), [2, 3], [[0, -1], [-1, 0]])
    """
    ks, st = _triple("kernel_size", kernel_size, 1), _triple("stride", stride, 1)
    pad, dil = _triple("padding", padding, 0), _triple("dilation", dilation, 1)
    opad = _triple("output_padding", output_padding, 0)
    out_shape = transpose_output_shape(t.spatial_shape, ks, st, pad, dil, opad)
    _check_batch_fits(t, out_shape)
    key = ("transpose", ks, st, pad, dil, opad)

    def build() -> KernelMap:
        positions = []
        for axis in range(3):
            step = torch.arange(ks[axis], device=t.coords.device)[:, None] * dil[axis]
            q = t.coords[None, :, axis + 1].long() * st[axis] - pad[axis] + step
            positions.append(torch.where((q >= 0) & (q < out_shape[axis]), q, -1))
        reached = _reached(t, ks, positions)
        return _scatter_map(t, "transpose", (ks, st, pad, dil), reached, out_shape, 1)

    return _cached(t, key, build)


def inverse_map(conv: KernelMap) -> KernelMap:
    """Return the map of the inverse of the ``"conv"`` map ``conv``: back to its input sites.

    ``neighbors`` is ``conv.reverse()`` (same offsets), the output sites are
    ``conv.in_coords`` in their row order, and the output cache is the conv
    input's cache.  Cached on ``conv``.

    Raises
    ------
    ValueError
        If ``conv`` is not a ``"conv"`` map made by :func:`conv_map`.

    Examples
    --------
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> t = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 2))
    >>> m = inverse_map(conv_map(t, 2, stride=2))
    >>> m.kind, m.out_coords is t.coords, m.out_cache is t.cache, m.neighbors.shape
    ('inverse', True, True, torch.Size([8, 8]))
    """
    if not isinstance(conv, KernelMap) or conv.kind != "conv" or conv.in_coords is None:
        got = conv.kind if isinstance(conv, KernelMap) else type(conv).__name__
        raise ValueError(f"inverse_map needs a 'conv' kernel map from conv_map, got {got!r}")
    cached = conv.__dict__.get("_inverse")
    if cached is None:
        cached = KernelMap(
            "inverse", conv.kernel_size, conv.stride, conv.padding, conv.dilation,
            conv.in_coords, conv.in_spatial_shape, conv.reverse(), conv.n_out,
            in_coords=conv.out_coords, in_spatial_shape=conv.out_spatial_shape,
            in_cache=conv.out_cache, out_cache=conv.in_cache,
        )  # fmt: skip
        object.__setattr__(conv, "_inverse", cached)
    return cached


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
                moved[key] = _Sites(self.tensor(value.keys), self.tensor(value.rows), value.sorted)
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


def find_inverse_map(
    t: SparseVoxelTensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> KernelMap:
    """Return the inverse of the conv map with this geometry that produced ``t``'s sites.

    Raises
    ------
    ValueError
        If no conv with this geometry produced ``t``'s sites (the message
        lists the geometries that did).

    Examples
    --------
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> t = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 2))
    >>> down = t.map_output(conv_map(t, 2, stride=2), torch.ones(1, 1))
    >>> find_inverse_map(down, 2, stride=2).out_coords is t.coords
    True
    """
    ks, st = _triple("kernel_size", kernel_size, 1), _triple("stride", stride, 1)
    pad, dil = _triple("padding", padding, 0), _triple("dilation", dilation, 1)
    conv = t.cache.get(("inverse", ks, st, pad, dil))
    if conv is None:
        known = [
            f"kernel_size={k[1]}, stride={k[2]}, padding={k[3]}, dilation={k[4]}"
            for k in t.cache
            if k[0] == "inverse"
        ]
        raise ValueError(
            f"no sparse convolution with kernel_size={ks}, stride={st}, padding={pad}, "
            f"dilation={dil} produced these sites, so there is no map to invert; "
            + (f"they come from one with {'; '.join(known)}" if known else "they come from no conv")
        )
    return inverse_map(conv)
