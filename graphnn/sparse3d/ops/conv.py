r"""The sparse convolution product on a kernel map, with its gradients: the dispatch point.

:func:`sparse_conv` computes, for a :class:`~graphnn.sparse3d.kernel_map.KernelMap`,

.. math:: \mathrm{out}[o] = \sum_k \mathrm{features}[\mathrm{neighbors}[o, k]]\, W[k] + b

with ``W`` of shape ``[K, C_in, C_out]``, and its gradients: the input
gradient is the same product with ``(grad_out, W^T)`` on the reversed map,
the weight gradient ``dW[k] = features[in_rows]^T grad_out[out_rows]`` over
the pairs of offset ``k``.  Every convolution of :mod:`graphnn.sparse3d`
(submanifold, strided, transposed, inverse) runs through it.

Backends, chosen as in :mod:`graphnn.nn.functional` (and with its
:func:`~graphnn.nn.functional.backend` switch):

* torch (the CPU without the native kernel, and CUDA without triton): the output rows are cut into
  tiles of about ``_TILE_PAIRS`` (16384) pairs, a power of two of rows (1024
  rows for a 3x3x3 submanifold map on surfaces, 4096 for a 2x2x2 stride-2
  map); per tile, one ``index_select`` gathers the
  input rows of all its pairs (listed offset by offset), one GEMM per offset
  multiplies that offset's slice with ``W[k]``, and one ``embedding_bag``
  sums each output row's products (the pairs listed per output row, by
  increasing offset).  The tile plan is built once per map and cached on it.
  The submanifold centre offset is the identity: one plain GEMM over all
  rows.  The input gradient of a submanifold map is the same product with
  the offsets mirrored; other maps use their reversed pairs.  The weight
  gradient runs over the same tiles, ``dW[k] += x[in]^T grad[out]`` per
  offset, tiles in order.  There are no atomics and every sum runs in a fixed
  order, so the result is bitwise the same for any thread count (tested).
  Tiling keeps what a tile touches in the CPU's cache: on voxelized surfaces
  (about 15 of 27 neighbours per site) it ran 1.3-2x faster than whole
  offsets at a time (gather, GEMM and sum of each offset over all rows),
  and faster than an im2col GEMM over all offsets, which spends half its work
  on missing neighbours.
* native (:mod:`graphnn.sparse3d.cpu_conv`, a C kernel compiled at first
  use; CPU tensors when it builds, or under ``backend("native")``): the
  forward product and the input gradient in one pass over the output rows,
  each input row read straight from the features into the output row's sums
  (no gathered copy, no products buffer, no ``embedding_bag``), and the weight
  gradient over chunks of output rows, offset by offset (each offset's sum
  owned by one thread).  It is what the CPU runs by default; where
  no C compiler is found or ``GRAPHNN_NATIVE=0`` is set, the torch path runs
  (with one warning when the build failed).  Each output row is summed by one
  thread in an order fixed by the shapes (and the vector width the kernel was
  built for): bitwise the same at any thread count.
* Triton (:mod:`triton_kernels.sparse_conv`, CUDA tensors when triton
  imports, or any device under ``backend("triton")`` with
  ``TRITON_INTERPRET=1``): an implicit-GEMM gather kernel for the forward
  product and the input gradient, a gathered GEMM for the weight gradient.

``backend("torch")`` forces the torch path on the CPU: it is the reference
the other two are tested against.

``float16`` and ``bfloat16`` are accumulated in ``float32`` (the torch path
computes in ``float32``); ``float64`` stays ``float64`` (for
``torch.autograd.gradcheck``).  The result has the features' dtype, the
weight gradient the weight's dtype.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from graphnn import _native
from graphnn.nn import functional as _nn_functional
from graphnn.sparse3d import cpu_conv
from graphnn.sparse3d.kernel_map import KernelMap

__all__ = ["sparse_conv"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def sparse_conv(
    features: torch.Tensor,
    weight: torch.Tensor,
    kmap: KernelMap,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return ``out[o] = sum_k features[neighbors[o, k]] @ weight[k] (+ bias)``, differentiable.

    Parameters
    ----------
    features : torch.Tensor
        Floating point ``[n_in, C_in]``, one row per input site of ``kmap``.
    weight : torch.Tensor
        ``[K, C_in, C_out]``, offset-major (see
        :mod:`graphnn.sparse3d.kernel_map` for the offset order).
    kmap : KernelMap
    bias : torch.Tensor, optional
        ``[C_out]``.

    Returns
    -------
    torch.Tensor
        ``[n_out, C_out]`` in ``features.dtype``, one row per output site.

    Raises
    ------
    ValueError
        If a shape does not fit ``kmap`` or the other arguments (named).
    TypeError
        For non-floating-point features or weights.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> from graphnn.sparse3d.kernel_map import submanifold_map
    >>> coords = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1]])
    >>> t = SparseVoxelTensor(coords, torch.ones(2, 1), (1, 1, 2))
    >>> w = torch.tensor([1.0, 10.0, 100.0]).view(3, 1, 1)
    >>> sparse_conv(t.features, w, submanifold_map(t, (1, 1, 3))).flatten().tolist()
    [110.0, 11.0]
    """
    _check(features, weight, kmap, bias)
    out = _SparseConv.apply(features, weight, kmap)
    if bias is not None:
        out = out + bias.to(out.dtype)
    return out


