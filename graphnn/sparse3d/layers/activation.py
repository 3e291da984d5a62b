"""Activations of sparse voxel networks, on the features of the active sites.

Each subclasses the torch module it applies (``SparsePReLU`` is a
``torch.nn.PReLU``, ...): the arguments, defaults, parameters, ``state_dict``
keys and ``repr`` are torch's, so weights move between a dense model and a
sparse one unchanged.  Inactive sites stay inactive.

Examples
--------
>>> import torch
>>> from graphnn.sparse3d.tensor import SparseVoxelTensor
>>> x = SparseVoxelTensor(
...     torch.tensor([[0, 0, 0, 0], [0, 1, 2, 3]], dtype=torch.int32),
...     torch.tensor([[-3.0], [3.0]]), (2, 3, 4), batch_size=1,
... )
>>> SparseVeryLeakyReLU()(x).features
tensor([[-1.],
        [ 3.]])
"""

from __future__ import annotations

from torch import nn

from graphnn.sparse3d.layers.base import OnFeatures, check_sparse
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = [
    "SparseLeakyReLU",
    "SparsePReLU",
    "SparseReLU",
    "SparseSigmoid",
    "SparseTanh",
    "SparseVeryLeakyReLU",
]


class SparseReLU(OnFeatures, nn.ReLU):
    """``torch.nn.ReLU`` on the features of the active sites.

    Examples
    --------
    >>> SparseReLU()
    SparseReLU()
    """


class SparseLeakyReLU(OnFeatures, nn.LeakyReLU):
    """``torch.nn.LeakyReLU`` on the features of the active sites (slope 0.01 by default).

    Examples
    --------
    >>> SparseLeakyReLU()
    SparseLeakyReLU(negative_slope=0.01)
    """


class SparseVeryLeakyReLU(OnFeatures, nn.LeakyReLU):
    """SparseConvNet's "very leaky" ReLU (``VLEAKYRELU``): slope 1/3 below zero.

    Parameters
    ----------
    inplace : bool
        Overwrite the input's features (as ``torch.nn.LeakyReLU``).

    Examples
    --------
    >>> SparseVeryLeakyReLU().negative_slope
    0.3333333333333333
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(1.0 / 3.0, inplace)


class SparsePReLU(OnFeatures, nn.PReLU):
    """``torch.nn.PReLU`` on the features: one learnt slope, or one per channel.

    Parameters
    ----------
    num_parameters : int
        1 (one slope shared by all channels) or the number of channels ``C``.
    init : float
        Initial slope, 0.25 by default.

    Raises
    ------
    ValueError
        In ``forward``, if ``num_parameters`` is neither 1 nor the number of
        channels of the input.

    Examples
    --------
    >>> SparsePReLU(4).weight.shape
    torch.Size([4])
    """

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
        """Return ``x`` with PReLU applied to its features."""
        channels = None if self.num_parameters == 1 else self.num_parameters
        check_sparse(x, type(self).__name__, channels)
        return super().forward(x)


class SparseTanh(OnFeatures, nn.Tanh):
    """``torch.nn.Tanh`` on the features of the active sites.

    Examples
    --------
    >>> SparseTanh()
    SparseTanh()
    """


class SparseSigmoid(OnFeatures, nn.Sigmoid):
    """``torch.nn.Sigmoid`` on the features of the active sites.

    Examples
    --------
    >>> SparseSigmoid()
    SparseSigmoid()
    """
