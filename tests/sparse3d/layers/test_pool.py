"""Sparse pooling against dense pooling on the densified grid, sampled at the output sites."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.backends import backend
from graphnn.sparse3d.kernel_map import conv_map, find_inverse_map
from graphnn.sparse3d.layers.pool import (
    SparseAvgPool3d,
    SparseGlobalAvgPool,
    SparseGlobalMaxPool,
    SparseMaxPool3d,
    avg_pool3d,
    gather_max,
    gather_mean,
    global_avg_pool,
    global_max_pool,
    max_pool3d,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.conftest import require_peer
from tests.sparse3d.sparse_strategies import at_sites, occupancy, sparse_inputs


@st.composite
def geometries(draw, max_kernel: int = 3):
    """``(kernel_size, stride, padding, dilation)`` triples that dense pooling accepts too."""
    k = tuple(draw(st.integers(1, max_kernel)) for _ in range(3))
    s = tuple(draw(st.integers(1, 3)) for _ in range(3))
    d = tuple(draw(st.integers(1, 2)) for _ in range(3))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)  # max_pool3d's limit: half the kernel
    return k, s, p, d


@st.composite
def pooled_inputs(draw, **kwargs):
    """A sparse input and a geometry whose dilated kernel fits in its padded grid."""
    x = draw(sparse_inputs(**kwargs))
    k, s, p, d = draw(geometries())
    # shrink the kernel until it fits without padding; padding (at most half of it) only helps
    k = tuple(min(ki, (n - 1) // di + 1) for ki, n, di in zip(k, x.spatial_shape, d, strict=True))
    p = tuple(min(pi, ki // 2) for pi, ki in zip(p, k, strict=True))
    return x, (k, s, p, d)


def pool_settings(**kwargs):
    return settings(max_examples=40, deadline=None, **kwargs)


def dense_max(x: SparseVoxelTensor, features: torch.Tensor, geometry) -> torch.Tensor:
    """``max_pool3d`` of the grid with ``-inf`` at the inactive sites."""
    k, s, p, d = geometry
    grid = torch.where(occupancy(x), x.replace_features(features).dense(), float("-inf"))
    return F.max_pool3d(grid, k, s, p, d)


def dense_sum(t: torch.Tensor, geometry) -> torch.Tensor:
    """The sum over each window (zeros outside the grid), as a convolution with ones."""
    k, s, p, d = geometry
    C = t.shape[1]
    ones = torch.ones(C, 1, *k, dtype=t.dtype)
    return F.conv3d(t, ones, stride=s, padding=p, dilation=d, groups=C)


def dense_output_sites(x: SparseVoxelTensor, geometry) -> torch.Tensor:
    """The output sites of the dense rule: windows with an active input, lexicographic order."""
    count = dense_sum(occupancy(x).double(), geometry)[:, 0]
    return torch.nonzero(count > 0).to(torch.int32)


def grad_of(output: torch.Tensor, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    if not f.numel() or not output.numel():
        return torch.zeros_like(f)
    (grad,) = torch.autograd.grad((output * g).sum(), f, allow_unused=True)
    return torch.zeros_like(f) if grad is None else grad


# --- max pooling ------------------------------------------------------------------------


@pool_settings()
@given(pooled_inputs())
def test_max_pool_equals_dense_max_pool_at_the_output_sites(case):
    x, geometry = case
    f = x.features.clone().requires_grad_()
    y = SparseMaxPool3d(*geometry)(x.replace_features(f))
    dense = dense_max(x, f, geometry)
    assert torch.equal(y.coords, dense_output_sites(x, geometry))
    assert y.spatial_shape == tuple(dense.shape[2:])
    assert y.batch_size == x.batch_size
    expected = at_sites(dense, y.coords)
    torch.testing.assert_close(y.features, expected)
    g = torch.randn_like(expected)
    torch.testing.assert_close(grad_of(y.features, f, g), grad_of(expected, f, g))


@pool_settings()
@given(pooled_inputs(), st.booleans())
def test_avg_pool_equals_the_dense_ratio_of_sums(case, count_inactive):
    x, geometry = case
    f = x.features.clone().requires_grad_()
    y = SparseAvgPool3d(*geometry, count_inactive=count_inactive)(x.replace_features(f))
    assert torch.equal(y.coords, dense_output_sites(x, geometry))
    total = dense_sum(x.replace_features(f).dense(), geometry)
    if count_inactive:
        divisor = torch.tensor(geometry[0]).prod().double()
        # the same as avg_pool3d of the zero-filled grid with count_include_pad=True
        k, s, p, d = geometry
        if d == (1, 1, 1):
            torch.testing.assert_close(total / divisor, F.avg_pool3d(x.dense(), k, s, p))
    else:
        divisor = dense_sum(occupancy(x).double(), geometry)
    expected = at_sites(total / divisor, y.coords)
    torch.testing.assert_close(y.features, expected)
    g = torch.randn_like(expected)
    torch.testing.assert_close(grad_of(y.features, f, g), grad_of(expected, f, g))


@pytest.mark.parametrize("pool", [gather_max, gather_mean])
def test_gradcheck_pooling_over_a_table(pool):
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(5, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    neighbors = torch.tensor(
        [[0, 1, -1, 4], [-1, -1, -1, -1], [2, 3, 4, -1], [-1, -1, 3, -1]], dtype=torch.int32
    )
    assert torch.autograd.gradcheck(lambda f: pool(f, neighbors), (features,))
    x = SparseVoxelTensor.from_dense(torch.randn(2, 2, 3, 3, 3, dtype=torch.float64))
    f = x.features.clone().requires_grad_()
    for layer in (max_pool3d, avg_pool3d):
        assert torch.autograd.gradcheck(
            lambda f, layer=layer: layer(x.replace_features(f), 2, 1).features, (f,)
        )


def test_gather_max_ties_take_the_first_offset_and_nan_propagates():
    features = torch.tensor([[1.0], [1.0], [float("nan")]], requires_grad=True)
    values = gather_max(features, torch.tensor([[1, 0], [0, 2], [-1, -1]], dtype=torch.int32))
    assert values[0].item() == 1.0 and values[1].isnan().item() and values[2].item() == 0.0
    values[0].sum().backward()
    assert features.grad.flatten().tolist() == [0.0, 1.0, 0.0]


def test_pooling_tables_are_checked():
    with pytest.raises(ValueError, match=r"neighbors must be an int32 or int64 \[N_out, K\]"):
        gather_max(torch.ones(2, 1), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"features must be a floating-point \[N_in, C\]"):
        gather_mean(torch.ones(2), torch.zeros(2, 2, dtype=torch.int32))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_pooling_keeps_low_precision_dtypes(dtype):
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(2, 3, 4, 4, 4) * (torch.rand(2, 1, 4, 4, 4) > 0.5))
    low = x.to(dtype=dtype)
    for pool in (SparseMaxPool3d(2), SparseAvgPool3d(3, 2, 1)):
        y = pool(low)
        assert y.dtype == dtype
        reference = pool(low.to(dtype=torch.float32)).features
        torch.testing.assert_close(y.features.float(), reference, rtol=1e-2, atol=1e-2)


# --- geometry, batches, cache -----------------------------------------------------------


@pool_settings()
@given(pooled_inputs(max_batch=3))
def test_samples_pool_independently(case):
    x, geometry = case
    y = max_pool3d(x, *geometry)
    z = avg_pool3d(x, *geometry)
    for b in range(x.batch_size):
        rows = x.coords[:, 0] == b
        alone = SparseVoxelTensor(
            x.coords[rows] * torch.tensor([0, 1, 1, 1], dtype=torch.int32),
            x.features[rows],
            x.spatial_shape,
            batch_size=1,
        )
        out = y.coords[:, 0] == b
        for pooled, pool in ((y, max_pool3d), (z, avg_pool3d)):
            single = pool(alone, *geometry)
            assert torch.equal(pooled.coords[out][:, 1:], single.coords[:, 1:])
            torch.testing.assert_close(pooled.features[out], single.features)


def test_pools_and_convolutions_share_the_kernel_map():
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(2, 3, 5, 5, 5) * (torch.rand(2, 1, 5, 5, 5) > 0.6))
    y = SparseMaxPool3d(3, stride=2, padding=1)(x)
    kmap = x.cache[("conv", (3, 3, 3), (2, 2, 2), (1, 1, 1), (1, 1, 1), 1)]
    assert conv_map(x, 3, stride=2, padding=1) is kmap
    assert y.coords is kmap.out_coords and y.cache is kmap.out_cache
    z = SparseAvgPool3d(3, stride=2, padding=1)(x.replace_features(x.features * 2))
    assert z.coords is y.coords and z.cache is y.cache
    # the matching inverse convolution finds the way back to the pool's input sites
    assert find_inverse_map(y, 3, stride=2, padding=1).out_coords is x.coords
    conv = pytest.importorskip("graphnn.sparse3d.layers.conv")
    out = conv.SparseConv3d(3, 4, 3, stride=2, padding=1)(x)
    assert out.coords is y.coords
    # "unpooling": the inverse convolution of the pool's geometry returns to the input sites
    back = conv.SparseInverseConv3d(3, 2, 3, stride=2, padding=1)(y)
    assert back.coords is x.coords and back.cache is x.cache


def test_stride_defaults_to_the_kernel_size_and_geometry_is_checked():
    pool = SparseMaxPool3d((2, 1, 3))
    assert pool.stride == (2, 1, 3)
    assert repr(pool) == (
        "SparseMaxPool3d(kernel_size=(2, 1, 3), stride=(2, 1, 3), padding=(0, 0, 0), "
        "dilation=(1, 1, 1))"
    )
    with pytest.raises(ValueError, match=r"kernel_size\[0\] must be at least 1, got 0"):
        SparseMaxPool3d(0)
    with pytest.raises(ValueError, match=r"padding\[1\] must be at least 0, got -1"):
        SparseAvgPool3d(2, padding=(0, -1, 0))
    with pytest.raises(TypeError, match=r"stride\[0\] must be an int"):
        SparseAvgPool3d(2, stride=1.5)
    x = SparseVoxelTensor(torch.zeros(1, 4, dtype=torch.int32), torch.ones(1, 2), (3, 8, 8))
    with pytest.raises(ValueError, match="the kernel does not fit on axis 0: kernel_size 4"):
        SparseMaxPool3d(4)(x)
    with pytest.raises(ValueError, match="the kernel does not fit on axis 0"):
        avg_pool3d(x, 3, dilation=2)
    assert SparseMaxPool3d(4, padding=1)(x).spatial_shape == (1, 2, 2)


def test_pools_take_only_sparse_tensors():
    dense = torch.zeros(1, 1, 2, 2, 2)
    for name, layer in [
        ("SparseMaxPool3d", SparseMaxPool3d(2)),
        ("SparseAvgPool3d", SparseAvgPool3d(2)),
        ("SparseGlobalMaxPool", SparseGlobalMaxPool()),
        ("SparseGlobalAvgPool", SparseGlobalAvgPool()),
        ("max_pool3d", lambda t: max_pool3d(t, 2)),
        ("global_avg_pool", global_avg_pool),
    ]:
        with pytest.raises(TypeError, match=f"^{name} takes a SparseVoxelTensor, got Tensor"):
            layer(dense)


# --- global pooling ---------------------------------------------------------------------


@pool_settings()
@given(sparse_inputs())
def test_global_pools_reduce_each_sample(x):
    f = x.features.clone().requires_grad_()
    t = x.replace_features(f)
    rows = [x.coords[:, 0] == b for b in range(x.batch_size)]
    zeros = torch.zeros(x.channels, dtype=x.dtype)
    for pool, reduce in [
        (SparseGlobalMaxPool(), lambda v: v.amax(0)),
        (SparseGlobalAvgPool(), lambda v: v.mean(0)),
    ]:
        out = pool(t)
        assert out.shape == (x.batch_size, x.channels)
        expected = torch.stack([reduce(f[r]) if bool(r.any()) else zeros for r in rows])
        torch.testing.assert_close(out, expected)
        g = torch.randn_like(expected)
        torch.testing.assert_close(grad_of(out, f, g), grad_of(expected, f, g))
    torch.testing.assert_close(global_max_pool(x), SparseGlobalMaxPool()(x))
    torch.testing.assert_close(
        global_avg_pool(x), x.dense().sum((2, 3, 4)) / occupancy(x).sum((2, 3, 4)).clamp(min=1)
    )


# --- the Triton kernel ------------------------------------------------------------------


def test_max_pool_through_the_triton_kernel_agrees_with_torch():
    require_peer("triton")
    triton_agrees_with_torch()


@settings(max_examples=10, deadline=None)
@given(pooled_inputs(dtype=torch.float32, max_size=4))
def triton_agrees_with_torch(case):
    x, geometry = case
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x = x.to(device)
    results = []
    for name in ("torch", "triton"):
        f = x.features.clone().requires_grad_()
        with backend(name):
            y = max_pool3d(x.replace_features(f), *geometry)
            g = torch.linspace(-1, 1, y.features.numel(), device=device).view_as(y.features)
            results.append((y.features.detach(), grad_of(y.features, f, g)))
    (v0, g0), (v1, g1) = results
    torch.testing.assert_close(v1, v0)
    torch.testing.assert_close(g1, g0)
