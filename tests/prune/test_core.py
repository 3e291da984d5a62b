import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import graphnn
from graphnn import prune
from graphnn.nn import MaskedFFN, MaskedLinear
from graphnn.prune.core import live_parameters, prune_by_scores, sparsity
from graphnn.strategies import dags, layered_dags, structures

LAYOUTS = ["dense", "sparse", "block"]


def live(model):
    return [layer.weight_count for layer in model.masked_layers()]


def ffn(layout="dense", seed=0):
    torch.manual_seed(seed)
    return MaskedFFN(12, 4, [10, 8], layout=layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.5, 0.77, 1.0])
def test_global_fraction_prunes_exactly(layout, fraction):
    model = ffn(layout)
    before = sum(live(model))
    prune.magnitude(model, fraction, protect=False)
    assert sum(live(model)) == before - round(fraction * before)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layer_scope_prunes_each_layer_exactly(layout):
    model = ffn(layout)
    before = live(model)
    prune.magnitude(model, 0.4, scope="layer", protect=False)
    assert live(model) == [n - round(0.4 * n) for n in before]
    prune.magnitude(model, 3, scope="class-uniform", protect=False)
    assert live(model) == [n - round(0.4 * n) - 3 for n in before]


def test_count_and_threshold_amounts():
    model = ffn()
    before = sum(live(model))
    prune.magnitude(model, 17)
    assert sum(live(model)) == before - 17
    scores = prune.magnitude_scores(model)
    prune.magnitude(model, threshold=0.2, protect=False)
    for layer, s in zip(model.masked_layers(), scores, strict=True):
        assert torch.all(s[layer.mask] >= 0.2)
    assert all(torch.all(layer.weight.abs()[layer.mask] >= 0.2) for layer in model.masked_layers())


def test_global_scope_ranks_across_layers():
    model = ffn()
    scores = [
        torch.full_like(layer.weight, float(k)) for k, layer in enumerate(model.masked_layers())
    ]
    n0 = live(model)[0]
    prune_by_scores(model, scores, n0, protect=False)  # exactly the lowest layer goes
    assert live(model)[0] == 0 and live(model)[1:] == [80, 32]


def test_ties_are_broken_by_position():
    layer = MaskedLinear(4, 3)
    prune_by_scores(layer, [torch.zeros(3, 4)], 5)
    assert layer.mask.flatten().tolist() == [False] * 5 + [True] * 7


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4),
    st.sampled_from(LAYOUTS),
    st.integers(0, 99),
)
def test_pruning_never_revives(fractions, layout, seed):
    model = ffn(layout, seed)
    masks = [layer.mask.clone() for layer in model.masked_layers()]
    for i, fraction in enumerate(fractions):
        # scores that rank the already-pruned entries highest: they must stay pruned
        scores = [torch.where(m, torch.rand(m.shape), torch.full(m.shape, 9.0)) for m in masks]
        prune_by_scores(model, scores, fraction, scope=["global", "layer"][i % 2], protect=False)
        for layer, old in zip(model.masked_layers(), masks, strict=True):
            assert not bool((layer.mask & ~old).any())
        masks = [layer.mask.clone() for layer in model.masked_layers()]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_protection_keeps_inputs_and_outputs_connected(layout):
    model = ffn(layout)
    unprotected = live(model)
    prune.magnitude(model, 1.0, protect=False)
    assert sum(live(model)) == 0
    model = ffn(layout)
    total = sum(unprotected)
    prunable = total - 12 - 4  # every input keeps one out-edge, every output one in-edge
    prune.magnitude(model, prunable)
    H = model.to_graph()
    assert all(H.out_degree(v) >= 1 for v in graphnn.inputs(H))
    assert all(H.in_degree(v) >= 1 for v in graphnn.outputs(H))
    with pytest.raises(
        ValueError, match=r"cannot prune 1 weights in the model: only 0 live weights"
    ):
        prune.magnitude(model, 1)


