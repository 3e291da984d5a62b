"""The sparse convolution kernels against plain torch, in Triton's interpreter (compiled on a GPU).

Neighbour tables come from real voxel clouds: a submanifold 3x3x3 convolution (output sites =
input sites), a strided 2x2x2 convolution (stride 2) and a pointwise one (K = 1), built here
with a dictionary from coordinates to rows, independent of graphnn's kernel maps.
"""

import itertools

import numpy as np
import pytest
import torch
from conftest import require_peer
from hypothesis import given, settings
from hypothesis import strategies as st

require_peer("triton")  # declared on Linux x86_64; elsewhere these tests skip
from triton_kernels import sparse_conv  # noqa: E402
from triton_kernels.sparse_conv import (  # noqa: E402
    gather_conv,
    gather_conv_weight_grad,
    gather_max_pool,
    gather_max_pool_backward,
    reverse_neighbors,
)

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TOLERANCE = {
    torch.float64: {"rtol": 1e-12, "atol": 1e-12},
    torch.float32: {"rtol": 1e-5, "atol": 1e-5},
    torch.float16: {"rtol": 1e-2, "atol": 1e-2},
    torch.bfloat16: {"rtol": 2e-2, "atol": 5e-2},
}
KINDS = {  # kernel size, stride, shift of the window's first offset
    "submanifold": (3, 1, -1),
    "strided": (2, 2, 0),
    "pointwise": (1, 1, 0),
}


# ---------------------------------------------------------------- references, plain torch/numpy


