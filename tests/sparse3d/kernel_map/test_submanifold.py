"""Submanifold kernel maps against the dictionary reference; the Triton hash table."""

import pytest
import torch
from hypothesis import given, settings

from graphnn.backends import backend
from graphnn.sparse3d.kernel_map import submanifold_map
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.conftest import require_peer
from tests.sparse3d.kernel_map.references import assert_pairs_consistent, maps, reference_neighbors
from tests.sparse3d.sparse_strategies import geometries, inputs


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


def test_bad_submanifold_geometries_are_refused_with_the_reason():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 3, 3, 2))
    with pytest.raises(ValueError, match="odd kernel_size"):
        submanifold_map(x, 2)
    with pytest.raises(TypeError, match=r"dilation\[0\] must be an int"):
        submanifold_map(x, 1, dilation=True)
