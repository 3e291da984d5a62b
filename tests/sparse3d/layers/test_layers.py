"""Site-wise sparse layers against torch's modules on the feature matrix and on dense grids."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from graphnn.sparse3d.layers import (
    FromDense,
    SparseBatchNorm,
    SparseDropout,
    SparseFeatureModule,
    SparseLeakyReLU,
    SparsePReLU,
    SparseReLU,
    SparseSigmoid,
    SparseTanh,
    SparseVeryLeakyReLU,
    ToDense,
    check_sparse,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import at_sites, occupancy, sparse_inputs


def same_geometry(y: SparseVoxelTensor, x: SparseVoxelTensor) -> None:
    assert y.coords is x.coords
    assert y.cache is x.cache
    assert (y.spatial_shape, y.batch_size) == (x.spatial_shape, x.batch_size)


def small(**kwargs):
    return settings(max_examples=25, deadline=None, **kwargs)


# --- the input strategy -----------------------------------------------------------------


@small()
@given(sparse_inputs())
def test_drawn_inputs_are_valid_and_match_their_dense_grid(x):
    assert x.coords.dtype == torch.int32 and 1 <= x.batch_size <= 3
    dense = x.dense()
    torch.testing.assert_close(at_sites(dense, x.coords), x.features)
    assert int(occupancy(x).sum()) == x.num_sites


# --- activations ------------------------------------------------------------------------

ACTIVATIONS = [
    (SparseReLU(), F.relu),
    (SparseLeakyReLU(), lambda f: F.leaky_relu(f, 0.01)),
    (SparseLeakyReLU(0.2), lambda f: F.leaky_relu(f, 0.2)),
    (SparseVeryLeakyReLU(), lambda f: torch.where(f > 0, f, f / 3)),
    (SparseTanh(), torch.tanh),
    (SparseSigmoid(), torch.sigmoid),
]


@pytest.mark.parametrize(("layer", "reference"), ACTIVATIONS, ids=lambda v: type(v).__name__)
@small()
@given(x=sparse_inputs())
def test_activations_apply_the_torch_function_to_the_features(layer, reference, x):
    f = x.features.clone().requires_grad_()
    y = layer(x.replace_features(f))
    same_geometry(y, x)
    expected = reference(f)
    torch.testing.assert_close(y.features, expected)
    g = torch.randn_like(expected)
    (grad,) = torch.autograd.grad((y.features * g).sum(), f) if f.numel() else (None,)
    if f.numel():
        (want,) = torch.autograd.grad((expected * g).sum(), f)
        torch.testing.assert_close(grad, want)


def test_activations_on_the_dense_grid_equal_torch_where_the_sites_are():
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(2, 3, 3, 4, 2))
    for layer, reference in ACTIVATIONS:
        torch.testing.assert_close(layer(x).dense(), reference(x.dense()))


@pytest.mark.parametrize("channels", [1, 3])
@small()
@given(data=st.data())
def test_prelu_equals_torch_prelu(channels, data):
    x = data.draw(sparse_inputs(channels=3))
    layer = SparsePReLU(channels)
    with torch.no_grad():
        layer.weight.copy_(torch.linspace(-0.5, 0.5, channels))
    y = layer(x.to(dtype=torch.float32))
    torch.testing.assert_close(y.features, F.prelu(x.features.float(), layer.weight))
    assert y.coords is x.coords


def test_prelu_checks_its_channels():
    x = SparseVoxelTensor(torch.zeros(1, 4, dtype=torch.int32), torch.ones(1, 2), (1, 1, 1))
    with pytest.raises(ValueError, match=r"SparsePReLU expects 3 feature channels, got .*\[1, 2\]"):
        SparsePReLU(3)(x)
    assert SparsePReLU(1)(x).features.shape == (1, 2)


def test_very_leaky_relu_has_slope_one_third():
    layer = SparseVeryLeakyReLU()
    assert layer.negative_slope == pytest.approx(1 / 3)
    assert repr(layer) == "SparseVeryLeakyReLU(negative_slope=0.3333333333333333)"


def test_reprs_and_state_dicts_are_torchs():
    assert repr(SparseReLU()) == "SparseReLU()"
    assert repr(SparseLeakyReLU()) == "SparseLeakyReLU(negative_slope=0.01)"
    assert repr(SparsePReLU(4)) == "SparsePReLU(num_parameters=4)"
    assert repr(SparseBatchNorm(5)) == repr(nn.BatchNorm1d(5)).replace(
        "BatchNorm1d", "SparseBatchNorm"
    )
    assert repr(SparseDropout(0.25)) == "SparseDropout(p=0.25, inplace=False, channelwise=False)"
    assert repr(ToDense()) == "ToDense()"
    assert SparseBatchNorm(5).state_dict().keys() == nn.BatchNorm1d(5).state_dict().keys()
    assert SparsePReLU(4).state_dict().keys() == nn.PReLU(4).state_dict().keys()


def test_layers_take_only_sparse_tensors():
    dense = torch.zeros(2, 3)
    for layer in [SparseReLU(), SparseBatchNorm(3), SparseDropout(), ToDense()]:
        name = type(layer).__name__
        with pytest.raises(TypeError, match=f"^{name} takes a SparseVoxelTensor, got Tensor"):
            layer(dense)
    with pytest.raises(TypeError, match=r"FromDense takes a torch\.Tensor, got list"):
        FromDense()([1.0])


def test_check_sparse_names_the_layer_and_the_channels():
    x = SparseVoxelTensor(torch.zeros(1, 4, dtype=torch.int32), torch.ones(1, 2), (1, 1, 1))
    assert check_sparse(x, "here", 2) is x
    with pytest.raises(ValueError, match=r"^here expects 4 feature channels"):
        check_sparse(x, "here", 4)


# --- generic wrapper --------------------------------------------------------------------


@small()
@given(sparse_inputs(channels=3))
def test_feature_module_applies_any_rowwise_module(x):
    torch.manual_seed(1)
    linear = nn.Linear(3, 5, dtype=torch.float64)
    y = SparseFeatureModule(linear)(x)
    same_geometry(y, x)
    torch.testing.assert_close(y.features, linear(x.features))


def test_feature_module_checks_the_module_and_its_output():
    with pytest.raises(
        TypeError, match=r"module must be a torch\.nn\.Module, got builtin_function"
    ):
        SparseFeatureModule(torch.relu)
    x = SparseVoxelTensor(torch.zeros(1, 4, dtype=torch.int32), torch.ones(1, 2), (1, 1, 1))

    class Rows(nn.Module):
        def forward(self, f):
            return torch.cat([f, f])

    with pytest.raises(
        ValueError, match=r"Rows must map features \[N, C\] to .* N = 1, got \[2, 2\]"
    ):
        SparseFeatureModule(Rows())(x)


# --- batch norm -------------------------------------------------------------------------


def _pair(C: int, **kwargs) -> tuple[SparseBatchNorm, nn.BatchNorm1d]:
    sparse = SparseBatchNorm(C, dtype=torch.float64, **kwargs)
    dense = nn.BatchNorm1d(C, dtype=torch.float64, **kwargs)
    if sparse.affine:
        with torch.no_grad():
            sparse.weight.uniform_(0.5, 2.0)
            sparse.bias.normal_()
    dense.load_state_dict(sparse.state_dict())
    return sparse, dense


@small()
@given(
    st.lists(sparse_inputs(channels=2, kinds=("cloud", "block")), min_size=1, max_size=3),
    st.sampled_from([0.1, None]),
    st.booleans(),
)
def test_batch_norm_equals_batchnorm1d_on_the_features(inputs, momentum, affine):
    sparse, dense = _pair(2, momentum=momentum, affine=affine)
    for x in inputs:
        if x.num_sites < 2:
            continue
        f = x.features.clone().requires_grad_()
        g = torch.randn_like(f)
        y = sparse(x.replace_features(f))
        expected = dense(f)
        same_geometry(y, x)
        torch.testing.assert_close(y.features, expected)
        torch.testing.assert_close(
            *torch.autograd.grad([(y.features * g).sum()], [f]),
            *torch.autograd.grad([(expected * g).sum()], [f]),
        )
        for name, buffer in dense.named_buffers():
            torch.testing.assert_close(sparse.get_buffer(name), buffer)
    sparse.eval()
    dense.eval()
    for x in inputs:
        torch.testing.assert_close(sparse(x).features, dense(x.features))


def test_batch_norm_takes_statistics_over_the_active_sites_only():
    """A dense BatchNorm3d would count the zeros of the inactive sites; the sparse one does not."""
    coords = torch.tensor([[0, 0, 0, 0], [0, 3, 3, 3], [1, 1, 2, 0]], dtype=torch.int32)
    x = SparseVoxelTensor(coords, torch.tensor([[1.0], [2.0], [6.0]]), (4, 4, 4))
    y = SparseBatchNorm(1, affine=False)(x).features
    assert y.mean().abs() < 1e-6
    torch.testing.assert_close(y.var(unbiased=False), torch.tensor(1.0), atol=1e-4, rtol=0)


def test_batch_norm_edge_cases():
    layer = SparseBatchNorm(2)
    empty = SparseVoxelTensor(torch.zeros(0, 4, dtype=torch.int32), torch.zeros(0, 2), (2, 2, 2))
    assert layer(empty) is empty
    assert int(layer.num_batches_tracked) == 0
    assert torch.equal(layer.running_mean, torch.zeros(2))
    one = SparseVoxelTensor(torch.zeros(1, 4, dtype=torch.int32), torch.ones(1, 2), (1, 1, 1))
    with pytest.raises(ValueError, match=r"more than one active site .* got 1"):
        layer(one)
    layer.eval()
    assert layer(one).features.shape == (1, 2)
    with pytest.raises(ValueError, match=r"SparseBatchNorm expects 3 feature channels"):
        SparseBatchNorm(3)(one)


# --- dropout ----------------------------------------------------------------------------


@small()
@given(sparse_inputs(dtype=torch.float32), st.sampled_from([0.0, 0.2, 0.5, 0.9]), st.booleans())
def test_dropout_zeroes_or_scales_and_is_reproducible(x, p, channelwise):
    layer = SparseDropout(p, channelwise=channelwise)
    torch.manual_seed(3)
    y = layer(x)
    torch.manual_seed(3)
    again = layer(x)
    same_geometry(y, x)
    assert torch.equal(y.features, again.features)
    kept = y.features != 0
    torch.testing.assert_close(y.features[kept], x.features[kept] / (1 - p))
    if p == 0:
        assert torch.equal(y.features, x.features)
    if channelwise:
        # One draw per (sample, channel): a channel is zero at all of a sample's sites or none.
        for b in range(x.batch_size):
            rows = kept[x.coords[:, 0] == b]
            assert bool((rows.all(0) | ~rows.any(0)).all())
    layer.eval()
    assert layer(x) is x


def test_dropout_rate_and_gradient():
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.rand(2, 8, 6, 6, 6) + 0.5)
    f = x.features.clone().requires_grad_()
    y = SparseDropout(0.3)(x.replace_features(f))
    rate = float((y.features == 0).float().mean())
    assert 0.25 < rate < 0.35
    y.features.sum().backward()
    torch.testing.assert_close(f.grad, (y.features != 0).float() / 0.7)
    channels = SparseDropout(0.5, channelwise=True)(x).features
    assert {float(v) for v in (channels == 0).float().mean(0).unique()} <= {0.0, 0.5, 1.0}


@pytest.mark.parametrize(
    ("p", "error"),
    [(-0.1, ValueError), (1.0, ValueError), (1.5, ValueError), (float("nan"), ValueError),
     (True, TypeError), ("0.5", TypeError)],
)  # fmt: skip
def test_dropout_rejects_bad_probabilities(p, error):
    with pytest.raises(error, match=r"p must be a probability in \[0, 1\)"):
        SparseDropout(p)


def test_channelwise_dropout_cannot_be_in_place():
    with pytest.raises(ValueError, match="cannot drop whole channels in place"):
        SparseDropout(0.5, channelwise=True, inplace=True)


# --- to and from dense ------------------------------------------------------------------


@small()
@given(sparse_inputs())
def test_to_dense_scatters_the_features(x):
    f = x.features.clone().requires_grad_()
    dense = ToDense()(x.replace_features(f))
    B, (D, H, W) = x.batch_size, x.spatial_shape
    expected = torch.zeros(B, x.channels, D, H, W, dtype=x.dtype)
    for (b, i, j, k), row in zip(x.coords.tolist(), x.features, strict=True):
        expected[b, :, i, j, k] = row
    torch.testing.assert_close(dense, expected)
    g = torch.randn_like(dense)
    if f.numel():
        (dense * g).sum().backward()
        torch.testing.assert_close(f.grad, at_sites(g, x.coords))


@small()
@given(sparse_inputs())
def test_from_dense_inverts_to_dense(x):
    back = FromDense()(ToDense()(x))
    order = torch.argsort(
        ((x.coords[:, 0].long() * 8 + x.coords[:, 1]) * 8 + x.coords[:, 2]) * 8 + x.coords[:, 3]
    )
    assert torch.equal(back.coords, x.coords[order])
    assert torch.equal(back.features, x.features[order])
    assert (back.spatial_shape, back.batch_size) == (x.spatial_shape, x.batch_size)


def test_a_sequential_network_of_layers():
    torch.manual_seed(0)
    x = SparseVoxelTensor.from_dense(torch.randn(2, 3, 4, 4, 4))
    net = nn.Sequential(
        SparseFeatureModule(nn.Linear(3, 4)), SparseBatchNorm(4), SparsePReLU(4),
        SparseDropout(0.1), ToDense(),
    )  # fmt: skip
    out = net(x)
    assert out.shape == (2, 4, 4, 4, 4)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
