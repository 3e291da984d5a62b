"""Torch modules compiled from structures: masked linear layers and the DAG model."""

from graphnn.nn.activations import ACTIVATIONS, get_activation
from graphnn.nn.dag import MaskedDAG, compile
from graphnn.nn.ffn import MaskedFFN
from graphnn.nn.masked_linear import MaskedLinear

__all__ = [
    "ACTIVATIONS",
    "MaskedDAG",
    "MaskedFFN",
    "MaskedLinear",
    "compile",
    "get_activation",
]
