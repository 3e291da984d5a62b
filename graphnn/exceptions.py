r"""The graphnn exception hierarchy: every error a user's input can cause, in one place.

Every error graphnn raises for bad input or a bad file is a subclass of
:class:`GraphnnError`.  Those about values (a graph, a file, a sample) are
also built-in ``ValueError``\\ s, so code written for plain Python catches
them too (the choice of ``json.JSONDecodeError``); a native kernel that
cannot be built is a ``RuntimeError`` (the environment, not the input, is at
fault).  Plain argument checks (a negative size, a wrong type) raise plain
``ValueError`` / ``TypeError``.

======================  ==================  =============================================
error                   bases               raised for
======================  ==================  =============================================
``StructureError``      ValueError          a graph that is no valid structure (nodes and
                                            edges named in ``.nodes`` / ``.edges``)
``NetworkGraphError``   StructureError      a ``SparseNetwork`` layer or channel graph
                                            that is no valid network (the node named)
``GraphMLError``        ValueError          a GraphML file that cannot be read or written
                                            exactly (file and line)
``OFFError``            ValueError          an OFF mesh file that cannot be read
``MeshError``           ValueError          arrays that do not form a mesh (the row)
``SparseDataError``     ValueError          sparse voxel data whose sites and features do
                                            not fit (the row, the sample)
``DatasetError``        ValueError          a data set or data folder that cannot be used
``NativeBuildError``    RuntimeError        a native CPU kernel that cannot be built or
                                            loaded (the compiler's messages)
``CommandError``        --                  a ``graphnn`` command that cannot go on
======================  ==================  =============================================

Every one of them is also a :class:`GraphnnError`.

Examples
--------
>>> import networkx as nx
>>> import graphnn
>>> try:
...     graphnn.validate(nx.DiGraph([(0, 1), (1, 0)]))
... except graphnn.StructureError as err:
...     print(err)
structure has a cycle: 0 -> 1 -> 0
>>> issubclass(StructureError, ValueError), issubclass(NetworkGraphError, StructureError)
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "CommandError",
    "DatasetError",
    "GraphMLError",
    "GraphnnError",
    "MeshError",
    "NativeBuildError",
    "NetworkGraphError",
    "OFFError",
    "SparseDataError",
    "StructureError",
]


def _where(source: str | None, line: int | None) -> str:
    """``"file:line: "``, ``"file: "``, ``"line N: "`` or ``""``: the place an error names."""
    if source is not None:
        return f"{source}:{line}: " if line is not None else f"{source}: "
    return f"line {line}: " if line is not None else ""


def _rebuild(cls: type, args: tuple, attributes: dict) -> BaseException:
    """Unpickle an error as it was: its message as given, its attributes as they were."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(attributes)
    return error


class GraphnnError(Exception):
    """Base class of every error raised by graphnn for bad user input, files or set-up.

    Errors pickle as they are (the message, ``nodes``, ``path``, ``line``, ...),
    so one raised in a data-loading worker process reaches the main process whole.
    """

    def __reduce__(self) -> tuple:
        return _rebuild, (type(self), self.args, dict(self.__dict__))


class StructureError(GraphnnError, ValueError):
    """A graph is not a valid graphnn structure.

    The message names the offending nodes or edges and says what would be
    accepted.  ``nodes`` and ``edges`` hold them for programmatic use.

    Parameters
    ----------
    message : str
        What is wrong, where, and what is accepted.
    nodes : iterable, optional
        The nodes at fault.
    edges : iterable of 2-tuples, optional
        The edges at fault.
    """

    def __init__(self, message: str, *, nodes: Iterable = (), edges: Iterable = ()) -> None:
        super().__init__(message)
        self.nodes = list(nodes)
        self.edges = list(edges)


class NetworkGraphError(StructureError):
    """The layer graph (or channel graph) of a ``SparseNetwork`` is not a valid network.

    Raised by ``SparseNetwork.recompile``, ``from_graph``, the builders and
    the channel-graph edits; ``nodes`` holds the layer nodes at fault.

    Examples
    --------
    >>> import networkx as nx
    >>> from graphnn.sparse3d import SparseNetwork
    >>> G = nx.DiGraph([("input", "L0")])
    >>> G.add_node("input", op="input", channels=1)
    >>> G.add_node("L0", op="spin", channels=2)
    >>> try:
    ...     SparseNetwork.from_graph(G)
    ... except NetworkGraphError as err:
    ...     print(err.nodes)
    ['L0']
    """


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
        super().__init__(_where(source, line) + message)
        self.source = source
        self.line = line


class OFFError(GraphnnError, ValueError):
    """An OFF file cannot be read.

    Parameters
    ----------
    message : str
        What is wrong, and what is accepted.
    path : str, optional
        The file name (``"<stream>"`` for a file object without one).
    line : int, optional
        The 1-based line in the file, when known.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        super().__init__(_where(path or "<stream>", line) + message)
        self.path = path
        self.line = line


class MeshError(GraphnnError, ValueError):
    """Arrays that do not form a mesh: a face indexing no vertex, a non-finite vertex, ...

    The message names the array and its first bad row.
    """


class SparseDataError(GraphnnError, ValueError):
    """Sparse voxel data whose parts do not fit: sites outside the grid, repeated sites, ...

    Raised by ``SparseVoxelTensor``, ``Sample`` and ``collate``; the message
    names the row (and the sample) at fault.
    """


class DatasetError(GraphnnError, ValueError):
    """A data set or a data folder that cannot be used (the folder, file or class named)."""


class NativeBuildError(GraphnnError, RuntimeError):
    """A native kernel could not be built or loaded (the message says why)."""


class CommandError(GraphnnError):
    """A ``graphnn`` command cannot go on; the message is printed as one line (exit status 1)."""
