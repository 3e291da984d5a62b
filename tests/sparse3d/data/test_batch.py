import functools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, Dataset

from graphnn.exceptions import SparseDataError
from graphnn.sparse3d.data.batch import Sample, SparseBatch, collate


@st.composite
def samples(draw, channels=None, max_samples=5):
    """Lists of 1..max_samples valid samples sharing a channel count (some possibly empty)."""
    C = draw(st.integers(1, 3)) if channels is None else channels
    out = []
    for index in draw(st.lists(st.integers(0, 1000), min_size=1, max_size=max_samples)):
        size = tuple(draw(st.lists(st.integers(1, 9), min_size=3, max_size=3)))
        n = draw(st.integers(0, 8))
        points = [[draw(st.integers(0, size[axis] - 1)) for axis in range(3)] for _ in range(n)]
        values = draw(
            st.lists(st.floats(-10, 10, allow_nan=False, width=32), min_size=n * C, max_size=n * C)
        )
        out.append(
            Sample(
                torch.tensor(points, dtype=torch.int32).reshape(n, 3),
                torch.tensor(values, dtype=torch.float32).reshape(n, C),
                draw(st.integers(-1, 9)),
                index,
                size,
            )
        )
    return out


def reference_collate(batch):
    """The obvious loop: one row at a time."""
    rows, features = [], []
    for b, s in enumerate(batch):
        for point, f in zip(s.coords.tolist(), s.features, strict=True):
            rows.append([b, *point])
            features.append(f)
    C = batch[0].features.shape[1]
    return rows, torch.stack(features) if features else torch.zeros(0, C)


@settings(max_examples=40)
@given(samples())
def test_collate_matches_reference_and_unbatch_inverts_it(batch):
    out = collate(batch)
    B = len(batch)
    assert len(out) == out.batch_size == B
    assert out.coords.dtype == torch.int32 and out.coords.shape[1] == 4
    assert out.labels.dtype == out.indices.dtype == torch.int64
    rows, features = reference_collate(batch)
    assert out.coords.tolist() == rows
    assert torch.equal(out.features, features)  # concatenated in order
    # every sample keeps its batch id, even an empty one: the ids are exactly 0 .. B-1
    assert out.labels.tolist() == [s.label for s in batch]
    assert out.indices.tolist() == [s.index for s in batch]
    assert [sl.stop - sl.start for sl in out.sample_slices()] == [len(s.coords) for s in batch]
    assert set(out.coords[:, 0].tolist()) <= set(range(B))
    for s, (coords, feats) in zip(batch, out.unbatch(), strict=True):
        assert coords.dtype == torch.int32
        assert torch.equal(coords, s.coords) and torch.equal(feats, s.features)
    assert out.spatial_size == tuple(max(s.spatial_size[a] for s in batch) for a in range(3))
    # the batch passes its own validation
    SparseBatch(out.coords, out.features, out.labels, out.indices, out.spatial_size)


@settings(max_examples=20)
@given(samples(), st.integers(0, 3))
def test_given_spatial_size_is_kept(batch, extra):
    size = tuple(max(s.spatial_size[a] for s in batch) + extra for a in range(3))
    assert collate(batch, spatial_size=size).spatial_size == size


def test_batch_ids_are_exactly_range_b_when_no_sample_is_empty():
    batch = [
        Sample(torch.full((i + 1, 3), i, dtype=torch.int32), torch.ones(i + 1, 2), i, i, (9,) * 3)
        for i in range(6)
    ]
    ids = collate(batch).coords[:, 0]
    assert sorted(set(ids.tolist())) == list(range(6))
    assert torch.equal(ids, torch.sort(ids, stable=True).values)


def test_integer_coords_of_any_dtype_become_int32():
    s = Sample(torch.tensor([[1, 2, 3]], dtype=torch.int64), torch.ones(1, 1), 0, 0, (4, 4, 4))
    t = (torch.tensor([[0, 0, 1]], dtype=torch.int16), torch.ones(1, 1), 1, 1, (2, 2, 2))
    out = collate([s, t])  # a plain 5-tuple is a sample too
    assert out.coords.dtype == torch.int32
    assert out.coords.tolist() == [[0, 1, 2, 3], [1, 0, 0, 1]]


def test_all_empty_samples():
    s = Sample(torch.zeros(0, 3, dtype=torch.int32), torch.zeros(0, 4), -1, 5, (2, 3, 4))
    out = collate([s, s])
    assert out.coords.shape == (0, 4) and out.features.shape == (0, 4)
    assert len(out) == 2 and out.sample_slices() == [slice(0, 0), slice(0, 0)]
    assert [c.shape[0] for c, _ in out.unbatch()] == [0, 0]


