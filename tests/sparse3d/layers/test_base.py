"""check_sparse and SparseFeatureModule: the input check of every layer, modules on the features."""

import pytest
import torch
from hypothesis import given
from torch import nn

from graphnn.sparse3d.layers import (
    SparseBatchNorm,
    SparseDropout,
    SparsePReLU,
    SparseReLU,
    ToDense,
)
from graphnn.sparse3d.layers.base import SparseFeatureModule, check_sparse
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import same_geometry, small, sparse_inputs


def test_layers_take_only_sparse_tensors():
    dense = torch.zeros(2, 3)
    for layer in [SparseReLU(), SparseBatchNorm(3), SparseDropout(), ToDense()]:
        name = type(layer).__name__
        with pytest.raises(TypeError, match=f"^{name} takes a SparseVoxelTensor, got Tensor"):
            layer(dense)


def test_check_sparse_names_the_layer_and_the_channels():
    x = SparseVoxelTensor(torch.zeros(1, 4, dtype=torch.int32), torch.ones(1, 2), (1, 1, 1))
    assert check_sparse(x, "here", 2) is x
    with pytest.raises(ValueError, match=r"^here expects 4 feature channels"):
        check_sparse(x, "here", 4)


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
