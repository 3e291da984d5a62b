"""Strided, transposed and inverse kernel maps against the dense rule and the reference."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from graphnn.sparse3d.kernel_map import (
    conv_map,
    conv_output_shape,
    find_inverse_map,
    inverse_map,
    submanifold_map,
    transpose_map,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.kernel_map.references import assert_pairs_consistent, maps, reference_neighbors
from tests.sparse3d.sparse_strategies import fits, geometries, inputs, occupancy


@maps()
@given(inputs(), geometries(), st.integers(1, 4))
def test_conv_map_sites_follow_the_dense_rule(x, geometry, min_active):
    k, s, p, d = geometry
    assume(fits(x, k, p, d))
    min_active = min(min_active, k[0] * k[1] * k[2])
    m = conv_map(x, k, s, p, d, min_active)
    counts = F.conv3d(
        occupancy(x).double(), torch.ones(1, 1, *k, dtype=torch.float64), None, s, p, d
    )
    assert (
        m.out_spatial_shape
        == tuple(counts.shape[2:])
        == conv_output_shape(x.spatial_shape, k, s, p, d)
    )
    assert torch.equal(m.out_coords, torch.nonzero(counts[:, 0] >= min_active).int())
    assert torch.equal(m.neighbors, reference_neighbors(x, m.out_coords, k, s, p, d))
    assert_pairs_consistent(m)


@maps()
@given(inputs(), geometries(), st.integers(0, 1))
def test_transpose_map_reaches_the_sites_of_conv_transpose3d(x, geometry, output_padding):
    k, s, p, d = geometry
    op = tuple(min(output_padding, max(si, di) - 1) for si, di in zip(s, d, strict=True))
    size = [(n - 1) * si - 2 * pi + di * (ki - 1) + oi + 1 for n, ki, si, pi, di, oi in zip(
        x.spatial_shape, k, s, p, d, op, strict=True
    )]  # fmt: skip
    assume(min(size) >= 1)
    m = transpose_map(x, k, s, p, d, op)
    reach = F.conv_transpose3d(
        occupancy(x).double(), torch.ones(1, 1, *k, dtype=torch.float64), None, s, p, op, 1, d
    )
    assert m.out_spatial_shape == tuple(reach.shape[2:])
    assert torch.equal(m.out_coords, torch.nonzero(reach[:, 0] > 0).int())
    assert torch.equal(m.neighbors, reference_neighbors(x, m.out_coords, k, s, p, d, True))
    assert_pairs_consistent(m)


@maps()
@given(inputs(), geometries())
def test_inverse_map_is_the_reversed_conv_map_back_on_the_input_sites(x, geometry):
    k, s, p, d = geometry
    assume(fits(x, k, p, d))
    conv = conv_map(x, k, s, p, d)
    down = x.map_output(conv, torch.zeros(conv.n_out, 1))
    inv = find_inverse_map(down, k, s, p, d)
    assert inv is inverse_map(conv)
    assert inv.kind == "inverse" and inv.out_coords is x.coords and inv.out_cache is x.cache
    assert inv.in_cache is down.cache and inv.n_in == conv.n_out
    assert torch.equal(inv.neighbors, conv.reverse())
    assert_pairs_consistent(inv)


def test_bad_geometries_are_refused_with_the_reason():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 3, 3, 2))
    with pytest.raises(ValueError, match="does not fit on axis 2: kernel_size 3 with dilation 1"):
        conv_map(x, 3)
    with pytest.raises(ValueError, match="does not fit on axis 0"):
        conv_map(x, 2, dilation=(3, 1, 1))
    with pytest.raises(
        ValueError, match="min_active_inputs must be between 1 and the kernel volume 8"
    ):
        conv_map(x, 2, min_active_inputs=9)
    with pytest.raises(TypeError, match="min_active_inputs must be an int"):
        conv_map(x, 2, min_active_inputs=1.5)
    with pytest.raises(ValueError, match="output_padding must be smaller"):
        transpose_map(x, 2, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="output is empty on axis 0"):
        transpose_map(x, 1, padding=(2, 0, 0))
    with pytest.raises(ValueError, match=r"stride\[0\] must be at least 1"):
        conv_map(x, 1, stride=0)
    with pytest.raises(ValueError, match="kernel_size must be one int or 3 positive ints"):
        conv_map(x, (1, 1))


def test_an_inverse_needs_a_conv_with_that_geometry():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 4, 4, 4))
    down = x.map_output(conv_map(x, 2, 2), torch.ones(8, 1))
    with pytest.raises(ValueError, match=r"come from one with kernel_size=\(2, 2, 2\), stride=\(2"):
        find_inverse_map(down, 3, 2)
    with pytest.raises(ValueError, match="they come from no conv"):
        find_inverse_map(x, 2, 2)
    with pytest.raises(ValueError, match="needs a 'conv' kernel map"):
        inverse_map(submanifold_map(x, 3))
