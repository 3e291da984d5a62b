import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphnn.exceptions import StructureError
from graphnn.strategies import dags
from graphnn.structure.layering import layer_index, layers


def reference_layers(G: nx.DiGraph) -> dict:
    """The obvious definition, one node at a time in a topological order."""
    index = {}
    for v in nx.topological_sort(G):
        lowest = max((index[u] + 1 for u in G.pred[v]), default=0)
        explicit = G.nodes[v].get("layer")
        if explicit is not None and explicit < lowest:
            raise StructureError("explicit layer too low")
        index[v] = lowest if explicit is None else explicit
    return index


def test_diamond_with_skip_edge():
    G = nx.DiGraph([("x", "a"), ("x", "b"), ("a", "y"), ("b", "c"), ("c", "y"), ("x", "y")])
    assert layer_index(G) == {"x": 0, "a": 1, "b": 1, "y": 3, "c": 2}
    assert layers(G) == [["x"], ["a", "b"], ["c"], ["y"]]


def test_order_inside_a_layer_is_node_insertion_order():
    G = nx.DiGraph()
    G.add_nodes_from(["z", "b", "y", "a"])
    G.add_edges_from([("a", "y"), ("b", "z")])
    assert layers(G) == [["b", "a"], ["z", "y"]]
    assert list(layer_index(G)) == ["z", "b", "y", "a"]


def test_empty_and_edgeless_graphs():
    assert layer_index(nx.DiGraph()) == {}
    assert layers(nx.DiGraph()) == []
    G = nx.DiGraph()
    G.add_nodes_from([3, 1, 2])
    assert layers(G) == [[3, 1, 2]]


def test_explicit_layer_overrides_and_may_leave_gaps():
    G = nx.DiGraph([(0, 1), (1, 2)])
    G.nodes[1]["layer"] = 3
    assert layer_index(G) == {0: 0, 1: 3, 2: 4}
    assert layers(G) == [[0], [], [], [1], [2]]


def test_explicit_layer_on_a_source_and_numpy_ints():
    np = pytest.importorskip("numpy")
    G = nx.DiGraph([(0, 2), (1, 2)])
    G.nodes[1]["layer"] = np.int64(1)
    index = layer_index(G)
    assert index == {0: 0, 1: 1, 2: 2}
    assert all(type(v) is int for v in index.values())


def test_explicit_layer_too_low_names_the_edge():
    G = nx.DiGraph([("a", "b"), ("b", "c")])
    G.nodes["c"]["layer"] = 1
    with pytest.raises(StructureError, match=r"edge 'b' -> 'c' goes from layer 1 to layer 1") as e:
        layer_index(G)
    assert e.value.edges == [("b", "c")]


@pytest.mark.parametrize("value", [-1, 1.5, "2", True, None.__class__, [1]])
def test_explicit_layer_must_be_a_non_negative_int(value):
    G = nx.DiGraph([("a", "b")])
    G.nodes["b"]["layer"] = value
    with pytest.raises(StructureError, match=r"node 'b' has layer=.*non-negative int"):
        layer_index(G)


def test_cycle_is_named():
    G = nx.DiGraph([(0, 1), (1, 2), (2, 3), (3, 1)])
    with pytest.raises(StructureError, match=r"cycle: 1 -> 2 -> 3 -> 1") as e:
        layers(G)
    assert set(e.value.nodes) == {1, 2, 3}


def test_self_loop_is_named():
    with pytest.raises(StructureError, match=r"self-loop at node 'a'"):
        layer_index(nx.DiGraph([("a", "a"), ("a", "b")]))


@pytest.mark.parametrize(
    ("graph", "error", "match"),
    [
        (nx.MultiDiGraph([(0, 1)]), StructureError, "got a MultiDiGraph"),
        (nx.Graph([(0, 1)]), StructureError, "undirected Graph; orient it"),
        ([(0, 1)], TypeError, "expected a networkx.DiGraph, got list"),
    ],
)
def test_only_digraphs_are_layered(graph, error, match):
    with pytest.raises(error, match=match):
        layer_index(graph)


@given(dags(max_nodes=15, shuffle=True))
def test_layering_invariants(G):
    index = layer_index(G)
    assert list(index) == list(G)
    assert all(index[u] < index[v] for u, v in G.edges)
    assert all((index[v] == 0) == (G.in_degree(v) == 0) for v in G)
    # tight: a non-source sits right above its highest predecessor
    assert all(index[v] == 1 + max(index[u] for u in G.pred[v]) for v in G if G.in_degree(v))
    assert max(index.values()) == nx.dag_longest_path_length(G)
    assert index == reference_layers(G)
    grouped = layers(G)
    assert [v for layer in grouped for v in layer] == sorted(G, key=index.__getitem__)


@given(dags(max_nodes=12, shuffle=True), st.data())
def test_explicit_layers_agree_with_the_reference(G, data):
    for v in G:
        if data.draw(st.booleans()):
            G.nodes[v]["layer"] = data.draw(st.integers(0, 12))
    try:
        expected = reference_layers(G)
    except StructureError:
        with pytest.raises(StructureError, match="strictly higher layer"):
            layer_index(G)
    else:
        assert layer_index(G) == expected
