"""SparseVoxelTensor: construction, checks, dense round trips, merging, the shared cache."""

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from graphnn.exceptions import GraphnnError, SparseDataError
from graphnn.sparse3d.data.batch import Sample, collate
from graphnn.sparse3d.kernel_map import conv_map, submanifold_map
from graphnn.sparse3d.tensor import SparseVoxelTensor
from tests.sparse3d.sparse_strategies import at_sites, occupancy, sparse_inputs


def coords(*rows):
    return torch.tensor(rows, dtype=torch.int32).reshape(-1, 4)


@settings(max_examples=30, deadline=None)
@given(sparse_inputs())
def test_dense_round_trip(x):
    dense = x.dense()
    assert dense.shape == (x.batch_size, x.channels, *x.spatial_shape)
    torch.testing.assert_close(at_sites(dense, x.coords), x.features, rtol=0, atol=0)
    assert int(occupancy(x).sum()) == x.num_sites
    back = SparseVoxelTensor.from_dense(dense, mask=occupancy(x)[:, 0])
    assert back.batch_size == x.batch_size and back.spatial_shape == x.spatial_shape
    order = torch.argsort(
        ((x.coords[:, 0] * 10 + x.coords[:, 1]) * 10 + x.coords[:, 2]) * 10 + x.coords[:, 3]
    )
    assert torch.equal(back.coords, x.coords[order])
    assert torch.equal(back.features, x.features[order])
    assert torch.equal(back.dense(), dense)


def test_from_dense_threshold_and_gradients():
    x = torch.zeros(2, 2, 3, 1, 1, requires_grad=False)
    x[0, 0, 0] = 0.5
    x[1, 1, 2] = -2.0
    x.requires_grad_()
    t = SparseVoxelTensor.from_dense(x)
    assert t.coords.tolist() == [[0, 0, 0, 0], [1, 2, 0, 0]]
    assert SparseVoxelTensor.from_dense(x, threshold=1.0).coords.tolist() == [[1, 2, 0, 0]]
    t.features.sum().backward()
    assert int(x.grad.sum()) == 4  # both channels of the two active sites
    y = torch.ones(1, 3, 2, 2, 2, requires_grad=True)
    SparseVoxelTensor.from_dense(y).dense().sum().backward()
    assert torch.equal(y.grad, torch.ones_like(y))


def test_from_batch_keeps_rows_and_batch_size():
    a = Sample(torch.tensor([[0, 1, 2], [3, 0, 0]]), torch.ones(2, 1), 0, 0, (4, 4, 4))
    empty = Sample(torch.zeros(0, 3, dtype=torch.int32), torch.ones(0, 1), 1, 1, (4, 4, 4))
    t = SparseVoxelTensor.from_batch(collate([a, empty, a]))
    assert t.batch_size == 3 and t.coords[:, 0].tolist() == [0, 0, 2, 2]
    assert t.dense()[1].abs().sum() == 0
    with pytest.raises(TypeError, match="batch must be a SparseBatch"):
        SparseVoxelTensor.from_batch(a)


def test_other_integer_dtypes_are_converted_and_batch_size_defaults():
    t = SparseVoxelTensor(
        torch.tensor([[2, 0, 0, 0]], dtype=torch.int64), torch.ones(1, 1), (1, 1, 1)
    )
    assert t.coords.dtype == torch.int32 and t.batch_size == 3
    empty = SparseVoxelTensor(torch.zeros(0, 4, dtype=torch.int16), torch.ones(0, 2), (2, 2, 2))
    assert empty.batch_size == 1 and empty.dense().shape == (1, 2, 2, 2, 2)


def test_replace_features_and_to_share_the_cache():
    t = SparseVoxelTensor.from_dense(torch.ones(1, 1, 2, 2, 2))
    m = submanifold_map(t, 3)
    u = t.replace_features(torch.zeros(8, 4, dtype=torch.float64))
    assert u.cache is t.cache and u.coords is t.coords and u.channels == 4
    assert submanifold_map(u, 3) is m
    h = t.to(dtype=torch.bfloat16)
    assert h.dtype == torch.bfloat16 and h.cache is t.cache and h.device == t.device
    assert t.to("cpu").cache is t.cache
    with pytest.raises(TypeError, match="features must stay floating point"):
        t.to(dtype=torch.int32)
    with pytest.raises(ValueError, match=r"features must have shape \[N, C\] with N = 8"):
        t.replace_features(torch.zeros(7, 1))


