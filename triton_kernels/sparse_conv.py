"""Sparse convolution over a neighbour table: the implicit-GEMM gather convolution.

Every sparse 3D convolution (submanifold, strided, transposed, inverse) is
given by a neighbour table ``neighbors`` int32 ``[N_out, K]``: the input row
that feeds output row ``o`` through kernel offset ``k``, or ``-1`` for none.
Then, with ``W`` ``[K, C_in, C_out]`` (offset-major)::

    out[o] = sum_k features[neighbors[o, k]] @ W[k]            (gather_conv)
    dX     = gather_conv(grad_out, W.transpose(1, 2), reverse_neighbors(neighbors, N_in))

The input gradient needs no atomics: ``reverse[i, k]`` is the one output that
input ``i`` feeds through offset ``k`` (a convolution's input feeds at most
one output per offset), so it is the same implicit GEMM on the reversed table.

``gather_conv`` gives each program ``BLOCK_M`` output rows and ``BLOCK_N``
output channels; it walks the ``K`` offsets, skips an offset when none of its
rows has a neighbour, gathers ``BLOCK_M x BLOCK_K`` input rows through the
table (a ``-1`` is a masked load that reads zeros) and multiplies them with the
offset's ``BLOCK_K x BLOCK_N`` weight tile with ``tl.dot``, accumulating in
float32 (float64 for float64 inputs).

The weight gradient is :mod:`triton_kernels.sparse_conv_weight_grad`, max
pooling over the same tables :mod:`triton_kernels.max_pool`; both check their
tables with :func:`check_neighbors`.
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
    dot_precision,
    pick,
    upcast_dot,
)

__all__ = ["check_neighbors", "gather_conv", "reverse_neighbors"]

_CONFIGS = [
    triton.Config({"BLOCK_M": m, "BLOCK_N": n, "BLOCK_K": k}, num_warps=w, num_stages=s)
    for m, n, k, w, s in [
        (32, 32, 32, 4, 2),
        (64, 32, 32, 4, 3),
        (64, 64, 32, 4, 3),
        (128, 64, 32, 4, 3),
        (128, 128, 32, 8, 3),
        (64, 16, 16, 4, 2),
    ]
]
_DEFAULT = triton.Config({"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 16})


@triton.jit
def _gather_conv_kernel(
    # pointers
    x_ptr,
    w_ptr,
    nbr_ptr,
    rows_ptr,
    y_ptr,
    # sizes
    n_out,
    kernel_volume,
    c_in,
    c_out,
    # strides
    stride_xn,
    stride_xc,
    stride_wk,
    stride_wi,
    stride_wo,
    stride_yn,
    stride_yc,
    # meta-parameters
    HAS_ROWS: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    ACC: tl.constexpr,
    PRECISION: tl.constexpr,
    UPCAST: tl.constexpr,
):
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    in_m = offs_m < n_out
    in_n = offs_n < c_out
    if HAS_ROWS:
        rows = tl.load(rows_ptr + offs_m, mask=in_m, other=0).to(tl.int64)
    else:
        rows = offs_m.to(tl.int64)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=ACC)
    for k in range(0, kernel_volume):
        nbr = tl.load(nbr_ptr + rows * kernel_volume + k, mask=in_m, other=-1).to(tl.int64)
        valid = nbr >= 0
        if tl.max(nbr, axis=0) >= 0:  # some row of the tile has a neighbour through k
            src = tl.where(valid, nbr, 0)
            for first in range(0, c_in, BLOCK_K):
                offs_k = first + tl.arange(0, BLOCK_K)
                in_k = offs_k < c_in
                xs = tl.load(
                    x_ptr + src[:, None] * stride_xn + offs_k[None, :] * stride_xc,
                    mask=valid[:, None] & in_k[None, :],
                    other=0.0,
                )
                ws = tl.load(
                    w_ptr
                    + k * stride_wk
                    + offs_k[:, None] * stride_wi
                    + offs_n[None, :] * stride_wo,
                    mask=in_k[:, None] & in_n[None, :],
                    other=0.0,
                )
                if UPCAST:
                    xs, ws = xs.to(tl.float32), ws.to(tl.float32)
                acc = tl.dot(xs, ws, acc, input_precision=PRECISION, out_dtype=ACC)
    tl.store(
        y_ptr + offs_m[:, None].to(tl.int64) * stride_yn + offs_n[None, :] * stride_yc,
        acc.to(y_ptr.dtype.element_ty),
        mask=in_m[:, None] & in_n[None, :],
    )


_tuned = triton.autotune(configs=_CONFIGS, key=["kernel_volume", "c_in", "c_out"])(
    _gather_conv_kernel
)


def check_neighbors(neighbors: torch.Tensor, n_in: int, *, validate: bool = True) -> torch.Tensor:
    """Return ``neighbors`` as a contiguous int32/int64 ``[N_out, K]`` table, or raise.

    With ``validate`` every entry must lie in ``[-1, n_in)``; this reads the
    values, so on a GPU it waits for the device.

    Raises
    ------
    TypeError, ValueError
        Naming the dtype, the shape or the first entry at fault.
    """
    if neighbors.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"neighbors must be an int32 or int64 tensor, got {neighbors.dtype}")
    if neighbors.ndim != 2:
        raise ValueError(f"neighbors must be 2-D [N_out, K], got shape {tuple(neighbors.shape)}")
    if validate and neighbors.numel():
        bad = (neighbors < -1) | (neighbors >= n_in)
        if bool(bad.any()):
            o, k = (int(i) for i in bad.nonzero()[0])
            raise ValueError(
                f"neighbors[{o}, {k}] = {int(neighbors[o, k])} is not an input row: "
                f"entries must lie in [-1, {n_in}) (-1: no neighbour)"
            )
    return neighbors.contiguous()


def gather_conv(
    features: torch.Tensor,
    weight: torch.Tensor,
    neighbors: torch.Tensor,
    *,
    out_rows: torch.Tensor | None = None,
    validate: bool = True,
) -> torch.Tensor:
    """Return ``out[o] = sum_k features[neighbors[o, k]] @ weight[k]`` (``-1``: no term).

    Parameters
    ----------
    features : torch.Tensor
        ``[N_in, C_in]``, float64, float32, float16 or bfloat16 (any strides).
    weight : torch.Tensor
        ``[K, C_in, C_out]`` of the same dtype (any strides).
    neighbors : torch.Tensor
        int32 or int64 ``[N_out, K]``: the input row feeding output row ``o``
        through offset ``k``, or ``-1``.
    out_rows : torch.Tensor, optional
        int32 or int64 ``[M]``: compute only these rows of the table; row
        ``j`` of the result is table row ``out_rows[j]``.  Default: all rows.
    validate : bool, default True
        Check the table (and ``out_rows``) values first (it waits for the
        device); pass False for tables known to be valid.

    Returns
    -------
    torch.Tensor
        ``[N_out, C_out]`` (``[M, C_out]`` with ``out_rows``) in
        ``features.dtype``, accumulated in float32 (float64 for float64).

    Raises
    ------
    TypeError, ValueError
        If dtypes, shapes, devices or (with ``validate``) table entries do
        not fit (named).
    """
    features = check_matrix("features", features)
    if weight.dtype != features.dtype:
        raise TypeError(
            f"weight and features must share a dtype, got {weight.dtype} and {features.dtype}"
        )
    if weight.ndim != 3 or weight.shape[1] != features.shape[1]:
        raise ValueError(
            f"weight must be [K, C_in={features.shape[1]}, C_out], got {tuple(weight.shape)}"
        )
    neighbors = check_neighbors(neighbors, features.shape[0], validate=validate)
    if neighbors.shape[1] != weight.shape[0]:
        raise ValueError(
            f"neighbors has {neighbors.shape[1]} offsets per row but weight has "
            f"{weight.shape[0]} (K)"
        )
    tensors = {"features": features, "weight": weight, "neighbors": neighbors}
    n_out = neighbors.shape[0]
    if out_rows is not None:
        out_rows = check_index("out_rows", out_rows)
        tensors["out_rows"] = out_rows
        if (
            validate
            and out_rows.numel()
            and (int(out_rows.min()) < 0 or int(out_rows.max()) >= n_out)
        ):
            raise ValueError(f"out_rows must lie in [0, {n_out}) (rows of neighbors)")
        n_out = out_rows.numel()
    check_same_device(**tensors)
    kernel_volume, c_in, c_out = weight.shape
    out = features.new_zeros(n_out, c_out)
    if n_out * c_out * c_in * kernel_volume * features.shape[0] == 0:  # nothing to add up
        return out
    kernel, meta = pick(_tuned, _gather_conv_kernel, _DEFAULT)
    grid = lambda m: (triton.cdiv(n_out, m["BLOCK_M"]), triton.cdiv(c_out, m["BLOCK_N"]))  # noqa: E731
    kernel[grid](
        features,
        weight,
        neighbors,
        neighbors if out_rows is None else out_rows,
        out,
        n_out,
        kernel_volume,
        c_in,
        c_out,
        features.stride(0),
        features.stride(1),
        weight.stride(0),
        weight.stride(1),
        weight.stride(2),
        out.stride(0),
        out.stride(1),
        HAS_ROWS=out_rows is not None,
        ACC=accumulator(features.dtype),
        PRECISION=dot_precision(features.dtype),
        UPCAST=upcast_dot(features.dtype),
        **meta,
    )
    return out


def reverse_neighbors(neighbors: torch.Tensor, n_in: int, *, validate: bool = True) -> torch.Tensor:
    """Return the reversed table: ``reverse[i, k] = o`` where ``neighbors[o, k] == i``, else -1.

    The input gradient of :func:`gather_conv` is ``gather_conv(grad_out,
    weight.transpose(1, 2), reverse)``.  It needs each input to feed at most
    one output per offset, which holds for every convolution's table.

    Parameters
    ----------
    neighbors : torch.Tensor
        int32 or int64 ``[N_out, K]``, entries in ``[-1, n_in)``.
    n_in : int
        Input rows.
    validate : bool, default True
        Check the entries and that no input feeds two outputs through one
        offset (it waits for the device).

    Returns
    -------
    torch.Tensor
        int32 ``[n_in, K]`` on the table's device.

    Raises
    ------
    TypeError, ValueError
        If the table is malformed, or (with ``validate``) an input feeds two
        outputs through one offset (named).

    Examples
    --------
    >>> import torch
    >>> reverse_neighbors(torch.tensor([[1, -1], [-1, 0]], dtype=torch.int32), 2)
    tensor([[-1,  1],
            [ 0, -1]], dtype=torch.int32)
    """
    neighbors = check_neighbors(neighbors, n_in, validate=validate)
    kernel_volume = neighbors.shape[1]
    reverse = torch.full((n_in, kernel_volume), -1, dtype=torch.int32, device=neighbors.device)
    o, k = (neighbors >= 0).nonzero(as_tuple=True)
    i = neighbors[o, k].long()
    if validate and i.numel():
        counts = torch.bincount(i * kernel_volume + k, minlength=n_in * kernel_volume)
        if bool((counts > 1).any()):
            flat = int((counts > 1).nonzero()[0])
            raise ValueError(
                f"input row {flat // kernel_volume} feeds several outputs through offset "
                f"{flat % kernel_volume}: the table cannot be reversed"
            )
    reverse[i, k] = o.to(torch.int32)
    return reverse
