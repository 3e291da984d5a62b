import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.exceptions import StructureError
from graphnn.structure.edits import (
    add_skip_connections,
    relabel,
    remove_dead_units,
    remove_edges,
    remove_nodes,
)
from graphnn.structure.equality import assert_graphs_equal, graphs_equal
from graphnn.structure.layering import layer_index, layers
from graphnn.structure.roles import dead_units, roles


@st.composite
def dags(draw, max_nodes=9, with_roles=False):
    """A DAG on 0..n-1 (in label order) whose topological order is a drawn permutation.

    Nodes carry a float ``bias``, edges a float ``weight``, the graph a ``name``.
    With ``with_roles``, some nodes get a ``role`` attribute (``input`` only on
    sources), which is how dead units arise.
    """
    n = draw(st.integers(1, max_nodes))
    order = draw(st.permutations(range(n)))
    pairs = [(order[i], order[j]) for i in range(n) for j in range(i + 1, n)]
    edges = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    G = nx.DiGraph(name="drawn")
    G.add_nodes_from((v, {"bias": v / 2}) for v in range(n))
    G.add_edges_from((u, v, {"weight": float(10 * u + v)}) for u, v in edges)
    if with_roles:
        for v in range(n):
            role = draw(st.sampled_from([None, None, "hidden", "output", "input"]))
            if role is not None and not (role == "input" and G.pred[v]):
                G.nodes[v]["role"] = role
    return G


def snapshot(G):
    H = G.copy()
    H.graph = dict(G.graph)
    return H


# --- remove_edges -----------------------------------------------------------------------------


def test_remove_edges_copy_and_in_place():
    G = nx.DiGraph(name="g")
    G.add_edge(0, 1, weight=1.0)
    G.add_edge(1, 2, weight=2.0)
    G.add_edge(0, 2, weight=3.0)
    before = snapshot(G)
    H = remove_edges(G, [(0, 1), (0, 1)])
    assert H is not G
    assert_graphs_equal(G, before)
    assert list(H.edges(data="weight")) == [(0, 2, 3.0), (1, 2, 2.0)]
    assert list(H) == [0, 1, 2]
    assert H.graph == {"name": "g"}
    assert remove_edges(G, G.edges, copy=False) is G
    assert G.number_of_edges() == 0
    assert list(G) == [0, 1, 2]


@pytest.mark.parametrize(
    ("edges", "error", "match"),
    [
        ([(0, 1), (1, 0)], StructureError, r"edge 1 -> 0 is not in the graph"),
        ([(0, 7)], StructureError, r"edge 0 -> 7 is not in the graph"),
        ([([], 1)], StructureError, r"edge \[\] -> 1 is not in the graph"),
        ([(0, 1, 2)], TypeError, r"each edge must be a pair \(u, v\), got \(0, 1, 2\)"),
        ([0], TypeError, "each edge must be a pair"),
        (3, TypeError, "edges must be an iterable of edges, got int 3"),
    ],
)
def test_remove_edges_rejects_and_changes_nothing(edges, error, match):
    G = nx.DiGraph([(0, 1), (1, 2)])
    before = snapshot(G)
    with pytest.raises(error, match=match):
        remove_edges(G, edges, copy=False)
    assert_graphs_equal(G, before)


@given(dags(), st.data())
@settings(max_examples=50, deadline=None)
def test_remove_edges_keeps_everything_else(G, data):
    gone = data.draw(
        st.lists(st.sampled_from(list(G.edges)), unique=True) if G.edges else st.just([])
    )
    H = remove_edges(G, gone)
    kept = [(u, v, d) for u, v, d in G.edges(data=True) if (u, v) not in gone]
    assert list(H.edges(data=True)) == kept
    assert list(H.nodes(data=True)) == list(G.nodes(data=True))
    assert_graphs_equal(H, remove_edges(snapshot(G), gone, copy=False))


# --- remove_nodes -----------------------------------------------------------------------------


