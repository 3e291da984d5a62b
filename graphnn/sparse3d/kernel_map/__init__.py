r"""Kernel maps: which input site feeds which output site through which kernel offset.

Every sparse convolution (and pooling) of :mod:`graphnn.sparse3d` is

.. math:: \mathrm{out}[o] = \sum_k \mathrm{features}[\mathrm{neighbors}[o, k]]\, W[k]

over the offsets ``k`` whose neighbour exists (``neighbors[o, k] >= 0``), with
``W`` of shape ``[K, C_in, C_out]``.  A :class:`KernelMap` holds the output
sites and that ``neighbors`` table (:mod:`~graphnn.sparse3d.kernel_map.map`); the
builders (:mod:`~graphnn.sparse3d.kernel_map.submanifold`,
:mod:`~graphnn.sparse3d.kernel_map.strided`) make one from a
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
    would exceed :data:`~graphnn.sparse3d.kernel_map.sites.GRID_CELLS` cells or
    :data:`~graphnn.sparse3d.kernel_map.sites.GRID_PER_SITE` cells per site
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
    :func:`graphnn.backends.backend` (:mod:`~graphnn.sparse3d.kernel_map.sites`).
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
    keys and the hash table of the sites.  :mod:`~graphnn.sparse3d.kernel_map.cache`
    builds and moves the maps of a cache.
"""

from graphnn.sparse3d.kernel_map.cache import cached_map, move_cache
from graphnn.sparse3d.kernel_map.map import (
    KernelMap,
    conv_output_shape,
    kernel_offsets,
    transpose_output_shape,
)
from graphnn.sparse3d.kernel_map.sites import linear_keys, lookup_sites
from graphnn.sparse3d.kernel_map.strided import (
    conv_map,
    find_inverse_map,
    inverse_map,
    transpose_map,
)
from graphnn.sparse3d.kernel_map.submanifold import submanifold_map

__all__ = [
    "KernelMap",
    "cached_map",
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
