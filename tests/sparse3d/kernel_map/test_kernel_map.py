"""Kernel maps against the dense rule and a slow dictionary reference, caching, errors."""

from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from graphnn.backends import backend
from graphnn.sparse3d.kernel_map import (
    KernelMap,
    conv_map,
    conv_output_shape,
    find_inverse_map,
    inverse_map,
    kernel_offsets,
    linear_keys,
    lookup_sites,
    sites,
    submanifold_map,
    transpose_map,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.conftest import require_peer
from tests.sparse3d.sparse_strategies import fits, geometries, inputs, occupancy


def maps(**kwargs):
    return settings(max_examples=40, deadline=None, **kwargs)


def reference_neighbors(x, out_coords, k, s, p, d, transposed=False) -> torch.Tensor:
    """The obvious table: a dict of the input sites, one look-up per output site and offset."""
    rows = {tuple(c): i for i, c in enumerate(x.coords.tolist())}
    table = torch.full((len(out_coords), len(kernel_offsets(k))), -1, dtype=torch.int32)
    for o, (b, *q) in enumerate(out_coords.tolist()):
        for j, off in enumerate(kernel_offsets(k).tolist()):
            if transposed:  # input i reaches q = i * s - p + off * d
                num = [qa + pa - oa * da for qa, pa, oa, da in zip(q, p, off, d, strict=True)]
                if any(n % sa for n, sa in zip(num, s, strict=True)):
                    continue
                site = (b, *(n // sa for n, sa in zip(num, s, strict=True)))
            else:
                site = (
                    b,
                    *(
                        qa * sa - pa + oa * da
                        for qa, sa, pa, oa, da in zip(q, s, p, off, d, strict=True)
                    ),
                )
            table[o, j] = rows.get(site, -1)
    return table


def assert_pairs_consistent(m: KernelMap) -> None:
    for k in range(m.kernel_volume):
        in_rows, out_rows = m.pairs(k)
        assert in_rows.dtype == out_rows.dtype == torch.int64
        assert bool((out_rows[1:] > out_rows[:-1]).all())
        expected = torch.nonzero(m.neighbors[:, k] >= 0).flatten()
        assert torch.equal(out_rows, expected)
        assert torch.equal(in_rows, m.neighbors[expected, k].long())
    reverse = m.reverse()
    assert reverse.shape == (m.n_in, m.kernel_volume) and reverse.dtype == torch.int32
    o, k = torch.nonzero(m.neighbors >= 0, as_tuple=True)
    assert torch.equal(reverse[m.neighbors[o, k].long(), k], o.int())
    assert int((reverse >= 0).sum()) == m.num_pairs == len(o)


# --- submanifold ------------------------------------------------------------------------


@maps()
@given(inputs(), geometries(odd=True))
def test_submanifold_map_matches_the_reference(x, geometry):
    k, _, _, d = geometry
    m = submanifold_map(x, k, d)
    pad = tuple(di * (ki - 1) // 2 for ki, di in zip(k, d, strict=True))
    assert m.kind == "submanifold" and m.padding == pad and m.stride == (1, 1, 1)
    assert m.out_coords is x.coords and m.out_cache is x.cache and m.n_in == x.num_sites
    expected = reference_neighbors(x, x.coords, k, (1, 1, 1), pad, d)
    assert torch.equal(m.neighbors, expected)
    assert_pairs_consistent(m)


def test_submanifold_map_of_a_dense_block_has_every_neighbour():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 3, 3, 3))
    m = submanifold_map(x, 3)
    centre = 13  # site (1, 1, 1)
    assert torch.equal(m.neighbors[centre], torch.arange(27, dtype=torch.int32))
    # per axis, the 3 sites see 2, 3 and 2 of the 3 offsets: 7 ** 3 pairs in all
    assert m.num_pairs == int((m.neighbors >= 0).sum()) == 7**3


# --- strided and transposed -------------------------------------------------------------


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


# --- caching ----------------------------------------------------------------------------


@maps()
@given(inputs(), geometries(), st.integers(1, 4))
def test_without_the_dense_grid_the_sorted_keys_give_the_same_maps(x, geometry, min_active):
    """Sites spread over a large box are looked up in the sorted keys instead of a grid."""
    k, s, p, d = geometry
    assume(fits(x, k, p, d))
    odd = tuple(ki | 1 for ki in k)
    min_active = min(min_active, k[0] * k[1] * k[2])

    def build(t):
        maps = [submanifold_map(t, odd, d), conv_map(t, k, s, p, d, min_active)]
        axes = zip(t.spatial_shape, k, p, d, strict=True)
        if all(n - 1 - 2 * pi + di * (ki - 1) >= 0 for n, ki, pi, di in axes):
            maps.append(transpose_map(t, k, s, p, d))  # when its output grid is not empty
        return maps

    with_grid = build(x)
    with mock.patch.object(sites, "GRID_CELLS", 0):
        without = build(SparseVoxelTensor(x.coords, x.features, x.spatial_shape, x.batch_size))
    for a, b in zip(with_grid, without, strict=True):
        assert torch.equal(a.out_coords, b.out_coords)
        assert torch.equal(a.neighbors, b.neighbors)
        assert_pairs_consistent(b)


def test_maps_are_cached_per_geometry_and_shared_by_tensors_with_the_same_sites():
    x = SparseVoxelTensor.from_dense((torch.rand(2, 1, 4, 4, 4) > 0.5).float())
    m = submanifold_map(x, 3)
    assert submanifold_map(x.replace_features(torch.ones(x.num_sites, 5)), (3, 3, 3)) is m
    assert submanifold_map(x, 3, dilation=2) is not m
    c = conv_map(x, 2, 2)
    assert conv_map(x, (2, 2, 2), (2, 2, 2), 0, 1, 1) is c
    assert conv_map(x, 2, 2, min_active_inputs=2) is not c
    assert transpose_map(x, 2, 2) is transpose_map(x, 2, 2)
    assert ("conv", (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), 1) in x.cache


def test_a_cache_holding_a_map_for_other_sites_is_refused():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 2))
    y = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 1))
    y.cache.update({key: value for key, value in x.cache.items() if key != ("sites",)})
    y.cache[("submanifold", (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), None)] = submanifold_map(
        x, 3
    )
    with pytest.raises(RuntimeError, match="holds a map for 8 input sites"):
        submanifold_map(y, 3)


