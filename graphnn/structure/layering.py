"""Longest-path layering of a structure.

The layer of a node is ``0`` for a source and ``1 + max(layer(u))`` over its
predecessors ``u`` otherwise, i.e. the length of the longest path that ends
in it.  A node may carry an explicit ``layer`` attribute (a non-negative
int); it overrides the computed value, and every edge must still go to a
strictly higher layer.

Order inside a layer is the order of ``G.nodes`` (insertion order), so it is
deterministic and survives GraphML round trips.  Both functions run in
O(V + E) from one topological sweep (Kahn's algorithm).
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable

import networkx as nx

from graphnn._validation import cycle_error, fmt_edge, require_digraph
from graphnn.exceptions import StructureError

__all__ = ["layer_index", "layers", "LAYER"]

#: Name of the node attribute that fixes a node's layer explicitly.
LAYER = "layer"


def _explicit_layer(v: Hashable, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise StructureError(
            f"node {v!r} has {LAYER}={value!r}; an explicit layer must be a non-negative int",
            nodes=[v],
        )
    return int(value)


def layer_index(G: nx.DiGraph) -> dict[Hashable, int]:
    """Return the layer of every node, in the order of ``G.nodes``.

    Parameters
    ----------
    G : networkx.DiGraph
        A directed acyclic graph.  Nodes may carry an explicit ``layer``
        attribute, which overrides the longest-path layer.

    Returns
    -------
    dict
        ``{node: layer}``, iterating in the order of ``G.nodes``.

    Raises
    ------
    StructureError
        If ``G`` has a cycle or a self-loop (one is named), is undirected or a
        multigraph, an explicit ``layer`` is not a non-negative int, or an
        edge does not go to a strictly higher layer (the edge is named).
    TypeError
        If ``G`` is not a networkx graph.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "y")])
    >>> layer_index(G)
    {'x': 0, 'h': 1, 'y': 2}
    >>> G.nodes["y"]["layer"] = 5
    >>> layer_index(G)["y"]
    5

    Notes
    -----
    This is the layering the compiled models use: all nodes of layers
    ``< L`` precede layer ``L`` in the activation buffer.
    """
    require_digraph(G)
    succ = G.succ
    explicit = {v: _explicit_layer(v, lv) for v, lv in G.nodes(data=LAYER) if lv is not None}
    indegree = {v: len(p) for v, p in G.pred.items()}
    lowest = dict.fromkeys(G, 0)  # 1 + the highest layer among the predecessors seen so far
    stack = [v for v, d in indegree.items() if d == 0]
    index: dict[Hashable, int] = {}
    while stack:
        u = stack.pop()
        layer_u = lowest[u]
        if explicit and u in explicit:
            if explicit[u] < layer_u:
                raise _edge_error(G, u, explicit[u], index)
            layer_u = explicit[u]
        index[u] = layer_u
        above = layer_u + 1
        for w in succ[u]:
            if lowest[w] < above:
                lowest[w] = above
            d = indegree[w] - 1
            indegree[w] = d
            if not d:
                stack.append(w)
    if len(index) < len(indegree):
        raise cycle_error(G)
    return {v: index[v] for v in G}


def _edge_error(G: nx.DiGraph, v: Hashable, layer_v: int, index: dict) -> StructureError:
    u = max(G.pred[v], key=index.__getitem__)
    return StructureError(
        f"edge {fmt_edge(u, v)} goes from layer {index[u]} to layer {layer_v}; "
        f"edges must go to a strictly higher layer (node {v!r} has an explicit "
        f"{LAYER}={layer_v}, it must be at least {index[u] + 1})",
        nodes=[u, v],
        edges=[(u, v)],
    )


def layers(G: nx.DiGraph) -> list[list[Hashable]]:
    """Return the nodes grouped by layer.

    Parameters
    ----------
    G : networkx.DiGraph
        A directed acyclic graph (see :func:`layer_index`).

    Returns
    -------
    list of lists
        ``layers(G)[l]`` holds the nodes of layer ``l`` in the order of
        ``G.nodes``.  A layer may be empty only when explicit ``layer``
        attributes skip it.  An empty graph gives ``[]``.

    Raises
    ------
    StructureError
        As :func:`layer_index`.

    Examples
    --------
    >>> import networkx as nx
    >>> layers(nx.DiGraph([(0, 2), (1, 2), (2, 3), (0, 3)]))
    [[0, 1], [2], [3]]
    """
    index = layer_index(G)
    if not index:
        return []
    grouped: list[list[Hashable]] = [[] for _ in range(max(index.values()) + 1)]
    for v, layer_v in index.items():
        grouped[layer_v].append(v)
    return grouped
