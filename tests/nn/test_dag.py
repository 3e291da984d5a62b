import io

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import graphnn
from graphnn.exceptions import StructureError
from graphnn.nn import MaskedDAG, compile
from graphnn.nn.activations import ACTIVATIONS
from graphnn.strategies import dags, layered_dags, structures
from graphnn.structure.equality import assert_graphs_equal
from graphnn.structure.roles import inputs, outputs

ACTS = ["relu", "tanh", "sigmoid", "identity", "leaky_relu", "softplus"]
LABELS = st.one_of(
    st.integers(-50, 50), st.text(max_size=3), st.tuples(st.integers(0, 3), st.text(max_size=2))
)


# --- the slow, obvious reference ------------------------------------------------------------


def reference(G: nx.DiGraph, x: torch.Tensor, weight=None, bias=None) -> torch.Tensor:
    """h_v = f_v(b_v + sum_u w_uv h_u), one node at a time in a topological order.

    ``G`` carries every parameter (as ``model.to_graph()`` gives it); ``weight`` and
    ``bias`` may map edges and nodes to tensors that replace them (for gradients).
    """
    weight = weight or {}
    bias = bias or {}
    h = {v: x[:, i] for i, v in enumerate(inputs(G))}
    for v in nx.topological_sort(G):
        if v in h:
            continue
        z = bias.get(v, torch.tensor(G.nodes[v]["bias"], dtype=x.dtype)).expand(x.shape[0])
        for u in G.pred[v]:
            z = z + weight.get((u, v), torch.tensor(G.edges[u, v]["weight"], dtype=x.dtype)) * h[u]
        h[v] = ACTIVATIONS[G.nodes[v]["activation"]](z)
    return torch.stack([h[v] for v in outputs(G)], dim=1)


def edge_gradients(model: MaskedDAG) -> dict:
    """The gradient of every live edge's weight, keyed by (u, v)."""
    plan, grads = model._plan, {}
    for stage, edges in zip(model.stages, model._entry_edges, strict=True):
        layer = stage.layer
        _, _, _, live = layer.entries()
        g = layer.weight.grad
        values = g if layer.layout == "sparse" else g[layer.pattern]  # in the order of entries()
        for e, value, alive in zip(edges.tolist(), values.tolist(), live.tolist(), strict=True):
            if alive:
                grads[plan.labels[plan.src[e]], plan.labels[plan.dst[e]]] = value
    return grads


def restricted(H: nx.DiGraph, G: nx.DiGraph) -> nx.DiGraph:
    """H with only the attributes G has (to compare up to what compiling filled in)."""
    R = nx.DiGraph()
    R.graph.update(H.graph)
    R.add_nodes_from((v, {k: d[k] for k in G.nodes[v] if k in d}) for v, d in H.nodes(data=True))
    R.add_edges_from(
        (u, v, {k: d[k] for k in G.edges[u, v] if k in d}) for u, v, d in H.edges(data=True)
    )
    return R


def batch(model: MaskedDAG, n=5, seed=0, dtype=None) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, model.n_inputs, generator=g, dtype=dtype or model.dtype)


drawn = structures(
    dags(max_nodes=10, labels=LABELS, shuffle=True), activations=ACTS, explicit_roles=True
)
drawn_layered = structures(
    layered_dags(max_layers=5, max_width=4), activations=ACTS, explicit_roles=True
)


# --- the round trip -------------------------------------------------------------------------


@settings(max_examples=60)
@given(st.one_of(drawn, drawn_layered), st.sampled_from(["dense", "sparse", "block"]))
def test_round_trip_graph_model_graph(G, layout):
    model = compile(G, layout=layout)
    H = model.to_graph()
    assert_graphs_equal(restricted(H, G), G)  # G comes back, up to what compile filled in
    assert all(H.nodes[v]["layer"] == graphnn.layer_index(G)[v] for v in G)
    again = compile(H, layout=layout)
    assert_graphs_equal(again.to_graph(), H)  # and from then on it is exact
    x = batch(model)
    torch.testing.assert_close(again(x), model(x), rtol=0, atol=0)