def test_remove_nodes_copy_and_in_place():
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "y")], name="g")
    G.nodes["y"]["bias"] = 0.25
    before = snapshot(G)
    H = remove_nodes(G, ["h"])
    assert_graphs_equal(G, before)
    assert list(H) == ["x", "y"]
    assert list(H.edges) == [("x", "y")]
    assert H.nodes["y"] == {"bias": 0.25}
    assert remove_nodes(G, ("x", "x"), copy=False) is G
    assert list(G) == ["h", "y"]


@pytest.mark.parametrize(
    ("nodes", "error", "match"),
    [
        (["h", "z", "w"], StructureError, r"nodes \['z', 'w'\] are not in the graph"),
        ([["x"]], StructureError, r"nodes \[\['x'\]\] are not in the graph"),
        ("x", TypeError, "nodes must be an iterable of nodes, got str 'x'; wrap a single one"),
        (None, TypeError, "got NoneType None"),
    ],
)
def test_remove_nodes_rejects_and_changes_nothing(nodes, error, match):
    G = nx.DiGraph([("x", "h"), ("h", "y")])
    before = snapshot(G)
    with pytest.raises(error, match=match) as info:
        remove_nodes(G, nodes, copy=False)
    assert_graphs_equal(G, before)
    if error is StructureError and nodes[0] == "h":
        assert info.value.nodes == ["z", "w"]


@given(dags(), st.data())
@settings(max_examples=50, deadline=None)
def test_remove_nodes_keeps_everything_else(G, data):
    gone = set(data.draw(st.lists(st.sampled_from(list(G)), unique=True)))
    H = remove_nodes(G, gone)
    assert list(H.nodes(data=True)) == [(v, d) for v, d in G.nodes(data=True) if v not in gone]
    assert list(H.edges(data=True)) == [
        (u, v, d) for u, v, d in G.edges(data=True) if u not in gone and v not in gone
    ]


# --- remove_dead_units ------------------------------------------------------------------------


def test_remove_dead_units_example():
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("x", "d"), ("c", "y")])
    G.nodes["d"]["role"] = G.nodes["c"]["role"] = "hidden"
    before = snapshot(G)
    H = remove_dead_units(G)
    assert_graphs_equal(G, before)
    assert list(H) == ["x", "h", "y"]
    assert list(H.edges) == [("x", "h"), ("h", "y")]
    assert "role" not in H.nodes["y"]  # y still has a predecessor, its default role holds
    assert remove_dead_units(G, copy=False) is G
    assert_graphs_equal(G, H)


def test_remove_dead_units_pins_a_default_output_that_loses_its_inputs():
    # z is an output by default (a sink); its only predecessor c is dead, so
    # after the removal z would be an isolated node, i.e. an input by default.
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("c", "z")])
    G.nodes["c"]["role"] = "hidden"
    assert dead_units(G) == ["c"]
    H = remove_dead_units(G)
    assert list(H) == ["x", "h", "y", "z"]
    assert H.nodes["z"] == {"role": "output"}
    assert roles(H) == {"x": "input", "h": "hidden", "y": "output", "z": "output"}
    assert G.nodes["z"] == {}  # the copy's attribute dict was edited, not G's


def test_remove_dead_units_without_dead_units_is_a_copy():
    G = nx.DiGraph([(0, 1), (1, 2), (0, 2)], name="g")
    assert_graphs_equal(remove_dead_units(G), G)


@given(dags(with_roles=True))
@settings(max_examples=100, deadline=None)
def test_remove_dead_units_leaves_none_and_keeps_roles(G):
    before, dead = roles(G), set(dead_units(G))
    H = remove_dead_units(G)
    assert dead_units(H) == []
    assert list(H) == [v for v in G if v not in dead]
    after = roles(H)
    assert all(after[v] == before[v] for v in H)
    assert list(H.edges(data=True)) == [
        (u, v, d) for u, v, d in G.edges(data=True) if u not in dead and v not in dead
    ]
    for v in H:  # only a role may be added, and only where the default changed
        extra = H.nodes[v].keys() - G.nodes[v].keys()
        assert extra <= {"role"}
    assert_graphs_equal(remove_dead_units(snapshot(G), copy=False), H)


# --- add_skip_connections ---------------------------------------------------------------------