def test_map_output_links_the_caches():
    t = SparseVoxelTensor.from_dense(torch.ones(1, 1, 4, 4, 4))
    m = conv_map(t, 2, 2)
    down = t.map_output(m, torch.zeros(m.n_out, 3))
    assert down.cache is m.out_cache and down.spatial_shape == (2, 2, 2)
    assert down.cache[("inverse", (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1))] is m
    assert "sites=8" in repr(down)
    with pytest.raises(ValueError, match=r"N_out = 8 \(the map's output sites\)"):
        t.map_output(m, torch.zeros(64, 3))
    other = SparseVoxelTensor.from_dense(torch.ones(1, 1, 1, 1, 2))
    with pytest.raises(ValueError, match="built for 64 input sites, this tensor has 2"):
        other.map_output(m, torch.zeros(8, 3))


@pytest.mark.parametrize(
    ("reduce", "expected"), [("sum", [[1.0, 2.0], [8.0, 0.0]]), ("mean", [[1.0, 2.0], [4.0, 0.0]]),
                             ("max", [[1.0, 2.0], [5.0, 1.0]])],
)  # fmt: skip
def test_merge_duplicates(reduce, expected):
    c = coords([0, 1, 1, 1], [0, 0, 0, 0], [0, 1, 1, 1])
    f = torch.tensor([[3.0, -1.0], [1.0, 2.0], [5.0, 1.0]], requires_grad=True)
    t = SparseVoxelTensor.merge_duplicates(c, f, (2, 2, 2), reduce=reduce)
    assert t.coords.tolist() == [[0, 0, 0, 0], [0, 1, 1, 1]]
    assert t.features.tolist() == expected
    t.features.sum().backward()
    assert f.grad is not None
    with pytest.raises(ValueError, match="reduce must be one of sum, mean, max"):
        SparseVoxelTensor.merge_duplicates(c, f, (2, 2, 2), reduce="min")


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((coords([0, 0, 0, 0]).float(), torch.ones(1, 1), (2, 2, 2)), TypeError,
         "coords must be an integer tensor"),
        ((coords([0, 0, 0, 0]).bool(), torch.ones(1, 1), (2, 2, 2)), TypeError,
         "coords must be an integer tensor"),
        ((coords([0, 0, 0, 0])[:, :3], torch.ones(1, 1), (2, 2, 2)), ValueError,
         r"coords must have shape \[N, 4\] \(batch, x, y, z\), got \[1, 3\]"),
        (([[0, 0, 0, 0]], torch.ones(1, 1), (2, 2, 2)), TypeError, "coords must be a torch.Tensor"),
        ((coords([0, 0, 0, 0]), torch.ones(2, 1), (2, 2, 2)), ValueError,
         r"features must have shape \[N, C\] with N = 1"),
        ((coords([0, 0, 0, 0]), torch.ones(1), (2, 2, 2)), ValueError, "features must have shape"),
        ((coords([0, 0, 0, 0]), torch.ones(1, 1, dtype=torch.int64), (2, 2, 2)), TypeError,
         "features must be floating point, got torch.int64"),
        ((coords([0, 0, 0, 0], [0, 1, 2, 1]), torch.ones(2, 1), (2, 2, 2)), ValueError,
         r"coords row 1 is \[1, 2, 1\] \(columns 1..3\), outside the spatial size \(2, 2, 2\)"),
        ((coords([0, 0, -1, 0]), torch.ones(1, 1), (2, 2, 2)), ValueError,
         r"coords row 0 is \[0, -1, 0\]"),
        ((coords([0, 0, 0, 0], [-1, 0, 0, 0]), torch.ones(2, 1), (2, 2, 2)), ValueError,
         r"coords row 1 has batch id -1, outside \[0, 1\)"),
        ((coords([0, 0, 0, 0], [3, 0, 0, 0]), torch.ones(2, 1), (2, 2, 2), 2), ValueError,
         r"coords row 1 has batch id 3, outside \[0, 2\) for a batch of 2 samples"),
        ((coords([0, 0, 0, 0]), torch.ones(1, 1), (2, 2, 2), 0), ValueError,
         "batch_size must be at least 1"),
        ((coords([0, 0, 0, 0]), torch.ones(1, 1), (2, 2)), ValueError,
         "spatial_shape must be one int or 3 positive ints"),
        ((coords([0, 0, 0, 0]), torch.ones(1, 1), (2, 0, 2)), ValueError,
         r"spatial_shape\[1\] must be between 1"),
        ((coords([0, 1, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0], [0, 1, 1, 0]),
          torch.ones(5, 1), (2, 2, 2)), ValueError,
         r"coords row 3 repeats the site \(0, 0, 0, 0\) of row 1: sites must be distinct; "
         r"SparseVoxelTensor.merge_duplicates"),
        ((coords([0, 0, 0, 0]), torch.ones(1, 1), (2**20, 2**20, 2**20), 2**5), ValueError,
         "does not fit the int64 site keys"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_what_is_wrong(args, error, match):
    with pytest.raises(error, match=match):
        SparseVoxelTensor(*args)


def test_bad_from_dense_input():
    with pytest.raises(ValueError, match=r"x must be a \[B, C, D, H, W\] tensor, got \[2, 2\]"):
        SparseVoxelTensor.from_dense(torch.ones(2, 2))
    with pytest.raises(TypeError, match="x must be floating point"):
        SparseVoxelTensor.from_dense(torch.ones(1, 1, 1, 1, 1, dtype=torch.int32))
    with pytest.raises(TypeError, match="mask must be a boolean tensor"):
        SparseVoxelTensor.from_dense(torch.ones(1, 1, 1, 1, 1), mask=torch.ones(1, 1, 1, 1))
    with pytest.raises(ValueError, match=r"mask must have shape \[1, 1, 1, 2\]"):
        SparseVoxelTensor.from_dense(torch.ones(1, 1, 1, 1, 2), mask=torch.ones(1, 1, 1, 1) > 0)
    with pytest.raises(ValueError, match="a batch and a grid of positive sizes"):
        SparseVoxelTensor.from_dense(torch.ones(0, 1, 1, 1, 2))


@settings(max_examples=30, deadline=None)
@given(sparse_inputs(kinds=("one", "cloud", "block")), st.data())
def test_a_repeated_site_is_always_named(x, data):
    assume(x.num_sites > 0)
    row = data.draw(st.integers(0, x.num_sites - 1))
    c = torch.cat([x.coords, x.coords[row : row + 1]])
    f = torch.cat([x.features, x.features[row : row + 1]])
    with pytest.raises(
        ValueError, match=f"coords row {x.num_sites} repeats the site .* of row {row}"
    ):
        SparseVoxelTensor(c, f, x.spatial_shape, x.batch_size)
    merged = SparseVoxelTensor.merge_duplicates(c, f, x.spatial_shape, x.batch_size, reduce="max")
    assert merged.num_sites == x.num_sites
    torch.testing.assert_close(merged.dense(), x.dense())


@pytest.mark.parametrize(
    ("rows", "shape", "batch_size", "match"),
    [
        ([[0, 0, 0, 0], [0, 1, 1, 1], [0, 2, 0, 0]], (2, 2, 2), None,
         r"^coords row 2 is \[2, 0, 0\] \(columns 1..3\), outside the spatial size"),
        ([[0, 0, 0, 0], [1, 0, 0, 0], [2, 0, 0, 0]], (2, 2, 2), 2,
         r"^coords row 2 has batch id 2, outside \[0, 2\)"),
        ([[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], (2, 2, 2), None,
         r"^coords row 2 repeats the site \(0, 0, 0, 0\) of row 0"),
    ],
)  # fmt: skip
def test_bad_sites_raise_a_sparse_data_error_naming_the_row(rows, shape, batch_size, match):
    c = coords(*rows)
    with pytest.raises(SparseDataError, match=match) as info:
        SparseVoxelTensor(c, torch.ones(len(rows), 1), shape, batch_size)
    assert isinstance(info.value, ValueError) and isinstance(info.value, GraphnnError)
    with pytest.raises(SparseDataError, match=r"^features must have shape \[N, C\] with N = 3"):
        SparseVoxelTensor(coords(*rows[:2], [0, 1, 0, 1]), torch.ones(2, 1), (2, 2, 2))
