"""Input, hidden and output roles of a structure's nodes.

A node's role is its ``role`` attribute when it has one (``"input"``,
``"hidden"`` or ``"output"``); otherwise sources are inputs, sinks are
outputs and every other node is hidden.  An isolated node is a source, so
it is an input.

Inputs and outputs are listed in the order of ``G.nodes``; that order is the
column order of a compiled model's input and output tensors.
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx

from graphnn._validation import fmt_nodes, require_digraph
from graphnn.exceptions import StructureError

__all__ = [
    "ROLE",
    "INPUT",
    "HIDDEN",
    "OUTPUT",
    "ROLES",
    "roles",
    "inputs",
    "outputs",
    "dead_units",
]

#: Name of the node attribute that declares a node's role.
ROLE = "role"
INPUT = "input"
HIDDEN = "hidden"
OUTPUT = "output"
#: The accepted values of the ``role`` attribute.
ROLES = (INPUT, HIDDEN, OUTPUT)


def roles(G: nx.DiGraph) -> dict[Hashable, str]:
    """Return the role of every node, in the order of ``G.nodes``.

    Parameters
    ----------
    G : networkx.DiGraph
        A structure.

    Returns
    -------
    dict
        ``{node: "input" | "hidden" | "output"}``.

    Raises
    ------
    StructureError
        If a ``role`` attribute is not one of ``"input"``, ``"hidden"``,
        ``"output"``, or a node declared an input has incoming edges.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("a", "b"), ("b", "c")])
    >>> roles(G)
    {'a': 'input', 'b': 'hidden', 'c': 'output'}
    >>> G.nodes["b"]["role"] = "output"  # an output that also feeds c
    >>> roles(G)["b"]
    'output'
    """
    require_digraph(G)
    pred, succ = G.pred, G.succ
    result = {}
    for v, declared in G.nodes(data=ROLE):
        if declared is None:
            result[v] = INPUT if not pred[v] else OUTPUT if not succ[v] else HIDDEN
        elif declared in ROLES:
            result[v] = declared
        else:
            raise StructureError(
                f"node {v!r} has {ROLE}={declared!r}; accepted roles are {', '.join(ROLES)}",
                nodes=[v],
            )
    bad = [v for v, r in result.items() if r == INPUT and pred[v]]
    if bad:
        edges = [(u, v) for v in bad for u in pred[v]]
        raise StructureError(
            f"input nodes {fmt_nodes(bad)} have incoming edges (e.g. {edges[0][0]!r} -> "
            f"{edges[0][1]!r}); inputs must be sources: remove the edges or declare the "
            f"nodes hidden",
            nodes=bad,
            edges=edges,
        )
    return result


def inputs(G: nx.DiGraph) -> list[Hashable]:
    """Return the input nodes in the order of ``G.nodes``.

    Examples
    --------
    >>> import networkx as nx
    >>> inputs(nx.DiGraph([(2, 0), (1, 0), (3, 3 + 1)]))
    [2, 1, 3]
    """
    return [v for v, r in roles(G).items() if r == INPUT]


def outputs(G: nx.DiGraph) -> list[Hashable]:
    """Return the output nodes in the order of ``G.nodes``.

    Examples
    --------
    >>> import networkx as nx
    >>> outputs(nx.DiGraph([(0, "y2"), (0, "y1")]))
    ['y2', 'y1']
    """
    return [v for v, r in roles(G).items() if r == OUTPUT]


def dead_units(G: nx.DiGraph) -> list[Hashable]:
    """Return the hidden nodes that lie on no path from an input to an output.

    Such a unit either cannot be reached from any input (it computes a
    constant) or cannot reach any output (nothing uses it).  Inputs and
    outputs are never dead: they are the model's interface.

    Parameters
    ----------
    G : networkx.DiGraph
        A structure.

    Returns
    -------
    list
        The dead hidden nodes, in the order of ``G.nodes``.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "d")])
    >>> G.nodes["d"]["role"] = "hidden"  # d lost its outgoing edges
    >>> dead_units(G)
    ['d']
    """
    role = roles(G)
    forward = _reachable(G.succ, [v for v, r in role.items() if r == INPUT])
    backward = _reachable(G.pred, [v for v, r in role.items() if r == OUTPUT])
    return [v for v, r in role.items() if r == HIDDEN and not (v in forward and v in backward)]


def _reachable(adjacency, start: list) -> set:
    seen = set(start)
    stack = list(start)
    while stack:
        for w in adjacency[stack.pop()]:
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return seen
