"""The layers of sparse voxel networks: convolutions, pooling, normalization, activations.

One concept per module: :mod:`~graphnn.sparse3d.layers.conv` (submanifold,
strided, inverse and transposed convolutions, each with a channel mask),
:mod:`~graphnn.sparse3d.layers.pool` (max, average and global pooling),
:mod:`~graphnn.sparse3d.layers.norm`, :mod:`~graphnn.sparse3d.layers.activation`,
:mod:`~graphnn.sparse3d.layers.dropout`, :mod:`~graphnn.sparse3d.layers.dense`
(to and from dense tensors), and :mod:`~graphnn.sparse3d.layers.base` (the
input check and modules on the features alone).  Every layer takes and
returns a :class:`~graphnn.sparse3d.tensor.SparseVoxelTensor`; every name is
also exported by :mod:`graphnn.sparse3d`.

Examples
--------
>>> import torch
>>> from graphnn.sparse3d.layers import SparseReLU, SubmanifoldConv3d
>>> net = torch.nn.Sequential(SubmanifoldConv3d(1, 4, 3), SparseReLU())
>>> net
Sequential(
  (0): SubmanifoldConv3d(1, 4, kernel_size=(3, 3, 3))
  (1): SparseReLU()
)
"""

from graphnn.sparse3d.layers.activation import (
    SparseLeakyReLU,
    SparsePReLU,
    SparseReLU,
    SparseSigmoid,
    SparseTanh,
    SparseVeryLeakyReLU,
)
from graphnn.sparse3d.layers.base import SparseFeatureModule, check_sparse
from graphnn.sparse3d.layers.conv import (
    SparseConv3d,
    SparseConvTranspose3d,
    SparseInverseConv3d,
    SubmanifoldConv3d,
)
from graphnn.sparse3d.layers.dense import FromDense, ToDense
from graphnn.sparse3d.layers.dropout import SparseDropout
from graphnn.sparse3d.layers.norm import SparseBatchNorm
from graphnn.sparse3d.layers.pool import (
    SparseAvgPool3d,
    SparseGlobalAvgPool,
    SparseGlobalMaxPool,
    SparseMaxPool3d,
    avg_pool3d,
    global_avg_pool,
    global_max_pool,
    max_pool3d,
)

__all__ = [
    "FromDense",
    "SparseAvgPool3d",
    "SparseBatchNorm",
    "SparseConv3d",
    "SparseConvTranspose3d",
    "SparseDropout",
    "SparseFeatureModule",
    "SparseGlobalAvgPool",
    "SparseGlobalMaxPool",
    "SparseInverseConv3d",
    "SparseLeakyReLU",
    "SparseMaxPool3d",
    "SparsePReLU",
    "SparseReLU",
    "SparseSigmoid",
    "SparseTanh",
    "SparseVeryLeakyReLU",
    "SubmanifoldConv3d",
    "ToDense",
    "avg_pool3d",
    "check_sparse",
    "global_avg_pool",
    "global_max_pool",
    "max_pool3d",
]
