r"""The torch path of the sparse convolution product: tile by tile, the reference of the others.

The output rows are cut into tiles of about :data:`TILE_PAIRS` (16384)
pairs, a power of two of rows (1024 rows for a 3x3x3 submanifold map on
surfaces, 4096 for a 2x2x2 stride-2 map); per tile, one ``index_select``
gathers the input rows of all its pairs (listed offset by offset), one GEMM
per offset multiplies that offset's slice with ``W[k]``, and one
``embedding_bag`` sums each output row's products (the pairs listed per
output row, by increasing offset).  The tile plan is built once per map and
cached on it.  The submanifold centre offset is the identity: one plain GEMM
over all rows.  The input gradient of a submanifold map is the same product
with the offsets mirrored; other maps use their reversed pairs.  The weight
gradient runs over the same tiles, ``dW[k] += x[in]^T grad[out]`` per
offset, tiles in order.  There are no atomics and every sum runs in a fixed
order, so the result is bitwise the same for any thread count (tested).
:func:`graphnn.sparse3d.ops.conv.sparse_conv` dispatches here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from graphnn.sparse3d.kernel_map.map import KernelMap

__all__ = ["TILE_PAIRS", "torch_product", "torch_weight_grad"]


#: Pairs per tile of the torch path (about): a tile's gathered rows and products stay in cache.
TILE_PAIRS = 16384


def _tile_rows(pairs: int, rows: int) -> int:
    """Return the power of two of output rows nearest to ``TILE_PAIRS`` pairs at this density."""
    per_row = max(pairs, 1) / max(rows, 1)
    return 2 ** max(0, round(math.log2(max(TILE_PAIRS / per_row, 1))))


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
        in_rows, out_rows = kmap.pair_lists()
        if transposed:
            plan = _Plan(out_rows, in_rows, kmap.n_in, -1)
        else:
            identity = kmap.kernel_volume // 2 if kmap.kind == "submanifold" else -1
            plan = _Plan(in_rows, out_rows, kmap.n_out, identity)
        object.__setattr__(kmap, key, plan)
    return plan


def torch_product(
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


def torch_weight_grad(x: torch.Tensor, grad: torch.Tensor, kmap: KernelMap) -> torch.Tensor:
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
