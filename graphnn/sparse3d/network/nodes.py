r"""The ops a node of a ``SparseNetwork`` layer graph may have, and the module each builds.

=====================  ==============================================  =======================
``op``                 attributes (besides ``channels``)               module
=====================  ==============================================  =======================
``input``              --                                              --
``submanifold_conv``   ``kernel_size``                                 ``SubmanifoldConv3d``
``conv``               ``kernel_size``, ``stride``,                    ``SparseConv3d``, no
                       ``min_active_inputs``                           padding (valid)
``max_pool``           ``kernel_size``, ``stride``                     ``SparseMaxPool3d``
``avg_pool``           ``kernel_size``, ``stride``                     ``SparseAvgPool3d``
``batch_norm``         --                                              ``SparseBatchNorm``
``activation``         ``function`` (``relu``, ``leakyrelu``,          ``SparseReLU``, ...
                       ``vleakyrelu``, ``prelu``, ``tanh``,
                       ``sigmoid``)
``dropout``            ``p``                                           ``SparseDropout``
``global_max_pool``    --                                              ``SparseGlobalMaxPool``
``global_avg_pool``    --                                              ``SparseGlobalAvgPool``
``linear``             --                                              ``ChannelMaskedLinear``
``add``, ``concat``    edges carry ``port`` (input order)              -- (residual / merge)
=====================  ==============================================  =======================

Examples
--------
>>> build_module("submanifold_conv", {"channels": 8, "kernel_size": 3}, 4)
SubmanifoldConv3d(4, 8, kernel_size=(3, 3, 3))
>>> activation_name("VLEAKYRELU"), activation_name("none")
('vleakyrelu', None)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from graphnn.sparse3d.layers.activation import (
    SparseLeakyReLU,
    SparsePReLU,
    SparseReLU,
    SparseSigmoid,
    SparseTanh,
    SparseVeryLeakyReLU,
)
from graphnn.sparse3d.layers.conv import SparseConv3d, SubmanifoldConv3d
from graphnn.sparse3d.layers.dropout import SparseDropout
from graphnn.sparse3d.layers.norm import SparseBatchNorm
from graphnn.sparse3d.layers.pool import (
    SparseAvgPool3d,
    SparseGlobalAvgPool,
    SparseGlobalMaxPool,
    SparseMaxPool3d,
)

__all__ = [
    "ACTIVATIONS",
    "CONVS",
    "GLOBAL_POOLS",
    "MERGES",
    "OPS",
    "PARAMS",
    "POOLS",
    "WEIGHT_OPS",
    "ChannelMaskedLinear",
    "activation_name",
    "build_module",
]

#: Activation names of the ``activation`` op (SparseConvNet's upper-case names are accepted).
ACTIVATIONS: dict[str, Callable[[int], nn.Module]] = {
    "relu": lambda c: SparseReLU(),
    "leakyrelu": lambda c: SparseLeakyReLU(),
    "vleakyrelu": lambda c: SparseVeryLeakyReLU(),
    "prelu": lambda c: SparsePReLU(c),
    "tanh": lambda c: SparseTanh(),
    "sigmoid": lambda c: SparseSigmoid(),
}
#: Names meaning "no activation" in the builders.
NO_ACTIVATION = ("none", "nosigmoid", "identity", "")

CONVS = ("submanifold_conv", "conv")
#: Ops with a weight ``[.., C_in, C_out]`` and a ``channel_mask [C_in, C_out]``.
WEIGHT_OPS = (*CONVS, "linear")
POOLS = ("max_pool", "avg_pool")
GLOBAL_POOLS = ("global_max_pool", "global_avg_pool")
MERGES = ("add", "concat")
#: Every op a node may have.
OPS = ("input", *WEIGHT_OPS, *POOLS, "batch_norm", "activation", "dropout", *GLOBAL_POOLS, *MERGES)
#: The hyper-parameters of each op (besides ``channels``), as node attributes.
PARAMS = {
    "submanifold_conv": ("kernel_size",),
    "conv": ("kernel_size", "stride", "min_active_inputs"),
    "max_pool": ("kernel_size", "stride"),
    "avg_pool": ("kernel_size", "stride"),
    "activation": ("function",),
    "dropout": ("p",),
}


class ChannelMaskedLinear(nn.Linear):
    """``torch.nn.Linear`` with a boolean ``channel_mask [in, out]`` (the conv layers' layout).

    The weight used is ``weight * channel_mask.T``, so masked connections get
    no gradient.

    Examples
    --------
    >>> layer = ChannelMaskedLinear(3, 2)
    >>> layer.channel_mask[:, 1] = False
    >>> bool((layer(torch.ones(1, 3))[0, 1] == layer.bias[1]).item())
    True
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias)
        self.register_buffer("channel_mask", torch.ones(in_features, out_features, dtype=bool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x (weight * channel_mask.T)^T + bias``."""
        return F.linear(x, self.weight * self.channel_mask.T, self.bias)


def activation_name(name: str | None) -> str | None:
    """Return the activation ``name`` in lower case, or None for "no activation".

    Raises
    ------
    ValueError
        For a name that is not in :data:`ACTIVATIONS` (they are listed).
    """
    if name is None or (isinstance(name, str) and name.lower() in NO_ACTIVATION):
        return None
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)} or None"
        )
    return name.lower()


def build_module(op: str, attrs: dict, c_in: int) -> nn.Module | None:
    """Return a new module for a node with this ``op`` and attributes and ``c_in`` input channels.

    ``None`` for the ops without a module (``input``, ``add``, ``concat``).
    """
    c_out = attrs["channels"]
    if op == "submanifold_conv":
        return SubmanifoldConv3d(c_in, c_out, attrs["kernel_size"])
    if op == "conv":
        return SparseConv3d(
            c_in,
            c_out,
            attrs["kernel_size"],
            attrs["stride"],
            padding=0,
            min_active_inputs=attrs["min_active_inputs"],
        )
    if op in POOLS:
        pool = SparseMaxPool3d if op == "max_pool" else SparseAvgPool3d
        return pool(attrs["kernel_size"], attrs["stride"])
    if op == "batch_norm":
        return SparseBatchNorm(c_in)
    if op == "activation":
        return ACTIVATIONS[activation_name(attrs["function"])](c_in)
    if op == "dropout":
        return SparseDropout(attrs["p"])
    if op in GLOBAL_POOLS:
        return SparseGlobalMaxPool() if op == "global_max_pool" else SparseGlobalAvgPool()
    if op == "linear":
        return ChannelMaskedLinear(c_in, c_out)
    return None  # input, add, concat
