"""Graph edits: remove edges, nodes or dead units, add skip connections, relabel.

Every edit returns a new graph by default (``copy=True``; like ``G.copy()``,
the attribute dicts are new and the attribute values shared).  With
``copy=False`` it edits ``G`` in place and returns it.  The nodes, edges and
attributes that stay keep their values and their order.  Arguments are
checked before anything changes, so a failed in-place edit leaves ``G`` as it
was, and nothing asked for is silently skipped: removing an edge or a node
that is not there is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping

import networkx as nx
import numpy as np

from graphnn._random import SeedLike, as_rng
from graphnn._validation import (
    check_int,
    check_probability,
    fmt_edge,
    fmt_nodes,
    require_digraph,
)
from graphnn.exceptions import StructureError
from graphnn.structure._sampling import bernoulli_pairs
from graphnn.structure.layering import layer_index
from graphnn.structure.roles import ROLE, dead_units, roles

__all__ = [
    "remove_edges",
    "remove_nodes",
    "remove_dead_units",
    "add_skip_connections",
    "relabel",
]


def remove_edges(
    G: nx.DiGraph, edges: Iterable[tuple[Hashable, Hashable]], *, copy: bool = True
) -> nx.DiGraph:
    """Remove edges from a structure.

    Parameters
    ----------
    G : networkx.DiGraph
        A structure.
    edges : iterable of (u, v) pairs
        The edges to remove; each must be in ``G`` (repeats are harmless).
    copy : bool, default True
        Return an edited copy; ``False`` edits ``G`` in place.

    Returns
    -------
    networkx.DiGraph
        The edited graph (``G`` itself when ``copy=False``).

    Raises
    ------
    StructureError
        Naming the first edge that is not in ``G``; nothing is removed then.
    TypeError
        If ``G`` is not a ``DiGraph`` or an edge is not a pair.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([(0, 1), (1, 2), (0, 2)])
    >>> list(remove_edges(G, [(0, 2)]).edges)
    [(0, 1), (1, 2)]
    >>> from graphnn.exceptions import StructureError
    >>> try:
    ...     remove_edges(G, [(2, 0)])
    ... except StructureError as err:
    ...     print(err)
    edge 2 -> 0 is not in the graph; nothing was removed
    """
    require_digraph(G)
    edges = _listed("edges", edges)
    for edge in edges:
        if not isinstance(edge, tuple | list) or len(edge) != 2:
            raise TypeError(f"each edge must be a pair (u, v), got {edge!r}")
        u, v = edge
        if not _has_edge(G, u, v):
            raise StructureError(
                f"edge {fmt_edge(u, v)} is not in the graph; nothing was removed",
                edges=[(u, v)],
            )
    H = G.copy() if copy else G
    H.remove_edges_from(edges)
    return H


def remove_nodes(G: nx.DiGraph, nodes: Iterable[Hashable], *, copy: bool = True) -> nx.DiGraph:
    """Remove nodes, and the edges at them, from a structure.

    Parameters
    ----------
    G : networkx.DiGraph
        A structure.
    nodes : iterable of nodes
        The nodes to remove; each must be in ``G`` (repeats are harmless).
    copy : bool, default True
        Return an edited copy; ``False`` edits ``G`` in place.

    Returns
    -------
    networkx.DiGraph
        The edited graph (``G`` itself when ``copy=False``).

    Raises
    ------
    StructureError
        Naming the nodes that are not in ``G``; nothing is removed then.
    TypeError
        If ``G`` is not a ``DiGraph`` or ``nodes`` is not an iterable.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "y")])
    >>> list(remove_nodes(G, ["h"]).edges)
    [('x', 'y')]
    """
    require_digraph(G)
    nodes = _listed("nodes", nodes)
    missing = [v for v in nodes if v not in G]
    if missing:
        raise StructureError(
            f"nodes {fmt_nodes(missing)} are not in the graph; nothing was removed",
            nodes=missing,
        )
    H = G.copy() if copy else G
    H.remove_nodes_from(nodes)
    return H


def remove_dead_units(G: nx.DiGraph, *, copy: bool = True) -> nx.DiGraph:
    """Remove the hidden units that lie on no path from an input to an output.

    Parameters
    ----------
    G : networkx.DiGraph
        A structure.
    copy : bool, default True
        Return an edited copy; ``False`` edits ``G`` in place.

    Returns
    -------
    networkx.DiGraph
        The graph without :func:`~graphnn.structure.roles.dead_units`.  It has
        no dead units, and every remaining node keeps its role.

    Raises
    ------
    StructureError
        If the roles of ``G`` are invalid (see
        :func:`~graphnn.structure.roles.roles`).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "d"), ("c", "y")])
    >>> G.nodes["d"]["role"] = G.nodes["c"]["role"] = "hidden"
    >>> list(remove_dead_units(G))
    ['x', 'h', 'y']

    Notes
    -----
    One pass suffices: every unit that is not dead lies on an input-to-output
    path whose nodes are all kept, so removing the dead ones makes no other
    unit dead.

    Removing nodes can change a *default* role: an output (a sink without a
    ``role`` attribute) whose predecessors were all dead becomes a source,
    which by default would make it an input.  Such a node is given the
    attribute ``role="output"`` so that the interface stays the same; it is
    the only attribute this function adds.

    A unit that cannot be reached from any input computes a constant, its
    bias passed through the activations, and the outputs downstream of it
    receive that constant.  Removing it at the structure level drops the
    constant; the pruning package folds it into the downstream biases when
    it edits a model.
    """
    before = roles(G)
    dead = dead_units(G)
    H = G.copy() if copy else G
    H.remove_nodes_from(dead)
    for v, role in roles(H).items():
        if role != before[v]:
            H.nodes[v][ROLE] = before[v]
    return H


def add_skip_connections(
    G: nx.DiGraph,
    from_layer: int,
    to_layer: int,
    density: float,
    *,
    seed: SeedLike = None,
    copy: bool = True,
) -> nx.DiGraph:
    """Add random edges from the nodes of one layer to those of a later one.

    Each pair (u, v) with ``u`` in layer ``from_layer`` and ``v`` in layer
    ``to_layer`` (see :func:`~graphnn.structure.layering.layer_index`) that
    is not already an edge becomes one independently with probability
    ``density``.

    Parameters
    ----------
    G : networkx.DiGraph
        A structure.
    from_layer, to_layer : int
        ``0 <= from_layer < to_layer <= `` the last layer of ``G``.
    density : float
        Probability of each new edge, in ``[0, 1]``.
    seed : None, int or numpy.random.Generator, optional
        ``None`` draws fresh entropy, an int gives a reproducible result, a
        ``Generator`` is used (and advanced).
    copy : bool, default True
        Return an edited copy; ``False`` edits ``G`` in place.

    Returns
    -------
    networkx.DiGraph
        The graph with the new edges (without attributes) after the existing
        ones.  Existing edges and the layer of every node are unchanged.

    Raises
    ------
    ValueError, TypeError
        If a layer or ``density`` is out of range or of the wrong type.
    StructureError
        If ``G`` is not a valid DAG for layering.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([(0, 1), (1, 2), (2, 3)])
    >>> list(add_skip_connections(G, 0, 2, density=1.0).edges)
    [(0, 1), (0, 2), (1, 2), (2, 3)]
    """
    index = layer_index(G)
    last = max(index.values(), default=0)
    if last < 1:
        raise StructureError(
            "the graph has no layer after layer 0; skip connections need at least two layers"
        )
    check_int("from_layer", from_layer, low=0, high=last - 1)
    check_int(
        "to_layer",
        to_layer,
        low=from_layer + 1,
        high=last,
        what=f"between from_layer + 1 = {from_layer + 1} and the last layer {last}",
    )
    check_probability("density", density)
    rng = as_rng(seed)
    tails = [v for v, layer in index.items() if layer == from_layer]
    heads = [v for v, layer in index.items() if layer == to_layer]
    zero = np.zeros(1, dtype=np.int64)
    rows, cols = bernoulli_pairs(
        rng, zero, np.array([len(tails)]), zero, np.array([len(heads)]), density
    )
    new = [(tails[r], heads[c]) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    succ = G.succ
    new = [(u, v) for u, v in new if v not in succ[u]]
    H = G.copy() if copy else G
    H.add_edges_from(new)
    return H


def relabel(
    G: nx.DiGraph,
    mapping: Mapping[Hashable, Hashable] | Callable[[Hashable], Hashable],
    *,
    copy: bool = True,
) -> nx.DiGraph:
    """Rename nodes, refusing to merge any two of them.

    Like :func:`networkx.relabel_nodes`, but two nodes never silently become
    one, and node order, edge order and attributes are kept.

    Parameters
    ----------
    G : networkx.DiGraph
        A structure.
    mapping : dict or callable
        ``{old: new}`` for some nodes of ``G`` (the others keep their labels),
        or a function of every node returning its new label.
    copy : bool, default True
        Return a relabelled copy; ``False`` relabels ``G`` in place.

    Returns
    -------
    networkx.DiGraph
        The relabelled graph (``G`` itself when ``copy=False``).

    Raises
    ------
    StructureError
        If a key of ``mapping`` is not a node of ``G`` (named), or two nodes
        would get the same label (both named, with the label).
    TypeError
        If ``mapping`` is neither a mapping nor callable, or a new label is
        not hashable.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([(0, 1), (1, 2)])
    >>> list(relabel(G, {0: 1, 1: 0}).edges)  # a swap is fine
    [(1, 0), (0, 2)]
    >>> from graphnn.exceptions import StructureError
    >>> try:
    ...     relabel(G, {0: 2})
    ... except StructureError as err:  # doctest: +ELLIPSIS
    ...     print(err)
    relabel maps nodes 0 and 2 both to 2 (2 is not in mapping, so it keeps its label); ...
    """
    require_digraph(G)
    new = _new_labels(G, mapping)
    H = G.__class__()
    H.graph.update(G.graph)
    H.add_nodes_from((new[v], data) for v, data in G.nodes(data=True))
    H.add_edges_from((new[u], new[v], data) for u, v, data in G.edges(data=True))
    if copy:
        return H
    G.clear()
    G.update(H)
    return G


def _new_labels(G: nx.DiGraph, mapping) -> dict:
    """Return ``{node: new label}`` for every node, checked to be injective."""
    if isinstance(mapping, Mapping):
        unknown = [v for v in mapping if v not in G]
        if unknown:
            raise StructureError(
                f"mapping has keys {fmt_nodes(unknown)} that are not nodes of the graph",
                nodes=unknown,
            )
        new = {v: mapping.get(v, v) for v in G}
    elif callable(mapping):
        new = {v: mapping(v) for v in G}
    else:
        raise TypeError(f"mapping must be a dict or a callable, got {type(mapping).__name__}")
    owner: dict = {}
    for v, label in new.items():
        try:
            earlier = owner.setdefault(label, v)
        except TypeError:
            raise TypeError(f"node {v!r} would get the unhashable label {label!r}") from None
        if earlier is not v:
            kept = [w for w in (earlier, v) if isinstance(mapping, Mapping) and w not in mapping]
            note = f" ({kept[0]!r} is not in mapping, so it keeps its label)" if kept else ""
            raise StructureError(
                f"relabel maps nodes {earlier!r} and {v!r} both to {label!r}{note}; "
                "labels must stay distinct",
                nodes=[earlier, v],
            )
    return new


def _listed(name: str, items: object) -> list:
    """``list(items)``, refusing a single string or a non-iterable."""
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise TypeError(
            f"{name} must be an iterable of {name}, got {type(items).__name__} {items!r}; "
            f"wrap a single one in a list"
        )
    return list(items)


def _has_edge(G: nx.DiGraph, u: object, v: object) -> bool:
    try:
        return v in G.succ[u]
    except (KeyError, TypeError):  # a missing or unhashable node
        return False
