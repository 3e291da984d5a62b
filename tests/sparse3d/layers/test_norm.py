"""SparseBatchNorm against torch's BatchNorm1d on the features of the active sites."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from graphnn.sparse3d.layers.norm import SparseBatchNorm
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import same_geometry, small, sparse_inputs


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


def test_reprs_and_state_dicts_are_torchs():
    assert repr(SparseBatchNorm(5)) == repr(nn.BatchNorm1d(5)).replace(
        "BatchNorm1d", "SparseBatchNorm"
    )
    assert SparseBatchNorm(5).state_dict().keys() == nn.BatchNorm1d(5).state_dict().keys()
