"""Activation functions by name, as they are stored in a structure's ``activation`` attribute.

Examples
--------
>>> import torch
>>> get_activation("very_leaky_relu")(torch.tensor([-3.0, 3.0]))
tensor([-1.,  3.])
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["ACTIVATIONS", "get_activation", "IDENTITY"]

#: The name of the identity (no activation); the default of output nodes.
IDENTITY = "identity"


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _leaky_relu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.01)


def _very_leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """SparseConvNet's "very leaky" ReLU: slope 1/3 below zero."""
    return F.leaky_relu(x, 1.0 / 3.0)


#: Every accepted name and its function (elementwise, differentiable to any order).
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    IDENTITY: _identity,
    "relu": F.relu,
    "leaky_relu": _leaky_relu,
    "very_leaky_relu": _very_leaky_relu,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "silu": F.silu,
    "softplus": F.softplus,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
}


def get_activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the activation function called ``name``.

    Parameters
    ----------
    name : str
        One of the keys of :data:`ACTIVATIONS`.

    Returns
    -------
    callable
        An elementwise torch function.

    Raises
    ------
    ValueError
        If ``name`` is not known; the message lists the accepted names.
    """
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {name!r}; accepted: {', '.join(ACTIVATIONS)}"
        ) from None
