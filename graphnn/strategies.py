"""Hypothesis strategies for graphnn structures (public API).

Research scripts state a property and let hypothesis look for a
counterexample over many random structures; the project's own tests use the
same strategies.  All three shrink on purpose towards small graphs, and
:func:`dags` towards a *path*: a failing example is reported as the
shortest chain of nodes that still fails, not as a pile of isolated nodes.

Examples
--------
>>> from hypothesis import given, settings
>>> import graphnn
>>> from graphnn.strategies import dags
>>> @settings(max_examples=20)
... @given(dags(max_nodes=8))
... def inputs_are_layer_zero(G):
...     index = graphnn.layer_index(G)
...     assert all(index[v] == 0 for v in graphnn.inputs(G))
>>> inputs_are_layer_zero()
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import networkx as nx

try:
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "graphnn.strategies needs hypothesis; install it with `pip install graphnn[test]`"
    ) from err

from graphnn._validation import check_int
from graphnn.structure.roles import INPUT, OUTPUT, ROLE, roles
from graphnn.structure.validation import ACTIVATION, BIAS, WEIGHT

__all__ = ["dags", "layered_dags", "structures"]


def _check_range(name_lo: str, lo: int, name_hi: str, hi: int | None, least: int) -> None:
    check_int(name_lo, lo, low=least)
    if hi is not None:
        check_int(name_hi, hi, low=lo, what=f"at least {name_lo} = {lo}")


def _labelled(
    draw: st.DrawFn,
    n: int,
    edges: list[tuple[int, int]],
    labels: st.SearchStrategy[Hashable] | None,
    shuffle: bool,
) -> nx.DiGraph:
    """Build the DiGraph on nodes ``0..n-1`` (maybe relabelled and reordered)."""
    names: list[Hashable] = list(range(n))
    if labels is not None:
        names = draw(st.lists(labels, min_size=n, max_size=n, unique=True))
    order = draw(st.permutations(range(n))) if shuffle else range(n)
    G = nx.DiGraph()
    G.add_nodes_from(names[i] for i in order)
    G.add_edges_from((names[u], names[v]) for u, v in edges)
    return G


def dags(
    min_nodes: int = 1,
    max_nodes: int = 10,
    *,
    max_in_degree: int | None = None,
    labels: st.SearchStrategy[Hashable] | None = None,
    shuffle: bool = False,
) -> st.SearchStrategy[nx.DiGraph]:
    """Strategy for directed acyclic graphs.

    The nodes are drawn in a hidden topological order; each node after the
    first is, with some probability, a source, else it gets a first
    predecessor and a set of further ones among the earlier nodes.  Sources
    shrink away, the first predecessor shrinks to the previous node and the
    further ones to none, so examples shrink towards a path.

    Parameters
    ----------
    min_nodes, max_nodes : int, default 1 and 10
        Bounds on the number of nodes (``1 <= min_nodes <= max_nodes``).
    max_in_degree : int, optional
        Bound on each node's number of predecessors (at least 1).
    labels : SearchStrategy, optional
        Strategy for the node labels (drawn unique); default ``0..n-1`` in
        topological order.
    shuffle : bool, default False
        Insert the nodes in a drawn order, so that ``G.nodes`` is generally
        not a topological order.

    Returns
    -------
    SearchStrategy of networkx.DiGraph

    Raises
    ------
    ValueError, TypeError
        At once, for invalid bounds.

    Examples
    --------
    >>> from hypothesis import find
    >>> G = find(dags(min_nodes=4), lambda G: G.number_of_edges() >= 3)
    >>> list(G.edges)  # the minimal example is a path
    [(0, 1), (1, 2), (2, 3)]
    """
    _check_range("min_nodes", min_nodes, "max_nodes", max_nodes, 1)
    if max_in_degree is not None:
        _check_range("max_in_degree", max_in_degree, "max_in_degree", None, 1)

    @st.composite
    def draw_dag(draw: st.DrawFn) -> nx.DiGraph:
        n = draw(st.integers(min_nodes, max_nodes))
        edges = []
        for v in range(1, n):
            if draw(st.integers(0, 3)) == 3:  # about one node in four is a source
                continue
            first = v - draw(st.integers(1, v))
            limit = v - 1 if max_in_degree is None else min(v - 1, max_in_degree - 1)
            more = draw(st.sets(st.integers(0, v - 1), max_size=limit)) - {first}
            edges += [(u, v) for u in sorted({first} | more)]
        return _labelled(draw, n, edges, labels, shuffle)

    return draw_dag()


def layered_dags(
    min_layers: int = 2,
    max_layers: int = 4,
    min_width: int = 1,
    max_width: int = 4,
    *,
    skip: bool = True,
    labels: st.SearchStrategy[Hashable] | None = None,
    shuffle: bool = False,
) -> st.SearchStrategy[nx.DiGraph]:
    """Strategy for layered structures, with or without skip-layer edges.

    Widths are drawn per layer; every node of a layer ``l >= 1`` has at least
    one predecessor in layer ``l - 1`` and every node of a layer before the
    last has at least one successor in the next layer, so the longest-path
    layering gives back exactly the drawn widths, the inputs are layer 0,
    the outputs are the last layer and there are no dead units.  Skip edges
    come from any earlier layer.  Shrinks towards fewer, narrower layers and
    no extra or skip edges.

    Parameters
    ----------
    min_layers, max_layers : int, default 2 and 4
        Bounds on the number of layers (at least 2).
    min_width, max_width : int, default 1 and 4
        Bounds on each layer's width (at least 1).
    skip : bool, default True
        Whether skip-layer edges may be drawn.
    labels : SearchStrategy, optional
        Strategy for the node labels (drawn unique); default ``0..n-1``
        numbered layer by layer.
    shuffle : bool, default False
        Insert the nodes in a drawn order.

    Returns
    -------
    SearchStrategy of networkx.DiGraph

    Examples
    --------
    >>> from hypothesis import find
    >>> import graphnn
    >>> G = find(layered_dags(min_layers=3), lambda G: True)
    >>> graphnn.layers(G)
    [[0], [1], [2]]
    """
    _check_range("min_layers", min_layers, "max_layers", max_layers, 2)
    _check_range("min_width", min_width, "max_width", max_width, 1)

    @st.composite
    def draw_layered(draw: st.DrawFn) -> nx.DiGraph:
        n_layers = draw(st.integers(min_layers, max_layers))
        widths = draw(
            st.lists(st.integers(min_width, max_width), min_size=n_layers, max_size=n_layers)
        )
        starts = [sum(widths[:i]) for i in range(n_layers + 1)]
        edges: set[tuple[int, int]] = set()
        for layer in range(1, n_layers):
            below = range(starts[layer - 1], starts[layer])
            for v in range(starts[layer], starts[layer + 1]):
                edges.add((below[draw(st.integers(0, len(below) - 1))], v))
                for i in draw(st.sets(st.integers(0, len(below) - 1), max_size=len(below))):
                    edges.add((below[i], v))
                if skip and layer >= 2:
                    for u in draw(st.sets(st.integers(0, starts[layer - 1] - 1), max_size=3)):
                        edges.add((u, v))
        has_successor = {u for u, _ in edges}
        for layer in range(n_layers - 1):
            above = range(starts[layer + 1], starts[layer + 2])
            for u in range(starts[layer], starts[layer + 1]):
                if u not in has_successor:
                    edges.add((u, above[draw(st.integers(0, len(above) - 1))]))
        return _labelled(draw, starts[-1], sorted(edges), labels, shuffle)

    return draw_layered()


def _has_interface(G: nx.DiGraph) -> bool:
    found = set(roles(G).values())
    return INPUT in found and OUTPUT in found


def structures(
    graphs: st.SearchStrategy[nx.DiGraph] | None = None,
    *,
    weights: bool = True,
    biases: bool = True,
    activations: Sequence[str] | None = None,
    explicit_roles: bool = False,
    scale: float = 1.0,
) -> st.SearchStrategy[nx.DiGraph]:
    """Strategy for structures with parameters: weights, biases, activations, roles.

    Only graphs with at least one input and one output are kept (an
    edgeless graph has no output).  Values are drawn as Python floats that
    float32 represents exactly, in
    ``[-scale, scale]``, so that a compiled float32 model holds them without
    rounding; they shrink towards 0.

    Parameters
    ----------
    graphs : SearchStrategy of networkx.DiGraph, optional
        Where the graphs come from; default ``dags(min_nodes=2)``.
    weights : bool, default True
        Draw a ``weight`` for every edge.
    biases : bool, default True
        Draw a ``bias`` for every node that is not an input.
    activations : sequence of str, optional
        If given, draw an ``activation`` among them for every non-input node.
    explicit_roles : bool, default False
        Write every node's role as a ``role`` attribute (so that later edits
        cannot change it).
    scale : float, default 1.0
        Bound on the absolute value of weights and biases.

    Returns
    -------
    SearchStrategy of networkx.DiGraph

    Examples
    --------
    >>> from hypothesis import find
    >>> G = find(structures(dags(min_nodes=2)), lambda G: G.number_of_edges() > 0)
    >>> G.edges[0, 1], G.nodes[1]
    ({'weight': 0.0}, {'bias': 0.0})
    """
    if graphs is None:
        graphs = dags(min_nodes=2)
    if activations is not None and (isinstance(activations, str) or not activations):
        raise ValueError(f"activations must be a non-empty sequence of names, got {activations!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    values = st.floats(-scale, scale, allow_nan=False, allow_infinity=False, width=32)
    valid_graphs = graphs.filter(_has_interface)

    @st.composite
    def draw_structure(draw: st.DrawFn) -> nx.DiGraph:
        G = draw(valid_graphs)
        role = roles(G)
        for u, v in G.edges if weights else ():
            G.edges[u, v][WEIGHT] = draw(values)
        for v, r in role.items():
            data = G.nodes[v]
            if explicit_roles:
                data[ROLE] = r
            if r == INPUT:
                continue
            if biases:
                data[BIAS] = draw(values)
            if activations is not None:
                data[ACTIVATION] = draw(st.sampled_from(list(activations)))
        return G

    return draw_structure()
