"""The block-sparse kernels against plain torch, in Triton's interpreter (compiled on a GPU)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import require_peer

require_peer("triton")
from triton_kernels.bsr_sddmm import bsr_sddmm  # noqa: E402
from triton_kernels.bsr_spmm import bsr_spmm  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TOLERANCE = {
    torch.float32: {"rtol": 1e-4, "atol": 1e-4},
    torch.float16: {"rtol": 2e-2, "atol": 2e-2},
    torch.bfloat16: {"rtol": 8e-2, "atol": 8e-2},
}


@st.composite
def block_problems(draw):
    block = 16
    rows = draw(st.integers(1, 40))
    cols = draw(st.integers(1, 40))
    batch = draw(st.integers(1, 20))
    grid = (-(-rows // block), -(-cols // block))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    keep = torch.rand(grid, generator=g) < draw(st.floats(0.0, 1.0))
    dtype = draw(st.sampled_from(list(TOLERANCE)))
    index_dtype = draw(st.sampled_from([torch.int32, torch.int64]))
    return block, rows, cols, batch, keep, dtype, index_dtype, draw(st.booleans()), g


def bsr_of(block, rows, cols, keep, dtype, index_dtype, g):
    block_rows, block_cols = keep.nonzero(as_tuple=True)
    values = torch.randn(block_rows.numel(), block, block, generator=g).to(dtype)
    crow = torch.zeros(keep.shape[0] + 1, dtype=torch.int64)
    crow[1:] = keep.sum(1).cumsum(0)
    dense = torch.zeros(keep.shape[0] * block, keep.shape[1] * block, dtype=torch.float64)
    for k, (r, c) in enumerate(zip(block_rows.tolist(), block_cols.tolist(), strict=True)):
        dense[r * block : (r + 1) * block, c * block : (c + 1) * block] = values[k].double()
    on = lambda t: t.to(DEVICE)  # noqa: E731
    index = lambda t: on(t.to(index_dtype))  # noqa: E731
    return index(crow), index(block_cols), on(values), index(block_rows), dense[:rows, :cols]


def operand(shape, g, dtype, strided):
    if strided:
        return torch.randn(shape[::-1], generator=g).to(dtype).to(DEVICE).T
    return torch.randn(shape, generator=g).to(dtype).to(DEVICE)


@settings(max_examples=25, deadline=None)
@given(block_problems())
def test_bsr_spmm_matches_torch(problem):
    block, rows, cols, batch, keep, dtype, index_dtype, strided, g = problem
    crow, col, values, _, dense = bsr_of(block, rows, cols, keep, dtype, index_dtype, g)
    x = operand((cols, batch), g, dtype, strided)
    y = bsr_spmm(crow, col, values, x, rows)
    assert y.shape == (rows, batch) and y.dtype == dtype
    torch.testing.assert_close(y.double().cpu(), dense @ x.double().cpu(), **TOLERANCE[dtype])


@settings(max_examples=25, deadline=None)
@given(block_problems())
def test_bsr_sddmm_matches_torch(problem):
    block, rows, cols, batch, keep, dtype, index_dtype, strided, g = problem
    _, col, _, block_rows, _ = bsr_of(block, rows, cols, keep, dtype, index_dtype, g)
    grad = operand((rows, batch), g, dtype, strided)
    x = operand((cols, batch), g, dtype, not strided)
    got = bsr_sddmm(block_rows, col, grad, x, block)
    full = torch.zeros(keep.shape[0] * block, keep.shape[1] * block, dtype=torch.float64)
    full[:rows, :cols] = grad.double().cpu() @ x.double().cpu().T
    blocks = full.reshape(keep.shape[0], block, keep.shape[1], block).permute(0, 2, 1, 3)
    expected = blocks[block_rows.long().cpu(), col.long().cpu()]
    torch.testing.assert_close(got.double().cpu(), expected, **TOLERANCE[dtype])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: bsr_spmm(
                torch.tensor([0, 1]), torch.tensor([0]), torch.ones(1, 8, 8), torch.ones(8, 2), 8
            ),
            ValueError,
            r"BS in \(16, 32, 64\)",
        ),
        (
            lambda: bsr_spmm(
                torch.tensor([0, 1]),
                torch.tensor([0]),
                torch.ones(1, 16, 16),
                torch.ones(16, 2),
                40,
            ),
            ValueError,
            "40 rows in blocks of 16 need 4",
        ),
        (
            lambda: bsr_spmm(
                torch.tensor([0, 1]),
                torch.tensor([0]),
                torch.ones(1, 16, 16),
                torch.ones(16, 2, dtype=torch.float64),
                16,
            ),
            TypeError,
            "must share one of float32",
        ),
        (
            lambda: bsr_sddmm(
                torch.tensor([0]), torch.tensor([0]), torch.ones(16, 2), torch.ones(16, 3), 16
            ),
            ValueError,
            "the same batch",
        ),
        (
            lambda: bsr_sddmm(
                torch.tensor([0]), torch.tensor([0]), torch.ones(16, 2), torch.ones(16, 2), 12
            ),
            ValueError,
            "block_size must be one of",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_block_indices_are_checked():
    values = torch.ones(1, 16, 16)
    with pytest.raises(ValueError, match=r"block columns must lie in \[0, 2\)"):
        bsr_spmm(torch.tensor([0, 1]), torch.tensor([2]), values, torch.ones(20, 3), 16)
    with pytest.raises(ValueError, match="crow_indices ends at 2 but there are 1 block columns"):
        bsr_spmm(torch.tensor([0, 2]), torch.tensor([0]), values, torch.ones(20, 3), 16)
    with pytest.raises(ValueError, match=r"block_rows must lie in \[0, 1\)"):
        bsr_sddmm(torch.tensor([1]), torch.tensor([0]), torch.ones(16, 3), torch.ones(16, 3), 16)
