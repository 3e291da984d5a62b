"""Sparse convolution over a neighbour table: implicit GEMM, gathered weight GEMM, max pooling.

Every sparse 3D convolution (submanifold, strided, transposed, inverse) is
given by a neighbour table ``neighbors`` int32 ``[N_out, K]``: the input row
that feeds output row ``o`` through kernel offset ``k``, or ``-1`` for none.
Then, with ``W`` ``[K, C_in, C_out]`` (offset-major)::

    out[o] = sum_k features[neighbors[o, k]] @ W[k]            (gather_conv)
    dW[k]  = sum_o features[neighbors[o, k]]^T grad_out[o]     (gather_conv_weight_grad)
    dX     = gather_conv(grad_out, W.transpose(1, 2), reverse_neighbors(neighbors, N_in))

The input gradient needs no atomics: ``reverse[i, k]`` is the one output that
input ``i`` feeds through offset ``k`` (a convolution's input feeds at most
one output per offset), so it is the same implicit GEMM on the reversed table.

``gather_conv`` gives each program ``BLOCK_M`` output rows and ``BLOCK_N``
output channels; it walks the ``K`` offsets, skips an offset when none of its
rows has a neighbour, gathers ``BLOCK_M x BLOCK_K`` input rows through the
table (a ``-1`` is a masked load that reads zeros) and multiplies them with the
offset's ``BLOCK_K x BLOCK_N`` weight tile with ``tl.dot``, accumulating in
float32 (float64 for float64 inputs).  ``gather_conv_weight_grad`` gives each
program one offset and a ``BLOCK_I x BLOCK_O`` tile of ``dW[k]`` and walks a
slice of the output rows ``BLOCK_R`` at a time; long tables are cut into
slices whose partial sums land in separate buffers and are added up in torch
afterwards, so the result is deterministic (no float atomics).
``gather_max_pool`` takes the per-channel maximum over the valid neighbours
and remembers which input row gave it, for the backward scatter.
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
    precision,
    upcast_dot,
)

__all__ = [
    "check_neighbors",
    "gather_conv",
    "gather_conv_weight_grad",
    "gather_max_pool",
    "gather_max_pool_backward",
    "reverse_neighbors",
]

_CONV_CONFIGS = [
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
_CONV_DEFAULT = triton.Config({"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 16})

_GRAD_CONFIGS = [
    triton.Config({"BLOCK_I": i, "BLOCK_O": o, "BLOCK_R": r}, num_warps=w, num_stages=s)
    for i, o, r, w, s in [
        (32, 32, 64, 4, 3),
        (64, 64, 32, 4, 3),
        (64, 64, 64, 4, 3),
        (128, 64, 32, 8, 3),
        (16, 16, 128, 4, 2),
    ]
]
_GRAD_DEFAULT = triton.Config({"BLOCK_I": 16, "BLOCK_O": 16, "BLOCK_R": 16})

_POOL_CONFIGS = [
    triton.Config({"BLOCK_M": m, "BLOCK_C": c}, num_warps=w)
    for m, c, w in [(32, 32, 4), (64, 64, 4), (128, 32, 4), (16, 128, 4)]
]
_POOL_DEFAULT = triton.Config({"BLOCK_M": 16, "BLOCK_C": 16})

#: Output rows per slice of the weight gradient (each slice: one partial sum).
_ROWS_PER_SLICE = 4096
#: At most this many slices (partial buffers of ``[K, C_in, C_out]``).
_MAX_SLICES = 64


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


@triton.jit
def _gather_max_pool_kernel(
    # pointers
    x_ptr,
    nbr_ptr,
    y_ptr,
    arg_ptr,
    # sizes
    n_out,
    kernel_volume,
    channels,
    # strides
    stride_xn,
    stride_xc,
    stride_yn,
    stride_yc,
    # meta-parameters
    BLOCK_M: tl.constexpr,
    BLOCK_C: tl.constexpr,
    ACC: tl.constexpr,
):
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    in_m = offs_m < n_out
    in_c = offs_c < channels
    best = tl.full((BLOCK_M, BLOCK_C), float("-inf"), dtype=ACC)
    arg = tl.full((BLOCK_M, BLOCK_C), -1, dtype=tl.int64)
    for k in range(0, kernel_volume):
        nbr = tl.load(nbr_ptr + offs_m.to(tl.int64) * kernel_volume + k, mask=in_m, other=-1)
        nbr = nbr.to(tl.int64)
        valid = (nbr >= 0)[:, None] & in_c[None, :]
        src = tl.where(nbr >= 0, nbr, 0)
        v = tl.load(
            x_ptr + src[:, None] * stride_xn + offs_c[None, :] * stride_xc, mask=valid, other=0.0
        ).to(ACC)
        # first valid value, a strictly larger one, or a NaN (propagated as torch.max does)
        take = valid & ((arg < 0) | (v > best) | ((v != v) & (best == best)))
        best = tl.where(take, v, best)
        arg = tl.where(take, nbr[:, None] + tl.zeros_like(arg), arg)
    best = tl.where(arg >= 0, best, 0.0)
    row = offs_m[:, None].to(tl.int64)
    out = row * stride_yn + offs_c[None, :] * stride_yc
    both = in_m[:, None] & in_c[None, :]
    tl.store(y_ptr + out, best.to(y_ptr.dtype.element_ty), mask=both)
    tl.store(arg_ptr + row * channels + offs_c[None, :], arg.to(tl.int32), mask=both)


_conv_tuned = triton.autotune(configs=_CONV_CONFIGS, key=["kernel_volume", "c_in", "c_out"])(
    _gather_conv_kernel
)
_grad_tuned = triton.autotune(configs=_GRAD_CONFIGS, key=["kernel_volume", "c_in", "c_out"])(
    _gather_weight_grad_kernel
)
_pool_tuned = triton.autotune(configs=_POOL_CONFIGS, key=["kernel_volume", "channels"])(
    _gather_max_pool_kernel
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


def _dot_precision(dtype: torch.dtype) -> str:
    """``tl.dot``'s input precision: exact for float64 and for operands upcast to float32."""
    return "ieee" if dtype == torch.float64 or upcast_dot(dtype) else precision(dtype)


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
    kernel, meta = pick(_conv_tuned, _gather_conv_kernel, _CONV_DEFAULT)
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
        PRECISION=_dot_precision(features.dtype),
        UPCAST=upcast_dot(features.dtype),
        **meta,
    )
    return out


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
    kernel, meta = pick(_grad_tuned, _gather_weight_grad_kernel, _GRAD_DEFAULT)
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
        PRECISION=_dot_precision(features.dtype),
        UPCAST=upcast_dot(features.dtype),
        **meta,
    )
    return partial.sum(0).to(features.dtype)


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