def chain_with_fan(widths=(2, 2, 2, 2)):
    """A layered graph with consecutive edges only, every edge weighted."""
    G = nx.DiGraph()
    start = np.cumsum([0, *widths]).tolist()
    G.add_nodes_from(range(start[-1]))
    for i in range(len(widths) - 1):
        for u in range(start[i], start[i + 1]):
            for v in range(start[i + 1], start[i + 2]):
                G.add_edge(u, v, weight=1.0)
    return G


def test_add_skip_connections_complete():
    G = chain_with_fan()
    G.add_edge(0, 4, weight=-1.0)  # an existing skip edge stays as it is
    before = snapshot(G)
    H = add_skip_connections(G, 0, 2, density=1.0)
    assert_graphs_equal(G, before)
    new = set(H.edges) - set(G.edges)
    assert new == {(0, 5), (1, 4), (1, 5)}
    assert all(H.edges[e] == {} for e in new)
    assert H.edges[0, 4] == {"weight": -1.0}
    assert layer_index(H) == layer_index(G)


def test_add_skip_connections_density_zero_and_seed():
    G = chain_with_fan((5, 5, 5, 5))
    assert_graphs_equal(add_skip_connections(G, 0, 3, 0.0, seed=1), G)
    a = add_skip_connections(G, 0, 3, 0.5, seed=1)
    assert_graphs_equal(a, add_skip_connections(G, 0, 3, 0.5, seed=1))
    assert not all(graphs_equal(a, add_skip_connections(G, 0, 3, 0.5, seed=s)) for s in range(2, 6))
    assert add_skip_connections(G, 1, 3, 0.5, seed=np.random.default_rng(0), copy=False) is G


def test_add_skip_connections_respects_explicit_layers():
    G = nx.DiGraph([("x", "h"), ("h", "y")])
    G.nodes["y"]["layer"] = 4
    H = add_skip_connections(G, 0, 4, density=1.0)
    assert list(H.edges) == [("x", "h"), ("x", "y"), ("h", "y")]
    assert layer_index(H) == {"x": 0, "h": 1, "y": 4}
    assert_graphs_equal(add_skip_connections(G, 1, 3, density=1.0), G)  # layer 3 is empty


@given(dags(), st.data(), st.floats(0, 1), st.integers(0, 2**32))
@settings(max_examples=60, deadline=None)
def test_add_skip_connections_keeps_layers_and_edges(G, data, density, seed):
    depth = len(layers(G))
    if depth < 2:
        return
    low = data.draw(st.integers(0, depth - 2))
    high = data.draw(st.integers(low + 1, depth - 1))
    H = add_skip_connections(G, low, high, density, seed=seed)
    assert layer_index(H) == layer_index(G)
    assert list(H.nodes(data=True)) == list(G.nodes(data=True))
    index = layer_index(G)
    for u, v, d in H.edges(data=True):
        if G.has_edge(u, v):
            assert d == G.edges[u, v]
        else:
            assert d == {}
            assert (index[u], index[v]) == (low, high)
    if density == 1.0:
        tails = [v for v in G if index[v] == low]
        heads = [v for v in G if index[v] == high]
        assert all(H.has_edge(u, v) for u in tails for v in heads)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((-1, 2, 0.5), ValueError, "from_layer must be between 0 and 2, got -1"),
        ((3, 3, 0.5), ValueError, "from_layer must be between 0 and 2, got 3"),
        ((1, 1, 0.5), ValueError, r"to_layer must be between from_layer \+ 1 = 2 and the last"),
        ((0, 4, 0.5), ValueError, "and the last layer 3, got 4"),
        ((0.0, 2, 0.5), TypeError, "from_layer must be an int"),
        ((0, 2, 1.5), ValueError, r"density must be a probability in \[0, 1\]"),
        ((0, 2, None), TypeError, "density must be a probability"),
    ],
)
def test_add_skip_connections_rejects(args, error, match):
    with pytest.raises(error, match=match):
        add_skip_connections(chain_with_fan(), *args)


