"""The torch path of the sparse convolution product: tiles, and the loop over offsets."""

from unittest import mock

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.backends import backend
from graphnn.sparse3d.layers.conv import SparseConv3d, SubmanifoldConv3d
from graphnn.sparse3d.ops import torch_conv
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import (
    fits,
    geometries,
    inputs,
    kernel_maps,
    reference_conv,
)


def convs(**kwargs):
    return settings(max_examples=30, deadline=None, **kwargs)


@convs()
@given(inputs(), geometries(odd=True), st.sampled_from([1, 2, 5, 20]))
def test_the_torch_path_gives_the_same_result_for_any_tile_size(x, geometry, tile):
    """The product runs tile by tile (about ``TILE_PAIRS`` pairs); the tiles never show."""
    k, s, p, d = geometry
    layers = [SubmanifoldConv3d(x.channels, 2, k, d).double()]
    if fits(x, k, p, d):
        layers.append(SparseConv3d(x.channels, 2, k, s, p, d).double())
    for layer in layers:
        results = []
        for pairs in (torch_conv.TILE_PAIRS, tile):
            fresh = SparseVoxelTensor(x.coords, x.features, x.spatial_shape, x.batch_size)
            f = fresh.features.clone().requires_grad_()
            layer.zero_grad()
            with mock.patch.object(torch_conv, "TILE_PAIRS", pairs), backend("torch"):
                y = layer(fresh.replace_features(f))
                y.features.backward(torch.ones_like(y.features))
            results.append((y.features.detach(), f.grad, layer.weight.grad.clone()))
        assert torch.equal(results[0][0], results[1][0])  # each row's sum keeps its order
        for a, b in zip(*results, strict=True):
            torch.testing.assert_close(a, b)


@convs()
@given(kernel_maps(), st.integers(1, 3))
def test_the_products_and_the_weight_gradient_equal_the_loop_reference(case, c_out):
    x, kmap = case
    generator = torch.Generator().manual_seed(kmap.num_pairs)
    weight = torch.randn(kmap.kernel_volume, x.channels, c_out, dtype=torch.float64,
                         generator=generator)  # fmt: skip
    grad = torch.randn(kmap.n_out, c_out, dtype=torch.float64, generator=generator)
    out = torch_conv.torch_product(x.features, weight, kmap, transposed=False)
    torch.testing.assert_close(out, reference_conv(x.features, weight, kmap.neighbors))
    # transposed: each pair (i, k, o) sends grad[o] @ W[k]^T back to input row i
    back = torch_conv.torch_product(grad, weight.transpose(1, 2), kmap, transposed=True)
    expected = torch.zeros(kmap.n_in, x.channels, dtype=torch.float64)
    dW = torch.zeros_like(weight)
    for o, row in enumerate(kmap.neighbors.tolist()):
        for k, i in enumerate(row):
            if i >= 0:
                expected[i] += weight[k] @ grad[o]
                dW[k] += torch.outer(x.features[i], grad[o])
    torch.testing.assert_close(back, expected)
    torch.testing.assert_close(torch_conv.torch_weight_grad(x.features, grad, kmap), dW)
