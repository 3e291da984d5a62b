import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import graphnn
from graphnn.nn import MaskedFFN, MaskedLinear
from graphnn.prune import random as random_prune
from graphnn.prune.structured import remove_dead_units, unit_scores, units
from graphnn.strategies import dags, layered_dags, structures
from graphnn.structure.equality import assert_graphs_equal
from graphnn.structure.roles import dead_units, roles

ACTS = ["relu", "tanh", "sigmoid", "identity", "leaky_relu", "softplus", "elu", "gelu"]
LAYERED = structures(layered_dags(max_layers=5, max_width=4), activations=ACTS, explicit_roles=True)
ANY_DAG = structures(dags(min_nodes=2, max_nodes=12), activations=ACTS, explicit_roles=True)
SEEDS = st.integers(0, 2**31 - 1)
FRACTIONS = st.floats(0.0, 1.0)


def compiled(G: nx.DiGraph, layout: str = "auto") -> graphnn.MaskedDAG:
    return graphnn.compile(G, layout=layout, dtype=torch.float64)


def pruned(G: nx.DiGraph, fraction: float, seed: int, layout: str = "auto"):
    """The model of G with a random fraction of its connections masked (inputs may lose all)."""
    return random_prune(compiled(G, layout), fraction, seed=seed, protect=False)