def _check(
    features: torch.Tensor, weight: torch.Tensor, kmap: KernelMap, bias: torch.Tensor | None
) -> None:
    if not isinstance(kmap, KernelMap):
        raise TypeError(f"kmap must be a KernelMap, got {type(kmap).__name__}")
    for name, t in (("features", features), ("weight", weight)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            got = t.dtype if isinstance(t, torch.Tensor) else type(t).__name__
            raise TypeError(f"{name} must be a floating-point tensor, got {got}")
    if features.dim() != 2 or features.shape[0] != kmap.n_in:
        raise ValueError(
            f"features must have shape [n_in, C_in] with n_in = {kmap.n_in} (the kernel map's "
            f"input sites), got {list(features.shape)}"
        )
    K = kmap.kernel_volume
    if weight.dim() != 3 or weight.shape[0] != K or weight.shape[1] != features.shape[1]:
        raise ValueError(
            f"weight must have shape [K, C_in, C_out] = [{K}, {features.shape[1]}, C_out] for a "
            f"kernel of size {kmap.kernel_size} and {features.shape[1]} input channels, got "
            f"{list(weight.shape)}"
        )
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != weight.shape[2]):
        raise ValueError(f"bias must have shape [{weight.shape[2]}], got {list(bias.shape)}")
    if features.device != weight.device or features.device != kmap.neighbors.device:
        raise ValueError(
            f"features ({features.device}), weight ({weight.device}) and the kernel map "
            f"({kmap.neighbors.device}) must be on one device"
        )


