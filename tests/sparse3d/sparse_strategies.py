"""Hypothesis strategies, settings and dense references shared by the sparse 3D tests."""

import torch
from hypothesis import settings
from hypothesis import strategies as st

from graphnn.sparse3d.kernel_map import (
    conv_map,
    inverse_map,
    linear_keys,
    submanifold_map,
    transpose_map,
)
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


def small(**kwargs):
    """The hypothesis settings of the site-wise layer tests: 25 examples, no deadline."""
    return settings(max_examples=25, deadline=None, **kwargs)


def same_geometry(y: SparseVoxelTensor, x: SparseVoxelTensor) -> None:
    """Assert that ``y`` has the sites, the kernel-map cache and the grid of ``x``."""
    assert y.coords is x.coords
    assert y.cache is x.cache
    assert (y.spatial_shape, y.batch_size) == (x.spatial_shape, x.batch_size)


# --- pooling ------------------------------------------------------------------------------


@st.composite
def pool_geometries(draw, max_kernel: int = 3):
    """``(kernel_size, stride, padding, dilation)`` triples that dense pooling accepts too."""
    k = tuple(draw(st.integers(1, max_kernel)) for _ in range(3))
    s = tuple(draw(st.integers(1, 3)) for _ in range(3))
    d = tuple(draw(st.integers(1, 2)) for _ in range(3))
    p = tuple(draw(st.integers(0, ki // 2)) for ki in k)  # max_pool3d's limit: half the kernel
    return k, s, p, d


@st.composite
def pooled_inputs(draw, **kwargs):
    """A sparse input and a geometry whose dilated kernel fits in its padded grid."""
    x = draw(sparse_inputs(**kwargs))
    k, s, p, d = draw(pool_geometries())
    # shrink the kernel until it fits without padding; padding (at most half of it) only helps
    k = tuple(min(ki, (n - 1) // di + 1) for ki, n, di in zip(k, x.spatial_shape, d, strict=True))
    p = tuple(min(pi, ki // 2) for pi, ki in zip(p, k, strict=True))
    return x, (k, s, p, d)


def grad_of(output: torch.Tensor, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The gradient of ``(output * g).sum()`` with respect to ``f`` (zeros where none reaches)."""
    if not f.numel() or not output.numel():
        return torch.zeros_like(f)
    (grad,) = torch.autograd.grad((output * g).sum(), f, allow_unused=True)
    return torch.zeros_like(f) if grad is None else grad


# --- kernel maps and the product on them -----------------------------------------------------


@st.composite
def kernel_maps(draw, **kwargs):
    """A drawn sparse tensor and a kernel map on it: submanifold, conv, transpose or inverse."""
    x = draw(inputs(**kwargs))
    kind = draw(st.sampled_from(["submanifold", "conv", "transpose", "inverse"]))
    k, s, p, d = draw(geometries(odd=kind == "submanifold"))
    if kind == "submanifold":
        return x, submanifold_map(x, k, d)
    if kind == "transpose":
        size = [
            (n - 1) * si - 2 * pi + di * (ki - 1) + 1
            for n, ki, si, pi, di in zip(x.spatial_shape, k, s, p, d, strict=True)
        ]
        if min(size) >= 1:
            return x, transpose_map(x, k, s, p, d)
    if not fits(x, k, p, d):
        return x, submanifold_map(x, 1)
    conv = conv_map(x, k, s, p, d)
    if kind == "conv":
        return x, conv
    down = x.map_output(conv, torch.zeros(conv.n_out, x.channels, dtype=x.dtype))
    return down, inverse_map(conv)


def reference_conv(features: torch.Tensor, weight: torch.Tensor, neighbors: torch.Tensor):
    """``out[o] = sum_k features[neighbors[o, k]] @ weight[k]``, one output row at a time."""
    rows = []
    for table_row in neighbors.tolist():
        row = features.new_zeros(weight.shape[2])
        for k, i in enumerate(table_row):
            if i >= 0:
                row = row + features[i] @ weight[k]
        rows.append(row)
    return torch.stack(rows) if rows else features.new_zeros(0, weight.shape[2])
