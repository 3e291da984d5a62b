"""ToDense and FromDense: between sparse voxel tensors and dense [B, C, D, H, W] tensors."""

import pytest
import torch
from hypothesis import given

from graphnn.sparse3d.layers.dense import FromDense, ToDense
from tests.sparse3d.sparse_strategies import at_sites, small, sparse_inputs


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


def test_from_dense_takes_only_tensors():
    with pytest.raises(TypeError, match=r"FromDense takes a torch\.Tensor, got list"):
        FromDense()([1.0])


def test_reprs_and_state_dicts_are_torchs():
    assert repr(ToDense()) == "ToDense()"
