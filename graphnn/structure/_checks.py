"""Checks and message helpers shared by the structure modules."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import networkx as nx

from graphnn.structure.exceptions import StructureError

__all__ = [
    "require_digraph",
    "fmt_nodes",
    "fmt_edge",
    "cycle_error",
    "require_no_self_loops",
    "check_int",
    "check_probability",
]


def require_digraph(G: object) -> None:
    """Raise unless ``G`` is a plain ``networkx.DiGraph`` (or a subclass).

    Raises
    ------
    TypeError
        If ``G`` is not a networkx graph at all.
    StructureError
        If ``G`` is a multigraph or undirected.
    """
    if not isinstance(G, nx.Graph):
        raise TypeError(f"expected a networkx.DiGraph, got {type(G).__name__}")
    if G.is_multigraph():
        raise StructureError(
            f"a structure must be a networkx.DiGraph, got a {type(G).__name__}: parallel "
            "edges cannot be one connection; merge them and convert with networkx.DiGraph(G)"
        )
    if not G.is_directed():
        raise StructureError(
            f"a structure must be a networkx.DiGraph, got an undirected {type(G).__name__}; "
            "orient it first, e.g. with graphnn.generators.orient(G)"
        )


def fmt_nodes(nodes: Iterable, limit: int = 5) -> str:
    """``[0, 'a', (1, 2)]`` style list of at most ``limit`` nodes, then a count."""
    nodes = list(nodes)
    shown = ", ".join(repr(v) for v in nodes[:limit])
    if len(nodes) > limit:
        shown += f", ... ({len(nodes) - limit} more)"
    return f"[{shown}]"


def fmt_edge(u: object, v: object) -> str:
    """``0 -> 'a'`` style edge."""
    return f"{u!r} -> {v!r}"


def require_no_self_loops(G: nx.Graph, what: str) -> None:
    """Raise a :class:`StructureError` naming the self-loops of ``G``, if it has any.

    ``what`` ends the message: why a self-loop is not accepted here.
    """
    loops = list(nx.nodes_with_selfloops(G))
    if loops:
        raise StructureError(
            f"{'graph' if not G.is_directed() else 'structure'} has self-loops at "
            f"{fmt_nodes(loops)}; {what}",
            nodes=loops,
            edges=[(v, v) for v in loops],
        )


def cycle_error(G: nx.DiGraph) -> StructureError:
    """Return a :class:`StructureError` naming one cycle (or self-loop) of ``G``."""
    cycle = nx.find_cycle(G)
    if len(cycle) == 1:
        v = cycle[0][0]
        return StructureError(
            f"structure has a self-loop at node {v!r}; a structure must be acyclic",
            nodes=[v],
            edges=cycle,
        )
    path = " -> ".join(repr(u) for u, _ in cycle) + f" -> {cycle[0][0]!r}"
    return StructureError(
        f"structure has a cycle: {path}", nodes=[u for u, _ in cycle], edges=cycle
    )


def check_int(name: str, value: object, *, low: int, high: int | None = None, what=None) -> None:
    """Raise unless ``value`` is an int (not a bool) with ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        accepted = what or (f"at least {low}" if high is None else f"between {low} and {high}")
        raise ValueError(f"{name} must be {accepted}, got {value!r}")


def check_probability(name: str, value: object) -> None:
    """Raise unless ``value`` is a real number in ``[0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a probability (a float), got {type(value).__name__}")
    if not 0 <= value <= 1:  # also rejects NaN
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