@settings(max_examples=30, deadline=None)
@given(
    structures(
        st.one_of(dags(max_nodes=9), layered_dags(max_layers=4)), activations=["relu", "tanh"]
    ),
    st.floats(0.0, 1.0),
    st.sampled_from(LAYOUTS),
    st.integers(0, 99),
)
def test_pruned_model_round_trips_through_its_graph(G, fraction, layout, seed):
    model = graphnn.compile(G, layout=layout, dtype=torch.float64)
    prune.random(model, fraction, seed=seed, scope="global", protect=False)
    H = model.to_graph()
    assert H.number_of_edges() == sum(live(model))
    x = torch.randn(3, model.n_inputs, dtype=torch.float64)
    torch.testing.assert_close(graphnn.compile(H, layout=layout, dtype=torch.float64)(x), model(x))


def test_sparsity_counts_the_structure_connections():
    model = ffn("sparse")
    assert sparsity(model) == 0.0
    prune.magnitude(model, 0.25, protect=False)
    assert sparsity(model) == pytest.approx(round(0.25 * 232) / 232)


def test_plain_modules_of_masked_layers_can_be_pruned():
    net = torch.nn.Sequential(
        MaskedLinear(5, 4), torch.nn.ReLU(), MaskedLinear(4, 2, layout="sparse")
    )
    prune.magnitude(net, 0.5)  # no graph: nothing to protect
    assert sum(m.weight_count for m in net if isinstance(m, MaskedLinear)) == 14


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda m: prune.magnitude(m, 1.5),
            ValueError,
            r"amount=1.5 is a fraction and must lie in \[0, 1\]",
        ),
        (lambda m: prune.magnitude(m, -0.1), ValueError, "must lie in"),
        (
            lambda m: prune.magnitude(m, 10_000),
            ValueError,
            "amount=10000 must be between 0 and the 232 live",
        ),
        (lambda m: prune.magnitude(m, -3), ValueError, "amount=-3 must be between"),
        (lambda m: prune.magnitude(m, True), TypeError, "amount must be a fraction"),
        (lambda m: prune.magnitude(m), ValueError, "give exactly one of amount"),
        (
            lambda m: prune.magnitude(m, 0.5, threshold=0.1),
            ValueError,
            "give exactly one of amount",
        ),
        (
            lambda m: prune.magnitude(m, 0.5, scope="network"),
            ValueError,
            "scope must be one of global",
        ),
        (
            lambda m: prune_by_scores(m, [torch.zeros(1)], 0.5),
            ValueError,
            r"one score tensor per masked layer \(3\)",
        ),
        (
            lambda m: prune_by_scores(m, [torch.zeros(2, 2)] * 3, 0.5),
            ValueError,
            r"scores of layer 0 must have the shape of its weight \(10, 12\), got \(2, 2\)",
        ),
        (
            lambda m: prune_by_scores(
                m, [torch.full_like(layer.weight, float("nan")) for layer in m.masked_layers()], 0.5
            ),
            ValueError,
            "scores of layer 0 are NaN at live connections",
        ),
        (
            lambda m: prune.magnitude(torch.nn.Linear(2, 2), 0.5),
            ValueError,
            "Linear has no masked layers",
        ),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call(ffn())


def test_nan_scores_at_masked_connections_are_fine():
    model = ffn()
    prune.magnitude(model, 0.5, protect=False)
    scores = [
        torch.where(layer.mask, layer.weight.detach().abs(), torch.tensor(np.nan))
        for layer in model.masked_layers()
    ]
    prune_by_scores(model, scores, 0.1, protect=False)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_live_parameters_are_the_live_weights_and_the_biases(layout):
    model = graphnn.compile(graphnn.generators.layered([5, 4, 3], seed=0), layout=layout, seed=0)
    assert live_parameters(model) == model.parameter_count() == 5 * 4 + 4 * 3 + 4 + 3
    prune_by_scores(model, [layer.weight.detach().abs() for layer in model.masked_layers()], 10)
    assert live_parameters(model) == model.parameter_count() == 5 * 4 + 4 * 3 - 10 + 4 + 3


def test_live_parameters_of_plain_modules_and_layers_without_bias():
    mask = torch.tensor([[True, False, True], [False, False, True]])
    model = torch.nn.Sequential(MaskedLinear(3, 2, mask=mask), MaskedLinear(2, 4, bias=False))
    assert live_parameters(model) == 3 + 2 + 8
    with pytest.raises(ValueError, match="Linear has no masked layers to prune"):
        live_parameters(torch.nn.Linear(2, 2))
