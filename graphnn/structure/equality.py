"""Exact equality of structures: labels, order, attributes and their types.

``networkx.utils.graphs_equal`` compares with ``==``, under which ``1 ==
1.0 == True``, node order is ignored and numpy arrays cannot be compared at
all.  The round trips graphnn promises (GraphML, graph -> model -> graph) are
stricter, and these functions check exactly that.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

__all__ = ["graphs_equal", "assert_graphs_equal", "values_equal"]


def values_equal(a: object, b: object) -> bool:
    """Whether two attribute values are identical in type and value.

    Floats compare by value with NaN equal to NaN; numpy arrays and scalars
    by dtype, shape and elements; containers element by element.

    Examples
    --------
    >>> values_equal(1, 1.0)
    False
    >>> values_equal((1, [2.0, float("nan")]), (1, [2.0, float("nan")]))
    True
    >>> import numpy as np
    >>> values_equal(np.zeros(2, np.float32), np.zeros(2, np.float64))
    False
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray | np.generic):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, complex):
        return values_equal(a.real, b.real) and values_equal(a.imag, b.imag)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return _dicts_equal(a, b)
    if isinstance(a, set | frozenset):
        return len(a) == len(b) and all(any(values_equal(x, y) for y in b) for x in a)
    return bool(a == b)


def _dicts_equal(a: dict, b: dict) -> bool:
    if len(a) != len(b):
        return False
    keys_b = list(b)
    for i, (key, value) in enumerate(a.items()):
        match = keys_b[i] if values_equal(key, keys_b[i]) else _find_key(b, key)
        if match is _MISSING or not values_equal(value, b[match]):
            return False
    return True


_MISSING = object()


def _find_key(d: dict, key: object) -> object:
    return next((k for k in d if values_equal(k, key)), _MISSING)


def assert_graphs_equal(G: nx.Graph, H: nx.Graph, *, check_order: bool = True) -> None:
    """Raise ``AssertionError`` naming the first difference between two graphs.

    Parameters
    ----------
    G, H : networkx.Graph
        The graphs to compare.
    check_order : bool, default True
        Also require the same node order and the same edge order (the order
        of ``G.edges``).

    Raises
    ------
    AssertionError
        With a message naming the node, edge or attribute that differs.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([(0, 1)], name="net")
    >>> H = nx.DiGraph([(0, 1)], name="net")
    >>> assert_graphs_equal(G, H)
    >>> H.edges[0, 1]["weight"] = 1
    >>> assert_graphs_equal(G, H)
    Traceback (most recent call last):
    ...
    AssertionError: edge 0 -> 1: attributes differ: {} != {'weight': 1}
    """
    if G.is_directed() != H.is_directed() or G.is_multigraph() != H.is_multigraph():
        raise AssertionError(f"graph kinds differ: {type(G).__name__} != {type(H).__name__}")
    _assert_attrs("graph", G.graph, H.graph)
    nodes_g, nodes_h = list(G), list(H)
    if len(nodes_g) != len(nodes_h):
        raise AssertionError(f"node counts differ: {len(nodes_g)} != {len(nodes_h)}")
    if check_order:
        for a, b in zip(nodes_g, nodes_h, strict=True):
            if not values_equal(a, b):
                raise AssertionError(f"nodes differ: {a!r} != {b!r} (in node order)")
    else:
        missing = [v for v in nodes_g if v not in H or not values_equal(v, _key_in(H, v))]
        if missing:
            raise AssertionError(f"node {missing[0]!r} of the first graph is not in the second")
    for v in nodes_g:
        _assert_attrs(f"node {v!r}", G.nodes[v], H.nodes[v])
    edges_g, edges_h = list(G.edges), list(H.edges)
    if len(edges_g) != len(edges_h):
        raise AssertionError(f"edge counts differ: {len(edges_g)} != {len(edges_h)}")
    if check_order and edges_g != edges_h:
        a, b = next((a, b) for a, b in zip(edges_g, edges_h, strict=True) if a != b)
        raise AssertionError(f"edges differ: {a!r} != {b!r} (in edge order)")
    for u, v in edges_g:
        if not H.has_edge(u, v):
            raise AssertionError(f"edge {u!r} -> {v!r} of the first graph is not in the second")
        _assert_attrs(f"edge {u!r} -> {v!r}", G.edges[u, v], H.edges[u, v])


def _key_in(H: nx.Graph, v: object) -> object:
    """Return the node of ``H`` that equals ``v`` (maybe of another type: 1, 1.0)."""
    return next(w for w in H if w == v)


def _assert_attrs(where: str, a: dict, b: dict) -> None:
    if not _dicts_equal(a, b):
        raise AssertionError(f"{where}: attributes differ: {a!r} != {b!r}")


def graphs_equal(G: nx.Graph, H: nx.Graph, *, check_order: bool = True) -> bool:
    """Whether two graphs are identical (see :func:`assert_graphs_equal`).

    Examples
    --------
    >>> import networkx as nx
    >>> graphs_equal(nx.DiGraph([(0, 1)]), nx.DiGraph([(0.0, 1)]))
    False
    """
    try:
        assert_graphs_equal(G, H, check_order=check_order)
    except AssertionError:
        return False
    return True
