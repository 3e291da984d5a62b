import itertools
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.exceptions import StructureError
from graphnn.structure.equality import assert_graphs_equal, graphs_equal
from graphnn.structure.generators import (
    barabasi_albert_dag,
    erdos_renyi_dag,
    layered,
    orient,
    random_dag,
    randwire,
    watts_strogatz_dag,
)
from graphnn.structure.layering import layers
from graphnn.structure.roles import dead_units, inputs, outputs
from graphnn.structure.validation import validate

# name -> function of a seed, for the determinism and validity checks
GENERATORS = {
    "erdos_renyi": lambda seed: erdos_renyi_dag(30, 0.2, seed=seed),
    "watts_strogatz": lambda seed: watts_strogatz_dag(30, 4, 0.5, seed=seed),
    "barabasi_albert": lambda seed: barabasi_albert_dag(30, 3, seed=seed),
    "random_dag": lambda seed: random_dag(30, 0.2, seed=seed),
    "layered": lambda seed: layered([5, 7, 7, 3], density=0.4, skip_density=0.1, seed=seed),
    "randwire_ws": lambda seed: randwire(20, "ws", seed=seed),
    "randwire_er": lambda seed: randwire(20, "er", seed=seed),
    "randwire_ba": lambda seed: randwire(20, "ba", m=3, seed=seed),
}


@pytest.mark.parametrize("make", GENERATORS.values(), ids=GENERATORS.keys())
def test_generators_are_deterministic_valid_dags(make):
    G = make(7)
    assert type(G) is nx.DiGraph
    assert nx.is_directed_acyclic_graph(G)
    assert all(type(v) is int for v in G)
    validate(G)
    assert_graphs_equal(G, make(7))
    assert not all(graphs_equal(G, make(seed)) for seed in range(8, 12))


# --- orient -----------------------------------------------------------------------------------


def test_orient_follows_node_order_and_keeps_attributes():
    G = nx.Graph(name="g")
    G.add_nodes_from(["c", "a", "b"])
    G.nodes["a"]["bias"] = 0.5
    G.add_edge("a", "c", weight=2.0)
    G.add_edge("b", "a")
    D = orient(G)
    assert list(D) == ["c", "a", "b"]
    assert sorted(D.edges) == [("a", "b"), ("c", "a")]
    assert D.graph == {"name": "g"}
    assert D.nodes["a"] == {"bias": 0.5}
    assert D.edges["c", "a"] == {"weight": 2.0}
    D.nodes["a"]["bias"] = 1.0  # attribute dicts are copies
    assert G.nodes["a"]["bias"] == 0.5


def test_orient_with_order():
    D = orient(nx.path_graph(4), order=[3, 1, 0, 2])
    assert list(D) == [0, 1, 2, 3]
    assert sorted(D.edges) == [(1, 0), (1, 2), (3, 2)]


@given(st.integers(1, 12), st.floats(0, 1), st.randoms(use_true_random=False))
@settings(max_examples=40, deadline=None)
def test_orient_is_a_dag_along_order(n, p, rnd):
    G = nx.gnp_random_graph(n, p, seed=rnd.randrange(2**32))
    order = list(G)
    rnd.shuffle(order)
    D = orient(G, order)
    position = {v: i for i, v in enumerate(order)}
    assert nx.is_directed_acyclic_graph(D)
    assert all(position[u] < position[v] for u, v in D.edges)
    assert {frozenset(e) for e in D.edges} == {frozenset(e) for e in G.edges}
    assert list(D) == list(G)


@pytest.mark.parametrize(
    ("graph", "order", "error", "match"),
    [
        (nx.DiGraph([(0, 1)]), None, StructureError, "undirected simple"),
        (nx.MultiGraph([(0, 1)]), None, StructureError, "undirected simple"),
        (nx.Graph([(0, 1), (1, 1)]), None, StructureError, r"self-loops at \[1\]"),
        (nx.path_graph(3), [0, 1, 7], ValueError, "contains 7, which is not a node"),
        (nx.path_graph(3), [0, 1, 1, 2], ValueError, "node 1 twice"),
        (nx.path_graph(3), [2, 0], ValueError, r"lacks nodes \[1\]"),
        ([(0, 1)], None, TypeError, r"expected an undirected networkx\.Graph"),
    ],
)
def test_orient_rejects(graph, order, error, match):
    with pytest.raises(error, match=match):
        orient(graph, order)


