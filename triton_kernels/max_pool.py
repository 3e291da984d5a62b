"""Max pooling over a neighbour table, and its backward scatter.

A sparse max pooling is given, as a sparse convolution is (see
:mod:`triton_kernels.sparse_conv`), by a neighbour table ``neighbors`` int32
``[N_out, K]``: the input row that output row ``o`` reads through window
offset ``k``, or ``-1`` for none.

``gather_max_pool`` takes the per-channel maximum over the valid neighbours
and remembers which input row gave it, for the backward scatter.  Each
program takes ``BLOCK_M`` output rows and ``BLOCK_C`` channels and walks the
``K`` offsets, keeping the running maximum (in float32, float64 for float64
inputs) and its row: ties keep the first offset, a NaN wins.
``gather_max_pool_backward`` sends each output gradient to its argmax row
with torch's ``scatter_add_``.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from triton_kernels._launch import accumulator, check_matrix, check_same_device, pick
from triton_kernels.sparse_conv import check_neighbors

__all__ = ["gather_max_pool", "gather_max_pool_backward"]

_CONFIGS = [
    triton.Config({"BLOCK_M": m, "BLOCK_C": c}, num_warps=w)
    for m, c, w in [(32, 32, 4), (64, 64, 4), (128, 32, 4), (16, 128, 4)]
]
_DEFAULT = triton.Config({"BLOCK_M": 16, "BLOCK_C": 16})


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


_tuned = triton.autotune(configs=_CONFIGS, key=["kernel_volume", "channels"])(
    _gather_max_pool_kernel
)


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
    kernel, meta = pick(_tuned, _gather_max_pool_kernel, _DEFAULT)
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

    Examples
    --------
    Input row 1 gave channel 0's maximum of the first two outputs; the third
    output had no neighbour (-1), its gradient goes nowhere:

    >>> import torch
    >>> grad = torch.tensor([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]])
    >>> argmax = torch.tensor([[1, 0], [1, 2], [-1, -1]], dtype=torch.int32)
    >>> gather_max_pool_backward(grad, argmax, 3)
    tensor([[ 0.,  2.],
            [11.,  0.],
            [ 0., 20.]])
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
