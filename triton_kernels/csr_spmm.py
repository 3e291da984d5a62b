"""CSR sparse matrix times dense matrix: ``Y = W @ X`` with ``W`` in CSR.

This is the product of a masked layer stored sparse: ``W`` is ``[rows,
cols]`` with ``nnz`` entries, ``X`` is ``[cols, batch]`` (feature-major, the
orientation graphnn's DAG model keeps its activations in; any strides) and
``Y`` is ``[rows, batch]``.  One program computes one row of ``Y`` for a
block of batch columns: it walks the row's entries ``BLOCK_NNZ`` at a time,
gathers the matching rows of ``X`` (contiguous along the batch when ``X`` is
feature-major, so the loads coalesce) and accumulates in float32
(float64 for float64 inputs).  Rows with
no entries write zeros.

The input-gradient product of a layer, ``dX = W.T @ dY``, is this same
kernel on the CSR of ``W.T`` (the layer's precomputed transposed index), so
no atomics are needed.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from triton_kernels._launch import (
    accumulator,
    check_compressed,
    check_index,
    check_matrix,
    check_same_device,
    pick,
)

__all__ = ["csr_spmm"]

_CONFIGS = [
    triton.Config({"BLOCK_NNZ": nnz, "BLOCK_B": b}, num_warps=w)
    for nnz, b, w in [(16, 64, 4), (32, 64, 4), (16, 128, 4), (32, 128, 8), (64, 32, 4)]
]
_DEFAULT = triton.Config({"BLOCK_NNZ": 8, "BLOCK_B": 16})


@triton.jit
def _csr_spmm_kernel(
    # pointers
    crow_ptr,
    col_ptr,
    val_ptr,
    x_ptr,
    y_ptr,
    # sizes
    batch,
    # strides
    stride_xk,
    stride_xb,
    stride_yr,
    stride_yb,
    # meta-parameters
    BLOCK_NNZ: tl.constexpr,
    BLOCK_B: tl.constexpr,
    ACC: tl.constexpr,
):
    row = tl.program_id(0)
    offs_b = tl.program_id(1) * BLOCK_B + tl.arange(0, BLOCK_B)
    in_batch = offs_b < batch
    start = tl.load(crow_ptr + row).to(tl.int64)
    end = tl.load(crow_ptr + row + 1).to(tl.int64)
    acc = tl.zeros((BLOCK_B,), dtype=ACC)
    for first in range(start, end, BLOCK_NNZ):
        offs_e = first + tl.arange(0, BLOCK_NNZ)
        in_row = offs_e < end
        cols = tl.load(col_ptr + offs_e, mask=in_row, other=0).to(tl.int64)
        vals = tl.load(val_ptr + offs_e, mask=in_row, other=0.0).to(ACC)
        xs = tl.load(
            x_ptr + cols[:, None] * stride_xk + offs_b[None, :] * stride_xb,
            mask=in_row[:, None] & in_batch[None, :],
            other=0.0,
        ).to(ACC)
        acc += tl.sum(xs * vals[:, None], axis=0)
    y = acc.to(y_ptr.dtype.element_ty)
    tl.store(y_ptr + row * stride_yr + offs_b * stride_yb, y, mask=in_batch)


_tuned = triton.autotune(configs=_CONFIGS, key=["batch"])(_csr_spmm_kernel)


def csr_spmm(
    crow_indices: torch.Tensor,
    col_indices: torch.Tensor,
    values: torch.Tensor,
    x: torch.Tensor,
    out: torch.Tensor | None = None,
    *,
    validate: bool = True,
) -> torch.Tensor:
    """Return ``W @ x`` for the CSR matrix ``W`` given by its three arrays.

    Parameters
    ----------
    crow_indices : torch.Tensor
        int32 or int64, ``[rows + 1]``, non-decreasing from 0 to ``nnz``.
    col_indices : torch.Tensor
        int32 or int64, ``[nnz]``, each in ``[0, x.shape[0])``.
    values : torch.Tensor
        ``[nnz]``, floating.
    x : torch.Tensor
        ``[cols, batch]``, float64, float32, float16 or bfloat16 (any strides).
    out : torch.Tensor, optional
        ``[rows, batch]`` to write into (any strides); default a new tensor of
        ``x``'s dtype.
    validate : bool, default True
        Check the index values first (it waits for the device); pass False
        for indices known to be valid.

    Returns
    -------
    torch.Tensor
        ``[rows, batch]``, accumulated in float32 (float64 for float64 inputs).

    Raises
    ------
    ValueError, TypeError
        If shapes, dtypes, devices or (with ``validate``) index values do not
        fit (named).
    """
    crow_indices = check_index("crow_indices", crow_indices)
    nnz = int(values.numel())
    col_indices = check_index("col_indices", col_indices, nnz)
    if values.ndim != 1 or not values.is_floating_point():
        raise ValueError(
            f"values must be a 1-D floating tensor, got {values.dtype} {tuple(values.shape)}"
        )
    x = check_matrix("x", x)
    check_same_device(crow_indices=crow_indices, col_indices=col_indices, values=values, x=x)
    rows, batch = crow_indices.numel() - 1, x.shape[1]
    if rows < 0:
        raise ValueError("crow_indices must have at least one entry")
    if validate:
        check_compressed(crow_indices, col_indices, x.shape[0])
    if out is None:
        out = x.new_empty(rows, batch)
    elif tuple(out.shape) != (rows, batch):
        raise ValueError(f"out must have shape {(rows, batch)}, got {tuple(out.shape)}")
    if rows == 0 or batch == 0:
        return out
    kernel, meta = pick(_tuned, _csr_spmm_kernel, _DEFAULT)
    grid = lambda m: (rows, triton.cdiv(batch, m["BLOCK_B"]))  # noqa: E731
    kernel[grid](
        crow_indices,
        col_indices,
        values.contiguous(),
        x,
        out,
        batch,
        x.stride(0),
        x.stride(1),
        out.stride(0),
        out.stride(1),
        ACC=accumulator(x.dtype),
        **meta,
    )
    return out
