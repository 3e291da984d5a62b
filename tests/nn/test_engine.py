import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import graphnn
from graphnn.nn import compile
from graphnn.nn.activations import ACTIVATIONS
from graphnn.nn.engine import ENGINES, is_chain, run
from graphnn.strategies import dags, layered_dags, structures

LAYOUTS = ["dense", "sparse", "block"]
drawn = structures(
    dags(max_nodes=10, shuffle=True), activations=list(ACTIVATIONS), explicit_roles=True
)
drawn_layered = structures(
    layered_dags(max_layers=5, max_width=4), activations=list(ACTIVATIONS), explicit_roles=True
)
any_structure = st.one_of(drawn, drawn_layered)


def batch(model, n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, model.n_inputs, generator=g, dtype=model.dtype)


# --- the slow, obvious reference: one stage at a time, dense weights, plain torch -----------


def reference_weight(layer):
    """The layer's effective weight ``[out, in]``, built from its entries with plain torch ops."""
    rows, cols, _, _ = layer.entries()
    live = layer.weight * layer.mask
    values = live if layer.layout == "sparse" else live[layer.pattern]  # in entries() order
    dense = torch.zeros(layer.out_features, layer.in_features, dtype=live.dtype)
    return dense.index_put((rows, cols), values)


def stagewise(model, x):
    """Every stage from the buffer columns it reads, node by node activations; batch-major."""
    plan = model._plan
    buffer = x
    for stage, layer in zip(plan.stages, model.masked_layers(), strict=True):
        z = buffer[:, stage.columns.tolist()] @ reference_weight(layer).T + layer.bias
        a = [ACTIVATIONS[name](z[:, j]) for j, name in enumerate(stage.activations)]
        buffer = torch.cat([buffer, torch.stack(a, dim=1)], dim=1)
    return buffer[:, plan.outputs.tolist()]


def gradients(model, x, compute, out_grad):
    """The output and the gradients of ``x`` and of every parameter (None where none flows)."""
    model.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(x.requires_grad)
    y = compute(model, x)
    y.backward(out_grad)
    return (
        y.detach(),
        x.grad,
        [None if p.grad is None else p.grad.clone() for p in model.parameters()],
    )


def assert_same_gradients(got, expected):
    y, dx, dparams = got
    y_ref, dx_ref, dparams_ref = expected
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(dx, dx_ref)
    for mine, ref in zip(dparams, dparams_ref, strict=True):
        if ref is None:
            assert mine is None or not mine.any()
        else:
            torch.testing.assert_close(mine, ref)


def skips_and_mixed_activations():
    """Stages that read scattered rows of the inputs and of H, with several activations."""
    G = nx.DiGraph()
    G.add_edges_from([("x0", "h0"), ("x1", "h1"), ("x2", "h2")])
    G.add_edges_from([("x0", "g"), ("x2", "g"), ("h0", "g"), ("h2", "g")])
    G.add_edges_from([("g", "y"), ("h1", "y")])
    G.nodes["h0"]["activation"] = "gelu"  # needs its pre-activation
    G.nodes["h1"]["activation"] = "relu"
    return G


def compile_skips(layout="dense"):
    """The model of :func:`skips_and_mixed_activations`, tanh elsewhere (no dead units), seeded."""
    G = skips_and_mixed_activations()
    return compile(G, activation="tanh", layout=layout, dtype=torch.float64, seed=0)


def buffer_sweep(model, x):
    model.chain = False
    return model(x)


# --- the fused sweep against the reference --------------------------------------------------


@settings(max_examples=30)
@given(any_structure, st.sampled_from(LAYOUTS), st.floats(0.0, 0.6))
def test_fused_sweep_matches_the_stagewise_reference(G, layout, threshold):
    model = compile(G, layout=layout, dtype=torch.float64)
    model.recompute_mask(threshold)  # some connections pruned
    x = batch(model, seed=1).requires_grad_()
    out_grad = torch.randn(x.shape[0], model.n_outputs, dtype=torch.float64)
    expected = gradients(model, x, stagewise, out_grad)
    assert_same_gradients(gradients(model, x, buffer_sweep, out_grad), expected)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_scattered_reads_and_activation_groups(layout):
    model = compile_skips(layout)
    assert any(isinstance(s.inputs, tuple) for s in model.stages)  # via column_index
    assert any(isinstance(s.computed, tuple) for s in model.stages)
    assert any(len(s.groups) > 1 for s in model.stages)  # via group_index
    assert model.needs_preactivation and not model.chain
    x = batch(model, n=3).requires_grad_()
    out_grad = torch.randn(3, model.n_outputs, dtype=torch.float64)
    expected = gradients(model, x, stagewise, out_grad)
    assert_same_gradients(gradients(model, x, lambda m, t: m(t), out_grad), expected)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_only_the_gradients_asked_for_are_computed(layout):
    model = compile_skips(layout)
    frozen = model.masked_layers()[0]
    frozen.weight.requires_grad_(False)
    frozen.bias.requires_grad_(False)
    x = batch(model, n=4)  # no input gradient either
    out_grad = torch.randn(4, model.n_outputs, dtype=torch.float64)
    got = gradients(model, x, lambda m, t: m(t), out_grad)
    expected = gradients(model, x, stagewise, out_grad)
    assert got[1] is None and frozen.weight.grad is None and frozen.bias.grad is None
    assert_same_gradients(got, expected)


