import networkx as nx
import pytest
from hypothesis import given

from graphnn.exceptions import StructureError
from graphnn.strategies import dags
from graphnn.structure.roles import dead_units, inputs, outputs, roles


def reference_dead_units(G: nx.DiGraph) -> list:
    role = roles(G)
    ins = [v for v, r in role.items() if r == "input"]
    outs = [v for v, r in role.items() if r == "output"]
    reached = set(ins).union(*(nx.descendants(G, v) for v in ins))
    reaching = set(outs).union(*(nx.ancestors(G, v) for v in outs))
    return [v for v, r in role.items() if r == "hidden" and not (v in reached and v in reaching)]


def test_default_roles():
    G = nx.DiGraph([("x1", "h"), ("x2", "h"), ("h", "y")])
    G.add_node("lonely")
    assert roles(G) == {
        "x1": "input",
        "x2": "input",
        "h": "hidden",
        "y": "output",
        "lonely": "input",
    }
    assert inputs(G) == ["x1", "x2", "lonely"]
    assert outputs(G) == ["y"]


def test_declared_roles_override_defaults():
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "z")])
    G.nodes["h"]["role"] = "output"  # an output that feeds another node
    G.nodes["z"]["role"] = "hidden"  # a dead end: a dead unit
    assert roles(G) == {"x": "input", "h": "output", "y": "output", "z": "hidden"}
    assert outputs(G) == ["h", "y"]
    assert dead_units(G) == ["z"]


def test_declared_hidden_source_is_dead():
    G = nx.DiGraph([("x", "y"), ("c", "y")])
    G.nodes["c"]["role"] = "hidden"
    assert inputs(G) == ["x"]
    assert dead_units(G) == ["c"]


@pytest.mark.parametrize("value", ["Input", "bias", 1, ("input",)])
def test_unknown_role_is_rejected(value):
    G = nx.DiGraph([(0, 1)])
    G.nodes[1]["role"] = value
    with pytest.raises(StructureError, match=r"node 1 has role=.*accepted roles are input, hidden"):
        roles(G)


def test_declared_input_with_incoming_edges_is_rejected():
    G = nx.DiGraph([(0, 1), (1, 2)])
    G.nodes[1]["role"] = "input"
    with pytest.raises(
        StructureError, match=r"input nodes \[1\] have incoming edges .*0 -> 1"
    ) as e:
        inputs(G)
    assert e.value.edges == [(0, 1)]


@given(dags(max_nodes=12, shuffle=True))
def test_default_roles_follow_degrees(G):
    role = roles(G)
    assert list(role) == list(G)
    for v, r in role.items():
        if G.in_degree(v) == 0:
            assert r == "input"
        elif G.out_degree(v) == 0:
            assert r == "output"
        else:
            assert r == "hidden"
    # with default roles every hidden unit lies on a source-to-sink path
    assert dead_units(G) == []


@given(dags(max_nodes=12, shuffle=True))
def test_dead_units_agree_with_the_reference(G):
    # declare a third of the nodes hidden, which makes dead ends and constant sources
    for i, v in enumerate(G):
        if (i % 3 == 1 and G.in_degree(v)) or i % 3 == 2:
            G.nodes[v]["role"] = "hidden"
    assert dead_units(G) == reference_dead_units(G)
