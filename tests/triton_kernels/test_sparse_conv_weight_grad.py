"""The weight gradient of the gather convolution against plain torch, in Triton's interpreter.

Compiled on a GPU.  ``gather_conv_weight_grad`` on the neighbour tables and drawn problems of
``neighbour_tables``, over one or several row slices.
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
    gathered,
    neighbour_table,
    problems,
)

require_peer("triton")  # declared on Linux x86_64; elsewhere these tests skip
from triton_kernels import sparse_conv_weight_grad  # noqa: E402
from triton_kernels.sparse_conv_weight_grad import gather_conv_weight_grad  # noqa: E402


def weight_grad_reference(x, g, nbr):
    return torch.einsum("okc,od->kcd", gathered(x, nbr), g.double())


@settings(max_examples=40, deadline=None)
@given(problems())
def test_gather_conv_weight_grad_matches_torch(problem):
    nbr, n_in, c_in, c_out, dtype, strided, g = problem
    x = features((n_in, c_in), g, dtype, strided)
    grad = features((nbr.shape[0], c_out), g, dtype, strided)
    on = nbr.to(DEVICE)

    dw = gather_conv_weight_grad(x, grad, on)
    assert dw.dtype == dtype and dw.shape == (nbr.shape[1], c_in, c_out)
    close(dw, weight_grad_reference(x.cpu(), grad.cpu(), nbr), dtype)


def test_weight_grad_equals_autograd_of_the_reference():
    g = torch.Generator().manual_seed(2)
    coords = np.array(list(itertools.product(range(3), repeat=3)))[::2]
    nbr = torch.from_numpy(neighbour_table(coords, "submanifold"))
    x = torch.randn(len(coords), 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(27, 4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(len(coords), 6, generator=g, dtype=torch.float64)
    (conv_reference(x, w, nbr) * grad).sum().backward()
    on = nbr.to(DEVICE)
    dw = gather_conv_weight_grad(x.detach().to(DEVICE), grad.to(DEVICE), on)
    torch.testing.assert_close(dw.cpu(), w.grad, rtol=1e-12, atol=1e-12)


def test_weight_grad_over_several_row_slices_is_deterministic(monkeypatch):
    monkeypatch.setattr(sparse_conv_weight_grad, "_ROWS_PER_SLICE", 16)  # 70 rows: 5 slices of 14
    g = torch.Generator().manual_seed(4)
    nbr = torch.randint(-1, 30, (70, 3), generator=g, dtype=torch.int32)
    x, grad = torch.randn(30, 17, generator=g), torch.randn(70, 18, generator=g)
    on = nbr.to(DEVICE)
    dw = gather_conv_weight_grad(x.to(DEVICE), grad.to(DEVICE), on)
    close(dw, weight_grad_reference(x, grad, nbr), torch.float32)
    assert torch.equal(dw, gather_conv_weight_grad(x.to(DEVICE), grad.to(DEVICE), on))


def test_degenerate_sizes():
    x = torch.randn(4, 3, device=DEVICE)
    none = torch.zeros(0, 2, dtype=torch.int32, device=DEVICE)
    assert torch.equal(
        gather_conv_weight_grad(x, torch.zeros(0, 5, device=DEVICE), none).cpu(),
        torch.zeros(2, 3, 5),
    )


# ---------------------------------------------------------------- bad arguments


X = torch.ones(3, 2)
NBR = torch.zeros(5, 2, dtype=torch.int32)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: gather_conv_weight_grad(X, torch.ones(4, 4), NBR),
            ValueError,
            r"grad_out must have one row per row of neighbors \(5\)",
        ),
        (
            lambda: gather_conv_weight_grad(X, torch.ones(5, 4).half(), NBR),
            TypeError,
            "grad_out and features must share a dtype",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
