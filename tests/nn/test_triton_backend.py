"""graphnn's models through the Triton kernels (interpreter on the CPU, compiled on a GPU)."""

import os

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import graphnn
from graphnn.nn.functional import backend, masked_linear
from graphnn.nn.masked_linear import MaskedLinear
from graphnn.strategies import dags, layered_dags, structures
from tests.conftest import require_peer

require_peer("triton")
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
DRAWN = structures(
    st.one_of(dags(max_nodes=8), layered_dags(max_layers=4, max_width=4)),
    activations=["relu", "tanh", "gelu"],
)


@settings(max_examples=20, deadline=None)
@given(DRAWN, st.sampled_from([torch.float64, torch.float32]))
def test_models_agree_with_the_torch_backend(G, dtype):
    model = graphnn.compile(G, layout="sparse", dtype=dtype, device=DEVICE)
    x = torch.randn(4, model.n_inputs, dtype=dtype, device=DEVICE, requires_grad=True)
    out_grad = torch.randn(4, model.n_outputs, dtype=dtype, device=DEVICE)
    results = []
    for name in ("torch", "triton"):
        model.zero_grad()
        x.grad = None
        with backend(name):
            y = model(x)
            y.backward(out_grad)
        results.append((y.detach(), x.grad.clone(), [p.grad.clone() for p in model.parameters()]))
    tol = {} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-5}
    (y0, dx0, g0), (y1, dx1, g1) = results
    torch.testing.assert_close(y1, y0, **tol)
    torch.testing.assert_close(dx1, dx0, **tol)
    for a, b in zip(g1, g0, strict=True):
        torch.testing.assert_close(a, b, **tol)


def test_gradcheck_through_the_kernels():
    torch.manual_seed(0)
    G = graphnn.generators.layered([3, 5, 2], density=0.6, skip_density=0.4, seed=2)
    model = graphnn.compile(
        G, activation="tanh", layout="sparse", dtype=torch.float64, device=DEVICE
    )
    model.masked_layers()[0].recompute_mask(0.2)
    x = torch.randn(2, 3, dtype=torch.float64, device=DEVICE, requires_grad=True)
    names = [name for name, _ in model.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())

    def of_everything(x, *values):
        return torch.func.functional_call(model, dict(zip(names, values, strict=True)), (x,))

    with backend("triton"):
        assert torch.autograd.gradcheck(of_everything, (x, *params))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_layer(dtype):
    layer = MaskedLinear(
        9, 6, layout="sparse", mask=torch.rand(6, 9) < 0.5, dtype=dtype, device=DEVICE
    )
    x = torch.randn(5, 9, dtype=dtype, device=DEVICE)
    with backend("triton"):
        y = layer(x)
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), layer(x).float(), rtol=2e-2, atol=2e-2)


def test_backend_names_and_requirements(monkeypatch):
    with (
        pytest.raises(ValueError, match="one of auto, torch, triton, native; got 'cuda'"),
        backend("cuda"),
    ):
        pass
    if DEVICE == "cpu":
        monkeypatch.setenv("TRITON_INTERPRET", "0")
        layer = MaskedLinear(3, 2, layout="sparse")
        with backend("triton"), pytest.raises(RuntimeError, match="set TRITON_INTERPRET=1"):
            masked_linear(torch.ones(1, 3), layer.weight, layer.mask, None, layer.sparse_pattern)
    assert os.environ.get("TRITON_INTERPRET", "0") in {"0", "1"}


@settings(max_examples=10, deadline=None)
@given(DRAWN)
def test_block_layout_models_agree_with_the_torch_backend(G):
    model = graphnn.compile(G, layout="block", block_size=16, device=DEVICE)
    x = torch.randn(3, model.n_inputs, device=DEVICE, requires_grad=True)
    outputs = []
    for name in ("torch", "triton"):
        model.zero_grad()
        x.grad = None
        with backend(name):
            y = model(x)
            y.sum().backward()
        outputs.append((y.detach(), x.grad.clone(), [p.grad.clone() for p in model.parameters()]))
    (y0, dx0, g0), (y1, dx1, g1) = outputs
    torch.testing.assert_close(y1, y0, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(dx1, dx0, rtol=1e-4, atol=1e-5)
    for a, b in zip(g1, g0, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