def inputs_for(model, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(7, model.n_inputs, generator=generator, dtype=torch.float64)


def hidden_of(G: nx.DiGraph) -> list:
    return [v for v, r in roles(G).items() if r == "hidden"]


# --- the slow, obvious reference ------------------------------------------------------------


def reference_scores(model, norm: str, direction: str) -> dict:
    """The norm of each hidden unit's live connection weights, read off model.to_graph()."""
    G = model.to_graph()
    scores = {}
    for v in hidden_of(G):
        weights = []
        if direction in ("in", "both"):
            weights += [w for _, _, w in G.in_edges(v, data="weight")]
        if direction in ("out", "both"):
            weights += [w for _, _, w in G.out_edges(v, data="weight")]
        ord_ = 1 if norm == "l1" else 2
        scores[v] = float(np.linalg.norm(np.array(weights), ord=ord_)) if weights else 0.0
    return scores


# --- unit_scores ------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["dense", "sparse", "block"])
@settings(max_examples=15, deadline=None)
@given(
    G=ANY_DAG,
    fraction=FRACTIONS,
    seed=SEEDS,
    norm=st.sampled_from(["l1", "l2"]),
    direction=st.sampled_from(["in", "out", "both"]),
)
def test_unit_scores_match_the_reference(G, fraction, seed, norm, direction, layout):
    model = pruned(G, fraction, seed, layout)
    scores = unit_scores(model, norm=norm, direction=direction)
    expected = reference_scores(model, norm, direction)
    assert list(scores) == list(expected)  # hidden units in node order
    assert scores == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_unit_scores_of_a_small_graph():
    G = nx.DiGraph()
    G.add_weighted_edges_from([("x", "h", 3.0), ("h", "y", -4.0), ("x", "y", 1.0)])
    model = graphnn.compile(G)
    assert unit_scores(model) == {"h": 5.0}
    assert unit_scores(model, norm="l1") == {"h": 7.0}
    assert unit_scores(model, direction="in") == {"h": 3.0}
    model.masked_layers()[1].mask = torch.tensor([[True, False]])  # mask h -> y
    assert unit_scores(model, direction="out") == {"h": 0.0}


# --- units --------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(G=LAYERED, fraction=FRACTIONS, seed=SEEDS, data=st.data())
def test_units_removes_the_lowest_scoring_hidden_units(G, fraction, seed, data):
    model = pruned(G, fraction, seed)
    before = model.to_graph()
    scores = unit_scores(model)
    count = data.draw(st.integers(0, len(scores)), label="count")
    new = units(model, count, protect=False)
    after = new.to_graph()
    removed = [v for v in before if v not in after]
    ranked = sorted(scores, key=scores.__getitem__)  # stable: ties in node order
    assert removed == [v for v in before if v in set(ranked[:count])]
    assert_graphs_equal(after, graphnn.remove_nodes(before, removed))
    assert graphnn.inputs(after) == graphnn.inputs(before)
    assert graphnn.outputs(after) == graphnn.outputs(before)
    if count:
        assert new.parameter_count() < model.parameter_count()
    assert model.to_graph().number_of_nodes() == before.number_of_nodes()  # model unchanged


@pytest.mark.parametrize(("amount", "expected"), [(0.0, 0), (0.25, 2), (0.5, 4), (1.0, 8)])
def test_units_fraction_of_the_hidden_units(amount, expected):
    model = MaskedFFN(3, 2, [4, 4], dtype=torch.float64)
    new = units(model, amount, protect=False)
    assert model.n_nodes - new.n_nodes == expected
    assert new.n_inputs == 3 and new.n_outputs == 2


def test_units_ties_go_in_node_order():
    G = nx.DiGraph()
    G.add_nodes_from(["x", "c", "a", "b", "y"])
    G.add_weighted_edges_from([(u, v, 1.0) for h in "cab" for u, v in (("x", h), (h, "y"))])
    assert list(units(graphnn.compile(G), 2).to_graph()) == ["x", "b", "y"]


def test_units_threshold():
    G = nx.DiGraph()
    G.add_weighted_edges_from([("x", "a", 1.0), ("x", "b", 0.1), ("a", "y", 1.0)])
    G.add_weighted_edges_from([("b", "y", 0.1), ("x", "y", 1.0)])
    assert list(units(graphnn.compile(G), threshold=1.0).to_graph()) == ["x", "a", "y"]
    assert list(units(graphnn.compile(G), threshold=2.0).to_graph()) == ["x", "y"]


def test_units_keeps_layout_dtype_device_and_engine():
    model = MaskedFFN(6, 2, [5], layout="sparse", dtype=torch.float64)
    model.engine = "autograd"
    model.eval()
    new = units(model, 2)
    assert {layer.layout for layer in new.masked_layers()} == {"sparse"}
    assert new.dtype == torch.float64 and new.engine == "autograd" and not new.training
    assert type(new) is graphnn.MaskedDAG


def test_protect_keeps_an_output_connected():
    G = nx.DiGraph()
    G.add_weighted_edges_from([("x", "a", 1.0), ("x", "b", 0.1), ("a", "y", 1.0)])
    G.add_weighted_edges_from([("b", "y", 0.1)])
    model = graphnn.compile(G)
    with pytest.raises(ValueError, match="only 1 can go"):
        units(model, 2)
    assert list(units(model, threshold=10.0).to_graph()) == ["x", "a", "y"]  # b goes, a stays
    bare = units(model, 2, protect=False).to_graph()
    assert list(bare) == ["x", "y"] and bare.number_of_edges() == 0


@settings(max_examples=30, deadline=None)
@given(G=LAYERED, fraction=FRACTIONS, seed=SEEDS)
def test_protect_guarantee(G, fraction, seed):
    model = pruned(G, fraction, seed)
    before = model.to_graph()
    after = units(model, threshold=float("inf")).to_graph()
    for y in graphnn.outputs(before):
        assert bool(after.pred[y]) == bool(before.pred[y])
    for v in hidden_of(after):  # every unit kept is the last one into some output
        assert any(len(after.pred[y]) == 1 for y in after.succ[v] if y in graphnn.outputs(after))


@settings(max_examples=30, deadline=None)
@given(G=LAYERED, fraction=FRACTIONS, seed=SEEDS)
def test_units_without_a_path_to_an_output_leave_the_outputs_identical(G, fraction, seed):
    model = pruned(G, fraction, seed)
    scores = unit_scores(model, direction="out")
    silent = [v for v, s in scores.items() if s == 0.0]  # reach nothing, or only by 0 weights
    new = units(model, len(silent), direction="out", protect=False)
    assert set(new.to_graph()) == set(model.to_graph()) - set(silent)
    x = inputs_for(model)
    torch.testing.assert_close(new(x), model(x), rtol=1e-12, atol=1e-12)


def test_masked_out_unit_is_removed_without_changing_the_outputs():
    torch.manual_seed(0)
    model = MaskedFFN(4, 3, [6, 5], dtype=torch.float64)
    second = model.masked_layers()[1]
    mask = second.mask.clone()
    mask[:, 2] = False  # hidden unit 4 + 2 feeds nothing
    second.mask = mask
    x = inputs_for(model)
    for new in (units(model, 1, direction="out"), remove_dead_units(model)):
        assert 6 not in new.to_graph() and new.n_nodes == model.n_nodes - 1
        torch.testing.assert_close(new(x), model(x), rtol=1e-12, atol=1e-12)


# --- remove_dead_units ----------------------------------------------------------------------


@pytest.mark.parametrize("strategy", [LAYERED, ANY_DAG], ids=["layered", "dags"])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), fraction=FRACTIONS, seed=SEEDS)
def test_remove_dead_units_computes_the_same_function(strategy, data, fraction, seed):
    G = data.draw(strategy, label="G")
    model = pruned(G, fraction, seed)
    before = model.to_graph()
    dead = dead_units(before)
    new = remove_dead_units(model)
    after = new.to_graph()
    assert dead_units(after) == []
    assert list(after) == [v for v in before if v not in set(dead)]
    assert after.number_of_nodes() == before.number_of_nodes() - len(dead)
    assert {v: r for v, r in roles(before).items() if v in after} == roles(after)
    assert new is not model
    x = inputs_for(model, seed)
    torch.testing.assert_close(new(x), model(x), rtol=1e-10, atol=1e-10)