@settings(max_examples=40)
@given(st.one_of(drawn, drawn_layered))
def test_model_agrees_with_the_reference_and_layouts_agree(G):
    dense = compile(G, layout="dense", dtype=torch.float64)
    sparse = compile(G, layout="sparse", dtype=torch.float64)
    H = dense.to_graph()
    x = batch(dense).requires_grad_()
    expected = reference(H, x)
    for model in (dense, sparse):
        torch.testing.assert_close(model(x), expected)


@settings(max_examples=30)
@given(st.one_of(drawn, drawn_layered), st.sampled_from(["dense", "sparse", "block"]))
def test_gradients_agree_with_the_reference(G, layout):
    model = compile(G, layout=layout, dtype=torch.float64)
    H = model.to_graph()
    x = batch(model, seed=1).requires_grad_()
    weight = {
        e: torch.tensor(H.edges[e]["weight"], dtype=torch.float64, requires_grad=True)
        for e in H.edges
    }
    out_grad = torch.randn(x.shape[0], model.n_outputs, dtype=torch.float64)
    model(x).backward(out_grad)
    grad_x = x.grad.clone()
    x.grad = None
    reference(H, x, weight).backward(out_grad)
    torch.testing.assert_close(grad_x, x.grad)
    got = edge_gradients(model)
    for e, w in weight.items():
        expected = 0.0 if w.grad is None else w.grad.item()
        assert got[e] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("layout", ["dense", "sparse", "block"])
def test_gradcheck(layout):
    torch.manual_seed(0)
    G = graphnn.generators.layered([3, 4, 3, 2], density=0.6, skip_density=0.3, seed=1)
    G.nodes[5]["activation"] = "tanh"  # mixed activations in one stage
    model = compile(G, activation="sigmoid", layout=layout, dtype=torch.float64)
    model.masked_layers()[0].recompute_mask(0.1)  # and some pruned connections
    x = batch(model, n=2).requires_grad_()
    assert torch.autograd.gradcheck(model, (x,))
    names = [name for name, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())

    def of_parameters(*values):
        return torch.func.functional_call(
            model, dict(zip(names, values, strict=True)), (x.detach(),)
        )

    assert torch.autograd.gradcheck(of_parameters, params)


def test_engine_is_checked():
    model = compile(path())
    assert model.engine == "fused"
    with pytest.raises(ValueError, match="engine must be one of fused, autograd; got 'slow'"):
        model.engine = "slow"


# --- structures of every kind ---------------------------------------------------------------


def test_isolated_inputs_several_outputs_and_an_output_that_feeds_on():
    G = nx.DiGraph([("a", "h"), ("b", "h"), ("h", "y1"), ("y1", "y2"), ("a", "y2")])
    G.add_node("unused")
    G.nodes["y1"]["role"] = "output"
    model = compile(G, dtype=torch.float64)
    assert model.input_nodes == ["a", "b", "unused"]
    assert model.output_nodes == ["y1", "y2"]
    x = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(model(x), reference(model.to_graph(), x))
    model(x).sum().backward()
    assert torch.all(x.grad[:, 2] == 0)  # the isolated input does not matter


def test_constant_units_and_dead_units():
    G = nx.DiGraph([("x", "h"), ("h", "y"), ("c", "h"), ("x", "dead")])
    G.nodes["c"]["role"] = "hidden"  # a source that is not an input: a constant unit
    G.nodes["dead"]["role"] = "hidden"  # reaches no output
    G.nodes["c"]["bias"] = 2.0
    model = compile(G, activation="identity", dtype=torch.float64)
    H = model.to_graph()
    x = torch.randn(4, 1, dtype=torch.float64)
    torch.testing.assert_close(model(x), reference(H, x))
    assert H.nodes["c"]["layer"] == 0 and H.nodes["c"]["role"] == "hidden"


def test_other_attributes_are_kept():
    G = nx.DiGraph([(0, 1, {"kind": "skip", "weight": 0.5}), (1, 2)], name="net", year=2026)
    G.nodes[1]["pos"] = (0.0, 1.0)
    H = compile(G).to_graph()
    assert H.graph == {"name": "net", "year": 2026}
    assert H.nodes[1]["pos"] == (0.0, 1.0)
    assert H.edges[0, 1] == {"kind": "skip", "weight": 0.5}