def test_add_skip_connections_rejects_bad_graphs():
    for G in (nx.DiGraph(), nx.empty_graph(3, create_using=nx.DiGraph)):
        with pytest.raises(StructureError, match="no layer after layer 0"):
            add_skip_connections(G, 0, 1, 0.5)
    with pytest.raises(StructureError, match="cycle"):
        add_skip_connections(nx.DiGraph([(0, 1), (1, 0)]), 0, 1, 0.5)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        add_skip_connections(chain_with_fan(), 0, 2, 0.5, seed=-1)


# --- relabel ----------------------------------------------------------------------------------


def test_relabel_dict_callable_and_swap():
    G = nx.DiGraph(name="g")
    G.add_nodes_from([("b", {"bias": 1.0}), ("a", {})])
    G.add_edge("b", "a", weight=2.0)
    H = relabel(G, {"a": "z"})
    assert list(H.nodes(data=True)) == [("b", {"bias": 1.0}), ("z", {})]
    assert list(H.edges(data=True)) == [("b", "z", {"weight": 2.0})]
    assert H.graph == {"name": "g"}
    assert list(relabel(G, str.upper).edges) == [("B", "A")]
    swapped = relabel(G, {"a": "b", "b": "a"})
    assert list(swapped.nodes(data=True)) == [("a", {"bias": 1.0}), ("b", {})]
    assert list(swapped.edges) == [("a", "b")]
    assert list(G) == ["b", "a"]
    assert relabel(G, {"a": 0}, copy=False) is G
    assert list(G.edges(data=True)) == [("b", 0, {"weight": 2.0})]
    assert G.graph == {"name": "g"}


@given(dags(), st.data())
@settings(max_examples=50, deadline=None)
def test_relabel_agrees_with_networkx_on_injective_mappings(G, data):
    targets = data.draw(st.permutations([*range(len(G)), *(f"n{i}" for i in range(len(G)))]))
    keys = data.draw(st.lists(st.sampled_from(list(G)), unique=True))
    mapping = {v: targets[i] for i, v in enumerate(keys)}
    try:
        H = relabel(G, mapping)
    except StructureError:  # a node was mapped onto a label that another node keeps
        kept = {v for v in G if v not in mapping}
        assert kept & set(mapping.values())
        return
    assert_graphs_equal(H, nx.relabel_nodes(G, mapping, copy=True))


@pytest.mark.parametrize(
    ("mapping", "error", "match"),
    [
        ({0: "a", 9: "b", 8: "c"}, StructureError, r"mapping has keys \[9, 8\] that are not nodes"),
        ({0: "a", 1: "a"}, StructureError, "relabel maps nodes 0 and 1 both to 'a'; labels must"),
        ({0: 2}, StructureError, r"nodes 0 and 2 both to 2 \(2 is not in mapping, so it keeps"),
        ({0: 1.0}, StructureError, "nodes 0 and 1 both to 1"),
        (lambda v: v // 2, StructureError, "relabel maps nodes 0 and 1 both to 0"),
        ({0: []}, TypeError, r"node 0 would get the unhashable label \[\]"),
        ([(0, 1)], TypeError, "mapping must be a dict or a callable, got list"),
    ],
)
def test_relabel_rejects_and_changes_nothing(mapping, error, match):
    G = nx.DiGraph([(0, 1), (1, 2)])
    before = snapshot(G)
    with pytest.raises(error, match=match):
        relabel(G, mapping, copy=False)
    assert_graphs_equal(G, before)


def test_relabel_error_names_nodes():
    with pytest.raises(StructureError) as info:
        relabel(nx.DiGraph([(0, 1), (1, 2)]), {2: 0})
    assert info.value.nodes == [0, 2]


@pytest.mark.parametrize(
    "call",
    [
        lambda G: remove_edges(G, []),
        lambda G: remove_nodes(G, []),
        lambda G: remove_dead_units(G),
        lambda G: add_skip_connections(G, 0, 1, 0.5),
        lambda G: relabel(G, {}),
    ],
)
def test_edits_require_a_digraph(call):
    with pytest.raises(StructureError, match="undirected"):
        call(nx.path_graph(3))
    with pytest.raises(TypeError, match=r"expected a networkx\.DiGraph"):
        call({0: [1]})
