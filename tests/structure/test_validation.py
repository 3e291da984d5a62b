import networkx as nx
import numpy as np
import pytest
from hypothesis import given

from graphnn.exceptions import StructureError
from graphnn.strategies import layered_dags, structures
from graphnn.structure.validation import validate


def with_attr(G, element, **attrs):
    (G.edges if isinstance(element, tuple) else G.nodes)[element].update(attrs)
    return G


def path(n=3):
    return nx.path_graph(n, create_using=nx.DiGraph)


INVALID = {
    "cycle": (nx.DiGraph([(0, 1), (1, 2), (2, 0), (2, 3)]), r"cycle: 0 -> 1 -> 2 -> 0"),
    "self-loop": (nx.DiGraph([(0, 1), (1, 1)]), r"self-loops at \[1\]"),
    "multigraph": (nx.MultiDiGraph([(0, 1), (0, 1)]), r"got a MultiDiGraph"),
    "undirected": (nx.Graph([(0, 1)]), r"undirected Graph"),
    "empty": (nx.DiGraph(), r"structure is empty"),
    "edge into input": (with_attr(path(), 1, role="input"), r"input nodes \[1\] have incoming"),
    "unknown role": (with_attr(path(), 2, role="sink"), r"node 2 has role='sink'"),
    "no output": (nx.empty_graph(2, create_using=nx.DiGraph), r"no output node"),
    "no input": (with_attr(path(2), 0, role="hidden"), r"no input node"),
    "late input": (with_attr(path(), 0, layer=1), r"input nodes \[0\] have an explicit layer"),
    "bad layer": (with_attr(path(), 1, layer=-2), r"node 1 has layer=-2"),
    "low layer": (with_attr(path(), 2, layer=1), r"edge 1 -> 2 goes from layer 1 to layer 1"),
    "nan weight": (with_attr(path(), (0, 1), weight=float("nan")), r"edge 0 -> 1 has weight=nan"),
    "inf weight": (with_attr(path(), (1, 2), weight=-np.inf), r"edge 1 -> 2 has weight=-inf"),
    "nan in array": (
        with_attr(path(), (1, 2), weight=np.array([1.0, np.nan], np.float32)),
        r"edge 1 -> 2 has weight=array",
    ),
    "text weight": (with_attr(path(), (0, 1), weight="0.5"), r"weight='0.5'; weights must be"),
    "complex weight": (with_attr(path(), (0, 1), weight=1j), r"weight=1j"),
    "inf bias": (with_attr(path(), 2, bias=float("inf")), r"node 2 has bias=inf"),
    "object bias": (with_attr(path(), 2, bias=object()), r"node 2 has bias=<object"),
    "activation": (with_attr(path(), 1, activation=np.tanh), r"node 1 has activation=.*a str"),
}


@pytest.mark.parametrize(("G", "match"), INVALID.values(), ids=INVALID.keys())
def test_invalid_structures_are_named(G, match):
    with pytest.raises(StructureError, match=match):
        validate(G)


def test_non_graph_is_a_type_error():
    with pytest.raises(TypeError, match=r"expected a networkx\.DiGraph, got dict"):
        validate({0: [1]})


def test_dead_units_are_accepted_unless_asked():
    G = nx.DiGraph([("x", "y"), ("x", "d")])
    G.nodes["d"]["role"] = "hidden"
    validate(G)
    with pytest.raises(StructureError, match=r"hidden nodes \['d'\] lie on no path") as e:
        validate(G, allow_dead_units=False)
    assert e.value.nodes == ["d"]


def test_finite_values_of_every_kind_are_accepted():
    G = path(4)
    G.edges[0, 1]["weight"] = 1
    G.edges[1, 2]["weight"] = np.float16(0.5)
    G.edges[2, 3]["weight"] = np.ones((3, 3, 3), np.float32)
    G.nodes[3]["bias"] = np.array(2.0)
    G.nodes[3]["activation"] = "relu"
    G.nodes[1]["role"] = "hidden"
    validate(G)


def test_an_output_may_feed_other_nodes():
    G = with_attr(path(), 1, role="output")
    validate(G, allow_dead_units=False)


@given(structures(activations=["relu", "tanh"], explicit_roles=True))
def test_drawn_structures_are_valid(G):
    validate(G)


@given(structures(layered_dags()))
def test_drawn_layered_structures_have_no_dead_units(G):
    validate(G, allow_dead_units=False)
