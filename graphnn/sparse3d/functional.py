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

* torch (the CPU, and CUDA without triton): per kernel offset, gather the
  input rows of its pairs and multiply them with ``W[k]`` (one GEMM), into a
  buffer that holds the products of a group of offsets (up to 32 MiB); one
  ``embedding_bag`` per group then sums each output row's products (the
  pairs listed per output row, built once per map and cached on it).  The
  submanifold centre offset is the identity: a plain GEMM.  The input
  gradient of a submanifold map is the same product with the offsets
  mirrored; other maps use their reversed pairs.  There are no atomics and
  every sum runs in a fixed order, so the result is bitwise the same for any
  thread count (tested).  On the CPU this measured faster than
  ``index_add_`` per offset (about 5x on the scatter step), one im2col GEMM
  over all offsets, or a padded batched ``bmm``: surfaces fill about half of
  a 3x3x3 window, so dense formulations waste half their work.
* Triton (:mod:`triton_kernels.sparse_conv`, CUDA tensors when triton
  imports, or any device under ``backend("triton")`` with
  ``TRITON_INTERPRET=1``): an implicit-GEMM gather kernel for the forward
  product and the input gradient, a gathered GEMM for the weight gradient.

``float16`` and ``bfloat16`` are accumulated in ``float32`` (the torch path
computes in ``float32``); ``float64`` stays ``float64`` (for
``torch.autograd.gradcheck``).  The result has the features' dtype, the
weight gradient the weight's dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from graphnn.nn import functional as _nn_functional
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
            grad_input = _torch_product(grad_c, w_t, kmap, transposed=True).to(features.dtype)
        if need_weight:
            grad_weight = _torch_weight_grad(features.to(dtype), grad_c, kmap).to(weight.dtype)
        return grad_input, grad_weight, None


#: Bytes of the buffer that holds one group of offsets' products before they are summed.
_GROUP_BYTES = 32 * 2**20


class _Plan:
    """How the torch path runs the products of one kernel map in one direction.

    ``in_rows[k]`` and ``out_rows[k]`` are the pairs of offset ``k``, ``out_rows[k]``
    increasing; ``table [n_out, K]`` is the neighbour table they come from.  The
    offsets are cut into groups whose products fit a buffer of ``_GROUP_BYTES``; a
    group's products are written to the buffer one offset after the other and summed
    into the output rows with one ``embedding_bag`` (a gather-sum, without atomics and
    several times faster than ``index_add_`` per offset on the CPU).
    """

    def __init__(self, in_rows, out_rows, table: torch.Tensor, identity: int) -> None:
        self.in_rows, self.out_rows, self.table, self.identity = in_rows, out_rows, table, identity
        self.n_out = table.shape[0]
        self._groups: dict[int, list] = {}

    def groups(self, row_limit: int) -> list[tuple[list[int], torch.Tensor, torch.Tensor, int]]:
        """Return the groups ``(offsets, bag_indices, bag_offsets, rows)`` for ``row_limit``."""
        groups = self._groups.get(row_limit)
        if groups is None:
            groups, current, rows = [], [], 0
            for k, out in enumerate(self.out_rows):
                m = out.numel()
                if k == self.identity or m == 0:
                    continue
                if current and rows + m > row_limit:
                    groups.append(self._bags(current))
                    current, rows = [], 0
                current.append(k)
                rows += m
            if current:
                groups.append(self._bags(current))
            self._groups[row_limit] = groups
        return groups

    def _bags(self, offsets: list[int]) -> tuple[list[int], torch.Tensor, torch.Tensor, int]:
        counts = [self.out_rows[k].numel() for k in offsets]
        starts = torch.tensor([0, *counts[:-1]], device=self.table.device).cumsum(0)
        live = self.table[:, offsets] >= 0
        position = torch.cumsum(live, 0).sub_(1).add_(starts)
        per_row = live.sum(1)
        bag_offsets = torch.cumsum(per_row, 0).sub_(per_row)
        return offsets, position[live], bag_offsets, sum(counts)


def _plan(kmap: KernelMap, transposed: bool) -> _Plan:
    """Return the (cached) plan of ``kmap``'s product or of its transpose."""
    key = "_plan_transposed" if transposed else "_plan"
    plan = kmap.__dict__.get(key)
    if plan is None:
        identity = kmap.kernel_volume // 2 if kmap.kind == "submanifold" else -1
        if not transposed:
            in_rows, out_rows = kmap._pair_lists()
            plan = _Plan(in_rows, out_rows, kmap.neighbors, identity)
        else:
            table = kmap.reverse()
            offsets, rows = torch.nonzero(table.t() >= 0, as_tuple=True)
            counts = torch.bincount(offsets, minlength=kmap.kernel_volume).tolist()
            gather_rows = table[rows, offsets].long()
            plan = _Plan(list(gather_rows.split(counts)), list(rows.split(counts)), table, -1)
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
    row_limit = max(1, _GROUP_BYTES // (c_out * x.element_size()))
    groups = plan.groups(row_limit)
    if not groups:
        return out
    buffer = x.new_empty(max(rows for *_, rows in groups), c_out)
    for offsets, bag_indices, bag_offsets, rows in groups:
        start = 0
        for k in offsets:
            in_rows = plan.in_rows[k]
            end = start + in_rows.numel()
            torch.mm(torch.index_select(x, 0, in_rows), weight[k], out=buffer[start:end])
            start = end
        out += F.embedding_bag(bag_indices, buffer[:rows], bag_offsets, mode="sum")
    return out


def _torch_weight_grad(x: torch.Tensor, grad: torch.Tensor, kmap: KernelMap) -> torch.Tensor:
    """Return ``dW[k] = x[in_rows]^T @ grad[out_rows]`` over the pairs of each offset ``k``."""
    in_rows, out_rows = kmap._pair_lists()
    K = kmap.kernel_volume
    identity = K // 2 if kmap.kind == "submanifold" else -1
    grad_weight = x.new_zeros(K, x.shape[1], grad.shape[1])
    for k in range(K):
        if k == identity:
            torch.mm(x.t(), grad, out=grad_weight[k])
        elif in_rows[k].numel():
            a = torch.index_select(x, 0, in_rows[k])
            b = torch.index_select(grad, 0, out_rows[k])
            torch.mm(a.t(), b, out=grad_weight[k])
    return grad_weight
