import networkx as nx
import numpy as np
import pytest

from graphnn.structure.equality import assert_graphs_equal, graphs_equal, values_equal


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (1, 1, True),
        (1, 1.0, False),
        (1, True, False),
        (float("nan"), float("nan"), True),
        (0.0, -0.0, True),
        ("a", "a", True),
        ((1, "a"), (1, "a"), True),
        ((1, "a"), [1, "a"], False),
        ({"k": [1.0]}, {"k": [1.0]}, True),
        ({"k": [1.0]}, {"k": [1]}, False),
        ({1: "a", 2: "b"}, {2: "b", 1: "a"}, True),
        ({1: "a"}, {1.0: "a"}, False),
        (frozenset({1, 2}), frozenset({2, 1}), True),
        (np.float32(1.5), np.float32(1.5), True),
        (np.float32(1.5), np.float64(1.5), False),
        (np.float32(1.5), 1.5, False),
        (np.arange(3), np.arange(3), True),
        (np.arange(3), np.arange(3).astype(np.int32), False),
        (np.zeros((2, 1)), np.zeros((1, 2)), False),
        (np.array([np.nan]), np.array([np.nan]), True),
        (1 + 2j, 1 + 2j, True),
        (None, None, True),
        (b"x", b"x", True),
    ],
)
def test_values_equal(a, b, equal):
    assert values_equal(a, b) is equal


def test_identical_graphs():
    G = nx.DiGraph(name="g")
    G.add_node((0, 1), bias=np.zeros(2))
    G.add_edge((0, 1), "y", weight=0.5)
    H = nx.DiGraph(name="g")
    H.add_node((0, 1), bias=np.zeros(2))
    H.add_edge((0, 1), "y", weight=0.5)
    assert_graphs_equal(G, H)
    assert graphs_equal(G, H)


@pytest.mark.parametrize(
    ("H", "match"),
    [
        (nx.DiGraph([(1, 0), (0, 2)]), "nodes differ: 0 != 1"),
        (nx.DiGraph([(0.0, 1), (0, 2)]), r"nodes differ: 0 != 0.0"),
        (nx.DiGraph([(0, 1)]), "node counts differ"),
        (nx.DiGraph([(0, 2), (0, 1)]), "nodes differ"),
        (nx.Graph([(0, 1), (0, 2)]), "graph kinds differ"),
        (nx.DiGraph([(0, 1), (0, 2)], name="x"), "graph: attributes differ"),
    ],
)
def test_differences_are_named(H, match):
    G = nx.DiGraph([(0, 1), (0, 2)])
    with pytest.raises(AssertionError, match=match):
        assert_graphs_equal(G, H)
    assert not graphs_equal(G, H)


def test_edge_order_and_attribute_types_are_checked():
    G = nx.DiGraph()
    G.add_nodes_from([0, 1, 2])
    G.add_edges_from([(0, 1), (0, 2)])
    H = nx.DiGraph()
    H.add_nodes_from([0, 1, 2])
    H.add_edges_from([(0, 2), (0, 1)])
    with pytest.raises(AssertionError, match=r"edges differ: \(0, 1\) != \(0, 2\)"):
        assert_graphs_equal(G, H)
    assert graphs_equal(G, H, check_order=False)
    H.edges[0, 1]["weight"] = np.float32(1)
    G.edges[0, 1]["weight"] = 1.0
    with pytest.raises(AssertionError, match=r"edge 0 -> 1: attributes differ"):
        assert_graphs_equal(G, H, check_order=False)


def test_node_types_are_checked_without_order():
    assert not graphs_equal(nx.DiGraph([(0, 1)]), nx.DiGraph([(0, 1.0)]), check_order=False)
    assert graphs_equal(nx.DiGraph([(0, 1)]), nx.DiGraph([(1, 0)]).reverse(), check_order=False)
