"""Sparse max and average pooling over the active sites, and global pooling per sample.

A sparse pooling layer has the geometry of a dense ``max_pool3d`` /
``avg_pool3d`` (kernel size, stride, padding, dilation; the stride is the
kernel size by default) and the output sites of a
:class:`~graphnn.sparse3d.conv.SparseConv3d` with the same geometry: an
output site is active when at least one active input site lies in its
window.  Pooling and convolution use the very same kernel map
(:func:`~graphnn.sparse3d.kernel_map.conv_map` with ``min_active_inputs=1``),
built once per site set and shared through the tensor's cache; a
:class:`~graphnn.sparse3d.conv.SparseInverseConv3d` with the pool's geometry
goes back to the pool's input sites.

Only the active inputs of a window take part:

* max pooling takes, per channel, the largest feature of the active inputs
  (on the densified grid: ``torch.nn.functional.max_pool3d`` with ``-inf`` at
  the inactive sites, sampled at the output sites).  The gradient goes to the
  input that gave the maximum, the first in offset order on ties; a NaN among
  the inputs gives NaN.
* average pooling takes the mean of the active inputs: the sum divided by
  their number, *not* by the window volume (``count_inactive=True`` divides
  by the window volume instead, as ``avg_pool3d`` of the zero-filled dense
  tensor with ``count_include_pad=True``).

Global pooling reduces each sample to one feature vector, a dense ``[B, C]``
tensor; a sample without active sites gives zeros.

On CUDA tensors (or under ``graphnn.nn.functional.backend("triton")``) the
max pooling runs the Triton kernel
:func:`triton_kernels.sparse_conv.gather_max_pool`; otherwise a torch loop
over the kernel offsets.

Examples
--------
>>> import torch
>>> from graphnn.sparse3d.tensor import SparseVoxelTensor
>>> coords = torch.tensor([[0, 0, 0, 0], [0, 1, 1, 1], [0, 2, 2, 2]], dtype=torch.int32)
>>> x = SparseVoxelTensor(coords, torch.tensor([[1.0], [5.0], [2.0]]), (4, 4, 4))
>>> y = SparseMaxPool3d(2)(x)
>>> y.coords.tolist(), y.features.tolist(), y.spatial_shape
([[0, 0, 0, 0], [0, 1, 1, 1]], [[5.0], [2.0]], (2, 2, 2))
>>> SparseAvgPool3d(2)(x).features.tolist()
[[3.0], [2.0]]
>>> SparseGlobalMaxPool()(x)
tensor([[5.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from graphnn.nn.functional import _use_triton
from graphnn.sparse3d.kernel_map import _triple, conv_map
from graphnn.sparse3d.layers import check_sparse
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = [
    "SparseAvgPool3d",
    "SparseGlobalAvgPool",
    "SparseGlobalMaxPool",
    "SparseMaxPool3d",
    "avg_pool3d",
    "gather_max",
    "gather_mean",
    "global_avg_pool",
    "global_max_pool",
    "max_pool3d",
]

Size = int | Sequence[int]


# --- pooling over a neighbour table ------------------------------------------------------


def _max_forward(features: torch.Tensor, neighbors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(values, argmax int32)``: the per-channel maximum over the valid neighbours."""
    if _use_triton(features):
        from triton_kernels.sparse_conv import gather_max_pool

        return gather_max_pool(features, neighbors, validate=False)
    n_out, C = neighbors.shape[0], features.shape[1]
    best = features.new_zeros(n_out, C)
    argmax = torch.full((n_out, C), -1, dtype=torch.int32, device=features.device)
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
    if _use_triton(grad):
        from triton_kernels.sparse_conv import gather_max_pool_backward

        return gather_max_pool_backward(grad, argmax, n_in)
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


# --- sparse tensors ----------------------------------------------------------------------


def _pool(
    where: str,
    x: SparseVoxelTensor,
    kernel_size: Size,
    stride: Size | None,
    padding: Size,
    dilation: Size,
    reduce,
) -> SparseVoxelTensor:
    check_sparse(x, where)
    kmap = conv_map(x, kernel_size, kernel_size if stride is None else stride, padding, dilation)
    return x.map_output(kmap, reduce(x.features, kmap.neighbors))


