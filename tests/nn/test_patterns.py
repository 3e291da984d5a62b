import warnings

import numpy as np
import pytest
import scipy.sparse
import torch
from hypothesis import given
from hypothesis import strategies as st

from graphnn.nn.patterns import BlockPattern, SparsePattern, csr_order


@st.composite
def patterns(draw, max_side=8):
    """A shape and distinct entries inside it, in a drawn (unsorted) order."""
    shape = (draw(st.integers(0, max_side)), draw(st.integers(0, max_side)))
    cells = [(r, c) for r in range(shape[0]) for c in range(shape[1])]
    chosen = draw(st.sets(st.sampled_from(cells), max_size=len(cells))) if cells else set()
    entries = draw(st.permutations(sorted(chosen)))
    rows = np.array([r for r, _ in entries], dtype=np.int64)
    cols = np.array([c for _, c in entries], dtype=np.int64)
    return rows, cols, shape


def scipy_csr_and_csc(rows, cols, shape):
    """The CSR and CSC of the entries, each entry's value its position in ``rows`` plus one."""
    coo = scipy.sparse.coo_array((np.arange(1, rows.size + 1), (rows, cols)), shape=shape)
    csr, csc = coo.tocsr(), coo.tocsc()
    csr.sort_indices()
    csc.sort_indices()
    return csr, csc


# --- csr_order and SparsePattern against scipy.sparse ---------------------------------------


@given(patterns())
def test_csr_order_sorts_by_row_then_column(pattern):
    rows, cols, shape = pattern
    order = csr_order(rows, cols, shape)
    assert sorted(order.tolist()) == list(range(rows.size))
    expected = sorted(range(rows.size), key=lambda i: (rows[i], cols[i]))
    assert order.tolist() == expected


@given(patterns())
def test_sparse_pattern_is_the_csr_and_csc_of_scipy(pattern):
    rows, cols, shape = pattern
    sparse, order = SparsePattern.from_coordinates(rows, cols, shape)
    csr, csc = scipy_csr_and_csc(rows, cols, shape)
    assert sparse.shape == shape and sparse.nnz == rows.size
    assert sparse.crow_indices.tolist() == csr.indptr.tolist()
    assert sparse.col_indices.tolist() == csr.indices.tolist()
    assert order.tolist() == (csr.data - 1).tolist()  # values[order] is the CSR order
    assert sparse.ccol_indices.tolist() == csc.indptr.tolist()
    assert sparse.row_indices.tolist() == csc.indices.tolist()
    assert order[sparse.transpose_order.numpy()].tolist() == (csc.data - 1).tolist()
    assert all(t.dtype == torch.int64 for t in sparse.tensors())


@given(patterns())
def test_csr_matrices_are_the_dense_matrix_and_its_transpose(pattern):
    rows, cols, shape = pattern
    sparse, _ = SparsePattern.from_coordinates(rows, cols, shape)
    csr, _ = scipy_csr_and_csc(rows, cols, shape)
    values = torch.as_tensor(csr.data, dtype=torch.float64)  # in CSR order
    dense = torch.as_tensor(csr.toarray(), dtype=torch.float64)
    torch.testing.assert_close(sparse.csr(values).to_dense(), dense, rtol=0, atol=0)
    torch.testing.assert_close(sparse.csr_transposed(values).to_dense(), dense.T, rtol=0, atol=0)


def test_transposed_pattern():
    pattern, _ = SparsePattern.from_coordinates(np.array([0, 0, 2]), np.array([2, 0, 1]), (3, 3))
    values = torch.tensor([1.0, 2.0, 3.0])  # CSR order: (0, 0), (0, 2), (2, 1)
    torch.testing.assert_close(
        pattern.csr_transposed(values).to_dense(), pattern.csr(values).to_dense().T
    )


def test_to_keeps_the_tensors_and_csr_does_not_warn():
    pattern, _ = SparsePattern.from_coordinates(np.array([1, 0]), np.array([0, 1]), (2, 2))
    moved = pattern.to("cpu")
    assert moved.shape == pattern.shape
    assert all(torch.equal(a, b) for a, b in zip(moved.tensors(), pattern.tensors(), strict=True))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pattern.csr(torch.ones(2))
    assert not [w for w in caught if "in beta" in str(w.message)]


# --- BlockPattern against a plain numpy reference -------------------------------------------


