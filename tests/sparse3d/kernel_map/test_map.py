"""KernelMap (its pairs and reverse table) and the geometry of dense convolutions."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from graphnn.sparse3d.kernel_map import (
    KernelMap,
    conv_output_shape,
    kernel_offsets,
    transpose_output_shape,
)
from tests.sparse3d.kernel_map.references import assert_pairs_consistent, maps
from tests.sparse3d.sparse_strategies import geometries, kernel_maps

shapes = st.tuples(*[st.integers(1, 7)] * 3)


@maps()
@given(shapes, geometries())
def test_conv_output_shape_is_the_shape_of_conv3d(shape, geometry):
    k, s, p, d = geometry
    fits = all(
        n + 2 * pi >= di * (ki - 1) + 1 for n, ki, pi, di in zip(shape, k, p, d, strict=True)
    )
    if not fits:
        with pytest.raises(ValueError, match="the kernel does not fit on axis"):
            conv_output_shape(shape, k, s, p, d)
        return
    dense = F.conv3d(torch.zeros(1, 1, *shape), torch.zeros(1, 1, *k), None, s, p, d)
    assert conv_output_shape(shape, k, s, p, d) == tuple(dense.shape[2:])


@maps()
@given(shapes, geometries(), st.integers(0, 1))
def test_transpose_output_shape_is_the_shape_of_conv_transpose3d(shape, geometry, extra):
    k, s, p, d = geometry
    op = tuple(min(extra, max(si, di) - 1) for si, di in zip(s, d, strict=True))
    size = [(n - 1) * si - 2 * pi + di * (ki - 1) + oi + 1 for n, ki, si, pi, di, oi in zip(
        shape, k, s, p, d, op, strict=True
    )]  # fmt: skip
    if min(size) < 1:
        with pytest.raises(ValueError, match="output is empty on axis"):
            transpose_output_shape(shape, k, s, p, d, op)
        return
    dense = F.conv_transpose3d(torch.zeros(1, 1, *shape), torch.zeros(1, 1, *k), None, s, p, op,
                               1, d)  # fmt: skip
    assert transpose_output_shape(shape, k, s, p, d, op) == tuple(dense.shape[2:]) == tuple(size)


def test_geometry_errors_name_the_axis():
    with pytest.raises(ValueError, match=r"axis 1: kernel_size 3 with dilation 2 spans 5 sites"):
        conv_output_shape((8, 4, 8), 3, dilation=2)
    with pytest.raises(ValueError, match=r"output_padding must be smaller .* got 2 on axis 2"):
        transpose_output_shape((2, 2, 2), (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), (0, 0, 2))
    with pytest.raises(ValueError, match=r"stride\[2\] must be at least 1"):
        conv_output_shape((4, 4, 4), 1, stride=(1, 1, 0))


@given(st.tuples(*[st.integers(1, 4)] * 3))
def test_kernel_offsets_are_in_row_major_order(kernel_size):
    kx, ky, kz = kernel_size
    offsets = kernel_offsets(kernel_size)
    assert offsets.dtype == torch.int64 and offsets.shape == (kx * ky * kz, 3)
    for a in range(kx):
        for b in range(ky):
            for c in range(kz):
                assert offsets[(a * ky + b) * kz + c].tolist() == [a, b, c]
    assert torch.equal(kernel_offsets(kx), kernel_offsets((kx, kx, kx)))


def test_a_kernel_map_by_hand():
    neighbors = torch.tensor([[1, -1], [-1, 0], [2, 0]], dtype=torch.int32)
    m = KernelMap(
        "conv", (1, 1, 2), (1, 1, 1), (0, 0, 0), (1, 1, 1),
        torch.zeros(3, 4, dtype=torch.int32), (1, 1, 3), neighbors, 3,
    )  # fmt: skip
    assert (m.kernel_volume, m.n_out, m.num_pairs) == (2, 3, 4)
    assert [t.tolist() for t in m.pairs(0)] == [[1, 2], [0, 2]]
    assert [t.tolist() for t in m.pairs(1)] == [[0, 0], [1, 2]]
    with pytest.raises(IndexError, match="offset 2 out of range for a kernel of 2"):
        m.pairs(2)
    with pytest.raises(IndexError, match="offset -1 out of range"):
        m.pairs(-1)
    # input 0 feeds outputs 1 and 2 through offset 1: the reverse table keeps one per offset,
    # so a map (whose builders list an input at most once per offset) never has both
    assert m.reverse().shape == (3, 2) and m.reverse() is m.reverse()
    assert m.reverse()[1].tolist() == [0, -1] and m.reverse()[2].tolist() == [2, -1]


@maps()
@given(kernel_maps())
def test_every_built_map_has_consistent_pairs_and_reverse(case):
    x, m = case
    assert m.n_in == x.num_sites and m.neighbors.dtype == torch.int32
    assert m.neighbors.shape == (m.n_out, m.kernel_volume)
    assert bool((m.neighbors < m.n_in).all())
    for k in range(m.kernel_volume):  # an input row appears at most once per offset
        column = m.neighbors[:, k]
        live = column[column >= 0]
        assert live.unique().numel() == live.numel()
    assert_pairs_consistent(m)
