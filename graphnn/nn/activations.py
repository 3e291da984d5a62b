"""Activation functions by name, as they are stored in a structure's ``activation`` attribute.

Each activation comes with its derivative in closed form, for the compiled
model's fused backward pass: ``ACTIVATION_GRADS[name](z, a, grad)`` returns
``grad * f'(z)`` given the pre-activation ``z`` and the activation
``a = f(z)``; only the names in ``NEEDS_PREACTIVATION`` use ``z`` (the others
accept ``z=None``).  ``apply_inplace(name, t)`` overwrites ``t`` with ``f(t)``.

Examples
--------
>>> import torch
>>> get_activation("very_leaky_relu")(torch.tensor([-3.0, 3.0]))
tensor([-1.,  3.])
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_GRADS",
    "IDENTITY",
    "NEEDS_PREACTIVATION",
    "apply_inplace",
    "get_activation",
]

#: The name of the identity (no activation); the default of output nodes.
IDENTITY = "identity"

Grad = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _leaky_relu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.01)


def _very_leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """SparseConvNet's "very leaky" ReLU: slope 1/3 below zero."""
    return F.leaky_relu(x, 1.0 / 3.0)


def _slope_grad(slope: float) -> Grad:
    def grad(z: torch.Tensor | None, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return torch.where(a > 0, g, g * slope)  # a > 0 exactly when z > 0

    return grad


def _gelu_grad(z: torch.Tensor, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    cdf = 0.5 * (1.0 + torch.erf(z * (1.0 / math.sqrt(2.0))))
    pdf = torch.exp(-0.5 * z * z) * (1.0 / math.sqrt(2.0 * math.pi))
    return g * (cdf + z * pdf)


def _silu_grad(z: torch.Tensor, a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(z)
    return g * s * (1.0 + z * (1.0 - s))


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

#: ``grad * f'(z)`` for every activation, from ``(z, a = f(z), grad)``.
ACTIVATION_GRADS: dict[str, Grad] = {
    IDENTITY: lambda z, a, g: g,
    "relu": lambda z, a, g: torch.ops.aten.threshold_backward(g, a, 0.0),  # what autograd uses
    "leaky_relu": _slope_grad(0.01),
    "very_leaky_relu": _slope_grad(1.0 / 3.0),
    "elu": lambda z, a, g: torch.where(a > 0, g, g * (a + 1.0)),
    "selu": lambda z, a, g: torch.where(
        a > 0, g * _SELU_SCALE, g * (a + _SELU_SCALE * _SELU_ALPHA)
    ),
    "gelu": _gelu_grad,
    "silu": _silu_grad,
    "softplus": lambda z, a, g: g * torch.sigmoid(z),
    "tanh": lambda z, a, g: g * (1.0 - a * a),
    "sigmoid": lambda z, a, g: g * a * (1.0 - a),
}


#: The activations whose derivative needs the pre-activation ``z`` (not only ``a``).
NEEDS_PREACTIVATION = frozenset({"gelu", "silu", "softplus"})

_INPLACE: dict[str, Callable[[torch.Tensor], object]] = {
    IDENTITY: lambda t: t,
    "relu": torch.relu_,
    "leaky_relu": lambda t: F.leaky_relu_(t, 0.01),
    "very_leaky_relu": lambda t: F.leaky_relu_(t, 1.0 / 3.0),
    "elu": lambda t: F.elu_(t),
    "selu": torch.selu_,
    "silu": lambda t: F.silu(t, inplace=True),
    "tanh": torch.tanh_,
    "sigmoid": torch.sigmoid_,
}


def apply_inplace(name: str, t: torch.Tensor) -> None:
    """Overwrite ``t`` with the activation ``name`` of it (no autograd)."""
    inplace = _INPLACE.get(name)
    if inplace is None:
        t.copy_(ACTIVATIONS[name](t))
    else:
        inplace(t)


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
