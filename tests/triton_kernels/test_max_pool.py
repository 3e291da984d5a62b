"""Max pooling over a neighbour table and its backward against plain torch, in Triton's interpreter.

Compiled on a GPU.  ``gather_max_pool`` and ``gather_max_pool_backward`` on the neighbour tables
and drawn problems of ``neighbour_tables``.
"""

import pytest
import torch
from hypothesis import given, settings

from tests.conftest import require_peer
from tests.triton_kernels.neighbour_tables import DEVICE, close, features, gathered, problems

require_peer("triton")  # declared on Linux x86_64; elsewhere these tests skip
from triton_kernels.max_pool import gather_max_pool, gather_max_pool_backward  # noqa: E402


def max_pool_reference(x, nbr):
    """Values (0 without neighbours) and the first argmax in offset order (-1 without)."""
    valid = (nbr >= 0).unsqueeze(-1).expand(-1, -1, x.shape[1])
    masked = torch.where(valid, gathered(x, nbr), float("-inf"))
    best, has = masked.max(1).values, valid.any(1)
    offsets = torch.arange(nbr.shape[1]).view(1, -1, 1)
    first = torch.where(valid & (masked == best.unsqueeze(1)), offsets, nbr.shape[1]).min(1).values
    rows = torch.gather(nbr.long(), 1, first.clamp(max=nbr.shape[1] - 1))
    return torch.where(has, best, 0.0), torch.where(has, rows, -1)


def max_pool_backward_reference(g, argmax, n_in):
    dx = torch.zeros(n_in, g.shape[1], dtype=torch.float64)
    o, c = (argmax >= 0).nonzero(as_tuple=True)
    dx.index_put_((argmax[o, c].long(), c), g.double()[o, c], accumulate=True)
    return dx


@settings(max_examples=30, deadline=None)
@given(problems())
def test_gather_max_pool_and_backward_match_torch(problem):
    nbr, n_in, c_in, _, dtype, strided, g = problem
    x = features((n_in, c_in), g, dtype, strided)
    values, argmax = gather_max_pool(x, nbr.to(DEVICE))
    expected_values, expected_argmax = max_pool_reference(x.cpu(), nbr)
    assert values.dtype == dtype and argmax.dtype == torch.int32
    close(values, expected_values, dtype)
    assert torch.equal(argmax.cpu().long(), expected_argmax)
    grad = features(tuple(values.shape), g, dtype)
    dx = gather_max_pool_backward(grad, argmax, n_in)
    assert dx.dtype == dtype and dx.shape == (n_in, c_in)
    close(dx, max_pool_backward_reference(grad.cpu(), argmax.cpu(), n_in), dtype)


def test_max_pool_ties_infinities_and_nans():
    x = torch.tensor(
        [[1.0, float("-inf"), 2.0], [1.0, float("-inf"), float("nan")], [0.5, float("-inf"), 3.0]],
        device=DEVICE,
    )
    nbr = torch.tensor([[2, 0, 1], [-1, 0, 2]], dtype=torch.int32, device=DEVICE)
    values, argmax = gather_max_pool(x, nbr)
    # ties keep the first offset; all -inf still has an argmax; a NaN wins and stays
    assert argmax.cpu().tolist() == [[0, 2, 1], [0, 0, 2]]
    assert values[0, 0] == 1.0 and values[0, 1] == float("-inf") and values[0, 2].isnan()
    assert values[1].cpu().tolist() == [1.0, float("-inf"), 3.0]


def test_degenerate_sizes():
    x = torch.randn(4, 3, device=DEVICE)
    unfed = torch.full((3, 2), -1, dtype=torch.int32, device=DEVICE)
    values, argmax = gather_max_pool(x, unfed)
    assert torch.equal(values.cpu(), torch.zeros(3, 3)) and bool((argmax == -1).all())


# ---------------------------------------------------------------- bad arguments


X = torch.ones(3, 2)
NBR = torch.zeros(5, 2, dtype=torch.int32)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: gather_max_pool(X, NBR + 3), ValueError, r"neighbors\[0, 0\] = 3"),
        (
            lambda: gather_max_pool_backward(torch.ones(5, 2), NBR.float(), 3),
            TypeError,
            "argmax must be an int32 or int64",
        ),
        (
            lambda: gather_max_pool_backward(torch.ones(5, 3), NBR, 3),
            ValueError,
            r"argmax and grad must have one shape, got \(5, 2\) and \(5, 3\)",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
