"""The kernel-map cache: one map per geometry, refused for other sites, moved with its links."""

import pytest
import torch

from graphnn.sparse3d.kernel_map import (
    cached_map,
    conv_map,
    find_inverse_map,
    inverse_map,
    move_cache,
    submanifold_map,
    transpose_map,
)
from graphnn.sparse3d.tensor import SparseVoxelTensor


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


def test_moving_to_another_device_carries_the_kernel_maps_and_their_links():
    """Maps built before the move (e.g. in a data-loading worker) are found after it.

    Only the CPU is certain here, so the copy goes to the meta device: the structure (which
    maps, linked to which caches, sharing which tensors) is what is checked; values cannot be.
    """
    torch.manual_seed(0)
    t = SparseVoxelTensor.from_dense(torch.randn(2, 3, 6, 6, 6) * (torch.rand(2, 1, 6, 6, 6) < 0.4))
    sub = submanifold_map(t, 3)
    sub.reverse()
    down_map = conv_map(t, 2, stride=2)
    down = t.map_output(down_map, torch.ones(down_map.n_out, 3))
    submanifold_map(down, 3)
    inverse_map(down_map)
    t.cache[("hash",)] = object()  # a Triton hash table is never carried (rebuilt there)

    moved = t.to("meta")
    assert moved.device.type == "meta" and moved.coords.device.type == "meta"
    assert set(moved.cache) == set(t.cache) - {("hash",)}
    m_sub = moved.cache[("submanifold", (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), None)]
    assert m_sub.out_coords is moved.coords and m_sub.in_cache is moved.cache
    assert m_sub.out_cache is moved.cache and m_sub.neighbors.shape == sub.neighbors.shape
    assert m_sub.__dict__["_reverse"].device.type == "meta"
    m_down = moved.cache[("conv", (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), 1)]
    assert m_down.in_coords is moved.coords and m_down.neighbors.device.type == "meta"
    assert m_down.out_cache is not down.cache and set(m_down.out_cache) == set(down.cache)
    # the inverse link survives: from the moved down-sampled sites back to the moved input
    moved_down = moved.map_output(m_down, torch.ones(m_down.n_out, 3, device="meta"))
    back = find_inverse_map(moved_down, 2, stride=2)
    assert back is inverse_map(m_down) and back.out_cache is moved.cache
    assert back.out_coords is moved.coords
    # the original is untouched
    assert t.cache[("conv", (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), 1)] is down_map
    assert down_map.neighbors.device.type == "cpu" and ("hash",) in t.cache


def test_cached_map_builds_once_per_key():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 2))
    calls = []

    def build():
        calls.append(1)
        return submanifold_map(x, 1)

    key = ("custom", 1)
    first = cached_map(x, key, build)
    assert cached_map(x, key, build) is first and x.cache[key] is first
    assert cached_map(x.replace_features(torch.zeros(8, 3)), key, build) is first
    assert len(calls) == 1
    assert cached_map(x, ("custom", 2), build) is not None and len(calls) == 2


def test_cached_map_names_the_key_and_the_site_counts_it_refuses():
    x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 2))
    y = SparseVoxelTensor.from_dense(torch.ones(1, 1, 1, 1, 3))
    y.cache[("custom",)] = submanifold_map(x, 1)
    with pytest.raises(RuntimeError, match=r"map for 8 input sites under \('custom',\), but the "
                       r"tensor has 3"):  # fmt: skip
        cached_map(y, ("custom",), lambda: pytest.fail("a cached map is not rebuilt"))


def test_move_cache_copies_each_map_once_and_keeps_the_links():
    torch.manual_seed(0)
    t = SparseVoxelTensor.from_dense(torch.randn(1, 2, 4, 4, 4) * (torch.rand(1, 1, 4, 4, 4) < 0.5))
    sub = submanifold_map(t, 3)
    down_map = conv_map(t, 2, stride=2)
    down = t.map_output(down_map, torch.ones(down_map.n_out, 2))
    inverse_map(down_map)
    coords, cache = move_cache(t.coords, t.cache, "meta")
    assert coords.device.type == "meta" and cache is not t.cache
    assert set(cache) == set(t.cache)
    moved_sub = cache[("submanifold", (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), None)]
    assert moved_sub is not sub and moved_sub.out_coords is coords and moved_sub.in_coords is coords
    assert moved_sub.in_cache is cache and moved_sub.out_cache is cache
    moved_down = cache[("conv", (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), 1)]
    assert moved_down.in_cache is cache and set(moved_down.out_cache) == set(down.cache)
    assert moved_down.__dict__["_inverse"].out_cache is cache  # the inverse leads back here
    inverse_key = ("inverse", (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1))
    assert moved_down.out_cache[inverse_key] is moved_down  # shared, as in the source
    # the source is untouched
    assert t.cache[("submanifold", (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), None)] is sub
    assert sub.neighbors.device.type == "cpu"


def test_move_cache_to_the_same_device_keeps_the_tensors():
    t = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 2))
    sub = submanifold_map(t, 3)
    coords, cache = move_cache(t.coords, t.cache, t.device)
    assert coords is t.coords  # Tensor.to on its own device is the tensor itself
    moved = cache[("submanifold", (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), None)]
    assert moved is not sub and moved.neighbors is sub.neighbors
    assert torch.equal(moved.neighbors, sub.neighbors)
