"""Block-sparse (BSR) matrix times dense matrix: ``Y = W @ X`` with ``W`` in BSR.

``W`` is ``[rows, cols]`` made of ``BS x BS`` blocks (``BS`` of 16, 32 or
64), stored as a block-CSR index (``crow`` over block rows, ``col`` block
columns) and ``values`` ``[nnz_blocks, BS, BS]``; ``rows`` and ``cols`` need
not be multiples of ``BS`` (the last blocks are cut).  ``X`` is ``[cols,
batch]`` (feature-major, any strides), ``Y`` is ``[rows, batch]``.  One
program computes one block row of ``Y`` for a block of batch columns with one
``tl.dot`` per stored block (tensor cores on a GPU), accumulating in float32.
This is the product for masks with block structure (block pruning, channel
masks): its cost follows the number of stored blocks, so it approaches a
``1 / density`` speed-up over the dense product.

The input-gradient product ``dX = W.T @ dY`` is this same kernel on the BSR
of ``W.T`` (the transposed block index, each block transposed).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from triton_kernels._launch import (
    check_compressed,
    check_index,
    check_matrix,
    check_same_device,
    pick,
    precision,
    upcast_dot,
)

__all__ = ["BLOCK_SIZES", "bsr_spmm"]

#: The block sizes the kernels take (``tl.dot`` needs at least 16).
BLOCK_SIZES = (16, 32, 64)

_CONFIGS = [
    triton.Config({"BLOCK_B": b}, num_warps=w, num_stages=s)
    for b, w, s in [(32, 4, 3), (64, 4, 3), (128, 4, 3), (64, 8, 4), (128, 8, 4)]
]
_DEFAULT = triton.Config({"BLOCK_B": 16})


@triton.jit
def _bsr_spmm_kernel(
    # pointers
    crow_ptr,
    col_ptr,
    val_ptr,
    x_ptr,
    y_ptr,
    # sizes
    n_rows,
    n_cols,
    batch,
    # strides
    stride_xk,
    stride_xb,
    stride_yr,
    stride_yb,
    # meta-parameters
    BS: tl.constexpr,
    BLOCK_B: tl.constexpr,
    PRECISION: tl.constexpr,
    UPCAST: tl.constexpr,
):
    block_row = tl.program_id(0)
    offs_b = tl.program_id(1) * BLOCK_B + tl.arange(0, BLOCK_B)
    offs = tl.arange(0, BS)
    in_batch = offs_b < batch
    start = tl.load(crow_ptr + block_row).to(tl.int64)
    end = tl.load(crow_ptr + block_row + 1).to(tl.int64)
    acc = tl.zeros((BS, BLOCK_B), dtype=tl.float32)
    for e in range(start, end):
        block_col = tl.load(col_ptr + e).to(tl.int64)
        w = tl.load(val_ptr + e * BS * BS + offs[:, None] * BS + offs[None, :])
        k = block_col * BS + offs
        xs = tl.load(
            x_ptr + k[:, None] * stride_xk + offs_b[None, :] * stride_xb,
            mask=(k < n_cols)[:, None] & in_batch[None, :],
            other=0.0,
        )
        xs = xs.to(w.dtype)
        if UPCAST:
            acc += tl.dot(w.to(tl.float32), xs.to(tl.float32), input_precision="ieee")
        else:
            acc += tl.dot(w, xs, input_precision=PRECISION)
    rows = block_row * BS + offs
    tl.store(
        y_ptr + rows[:, None] * stride_yr + offs_b[None, :] * stride_yb,
        acc.to(y_ptr.dtype.element_ty),
        mask=(rows < n_rows)[:, None] & in_batch[None, :],
    )


_tuned = triton.autotune(configs=_CONFIGS, key=["n_rows", "batch"])(_bsr_spmm_kernel)


def bsr_spmm(
    crow_indices: torch.Tensor,
    col_indices: torch.Tensor,
    values: torch.Tensor,
    x: torch.Tensor,
    n_rows: int,
    out: torch.Tensor | None = None,
    *,
    validate: bool = True,
) -> torch.Tensor:
    """Return ``W @ x`` for the BSR matrix ``W`` of ``n_rows`` rows.

    Parameters
    ----------
    crow_indices : torch.Tensor
        int32 or int64, ``[ceil(n_rows / BS) + 1]``.
    col_indices : torch.Tensor
        int32 or int64, ``[nnz_blocks]``: block columns.
    values : torch.Tensor
        ``[nnz_blocks, BS, BS]``, float32, float16 or bfloat16, ``BS`` in
        :data:`BLOCK_SIZES`.
    x : torch.Tensor
        ``[cols, batch]`` of the same dtype (any strides).
    n_rows : int
        Rows of ``W`` (the last block row may be cut).
    out : torch.Tensor, optional
        ``[n_rows, batch]`` to write into.
    validate : bool, default True
        Check the index values first (it waits for the device); pass False
        for indices known to be valid.

    Returns
    -------
    torch.Tensor
        ``[n_rows, batch]``, accumulated in float32 (exact float32 products,
        not TF32).

    Raises
    ------
    ValueError, TypeError
        If shapes, dtypes, devices or (with ``validate``) index values do not
        fit (named).
    """
    crow_indices = check_index("crow_indices", crow_indices)
    if values.ndim != 3 or values.shape[1] != values.shape[2] or values.shape[1] not in BLOCK_SIZES:
        raise ValueError(
            f"values must be [nnz_blocks, BS, BS] with BS in {BLOCK_SIZES}, "
            f"got {tuple(values.shape)}"
        )
    block = values.shape[1]
    col_indices = check_index("col_indices", col_indices, values.shape[0])
    x = check_matrix("x", x)
    if x.dtype != values.dtype or x.dtype == torch.float64:
        raise TypeError(
            "values and x must share one of float32, float16, bfloat16; "
            f"got {values.dtype}, {x.dtype}"
        )
    check_same_device(crow_indices=crow_indices, col_indices=col_indices, values=values, x=x)
    block_rows = crow_indices.numel() - 1
    if block_rows != -(-n_rows // block):
        raise ValueError(
            f"crow_indices has {block_rows + 1} entries; {n_rows} rows in blocks of {block} "
            f"need {-(-n_rows // block) + 1}"
        )
    if validate:
        check_compressed(crow_indices, col_indices, -(-x.shape[0] // block), "block columns")
    batch = x.shape[1]
    if out is None:
        out = x.new_empty(n_rows, batch)
    elif tuple(out.shape) != (n_rows, batch):
        raise ValueError(f"out must have shape {(n_rows, batch)}, got {tuple(out.shape)}")
    if n_rows == 0 or batch == 0:
        return out
    kernel, meta = pick(_tuned, _bsr_spmm_kernel, _DEFAULT)
    grid = lambda m: (block_rows, triton.cdiv(batch, m["BLOCK_B"]))  # noqa: E731
    kernel[grid](
        crow_indices,
        col_indices,
        values.contiguous(),
        x,
        out,
        n_rows,
        x.shape[0],
        batch,
        x.stride(0),
        x.stride(1),
        out.stride(0),
        out.stride(1),
        BS=block,
        PRECISION=precision(x.dtype),
        UPCAST=upcast_dot(x.dtype),
        **meta,
    )
    return out