# --- the networkx models ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 12345])
def test_models_equal_oriented_networkx_graphs(seed):
    assert_graphs_equal(
        erdos_renyi_dag(25, 0.3, seed=seed), orient(nx.gnp_random_graph(25, 0.3, seed=seed))
    )
    assert_graphs_equal(
        watts_strogatz_dag(25, 4, 0.3, seed=seed),
        orient(nx.watts_strogatz_graph(25, 4, 0.3, seed=seed)),
    )
    assert_graphs_equal(
        barabasi_albert_dag(25, 2, seed=seed),
        orient(nx.barabasi_albert_graph(25, 2, seed=seed)),
    )


def test_models_edges_go_up():
    for G in (erdos_renyi_dag(20, 0.5, seed=1), barabasi_albert_dag(20, 4, seed=1)):
        assert list(G) == list(range(20))
        assert all(u < v for u, v in G.edges)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: erdos_renyi_dag(0, 0.5), ValueError, "n must be at least 1, got 0"),
        (lambda: erdos_renyi_dag(2.0, 0.5), TypeError, "n must be an int, got float"),
        (lambda: erdos_renyi_dag(True, 0.5), TypeError, "n must be an int, got bool"),
        (lambda: erdos_renyi_dag(5, 1.5), ValueError, r"p must be a probability in \[0, 1\]"),
        (lambda: erdos_renyi_dag(5, float("nan")), ValueError, "got nan"),
        (lambda: erdos_renyi_dag(5, "0.5"), TypeError, "p must be a probability"),
        (lambda: watts_strogatz_dag(5, 6, 0.1), ValueError, r"k must be between 0 and n = 5"),
        (lambda: watts_strogatz_dag(5, -2, 0.1), ValueError, "k must be between"),
        (lambda: watts_strogatz_dag(5, 2, -0.1), ValueError, "p must be a probability"),
        (lambda: barabasi_albert_dag(1, 1), ValueError, "n must be at least 2"),
        (lambda: barabasi_albert_dag(5, 5), ValueError, r"m must be between 1 and n - 1 = 4"),
        (lambda: barabasi_albert_dag(5, 0), ValueError, "m must be between"),
        (lambda: random_dag(-1, 0.5), ValueError, "n must be at least 1"),
        (lambda: random_dag(5, 2), ValueError, "p must be a probability"),
        (lambda: random_dag(5, 0.5, seed=-3), ValueError, "seed must be a non-negative int"),
        (lambda: random_dag(5, 0.5, seed="x"), TypeError, "seed must be None"),
    ],
)
def test_generator_arguments_are_checked(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --- random_dag -------------------------------------------------------------------------------


def test_random_dag_complete_and_empty():
    G = random_dag(12, 1.0, seed=3)
    assert list(G) == list(range(12))
    assert G.number_of_edges() == 66
    assert len(list(nx.topological_generations(G))) == 12  # a single Hamiltonian path
    assert random_dag(12, 0.0, seed=3).number_of_edges() == 0
    assert list(random_dag(1, 0.5, seed=0)) == [0]


def test_random_dag_edge_count_is_binomial():
    n, p = 300, 0.05
    pairs = n * (n - 1) // 2
    sigma = math.sqrt(pairs * p * (1 - p))
    for seed in range(3):
        G = random_dag(n, p, seed=seed)
        assert nx.is_directed_acyclic_graph(G)
        assert abs(G.number_of_edges() - pairs * p) < 5 * sigma


def test_random_dag_every_ordered_pair_and_order_can_appear():
    seen = set()
    orders = set()
    for seed in range(200):
        seen.update(random_dag(4, 0.5, seed=seed).edges)
        orders.add(tuple(nx.topological_sort(random_dag(3, 1.0, seed=seed))))
    assert seen == set(itertools.permutations(range(4), 2))
    assert orders == set(itertools.permutations(range(3)))


def test_random_dag_label_order_is_usually_not_topological():
    G = random_dag(20, 0.3, seed=0)
    assert any(u > v for u, v in G.edges)
    assert list(G.edges) == sorted(G.edges)


def test_random_dag_sparse_needs_no_quadratic_memory():
    G = random_dag(200_000, 1e-9, seed=0)  # 2e10 pairs: an O(n^2) array would not fit
    assert G.number_of_nodes() == 200_000
    assert G.number_of_edges() < 100


# --- layered ----------------------------------------------------------------------------------


@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    density=st.floats(0, 1),
    skip_density=st.floats(0, 1),
    seed=st.integers(0, 2**32),
)
@settings(max_examples=60, deadline=None)
def test_layered_has_the_requested_layers_and_no_dead_units(sizes, density, skip_density, seed):
    G = layered(sizes, density=density, skip_density=skip_density, seed=seed)
    start = np.cumsum([0, *sizes]).tolist()
    expected = [list(range(start[i], start[i + 1])) for i in range(len(sizes))]
    assert list(G) == list(range(start[-1]))
    assert layers(G) == expected
    assert dead_units(G) == []
    assert inputs(G) == expected[0]
    assert outputs(G) == expected[-1]
    assert list(G.edges) == sorted(G.edges)
    validate(G, allow_dead_units=False)


