"""The native CPU kernel (gather_conv.c) against a plain torch reference, and its dispatch."""

import os
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn import _native, backends
from graphnn.backends import backend
from graphnn.sparse3d.kernel_map import conv_map, submanifold_map
from graphnn.sparse3d.layers.conv import (
    SparseConv3d,
    SparseConvTranspose3d,
    SparseInverseConv3d,
    SubmanifoldConv3d,
)
from graphnn.sparse3d.ops import native, sparse_conv
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import fits, geometries, inputs


@pytest.fixture(autouse=True)
def needs_the_kernel():
    if not native.available():
        if os.environ.get("GRAPHNN_REQUIRE_PEERS") == "1":
            pytest.fail(f"the native kernel must build here: {native.build_error()}")
        pytest.skip(f"the native kernel does not build here: {native.build_error()}")


def reference(x: torch.Tensor, weight: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``out[o] = sum_k x[table[o, k]] @ weight[k]``, one offset at a time, in float64."""
    out = torch.zeros(table.shape[0], weight.shape[2], dtype=torch.float64)
    for k in range(table.shape[1]):
        rows = torch.nonzero(table[:, k] >= 0).flatten()
        out[rows] += x.double()[table[rows, k].long()] @ weight[k].double()
    return out


def reference_weight_grad(x, grad, table):
    """``dW[k] = sum over pairs x[i]^T grad[o]``, in float64."""
    K = table.shape[1]
    dw = torch.zeros(K, x.shape[1], grad.shape[1], dtype=torch.float64)
    for k in range(K):
        rows = torch.nonzero(table[:, k] >= 0).flatten()
        dw[k] = x.double()[table[rows, k].long()].t() @ grad.double()[rows]
    return dw


@st.composite
def problems(draw, max_rows=40):
    """A random table (with -1 holes and repeated rows) and features/weights of drawn widths.

    The widths cross the kernel's block sizes (32 float32 / 16 float64 output channels, four
    input channels per step), so every tail path runs.
    """
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    n_in = draw(st.integers(0, max_rows))
    n_out = draw(st.integers(0, max_rows))
    K = draw(st.integers(1, 27))
    c_in = draw(st.integers(1, 70))
    c_out = draw(st.integers(1, 70))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    if n_in:
        table = torch.randint(0, n_in, (n_out, K), generator=g, dtype=torch.int32)
        holes = torch.rand(n_out, K, generator=g) < draw(st.floats(0, 1))
        table[holes] = -1
    else:
        table = torch.full((n_out, K), -1, dtype=torch.int32)
    x = torch.randn(n_in, c_in, generator=g, dtype=dtype)
    w = torch.randn(K, c_in, c_out, generator=g, dtype=dtype)
    return x, w, table


@settings(max_examples=60, deadline=None)
@given(problems())
def test_gather_conv_equals_the_reference(problem):
    x, w, table = problem
    got = native.gather_conv(x, w, table)
    assert got.dtype == x.dtype and got.shape == (table.shape[0], w.shape[2])
    tol = 1e-12 if x.dtype == torch.float64 else 1e-5
    torch.testing.assert_close(got.double(), reference(x, w, table), rtol=tol, atol=tol * 10)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_the_weight_gradient_equals_the_reference(problem):
    x, w, table = problem
    grad = torch.randn(table.shape[0], w.shape[2], dtype=x.dtype)
    got = native.gather_conv_weight_grad(x, grad, table)
    assert got.dtype == x.dtype and got.shape == w.shape
    tol = 1e-12 if x.dtype == torch.float64 else 1e-5
    expected = reference_weight_grad(x, grad, table)
    torch.testing.assert_close(got.double(), expected, rtol=tol, atol=tol * 10)


@settings(max_examples=10, deadline=None)
@given(problems(max_rows=3000), st.integers(2, 5))
def test_the_bits_do_not_depend_on_the_thread_count(problem, threads):
    """Rows are split over threads (512 rows at least each) and paired two by two; a row's sum
    is the same whichever thread runs it and whichever row it is paired with."""
    x, w, table = problem
    one = native.gather_conv(x, w, table, threads=1)
    assert torch.equal(one, native.gather_conv(x, w, table, threads=threads))
    grad = torch.randn(table.shape[0], w.shape[2], dtype=x.dtype)
    dw = native.gather_conv_weight_grad(x, grad, table, threads=1)
    assert torch.equal(dw, native.gather_conv_weight_grad(x, grad, table, threads=threads))
    # a row alone (odd range start) and the same row paired give the same bits
    if table.shape[0] > 1:
        assert torch.equal(one[1:], native.gather_conv(x, w, table[1:], threads=1))


def test_non_contiguous_inputs_are_taken_as_they_are():
    x = torch.randn(30, 8).t().contiguous().t()[:, :5]  # strided columns
    w = torch.randn(3, 5, 40).transpose(1, 2).contiguous().transpose(1, 2)
    table = torch.randint(-1, 30, (20, 6), dtype=torch.int32)[:, ::2]
    expected = reference(x, w, table).float()
    torch.testing.assert_close(native.gather_conv(x, w, table), expected)


def test_empty_shapes():
    assert native.gather_conv(
        torch.ones(0, 3), torch.ones(2, 3, 4), torch.ones(0, 2, dtype=torch.int32)
    ).shape == (0, 4)
    z = native.gather_conv(
        torch.ones(2, 0), torch.ones(2, 0, 4), torch.zeros(3, 2, dtype=torch.int32)
    )
    assert torch.equal(z, torch.zeros(3, 4))
    assert native.gather_conv(
        torch.ones(2, 3), torch.ones(2, 3, 0), torch.zeros(3, 2, dtype=torch.int32)
    ).shape == (3, 0)


def test_the_weight_gradient_checks_its_arguments():
    x, grad = torch.ones(4, 3), torch.ones(6, 5)
    table = torch.zeros(6, 2, dtype=torch.int32)
    assert native.gather_conv_weight_grad(x, grad, table).shape == (2, 3, 5)
    with pytest.raises(ValueError, match=r"grad must be \[n_out, C_out\] with n_out = 6"):
        native.gather_conv_weight_grad(x, grad[:5], table)
    with pytest.raises(ValueError, match=r"table\[1, 0\] = 9 is neither -1 nor a row of x"):
        bad = table.clone()
        bad[1, 0] = 9
        native.gather_conv_weight_grad(x, grad, bad)
    with pytest.raises(ValueError, match="must both be float32 or both float64"):
        native.gather_conv_weight_grad(x, grad.double(), table)
    with pytest.raises(TypeError, match="must be tensors"):
        native.gather_conv_weight_grad(x, [[1.0]], table)
    empty = native.gather_conv_weight_grad(x, grad[:0], table[:0])
    assert torch.equal(empty, torch.zeros(2, 3, 5))


def test_bad_arguments_are_named():
    x, w = torch.ones(4, 3), torch.ones(2, 3, 5)
    table = torch.zeros(6, 2, dtype=torch.int32)
    with pytest.raises(ValueError, match=r"table\[2, 1\] = 4 is neither -1 nor a row of x"):
        bad = table.clone()
        bad[2, 1] = 4
        native.gather_conv(x, w, bad)
    with pytest.raises(ValueError, match=r"table\[0, 0\] = -2"):
        native.gather_conv(x, w, torch.full((6, 2), -2, dtype=torch.int32))
    with pytest.raises(ValueError, match="int32"):
        native.gather_conv(x, w, table.long())
    with pytest.raises(ValueError, match="must both be float32 or both float64"):
        native.gather_conv(x, w.double(), table)
    with pytest.raises(ValueError, match="must both be float32 or both float64"):
        native.gather_conv(x.half(), w.half(), table)
    with pytest.raises(ValueError, match=r"does not fit table \[6, 2\]"):
        native.gather_conv(x, torch.ones(3, 3, 5), table)
    with pytest.raises(ValueError, match=r"x must be \[n_in, C_in\]"):
        native.gather_conv(x[None], w, table)
    with pytest.raises(TypeError, match="x must be a tensor"):
        native.gather_conv([[1.0]], w, table)


# --- dispatch: sparse_conv and the layers on the native kernel ----------------------------


def run(layer, x, name):
    f = x.features.clone().requires_grad_()
    layer.zero_grad()
    with backend(name):
        y = layer(x.replace_features(f))
        weights = torch.linspace(-1, 1, y.features.numel()).view_as(y.features)
        (y.features * weights).sum().backward()
    return y.features.detach(), f.grad, layer.weight.grad.clone()


@settings(max_examples=30, deadline=None)
@given(inputs(), geometries(odd=True))
def test_the_layers_agree_with_the_torch_path(x, geometry):
    k, s, p, d = geometry
    layers = [SubmanifoldConv3d(x.channels, 3, k, d).double()]
    if fits(x, k, p, d):
        layers.append(SparseConv3d(x.channels, 3, k, s, p, d).double())
    for layer in layers:
        native, torch_path = run(layer, x, "native"), run(layer, x, "torch")
        for a, b in zip(native, torch_path, strict=True):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("upsample", [SparseInverseConv3d, SparseConvTranspose3d])
def test_the_inverse_and_transposed_convs_agree_with_the_torch_path(upsample):
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(2, 4, 9, 9, 9) * (torch.rand(2, 1, 9, 9, 9) < 0.3))
    down = SparseConv3d(4, 6, 3, stride=2)
    up = upsample(6, 4, 3, stride=2)
    results = []
    for name in ("native", "torch"):
        f = x.features.clone().requires_grad_()
        down.zero_grad()
        up.zero_grad()
        with backend(name):
            y = up(down(x.replace_features(f)))
            y.features.pow(2).sum().backward()
        results.append((y.features.detach(), f.grad, down.weight.grad.clone(), up.weight.grad))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32(dtype):
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(1, 8, 6, 6, 6) * (torch.rand(1, 1, 6, 6, 6) < 0.5))
    w = torch.randn(27, 8, 16)
    m = submanifold_map(x, 3)
    with backend("native"):
        low = sparse_conv(x.features.to(dtype), w.to(dtype), m)
    with backend("torch"):
        ref = sparse_conv(x.features.to(dtype).float(), w.to(dtype).float(), m)
    assert low.dtype == dtype
    torch.testing.assert_close(low, ref.to(dtype))  # the sums' order differs: half's tolerance


def test_gradcheck_on_the_native_kernel():
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(
        torch.randn(1, 2, 4, 4, 4, dtype=torch.float64) * (torch.rand(1, 1, 4, 4, 4) < 0.5)
    )
    for m in (submanifold_map(x, 3), conv_map(x, 2, 2)):
        w = torch.randn(m.kernel_volume, 2, 3, dtype=torch.float64, requires_grad=True)
        f = x.features.clone().requires_grad_()
        with backend("native"):
            assert torch.autograd.gradcheck(lambda f, w, m=m: sparse_conv(f, w, m), (f, w))


def test_auto_runs_the_native_kernel_on_the_cpu(monkeypatch):
    calls = []

    def spy(name):
        real = getattr(native, name)

        def run(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        monkeypatch.setattr(native, name, run)

    spy("gather_conv")
    spy("gather_conv_weight_grad")
    x = SparseVoxelTensor.from_dense(torch.randn(1, 2, 4, 4, 4))
    layer = SubmanifoldConv3d(2, 2, 3)
    f = x.features.clone().requires_grad_()
    layer(x.replace_features(f)).features.sum().backward()
    # forward, input gradient, weight gradient
    assert sorted(calls) == ["gather_conv", "gather_conv", "gather_conv_weight_grad"]
    with backend("torch"):
        layer(x.replace_features(f)).features.sum().backward()
    assert len(calls) == 3


def test_without_the_kernel_auto_falls_back_with_one_warning(monkeypatch):
    monkeypatch.setattr(native, "_load", lambda: (None, "no C compiler found (test)"))
    monkeypatch.setattr(backends, "_warned", set())
    x = SparseVoxelTensor.from_dense(torch.randn(1, 2, 4, 4, 4))
    layer = SubmanifoldConv3d(2, 2, 3)
    with backend("torch"):
        expected = layer(x).features
    with pytest.warns(RuntimeWarning, match="no C compiler found"):
        got = layer(x).features
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x)  # once only
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    with pytest.raises(_native.NativeBuildError, match="no C compiler found"), backend("native"):
        layer(x)


def test_graphnn_native_0_turns_it_off_without_a_warning(monkeypatch):
    monkeypatch.setenv("GRAPHNN_NATIVE", "0")
    monkeypatch.setattr(backends, "_warned", set())
    monkeypatch.setattr(native, "gather_conv", None)  # would fail if called
    monkeypatch.setattr(native, "gather_conv_weight_grad", None)
    x = SparseVoxelTensor.from_dense(torch.randn(1, 2, 4, 4, 4))
    f = x.features.clone().requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SubmanifoldConv3d(2, 2, 3)(x.replace_features(f)).features.sum().backward()


def test_the_native_backend_is_for_cpu_tensors_only():
    x = SparseVoxelTensor.from_dense(torch.randn(1, 2, 4, 4, 4))
    layer = SubmanifoldConv3d(2, 2, 3)
    y = layer(x)
    with backend("native"):
        assert torch.equal(layer(x).features, y.features)
    assert not backends.use_native(torch.empty(1, device="meta"), native)
    with pytest.raises(ValueError, match="runs on the CPU"), backend("native"):
        backends.use_native(torch.empty(1, device="meta"), native)
