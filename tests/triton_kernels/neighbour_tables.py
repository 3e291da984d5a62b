"""Neighbour tables, drawn problems and plain-torch references shared by the gather-kernel tests.

Neighbour tables come from real voxel clouds: a submanifold 3x3x3 convolution (output sites =
input sites), a strided 2x2x2 convolution (stride 2) and a pointwise one (K = 1), built here
with a dictionary from coordinates to rows, independent of graphnn's kernel maps.  The
convolution, weight-gradient and max-pooling tests (``test_sparse_conv.py``,
``test_sparse_conv_weight_grad.py``, ``test_max_pool.py``) draw their problems from here.
"""

import itertools

import numpy as np
import torch
from hypothesis import strategies as st

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
