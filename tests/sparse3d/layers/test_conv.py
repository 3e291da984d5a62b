"""Sparse convolution layers against dense conv3d / conv_transpose3d on the densified grid."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from graphnn.sparse3d.kernel_map import inverse_map
from graphnn.sparse3d.layers.conv import (
    SparseConv3d,
    SparseConvTranspose3d,
    SparseInverseConv3d,
    SubmanifoldConv3d,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import at_sites, fits, geometries, inputs, occupancy


def convs(**kwargs):
    return settings(max_examples=30, deadline=None, **kwargs)


def double(layer: nn.Module) -> nn.Module:
    layer = layer.double()
    with torch.no_grad():  # biases and weights away from zero, so every term shows
        for p in layer.parameters():
            p.normal_()
    return layer


def sparse_and_dense(layer, x, dense_fn, out_sites=None):
    """Run ``layer`` on ``x`` and ``dense_fn`` on the grid; return both results and all grads."""
    features = x.features.clone().requires_grad_()
    x = x.replace_features(features)
    y = layer(x)
    sites = y.coords if out_sites is None else out_sites
    reference = at_sites(dense_fn(x.dense(), layer.to_conv3d_weight(), layer.bias), sites)
    grad_out = torch.randn_like(reference)
    grads = []
    for out in (y.features, reference):
        layer.zero_grad()
        features.grad = None
        out.backward(grad_out)
        grads.append([zero_if_none(t) for t in (features, layer.weight, layer.bias)])
    return y, reference, grads


def zero_if_none(t: torch.Tensor) -> torch.Tensor:
    """The gradient of ``t``; zeros where nothing reached it (a fully masked weight)."""
    return torch.zeros_like(t) if t.grad is None else t.grad.clone()


def assert_close_all(y, reference, grads):
    torch.testing.assert_close(y.features, reference)
    for sparse, dense in zip(*grads, strict=True):
        torch.testing.assert_close(sparse, dense)


@convs()
@given(inputs(), geometries(odd=True), st.integers(1, 3))
def test_submanifold_conv_equals_conv3d_at_the_input_sites(x, geometry, c_out):
    k, _, _, d = geometry
    layer = double(SubmanifoldConv3d(x.channels, c_out, k, dilation=d))
    pad = tuple(di * (ki - 1) // 2 for ki, di in zip(k, d, strict=True))
    y, reference, grads = sparse_and_dense(layer, x, lambda g, w, b: F.conv3d(g, w, b, 1, pad, d))
    assert y.coords is x.coords and y.cache is x.cache
    assert_close_all(y, reference, grads)


@convs()
@given(inputs(), geometries(), st.integers(1, 3), st.integers(1, 3))
def test_sparse_conv_equals_conv3d_on_the_dense_rule_sites(x, geometry, c_out, min_active):
    k, s, p, d = geometry
    assume(fits(x, k, p, d))
    min_active = min(min_active, math.prod(k))
    layer = double(SparseConv3d(x.channels, c_out, k, s, p, d, min_active_inputs=min_active))
    y, reference, grads = sparse_and_dense(layer, x, lambda g, w, b: F.conv3d(g, w, b, s, p, d))
    ones = torch.ones(1, 1, *k, dtype=torch.float64)
    counts = F.conv3d(occupancy(x).double(), ones, None, s, p, d)
    assert torch.equal(y.coords, torch.nonzero(counts[:, 0] >= min_active).int())
    assert y.spatial_shape == tuple(counts.shape[2:]) and y.batch_size == x.batch_size
    assert_close_all(y, reference, grads)


@convs()
@given(inputs(), geometries(), st.integers(1, 3))
def test_transposed_conv_equals_conv_transpose3d_on_the_reachable_sites(x, geometry, c_out):
    k, s, p, d = geometry
    size = [(n - 1) * si - 2 * pi + di * (ki - 1) + 1 for n, ki, si, pi, di in zip(
        x.spatial_shape, k, s, p, d, strict=True
    )]  # fmt: skip
    assume(min(size) >= 1)
    layer = double(SparseConvTranspose3d(x.channels, c_out, k, s, p, dilation=d))
    y, reference, grads = sparse_and_dense(
        layer, x, lambda g, w, b: F.conv_transpose3d(g, w, b, s, p, 0, 1, d)
    )
    reach = F.conv_transpose3d(
        occupancy(x).double(), torch.ones(1, 1, *k, dtype=torch.float64), None, s, p, 0, 1, d
    )
    assert torch.equal(y.coords, torch.nonzero(reach[:, 0] > 0).int())
    assert_close_all(y, reference, grads)


@convs()
@given(inputs(), geometries(), st.integers(1, 3))
def test_inverse_conv_equals_conv_transpose3d_back_on_the_conv_input_sites(x, geometry, c_mid):
    k, s, p, d = geometry
    assume(fits(x, k, p, d))
    down = SparseConv3d(x.channels, c_mid, k, s, p, d).double()
    h = down(x)
    h = h.replace_features(torch.randn_like(h.features))
    up = double(SparseInverseConv3d.inverse_of(down, out_channels=2))
    # the transposed conv's size falls short of the input's by the conv's rounding
    base = [(n - 1) * si - 2 * pi + di * (ki - 1) + 1 for n, ki, si, pi, di in zip(
        h.spatial_shape, k, s, p, d, strict=True
    )]  # fmt: skip
    op = [n - b for n, b in zip(x.spatial_shape, base, strict=True)]
    y, reference, grads = sparse_and_dense(
        up, h, lambda g, w, b: F.conv_transpose3d(g, w, b, s, p, op, 1, d), out_sites=x.coords
    )
    assert y.coords is x.coords and y.cache is x.cache and y.spatial_shape == x.spatial_shape
    assert_close_all(y, reference, grads)


def test_stacked_layers_reuse_one_map_and_the_inverse_reuses_the_conv_map():
    x = SparseVoxelTensor.from_dense(torch.randn(2, 3, 6, 6, 6) * (torch.rand(2, 1, 6, 6, 6) < 0.3))
    first, second = SubmanifoldConv3d(3, 4, 3), SubmanifoldConv3d(4, 4, 3)
    y = second(first(x))
    assert [key[0] for key in x.cache].count("submanifold") == 1
    assert y.cache is x.cache
    down = SparseConv3d(4, 8, 2, stride=2)
    h = SubmanifoldConv3d(8, 8, 3)(down(y))
    conv = x.cache[("conv", (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), 1)]
    assert h.cache is conv.out_cache
    up = SparseInverseConv3d.inverse_of(down)
    z = up(h)
    assert z.coords is x.coords and z.cache is x.cache
    assert inverse_map(conv) is conv.__dict__["_inverse"]
    assert SubmanifoldConv3d(4, 4, 3)(z).cache is x.cache
    assert [key[0] for key in x.cache].count("submanifold") == 1


@convs()
@given(inputs(channels=3), st.data())
def test_channel_mask_equals_zeroed_dense_weights(x, data):
    layer = double(SubmanifoldConv3d(3, 4, 3))
    mask = torch.tensor(data.draw(st.lists(st.booleans(), min_size=12, max_size=12))).view(3, 4)
    if data.draw(st.booleans()):
        mask[data.draw(st.integers(0, 2))] = False  # a dead input channel
    layer.channel_mask.copy_(mask)
    y, reference, grads = sparse_and_dense(
        layer, x, lambda g, w, b: F.conv3d(g, w * mask.T[:, :, None, None, None], b, 1, 1)
    )
    assert_close_all(y, reference, grads)
    assert bool((grads[0][1][:, ~mask] == 0).all())  # masked weights get no gradient
    dead = ~mask.any(dim=0)
    torch.testing.assert_close(y.features[:, dead], layer.bias[dead].expand(x.num_sites, -1))


@convs()
@given(inputs(max_batch=3), geometries())
def test_samples_of_a_batch_do_not_mix(x, geometry):
    k, s, p, d = geometry
    assume(fits(x, k, p, d))
    layer = SparseConv3d(x.channels, 2, k, s, p, d).double()
    y = layer(x)
    for b in range(x.batch_size):
        rows = x.coords[:, 0] == b
        coords = x.coords[rows].clone()
        coords[:, 0] = 0
        alone = layer(SparseVoxelTensor(coords, x.features[rows], x.spatial_shape, 1))
        mine = y.coords[:, 0] == b
        assert torch.equal(alone.coords[:, 1:], y.coords[mine, 1:])
        torch.testing.assert_close(alone.features, y.features[mine])


@pytest.mark.parametrize(
    ("sparse", "dense"),
    [
        (SubmanifoldConv3d(2, 3, (3, 1, 3)), nn.Conv3d(2, 3, (3, 1, 3), padding=(1, 0, 1))),
        (SparseConv3d(2, 3, (2, 3, 1), stride=2), nn.Conv3d(2, 3, (2, 3, 1), stride=2)),
        (SparseConvTranspose3d(2, 3, (2, 1, 3), stride=2), nn.ConvTranspose3d(2, 3, (2, 1, 3), 2)),
    ],
    ids=["submanifold", "conv", "transpose"],
)
def test_weights_convert_to_and_from_torch_layouts(sparse, dense):
    sparse.from_conv3d_weight(dense.weight)
    assert torch.equal(sparse.to_conv3d_weight(), dense.weight)
    a, b, c = (k - 1 for k in sparse.kernel_size)  # the last offset, flat index K - 1
    if isinstance(sparse, SparseConvTranspose3d):
        assert torch.equal(sparse.weight[-1], dense.weight[:, :, a, b, c])
    else:
        assert torch.equal(sparse.weight[-1], dense.weight[:, :, a, b, c].T)
    with torch.no_grad():
        sparse.bias.copy_(dense.bias)
    grid = torch.randn(1, 2, 4, 4, 4)
    x = SparseVoxelTensor.from_dense(grid)
    expected = at_sites(dense(grid), sparse(x).coords)
    torch.testing.assert_close(sparse(x).features, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="takes a weight of shape"):
        sparse.from_conv3d_weight(dense.weight[:1])


def test_initialisation_follows_torch_conv3d():
    torch.manual_seed(0)
    layer = SparseConv3d(4, 6, 3)
    bound = 1 / math.sqrt(4 * 27)
    assert layer.weight.shape == (27, 4, 6)
    assert bound * 0.9 < float(layer.weight.detach().abs().max()) <= bound
    assert float(layer.bias.detach().abs().max()) <= bound
    assert float(nn.Conv3d(4, 6, 3).weight.detach().abs().max()) <= bound
    transposed = SparseConvTranspose3d(4, 6, 3)
    assert float(transposed.weight.detach().abs().max()) <= 1 / math.sqrt(6 * 27)
    assert bool(layer.channel_mask.all()) and layer.channel_mask.shape == (4, 6)


def test_repr():
    assert repr(SubmanifoldConv3d(2, 4, 3)) == "SubmanifoldConv3d(2, 4, kernel_size=(3, 3, 3))"
    conv = SparseConv3d(2, 4, 2, stride=2, padding=1, bias=False, min_active_inputs=2)
    conv.channel_mask[0, 0] = False
    assert repr(conv) == (
        "SparseConv3d(2, 4, kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(1, 1, 1), "
        "min_active_inputs=2, bias=False, channel_mask=7/8)"
    )
    assert repr(SparseConvTranspose3d(1, 1, 3, 2, output_padding=1, dilation=(1, 1, 2))) == (
        "SparseConvTranspose3d(1, 1, kernel_size=(3, 3, 3), stride=(2, 2, 2), "
        "dilation=(1, 1, 2), output_padding=(1, 1, 1))"
    )


def test_bad_layer_arguments_and_inputs():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 2, 3, 3, 3))
    with pytest.raises(
        ValueError, match="SubmanifoldConv3d has 3 input channels, the tensor has 2"
    ):
        SubmanifoldConv3d(3, 1, 3)(x)
    with pytest.raises(TypeError, match="SparseConv3d takes a SparseVoxelTensor, got Tensor"):
        SparseConv3d(2, 1, 3)(x.features)
    with pytest.raises(ValueError, match="odd kernel_size"):
        SubmanifoldConv3d(2, 1, 2)
    with pytest.raises(ValueError, match="in_channels must be a positive int"):
        SparseConv3d(0, 1, 3)
    with pytest.raises(ValueError, match="between 1 and the kernel volume 8"):
        SparseConv3d(2, 1, 2, min_active_inputs=0)
    with pytest.raises(ValueError, match="output_padding must be smaller than stride or dilation"):
        SparseConvTranspose3d(2, 1, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="does not fit on axis 0"):
        SparseConv3d(2, 1, 4)(x)
    with pytest.raises(ValueError, match="no sparse convolution with kernel_size"):
        SparseInverseConv3d(2, 1, 2, stride=2)(x)
    with pytest.raises(TypeError, match="conv must be a SparseConv3d"):
        SparseInverseConv3d.inverse_of(SubmanifoldConv3d(2, 2, 3))
