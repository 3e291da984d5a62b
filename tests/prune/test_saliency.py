import pytest
import torch
import torch.nn.functional as F

import graphnn
from graphnn import prune
from graphnn.nn import MaskedFFN
from graphnn.prune import saliency


def tiny(layout="dense", dtype=torch.float64):
    torch.manual_seed(0)
    model = MaskedFFN(4, 3, [5], activation="tanh", layout=layout, dtype=dtype)
    prune.random(model, 0.3, seed=1, protect=False)
    return model


def batches(n=3, size=6, dtype=torch.float64):
    g = torch.Generator().manual_seed(4)
    return [
        (torch.randn(size, 4, generator=g, dtype=dtype), torch.randint(0, 3, (size,), generator=g))
        for _ in range(n)
    ]


def reference_gradients(model, data):
    weights = [layer.weight for layer in model.masked_layers()]
    return [torch.autograd.grad(F.cross_entropy(model(x), y), weights) for x, y in data]


def test_magnitude_random_and_distributed_scores():
    model = tiny()
    for s, layer in zip(prune.magnitude_scores(model), model.masked_layers(), strict=True):
        torch.testing.assert_close(s, layer.weight.detach().abs())
    a, b = prune.random_scores(model, seed=3), prune.random_scores(model, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], prune.random_scores(model, seed=4)[0])
    for s, layer in zip(prune.distributed_scores(model), model.masked_layers(), strict=True):
        std = layer.weight.detach()[layer.mask].std()
        torch.testing.assert_close(s, layer.weight.detach().abs() / std)


def test_snip_and_taylor_against_autograd():
    model, data = tiny(), batches()
    grads = reference_gradients(model, data)
    weights = [layer.weight.detach() for layer in model.masked_layers()]
    summed = [sum(g[k] for g in grads) for k in range(len(weights))]
    for s, g, w in zip(
        prune.snip_scores(model, data, F.cross_entropy), summed, weights, strict=True
    ):
        torch.testing.assert_close(s, (g * w).abs())
    expected = [
        sum((g[k] * weights[k]) ** 2 for g in grads) / len(grads) for k in range(len(weights))
    ]
    for s, e in zip(prune.taylor_scores(model, data, F.cross_entropy), expected, strict=True):
        torch.testing.assert_close(s, e)
    assert all(layer.weight.grad is None for layer in model.masked_layers())  # no side effects


@pytest.mark.parametrize("layout", ["dense", "block"])
def test_exact_hessian_diagonal_equals_autograd_hessian(layout):
    model, data = tiny(layout), batches(n=2)
    layers = model.masked_layers()

    def loss_of(*weights):
        names = [f"layers.{k}.weight" for k in range(len(layers))]
        outputs = [
            torch.func.functional_call(model, dict(zip(names, weights, strict=True)), (x,))
            for x, _ in data
        ]
        return sum(F.cross_entropy(o, y) for o, (_, y) in zip(outputs, data, strict=True))

    model.engine = "autograd"
    full = torch.autograd.functional.hessian(
        loss_of, tuple(layer.weight.detach() for layer in layers)
    )
    model.engine = "fused"
    diagonal = prune.hessian_diagonal(model, data, F.cross_entropy, method="exact")
    assert model.engine == "fused"  # restored
    for k, (layer, d) in enumerate(zip(layers, diagonal, strict=True)):
        n = layer.weight.numel()
        expected = full[k][k].reshape(n, n).diagonal().reshape(layer.weight.shape) * layer.mask
        torch.testing.assert_close(d, expected)


def test_fisher_diagonal_is_the_mean_squared_per_sample_gradient():
    model, data = tiny("sparse"), batches(n=1, size=5)
    x, y = data[0]
    samples = [(x[i : i + 1], y[i : i + 1]) for i in range(5)]
    expected = [sum(g[k] ** 2 for g in reference_gradients(model, samples)) / 5 for k in range(2)]
    for d, e in zip(
        prune.hessian_diagonal(model, data, F.cross_entropy, method="fisher"), expected, strict=True
    ):
        torch.testing.assert_close(d, e)


def test_obd_scores_and_method_choice(monkeypatch):
    model, data = tiny(), batches()
    h = prune.hessian_diagonal(model, data, F.cross_entropy)
    for s, d, layer in zip(
        prune.obd_scores(model, data, F.cross_entropy), h, model.masked_layers(), strict=True
    ):
        torch.testing.assert_close(s, 0.5 * d * layer.weight.detach() ** 2)
    monkeypatch.setattr(saliency, "EXACT_HESSIAN_LIMIT", 3)
    fisher = prune.hessian_diagonal(model, data, F.cross_entropy, method="fisher")
    for a, b in zip(prune.hessian_diagonal(model, data, F.cross_entropy), fisher, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(
    ("method", "options"),
    [
        (prune.magnitude, {}),
        (prune.random, {"seed": 0}),
        (prune.distributed, {}),
        (prune.snip, {"data": batches(), "loss": F.cross_entropy}),
        (prune.taylor, {"data": batches(), "loss": F.cross_entropy}),
        (prune.obd, {"data": batches(), "loss": F.cross_entropy}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_every_method_prunes_in_place_and_returns_the_model(method, options):
    model = tiny()
    before = sum(layer.weight_count for layer in model.masked_layers())
    assert method(model, 5, **options) is model
    assert sum(layer.weight_count for layer in model.masked_layers()) == before - 5
    assert method.__doc__.startswith("Prune ``model`` in place by")


def test_custom_saliency():
    model = tiny()
    scores = [
        torch.arange(layer.weight.numel(), dtype=torch.float64).reshape(layer.weight.shape)
        for layer in model.masked_layers()
    ]
    prune.by_saliency(model, scores, 0.5, scope="layer", protect=False)
    prune.by_saliency(model, lambda m: prune.magnitude_scores(m), threshold=0.0)


def test_compiled_structures_of_any_shape():
    model = graphnn.compile(
        graphnn.generators.randwire(12, "ws", seed=0), activation="tanh", dtype=torch.float64
    )
    data = (torch.randn(8, 1, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64))
    prune.obd(model, 0.2, data=data, loss=F.mse_loss)
    prune.snip(model, 0.2, data=[data, data], loss=F.mse_loss)
    graphnn.validate(model.to_graph())


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda m: prune.hessian_diagonal(m, batches(), F.cross_entropy, method="newton"),
            ValueError,
            "method must be auto, exact or fisher",
        ),
        (
            lambda m: prune.snip(m, 0.1, data=[], loss=F.cross_entropy),
            ValueError,
            "data has no batches",
        ),
        (
            lambda m: prune.snip(m, 0.1, data=batches(), loss=lambda o, t: o),
            ValueError,
            "loss must return a scalar",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(tiny())


def test_exact_hessian_refuses_sparse_layers():
    with pytest.raises(ValueError, match="the exact Hessian needs twice-differentiable products"):
        prune.hessian_diagonal(tiny("sparse"), batches(), F.cross_entropy, method="exact")