def neighbour_table(coords: np.ndarray, kind: str) -> np.ndarray:
    """int32 [N_out, K]: output site q reads input site q * stride + shift + offset (x-major)."""
    size, stride, shift = KINDS[kind]
    rows = {tuple(c): i for i, c in enumerate(coords.tolist())}
    out = coords if stride == 1 else np.unique(coords // stride, axis=0)
    offsets = list(itertools.product(range(size), repeat=3))
    table = [
        [rows.get(tuple(q * stride + shift + np.array(offset)), -1) for offset in offsets]
        for q in out.reshape(-1, 3)
    ]
    return np.array(table, dtype=np.int32).reshape(len(out), len(offsets))


def gathered(x: torch.Tensor, nbr: torch.Tensor) -> torch.Tensor:
    """[N_out, K, C] float64: x[nbr] with zeros where nbr is -1."""
    valid = (nbr >= 0).unsqueeze(-1)
    return torch.where(valid, x.double()[nbr.clamp(min=0).long()], 0.0)


def conv_reference(x, w, nbr):
    return torch.einsum("okc,kcd->od", gathered(x, nbr), w.double())


def input_grad_reference(g, w, nbr, n_in):
    dx = torch.zeros(n_in, w.shape[1], dtype=torch.float64)
    for k in range(nbr.shape[1]):
        valid = nbr[:, k] >= 0
        dx.index_add_(0, nbr[valid, k].long(), g.double()[valid] @ w.double()[k].T)
    return dx


def weight_grad_reference(x, g, nbr):
    return torch.einsum("okc,od->kcd", gathered(x, nbr), g.double())


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


# ---------------------------------------------------------------- drawn problems


@st.composite
def clouds(draw):
    """Integer coordinates [N, 3], distinct: empty, one voxel, a dense 4x4x4 block or random."""
    shape = draw(st.sampled_from(["empty", "one", "dense", "random"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if shape == "empty":
        return np.zeros((0, 3), dtype=np.int64)
    if shape == "one":
        return rng.integers(0, 8, size=(1, 3))
    if shape == "dense":
        return np.array(list(itertools.product(range(4), repeat=3))) + rng.integers(0, 3, size=3)
    side = draw(st.integers(2, 6))
    grid = np.array(list(itertools.product(range(side), repeat=3)))
    keep = rng.random(len(grid)) < draw(st.floats(0.05, 0.6))
    return grid[keep]


@st.composite
def problems(draw):
    coords = draw(clouds())
    nbr = torch.from_numpy(neighbour_table(coords, draw(st.sampled_from(list(KINDS)))))
    dtype = draw(st.sampled_from(list(TOLERANCE)))
    c_in, c_out = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    return nbr, len(coords), c_in, c_out, dtype, draw(st.booleans()), g


def features(shape, g, dtype, strided=False):
    """A drawn operand on the device, optionally a non-contiguous view of the same values."""
    if strided and len(shape) == 2:
        return torch.randn(shape[::-1], generator=g, dtype=torch.float64).to(dtype).to(DEVICE).T
    t = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype).to(DEVICE)
    return t.transpose(-1, -2).contiguous().transpose(-1, -2) if strided else t


def close(got, expected, dtype):
    torch.testing.assert_close(got.cpu().double(), expected, **TOLERANCE[dtype])


# ---------------------------------------------------------------- convolution


@settings(max_examples=40, deadline=None)
@given(problems())
def test_gather_conv_forward_and_gradients_match_torch(problem):
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

    dw = gather_conv_weight_grad(x, grad, on)
    assert dw.dtype == dtype and dw.shape == (nbr.shape[1], c_in, c_out)
    close(dw, weight_grad_reference(x.cpu(), grad.cpu(), nbr), dtype)


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


def test_gradients_through_reverse_equal_autograd_of_the_reference():
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
    dw = gather_conv_weight_grad(x.detach().to(DEVICE), grad.to(DEVICE), on)
    torch.testing.assert_close(dx.cpu(), x.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dw.cpu(), w.grad, rtol=1e-12, atol=1e-12)


def test_out_rows_computes_a_subset_of_the_table():
    g = torch.Generator().manual_seed(3)
    nbr = torch.randint(-1, 9, (12, 4), generator=g, dtype=torch.int32).to(DEVICE)
    x, w = torch.randn(9, 5, generator=g).to(DEVICE), torch.randn(4, 5, 3, generator=g).to(DEVICE)
    rows = torch.tensor([7, 0, 7, 11], device=DEVICE)
    full = gather_conv(x, w, nbr)
    torch.testing.assert_close(gather_conv(x, w, nbr, out_rows=rows), full[rows.long()])
    assert gather_conv(x, w, nbr, out_rows=rows[:0]).shape == (0, 3)


def test_weight_grad_over_several_row_slices_is_deterministic(monkeypatch):
    monkeypatch.setattr(sparse_conv, "_ROWS_PER_SLICE", 16)  # 70 rows: 5 slices of 14
    g = torch.Generator().manual_seed(4)
    nbr = torch.randint(-1, 30, (70, 3), generator=g, dtype=torch.int32)
    x, grad = torch.randn(30, 17, generator=g), torch.randn(70, 18, generator=g)
    on = nbr.to(DEVICE)
    dw = gather_conv_weight_grad(x.to(DEVICE), grad.to(DEVICE), on)
    close(dw, weight_grad_reference(x, grad, nbr), torch.float32)
    assert torch.equal(dw, gather_conv_weight_grad(x.to(DEVICE), grad.to(DEVICE), on))


def test_degenerate_sizes():
    x, w = torch.randn(4, 3, device=DEVICE), torch.randn(2, 3, 5, device=DEVICE)
    none = torch.zeros(0, 2, dtype=torch.int32, device=DEVICE)
    assert gather_conv(x, w, none).shape == (0, 5)
    assert torch.equal(
        gather_conv_weight_grad(x, torch.zeros(0, 5, device=DEVICE), none).cpu(),
        torch.zeros(2, 3, 5),
    )
    unfed = torch.full((3, 2), -1, dtype=torch.int32, device=DEVICE)
    assert torch.equal(gather_conv(x[:0], w, unfed).cpu(), torch.zeros(3, 5))  # no input rows
    assert torch.equal(reverse_neighbors(unfed, 0).cpu(), torch.zeros(0, 2, dtype=torch.int32))
    values, argmax = gather_max_pool(x, unfed)
    assert torch.equal(values.cpu(), torch.zeros(3, 3)) and bool((argmax == -1).all())
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


# ---------------------------------------------------------------- max pooling


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
            lambda: gather_conv_weight_grad(X, torch.ones(4, 4), NBR),
            ValueError,
            r"grad_out must have one row per row of neighbors \(5\)",
        ),
        (
            lambda: gather_conv_weight_grad(X, torch.ones(5, 4).half(), NBR),
            TypeError,
            "grad_out and features must share a dtype",
        ),
        (
            lambda: reverse_neighbors(NBR, 3),
            ValueError,
            "input row 0 feeds several outputs through offset 0",
        ),
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
