"""The graphnn exception hierarchy.

Every error a user's input can cause is a subclass of :class:`GraphnnError`,
and each of them is also a built-in ``ValueError`` so that code written for
plain Python catches them too (the same choice as ``networkx.NetworkXError``
is an ``Exception``, and ``json.JSONDecodeError`` is a ``ValueError``).

Examples
--------
>>> import networkx as nx
>>> from graphnn.structure import StructureError, validate
>>> try:
...     validate(nx.DiGraph([(0, 1), (1, 0)]))
... except StructureError as err:
...     print(err)
structure has a cycle: 0 -> 1 -> 0
>>> issubclass(StructureError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["GraphnnError", "StructureError", "GraphMLError"]


class GraphnnError(Exception):
    """Base class of every error raised by graphnn for bad user input."""


class StructureError(GraphnnError, ValueError):
    """A graph is not a valid graphnn structure.

    The message names the offending nodes or edges and says what would be
    accepted.  ``nodes`` and ``edges`` hold them for programmatic use.

    Parameters
    ----------
    message : str
        What is wrong, where, and what is accepted.
    nodes : sequence, optional
        The nodes at fault.
    edges : sequence of 2-tuples, optional
        The edges at fault.
    """

    def __init__(self, message: str, *, nodes=(), edges=()) -> None:
        super().__init__(message)
        self.nodes = list(nodes)
        self.edges = list(edges)


class GraphMLError(GraphnnError, ValueError):
    """A GraphML file cannot be read (or a graph cannot be written) exactly.

    Parameters
    ----------
    message : str
        What is wrong.
    source : str, optional
        The file name, when known.
    line : int, optional
        The 1-based line in the file, when known.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)
        self.source = source
        self.line = line
