"""Between sparse and dense: a sparse voxel tensor scattered into ``[B, C, D, H, W]``, and back.

Examples
--------
>>> import torch
>>> from graphnn.sparse3d.tensor import SparseVoxelTensor
>>> x = SparseVoxelTensor(torch.tensor([[0, 1, 0, 0]]), torch.ones(1, 2), (2, 1, 1))
>>> torch.equal(FromDense()(ToDense()(x)).features, x.features)
True
"""

from __future__ import annotations

import torch
from torch import nn

from graphnn.sparse3d.layers.base import check_sparse
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = ["FromDense", "ToDense"]


class ToDense(nn.Module):
    """Scatter a sparse voxel tensor into a dense ``[B, C, D, H, W]`` tensor.

    Axis ``x`` of the coordinates becomes ``D``, ``y`` becomes ``H`` and ``z``
    becomes ``W``; inactive sites are 0.  Gradients flow back to the features
    of the active sites.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> coords = torch.tensor([[1, 0, 1, 2]], dtype=torch.int32)
    >>> x = SparseVoxelTensor(coords, torch.tensor([[5.0]]), (2, 2, 3), batch_size=2)
    >>> dense = ToDense()(x)
    >>> dense.shape, dense[1, 0, 0, 1, 2].item()
    (torch.Size([2, 1, 2, 2, 3]), 5.0)
    """

    def forward(self, x: SparseVoxelTensor) -> torch.Tensor:
        """Return ``x`` as a dense ``[B, C, D, H, W]`` tensor."""
        return check_sparse(x, type(self).__name__).dense()


class FromDense(nn.Module):
    """Turn a dense ``[B, C, D, H, W]`` tensor into a sparse voxel tensor.

    The active sites are those where some channel is non-zero
    (:meth:`~graphnn.sparse3d.tensor.SparseVoxelTensor.from_dense`), so
    ``FromDense()(ToDense()(x))`` gives back ``x`` when no active site has an
    all-zero feature vector.

    Examples
    --------
    >>> import torch
    >>> dense = torch.zeros(1, 2, 3, 3, 3)
    >>> dense[0, :, 1, 2, 0] = torch.tensor([1.0, -1.0])
    >>> x = FromDense()(dense)
    >>> x.coords.tolist(), x.features.tolist()
    ([[0, 1, 2, 0]], [[1.0, -1.0]])
    """

    def forward(self, dense: torch.Tensor) -> SparseVoxelTensor:
        """Return the sites of ``dense`` where some channel is non-zero."""
        if not isinstance(dense, torch.Tensor):
            raise TypeError(f"FromDense takes a torch.Tensor, got {type(dense).__name__}")
        return SparseVoxelTensor.from_dense(dense)