def max_pool3d(
    x: SparseVoxelTensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
) -> SparseVoxelTensor:
    """Return the max pooling of ``x`` over its active sites (see :class:`SparseMaxPool3d`).

    Raises
    ------
    ValueError
        If the dilated kernel does not fit in the padded grid, or an argument
        is out of range (named).

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> x = SparseVoxelTensor.from_dense(torch.arange(1.0, 9.0).view(1, 1, 2, 2, 2))
    >>> max_pool3d(x, 2).features
    tensor([[8.]])
    """
    return _pool("max_pool3d", x, kernel_size, stride, padding, dilation, gather_max)


def avg_pool3d(
    x: SparseVoxelTensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    count_inactive: bool = False,
) -> SparseVoxelTensor:
    """Return the average pooling of ``x`` over its active sites (see :class:`SparseAvgPool3d`).

    Raises
    ------
    ValueError
        If the dilated kernel does not fit in the padded grid, or an argument
        is out of range (named).

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> coords = torch.tensor([[0, 0, 0, 0], [0, 1, 1, 1]], dtype=torch.int32)
    >>> x = SparseVoxelTensor(coords, torch.tensor([[2.0], [4.0]]), (2, 2, 2))
    >>> avg_pool3d(x, 2).features, avg_pool3d(x, 2, count_inactive=True).features
    (tensor([[3.]]), tensor([[0.7500]]))
    """
    mean = partial(gather_mean, count_inactive=count_inactive)
    return _pool("avg_pool3d", x, kernel_size, stride, padding, dilation, mean)


class _Pool3d(nn.Module):
    """The geometry shared by the sparse pooling layers, checked when the layer is built."""

    def __init__(
        self, kernel_size: Size, stride: Size | None = None, padding: Size = 0, dilation: Size = 1
    ) -> None:
        super().__init__()
        self.kernel_size = _triple("kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else _triple("stride", stride, 1)
        self.padding = _triple("padding", padding, 0)
        self.dilation = _triple("dilation", dilation, 1)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}"
        )

    def _geometry(self) -> tuple:
        return self.kernel_size, self.stride, self.padding, self.dilation


class SparseMaxPool3d(_Pool3d):
    """Max pooling over the active sites, with the geometry of ``torch.nn.MaxPool3d``.

    The output sites are those whose window holds at least one active input
    site (the sites of a :class:`~graphnn.sparse3d.conv.SparseConv3d` with the
    same geometry, through the same cached kernel map); each takes, per
    channel, the largest feature of the active inputs in its window.  On the
    densified grid this is ``torch.nn.functional.max_pool3d`` with ``-inf`` at
    the inactive sites, sampled at the output sites.

    Parameters
    ----------
    kernel_size : int or 3 ints
        The window, ``(x, y, z)`` sizes.
    stride : int or 3 ints, optional
        Default: ``kernel_size``.
    padding : int or 3 ints, default 0
        Inactive sites added on both sides of each axis (any size).
    dilation : int or 3 ints, default 1

    Shapes
    ------
    Features ``[N_in, C]`` on a grid ``(D, H, W)`` to ``[N_out, C]`` on the
    grid of a dense pooling: ``(size + 2 padding - dilation (k - 1) - 1) //
    stride + 1`` per axis.  ``N_out <= N_in * K``.

    Raises
    ------
    ValueError, TypeError
        For a geometry argument out of range (when built), or a kernel that
        does not fit in the padded grid of the input (in ``forward``).

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> pool = SparseMaxPool3d(3, stride=2, padding=1)
    >>> pool
    SparseMaxPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1), dilation=(1, 1, 1))
    >>> x = SparseVoxelTensor(torch.tensor([[0, 3, 3, 3]]), torch.tensor([[-2.0]]), (4, 4, 4))
    >>> y = pool(x)
    >>> y.coords.tolist(), y.features.tolist(), y.spatial_shape
    ([[0, 1, 1, 1]], [[-2.0]], (2, 2, 2))
    """

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
        """Return the max pooling of ``x``, on the output sites of the kernel map."""
        return _pool("SparseMaxPool3d", x, *self._geometry(), gather_max)


