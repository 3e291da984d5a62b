"""Pooling over a neighbour table, with its gradients: the dispatch point of sparse pooling.

:func:`gather_max` takes, per output row and channel, the largest feature
of the row's valid neighbours (the gradient goes to the input that gave it,
the first in offset order on ties); :func:`gather_mean` their mean.  The
pooling layers of :mod:`graphnn.sparse3d.layers.pool` run on these, with the
neighbour table of a kernel map.  On CUDA tensors (or under
``graphnn.backends.backend("triton")``) the max pooling runs the Triton
kernel :func:`triton_kernels.max_pool.gather_max_pool`; otherwise a torch
loop over the kernel offsets, its reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from graphnn import backends

__all__ = ["gather_max", "gather_mean"]


def _max_forward(features: torch.Tensor, neighbors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(values, argmax int32)``: the per-channel maximum over the valid neighbours."""
    kernels = backends.triton_module("max_pool", features)
    if kernels is not None:
        return kernels.gather_max_pool(features, neighbors, validate=False)
    n_out, C = neighbors.shape[0], features.shape[1]
    best = features.new_zeros(n_out, C)
    argmax = torch.full((n_out, C), -1, dtype=torch.int32, device=features.device)
    if features.shape[0] == 0:  # no input row: every output row has no neighbour
        return best, argmax
    for k in range(neighbors.shape[1]):
        rows = neighbors[:, k : k + 1]
        value = features[rows.clamp(min=0).squeeze(1).long()]
        # The first valid value, a strictly larger one, or a NaN (propagated, as max_pool3d).
        take = (rows >= 0) & ((argmax < 0) | (value > best) | (value.isnan() & ~best.isnan()))
        best = torch.where(take, value, best)
        argmax = torch.where(take, rows, argmax)
    return best, argmax


def _max_backward(grad: torch.Tensor, argmax: torch.Tensor, n_in: int) -> torch.Tensor:
    """Send each output gradient to the input row of its maximum."""
    kernels = backends.triton_module("max_pool", grad)
    if kernels is not None:
        return kernels.gather_max_pool_backward(grad, argmax, n_in)
    out = grad.new_zeros(n_in + 1, grad.shape[1])  # row n_in collects the outputs without input
    index = torch.where(argmax >= 0, argmax, n_in).long()
    return out.scatter_add_(0, index, grad)[:n_in]


class _GatherMax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, features: torch.Tensor, neighbors: torch.Tensor) -> torch.Tensor:
        values, argmax = _max_forward(features, neighbors)
        ctx.save_for_backward(argmax)
        ctx.n_in = features.shape[0]
        return values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None
        (argmax,) = ctx.saved_tensors
        return _max_backward(grad.contiguous(), argmax, ctx.n_in), None


def _check_table(features: torch.Tensor, neighbors: torch.Tensor) -> None:
    if features.dim() != 2 or not features.is_floating_point():
        raise ValueError(
            f"features must be a floating-point [N_in, C] tensor, got {features.dtype} "
            f"{list(features.shape)}"
        )
    if neighbors.dim() != 2 or neighbors.dtype not in (torch.int32, torch.int64):
        raise ValueError(
            f"neighbors must be an int32 or int64 [N_out, K] table, got {neighbors.dtype} "
            f"{list(neighbors.shape)}"
        )


def gather_max(features: torch.Tensor, neighbors: torch.Tensor) -> torch.Tensor:
    """Return the per-channel maximum of ``features`` over each row's valid neighbours.

    Parameters
    ----------
    features : torch.Tensor
        Floating point ``[N_in, C]``.
    neighbors : torch.Tensor
        ``int32`` (or ``int64``) ``[N_out, K]``: input rows, ``-1`` for none
        (a :attr:`~graphnn.sparse3d.kernel_map.KernelMap.neighbors` table).

    Returns
    -------
    torch.Tensor
        ``[N_out, C]``, differentiable with respect to ``features``: the
        gradient goes to the input row of the maximum, the first valid one in
        offset order on ties.  Rows without any neighbour give 0.

    Examples
    --------
    >>> import torch
    >>> features = torch.tensor([[1.0, 8.0], [4.0, 2.0]])
    >>> gather_max(features, torch.tensor([[0, 1], [-1, 1], [-1, -1]], dtype=torch.int32))
    tensor([[4., 8.],
            [4., 2.],
            [0., 0.]])
    """
    _check_table(features, neighbors)
    return _GatherMax.apply(features, neighbors)


def gather_mean(
    features: torch.Tensor, neighbors: torch.Tensor, count_inactive: bool = False
) -> torch.Tensor:
    """Return the mean of ``features`` over each row's valid neighbours.

    Parameters
    ----------
    features : torch.Tensor
        Floating point ``[N_in, C]``.
    neighbors : torch.Tensor
        ``int32`` (or ``int64``) ``[N_out, K]``: input rows, ``-1`` for none.
    count_inactive : bool, default False
        Divide the sum by ``K`` (the window volume) rather than by the number
        of valid neighbours.

    Returns
    -------
    torch.Tensor
        ``[N_out, C]``, differentiable with respect to ``features``.  Rows
        without any neighbour give 0.

    Examples
    --------
    >>> import torch
    >>> features = torch.tensor([[1.0], [4.0]])
    >>> table = torch.tensor([[0, 1], [-1, 1]], dtype=torch.int32)
    >>> gather_mean(features, table).tolist(), gather_mean(features, table, True).tolist()
    ([[2.5], [4.0]], [[2.5], [2.0]])
    """
    _check_table(features, neighbors)
    n_in, C = features.shape
    K = neighbors.shape[1]
    if neighbors.shape[0] == 0 or K == 0:
        return features.new_zeros(neighbors.shape[0], C)
    # One zero row more: the missing neighbours point at it, and embedding_bag leaves it out
    # of the sums and of the counts.
    padded = torch.cat([features, features.new_zeros(1, C)])
    index = torch.where(neighbors >= 0, neighbors, n_in).long()
    mode = "sum" if count_inactive else "mean"
    out = F.embedding_bag(index, padded, mode=mode, padding_idx=n_in)
    return out / K if count_inactive else out