@given(patterns(), st.integers(1, 4))
def test_block_pattern_lists_the_blocks_that_hold_entries(pattern, block_size):
    rows, cols, shape = pattern
    blocks, order, flat = BlockPattern.from_coordinates(rows, cols, shape, block_size)
    grid = (-(-shape[0] // block_size), -(-shape[1] // block_size))
    expected = sorted(
        {(int(r) // block_size, int(c) // block_size) for r, c in zip(rows, cols, strict=True)}
    )
    assert blocks.shape == shape and blocks.block_size == block_size and blocks.grid == grid
    assert blocks.nnz == len(expected)
    assert (
        list(zip(blocks.block_rows.tolist(), blocks.col_indices.tolist(), strict=True)) == expected
    )
    per_row = np.bincount([br for br, _ in expected], minlength=grid[0])
    assert blocks.crow_indices.tolist() == [0, *np.cumsum(per_row).tolist()]
    by_column = sorted(expected, key=lambda b: (b[1], b[0]))
    assert [expected[k] for k in blocks.transpose_order.tolist()] == by_column
    assert blocks.row_indices.tolist() == [br for br, _ in by_column]
    per_col = np.bincount([bc for _, bc in expected], minlength=grid[1])
    assert blocks.ccol_indices.tolist() == [0, *np.cumsum(per_col).tolist()]
    assert sorted(order.tolist()) == list(range(rows.size))
    assert np.all(np.diff(flat) > 0)  # sorted by block, then row, then column inside it


@given(patterns(), st.integers(1, 4))
def test_block_positions_put_every_entry_in_its_block(pattern, block_size):
    rows, cols, shape = pattern
    blocks, order, flat = BlockPattern.from_coordinates(rows, cols, shape, block_size)
    values = np.arange(1.0, rows.size + 1)
    stored = np.zeros(blocks.nnz * block_size * block_size)
    stored[flat] = values[order]
    stored = stored.reshape(blocks.nnz, block_size, block_size)
    grid = blocks.grid
    padded = np.zeros((grid[0] * block_size, grid[1] * block_size))
    padded[rows, cols] = values
    for k, (br, bc) in enumerate(
        zip(blocks.block_rows.tolist(), blocks.col_indices.tolist(), strict=True)
    ):
        tile = padded[
            br * block_size : (br + 1) * block_size, bc * block_size : (bc + 1) * block_size
        ]
        np.testing.assert_array_equal(stored[k], tile)


@pytest.mark.parametrize("block_size", [0, -2, True, 2.0])
def test_block_size_must_be_a_positive_int(block_size):
    with pytest.raises(ValueError, match="block_size must be a positive int"):
        BlockPattern.from_coordinates(np.array([0]), np.array([0]), (2, 2), block_size)


# --- bad entries -----------------------------------------------------------------------------


def build(kind, rows, cols, shape):
    if kind == "order":
        return csr_order(rows, cols, shape)
    if kind == "sparse":
        return SparsePattern.from_coordinates(rows, cols, shape)
    return BlockPattern.from_coordinates(rows, cols, shape, 2)


KINDS = st.sampled_from(["order", "sparse", "block"])


@given(patterns().filter(lambda p: p[0].size > 0), KINDS, st.data())
def test_a_repeated_entry_is_named(pattern, kind, data):
    rows, cols, shape = pattern
    i = data.draw(st.integers(0, rows.size - 1))
    at = data.draw(st.integers(0, rows.size))
    rows, cols = np.insert(rows, at, rows[i]), np.insert(cols, at, cols[i])
    with pytest.raises(ValueError, match=rf"entry \({rows[at]}, {cols[at]}\) is given twice"):
        build(kind, rows, cols, shape)


@given(patterns(), KINDS, st.data())
def test_an_entry_out_of_bounds_is_refused(pattern, kind, data):
    rows, cols, shape = pattern
    axis = data.draw(st.sampled_from([0, 1]))
    bad = data.draw(st.one_of(st.integers(-5, -1), st.integers(shape[axis], shape[axis] + 5)))
    inside = data.draw(st.integers(0, max(shape[1 - axis] - 1, 0)))
    r, c = (bad, inside) if axis == 0 else (inside, bad)
    at = data.draw(st.integers(0, rows.size))
    rows, cols = np.insert(rows, at, r), np.insert(cols, at, c)
    with pytest.raises(
        ValueError, match=rf"an entry lies outside the shape \({shape[0]}, {shape[1]}\)"
    ):
        build(kind, rows, cols, shape)


@pytest.mark.parametrize(
    ("rows", "cols", "match"),
    [
        ([0, 0], [1, 1], r"entry \(0, 1\) is given twice"),
        ([3], [0], "outside the shape"),
        ([0], [-1], "outside the shape"),
        ([0, 1], [0], "1-D of one length"),
    ],
)
def test_bad_patterns(rows, cols, match):
    with pytest.raises(ValueError, match=match):
        SparsePattern.from_coordinates(np.array(rows), np.array(cols), (3, 3))
