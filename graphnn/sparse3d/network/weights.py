"""The weights of a ``SparseNetwork`` in and out: numpy arrays per node, and files.

:func:`get_weights` / :func:`set_weights` move each node's parameters and
buffers as numpy arrays (PySparseConvNet's ``get_weights``); :func:`save`
writes the layer graph (node-link data) and the ``state_dict`` with
``torch.save``, :func:`read` reads such a file back safely
(``weights_only=True``), and :func:`load_state` loads the weights of the
first nodes of a network from one (PySparseConvNet's ``loadWeights(file,
firstNlayers)``).  The methods of
:class:`~graphnn.sparse3d.network.model.SparseNetwork` call these.

Examples
--------
>>> from graphnn.sparse3d import SparseNetwork
>>> net = SparseNetwork(in_features=1).add_conv(2, 3)
>>> {name: [a.shape for a in arrays] for name, arrays in get_weights(net).items()}
{'L0': [(27, 1, 2), (2,), (1, 2)]}
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import torch

from graphnn._validation import check_int

if TYPE_CHECKING:
    from graphnn.sparse3d.network.model import SparseNetwork

__all__ = ["FORMAT", "get_weights", "load_state", "read", "save", "set_weights"]

#: The ``format`` entry of the files :func:`save` writes.
FORMAT = "graphnn-sparse-network"


def get_weights(net: SparseNetwork) -> dict[str, list[np.ndarray]]:
    """Node name -> its parameters and buffers as numpy arrays, in ``state_dict`` order."""
    weights: dict[str, list[np.ndarray]] = {}
    for key, value in net.state_dict().items():
        weights.setdefault(key.split(".")[1], []).append(value.detach().cpu().numpy().copy())
    return weights


def set_weights(net: SparseNetwork, weights: dict[str, Sequence[np.ndarray]]) -> SparseNetwork:
    """Load what :func:`get_weights` gives (all nodes or some) into ``net``; return it.

    Raises
    ------
    ValueError
        For an unknown node, or arrays of the wrong number or shape.
    """
    state = net.state_dict()
    for name, arrays in weights.items():
        keys = [k for k in state if k.split(".")[1] == name]
        if not keys:
            raise ValueError(f"node {name!r} has no weights in this network")
        if len(arrays) != len(keys):
            raise ValueError(f"node {name!r} takes {len(keys)} arrays, got {len(arrays)}")
        for key, array in zip(keys, arrays, strict=True):
            if tuple(np.shape(array)) != tuple(state[key].shape):
                raise ValueError(
                    f"{key} has shape {tuple(state[key].shape)}, got {np.shape(array)}"
                )
            state[key] = torch.as_tensor(np.asarray(array)).to(state[key])
    net.load_state_dict(state)
    return net


def save(net: SparseNetwork, path: str | os.PathLike) -> None:
    """Save the layer graph (node-link data) and the ``state_dict`` with ``torch.save``.

    The file holds only plain containers, numbers, strings and tensors:
    :func:`read` reads it with ``torch.load(weights_only=True)``.
    """
    data = nx.node_link_data(net.graph, edges="edges")
    torch.save({"format": FORMAT, "graph": data, "state_dict": net.state_dict()}, path)


def read(path: str | os.PathLike) -> tuple[nx.DiGraph, dict]:
    """Return the layer graph and the ``state_dict`` of a file written by :func:`save`.

    Raises
    ------
    ValueError
        If the file was not written by :func:`save`.
    """
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a file written by SparseNetwork.save")
    return nx.node_link_graph(data["graph"], edges="edges"), data["state_dict"]


def load_state(
    net: SparseNetwork, state: dict, first_n: int | None, path: str | os.PathLike
) -> SparseNetwork:
    """Load the weights of the first ``first_n`` nodes (all by default) of ``state`` into ``net``.

    Nodes count after the input, in execution order; they must have the
    same names, ops and shapes in both networks.

    Raises
    ------
    ValueError
        Naming the first node that differs (and the file ``path``).
    """
    order = net.execution_order
    if first_n is not None:
        first_n = check_int("first_n_layers", first_n, low=0)
    nodes = order[1:] if first_n is None else order[1 : 1 + first_n]
    own = net.state_dict()
    wanted = {k for k in own if k.split(".")[1] in nodes}
    for key in sorted(wanted):
        if key not in state or state[key].shape != own[key].shape:
            got = tuple(state[key].shape) if key in state else "nothing"
            raise ValueError(
                f"{os.fspath(path)!r}: node {key.split('.')[1]} differs, {key} has shape "
                f"{tuple(own[key].shape)} here and {got} in the file"
            )
        own[key] = state[key]
    net.load_state_dict(own)
    return net
