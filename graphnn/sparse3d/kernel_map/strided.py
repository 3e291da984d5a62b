"""Strided, transposed and inverse kernel maps: output sites that an input window reaches.

Strided and transposed maps list the output each (offset, input) pair
reaches, axis by axis (a kernel that tiles the grid, ``stride =
kernel_size``, reaches one output per input directly), and count the
distinct outputs in a dense grid over their bounding box (``torch.bincount``;
``torch.unique`` of the keys when the box is too large).  A ``"conv"`` map's
output cache links back to it, which is how :func:`find_inverse_map` finds
the map an inverse convolution transposes.
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
    Triple,
    conv_output_shape,
    set_pairs,
    transpose_output_shape,
)
from graphnn.sparse3d.kernel_map.sites import (
    coords_from_keys,
    dense_grid_fits,
    linear_keys,
    sorted_sites,
)

if TYPE_CHECKING:
    from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = ["conv_map", "find_inverse_map", "inverse_map", "transpose_map"]


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
    fits (:func:`~graphnn.sparse3d.kernel_map.sites.dense_grid_fits`: a
    ``bincount``), else sorted
    (``torch.unique`` of the linear keys).
    """
    if site[0].numel():
        low = [int(v.min()) for v in site]
        extent = [int(v.max()) - lo + 1 for v, lo in zip(site, low, strict=True)]
    else:
        low, extent = [0, 0, 0, 0], [1, 1, 1, 1]
    if dense_grid_fits(math.prod(extent), site[0].numel()):
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
    return coords_from_keys(unique, out_shape), inverse, counts


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
    if sorted_sites(t).sorted:  # then each offset's pairs are in increasing output order
        counts = torch.bincount(k_idx, minlength=K).tolist()
        set_pairs(kmap, list(zip(i_idx.split(counts), inverse.split(counts), strict=True)))
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
    ks, st = check_triple("kernel_size", kernel_size, low=1), check_triple("stride", stride, low=1)
    pad, dil = check_triple("padding", padding, low=0), check_triple("dilation", dilation, low=1)
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

    return cached_map(t, key, build)


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
    ks, st = check_triple("kernel_size", kernel_size, low=1), check_triple("stride", stride, low=1)
    pad, dil = check_triple("padding", padding, low=0), check_triple("dilation", dilation, low=1)
    opad = check_triple("output_padding", output_padding, low=0)
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

    return cached_map(t, key, build)


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
    ks, st = check_triple("kernel_size", kernel_size, low=1), check_triple("stride", stride, low=1)
    pad, dil = check_triple("padding", padding, low=0), check_triple("dilation", dilation, low=1)
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