def test_node_order_and_edge_order_follow_the_structure():
    G = nx.DiGraph()
    G.add_nodes_from(["y", "h2", "x", "h1"])
    G.add_edges_from([("x", "h2"), ("h2", "y"), ("x", "h1"), ("h1", "y")])
    H = compile(G).to_graph()
    assert list(H) == list(G)
    assert list(H.edges) == list(G.edges)


def test_skip_connections_across_many_layers():
    G = nx.path_graph(8, create_using=nx.DiGraph)
    G.add_edges_from([(0, 7), (1, 6), (0, 4)])
    model = compile(G, activation="tanh", dtype=torch.float64)
    assert len(model.stages) == 7
    x = torch.randn(3, 1, dtype=torch.float64)
    torch.testing.assert_close(model(x), reference(model.to_graph(), x))


# --- pruning, masks and counts --------------------------------------------------------------


@settings(max_examples=30)
@given(
    drawn_layered, st.floats(0.0, 0.875, width=32), st.sampled_from(["dense", "sparse", "block"])
)
def test_pruned_models_round_trip(G, threshold, layout):
    model = compile(G, layout=layout)
    model.recompute_mask(threshold)
    H = model.to_graph()
    graphnn.validate(H)
    assert H.number_of_edges() == sum(layer.weight_count for layer in model.masked_layers())
    assert all(abs(w) >= threshold for *_, w in H.edges(data="weight"))
    x = batch(model)
    torch.testing.assert_close(compile(H, layout=layout)(x), model(x))


def test_counts_densities_and_masked_layers():
    G = graphnn.generators.layered([4, 3, 2], density=1.0, seed=0)
    model = compile(G, layout="dense")
    assert [type(layer).__name__ for layer in model.masked_layers()] == ["MaskedLinear"] * 2
    assert model.densities() == [1.0, 1.0]
    assert model.parameter_count() == 12 + 6 + 3 + 2
    model.masked_layers()[0].mask[0, :] = False
    assert model.parameter_count() == 12 + 6 + 3 + 2 - 4
    assert model.parameter_count(live_only=False) == 12 + 6 + 3 + 2
    assert model.apply_mask() is model and model.recompute_mask(0.0) is model


@pytest.mark.parametrize("layout", ["dense", "sparse", "block"])
def test_masked_weights_receive_no_update(layout):
    torch.manual_seed(0)
    model = compile(
        graphnn.generators.layered([6, 8, 3], density=0.7, skip_density=0.3, seed=2), layout=layout
    )
    model.recompute_mask(0.15)
    before = [layer.weight.detach().clone() for layer in model.masked_layers()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(3):
        optimizer.zero_grad()
        model(batch(model, n=16)).pow(2).sum().backward()
        optimizer.step()
    for layer, old in zip(model.masked_layers(), before, strict=True):
        assert torch.equal(layer.weight.detach()[~layer.mask], old[~layer.mask])


# --- state --------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["dense", "sparse", "block"])
def test_state_dict_and_pickle_round_trip(layout):
    G = graphnn.generators.layered([5, 6, 2], density=0.5, skip_density=0.2, seed=3)
    model = compile(G, layout=layout)
    model.recompute_mask(0.2)
    state = io.BytesIO()
    torch.save(model.state_dict(), state)
    state.seek(0)
    other = compile(G, layout=layout)
    other.load_state_dict(torch.load(state))
    x = batch(model)
    torch.testing.assert_close(other(x), model(x))
    assert_graphs_equal(other.to_graph(), model.to_graph())
    whole = io.BytesIO()
    torch.save(model, whole)
    whole.seek(0)
    torch.testing.assert_close(torch.load(whole, weights_only=False)(x), model(x))


def test_state_dict_of_another_structure_is_refused():
    model = compile(graphnn.generators.layered([5, 6, 2], seed=0))
    other = compile(graphnn.generators.layered([5, 6, 2], density=0.5, seed=1))
    with pytest.raises(ValueError, match="saved from a model of another structure"):
        other.load_state_dict(model.state_dict())


def test_state_dict_of_another_layout_is_refused():
    G = graphnn.generators.layered([5, 6, 2], seed=0)
    with pytest.raises(RuntimeError, match="size mismatch"):
        compile(G, layout="sparse").load_state_dict(compile(G, layout="dense").state_dict())


# --- inputs and dtypes --------------------------------------------------------------------------


def test_input_shapes():
    model = compile(graphnn.generators.layered([12, 4, 3], seed=0))
    assert model(torch.randn(12)).shape == (3,)
    assert model(torch.randn(7, 12)).shape == (7, 3)
    assert model(torch.randn(7, 3, 2, 2)).shape == (7, 3)
    torch.testing.assert_close(model(torch.ones(12)), model(torch.ones(1, 12))[0])


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        (torch.randn(4, 11), ValueError, r"expected input of shape \[batch, 12\].*got \(4, 11\)"),
        (torch.randn(11), ValueError, r"got \(11,\)"),
        (torch.tensor(1.0), ValueError, r"got \(\)"),
        (torch.randn(4, 12, dtype=torch.float64), TypeError, "input dtype torch.float64 differs"),
        (torch.ones(4, 12, dtype=torch.int64), TypeError, "input dtype torch.int64 differs"),
        (np.ones((4, 12), dtype=np.float32), TypeError, "input must be a torch.Tensor"),
    ],
)
def test_bad_inputs(x, error, match):
    model = compile(graphnn.generators.layered([12, 4, 3], seed=0))
    with pytest.raises(error, match=match):
        model(x)


