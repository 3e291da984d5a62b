"""Check that a graph is a valid graphnn structure, and say where it is not."""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np

from graphnn._validation import fmt_edge, fmt_nodes, require_digraph, require_no_self_loops
from graphnn.exceptions import StructureError
from graphnn.structure.layering import layer_index
from graphnn.structure.roles import INPUT, OUTPUT, dead_units, roles

__all__ = ["validate", "validated", "WEIGHT", "BIAS", "ACTIVATION"]

#: Edge attribute holding a connection's weight (a number, or an array for a conv kernel).
WEIGHT = "weight"
#: Node attribute holding a unit's bias (a number or an array).
BIAS = "bias"
#: Node attribute naming a unit's activation function (a str; the names are the model's).
ACTIVATION = "activation"


def validate(G: nx.DiGraph, *, allow_dead_units: bool = True) -> None:
    """Raise a :class:`StructureError` unless ``G`` is a valid structure.

    A valid structure is a non-empty ``networkx.DiGraph`` without cycles or
    self-loops, whose inputs have no incoming edges and lie in layer 0, with
    at least one input and one output, valid ``role`` and ``layer``
    attributes, finite real ``weight`` (edge) and ``bias`` (node)
    attributes and str ``activation`` (node) attributes where present.

    Parameters
    ----------
    G : networkx.DiGraph
        The graph to check.
    allow_dead_units : bool, default True
        Whether hidden nodes on no input-to-output path are accepted.  They
        arise naturally from pruning; pass ``False`` to reject them.

    Raises
    ------
    StructureError
        Naming the offending nodes or edges.
    TypeError
        If ``G`` is not a networkx graph.

    Examples
    --------
    >>> import networkx as nx
    >>> validate(nx.DiGraph([(0, 1), (1, 2)]))
    >>> from graphnn.structure import StructureError
    >>> G = nx.DiGraph([(0, 1)])
    >>> G.edges[0, 1]["weight"] = float("nan")
    >>> try:
    ...     validate(G)
    ... except StructureError as err:
    ...     print(err)
    edge 0 -> 1 has weight=nan; weights must be finite real numbers (or arrays of them)
    """
    validated(G, allow_dead_units=allow_dead_units)


def validated(
    G: nx.DiGraph, *, allow_dead_units: bool = True
) -> tuple[dict[Hashable, int], dict[Hashable, str]]:
    """Validate ``G`` like :func:`validate` and return what that computed on the way.

    Returns
    -------
    tuple of dict
        ``(layer_index(G), roles(G))``, each in the order of ``G.nodes``.

    Raises
    ------
    StructureError
        As :func:`validate`.

    Examples
    --------
    >>> import networkx as nx
    >>> validated(nx.DiGraph([("x", "y")]))
    ({'x': 0, 'y': 1}, {'x': 'input', 'y': 'output'})
    """
    require_digraph(G)
    if G.number_of_nodes() == 0:
        raise StructureError("structure is empty; it needs at least one input and one output")
    require_no_self_loops(G, "a structure must be acyclic")
    index = layer_index(G)
    role = roles(G)
    _check_interface(role, index)
    _check_finite(G)
    if not allow_dead_units:
        dead = dead_units(G)
        if dead:
            raise StructureError(
                f"hidden nodes {fmt_nodes(dead)} lie on no path from an input to an "
                "output; remove them with graphnn.structure.remove_dead_units",
                nodes=dead,
            )
    return index, role


def _check_interface(role: dict[Hashable, str], index: dict[Hashable, int]) -> None:
    for wanted in (INPUT, OUTPUT):
        if wanted not in role.values():
            raise StructureError(
                f"structure has no {wanted} node; by default sources are inputs and sinks "
                f"are outputs, unless 'role' attributes say otherwise"
            )
    late = [v for v, r in role.items() if r == INPUT and index[v] != 0]
    if late:
        raise StructureError(
            f"input nodes {fmt_nodes(late)} have an explicit layer other than 0 "
            f"(e.g. layer {index[late[0]]}); inputs are layer 0",
            nodes=late,
        )


def _check_finite(G: nx.DiGraph) -> None:
    for u, v, w in G.edges(data=WEIGHT):
        if w is not None and not _is_finite(w):
            raise StructureError(
                f"edge {fmt_edge(u, v)} has {WEIGHT}={w!r}; weights must be finite real "
                "numbers (or arrays of them)",
                nodes=[u, v],
                edges=[(u, v)],
            )
    for v, b in G.nodes(data=BIAS):
        if b is not None and not _is_finite(b):
            raise StructureError(
                f"node {v!r} has {BIAS}={b!r}; biases must be finite real numbers "
                "(or arrays of them)",
                nodes=[v],
            )
    for v, a in G.nodes(data=ACTIVATION):
        if a is not None and not isinstance(a, str):
            raise StructureError(
                f"node {v!r} has {ACTIVATION}={a!r}; an activation is given by its name (a str)",
                nodes=[v],
            )


def _is_finite(value: object) -> bool:
    if type(value) is float:  # the common case, without numpy's overhead
        return value - value == 0.0
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - anything numpy cannot read is not a number
        return False
    if array.dtype.kind not in "biuf":
        return False
    return bool(np.isfinite(array).all())
