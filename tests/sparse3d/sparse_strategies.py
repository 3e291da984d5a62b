"""Hypothesis strategies and dense references shared by the sparse 3D layer tests."""

import torch
from hypothesis import strategies as st

from graphnn.sparse3d.kernel_map import linear_keys
from graphnn.sparse3d.tensor import SparseVoxelTensor

KINDS = ("empty", "one", "cloud", "block")


@st.composite
def sparse_inputs(
    draw,
    channels: int | None = None,
    max_batch: int = 3,
    max_size: int = 5,
    dtype: torch.dtype = torch.float64,
    kinds=KINDS,
):
    """Sparse voxel tensors: an empty one, one voxel, a random cloud or a dense block.

    Sites come in a drawn row order (not sorted); features are Gaussian from a drawn seed, so
    maxima have no ties.  Shrinks toward an empty tensor in a small grid of one sample.
    """
    B = draw(st.integers(1, max_batch))
    shape = tuple(draw(st.integers(1, max_size)) for _ in range(3))
    C = draw(st.integers(1, 3)) if channels is None else channels
    kind = draw(st.sampled_from(kinds))
    D, H, W = shape
    if kind == "empty":
        sites = []
    elif kind == "one":
        sites = [(draw(st.integers(0, B - 1)), *(draw(st.integers(0, n - 1)) for n in shape))]
    elif kind == "block":
        b = draw(st.integers(0, B - 1))
        lo = [draw(st.integers(0, n - 1)) for n in shape]
        hi = [draw(st.integers(low, n - 1)) for low, n in zip(lo, shape, strict=True)]
        sites = [
            (b, x, y, z)
            for x in range(lo[0], hi[0] + 1)
            for y in range(lo[1], hi[1] + 1)
            for z in range(lo[2], hi[2] + 1)
        ]
    else:
        keys = draw(st.sets(st.integers(0, B * D * H * W - 1), max_size=30))
        sites = [(k // (D * H * W), k // (H * W) % D, k // W % H, k % W) for k in keys]
    sites = draw(st.permutations(sorted(sites)))
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    features = torch.randn(len(sites), C, generator=generator, dtype=dtype)
    coords = torch.tensor(sites, dtype=torch.int32).reshape(-1, 4)
    return SparseVoxelTensor(coords, features, shape, batch_size=B)


def occupancy(x: SparseVoxelTensor) -> torch.Tensor:
    """Boolean ``[B, 1, D, H, W]``: the active sites."""
    ones = SparseVoxelTensor(x.coords, torch.ones(x.num_sites, 1), x.spatial_shape, x.batch_size)
    return ones.dense() > 0


def at_sites(dense: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """The ``[N, C]`` rows of a dense ``[B, C, D, H, W]`` tensor at ``coords [N, 4]``."""
    c = coords.long()
    return dense.permute(0, 2, 3, 4, 1)[c[:, 0], c[:, 1], c[:, 2], c[:, 3]]


@st.composite
def inputs(draw, **kwargs):
    """A drawn sparse tensor, in its drawn row order or sorted (the fast paths differ)."""
    x = draw(sparse_inputs(**kwargs))
    if draw(st.booleans()):
        order = torch.argsort(linear_keys(x.coords, x.spatial_shape))
        x = SparseVoxelTensor(x.coords[order], x.features[order], x.spatial_shape, x.batch_size)
    return x


@st.composite
def geometries(draw, odd: bool = False):
    """``(kernel_size, stride, padding, dilation)``; odd kernels only when ``odd``."""
    k = tuple(draw(st.sampled_from([1, 3] if odd else [1, 2, 3])) for _ in range(3))
    s = tuple(draw(st.integers(1, 2)) for _ in range(3))
    p = tuple(draw(st.integers(0, 1)) for _ in range(3))
    d = tuple(draw(st.integers(1, 2)) for _ in range(3))
    return k, s, p, d


def fits(x, k, p, d) -> bool:
    return all(
        n + 2 * pi >= di * (ki - 1) + 1
        for n, ki, pi, di in zip(x.spatial_shape, k, p, d, strict=True)
    )
