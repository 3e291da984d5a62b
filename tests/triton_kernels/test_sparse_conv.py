"""The gather convolution and its reversed table against plain torch, in Triton's interpreter.

Compiled on a GPU.  ``gather_conv`` forward and its input gradient (the same kernel on the table
of ``reverse_neighbors``); the neighbour tables and drawn problems are those of
``neighbour_tables``.
"""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from tests.conftest import require_peer
from tests.triton_kernels.neighbour_tables import (
    DEVICE,
    close,
    conv_reference,
    features,
    neighbour_table,
    problems,
)

require_peer("triton")  # declared on Linux x86_64; elsewhere these tests skip
from triton_kernels.sparse_conv import gather_conv, reverse_neighbors  # noqa: E402


def input_grad_reference(g, w, nbr, n_in):
    dx = torch.zeros(n_in, w.shape[1], dtype=torch.float64)
    for k in range(nbr.shape[1]):
        valid = nbr[:, k] >= 0
        dx.index_add_(0, nbr[valid, k].long(), g.double()[valid] @ w.double()[k].T)
    return dx


# ---------------------------------------------------------------- convolution


@settings(max_examples=40, deadline=None)
@given(problems())
def test_gather_conv_forward_and_input_gradient_match_torch(problem):
    nbr, n_in, c_in, c_out, dtype, strided, g = problem
    x = features((n_in, c_in), g, dtype, strided)
    w = features((nbr.shape[1], c_in, c_out), g, dtype, strided)
    grad = features((nbr.shape[0], c_out), g, dtype, strided)
    on = nbr.to(DEVICE)

    y = gather_conv(x, w, on)
    assert y.dtype == dtype and y.shape == (nbr.shape[0], c_out)
    close(y, conv_reference(x.cpu(), w.cpu(), nbr), dtype)

    reverse = reverse_neighbors(on, n_in)
    dx = gather_conv(grad, w.transpose(1, 2).contiguous(), reverse)
    close(dx, input_grad_reference(grad.cpu(), w.cpu(), nbr, n_in), dtype)


def test_gather_conv_is_the_dense_conv3d_on_a_dense_block():
    """A 4x4x4 block, submanifold 3x3x3: the dense conv3d with padding 1, site by site."""
    coords = np.array(list(itertools.product(range(4), repeat=3)))
    nbr = torch.from_numpy(neighbour_table(coords, "submanifold")).to(DEVICE)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 3, generator=g, dtype=torch.float64)
    w = torch.randn(5, 3, 3, 3, 3, generator=g, dtype=torch.float64)  # torch's [out, in, k, k, k]
    dense = torch.nn.functional.conv3d(x.T.reshape(1, 3, 4, 4, 4), w, padding=1)
    expected = dense.reshape(5, 64).T
    offset_major = w.flatten(2).permute(2, 1, 0)  # [K, in, out], k = (a * 3 + b) * 3 + c
    got = gather_conv(x.to(DEVICE), offset_major.to(DEVICE), nbr)
    torch.testing.assert_close(got.cpu(), expected, rtol=1e-12, atol=1e-12)


