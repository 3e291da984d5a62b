"""Site-wise layers of sparse voxel networks: batch norm, activations, dropout, to/from dense.

Every layer here acts on the feature matrix ``[N, C]`` of a
:class:`~graphnn.sparse3d.tensor.SparseVoxelTensor`, one row per active site,
and leaves the geometry alone: the output has the same coordinates, spatial
shape, batch size and kernel-map cache as the input
(:meth:`~graphnn.sparse3d.tensor.SparseVoxelTensor.replace_features`), so a
convolution after it finds the maps built before it.  Inactive sites stay
inactive; nothing is computed for them.

Each layer subclasses the torch module it applies to the features
(``SparseBatchNorm`` is a ``torch.nn.BatchNorm1d``, ``SparsePReLU`` a
``torch.nn.PReLU``, ...): the arguments, defaults, parameters, buffers,
``state_dict`` keys and ``repr`` are torch's, so weights move between a dense
model and a sparse one unchanged.  :class:`SparseFeatureModule` wraps any
other module that maps ``[N, C]`` to ``[N, C']``.

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
>>> torch.nn.Sequential(SparseBatchNorm(1), SparseReLU(), ToDense())(x).shape
torch.Size([1, 1, 2, 3, 4])
"""

from __future__ import annotations

import torch
from torch import nn

from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = [
    "FromDense",
    "SparseBatchNorm",
    "SparseDropout",
    "SparseFeatureModule",
    "SparseLeakyReLU",
    "SparsePReLU",
    "SparseReLU",
    "SparseSigmoid",
    "SparseTanh",
    "SparseVeryLeakyReLU",
    "ToDense",
]


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


class _OnFeatures:
    """Mixin: run the torch module this class also derives from on the features."""

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
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


class SparseReLU(_OnFeatures, nn.ReLU):
    """``torch.nn.ReLU`` on the features of the active sites.

    Examples
    --------
    >>> SparseReLU()
    SparseReLU()
    """


class SparseLeakyReLU(_OnFeatures, nn.LeakyReLU):
    """``torch.nn.LeakyReLU`` on the features of the active sites (slope 0.01 by default).

    Examples
    --------
    >>> SparseLeakyReLU()
    SparseLeakyReLU(negative_slope=0.01)
    """


class SparseVeryLeakyReLU(_OnFeatures, nn.LeakyReLU):
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


class SparsePReLU(_OnFeatures, nn.PReLU):
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


class SparseTanh(_OnFeatures, nn.Tanh):
    """``torch.nn.Tanh`` on the features of the active sites.

    Examples
    --------
    >>> SparseTanh()
    SparseTanh()
    """


class SparseSigmoid(_OnFeatures, nn.Sigmoid):
    """``torch.nn.Sigmoid`` on the features of the active sites.

    Examples
    --------
    >>> SparseSigmoid()
    SparseSigmoid()
    """


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


class SparseDropout(nn.Dropout):
    """Dropout on the features of the active sites.

    In training mode each feature entry (``channelwise=False``) is zeroed
    with probability ``p`` and the others are scaled by ``1 / (1 - p)``, as
    ``torch.nn.Dropout`` on the feature matrix ``[N, C]``.  With
    ``channelwise=True`` whole channels of a sample are zeroed together, as
    ``torch.nn.Dropout3d`` on the dense tensor: one draw per (sample, channel),
    shared by all the active sites of that sample.  In evaluation mode the
    layer is the identity.  Inactive sites stay inactive.

    The random draws come from torch's global generator
    (``torch.manual_seed`` makes them reproducible), as with torch's dropout.

    Parameters
    ----------
    p : float
        Probability of zeroing, in ``[0, 1)``; 0.5 by default.
    channelwise : bool
        Zero whole channels of a sample rather than single entries.
    inplace : bool
        Overwrite the input's features (entry-wise dropout only).

    Raises
    ------
    ValueError
        If ``p`` is outside ``[0, 1)``, or ``inplace`` is asked with
        ``channelwise``.

    Examples
    --------
    >>> SparseDropout(0.2, channelwise=True)
    SparseDropout(p=0.2, inplace=False, channelwise=True)
    """

    def __init__(self, p: float = 0.5, channelwise: bool = False, inplace: bool = False) -> None:
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p < 1:
            raise ValueError(f"dropout probability p must lie in [0, 1), got {p!r}")
        if channelwise and inplace:
            raise ValueError("SparseDropout cannot drop whole channels in place")
        super().__init__(float(p), inplace)
        self.channelwise = channelwise

    def extra_repr(self) -> str:  # noqa: D102
        return f"{super().extra_repr()}, channelwise={self.channelwise}"

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
        """Return ``x`` with dropout applied to its features (training mode only)."""
        check_sparse(x, type(self).__name__)
        if not self.training or self.p == 0:
            return x
        if not self.channelwise:
            return x.replace_features(super().forward(x.features))
        features = x.features
        keep = torch.empty(
            x.batch_size, features.shape[1], dtype=features.dtype, device=features.device
        ).bernoulli_(1 - self.p)
        scale = keep / (1 - self.p)
        return x.replace_features(features * scale[x.coords[:, 0].long()])


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