def test_layered_complete():
    G = layered([2, 3, 2])
    expected = [(u, v) for u in (0, 1) for v in (2, 3, 4)] + [
        (u, v) for u in (2, 3, 4) for v in (5, 6)
    ]
    assert list(G.edges) == expected
    H = layered([2, 1, 2], skip_density=1.0)
    assert set(H.edges) == {(0, 2), (1, 2), (2, 3), (2, 4), (0, 3), (0, 4), (1, 3), (1, 4)}


def test_layered_density_zero_keeps_only_the_repair_edges():
    G = layered([4, 6, 3], density=0.0, seed=5)
    assert G.number_of_edges() <= (6 + 3) + (4 + 6)
    assert all(G.pred[v] for v in range(4, 13))
    assert all(G.succ[v] for v in range(0, 10))


def test_layered_density_is_close_to_asked():
    G = layered([200, 200], density=0.3, seed=0)
    # the repair adds edges only to nodes that got none (probability 0.7**200)
    assert abs(G.number_of_edges() / 40_000 - 0.3) < 0.01


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sizes": [3]}, ValueError, "at least 2 layers"),
        ({"sizes": [3, 0, 2]}, ValueError, r"sizes\[1\] must be at least 1, got 0"),
        ({"sizes": [3, 2.5]}, TypeError, r"sizes\[1\] must be an int"),
        ({"sizes": 5}, TypeError, "sizes must be a sequence of ints"),
        ({"sizes": [2, 2], "density": 1.1}, ValueError, "density must be a probability"),
        ({"sizes": [2, 2], "skip_density": -1}, ValueError, "skip_density must be"),
    ],
)
def test_layered_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        layered(**kwargs)


# --- randwire ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "kwargs", "reference"),
    [
        ("ws", {}, lambda n, s: nx.watts_strogatz_graph(n, 4, 0.75, seed=s)),
        ("ws", {"k": 6, "p": 0.1}, lambda n, s: nx.watts_strogatz_graph(n, 6, 0.1, seed=s)),
        ("er", {}, lambda n, s: nx.gnp_random_graph(n, 0.2, seed=s)),
        ("er", {"p": 0.05}, lambda n, s: nx.gnp_random_graph(n, 0.05, seed=s)),
        ("ba", {}, lambda n, s: nx.barabasi_albert_graph(n, 5, seed=s)),
        ("ba", {"m": 2}, lambda n, s: nx.barabasi_albert_graph(n, 2, seed=s)),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_randwire_wraps_the_oriented_model(model, kwargs, reference, seed):
    n = 32
    G = randwire(n, model, seed=seed, **kwargs)
    assert list(G) == [-1, *range(n), n]
    assert inputs(G) == [-1]
    assert outputs(G) == [n]
    inner = orient(reference(n, seed))
    assert_graphs_equal(G.subgraph(range(n)).copy(), inner)
    assert sorted(G.succ[-1]) == [v for v in inner if not inner.pred[v]]
    assert sorted(G.pred[n]) == [v for v in inner if not inner.succ[v]]
    validate(G, allow_dead_units=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 10, "model": "sbm"}, ValueError, "model must be one of er, ba, ws; got 'sbm'"),
        ({"n": 10, "model": "ba", "p": 0.5}, ValueError, "p is not a parameter of the 'ba'"),
        ({"n": 5, "model": "ba"}, ValueError, r"m must be between 1 and n - 1 = 4, got 5"),
        ({"n": 3, "model": "ws"}, ValueError, "k must be between 0 and n = 3, got 4"),
        ({"n": 0, "model": "er"}, ValueError, "n must be at least 1"),
    ],
)
def test_randwire_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        randwire(**kwargs)
