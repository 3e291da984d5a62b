"""Batch normalization over the active sites of a sparse voxel tensor.

Examples
--------
>>> import torch
>>> from graphnn.sparse3d.tensor import SparseVoxelTensor
>>> x = SparseVoxelTensor(torch.tensor([[0, 0, 0, 0], [0, 1, 0, 0]]), torch.ones(2, 3), (2, 1, 1))
>>> SparseBatchNorm(3)(x).features.abs().max().item()
0.0
"""

from __future__ import annotations

from torch import nn

from graphnn.sparse3d.layers.base import check_sparse
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = ["SparseBatchNorm"]


class SparseBatchNorm(nn.BatchNorm1d):
    r"""Batch normalization over the active sites: ``torch.nn.BatchNorm1d`` on the features.

    The mean and variance of each channel are taken over the active sites of
    the whole batch (all samples together), never over the inactive sites of
    the grid, so the result is exactly ``torch.nn.BatchNorm1d`` applied to the
    feature matrix ``[N, C]``, in training and in evaluation mode, running
    statistics included:

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    Parameters
    ----------
    num_features : int
        Number of channels ``C``.
    eps : float
        Added to the variance, ``1e-5`` by default.
    momentum : float or None
        Weight of the new batch in the running statistics, ``0.1`` by default;
        ``None`` for a cumulative average.
    affine : bool
        Learn a scale ``weight`` and a shift ``bias`` per channel.
    track_running_stats : bool
        Keep running statistics and use them in evaluation mode.
    device, dtype
        Where and how the parameters and buffers are allocated.

    Raises
    ------
    ValueError
        In ``forward``: for another number of channels than ``num_features``,
        or a single active site in training mode (no variance to take).

    Notes
    -----
    An input without any active site is returned as it is (no features to
    normalize), and the running statistics are left untouched.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> coords = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1]], dtype=torch.int32)
    >>> x = SparseVoxelTensor(coords, torch.tensor([[1.0], [3.0]]), (1, 1, 2))
    >>> SparseBatchNorm(1)(x).features.detach().round(decimals=3)
    tensor([[-1.],
            [ 1.]])
    """

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
        """Return ``x`` with its features normalized over the active sites."""
        check_sparse(x, type(self).__name__, self.num_features)
        n = x.features.shape[0]
        if n == 0:
            return x
        if n == 1 and self.training:
            raise ValueError(
                f"{type(self).__name__} in training mode needs more than one active site to "
                "take a variance over, got 1 (use eval() for single sites)"
            )
        return x.replace_features(super().forward(x.features))
