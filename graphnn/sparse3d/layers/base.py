"""What every sparse voxel layer shares: the input check, and modules on the features alone.

:func:`check_sparse` is the input check of every layer of
:mod:`graphnn.sparse3d.layers`.  :class:`OnFeatures` makes a torch module
act on the feature matrix ``[N, C]`` of a
:class:`~graphnn.sparse3d.tensor.SparseVoxelTensor`, one row per active
site, leaving the geometry alone: the output has the same coordinates,
spatial shape, batch size and kernel-map cache as the input
(:meth:`~graphnn.sparse3d.tensor.SparseVoxelTensor.replace_features`), so a
convolution after it finds the maps built before it.
:class:`SparseFeatureModule` wraps any other module that maps ``[N, C]`` to
``[N, C']``.

Examples
--------
>>> import torch
>>> from graphnn.sparse3d.tensor import SparseVoxelTensor
>>> x = SparseVoxelTensor(torch.zeros(1, 4, dtype=torch.int32), torch.ones(1, 3), (1, 1, 1))
>>> SparseFeatureModule(torch.nn.Linear(3, 2))(x).features.shape
torch.Size([1, 2])
"""

from __future__ import annotations

import torch
from torch import nn

from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = ["OnFeatures", "SparseFeatureModule", "check_sparse"]


def check_sparse(x: object, where: str, channels: int | None = None) -> SparseVoxelTensor:
    """Return ``x`` if it is a sparse voxel tensor (with ``channels`` channels), else raise.

    Parameters
    ----------
    x : object
        The input of a layer.
    where : str
        The layer or function ``x`` is given to, named in the error.
    channels : int, optional
        The number of feature channels the layer expects; any if ``None``.

    Returns
    -------
    SparseVoxelTensor
        ``x`` itself.

    Raises
    ------
    TypeError
        If ``x`` is not a :class:`~graphnn.sparse3d.tensor.SparseVoxelTensor`.
    ValueError
        If ``x`` has another number of channels than ``channels``.

    Examples
    --------
    >>> import torch
    >>> check_sparse(torch.zeros(3, 2), "SparseReLU")
    Traceback (most recent call last):
    ...
    TypeError: SparseReLU takes a SparseVoxelTensor, got Tensor (ToDense/FromDense convert ...)
    """
    if not isinstance(x, SparseVoxelTensor):
        raise TypeError(
            f"{where} takes a SparseVoxelTensor, got {type(x).__name__} (ToDense/FromDense "
            "convert between sparse and dense [B, C, D, H, W] tensors)"
        )
    if channels is not None and x.features.shape[1] != channels:
        raise ValueError(
            f"{where} expects {channels} feature channels, got features of shape "
            f"{list(x.features.shape)}"
        )
    return x


class OnFeatures:
    """Mixin: run the torch module this class also derives from on the features.

    ``class SparseReLU(OnFeatures, nn.ReLU)`` is ``nn.ReLU`` on the features
    of the active sites, with torch's arguments, parameters and ``repr``.
    """

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
        """Return ``x`` with the torch module applied to its features."""
        check_sparse(x, type(self).__name__)
        return x.replace_features(super().forward(x.features))


class SparseFeatureModule(nn.Module):
    """Apply any module to the features of the active sites, keeping the geometry.

    Parameters
    ----------
    module : torch.nn.Module
        Maps features ``[N, C]`` to ``[N, C']`` row by row (the rows of the
        result are the same sites as the rows of the input).

    Shapes
    ------
    ``[N, C]`` features in, ``[N, C']`` features out, on the same sites.

    Raises
    ------
    TypeError
        If ``module`` is not a ``torch.nn.Module``, or the input is not a
        sparse voxel tensor.
    ValueError
        If ``module`` returns another number of rows than it was given.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> x = SparseVoxelTensor(torch.zeros(1, 4, dtype=torch.int32), torch.ones(1, 3), (1, 1, 1))
    >>> layer = SparseFeatureModule(torch.nn.Linear(3, 2))
    >>> layer
    SparseFeatureModule(
      (module): Linear(in_features=3, out_features=2, bias=True)
    )
    >>> layer(x).features.shape
    torch.Size([1, 2])
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        self.module = module

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
        """Return ``x`` with the module applied to its features."""
        check_sparse(x, type(self).__name__)
        features = self.module(x.features)
        rows = x.features.shape[0]
        if not isinstance(features, torch.Tensor) or features.dim() != 2 or len(features) != rows:
            shape = list(features.shape) if isinstance(features, torch.Tensor) else features
            raise ValueError(
                f"{type(self.module).__name__} must map features [N, C] to [N, C'] with the "
                f"same N = {rows}, got {shape}"
            )
        return x.replace_features(features)