def constant_chain() -> nx.DiGraph:
    """x -> h -> y, with constants c1 -> c2 feeding h and y, and a constant output z."""
    G = nx.DiGraph()
    G.add_weighted_edges_from(
        [("x", "h", 0.5), ("h", "y", 2.0), ("c1", "c2", -1.5), ("c2", "h", 0.7)]
    )
    G.add_weighted_edges_from([("c1", "y", 1.25), ("c2", "z", 3.0), ("x", "d", 1.0)])
    G.nodes["c1"].update(role="hidden", bias=0.8, activation="sigmoid")
    G.nodes["c2"].update(bias=0.3, activation="tanh")
    G.nodes["d"].update(role="hidden", bias=0.0)  # reaches no output
    G.nodes["h"].update(bias=-0.2, activation="elu")
    for v in "yz":
        G.nodes[v].update(bias=0.1, activation="softplus")
    return G


@pytest.mark.parametrize("layout", ["dense", "sparse", "block"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_constants_are_folded_into_the_biases(layout, dtype):
    model = graphnn.compile(constant_chain(), layout=layout, dtype=dtype)
    new = remove_dead_units(model)
    H = new.to_graph()
    assert list(H) == ["x", "h", "y", "z"] and list(H.edges) == [("x", "h"), ("h", "y")]
    c1 = 1.0 / (1.0 + np.exp(-0.8))
    c2 = np.tanh(0.3 - 1.5 * c1)
    assert H.nodes["h"]["bias"] == pytest.approx(-0.2 + 0.7 * c2, rel=1e-6)
    assert H.nodes["y"]["bias"] == pytest.approx(0.1 + 1.25 * c1, rel=1e-6)
    assert H.nodes["z"]["bias"] == pytest.approx(0.1 + 3.0 * c2, rel=1e-6)  # a constant output
    assert {layer.layout for layer in new.masked_layers()} == {layout}
    x = torch.linspace(-2, 2, 9, dtype=dtype).unsqueeze(1)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(new(x), model(x), rtol=tol, atol=tol)


def test_remove_dead_units_without_dead_units_is_a_recompiled_copy():
    model = MaskedFFN(4, 2, [3], dtype=torch.float64)
    new = remove_dead_units(model)
    assert new is not model
    assert_graphs_equal(new.to_graph(), model.to_graph())


def test_dead_inputs_of_a_ffn_become_biases():
    torch.manual_seed(1)
    model = MaskedFFN(4, 3, [6, 5], dtype=torch.float64, activation="tanh")
    first = model.masked_layers()[0]
    mask = first.mask.clone()
    mask[1:4] = False  # hidden units 5, 6, 7 get no input: constants
    first.mask = mask
    new = remove_dead_units(model)
    assert sorted(set(model.to_graph()) - set(new.to_graph())) == [5, 6, 7]
    x = inputs_for(model)
    torch.testing.assert_close(new(x), model(x), rtol=1e-12, atol=1e-12)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "exactly one of amount"),
        ({"amount": 1, "threshold": 0.5}, ValueError, "exactly one of amount"),
        ({"amount": -1}, ValueError, "between 0 and the 4 hidden units"),
        ({"amount": 5}, ValueError, "between 0 and the 4 hidden units"),
        ({"amount": 1.5}, ValueError, r"lie in \[0, 1\]"),
        ({"amount": float("nan")}, ValueError, r"lie in \[0, 1\]"),
        ({"amount": True}, TypeError, "fraction .* or a count"),
        ({"amount": "half"}, TypeError, "fraction .* or a count"),
        ({"threshold": "low"}, TypeError, "threshold must be a real number"),
        ({"threshold": float("nan")}, ValueError, "threshold must be a number"),
        ({"amount": 1, "norm": "l3"}, ValueError, "norm must be one of l1, l2"),
        ({"amount": 1, "direction": "up"}, ValueError, "direction must be one of in, out, both"),
        ({"amount": 4}, ValueError, "cannot remove 4 hidden units with protect=True"),
    ],
)
def test_units_rejects_bad_arguments(kwargs, error, match):
    model = MaskedFFN(3, 2, [4])
    with pytest.raises(error, match=match):
        units(model, **kwargs)


@pytest.mark.parametrize("model", [torch.nn.Linear(2, 2), MaskedLinear(2, 2), None])
@pytest.mark.parametrize(
    "function", [unit_scores, units, remove_dead_units], ids=lambda f: f.__name__
)
def test_structured_pruning_needs_a_compiled_dag(model, function):
    with pytest.raises(TypeError, match="needs a compiled MaskedDAG"):
        function(model)