@pytest.mark.parametrize("layout", ["dense", "sparse", "block"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dtypes(layout, dtype):
    G = graphnn.generators.layered([6, 5, 3], density=0.5, skip_density=0.2, seed=0)
    model = compile(G, layout=layout, dtype=dtype)
    y = model(batch(model))
    assert y.dtype == dtype
    y.float().sum().backward()
    reference_model = compile(model.to_graph(), layout=layout, dtype=torch.float64)
    tol = {"rtol": 0.05, "atol": 0.05} if dtype != torch.float64 else {}
    torch.testing.assert_close(y.double(), reference_model(batch(model).double()), **tol)


# --- bad structures -----------------------------------------------------------------------------


def with_attr(G, element, **attrs):
    (G.edges if isinstance(element, tuple) else G.nodes)[element].update(attrs)
    return G


def path():
    return nx.path_graph(3, create_using=nx.DiGraph)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: compile(nx.DiGraph([(0, 1), (1, 0)])), StructureError, "cycle"),
        (lambda: compile(with_attr(path(), (0, 1), weight=np.inf)), StructureError, "weight=inf"),
        (
            lambda: compile(with_attr(path(), 0, bias=1.0)),
            StructureError,
            "input node 0 has bias=1.0",
        ),
        (
            lambda: compile(with_attr(path(), 0, activation="relu")),
            StructureError,
            "input node 0 has activation",
        ),
        (
            lambda: compile(with_attr(path(), 1, activation="swish")),
            ValueError,
            "node 1: unknown activation 'swish'",
        ),
        (lambda: compile(path(), activation="swish"), ValueError, "activation: unknown activation"),
        (
            lambda: compile(path(), output_activation="max"),
            ValueError,
            "output_activation: unknown",
        ),
        (
            lambda: compile(with_attr(path(), (1, 2), weight=np.ones(3))),
            StructureError,
            "edge 1 -> 2 has weight=array",
        ),
        (
            lambda: compile(with_attr(path(), 2, bias=np.ones((2, 2)))),
            StructureError,
            "node 2 has bias=array",
        ),
        (lambda: compile(path(), layout="coo"), ValueError, "layout must be one of"),
        (
            lambda: compile(path(), dtype=torch.int32),
            TypeError,
            "dtype must be a floating torch.dtype",
        ),
        (lambda: compile(nx.Graph([(0, 1)])), StructureError, "undirected"),
    ],
)
def test_bad_structures_and_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_repr():
    model = compile(graphnn.generators.layered([3, 2], seed=0))
    assert (
        repr(model) == "MaskedDAG(nodes=5, edges=6, inputs=3, outputs=2, stages=1, layouts=dense)"
    )


# --- seeds ----------------------------------------------------------------------------------


def seeded_structure():
    return graphnn.generators.layered([4, 6, 3], density=0.6, skip_density=0.3, seed=1)


