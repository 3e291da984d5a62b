"""The weight gradient of a sparse convolution over a neighbour table: a gathered GEMM per offset.

For the convolution ``out[o] = sum_k features[neighbors[o, k]] @ W[k]`` of
:mod:`triton_kernels.sparse_conv` (``neighbors`` int32 ``[N_out, K]``: the
input row that feeds output row ``o`` through kernel offset ``k``, or ``-1``
for none; ``W`` ``[K, C_in, C_out]``, offset-major), the weight gradient is::

    dW[k]  = sum_o features[neighbors[o, k]]^T grad_out[o]     (gather_conv_weight_grad)

``gather_conv_weight_grad`` gives each program one offset and a ``BLOCK_I x
BLOCK_O`` tile of ``dW[k]`` and walks a slice of the output rows ``BLOCK_R``
at a time, accumulating in float32 (float64 for float64 inputs); long tables
are cut into slices whose partial sums land in separate buffers and are added
up in torch afterwards, so the result is deterministic (no float atomics).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from triton_kernels._launch import (
    accumulator,
    check_matrix,
    check_same_device,
    dot_precision,
    pick,
    upcast_dot,
)
from triton_kernels.sparse_conv import check_neighbors

__all__ = ["gather_conv_weight_grad"]

_CONFIGS = [
    triton.Config({"BLOCK_I": i, "BLOCK_O": o, "BLOCK_R": r}, num_warps=w, num_stages=s)
    for i, o, r, w, s in [
        (32, 32, 64, 4, 3),
        (64, 64, 32, 4, 3),
        (64, 64, 64, 4, 3),
        (128, 64, 32, 8, 3),
        (16, 16, 128, 4, 2),
    ]
]
_DEFAULT = triton.Config({"BLOCK_I": 16, "BLOCK_O": 16, "BLOCK_R": 16})

#: Output rows per slice of the weight gradient (each slice: one partial sum).
_ROWS_PER_SLICE = 4096
#: At most this many slices (partial buffers of ``[K, C_in, C_out]``).
_MAX_SLICES = 64


@triton.jit
def _gather_weight_grad_kernel(
    # pointers
    x_ptr,
    g_ptr,
    nbr_ptr,
    part_ptr,
    # sizes
    n_out,
    kernel_volume,
    c_in,
    c_out,
    rows_per_slice,
    # strides
    stride_xn,
    stride_xc,
    stride_gn,
    stride_gc,
    # meta-parameters
    BLOCK_I: tl.constexpr,
    BLOCK_O: tl.constexpr,
    BLOCK_R: tl.constexpr,
    ACC: tl.constexpr,
    PRECISION: tl.constexpr,
    UPCAST: tl.constexpr,
):
    k = tl.program_id(0)
    tiles_o = tl.cdiv(c_out, BLOCK_O)
    offs_i = (tl.program_id(1) // tiles_o) * BLOCK_I + tl.arange(0, BLOCK_I)
    offs_o = (tl.program_id(1) % tiles_o) * BLOCK_O + tl.arange(0, BLOCK_O)
    in_i = offs_i < c_in
    in_o = offs_o < c_out
    piece = tl.program_id(2)
    start = piece * rows_per_slice
    end = tl.minimum(start + rows_per_slice, n_out)
    acc = tl.zeros((BLOCK_I, BLOCK_O), dtype=ACC)
    for first in range(start, end, BLOCK_R):
        offs_r = first + tl.arange(0, BLOCK_R)
        in_r = offs_r < end
        nbr = tl.load(nbr_ptr + offs_r.to(tl.int64) * kernel_volume + k, mask=in_r, other=-1).to(
            tl.int64
        )
        valid = nbr >= 0
        if tl.max(nbr, axis=0) >= 0:
            src = tl.where(valid, nbr, 0)
            xt = tl.load(  # [BLOCK_I, BLOCK_R]: the gathered input rows, transposed
                x_ptr + offs_i[:, None] * stride_xc + src[None, :] * stride_xn,
                mask=in_i[:, None] & valid[None, :],
                other=0.0,
            )
            gs = tl.load(
                g_ptr + offs_r[:, None].to(tl.int64) * stride_gn + offs_o[None, :] * stride_gc,
                mask=valid[:, None] & in_o[None, :],
                other=0.0,
            )
            if UPCAST:
                xt, gs = xt.to(tl.float32), gs.to(tl.float32)
            acc = tl.dot(xt, gs, acc, input_precision=PRECISION, out_dtype=ACC)
    base = (piece * kernel_volume + k).to(tl.int64) * c_in * c_out
    tl.store(
        part_ptr + base + offs_i[:, None] * c_out + offs_o[None, :],
        acc,
        mask=in_i[:, None] & in_o[None, :],
    )


_tuned = triton.autotune(configs=_CONFIGS, key=["kernel_volume", "c_in", "c_out"])(
    _gather_weight_grad_kernel
)


def gather_conv_weight_grad(
    features: torch.Tensor,
    grad_out: torch.Tensor,
    neighbors: torch.Tensor,
    *,
    validate: bool = True,
) -> torch.Tensor:
    """Return ``dW[k] = sum_o features[neighbors[o, k]]^T grad_out[o]`` over valid entries.

    Parameters
    ----------
    features : torch.Tensor
        ``[N_in, C_in]``, float64, float32, float16 or bfloat16 (any strides).
    grad_out : torch.Tensor
        ``[N_out, C_out]`` of the same dtype (any strides).
    neighbors : torch.Tensor
        int32 or int64 ``[N_out, K]``, entries in ``[-1, N_in)``.
    validate : bool, default True
        Check the table values first (it waits for the device).

    Returns
    -------
    torch.Tensor
        ``[K, C_in, C_out]`` in ``features.dtype``, accumulated in float32
        (float64 for float64), deterministically.

    Raises
    ------
    TypeError, ValueError
        If dtypes, shapes, devices or (with ``validate``) table entries do
        not fit (named).

    Examples
    --------
    A table without output rows adds nothing: zeros of the weight's shape.

    >>> import torch
    >>> table = torch.zeros(0, 27, dtype=torch.int32)
    >>> gather_conv_weight_grad(torch.ones(5, 2), torch.ones(0, 4), table).shape
    torch.Size([27, 2, 4])
    """
    features = check_matrix("features", features)
    grad_out = check_matrix("grad_out", grad_out)
    if grad_out.dtype != features.dtype:
        raise TypeError(
            f"grad_out and features must share a dtype, got {grad_out.dtype} and {features.dtype}"
        )
    neighbors = check_neighbors(neighbors, features.shape[0], validate=validate)
    if neighbors.shape[0] != grad_out.shape[0]:
        raise ValueError(
            f"grad_out must have one row per row of neighbors ({neighbors.shape[0]}), "
            f"got shape {tuple(grad_out.shape)}"
        )
    check_same_device(features=features, grad_out=grad_out, neighbors=neighbors)
    (n_out, kernel_volume), c_in, c_out = neighbors.shape, features.shape[1], grad_out.shape[1]
    if n_out * kernel_volume * c_in * c_out * features.shape[0] == 0:
        return features.new_zeros(kernel_volume, c_in, c_out)
    slices = min(_MAX_SLICES, triton.cdiv(n_out, _ROWS_PER_SLICE))
    rows_per_slice = triton.cdiv(n_out, slices)
    acc = torch.float64 if features.dtype == torch.float64 else torch.float32
    partial = torch.empty(slices, kernel_volume, c_in, c_out, dtype=acc, device=features.device)
    kernel, meta = pick(_tuned, _gather_weight_grad_kernel, _DEFAULT)
    grid = lambda m: (  # noqa: E731
        kernel_volume,
        triton.cdiv(c_in, m["BLOCK_I"]) * triton.cdiv(c_out, m["BLOCK_O"]),
        slices,
    )
    kernel[grid](
        features,
        grad_out,
        neighbors,
        partial,
        n_out,
        kernel_volume,
        c_in,
        c_out,
        rows_per_slice,
        features.stride(0),
        features.stride(1),
        grad_out.stride(0),
        grad_out.stride(1),
        ACC=accumulator(features.dtype),
        PRECISION=dot_precision(features.dtype),
        UPCAST=upcast_dot(features.dtype),
        **meta,
    )
    return partial.sum(0).to(features.dtype)
