"""graphnn: sparse neural networks seen as graphs.

Every model is a networkx DAG.  This top-level namespace re-exports the
structure API (:mod:`graphnn.structure`) and the compiler
(:func:`compile`, :mod:`graphnn.nn`); random structures are in
:mod:`graphnn.generators` and hypothesis strategies in
:mod:`graphnn.strategies`.

Examples
--------
>>> import networkx as nx
>>> import graphnn
>>> graphnn.layers(nx.DiGraph([("x", "h"), ("h", "y"), ("x", "y")]))
[['x'], ['h'], ['y']]
"""

from importlib import metadata

from graphnn import generators, nn, structure
from graphnn.nn import MaskedDAG, MaskedFFN, MaskedLinear, compile
from graphnn.structure import (
    ACTIVATION,
    BIAS,
    HIDDEN,
    INPUT,
    LAYER,
    OUTPUT,
    ROLE,
    ROLES,
    WEIGHT,
    DegreeStats,
    GraphMLError,
    GraphnnError,
    StructureError,
    StructureSummary,
    add_skip_connections,
    assert_graphs_equal,
    dead_units,
    graphs_equal,
    inputs,
    layer_index,
    layers,
    outputs,
    read_graphml,
    relabel,
    remove_dead_units,
    remove_edges,
    remove_nodes,
    roles,
    summary,
    validate,
    values_equal,
    write_graphml,
)

try:
    __version__ = metadata.version("graphnn")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "ACTIVATION",
    "BIAS",
    "HIDDEN",
    "INPUT",
    "LAYER",
    "OUTPUT",
    "ROLE",
    "ROLES",
    "WEIGHT",
    "DegreeStats",
    "MaskedDAG",
    "MaskedFFN",
    "MaskedLinear",
    "GraphMLError",
    "GraphnnError",
    "StructureError",
    "StructureSummary",
    "__version__",
    "add_skip_connections",
    "assert_graphs_equal",
    "compile",
    "dead_units",
    "generators",
    "graphs_equal",
    "inputs",
    "layer_index",
    "layers",
    "nn",
    "outputs",
    "read_graphml",
    "relabel",
    "remove_dead_units",
    "remove_edges",
    "remove_nodes",
    "roles",
    "structure",
    "summary",
    "validate",
    "values_equal",
    "write_graphml",
]