def test_repr_and_to():
    s = Sample(torch.zeros(3, 3, dtype=torch.int32), torch.zeros(3, 2), 1, 0, (2, 3, 4))
    out = collate([s, s])
    assert repr(out) == (
        "SparseBatch(batch_size=2, voxels=6, channels=2, spatial_size=(2, 3, 4), device=cpu)"
    )
    moved = out.to("cpu")
    assert moved.device == torch.device("cpu")
    assert torch.equal(moved.coords, out.coords) and moved.spatial_size == out.spatial_size


def _sample(n=2, C=2, label=0, index=0, size=(4, 4, 4), **changes):
    s = Sample(torch.zeros(n, 3, dtype=torch.int32), torch.zeros(n, C), label, index, size)
    return s._replace(**changes)


@pytest.mark.parametrize(
    ("batch", "error", "match"),
    [
        ([], ValueError, "empty list"),
        (_sample(), TypeError, "sequence of Sample"),
        ([_sample(), "x"], TypeError, "sample 1 must be a Sample"),
        ([_sample(), _sample(C=3)], ValueError, "sample 1 .* 3 feature channels, sample 0 has 2"),
        (
            [_sample(), _sample(features=torch.zeros(2, 2, dtype=torch.float64))],
            TypeError,
            "sample 1 .* torch.float64 features",
        ),
        ([_sample(features=torch.zeros(2, 2, dtype=torch.int64))], TypeError, "floating point"),
        ([_sample(coords=torch.zeros(2, 3))], TypeError, "sample 0 coords must be an integer"),
        ([_sample(coords=torch.zeros(2, 4, dtype=torch.int32))], ValueError, r"\[N, 3\]"),
        ([_sample(features=torch.zeros(3, 2))], ValueError, "N = 2"),
        ([_sample(), _sample(label=-2)], ValueError, "sample 1 label"),
        ([_sample(label=1.5)], TypeError, "sample 0 label must be a class index"),
        ([_sample(index=-1)], ValueError, "sample 0 index must be non-negative"),
        ([_sample(size=(4, 4))], ValueError, "3 positive ints"),
        ([_sample(size=(4, 0, 4))], ValueError, r"spatial_size\[1\] must be between 1"),
        (
            [_sample(), _sample(index=7, coords=torch.tensor([[0, 0, 0], [1, 4, 2]]))],
            ValueError,
            r"sample 1 \(index 7\) coords row 1 is \[1, 4, 2\], outside the spatial size",
        ),
        (
            [_sample(coords=torch.tensor([[0, 0, 0], [0, -1, 0]]))],
            ValueError,
            r"row 1 is \[0, -1, 0\]",
        ),
    ],
)
def test_collate_errors(batch, error, match):
    with pytest.raises(error, match=match):
        collate(batch)


def test_collate_error_when_coords_do_not_fit_the_given_size():
    s = _sample(coords=torch.tensor([[0, 0, 0], [3, 3, 3]]))
    with pytest.raises(ValueError, match=r"sample 0 \(index 0\) coords row 1 .* \(2, 8, 8\)"):
        collate([s], spatial_size=(2, 8, 8))
    with pytest.raises(ValueError, match=r"spatial_size\[2\] must be between 1"):
        collate([s], spatial_size=(8, 8, -1))


def _batch(**changes):
    fields = dict(
        coords=torch.tensor([[0, 1, 2, 3], [1, 0, 0, 0]], dtype=torch.int32),
        features=torch.ones(2, 3),
        labels=torch.tensor([0, 1]),
        indices=torch.tensor([5, 6]),
        spatial_size=(4, 4, 4),
    )
    fields.update(changes)
    return SparseBatch(**fields)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        (dict(coords=torch.zeros(2, 3, dtype=torch.int32)), ValueError, r"\[N, 4\]"),
        (dict(coords=torch.zeros(2, 4, dtype=torch.int64)), TypeError, "int32"),
        (dict(features=torch.ones(3, 3)), ValueError, "N = 2"),
        (dict(features=torch.ones(2, 3, dtype=torch.int64)), TypeError, "floating point"),
        (
            dict(labels=torch.tensor([0, 1], dtype=torch.int32)),
            TypeError,
            "labels must be torch.int64",
        ),
        (dict(indices=torch.tensor([0])), ValueError, "labels and indices"),
        (dict(labels=torch.zeros(2, 1, dtype=torch.int64)), ValueError, r"labels .* \[B\]"),
        (dict(features=[[1.0]]), TypeError, "features must be a torch.Tensor"),
        (dict(spatial_size=(4, 4)), ValueError, "3 positive ints"),
        (
            dict(coords=torch.tensor([[0, 1, 2, 3], [2, 0, 0, 0]], dtype=torch.int32)),
            ValueError,
            r"row 1 has batch id 2, outside \[0, 2\)",
        ),
        (
            dict(coords=torch.tensor([[1, 1, 2, 3], [0, 0, 0, 0]], dtype=torch.int32)),
            ValueError,
            "sorted by batch id: row 1 has batch id 0 after batch id 1",
        ),
        (
            dict(coords=torch.tensor([[0, 1, 2, 4], [1, 0, 0, 0]], dtype=torch.int32)),
            ValueError,
            r"coords row 0 is \[1, 2, 4\] \(columns 1..3\), outside",
        ),
    ],
)
def test_sparse_batch_validation(changes, error, match):
    with pytest.raises(error, match=match):
        _batch(**changes)


