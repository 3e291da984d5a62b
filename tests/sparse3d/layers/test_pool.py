"""Sparse pooling against dense pooling on the densified grid, sampled at the output sites."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.sparse3d.kernel_map import conv_map, find_inverse_map
from graphnn.sparse3d.layers.pool import (
    SparseAvgPool3d,
    SparseGlobalAvgPool,
    SparseGlobalMaxPool,
    SparseMaxPool3d,
    avg_pool3d,
    global_avg_pool,
    global_max_pool,
    max_pool3d,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import (
    at_sites,
    grad_of,
    occupancy,
    pooled_inputs,
    sparse_inputs,
)


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


def test_gradcheck_pooling_layers():
    x = SparseVoxelTensor.from_dense(torch.randn(2, 2, 3, 3, 3, dtype=torch.float64))
    f = x.features.clone().requires_grad_()
    for layer in (max_pool3d, avg_pool3d):
        assert torch.autograd.gradcheck(
            lambda f, layer=layer: layer(x.replace_features(f), 2, 1).features, (f,)
        )


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
