import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from graphnn.nn.functional import masked_linear
from graphnn.nn.patterns import SparsePattern


@st.composite
def masked_problems(draw, max_side=7):
    out_f = draw(st.integers(0, max_side))
    in_f = draw(st.integers(0, max_side))
    batch = draw(st.integers(1, 4))
    entries = draw(
        st.sets(
            st.tuples(st.integers(0, max(out_f - 1, 0)), st.integers(0, max(in_f - 1, 0))),
            max_size=out_f * in_f,
        )
    )
    entries = sorted(e for e in entries if out_f and in_f)
    live = draw(st.lists(st.booleans(), min_size=len(entries), max_size=len(entries)))
    seed = draw(st.integers(0, 2**16))
    return out_f, in_f, batch, entries, live, seed


def dense_reference(x, out_f, in_f, entries, values, live, bias):
    w = torch.zeros(out_f, in_f, dtype=x.dtype)
    for (r, c), v, keep in zip(entries, values, live, strict=True):
        w[r, c] = v if keep else 0.0
    return x @ w.T + bias


def zero_if_none(t):
    """The gradient of ``t``; torch leaves it None when nothing flowed into ``t``."""
    return torch.zeros_like(t) if t.grad is None else t.grad.clone()


@given(masked_problems())
def test_sparse_product_matches_a_dense_reference(problem):
    out_f, in_f, batch, entries, live, seed = problem
    g = torch.Generator().manual_seed(seed)
    rows = np.array([r for r, _ in entries], dtype=np.int64)
    cols = np.array([c for _, c in entries], dtype=np.int64)
    pattern, order = SparsePattern.from_coordinates(rows, cols, (out_f, in_f))
    assert order.tolist() == list(range(len(entries)))  # entries were sorted already
    values = torch.randn(len(entries), generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor(live, dtype=torch.bool)
    bias = torch.randn(out_f, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(batch, in_f, generator=g, dtype=torch.float64, requires_grad=True)
    y = masked_linear(x, values, mask, bias, pattern)
    grad = torch.randn_like(y)
    y.backward(grad)
    got = tuple(zero_if_none(t) for t in (x, values, bias))
    for t in (x, values, bias):
        t.grad = None
    ref = dense_reference(x, out_f, in_f, entries, values, live, bias)
    torch.testing.assert_close(y, ref)
    ref.backward(grad)
    for mine, t in zip(got, (x, values, bias), strict=True):
        torch.testing.assert_close(mine, zero_if_none(t))
    assert torch.all(got[1][~mask] == 0)  # masked entries get no gradient


@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_gradcheck(layout):
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(5, 6, generator=g) < 0.5
    x = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(5, dtype=torch.float64, requires_grad=True)
    if layout == "dense":
        w = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
        args, pattern = (w, mask), None
    else:
        rows, cols = mask.nonzero(as_tuple=True)
        pattern, _ = SparsePattern.from_coordinates(rows.numpy(), cols.numpy(), (5, 6))
        w = torch.randn(pattern.nnz, dtype=torch.float64, requires_grad=True)
        live = torch.rand(pattern.nnz, generator=g) < 0.8
        args = (w, live)
    assert torch.autograd.gradcheck(
        lambda x, w, b: masked_linear(x, w, args[1], b, pattern), (x, w, bias)
    )


def test_sparse_product_on_non_contiguous_and_batched_inputs():
    g = torch.Generator().manual_seed(1)
    mask = torch.rand(4, 6, generator=g) < 0.5
    rows, cols = mask.nonzero(as_tuple=True)
    pattern, _ = SparsePattern.from_coordinates(rows.numpy(), cols.numpy(), (4, 6))
    values = torch.randn(pattern.nnz, generator=g)
    dense = torch.zeros(4, 6)
    dense[rows, cols] = values
    x = torch.randn(6, 2, 3, generator=g).permute(1, 2, 0)  # [2, 3, 6], not contiguous
    live = torch.ones(pattern.nnz, dtype=torch.bool)
    torch.testing.assert_close(masked_linear(x, values, live, None, pattern), x @ dense.T)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_sparse_product_in_every_float_dtype(dtype):
    g = torch.Generator().manual_seed(2)
    mask = torch.rand(8, 9, generator=g) < 0.4
    rows, cols = mask.nonzero(as_tuple=True)
    pattern, _ = SparsePattern.from_coordinates(rows.numpy(), cols.numpy(), (8, 9))
    values = torch.randn(pattern.nnz, generator=g).to(dtype).requires_grad_()
    x = torch.randn(5, 9, generator=g).to(dtype).requires_grad_()
    live = torch.ones(pattern.nnz, dtype=torch.bool)
    y = masked_linear(x, values, live, None, pattern)
    assert y.dtype == dtype
    y.float().sum().backward()
    assert x.grad.dtype == dtype and values.grad.dtype == dtype
    dense = torch.zeros(8, 9)
    dense[rows, cols] = values.detach().float()
    tol = {"rtol": 2e-2, "atol": 2e-2} if dtype in (torch.float16, torch.bfloat16) else {}
    torch.testing.assert_close(y.float(), x.detach().float() @ dense.T, **tol)


def test_empty_pattern_gives_the_bias():
    pattern, _ = SparsePattern.from_coordinates(np.zeros(0), np.zeros(0), (3, 4))
    bias = torch.tensor([1.0, 2.0, 3.0])
    y = masked_linear(
        torch.randn(2, 4), torch.zeros(0), torch.zeros(0, dtype=torch.bool), bias, pattern
    )
    torch.testing.assert_close(y, bias.expand(2, 3))
