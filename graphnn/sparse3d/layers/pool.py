"""Sparse max and average pooling over the active sites, and global pooling per sample.

A sparse pooling layer has the geometry of a dense ``max_pool3d`` /
``avg_pool3d`` (kernel size, stride, padding, dilation; the stride is the
kernel size by default) and the output sites of a
:class:`~graphnn.sparse3d.layers.conv.SparseConv3d` with the same geometry: an
output site is active when at least one active input site lies in its
window.  Pooling and convolution use the very same kernel map
(:func:`~graphnn.sparse3d.kernel_map.conv_map` with ``min_active_inputs=1``),
built once per site set and shared through the tensor's cache; a
:class:`~graphnn.sparse3d.layers.conv.SparseInverseConv3d` with the pool's geometry
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

The reductions are :func:`~graphnn.sparse3d.ops.pool.gather_max` and
:func:`~graphnn.sparse3d.ops.pool.gather_mean` (Triton on CUDA, torch
elsewhere).

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
from torch import nn

from graphnn._validation import check_triple
from graphnn.sparse3d.kernel_map.strided import conv_map
from graphnn.sparse3d.layers.base import check_sparse
from graphnn.sparse3d.ops.pool import gather_max, gather_mean
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = [
    "SparseAvgPool3d",
    "SparseGlobalAvgPool",
    "SparseGlobalMaxPool",
    "SparseMaxPool3d",
    "avg_pool3d",
    "global_avg_pool",
    "global_max_pool",
    "max_pool3d",
]

Size = int | Sequence[int]


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
        self.kernel_size = check_triple("kernel_size", kernel_size, low=1)
        self.stride = self.kernel_size if stride is None else check_triple("stride", stride, low=1)
        self.padding = check_triple("padding", padding, low=0)
        self.dilation = check_triple("dilation", dilation, low=1)

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
    site (the sites of a :class:`~graphnn.sparse3d.layers.conv.SparseConv3d` with the
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
