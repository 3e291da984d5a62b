"""The sites of a sparse tensor: linear keys, their sorted look-up, the dense-grid rule."""

from unittest import mock

import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from graphnn.sparse3d.kernel_map import (
    conv_map,
    linear_keys,
    lookup_sites,
    sites,
    submanifold_map,
    transpose_map,
)
from graphnn.sparse3d.kernel_map.sites import Sites, coords_from_keys, dense_grid_fits
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.kernel_map.references import assert_pairs_consistent, maps
from tests.sparse3d.sparse_strategies import fits, geometries, inputs


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


def test_lookup_sites_finds_rows_by_key():
    x = SparseVoxelTensor(torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0]]), torch.ones(2, 1), (2, 2, 2))
    keys = linear_keys(torch.tensor([[0, 1, 1, 0], [1, 0, 1, 1], [0, 0, 0, 0]]), (2, 2, 2))
    assert lookup_sites(x, torch.cat([keys, torch.tensor([-1])])).tolist() == [1, 0, -1, -1]


@st.composite
def site_sets(draw):
    shape = tuple(draw(st.integers(1, 6)) for _ in range(3))
    B = draw(st.integers(1, 3))
    cells = B * shape[0] * shape[1] * shape[2]
    keys = draw(st.lists(st.integers(0, cells - 1), unique=True, max_size=40))
    return shape, B, keys


@given(site_sets())
def test_linear_keys_sort_the_sites_and_coords_from_keys_inverts_them(case):
    shape, _, keys = case
    keys = torch.tensor(keys, dtype=torch.int64)
    coords = coords_from_keys(keys, shape)
    assert coords.dtype == torch.int32 and coords.shape == (len(keys), 4)
    assert torch.equal(linear_keys(coords, shape), keys)
    order = torch.argsort(keys)
    assert coords[order].tolist() == sorted(coords.tolist())  # lexicographic (b, x, y, z)
    assert bool((coords[:, 1:] < torch.tensor(shape)).all() and (coords >= 0).all())


@given(site_sets())
def test_sites_of_keys_are_sorted_stably_with_their_rows(case):
    _, _, keys = case
    keys = torch.tensor(keys, dtype=torch.int64)
    found = Sites.of(keys)
    assert torch.equal(found.keys, torch.sort(keys).values)
    assert torch.equal(keys[found.rows], found.keys)
    assert found.sorted == bool(torch.equal(found.rows, torch.arange(len(keys))))
    in_order = Sites.of(found.keys)
    assert in_order.sorted and torch.equal(in_order.rows, torch.arange(len(keys)))


@given(site_sets(), st.lists(st.integers(-3, 500), max_size=20))
def test_lookup_sites_equals_a_dictionary(case, queries):
    shape, B, keys = case
    coords = coords_from_keys(torch.tensor(keys, dtype=torch.int64), shape).reshape(-1, 4)
    x = SparseVoxelTensor(coords, torch.ones(len(keys), 1), shape, batch_size=B)
    row_of = {key: row for row, key in enumerate(linear_keys(x.coords, shape).tolist())}
    rows = lookup_sites(x, torch.tensor(queries, dtype=torch.int64))
    assert rows.dtype == torch.int64
    assert rows.tolist() == [row_of.get(q, -1) if q >= 0 else -1 for q in queries]


def test_the_dense_grid_fits_when_small_and_full_enough():
    assert dense_grid_fits(64, 1) and not dense_grid_fits(65, 1)
    assert dense_grid_fits(sites.GRID_CELLS, sites.GRID_CELLS)
    assert not dense_grid_fits(sites.GRID_CELLS + 1, sites.GRID_CELLS)
    assert not dense_grid_fits(1, 0)
    with mock.patch.object(sites, "GRID_PER_SITE", 2):
        assert dense_grid_fits(2, 1) and not dense_grid_fits(3, 1)
