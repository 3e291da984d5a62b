"""The kernel map of one sparse convolution, and the geometry of dense convolutions.

A :class:`KernelMap` holds the output sites of a sparse convolution (or
pooling) and its neighbour table ``neighbors [N_out, K]``: the input row that
feeds output row ``o`` through kernel offset ``k``.  The conventions (offset
order, geometry, kinds) are those of :mod:`graphnn.sparse3d.kernel_map`;
the builders are in its :mod:`~graphnn.sparse3d.kernel_map.submanifold` and
:mod:`~graphnn.sparse3d.kernel_map.strided` modules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from graphnn._validation import check_triple

__all__ = [
    "KernelMap",
    "Pairs",
    "Triple",
    "conv_output_shape",
    "kernel_offsets",
    "neighbors_from_pairs",
    "set_pairs",
    "transpose_output_shape",
]

Triple = tuple[int, int, int]
Pairs = list[tuple[torch.Tensor, torch.Tensor]]


@dataclasses.dataclass(frozen=True, eq=False)
class KernelMap:
    """The neighbour table of one sparse convolution, and its output sites.

    Parameters
    ----------
    kind : {"submanifold", "conv", "transpose", "inverse"}
    kernel_size, stride, padding, dilation : tuple of 3 ints
        The geometry, as for a dense convolution (for ``"inverse"``: the
        geometry of the conv it inverts).
    out_coords : torch.Tensor
        ``int32 [N_out, 4]`` ``(batch, x, y, z)`` of the output sites.
    out_spatial_shape : tuple of 3 ints
    neighbors : torch.Tensor
        ``int32 [N_out, K]``: the input row feeding output row ``o`` through
        offset ``k``, ``-1`` if none.  For a fixed ``k`` an input row appears
        at most once.
    n_in : int
        Number of input sites.
    in_coords : torch.Tensor, optional
        ``int32 [n_in, 4]``, the input sites (kept by the builders).
    in_spatial_shape : tuple of 3 ints, optional
    in_cache, out_cache : dict
        The kernel-map caches of the input and of the output sites (see the
        module notes).

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> coords = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1]], dtype=torch.int32)
    >>> t = SparseVoxelTensor(coords, torch.ones(2, 1), (1, 1, 2))
    >>> from graphnn.sparse3d.kernel_map import submanifold_map
    >>> m = submanifold_map(t, (1, 1, 3))
    >>> m.neighbors.tolist()
    [[-1, 0, 1], [0, 1, -1]]
    >>> m.reverse().tolist()
    [[1, 0, -1], [-1, 1, 0]]
    >>> [p.tolist() for p in m.pairs(2)]
    [[1], [0]]
    """

    kind: str
    kernel_size: Triple
    stride: Triple
    padding: Triple
    dilation: Triple
    out_coords: torch.Tensor
    out_spatial_shape: Triple
    neighbors: torch.Tensor
    n_in: int
    in_coords: torch.Tensor | None = dataclasses.field(default=None, repr=False)
    in_spatial_shape: Triple | None = None
    in_cache: dict | None = dataclasses.field(default=None, repr=False)
    out_cache: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def kernel_volume(self) -> int:
        """``K``, the number of kernel offsets."""
        kx, ky, kz = self.kernel_size
        return kx * ky * kz

    @property
    def n_out(self) -> int:
        """Number of output sites."""
        return int(self.out_coords.shape[0])

    @property
    def num_pairs(self) -> int:
        """Number of (input, output, offset) triples: the multiply-adds per channel pair."""
        return sum(o.numel() for o in self.pair_lists()[1])

    def reverse(self) -> torch.Tensor:
        """Return the reverse table ``int32 [n_in, K]``, computed once, then cached.

        ``reverse[i, k] = o`` where ``neighbors[o, k] == i``, else -1.
        """
        cached = self.__dict__.get("_reverse")
        if cached is None:
            in_rows, out_rows = self.pair_lists()
            cached = neighbors_from_pairs(
                list(zip(out_rows, in_rows, strict=True)), self.n_in, self.neighbors.device
            )
            object.__setattr__(self, "_reverse", cached)
        return cached

    def pairs(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(in_rows, out_rows)``, ``int64``, of the pairs through offset ``k``.

        ``out_rows`` is increasing.
        """
        if not 0 <= k < self.kernel_volume:
            raise IndexError(f"offset {k} out of range for a kernel of {self.kernel_volume}")
        in_rows, out_rows = self.pair_lists()
        return in_rows[k], out_rows[k]

    def pair_lists(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Return the ``in_rows`` and the ``out_rows`` of every offset (two lists of K)."""
        cached = self.__dict__.get("_pairs")
        if cached is None:
            offsets, out_rows = torch.nonzero(self.neighbors.t() >= 0, as_tuple=True)
            in_rows = self.neighbors[out_rows, offsets].long()
            counts = torch.bincount(offsets, minlength=self.kernel_volume).tolist()
            cached = (list(in_rows.split(counts)), list(out_rows.split(counts)))
            object.__setattr__(self, "_pairs", cached)
        return cached


def neighbors_from_pairs(pairs: Pairs, n_out: int, device: torch.device) -> torch.Tensor:
    """Return the ``int32 [n_out, K]`` neighbour table of the pairs of each offset."""
    table = torch.full((n_out, len(pairs)), -1, dtype=torch.int32, device=device)
    for k, (in_rows, out_rows) in enumerate(pairs):
        table[:, k].scatter_(0, out_rows, in_rows.to(torch.int32))
    return table


def set_pairs(kmap: KernelMap, pairs: Pairs) -> None:
    """Cache the pairs on ``kmap`` (each offset's ``out_rows`` must increase)."""
    object.__setattr__(kmap, "_pairs", ([i for i, _ in pairs], [o for _, o in pairs]))


# --- geometry ----------------------------------------------------------------------------


def conv_output_shape(
    spatial_shape: Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Triple:
    """Return the output spatial shape of a dense ``conv3d`` with this geometry.

    Raises
    ------
    ValueError
        If the dilated kernel is larger than the padded input on some axis.

    Examples
    --------
    >>> conv_output_shape((8, 8, 5), 3, stride=2, padding=1)
    (4, 4, 3)
    """
    ks, st = check_triple("kernel_size", kernel_size, low=1), check_triple("stride", stride, low=1)
    pad, dil = check_triple("padding", padding, low=0), check_triple("dilation", dilation, low=1)
    shape = []
    for axis, (n, k, s, p, d) in enumerate(zip(spatial_shape, ks, st, pad, dil, strict=True)):
        span = d * (k - 1) + 1
        if n + 2 * p < span:
            raise ValueError(
                f"the kernel does not fit on axis {axis}: kernel_size {k} with dilation {d} "
                f"spans {span} sites, the input has {n} + 2 * padding {p} = {n + 2 * p}"
            )
        shape.append((n + 2 * p - span) // s + 1)
    return tuple(shape)


def kernel_offsets(kernel_size: int | Sequence[int], device: torch.device | str = "cpu"):
    """Return the ``int64 [K, 3]`` offsets ``(a, b, c)`` in the order ``(a * ky + b) * kz + c``.

    Examples
    --------
    >>> kernel_offsets((2, 1, 2)).tolist()
    [[0, 0, 0], [0, 0, 1], [1, 0, 0], [1, 0, 1]]
    """
    kx, ky, kz = check_triple("kernel_size", kernel_size, low=1)
    grids = torch.meshgrid(
        torch.arange(kx, device=device),
        torch.arange(ky, device=device),
        torch.arange(kz, device=device),
        indexing="ij",
    )
    return torch.stack([g.reshape(-1) for g in grids], dim=1)


def transpose_output_shape(
    spatial_shape: Sequence[int],
    kernel_size: Triple,
    stride: Triple,
    padding: Triple,
    dilation: Triple,
    output_padding: Triple,
) -> Triple:
    """Return the output shape of a dense ``conv_transpose3d`` with this geometry."""
    shape = []
    for axis, (n, k, s, p, d, op) in enumerate(
        zip(spatial_shape, kernel_size, stride, padding, dilation, output_padding, strict=True)
    ):
        if op >= max(s, d):
            raise ValueError(
                f"output_padding must be smaller than stride or dilation on each axis, got "
                f"{op} on axis {axis} with stride {s} and dilation {d}"
            )
        size = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        if size < 1:
            raise ValueError(
                f"the transposed convolution's output is empty on axis {axis}: (size {n} - 1) * "
                f"stride {s} - 2 * padding {p} + dilation {d} * (kernel_size {k} - 1) + "
                f"output_padding {op} + 1 = {size}"
            )
        shape.append(size)
    return tuple(shape)