def gather_max_pool(
    features: torch.Tensor, neighbors: torch.Tensor, *, validate: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the per-channel maximum over each output's valid neighbours, and where it is.

    Parameters
    ----------
    features : torch.Tensor
        ``[N_in, C]``, float64, float32, float16 or bfloat16 (any strides).
    neighbors : torch.Tensor
        int32 or int64 ``[N_out, K]``, entries in ``[-1, N_in)``.
    validate : bool, default True
        Check the table values first (it waits for the device).

    Returns
    -------
    values : torch.Tensor
        ``[N_out, C]`` in ``features.dtype``; 0 for rows without neighbours.
        A NaN among the neighbours gives NaN.
    argmax : torch.Tensor
        int32 ``[N_out, C]``: the input row of the maximum (the first in
        offset order on ties), -1 for rows without neighbours.

    Raises
    ------
    TypeError, ValueError
        If dtypes, shapes, devices or (with ``validate``) table entries do
        not fit (named).
    """
    features = check_matrix("features", features)
    neighbors = check_neighbors(neighbors, features.shape[0], validate=validate)
    check_same_device(features=features, neighbors=neighbors)
    (n_out, kernel_volume), channels = neighbors.shape, features.shape[1]
    values = features.new_zeros(n_out, channels)
    argmax = torch.full((n_out, channels), -1, dtype=torch.int32, device=features.device)
    if n_out * channels * kernel_volume * features.shape[0] == 0:  # no neighbour anywhere
        return values, argmax
    kernel, meta = pick(_pool_tuned, _gather_max_pool_kernel, _POOL_DEFAULT)
    grid = lambda m: (triton.cdiv(n_out, m["BLOCK_M"]), triton.cdiv(channels, m["BLOCK_C"]))  # noqa: E731
    kernel[grid](
        features,
        neighbors,
        values,
        argmax,
        n_out,
        kernel_volume,
        channels,
        features.stride(0),
        features.stride(1),
        values.stride(0),
        values.stride(1),
        ACC=accumulator(features.dtype),
        **meta,
    )
    return values, argmax


def gather_max_pool_backward(grad: torch.Tensor, argmax: torch.Tensor, n_in: int) -> torch.Tensor:
    """Return the input gradient of :func:`gather_max_pool`: ``grad`` sent to the argmax rows.

    Parameters
    ----------
    grad : torch.Tensor
        ``[N_out, C]``, floating: the gradient of the pooled values.
    argmax : torch.Tensor
        int32 or int64 ``[N_out, C]`` from :func:`gather_max_pool` (-1: none).
    n_in : int
        Input rows.

    Returns
    -------
    torch.Tensor
        ``[n_in, C]`` in ``grad.dtype`` (summed in float32, float64 for float64).

    Raises
    ------
    TypeError, ValueError
        If dtypes or shapes do not fit (named).
    """
    grad = check_matrix("grad", grad)
    if argmax.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"argmax must be an int32 or int64 tensor, got {argmax.dtype}")
    if argmax.shape != grad.shape:
        raise ValueError(
            f"argmax and grad must have one shape, got {tuple(argmax.shape)} and "
            f"{tuple(grad.shape)}"
        )
    check_same_device(grad=grad, argmax=argmax)
    acc = torch.float64 if grad.dtype == torch.float64 else torch.float32
    out = torch.zeros(n_in, grad.shape[1], dtype=acc, device=grad.device)
    hit = argmax >= 0
    out.scatter_add_(0, torch.where(hit, argmax, 0).long(), torch.where(hit, grad.to(acc), 0))
    return out.to(grad.dtype)
