"""The networkx side of graphnn.

Structures (plain ``networkx.DiGraph``), their layering, roles and
validation, random generators, graph edits, a structural summary, exact
equality and exact GraphML I/O.  This package never imports torch.
"""

from graphnn.exceptions import GraphMLError, GraphnnError, StructureError
from graphnn.structure import generators
from graphnn.structure.analysis import DegreeStats, StructureSummary, summary
from graphnn.structure.edits import (
    add_skip_connections,
    relabel,
    remove_dead_units,
    remove_edges,
    remove_nodes,
)
from graphnn.structure.equality import assert_graphs_equal, graphs_equal, values_equal
from graphnn.structure.graphml import read_graphml, write_graphml
from graphnn.structure.layering import LAYER, layer_index, layers
from graphnn.structure.roles import (
    HIDDEN,
    INPUT,
    OUTPUT,
    ROLE,
    ROLES,
    dead_units,
    inputs,
    outputs,
    roles,
)
from graphnn.structure.validation import ACTIVATION, BIAS, WEIGHT, validate

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
    "GraphMLError",
    "GraphnnError",
    "StructureError",
    "StructureSummary",
    "add_skip_connections",
    "assert_graphs_equal",
    "dead_units",
    "generators",
    "graphs_equal",
    "inputs",
    "layer_index",
    "layers",
    "outputs",
    "read_graphml",
    "relabel",
    "remove_dead_units",
    "remove_edges",
    "remove_nodes",
    "roles",
    "summary",
    "validate",
    "values_equal",
    "write_graphml",
]
