"""The channel graph of a ``SparseNetwork``, and channel pruning as graph edits.

Every channel of every layer node is a node ``(layer, c)`` (attributes
``layer``, ``op``, ``channel``).  A convolution or linear layer has an edge
``(source, i) -> (layer, o)`` for each live entry of its ``channel_mask``
(``kind="weight"``, ``weight`` the Euclidean norm of the ``K`` kernel values
of that pair); the other layers map channel ``c`` of their input to channel
``c`` (``kind="identity"``), a ``concat`` to ``c`` plus the channels of its
earlier inputs.  Graph attributes are those of the layer graph plus
``level="channel"``.

Pruning is a graph edit: remove edges (connections) or channel nodes
(whole output channels) and call :func:`apply_channel_graph`, or call
:func:`prune_channels`.  The masks keep the shapes; :func:`shrink` then
removes the pruned channels physically, with identical outputs.

Examples
--------
>>> import torch
>>> from graphnn.sparse3d.network.model import SparseNetwork
>>> net = SparseNetwork(in_features=1).add_conv(4, 3).add_conv(2, 3)
>>> G = net.to_graph("channel")
>>> G.remove_node(("L0", 3))  # prune channel 3 of the first convolution
>>> _ = net.apply_channel_graph(G)
>>> net.layers["L0"].channel_mask.sum(dim=0).tolist()
[1, 1, 1, 0]
>>> net.shrink().graph.nodes["L0"]["channels"], net.layers["L2"].weight.shape
(3, torch.Size([27, 3, 2]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import networkx as nx
import torch

from graphnn.exceptions import NetworkGraphError
from graphnn.sparse3d.network.nodes import GLOBAL_POOLS, MERGES, POOLS, WEIGHT_OPS

if TYPE_CHECKING:
    from graphnn.sparse3d.network.model import SparseNetwork

__all__ = ["apply_channel_graph", "channel_graph", "prune_channels", "shrink"]

#: Ops that map a zero channel to a zero channel (checked per channel for batch norm).
_ZERO_PRESERVING = ("dropout", "batch_norm", *POOLS, *GLOBAL_POOLS)


def channel_graph(net: SparseNetwork) -> nx.DiGraph:
    """Return the channel-level graph of ``net`` (see the module notes)."""
    G = nx.DiGraph(**net.graph.graph, level="channel")
    for v in net.execution_order:
        op, c_out = net.graph.nodes[v]["op"], net.graph.nodes[v]["channels"]
        for c in range(c_out):
            G.add_node((v, c), layer=v, op=op, channel=c)
        preds = net.inputs_of(v)
        if op in WEIGHT_OPS:
            module = net.layers[v]
            with torch.no_grad():
                w = module.weight
                norms = w.T.abs() if op == "linear" else w.norm(dim=0)  # [C_in, C_out]
            for i, o in torch.nonzero(module.channel_mask).tolist():
                G.add_edge((preds[0], i), (v, o), kind="weight", weight=float(norms[i, o]))
        elif op != "input":
            offset = 0
            for u in preds:
                for c in range(net.graph.nodes[u]["channels"]):
                    G.add_edge((u, c), (v, offset + c), kind="identity")
                if op == "concat":
                    offset += net.graph.nodes[u]["channels"]
    return G


def apply_channel_graph(net: SparseNetwork, G: nx.DiGraph) -> SparseNetwork:
    """Set the channel masks of ``net`` from an (edited) channel graph; return ``net``.

    Entry ``[i, o]`` of a layer's mask is live when ``G`` has the edge
    ``(source, i) -> (layer, o)``.  An output channel whose node is missing
    from ``G`` is pruned as by :func:`prune_channels` (its bias is zeroed
    too); a channel node kept without incoming edges keeps its bias.
    Identity edges are not read.

    Raises
    ------
    NetworkGraphError
        For an edge into a weight layer from a node that is not a channel of
        its input (the edge named).
    """
    masks, missing = {}, {}
    for v in net.execution_order:  # read and check every edge before anything changes
        if net.graph.nodes[v]["op"] not in WEIGHT_OPS:
            continue
        module, source = net.layers[v], net.inputs_of(v)[0]
        mask = torch.zeros_like(module.channel_mask)
        missing[v] = []
        for o in range(mask.shape[1]):
            if (v, o) not in G:
                missing[v].append(o)
                continue
            for u in G.predecessors((v, o)):
                i = u[1] if isinstance(u, tuple) and len(u) == 2 and u[0] == source else -1
                if not isinstance(i, int) or not 0 <= i < mask.shape[0]:
                    raise NetworkGraphError(
                        f"edge {u!r} -> {(v, o)!r}: layer {v!r} reads channels "
                        f"(({source!r}, 0) .. ({source!r}, {mask.shape[0] - 1}))",
                        edges=[(u, (v, o))],
                    )
                mask[i, o] = True
        masks[v] = mask
    with torch.no_grad():
        for v, mask in masks.items():
            net.layers[v].channel_mask.copy_(mask)
            if missing[v]:
                prune_channels(net, v, missing[v])
    return net


def prune_channels(net: SparseNetwork, layer: str, channels: Sequence[int]) -> SparseNetwork:
    """Prune output ``channels`` of a convolution or linear ``layer``; return ``net``.

    Their mask columns become false and their bias 0, so they are exactly
    zero; the batch norms between ``layer`` and the layers reading it get a
    zero shift and running mean on those channels, so they stay zero there
    (in training and evaluation mode) and :func:`shrink` can remove them.

    Raises
    ------
    NetworkGraphError
        For a node without a channel mask.
    ValueError
        For a channel out of range.
    """
    if layer not in net.graph or net.graph.nodes[layer]["op"] not in WEIGHT_OPS:
        raise NetworkGraphError(
            f"{layer!r} is not a convolution or linear node of the network", nodes=[layer]
        )
    module = net.layers[layer]
    c_out = module.channel_mask.shape[1]
    channels = list(channels)
    bad = [c for c in channels if not isinstance(c, int) or not 0 <= c < c_out]
    if bad:
        raise ValueError(f"layer {layer!r} has channels 0 .. {c_out - 1}, got {bad}")
    with torch.no_grad():
        module.channel_mask[:, channels] = False
        if module.bias is not None:
            module.bias[channels] = 0
        region, _, _ = _region(net, layer)
        for r in region:
            bn = net.layers[r]
            if net.graph.nodes[r]["op"] == "batch_norm":
                if bn.bias is not None:
                    bn.bias[channels] = 0
                if bn.running_mean is not None:
                    bn.running_mean[channels] = 0
    return net


def _region(net: SparseNetwork, layer: str) -> tuple[list[str], list[str], bool]:
    """Return the pass-through nodes after ``layer``, the weight layers reading them, and ok.

    ``ok``: every path ends in a weight layer through zero-preserving nodes.
    """
    region, consumers, ok = [], [], True
    stack = list(net.graph.successors(layer))
    while stack:
        v = stack.pop()
        op = net.graph.nodes[v]["op"]
        if op in WEIGHT_OPS:
            consumers.append(v)
            continue
        if op in MERGES or v in region:
            ok = ok and op not in MERGES
            continue
        if op == "activation" and net.graph.nodes[v]["function"] == "sigmoid":
            ok = False
        region.append(v)
        if net.graph.out_degree(v) == 0:
            ok = False
        stack.extend(net.graph.successors(v))
    if net.graph.out_degree(layer) == 0:
        ok = False
    return region, consumers, ok


def shrink(net: SparseNetwork) -> SparseNetwork:
    """Remove the pruned output channels of the convolutions and linear layers; return ``net``.

    A channel goes when its mask column is all false, its bias is 0, and
    every path from it reaches convolutions or linear layers through layers
    mapping 0 to 0 on it (dropout, pooling, activations other than sigmoid,
    batch norms with zero shift and running mean there).  Its parameters go
    from those layers, and its input rows from the layers reading it.
    Channels feeding an ``add``/``concat`` node or the output stay, and a
    layer keeps at least one channel.  The
    outputs are unchanged; the modules are rebuilt (make a new optimizer).
    """
    state = {k: t.clone() for k, t in net.state_dict().items()}
    G = net.graph.copy()
    for v in net.execution_order:
        op = G.nodes[v]["op"]
        if op not in WEIGHT_OPS:
            continue
        mask, bias = state[f"layers.{v}.channel_mask"], state.get(f"layers.{v}.bias")
        dead = ~mask.any(dim=0)
        if bias is not None:
            dead &= bias == 0
        region, consumers, ok = _region(net, v)
        if not ok or not bool(dead.any()):
            continue
        for r in region:
            if G.nodes[r]["op"] == "batch_norm":
                for name in ("bias", "running_mean"):
                    if f"layers.{r}.{name}" in state:
                        dead &= state[f"layers.{r}.{name}"] == 0
        keep = torch.nonzero(~dead).flatten()
        if keep.numel() in (0, dead.numel()):  # a layer keeps at least one channel
            continue
        out_axis = 0 if op == "linear" else 2
        _select(state, f"layers.{v}.weight", out_axis, keep)
        _select(state, f"layers.{v}.bias", 0, keep)
        _select(state, f"layers.{v}.channel_mask", 1, keep)
        for r in [v, *region]:
            G.nodes[r]["channels"] = keep.numel()
            if G.nodes[r]["op"] in ("batch_norm", "activation"):
                for name in ("weight", "bias", "running_mean", "running_var"):
                    key = f"layers.{r}.{name}"
                    if key in state and state[key].numel() == dead.numel() > 1:
                        _select(state, key, 0, keep)
        for c in consumers:
            _select(state, f"layers.{c}.weight", 1, keep)
            _select(state, f"layers.{c}.channel_mask", 0, keep)
    for u, _, attrs in G.edges(data=True):
        attrs["channels"] = G.nodes[u]["channels"]
    net.graph = G
    net._signatures = {}
    net.recompile()
    net.load_state_dict(state)
    return net


def _select(state: dict, key: str, axis: int, keep: torch.Tensor) -> None:
    if key in state:
        state[key] = state[key].index_select(axis, keep)
