"""The CSR kernels against plain torch, in Triton's interpreter on the CPU (compiled on a GPU)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import require_peer

require_peer("triton")  # declared on Linux x86_64; elsewhere these tests skip
from triton_kernels.csr_sddmm import sddmm  # noqa: E402
from triton_kernels.csr_spmm import csr_spmm  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TOLERANCE = {
    torch.float64: {"rtol": 1e-12, "atol": 1e-12},
    torch.float32: {"rtol": 1e-5, "atol": 1e-5},
    torch.float16: {"rtol": 1e-2, "atol": 1e-2},
    torch.bfloat16: {"rtol": 5e-2, "atol": 5e-2},
}


@st.composite
def problems(draw):
    rows = draw(st.integers(0, 6))
    cols = draw(st.integers(1, 7))
    batch = draw(st.integers(1, 5))
    kind = draw(st.sampled_from(["random", "empty", "single", "dense"]))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    if kind == "random":
        mask = torch.rand(rows, cols, generator=g) < draw(st.floats(0.0, 1.0))
    elif kind == "empty":
        mask = torch.zeros(rows, cols, dtype=torch.bool)
    elif kind == "single":
        mask = torch.zeros(rows, cols, dtype=torch.bool)
        if rows:
            mask[draw(st.integers(0, rows - 1)), draw(st.integers(0, cols - 1))] = True
    else:
        mask = torch.ones(rows, cols, dtype=torch.bool)
    dtype = draw(st.sampled_from(list(TOLERANCE)))
    index_dtype = draw(st.sampled_from([torch.int32, torch.int64]))
    strided = draw(st.booleans())
    return mask, batch, dtype, index_dtype, strided, g


def csr_of(mask, g, dtype, index_dtype):
    dense = torch.randn(mask.shape, generator=g, dtype=torch.float64) * mask
    rows, cols = mask.nonzero(as_tuple=True)
    crow = torch.zeros(mask.shape[0] + 1, dtype=torch.int64)
    crow[1:] = mask.sum(1).cumsum(0)
    values = dense[rows, cols].to(dtype)
    on = lambda t: t.to(DEVICE)  # noqa: E731
    return (
        on(crow.to(index_dtype)),
        on(cols.to(index_dtype)),
        on(values),
        on(rows.to(index_dtype)),
        dense,
    )


def matrix(shape, g, dtype, strided):
    """A [rows, batch] operand, optionally as a non-contiguous view."""
    if strided:  # the transpose of a [batch, rows] tensor: feature-major
        return torch.randn(shape[::-1], generator=g, dtype=torch.float64).to(dtype).to(DEVICE).T
    return torch.randn(shape, generator=g, dtype=torch.float64).to(dtype).to(DEVICE)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_csr_spmm_matches_torch(problem):
    mask, batch, dtype, index_dtype, strided, g = problem
    crow, col, values, _, dense = csr_of(mask, g, dtype, index_dtype)
    x = matrix((mask.shape[1], batch), g, dtype, strided)
    y = csr_spmm(crow, col, values, x)
    assert y.dtype == dtype and y.shape == (mask.shape[0], batch)
    expected = dense.to(dtype).double() @ x.double().cpu()
    torch.testing.assert_close(y.double().cpu(), expected, **TOLERANCE[dtype])


@settings(max_examples=40, deadline=None)
@given(problems())
def test_sddmm_matches_torch(problem):
    mask, batch, dtype, index_dtype, strided, g = problem
    _, col, _, rows, _ = csr_of(mask, g, dtype, index_dtype)
    grad = matrix((mask.shape[0], batch), g, dtype, strided)
    x = matrix((mask.shape[1], batch), g, dtype, not strided)
    got = sddmm(rows, col, grad, x)
    full = grad.double().cpu() @ x.double().cpu().T
    expected = full[rows.long().cpu(), col.long().cpu()]
    torch.testing.assert_close(got.double().cpu(), expected, **TOLERANCE[dtype])


def test_transposed_product_through_the_transposed_pattern():
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(5, 8, generator=g) < 0.4
    dense = torch.randn(5, 8, generator=g) * mask
    t = dense.T.to_sparse_csr()
    grad = torch.randn(5, 3, generator=g)
    got = csr_spmm(
        t.crow_indices().to(DEVICE),
        t.col_indices().to(DEVICE),
        t.values().to(DEVICE),
        grad.to(DEVICE),
    )
    torch.testing.assert_close(got.cpu(), dense.T @ grad)


def test_output_buffer_with_strides():
    crow = torch.tensor([0, 1, 2], device=DEVICE)
    col = torch.tensor([1, 0], device=DEVICE)
    values = torch.tensor([2.0, 3.0], device=DEVICE)
    x = torch.arange(6, dtype=torch.float32, device=DEVICE).reshape(2, 3)
    out = torch.zeros(3, 2, device=DEVICE).T  # [2, 3], column-major
    assert csr_spmm(crow, col, values, x, out=out) is out
    torch.testing.assert_close(out.cpu(), torch.tensor([[6.0, 8.0, 10.0], [0.0, 3.0, 6.0]]))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: csr_spmm(
                torch.tensor([0.0, 1.0]), torch.tensor([0]), torch.ones(1), torch.ones(1, 2)
            ),
            TypeError,
            "crow_indices must be an int32 or int64",
        ),
        (
            lambda: csr_spmm(
                torch.tensor([0, 2]), torch.tensor([0]), torch.ones(2), torch.ones(1, 2)
            ),
            ValueError,
            "col_indices must have 2 entries",
        ),
        (
            lambda: csr_spmm(
                torch.tensor([0, 1]), torch.tensor([[0]]), torch.ones(1), torch.ones(1, 2)
            ),
            ValueError,
            "col_indices must be 1-D",
        ),
        (
            lambda: csr_spmm(torch.tensor([0, 1]), torch.tensor([0]), torch.ones(1), torch.ones(2)),
            ValueError,
            "x must be 2-D",
        ),
        (
            lambda: csr_spmm(
                torch.tensor([0, 1]),
                torch.tensor([0]),
                torch.ones(1),
                torch.ones(1, 2, dtype=torch.int64),
            ),
            TypeError,
            "x must be a floating tensor",
        ),
        (
            lambda: csr_spmm(
                torch.tensor([0, 1]),
                torch.tensor([0]),
                torch.ones(1),
                torch.ones(1, 2),
                out=torch.ones(2, 2),
            ),
            ValueError,
            r"out must have shape \(1, 2\)",
        ),
        (
            lambda: csr_spmm(
                torch.tensor([0, 1]),
                torch.tensor([0]),
                torch.ones(1),
                torch.ones(1, 2, device="meta"),
            ),
            ValueError,
            "all tensors must be on one device",
        ),
        (
            lambda: sddmm(
                torch.tensor([0]), torch.tensor([0, 1]), torch.ones(1, 2), torch.ones(2, 2)
            ),
            ValueError,
            "cols must have 1 entries",
        ),
        (
            lambda: sddmm(torch.tensor([0]), torch.tensor([0]), torch.ones(1, 2), torch.ones(2, 3)),
            ValueError,
            "the same batch",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_empty_shapes():
    assert csr_spmm(
        torch.tensor([0]), torch.zeros(0, dtype=torch.int64), torch.zeros(0), torch.ones(3, 2)
    ).shape == (0, 2)
    assert sddmm(
        torch.zeros(0, dtype=torch.int64),
        torch.zeros(0, dtype=torch.int64),
        torch.ones(2, 2),
        torch.ones(3, 2),
    ).shape == (0,)


@pytest.mark.parametrize(
    ("crow", "col", "match"),
    [
        ([1, 2], [0], "crow_indices must start at 0"),
        ([0, 2, 1], [0], "crow_indices must never decrease"),
        ([0, 1, 1], [0, 1], "crow_indices ends at 1 but there are 2 col_indices"),
        ([0, 1], [3], r"col_indices must lie in \[0, 3\)"),
        ([0, 1], [-1], r"col_indices must lie in \[0, 3\)"),
    ],
)
def test_index_values_are_checked_before_any_memory_access(crow, col, match):
    crow, col = torch.tensor(crow), torch.tensor(col)
    with pytest.raises(ValueError, match=match):
        csr_spmm(crow, col, torch.ones(col.numel()), torch.ones(3, 2))


def test_sddmm_coordinates_are_checked():
    with pytest.raises(ValueError, match=r"rows must lie in \[0, 2\)"):
        sddmm(torch.tensor([2]), torch.tensor([0]), torch.ones(2, 3), torch.ones(4, 3))
    with pytest.raises(ValueError, match=r"cols must lie in \[0, 4\)"):
        sddmm(torch.tensor([0]), torch.tensor([4]), torch.ones(2, 3), torch.ones(4, 3))
