"""The layer graph of a ``SparseNetwork``: its checks, execution order and spatial sizes.

A layer graph is a ``networkx.DiGraph`` whose nodes are the layers (string
names without ``.``), each with an ``op`` of :data:`~graphnn.sparse3d.network.nodes.OPS`
and its hyper-parameters, and whose edges carry the ``channels`` of the
tensor between two layers (and a ``port``: the input order of a merge).
:func:`check_layer_graph` says whether a graph is one, naming the node at
fault, and returns what running it needs; :func:`input_size` computes the
input grid a network needs, backwards as SparseConvNet does; :func:`merge`
runs an ``add`` / ``concat`` node.

Examples
--------
>>> import networkx as nx
>>> G = nx.DiGraph()
>>> G.add_node("input", op="input", channels=1)
>>> G.add_node("L0", op="conv", channels=4, kernel_size=2, stride=2, min_active_inputs=1)
>>> G.add_edge("input", "L0", channels=1, port=0)
>>> plan = check_layer_graph(G)
>>> plan.order, plan.sink, plan.in_channels
(['input', 'L0'], 'L0', {'input': 1, 'L0': 1})
>>> input_size(G, plan, 3)
6
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

import networkx as nx
import torch

from graphnn.exceptions import NetworkGraphError
from graphnn.sparse3d.network.nodes import MERGES, OPS, PARAMS, POOLS, WEIGHT_OPS
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = ["LayerPlan", "check_layer_graph", "input_size", "merge"]


class LayerPlan(NamedTuple):
    """What running a valid layer graph needs (from :func:`check_layer_graph`).

    Attributes
    ----------
    order : list of str
        The nodes in execution order (a topological order, ties in the
        graph's node order), ``"input"`` first.
    inputs : dict
        Each node's input nodes, by ``port``.
    sink : str
        The output node.
    in_channels : dict
        Each node's input channels (the first input's for a merge).
    """

    order: list[str]
    inputs: dict[str, list[str]]
    sink: str
    in_channels: dict[str, int]


def _check_nodes(G: nx.DiGraph) -> None:
    """Raise naming the first node with a bad name, an unknown op or a missing attribute."""
    for v, attrs in G.nodes(data=True):
        if not isinstance(v, str) or not v or "." in v:
            raise NetworkGraphError(
                f"layer node names must be non-empty strings without '.', got {v!r}", nodes=[v]
            )
        op = attrs.get("op")
        if op not in OPS:
            raise NetworkGraphError(
                f"node {v!r} has op {op!r}; use one of {', '.join(OPS)}", nodes=[v]
            )
        for p in ("channels", *PARAMS.get(op, ())):
            if p not in attrs:
                raise NetworkGraphError(f"node {v!r} ({op}) has no {p!r} attribute", nodes=[v])


def _check_shape(G: nx.DiGraph) -> str:
    """Raise unless ``G`` is acyclic with one input node ``"input"`` and one sink; return it."""
    if not nx.is_directed_acyclic_graph(G):
        cycle = nx.find_cycle(G)
        raise NetworkGraphError(
            f"the layer graph has a cycle: {cycle}", nodes=[u for u, _ in cycle], edges=cycle
        )
    inputs = [v for v in G if G.nodes[v]["op"] == "input"]
    if inputs != ["input"]:
        raise NetworkGraphError(
            f"the layer graph needs exactly one input node 'input', got {inputs}", nodes=inputs
        )
    sinks = [v for v in G if G.out_degree(v) == 0]
    if len(sinks) != 1:
        raise NetworkGraphError(
            f"the layer graph needs exactly one output node, got {sinks}", nodes=sinks
        )
    return sinks[0]


def _expected_channels(G: nx.DiGraph, v: str, ins: list[str]) -> int:
    """Return the channels node ``v`` must have for its inputs ``ins``, or raise."""
    op, c = G.nodes[v]["op"], G.nodes[v]["channels"]
    counts = [G.nodes[u]["channels"] for u in ins]
    if op == "input":
        if ins:
            raise NetworkGraphError(f"the input node has inputs {ins}", nodes=[v])
        return c
    if op in MERGES:
        if len(ins) < 2:
            raise NetworkGraphError(
                f"node {v!r} ({op}) needs at least two inputs, got {ins}", nodes=[v]
            )
        if op == "add" and len(set(counts)) > 1:
            raise NetworkGraphError(
                f"node {v!r} (add) has inputs {ins} with channels {counts}", nodes=[v, *ins]
            )
        return counts[0] if op == "add" else sum(counts)
    if len(ins) != 1:
        raise NetworkGraphError(f"node {v!r} ({op}) needs exactly one input, got {ins}", nodes=[v])
    return c if op in WEIGHT_OPS else counts[0]


def check_layer_graph(G: nx.DiGraph) -> LayerPlan:
    """Check that ``G`` is a valid layer graph; return its :class:`LayerPlan`.

    Raises
    ------
    NetworkGraphError
        Naming the first node at fault: a bad name or op, a missing
        attribute, a cycle, not exactly one ``input`` and one output node, a
        node with the wrong number of inputs or a channel count its inputs do
        not give.
    """
    _check_nodes(G)
    sink = _check_shape(G)
    position = {v: i for i, v in enumerate(G)}
    order = list(nx.lexicographical_topological_sort(G, key=position.__getitem__))
    inputs, c_in = {}, {}
    for v in order:
        ins = sorted(G.predecessors(v), key=lambda u, v=v: G.edges[u, v].get("port", 0))
        inputs[v] = ins
        expected = _expected_channels(G, v, ins)
        c = G.nodes[v]["channels"]
        if c != expected:
            raise NetworkGraphError(
                f"node {v!r} ({G.nodes[v]['op']}) has channels={c}, its inputs give {expected}",
                nodes=[v],
            )
        c_in[v] = G.nodes[ins[0]]["channels"] if ins else c
    return LayerPlan(order, inputs, sink, c_in)


def input_size(G: nx.DiGraph, plan: LayerPlan, out: int) -> int:
    """Return the input grid size per axis that gives ``out`` positions at the output node.

    Backwards through the layers as SparseConvNet: a valid convolution of
    size ``f`` and stride ``s`` needs ``f + (out - 1) s`` positions, a
    pooling ``p + (out - 1) s``, the other layers keep the size.

    Raises
    ------
    NetworkGraphError
        If the branches of a merge node need different sizes (named).
    """
    need: dict[Hashable, int] = {plan.sink: out}
    for v in reversed(plan.order):
        attrs = G.nodes[v]
        n = need[v]
        if attrs["op"] == "conv" or attrs["op"] in POOLS:
            n = attrs["kernel_size"] + (n - 1) * attrs["stride"]
        for u in plan.inputs[v]:
            if need.setdefault(u, n) != n:
                raise NetworkGraphError(
                    f"node {u!r} feeds layers that need input sizes {need[u]} and {n} (check "
                    f"the branches merging at or after {v!r})",
                    nodes=[u, v],
                )
    return need["input"]


def merge(v: str, op: str, names: list[str], ins: list) -> SparseVoxelTensor:
    """Run the merge node ``v``: the sum (``add``) or concatenation (``concat``) of its inputs.

    Raises
    ------
    ValueError
        If the inputs are not on the same sites (their sites are named).
    """
    first = ins[0]
    for name, t in zip(names[1:], ins[1:], strict=True):
        same = t.coords is first.coords or (
            t.coords.shape == first.coords.shape and bool(torch.equal(t.coords, first.coords))
        )
        if not same or t.spatial_shape != first.spatial_shape:
            raise ValueError(
                f"node {v!r} ({op}) needs inputs on the same sites: {names[0]!r} has "
                f"{first.num_sites} sites on {first.spatial_shape}, {name!r} has {t.num_sites} "
                f"on {t.spatial_shape}"
            )
    if op == "add":
        return first.replace_features(torch.stack([t.features for t in ins]).sum(0))
    return first.replace_features(torch.cat([t.features for t in ins], dim=1))
