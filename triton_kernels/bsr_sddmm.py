"""Block-sampled dense-dense product: ``out[e] = G[rows of block e] @ X[cols of block e].T``.

The weight gradient of a block-sparse masked layer, computed only for the
stored ``BS x BS`` blocks: ``G`` is the output gradient ``[n_rows, batch]``
and ``X`` the layer input ``[n_cols, batch]`` (feature-major, any strides);
block ``e`` sits at block row ``block_rows[e]`` and block column
``block_cols[e]``.  One program computes one block with ``tl.dot`` over the
batch, ``BLOCK_B`` columns at a time, accumulating in float32.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from triton_kernels._launch import (
    check_index,
    check_matrix,
    check_same_device,
    pick,
    precision,
    upcast_dot,
)
from triton_kernels.bsr_spmm import BLOCK_SIZES

__all__ = ["bsr_sddmm"]

_CONFIGS = [
    triton.Config({"BLOCK_B": b}, num_warps=w, num_stages=s)
    for b, w, s in [(32, 4, 3), (64, 4, 3), (128, 4, 3), (64, 8, 4)]
]
_DEFAULT = triton.Config({"BLOCK_B": 16})


@triton.jit
def _bsr_sddmm_kernel(
    # pointers
    block_row_ptr,
    block_col_ptr,
    g_ptr,
    x_ptr,
    out_ptr,
    # sizes
    n_rows,
    n_cols,
    batch,
    # strides
    stride_gr,
    stride_gb,
    stride_xk,
    stride_xb,
    # meta-parameters
    BS: tl.constexpr,
    BLOCK_B: tl.constexpr,
    PRECISION: tl.constexpr,
    UPCAST: tl.constexpr,
):
    e = tl.program_id(0).to(tl.int64)
    offs = tl.arange(0, BS)
    rows = tl.load(block_row_ptr + e).to(tl.int64) * BS + offs
    cols = tl.load(block_col_ptr + e).to(tl.int64) * BS + offs
    acc = tl.zeros((BS, BS), dtype=tl.float32)
    for first in range(0, batch, BLOCK_B):
        offs_b = first + tl.arange(0, BLOCK_B)
        in_batch = (offs_b < batch)[None, :]
        g = tl.load(
            g_ptr + rows[:, None] * stride_gr + offs_b[None, :] * stride_gb,
            mask=(rows < n_rows)[:, None] & in_batch,
            other=0.0,
        )
        x = tl.load(
            x_ptr + cols[:, None] * stride_xk + offs_b[None, :] * stride_xb,
            mask=(cols < n_cols)[:, None] & in_batch,
            other=0.0,
        )
        if UPCAST:
            acc += tl.dot(g.to(tl.float32), tl.trans(x.to(tl.float32)), input_precision="ieee")
        else:
            acc += tl.dot(g, tl.trans(x), input_precision=PRECISION)
    tl.store(
        out_ptr + e * BS * BS + offs[:, None] * BS + offs[None, :],
        acc.to(out_ptr.dtype.element_ty),
    )


_tuned = triton.autotune(configs=_CONFIGS, key=["batch"])(_bsr_sddmm_kernel)


def bsr_sddmm(
    block_rows: torch.Tensor,
    block_cols: torch.Tensor,
    g: torch.Tensor,
    x: torch.Tensor,
    block_size: int,
    *,
    validate: bool = True,
) -> torch.Tensor:
    """Return ``[nnz_blocks, BS, BS]``: each stored block of ``g @ x.T``.

    Parameters
    ----------
    block_rows, block_cols : torch.Tensor
        int32 or int64, ``[nnz_blocks]``: the blocks' coordinates.
    g : torch.Tensor
        ``[n_rows, batch]`` (any strides).
    x : torch.Tensor
        ``[n_cols, batch]`` of the same dtype and batch.
    block_size : int
        ``BS``, one of :data:`~triton_kernels.bsr_spmm.BLOCK_SIZES`.
    validate : bool, default True
        Check that every block lies inside ``g`` and ``x`` first (it waits for
        the device); pass False for coordinates known to be valid.

    Returns
    -------
    torch.Tensor
        ``[nnz_blocks, BS, BS]`` of ``g``'s dtype, accumulated in float32;
        entries beyond ``n_rows``/``n_cols`` are zero.

    Raises
    ------
    ValueError, TypeError
        If shapes, dtypes or devices do not fit (named).
    """
    if block_size not in BLOCK_SIZES:
        raise ValueError(f"block_size must be one of {BLOCK_SIZES}, got {block_size}")
    block_rows = check_index("block_rows", block_rows)
    block_cols = check_index("block_cols", block_cols, block_rows.numel())
    g, x = check_matrix("g", g), check_matrix("x", x)
    if g.shape[1] != x.shape[1]:
        raise ValueError(
            f"g and x must have the same batch, got {tuple(g.shape)} and {tuple(x.shape)}"
        )
    if g.dtype != x.dtype or g.dtype == torch.float64:
        raise TypeError(
            f"g and x must share one of float32, float16, bfloat16; got {g.dtype}, {x.dtype}"
        )
    check_same_device(block_rows=block_rows, block_cols=block_cols, g=g, x=x)
    nnz = block_rows.numel()
    if validate and nnz:
        for name, index, rows in (
            ("block_rows", block_rows, g.shape[0]),
            ("block_cols", block_cols, x.shape[0]),
        ):
            bound = -(-rows // block_size)
            if int(index.min()) < 0 or int(index.max()) >= bound:
                raise ValueError(f"{name} must lie in [0, {bound})")
    out = torch.zeros(nnz, block_size, block_size, dtype=g.dtype, device=g.device)
    if nnz == 0 or g.shape[1] == 0:
        return out
    kernel, meta = pick(_tuned, _bsr_sddmm_kernel, _DEFAULT)
    kernel[(nnz,)](
        block_rows,
        block_cols,
        g,
        x,
        out,
        g.shape[0],
        x.shape[0],
        g.shape[1],
        g.stride(0),
        g.stride(1),
        x.stride(0),
        x.stride(1),
        BS=block_size,
        PRECISION=precision(g.dtype),
        UPCAST=upcast_dot(g.dtype),
        **meta,
    )
    return out