def _compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    if any(t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


def _triton_ops():
    """Return triton_kernels.sparse_conv if the Triton kernels run on these tensors, else None."""
    try:
        from triton_kernels import sparse_conv as ops
    except ImportError:
        if _nn_functional._backend == "triton":
            raise
        return None
    return ops


_warned_native = False


def _use_native(t: torch.Tensor) -> bool:
    """Whether the native CPU kernel runs on ``t`` (after the Triton kernels said no)."""
    global _warned_native
    name = _nn_functional._backend
    if name == "native":
        if t.device.type != "cpu":
            raise ValueError(f"the native backend runs on the CPU; the tensors are on {t.device}")
        if not cpu_conv.available():
            raise _native.NativeBuildError(cpu_conv.build_error())
        return True
    if name != "auto" or t.device.type != "cpu" or not _native.enabled():
        return False
    if cpu_conv.available():
        return True
    if not _warned_native:
        _warned_native = True
        warnings.warn(
            f"graphnn's native sparse-convolution kernel is not used, the torch path runs "
            f"(slower); set GRAPHNN_NATIVE=0 to silence this. {cpu_conv.build_error()}",
            RuntimeWarning,
            stacklevel=4,
        )
    return False


class _SparseConv(torch.autograd.Function):
    """``features, weight -> out`` on a fixed kernel map (the bias is added outside)."""

    @staticmethod
    def forward(ctx, features: torch.Tensor, weight: torch.Tensor, kmap: KernelMap):
        ctx.save_for_backward(features, weight)
        ctx.kmap = kmap
        ops = _triton_ops() if _nn_functional._use_triton(features) else None
        if ops is not None:
            return ops.gather_conv(
                features, weight.to(features.dtype), kmap.neighbors, validate=False
            )
        dtype = _compute_dtype(features, weight)
        if _use_native(features):
            out = cpu_conv.gather_conv(
                features.to(dtype), weight.to(dtype), kmap.neighbors, validate=False
            )
        else:
            out = _torch_product(features.to(dtype), weight.to(dtype), kmap, transposed=False)
        return out.to(features.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        features, weight = ctx.saved_tensors
        kmap: KernelMap = ctx.kmap
        need_input, need_weight = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_input = grad_weight = None
        ops = _triton_ops() if _nn_functional._use_triton(grad) else None
        if ops is not None:
            grad = grad.to(features.dtype).contiguous()
            if need_input:
                w_t = weight.to(features.dtype).transpose(1, 2).contiguous()
                grad_input = ops.gather_conv(grad, w_t, kmap.reverse(), validate=False)
            if need_weight:
                grad_weight = ops.gather_conv_weight_grad(
                    features, grad, kmap.neighbors, validate=False
                )
                grad_weight = grad_weight.to(weight.dtype)
            return grad_input, grad_weight, None
        dtype = _compute_dtype(features, weight, grad)
        grad_c = grad.to(dtype)
        if need_input:
            w_t = weight.to(dtype).transpose(1, 2)
            if _use_native(grad):
                grad_input = _native_transposed(grad_c, w_t, kmap).to(features.dtype)
            else:
                grad_input = _torch_product(grad_c, w_t, kmap, transposed=True).to(features.dtype)
        if need_weight:
            if _use_native(grad):
                grad_weight = cpu_conv.gather_conv_weight_grad(
                    features.to(dtype), grad_c, kmap.neighbors, validate=False
                )
            else:
                grad_weight = _torch_weight_grad(features.to(dtype), grad_c, kmap)
            grad_weight = grad_weight.to(weight.dtype)
        return grad_input, grad_weight, None


def _native_transposed(grad: torch.Tensor, w_t: torch.Tensor, kmap: KernelMap) -> torch.Tensor:
    """Return the input gradient on the native kernel: ``(grad, W^T)`` on the reversed map.

    The reverse of a submanifold map is the map itself with the offsets mirrored.
    """
    if kmap.kind == "submanifold":
        return cpu_conv.gather_conv(grad, w_t.flip(0), kmap.neighbors, validate=False)
    return cpu_conv.gather_conv(grad, w_t, kmap.reverse(), validate=False)


#: Pairs per tile of the torch path (about): a tile's gathered rows and products stay in cache.
_TILE_PAIRS = 16384


def _tile_rows(pairs: int, rows: int) -> int:
    """Return the power of two of output rows nearest to ``_TILE_PAIRS`` pairs at this density."""
    per_row = max(pairs, 1) / max(rows, 1)
    return 2 ** max(0, round(math.log2(max(_TILE_PAIRS / per_row, 1))))


class _Plan:
    """How the torch path runs the products of one set of pairs, tile by tile.

    The pairs ``(in_rows[k], out_rows[k])`` of each offset ``k`` map input rows
    to ``n_out`` output rows; ``identity`` is the offset whose pairs are
    ``(o, o)`` for every row (the submanifold centre, run as one plain GEMM), or
    ``-1``.  The output rows are cut into tiles (:func:`_tile_rows`); within a tile
    the pairs are listed offset by offset, so that one ``index_select`` gathers
    a tile's input rows, one GEMM per offset multiplies a contiguous slice of
    them, and one ``embedding_bag`` sums each output row's products (its bag
    lists them by increasing offset).  What a tile touches stays in the CPU's
    cache, and no sum depends on the thread count.

    Attributes (``int64``, pairs in tile order): ``gather`` the input row of
    each pair, ``rows`` its output row; ``bags`` the positions of the products
    within their tile, output row by output row, and ``bag_starts`` where each
    output row's bag begins within its tile; ``tiles`` lists ``(row_start,
    row_end, pair_start, pair_end, [(k, a, b), ...])``, ``[a, b)`` being the
    slice of offset ``k``'s pairs within the tile.
    """

    def __init__(self, in_rows: list, out_rows: list, n_out: int, identity: int) -> None:
        K = len(out_rows)
        self.n_out, self.identity = n_out, identity
        lists = [(k, i, o) for k, (i, o) in enumerate(zip(in_rows, out_rows, strict=True))]
        lists = [_by_output_row(k, i, o) for k, i, o in lists if k != identity and o.numel()]
        T = self.tile_rows = _tile_rows(sum(o.numel() for _, _, o in lists), n_out)
        device = out_rows[0].device if out_rows else torch.device("cpu")
        n_tiles = -(-n_out // T)
        bounds = torch.arange(n_tiles + 1, device=device) * T
        counts = torch.zeros(n_tiles, K, dtype=torch.int64, device=device)
        firsts = {}
        for k, _, o in lists:
            firsts[k] = torch.searchsorted(o, bounds)
            counts[:, k] = firsts[k].diff()
        flat = counts.flatten()
        base = (torch.cumsum(flat, 0) - flat).view(n_tiles, K)
        tile_pairs = counts.sum(1)
        tile_start = base[:, 0] if n_tiles else base.new_zeros(0)
        total = int(flat.sum())
        self.gather = torch.empty(total, dtype=torch.int64, device=device)
        self.rows = torch.empty(total, dtype=torch.int64, device=device)
        # An output row's bag lists its pairs by increasing offset: the place of pair (k, o)
        # in o's bag is the number of earlier offsets with a pair at o.
        per_row = torch.zeros(n_out, dtype=torch.int64, device=device)
        ranks = []
        for _, _, o in lists:
            ranks.append(per_row.index_select(0, o))
            per_row.index_add_(0, o, torch.ones_like(o))
        bag_start = torch.cumsum(per_row, 0).sub_(per_row)
        self.bags = torch.empty(total, dtype=torch.int64, device=device)
        for (k, i, o), rank in zip(lists, ranks, strict=True):
            tile = torch.div(o, T, rounding_mode="floor")
            shift = (base[:, k] - firsts[k][:-1]).index_select(0, tile)
            local = torch.arange(o.numel(), device=device).add_(shift)
            self.gather.scatter_(0, local, i)
            self.rows.scatter_(0, local, o)
            where = bag_start.index_select(0, o).add_(rank)
            self.bags.scatter_(0, where, local.sub_(tile_start.index_select(0, tile)))
        self.bag_starts = bag_start - tile_start.repeat_interleave(T)[:n_out]
        self.tiles = []
        starts, pairs = tile_start.tolist(), tile_pairs.tolist()
        for t, (row_counts, p0, m) in enumerate(zip(counts.tolist(), starts, pairs, strict=True)):
            segments, a = [], 0
            for k, c in enumerate(row_counts):
                if c:
                    segments.append((k, a, a + c))
                    a += c
            self.tiles.append((t * T, min(n_out, (t + 1) * T), p0, p0 + m, segments))
        self.max_tile_pairs = max(pairs, default=0)


def _by_output_row(k: int, in_rows: torch.Tensor, out_rows: torch.Tensor):
    """``(k, in_rows, out_rows)`` with the pairs sorted by output row (int64)."""
    in_rows, out_rows = in_rows.long(), out_rows.long()
    if out_rows.numel() > 1 and not bool((out_rows[1:] >= out_rows[:-1]).all()):
        out_rows, order = torch.sort(out_rows, stable=True)
        in_rows = in_rows[order]
    return k, in_rows, out_rows


def _plan(kmap: KernelMap, transposed: bool) -> _Plan:
    """Return the (cached) plan of ``kmap``'s product or of its transpose."""
    key = "_tiles_transposed" if transposed else "_tiles"
    plan = kmap.__dict__.get(key)
    if plan is None:
        in_rows, out_rows = kmap._pair_lists()
        if transposed:
            plan = _Plan(out_rows, in_rows, kmap.n_in, -1)
        else:
            identity = kmap.kernel_volume // 2 if kmap.kind == "submanifold" else -1
            plan = _Plan(in_rows, out_rows, kmap.n_out, identity)
        object.__setattr__(kmap, key, plan)
    return plan


def _torch_product(
    x: torch.Tensor, weight: torch.Tensor, kmap: KernelMap, *, transposed: bool
) -> torch.Tensor:
    """Return ``out[o] = sum_k x[in_k] @ weight[k]`` over the pairs (``transposed``: reversed).

    ``weight`` is ``[K, C, C']``; ``x`` has a row per input site of the map
    (``transposed``: per output site).  The transpose of a submanifold map is the
    map itself with the offsets mirrored.
    """
    if transposed and kmap.kind == "submanifold":
        weight, transposed = weight.flip(0), False
    plan = _plan(kmap, transposed)
    c_out = weight.shape[2]
    out = x @ weight[plan.identity] if plan.identity >= 0 else x.new_zeros(plan.n_out, c_out)
    gathered = x.new_empty(plan.max_tile_pairs, x.shape[1])
    products = x.new_empty(plan.max_tile_pairs, c_out)
    for row_start, row_end, p0, p1, segments in plan.tiles:
        if p0 == p1:
            continue
        g = torch.index_select(x, 0, plan.gather[p0:p1], out=gathered[: p1 - p0])
        for k, a, b in segments:
            torch.mm(g[a:b], weight[k], out=products[a:b])
        out[row_start:row_end] += F.embedding_bag(
            plan.bags[p0:p1], products[: p1 - p0], plan.bag_starts[row_start:row_end], mode="sum"
        )
    return out


def _torch_weight_grad(x: torch.Tensor, grad: torch.Tensor, kmap: KernelMap) -> torch.Tensor:
    """Return ``dW[k] = x[in_rows]^T @ grad[out_rows]`` over the pairs of each offset ``k``.

    Tile by tile on the forward plan; each offset's sum runs over the tiles in order.
    """
    plan = _plan(kmap, transposed=False)
    K = kmap.kernel_volume
    grad_weight = x.new_zeros(K, x.shape[1], grad.shape[1])
    if plan.identity >= 0:
        torch.mm(x.t(), grad, out=grad_weight[plan.identity])
    gathered = x.new_empty(plan.max_tile_pairs, x.shape[1])
    gathered_grad = grad.new_empty(plan.max_tile_pairs, grad.shape[1])
    for _, _, p0, p1, segments in plan.tiles:
        if p0 == p1:
            continue
        g = torch.index_select(x, 0, plan.gather[p0:p1], out=gathered[: p1 - p0])
        h = torch.index_select(grad, 0, plan.rows[p0:p1], out=gathered_grad[: p1 - p0])
        for k, a, b in segments:
            grad_weight[k].addmm_(g[a:b].t(), h[a:b])
    return grad_weight