def same_state(a: MaskedDAG, b: MaskedDAG) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("layout", ["dense", "sparse", "block"])
def test_the_same_seed_draws_the_same_parameters(layout):
    G = seeded_structure()
    torch.manual_seed(1)
    a = compile(G, layout=layout, seed=3)
    torch.manual_seed(2)  # torch's global generator plays no part
    b = compile(G, layout=layout, seed=3)
    assert same_state(a, b)
    assert same_state(MaskedDAG(G, layout=layout, seed=3), a)
    assert same_state(compile(G, layout=layout, seed=np.uint8(3)), a)


def test_different_seeds_draw_different_parameters():
    G = seeded_structure()
    a, b = compile(G, seed=0), compile(G, seed=1)
    assert not torch.equal(a.masked_layers()[0].weight, b.masked_layers()[0].weight)
    assert not torch.equal(a.masked_layers()[0].bias, b.masked_layers()[0].bias)


def test_a_numpy_generator_seed_is_advanced():
    G = seeded_structure()
    a = compile(G, seed=np.random.default_rng(5))
    assert same_state(a, compile(G, seed=np.random.default_rng(5)))
    rng = np.random.default_rng(5)
    first, second = compile(G, seed=rng), compile(G, seed=rng)
    assert same_state(first, a) and not same_state(first, second)


def test_a_seed_leaves_torchs_global_generator_alone():
    torch.manual_seed(0)
    before = torch.get_rng_state()
    compile(seeded_structure(), seed=4)
    compile(seeded_structure(), seed=np.random.default_rng(4))
    assert torch.equal(torch.get_rng_state(), before)


def test_without_a_seed_torch_manual_seed_decides():
    G = seeded_structure()
    torch.manual_seed(7)
    a = compile(G)
    after = torch.get_rng_state()
    torch.manual_seed(7)
    b = compile(G, seed=None)
    assert same_state(a, b) and torch.equal(torch.get_rng_state(), after)
    torch.manual_seed(8)
    assert not same_state(a, compile(G))


def test_without_a_seed_the_weights_then_the_biases_are_drawn_from_torch():
    G = seeded_structure()  # nodes numbered layer by layer: buffer order is node order
    torch.manual_seed(11)
    H = compile(G, dtype=torch.float64).to_graph()
    torch.manual_seed(11)
    weight_draws = torch.rand(G.number_of_edges(), dtype=torch.float64).tolist()
    computed = [v for v in G if G.in_degree(v)]
    bias_draws = torch.rand(len(computed), dtype=torch.float64).tolist()
    for (u, v), d in zip(G.edges, weight_draws, strict=True):
        assert H.edges[u, v]["weight"] == (2.0 * d - 1.0) * (1.0 / np.sqrt(G.in_degree(v)))
    for v, d in zip(computed, bias_draws, strict=True):
        assert H.nodes[v]["bias"] == (2.0 * d - 1.0) * (1.0 / np.sqrt(G.in_degree(v)))


def test_seeded_values_do_not_depend_on_the_dtype():
    G = seeded_structure()
    wide, narrow = compile(G, dtype=torch.float64, seed=2), compile(G, dtype=torch.float32, seed=2)
    for p, q in zip(wide.parameters(), narrow.parameters(), strict=True):
        assert torch.equal(p.float(), q)


def test_a_seed_draws_only_what_the_structure_does_not_give():
    H = compile(seeded_structure(), seed=0).to_graph()  # every weight and bias given
    assert same_state(compile(H, seed=1), compile(H, seed=2))
    assert same_state(compile(H, seed=1), compile(H))


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [
        (-1, ValueError, "seed must be a non-negative int, got -1"),
        (1.5, TypeError, "seed must be None, a non-negative int or a numpy.random.Generator"),
        ("0", TypeError, "got str"),
        (True, TypeError, "got bool"),
        (np.random.RandomState(0), TypeError, "got RandomState"),
    ],
)
def test_bad_seeds(seed, error, match):
    G = seeded_structure()
    with pytest.raises(error, match=match):
        compile(G, seed=seed)
    with pytest.raises(error, match=match):
        MaskedDAG(G, seed=seed)