def test_lookup_sites_finds_rows_by_key():
    x = SparseVoxelTensor(torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0]]), torch.ones(2, 1), (2, 2, 2))
    keys = linear_keys(torch.tensor([[0, 1, 1, 0], [1, 0, 1, 1], [0, 0, 0, 0]]), (2, 2, 2))
    assert lookup_sites(x, torch.cat([keys, torch.tensor([-1])])).tolist() == [1, 0, -1, -1]


@settings(max_examples=10, deadline=None)
@given(inputs(max_size=4), geometries(odd=True))
def test_the_triton_hash_table_gives_the_same_submanifold_map(x, geometry):
    require_peer("triton")
    k, _, _, d = geometry
    expected = submanifold_map(x, k, d).neighbors
    fresh = SparseVoxelTensor(x.coords, x.features, x.spatial_shape, x.batch_size)
    with backend("triton"):
        assert torch.equal(submanifold_map(fresh, k, d).neighbors, expected)
    assert fresh.cache[("hash",)] is not None


# --- errors -----------------------------------------------------------------------------


def test_bad_geometries_are_refused_with_the_reason():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 3, 3, 2))
    with pytest.raises(ValueError, match="odd kernel_size"):
        submanifold_map(x, 2)
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
    with pytest.raises(TypeError, match=r"dilation\[0\] must be an int"):
        submanifold_map(x, 1, dilation=True)


def test_an_inverse_needs_a_conv_with_that_geometry():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 4, 4, 4))
    down = x.map_output(conv_map(x, 2, 2), torch.ones(8, 1))
    with pytest.raises(ValueError, match=r"come from one with kernel_size=\(2, 2, 2\), stride=\(2"):
        find_inverse_map(down, 3, 2)
    with pytest.raises(ValueError, match="they come from no conv"):
        find_inverse_map(x, 2, 2)
    with pytest.raises(ValueError, match="needs a 'conv' kernel map"):
        inverse_map(submanifold_map(x, 3))