class SparseAvgPool3d(_Pool3d):
    """Average pooling over the active sites, with the geometry of ``torch.nn.AvgPool3d``.

    The output sites are those of :class:`SparseMaxPool3d` (and of a sparse
    convolution with the same geometry).  Each takes the mean of the active
    inputs of its window: their sum divided by *their number*, not by the
    window volume, so the inactive sites do not pull the average to zero.
    On the densified grid: the sum-pool of the features divided by the
    sum-pool of the occupancy, sampled at the output sites.

    Parameters
    ----------
    kernel_size : int or 3 ints
    stride : int or 3 ints, optional
        Default: ``kernel_size``.
    padding : int or 3 ints, default 0
    dilation : int or 3 ints, default 1
    count_inactive : bool, default False
        Divide by the window volume instead: the inactive sites count as
        zeros (``torch.nn.functional.avg_pool3d`` of the dense tensor with
        ``count_include_pad=True``, sampled at the output sites).

    Raises
    ------
    ValueError, TypeError
        For a geometry argument out of range (when built), or a kernel that
        does not fit in the padded grid of the input (in ``forward``).

    Examples
    --------
    >>> SparseAvgPool3d(2, count_inactive=True)  # doctest: +NORMALIZE_WHITESPACE
    SparseAvgPool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0),
                    dilation=(1, 1, 1), count_inactive=True)
    """

    def __init__(
        self,
        kernel_size: Size,
        stride: Size | None = None,
        padding: Size = 0,
        dilation: Size = 1,
        count_inactive: bool = False,
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation)
        self.count_inactive = bool(count_inactive)

    def extra_repr(self) -> str:  # noqa: D102
        return f"{super().extra_repr()}, count_inactive={self.count_inactive}"

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
        """Return the average pooling of ``x``, on the output sites of the kernel map."""
        mean = partial(gather_mean, count_inactive=self.count_inactive)
        return _pool("SparseAvgPool3d", x, *self._geometry(), mean)


# --- global pooling ----------------------------------------------------------------------


def _global(where: str, x: SparseVoxelTensor, reduce: str) -> torch.Tensor:
    features = check_sparse(x, where).features
    index = x.coords[:, 0].long()[:, None].expand(-1, features.shape[1])
    out = features.new_zeros(x.batch_size, features.shape[1])
    return out.scatter_reduce(0, index, features, reduce, include_self=False)


def global_max_pool(x: SparseVoxelTensor) -> torch.Tensor:
    """Return the per-channel maximum over each sample's active sites, ``[B, C]``.

    A sample without active sites gives zeros.  The gradient of a maximum
    reached by several sites is shared equally between them (as
    ``torch.amax``).

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> coords = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1], [2, 0, 0, 0]], dtype=torch.int32)
    >>> x = SparseVoxelTensor(coords, torch.tensor([[-1.0], [-3.0], [2.0]]), (1, 1, 2), 3)
    >>> global_max_pool(x)
    tensor([[-1.],
            [ 0.],
            [ 2.]])
    """
    return _global("global_max_pool", x, "amax")


def global_avg_pool(x: SparseVoxelTensor) -> torch.Tensor:
    """Return the mean over each sample's active sites, ``[B, C]``.

    The mean is over the active sites only (not the grid volume).  A sample
    without active sites gives zeros.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> coords = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1], [2, 0, 0, 0]], dtype=torch.int32)
    >>> x = SparseVoxelTensor(coords, torch.tensor([[-1.0], [-3.0], [2.0]]), (1, 1, 2), 3)
    >>> global_avg_pool(x)
    tensor([[-2.],
            [ 0.],
            [ 2.]])
    """
    return _global("global_avg_pool", x, "mean")


class SparseGlobalMaxPool(nn.Module):
    """Per-sample, per-channel maximum over the active sites: a dense ``[B, C]`` tensor.

    See :func:`global_max_pool`; a sample without active sites gives zeros.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> x = SparseVoxelTensor(torch.tensor([[1, 0, 0, 0]]), torch.ones(1, 3), (1, 1, 1))
    >>> SparseGlobalMaxPool()(x).shape
    torch.Size([2, 3])
    """

    def forward(self, x: SparseVoxelTensor) -> torch.Tensor:
        """Return the ``[B, C]`` maxima of the samples of ``x``."""
        return _global("SparseGlobalMaxPool", x, "amax")


class SparseGlobalAvgPool(nn.Module):
    """Per-sample mean over the active sites: a dense ``[B, C]`` tensor.

    See :func:`global_avg_pool`; a sample without active sites gives zeros.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> x = SparseVoxelTensor(torch.tensor([[0, 0, 0, 0]]), torch.ones(1, 3), (1, 1, 1), 2)
    >>> SparseGlobalAvgPool()(x)
    tensor([[1., 1., 1.],
            [0., 0., 0.]])
    """

    def forward(self, x: SparseVoxelTensor) -> torch.Tensor:
        """Return the ``[B, C]`` means of the samples of ``x``."""
        return _global("SparseGlobalAvgPool", x, "mean")
