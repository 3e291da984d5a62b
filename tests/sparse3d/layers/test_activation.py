"""The sparse activations against torch's on the feature matrix and on dense grids."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from graphnn.sparse3d.layers.activation import (
    SparseLeakyReLU,
    SparsePReLU,
    SparseReLU,
    SparseSigmoid,
    SparseTanh,
    SparseVeryLeakyReLU,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import same_geometry, small, sparse_inputs

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
    assert SparsePReLU(4).state_dict().keys() == nn.PReLU(4).state_dict().keys()
