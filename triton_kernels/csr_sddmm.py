"""Sampled dense-dense product: ``out[e] = sum_b G[rows[e], b] * X[cols[e], b]``.

The weight gradient of a masked layer stored sparse, computed only at the
layer's entries: ``G`` is the output gradient ``[rows, batch]``, ``X`` the
layer input ``[cols, batch]`` (both feature-major, any strides), and
``rows``/``cols`` give each entry's coordinates (COO order of the CSR
entries).  One program takes ``BLOCK_E`` entries and walks the batch
``BLOCK_B`` columns at a time, accumulating in float32.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from triton_kernels._launch import (
    accumulator,
    check_index,
    check_matrix,
    check_same_device,
    pick,
)

__all__ = ["sddmm"]

_CONFIGS = [
    triton.Config({"BLOCK_E": e, "BLOCK_B": b}, num_warps=w)
    for e, b, w in [(32, 64, 4), (64, 64, 4), (32, 128, 4), (128, 32, 4), (64, 128, 8)]
]
_DEFAULT = triton.Config({"BLOCK_E": 8, "BLOCK_B": 16})


@triton.jit
def _sddmm_kernel(
    # pointers
    row_ptr,
    col_ptr,
    g_ptr,
    x_ptr,
    out_ptr,
    # sizes
    nnz,
    batch,
    # strides
    stride_gr,
    stride_gb,
    stride_xk,
    stride_xb,
    # meta-parameters
    BLOCK_E: tl.constexpr,
    BLOCK_B: tl.constexpr,
    ACC: tl.constexpr,
):
    offs_e = tl.program_id(0) * BLOCK_E + tl.arange(0, BLOCK_E)
    in_range = offs_e < nnz
    rows = tl.load(row_ptr + offs_e, mask=in_range, other=0).to(tl.int64)
    cols = tl.load(col_ptr + offs_e, mask=in_range, other=0).to(tl.int64)
    acc = tl.zeros((BLOCK_E,), dtype=ACC)
    for first in range(0, batch, BLOCK_B):
        offs_b = first + tl.arange(0, BLOCK_B)
        both = in_range[:, None] & (offs_b < batch)[None, :]
        g = tl.load(
            g_ptr + rows[:, None] * stride_gr + offs_b[None, :] * stride_gb, mask=both, other=0.0
        ).to(ACC)
        x = tl.load(
            x_ptr + cols[:, None] * stride_xk + offs_b[None, :] * stride_xb, mask=both, other=0.0
        ).to(ACC)
        acc += tl.sum(g * x, axis=1)
    tl.store(out_ptr + offs_e, acc.to(out_ptr.dtype.element_ty), mask=in_range)


_tuned = triton.autotune(configs=_CONFIGS, key=["nnz", "batch"])(_sddmm_kernel)


def sddmm(
    rows: torch.Tensor,
    cols: torch.Tensor,
    g: torch.Tensor,
    x: torch.Tensor,
    out_dtype: torch.dtype | None = None,
    *,
    validate: bool = True,
) -> torch.Tensor:
    """Return ``[nnz]`` with ``sum_b g[rows[e], b] * x[cols[e], b]`` for every entry ``e``.

    Parameters
    ----------
    rows, cols : torch.Tensor
        int32 or int64, ``[nnz]``: the entries' coordinates.
    g : torch.Tensor
        ``[n_rows, batch]`` (any strides).
    x : torch.Tensor
        ``[n_cols, batch]`` (any strides, same batch).
    out_dtype : torch.dtype, optional
        Default ``g.dtype``.
    validate : bool, default True
        Check that every coordinate lies inside ``g`` and ``x`` first (it
        waits for the device); pass False for coordinates known to be valid.

    Returns
    -------
    torch.Tensor
        ``[nnz]``, accumulated in float32 (float64 for float64 inputs).

    Raises
    ------
    ValueError, TypeError
        If shapes, dtypes, devices or (with ``validate``) coordinates do not
        fit (named).
    """
    rows = check_index("rows", rows)
    cols = check_index("cols", cols, rows.numel())
    g, x = check_matrix("g", g), check_matrix("x", x)
    if g.shape[1] != x.shape[1]:
        raise ValueError(
            f"g and x must have the same batch, got {tuple(g.shape)} and {tuple(x.shape)}"
        )
    check_same_device(rows=rows, cols=cols, g=g, x=x)
    nnz, batch = rows.numel(), g.shape[1]
    if validate and nnz:
        for name, index, bound in (("rows", rows, g.shape[0]), ("cols", cols, x.shape[0])):
            if int(index.min()) < 0 or int(index.max()) >= bound:
                raise ValueError(f"{name} must lie in [0, {bound})")
    out = torch.zeros(nnz, dtype=out_dtype or g.dtype, device=g.device)
    if nnz == 0 or batch == 0:
        return out
    kernel, meta = pick(_tuned, _sddmm_kernel, _DEFAULT)
    grid = lambda m: (triton.cdiv(nnz, m["BLOCK_E"]),)  # noqa: E731
    kernel[grid](
        rows,
        cols,
        g,
        x,
        out,
        nnz,
        batch,
        g.stride(0),
        g.stride(1),
        x.stride(0),
        x.stride(1),
        ACC=accumulator(g.dtype),
        **meta,
    )
    return out