def test_sparse_batch_is_read_only_and_normalises_spatial_size():
    b = _batch(spatial_size=torch.tensor([4, 5, 6]))
    assert b.spatial_size == (4, 5, 6) and all(type(n) is int for n in b.spatial_size)
    with pytest.raises(AttributeError):
        b.coords = b.coords


# --- with a DataLoader: the dataset lives at module level so worker processes can import it


class CubesDataset(Dataset):
    """Sample i: i % 4 voxels on the diagonal of a (i + 1)-sized grid, feature = i."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        n = i % 4
        coords = torch.arange(n, dtype=torch.int32)[:, None].expand(n, 3).contiguous()
        return Sample(coords, torch.full((n, 2), float(i)), i % 3, i, (i + 4, 4, 4))


def _check_loader_batches(batches, size=None):
    dataset = CubesDataset()
    seen = []
    for batch in batches:
        assert isinstance(batch, SparseBatch)
        for b, (coords, feats) in enumerate(batch.unbatch()):
            i = int(batch.indices[b])
            expected = dataset[i]
            assert torch.equal(coords, expected.coords)
            assert torch.equal(feats, expected.features)
            assert int(batch.labels[b]) == expected.label
            seen.append(i)
        if size is not None:
            assert batch.spatial_size == size
    assert seen == list(range(len(dataset)))


def test_collate_in_a_dataloader_with_workers():
    loader = DataLoader(CubesDataset(), batch_size=3, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert batches[0].spatial_size == (6, 4, 4)
    _check_loader_batches(batches)
    fixed = functools.partial(collate, spatial_size=(20, 8, 8))
    loader = DataLoader(CubesDataset(), batch_size=4, num_workers=2, collate_fn=fixed)
    _check_loader_batches(loader, size=(20, 8, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinning memory needs CUDA")
def test_dataloader_pins_sparse_batches():
    loader = DataLoader(
        CubesDataset(), batch_size=4, num_workers=2, collate_fn=collate, pin_memory=True
    )
    batches = list(loader)
    for batch in batches:
        assert all(
            t.is_pinned() for t in (batch.coords, batch.features, batch.labels, batch.indices)
        )
        on_gpu = batch.to("cuda", non_blocking=True)
        assert on_gpu.device.type == "cuda" and on_gpu.coords.is_cuda
        assert torch.equal(on_gpu.features.cpu(), batch.features)
    _check_loader_batches(batches)


def test_bad_samples_raise_a_sparse_data_error_naming_the_sample_and_the_row():
    outside = _sample(index=7, coords=torch.tensor([[0, 0, 0], [1, 4, 2]]))
    with pytest.raises(SparseDataError, match=r"^sample 1 \(index 7\) coords row 1 is \[1, 4, 2\]"):
        collate([_sample(), outside])
    with pytest.raises(SparseDataError, match=r"^sample 1 .* 3 feature channels, sample 0 has 2"):
        collate([_sample(), _sample(C=3)])
    with pytest.raises(SparseDataError, match=r"^sample 0 features must have shape \[N, C\]"):
        collate([_sample(features=torch.zeros(3, 2))])
    with pytest.raises(SparseDataError, match=r"^sample 0 \(index 0\) coords row 1 .* \(2, 8, 8\)"):
        collate([_sample(coords=torch.tensor([[0, 0, 0], [3, 3, 3]]))], spatial_size=(2, 8, 8))
    with pytest.raises(SparseDataError) as info:
        collate([_sample(coords=torch.zeros(2, 4, dtype=torch.int32))])
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("coords", "match"),
    [
        ([[0, 1, 2, 3], [1, 0, 0, 0], [0, 0, 0, 0]],
         "^coords rows must be sorted by batch id: row 2 has batch id 0 after batch id 1"),
        ([[0, 1, 2, 3], [1, 0, 0, 0], [5, 0, 0, 0]],
         r"^coords row 2 has batch id 5, outside \[0, 2\)"),
        ([[0, 1, 2, 3], [1, 0, 0, 0], [1, 0, 9, 0]],
         r"^coords row 2 is \[0, 9, 0\] \(columns 1..3\)"),
    ],
)  # fmt: skip
def test_a_sparse_batch_raises_a_sparse_data_error_naming_the_row(coords, match):
    with pytest.raises(SparseDataError, match=match) as info:
        _batch(coords=torch.tensor(coords, dtype=torch.int32), features=torch.ones(3, 3))
    assert isinstance(info.value, ValueError)