@settings(max_examples=20)
@given(any_structure, st.sampled_from(LAYOUTS))
def test_without_autograd_the_sweep_computes_the_same_bits(G, layout):
    model = compile(G, layout=layout, dtype=torch.float64)
    model.chain = False
    x = batch(model, seed=3)
    y = model(x.requires_grad_())
    with torch.no_grad():
        torch.testing.assert_close(model(x), y.detach(), rtol=0, atol=0)


def test_run_returns_a_contiguous_batch_major_result():
    model = compile_skips()
    y = run(model, batch(model, n=6))
    assert y.shape == (6, model.n_outputs) and y.is_contiguous()


# --- the two engines ------------------------------------------------------------------------


def test_the_engines():
    assert ENGINES == ("fused", "autograd")


@settings(max_examples=30)
@given(any_structure, st.sampled_from(LAYOUTS))
def test_engines_agree(G, layout):
    fused = compile(G, layout=layout, dtype=torch.float64)
    slow = compile(fused.to_graph(), layout=layout, dtype=torch.float64)
    slow.engine = "autograd"
    x1, x2 = batch(fused, seed=2).requires_grad_(), batch(fused, seed=2).requires_grad_()
    out_grad = torch.randn(x1.shape[0], fused.n_outputs, dtype=torch.float64)
    y1, y2 = fused(x1), slow(x2)
    torch.testing.assert_close(y1, y2)
    y1.backward(out_grad)
    y2.backward(out_grad)
    torch.testing.assert_close(x1.grad, x2.grad)
    for a, b in zip(fused.parameters(), slow.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad)
    with torch.no_grad():
        torch.testing.assert_close(fused(x1), y1)


def test_second_derivatives_with_the_autograd_engine():
    G = graphnn.generators.layered([3, 4, 2], density=1.0, seed=0)
    model = compile(G, activation="tanh", layout="dense", dtype=torch.float64)
    model.engine = "autograd"
    x = batch(model, n=4)
    weight = model.masked_layers()[0].weight
    (g,) = torch.autograd.grad(model(x).pow(2).sum(), weight, create_graph=True)
    (h,) = torch.autograd.grad(g[0, 0], weight)
    assert h.shape == weight.shape and torch.isfinite(h).all()


def test_the_fused_sweep_is_differentiable_once():
    model = compile_skips()
    weight = model.masked_layers()[0].weight
    (g,) = torch.autograd.grad(model(batch(model)).pow(2).sum(), weight, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(g.sum(), weight)


# --- chains ---------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_chains_run_layer_by_layer_with_the_same_results(layout):
    chain = compile(graphnn.generators.layered([6, 5, 4, 3], density=0.6, seed=1), layout=layout)
    assert chain.chain
    assert not compile(graphnn.generators.layered([6, 5, 3], skip_density=0.5, seed=1)).chain
    x = batch(chain, n=7).requires_grad_()
    y = chain(x)
    y.pow(2).sum().backward()
    grads = [p.grad.clone() for p in chain.parameters()]
    chain.zero_grad()
    dx, x.grad = x.grad.clone(), None
    chain.chain = False  # the buffer sweep instead
    torch.testing.assert_close(chain(x), y)
    chain(x).pow(2).sum().backward()
    torch.testing.assert_close(x.grad, dx)
    for p, g in zip(chain.parameters(), grads, strict=True):
        torch.testing.assert_close(p.grad, g)


def layered(sizes, attributes=None):
    G = graphnn.generators.layered(sizes, seed=0)
    for v, attrs in (attributes or {}).items():
        G.nodes[v].update(attrs)
    return G


@pytest.mark.parametrize(
    ("G", "chain"),
    [
        (layered([3, 4, 2]), True),
        (layered([3, 2]), True),
        (graphnn.generators.layered([3, 4, 2], skip_density=1.0, seed=0), False),  # a skip
        (layered([3, 4, 2], {4: {"activation": "tanh"}}), False),  # two activations in a stage
        (layered([3, 4, 2], {3: {"role": "output"}}), False),  # an output before the last stage
    ],
    ids=["layered", "one layer", "skip", "mixed activations", "early output"],
)
def test_what_is_a_chain(G, chain):
    model = compile(G)
    assert model.chain is chain
    assert is_chain(model.stages, model.n_inputs, model.output_rows) is chain
    x = batch(model)
    torch.testing.assert_close(model(x), stagewise(model, x))


def test_no_stages_are_no_chain():
    assert not is_chain([], 3, torch.arange(0))
