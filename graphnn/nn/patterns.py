"""Where the entries of a masked weight are: CSR patterns and block (BSR) patterns.

A :class:`SparsePattern` lists single entries in CSR order, with the CSR of
the transpose precomputed so that the input gradient needs no atomics.  A
:class:`BlockPattern` lists ``BS x BS`` blocks in block-CSR order, likewise
with its transpose; a layer stored that way keeps a boolean mask per element
of every block.  Both are built once from the entries' coordinates (numpy)
and held by the layer as buffers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["BlockPattern", "SparsePattern", "csr_order"]


@dataclass(frozen=True)
class SparsePattern:
    """Where the entries of a sparse ``[rows, cols]`` weight are, in CSR order.

    Attributes
    ----------
    shape : tuple of int
        ``(rows, cols)``, i.e. ``(out_features, in_features)``.
    crow_indices, col_indices : torch.Tensor
        The CSR index arrays (int64) of the entries, rows ascending and
        columns ascending inside a row.
    ccol_indices, row_indices : torch.Tensor
        The CSR index arrays of the transposed matrix (CSC of the original).
    transpose_order : torch.Tensor
        ``values[transpose_order]`` lists the values in the transposed order.
    """

    shape: tuple[int, int]
    crow_indices: torch.Tensor
    col_indices: torch.Tensor
    ccol_indices: torch.Tensor
    row_indices: torch.Tensor
    transpose_order: torch.Tensor

    @property
    def nnz(self) -> int:
        """Number of entries."""
        return int(self.col_indices.numel())

    @classmethod
    def from_coordinates(
        cls, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], device=None
    ) -> tuple[SparsePattern, np.ndarray]:
        """Build the pattern of the entries ``(rows[i], cols[i])``.

        Returns the pattern and the order that sorts the given entries into
        CSR order (``values[order]`` are the CSR values).

        Raises
        ------
        ValueError
            If an entry is out of bounds or repeated.
        """
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        n_rows, n_cols = shape
        order = csr_order(rows, cols, shape)
        r, c = rows[order], cols[order]
        crow = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=n_rows), out=crow[1:])
        t_order = np.lexsort((r, c))  # CSR order of the transpose, as positions in CSR order
        ccol = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(c, minlength=n_cols), out=ccol[1:])

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.int64, device=device)

        pattern = cls(
            (int(n_rows), int(n_cols)),
            tensor(crow),
            tensor(c),
            tensor(ccol),
            tensor(r[t_order]),
            tensor(t_order),
        )
        return pattern, order

    def to(self, device: torch.device | str) -> SparsePattern:
        """Return the pattern with its index tensors on ``device``."""
        return SparsePattern(self.shape, *(t.to(device) for t in self.tensors()))

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """Return the five index tensors, in field order."""
        return (
            self.crow_indices,
            self.col_indices,
            self.ccol_indices,
            self.row_indices,
            self.transpose_order,
        )

    def csr(self, values: torch.Tensor) -> torch.Tensor:
        """Return the sparse CSR matrix with these ``values`` (in CSR order)."""
        return _csr_tensor(
            self.crow_indices, self.col_indices, values, size=self.shape, check_invariants=False
        )

    def csr_transposed(self, values: torch.Tensor) -> torch.Tensor:
        """Return the transposed matrix as CSR, from the ``values`` in CSR order."""
        return _csr_tensor(
            self.ccol_indices,
            self.row_indices,
            values[self.transpose_order],
            size=(self.shape[1], self.shape[0]),
            check_invariants=False,
        )


_csr_made = False


def _csr_tensor(*args, **kwargs) -> torch.Tensor:
    """``torch.sparse_csr_tensor``, without the "in beta" warning torch gives at the first one.

    torch warns once per process that its CSR support is in beta; graphnn
    tests what it uses, so the first construction is made with that one
    warning filtered (locally: the user's warning filters are left alone).
    """
    global _csr_made
    if _csr_made:
        return torch.sparse_csr_tensor(*args, **kwargs)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        t = torch.sparse_csr_tensor(*args, **kwargs)
    _csr_made = True
    return t


def csr_order(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Return the order that sorts the entries ``(rows[i], cols[i])`` into CSR order.

    Raises
    ------
    ValueError
        If the arrays differ in shape, an entry is out of bounds or repeated.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.shape != cols.shape or rows.ndim != 1:
        raise ValueError(f"rows and cols must be 1-D of one length, got {rows.shape}, {cols.shape}")
    if rows.size and (
        rows.min() < 0 or rows.max() >= shape[0] or cols.min() < 0 or cols.max() >= shape[1]
    ):
        raise ValueError(f"an entry lies outside the shape {tuple(shape)}")
    order = np.lexsort((cols, rows))
    r, c = rows[order], cols[order]
    repeated = np.flatnonzero((r[1:] == r[:-1]) & (c[1:] == c[:-1]))
    if repeated.size:
        i = int(repeated[0])
        raise ValueError(f"entry ({int(r[i])}, {int(c[i])}) is given twice")
    return order


def _offsets(counts: np.ndarray) -> np.ndarray:
    """``[0, cumsum(counts)...]``: CSR row offsets from per-row counts."""
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


@dataclass(frozen=True)
class BlockPattern:
    """The stored ``block_size x block_size`` blocks of a ``[rows, cols]`` weight.

    Attributes
    ----------
    shape : tuple of int
        ``(rows, cols)``; the last block row and column may be cut.
    block_size : int
        The side of a block.
    crow_indices, col_indices : torch.Tensor
        Block-CSR: block-row offsets and block columns (int64), rows
        ascending, columns ascending inside a row.
    ccol_indices, row_indices : torch.Tensor
        Block-CSR of the transpose.
    transpose_order : torch.Tensor
        ``values[transpose_order]`` lists the blocks in the transposed order
        (each block still to be transposed).
    block_rows : torch.Tensor
        The block row of every stored block.
    """

    shape: tuple[int, int]
    block_size: int
    crow_indices: torch.Tensor
    col_indices: torch.Tensor
    ccol_indices: torch.Tensor
    row_indices: torch.Tensor
    transpose_order: torch.Tensor
    block_rows: torch.Tensor

    @property
    def nnz(self) -> int:
        """Number of stored blocks."""
        return int(self.col_indices.numel())

    @property
    def grid(self) -> tuple[int, int]:
        """Number of block rows and block columns."""
        rows, cols = self.shape
        return -(-rows // self.block_size), -(-cols // self.block_size)

    @classmethod
    def from_coordinates(
        cls,
        rows: np.ndarray,
        cols: np.ndarray,
        shape: tuple[int, int],
        block_size: int,
        device=None,
    ) -> tuple[BlockPattern, np.ndarray, np.ndarray]:
        """Build the pattern of the blocks that hold the entries ``(rows[i], cols[i])``.

        Returns the pattern, the order that sorts the entries by (block, row
        in block, column in block), and each sorted entry's flat position
        ``block * block_size**2 + i * block_size + j`` in a ``[nnz, BS, BS]``
        array.

        Raises
        ------
        ValueError
            If an entry is out of bounds or repeated, or the block size is
            not positive.
        """
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"block_size must be a positive int, got {block_size!r}")
        csr_order(rows, cols, shape)  # bounds and repeats
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        n_block_rows = -(-shape[0] // block_size)
        n_block_cols = -(-shape[1] // block_size)
        key = (rows // block_size) * n_block_cols + cols // block_size
        blocks, block_of = np.unique(key, return_inverse=True)
        brow, bcol = np.divmod(blocks, n_block_cols)
        order = np.lexsort((cols % block_size, rows % block_size, block_of))
        flat = (
            block_of[order] * block_size * block_size
            + (rows[order] % block_size) * block_size
            + cols[order] % block_size
        )
        t_order = np.lexsort((brow, bcol))

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.int64, device=device)

        pattern = cls(
            (int(shape[0]), int(shape[1])),
            block_size,
            tensor(_offsets(np.bincount(brow, minlength=n_block_rows))),
            tensor(bcol),
            tensor(_offsets(np.bincount(bcol, minlength=n_block_cols))),
            tensor(brow[t_order]),
            tensor(t_order),
            tensor(brow),
        )
        return pattern, order, flat

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """Return the six index tensors, in field order."""
        return (
            self.crow_indices,
            self.col_indices,
            self.ccol_indices,
            self.row_indices,
            self.transpose_order,
            self.block_rows,
        )