def test_input_gradient_through_reverse_equals_autograd_of_the_reference():
    g = torch.Generator().manual_seed(2)
    coords = np.array(list(itertools.product(range(3), repeat=3)))[::2]
    nbr = torch.from_numpy(neighbour_table(coords, "submanifold"))
    x = torch.randn(len(coords), 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(27, 4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(len(coords), 6, generator=g, dtype=torch.float64)
    (conv_reference(x, w, nbr) * grad).sum().backward()
    on = nbr.to(DEVICE)
    dx = gather_conv(
        grad.to(DEVICE),
        w.detach().transpose(1, 2).contiguous().to(DEVICE),
        reverse_neighbors(on, 14),
    )
    torch.testing.assert_close(dx.cpu(), x.grad, rtol=1e-12, atol=1e-12)


def test_out_rows_computes_a_subset_of_the_table():
    g = torch.Generator().manual_seed(3)
    nbr = torch.randint(-1, 9, (12, 4), generator=g, dtype=torch.int32).to(DEVICE)
    x, w = torch.randn(9, 5, generator=g).to(DEVICE), torch.randn(4, 5, 3, generator=g).to(DEVICE)
    rows = torch.tensor([7, 0, 7, 11], device=DEVICE)
    full = gather_conv(x, w, nbr)
    torch.testing.assert_close(gather_conv(x, w, nbr, out_rows=rows), full[rows.long()])
    assert gather_conv(x, w, nbr, out_rows=rows[:0]).shape == (0, 3)


def test_degenerate_sizes():
    x, w = torch.randn(4, 3, device=DEVICE), torch.randn(2, 3, 5, device=DEVICE)
    none = torch.zeros(0, 2, dtype=torch.int32, device=DEVICE)
    assert gather_conv(x, w, none).shape == (0, 5)
    unfed = torch.full((3, 2), -1, dtype=torch.int32, device=DEVICE)
    assert torch.equal(gather_conv(x[:0], w, unfed).cpu(), torch.zeros(3, 5))  # no input rows
    assert torch.equal(reverse_neighbors(unfed, 0).cpu(), torch.zeros(0, 2, dtype=torch.int32))
    empty_channels = torch.zeros(4, 0, device=DEVICE)
    assert gather_conv(empty_channels, torch.zeros(2, 0, 5, device=DEVICE), unfed).shape == (3, 5)


def test_reverse_neighbors_inverts_the_table():
    coords = np.array(list(itertools.product(range(5), repeat=3)))[::3]
    table = neighbour_table(coords, "strided")
    reverse = reverse_neighbors(torch.from_numpy(table).to(DEVICE), len(coords)).cpu()
    expected = np.full((len(coords), table.shape[1]), -1)
    for o, k in zip(*np.nonzero(table >= 0), strict=True):
        expected[table[o, k], k] = o
    assert reverse.dtype == torch.int32
    assert np.array_equal(reverse.numpy(), expected)


# ---------------------------------------------------------------- bad arguments


X, W = torch.ones(3, 2), torch.ones(2, 2, 4)
NBR = torch.zeros(5, 2, dtype=torch.int32)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: gather_conv(X.long(), W, NBR), TypeError, "features must be a floating tensor"),
        (lambda: gather_conv(X, W.double(), NBR), TypeError, "weight and features must share"),
        (
            lambda: gather_conv(X, torch.ones(2, 3, 4), NBR),
            ValueError,
            r"weight must be \[K, C_in=2",
        ),
        (lambda: gather_conv(X, W, NBR.float()), TypeError, "neighbors must be an int32 or int64"),
        (lambda: gather_conv(X, W, NBR[0]), ValueError, r"neighbors must be 2-D \[N_out, K\]"),
        (lambda: gather_conv(X, W, NBR[:, :1]), ValueError, "neighbors has 1 offsets per row"),
        (
            lambda: gather_conv(X, W, torch.tensor([[0, 1], [3, 0]], dtype=torch.int32)),
            ValueError,
            r"neighbors\[1, 0\] = 3 is not an input row: entries must lie in \[-1, 3\)",
        ),
        (
            lambda: gather_conv(X, W, torch.tensor([[0, -2]], dtype=torch.int32)),
            ValueError,
            r"neighbors\[0, 1\] = -2",
        ),
        (
            lambda: gather_conv(X, W, NBR, out_rows=torch.tensor([5])),
            ValueError,
            r"out_rows must lie in \[0, 5\)",
        ),
        (
            lambda: gather_conv(X, W, NBR.to("meta"), validate=False),
            ValueError,
            "all tensors must be on one device",
        ),
        (
            lambda: reverse_neighbors(NBR, 3),
            ValueError,
            "input row 0 feeds several outputs through offset 0",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
