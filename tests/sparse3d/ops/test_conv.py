"""sparse_conv, the product of every sparse convolution: gradients, dtypes, backends, checks."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.backends import backend
from graphnn.sparse3d.kernel_map import conv_map, submanifold_map
from graphnn.sparse3d.layers.conv import (
    SparseConv3d,
    SparseConvTranspose3d,
    SparseInverseConv3d,
    SubmanifoldConv3d,
)
from graphnn.sparse3d.ops.conv import sparse_conv
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.conftest import require_peer
from tests.sparse3d.sparse_strategies import fits, geometries, inputs, kernel_maps, reference_conv


@pytest.mark.parametrize("kind", ["submanifold", "conv", "transpose", "inverse"])
def test_gradcheck_in_float64(kind):
    torch.manual_seed(0)
    occupied = torch.rand(2, 1, 2, 2, 3) < 0.5
    x = SparseVoxelTensor.from_dense(torch.randn(2, 2, 2, 2, 3, dtype=torch.float64) * occupied)
    if kind == "submanifold":
        layer = SubmanifoldConv3d(2, 2, 3)
    elif kind == "conv":
        layer = SparseConv3d(2, 2, 2, stride=2, padding=1)
    elif kind == "transpose":
        layer = SparseConvTranspose3d(2, 2, 3, stride=2, padding=1)
    else:
        down = SparseConv3d(2, 2, 3, stride=2, padding=1).double()
        layer = SparseInverseConv3d.inverse_of(down, out_channels=2)
        x = down(x)
    layer = layer.double()
    f = x.features.detach().clone().requires_grad_()

    def run(features, weight, bias):
        kmap = layer.kernel_map(x)
        return sparse_conv(features, weight, kmap, bias)

    assert torch.autograd.gradcheck(run, (f, layer.weight, layer.bias))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_forward_is_close_to_float32(dtype):
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(2, 8, 8, 8, 8) * (torch.rand(2, 1, 8, 8, 8) < 0.3))
    for layer in (SubmanifoldConv3d(8, 16, 3), SparseConv3d(8, 16, 2, stride=2)):
        full = layer(x).features
        half = layer.to(dtype)(x.to(dtype=dtype))
        assert half.dtype == dtype
        torch.testing.assert_close(half.features.float(), full, rtol=0.05, atol=0.05)
        half.features.float().sum().backward()
        assert layer.weight.grad.dtype == dtype
        layer.float()


@settings(max_examples=8, deadline=None)
@given(inputs(max_size=4), geometries(odd=True))
def test_the_triton_kernels_agree_with_the_torch_path(x, geometry):
    require_peer("triton")
    k, s, p, d = geometry
    layers = [SubmanifoldConv3d(x.channels, 2, k, d).double()]
    if fits(x, k, p, d):
        layers.append(SparseConv3d(x.channels, 2, k, s, p, d).double())
    for layer in layers:
        results = []
        for name in ("torch", "triton"):
            f = x.features.clone().requires_grad_()
            layer.zero_grad()
            with backend(name):
                y = layer(x.replace_features(f))
                y.features.sum().backward()
            results.append((y.features.detach(), f.grad, layer.weight.grad.clone()))
        for a, b in zip(*results, strict=True):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", ["torch", "auto"])  # auto: the native kernel where it builds
def test_the_cpu_paths_give_the_same_bits_at_any_thread_count(name):
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(
        torch.randn(2, 16, 12, 12, 12) * (torch.rand(2, 1, 12, 12, 12) < 0.4)
    )
    layers = [SubmanifoldConv3d(16, 16, 3), SparseConv3d(16, 16, 2, stride=2)]
    threads = torch.get_num_threads()
    results = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            run = []
            for layer in layers:
                layer.zero_grad()
                f = x.features.clone().requires_grad_()
                with backend(name):
                    y = layer(x.replace_features(f))
                    (y.features**2).sum().backward()
                run += [y.features.detach(), f.grad, layer.weight.grad.clone()]
            results.append(run)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)


def test_sparse_conv_checks_its_arguments():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 2, 2, 2, 2))
    m = submanifold_map(x, 3)
    w = torch.ones(27, 2, 3)
    with pytest.raises(ValueError, match=r"weight must have shape \[K, C_in, C_out\] = \[27, 2"):
        sparse_conv(x.features, torch.ones(8, 2, 3), m)
    with pytest.raises(ValueError, match=r"features must have shape \[n_in, C_in\] with n_in = 8"):
        sparse_conv(x.features[:3], w, m)
    with pytest.raises(TypeError, match="features must be a floating-point tensor"):
        sparse_conv(x.features.long(), w, m)
    with pytest.raises(ValueError, match=r"bias must have shape \[3\]"):
        sparse_conv(x.features, w, m, torch.ones(2))
    with pytest.raises(TypeError, match="kmap must be a KernelMap"):
        sparse_conv(x.features, w, conv_map)


# --- against the loop over offsets ------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(kernel_maps(), st.integers(1, 3), st.sampled_from(["torch", "auto"]), st.booleans())
def test_sparse_conv_equals_the_loop_over_offsets(case, c_out, name, with_bias):
    x, kmap = case
    generator = torch.Generator().manual_seed(kmap.n_out)
    weight = torch.randn(kmap.kernel_volume, x.channels, c_out, dtype=torch.float64,
                         generator=generator).requires_grad_()  # fmt: skip
    bias = torch.randn(c_out, dtype=torch.float64, generator=generator) if with_bias else None
    features = x.features.clone().requires_grad_()
    with backend(name):
        out = sparse_conv(features, weight, kmap, bias)
    expected = reference_conv(features, weight, kmap.neighbors)
    if bias is not None:
        expected = expected + bias
    assert out.shape == (kmap.n_out, c_out) and out.dtype == torch.float64
    torch.testing.assert_close(out, expected)
    if out.numel() and features.numel():
        g = torch.randn_like(out)
        with backend(name):
            got = torch.autograd.grad((out * g).sum(), (features, weight))
        want = torch.autograd.grad((expected * g).sum(), (features, weight))
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", ["torch", "auto"])
def test_the_output_and_the_gradients_keep_the_dtypes_of_their_inputs(name):
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(1, 3, 4, 4, 4) * (torch.rand(1, 1, 4, 4, 4) < 0.5))
    kmap = submanifold_map(x, 3)
    features = x.features.clone().requires_grad_()  # float32
    weight = torch.randn(27, 3, 2, dtype=torch.float64, requires_grad=True)
    with backend(name):
        out = sparse_conv(features, weight, kmap)
        out.sum().backward()
    assert out.dtype == torch.float32  # the features' dtype, computed in float64
    expected = reference_conv(features.double(), weight, kmap.neighbors)
    torch.testing.assert_close(out, expected.float())
    assert features.grad.dtype == torch.float32 and weight.grad.dtype == torch.float64
