"""The masked product ``(weight * mask) @ x + bias`` in every layout: the dispatch point.

Every masked layer of graphnn runs through this module.  The ``dense``
layout is ``torch.nn.functional.linear`` on ``weight * mask`` (twice
differentiable).  The ``sparse`` layout keeps only the entries of a
:class:`~graphnn.nn.patterns.SparsePattern` and the ``block`` layout the
blocks of a :class:`~graphnn.nn.patterns.BlockPattern`; both run three
products: the forward sparse-times-dense product, the transposed product for
the input gradient (on the precomputed transposed index), and a sampled
dense-dense product for the weight gradient, which therefore exists only at
the stored entries.  On the CPU the sparse products are ``torch.sparse`` CSR
operations (MKL where torch has it; they lack half precision there, so
float16 and bfloat16 are computed in float32) and the block products are
batched ``bmm`` over the stored blocks.

:func:`masked_matmul` works *feature-major* (``x`` is ``[in, batch]``), the
natural orientation of a CSR product and the one the DAG model keeps its
activations in; :func:`masked_linear` is the usual batch-major form.

This module is the one place where the backend of the masked products is
chosen, by the rule of :mod:`graphnn.backends`: graphnn's Triton kernels
(``triton_kernels``) for tensors on a CUDA device when triton imports,
``torch.sparse`` otherwise.  :func:`~graphnn.backends.backend` (also
importable from here) forces one of them, e.g. the Triton kernels on the CPU
(in Triton's interpreter, ``TRITON_INTERPRET=1``), which is how they are
tested.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from graphnn.backends import BACKENDS, backend, use_triton
from graphnn.nn.patterns import BlockPattern, SparsePattern

__all__ = [
    "BACKENDS",
    "backend",
    "masked_linear",
    "masked_matmul",
    "masked_matmul_backward",
    "masked_weight",
]

_CPU_SPARSE_DTYPES = (torch.float32, torch.float64)


def masked_weight(weight: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Return ``weight * mask``, or ``weight`` itself when every entry is live.

    On the CPU the check costs a few microseconds (the boolean mask read as
    bytes: its minimum is 1 exactly when all are live); on other devices it
    would wait for the device, so the product is always taken.
    """
    if mask.device.type == "cpu" and (mask.numel() == 0 or bool(mask.view(torch.uint8).amin())):
        return weight
    return weight * mask


def _compute_dtype(t: torch.Tensor) -> torch.dtype:
    if t.device.type == "cpu" and t.dtype not in _CPU_SPARSE_DTYPES:
        return torch.float32
    return t.dtype


def _sparse_product(pattern: SparsePattern, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``W @ x`` for the sparse ``W`` with (already masked) ``weight`` values: the forward SpMM."""
    if use_triton(x):
        from triton_kernels.csr_spmm import csr_spmm

        return csr_spmm(
            pattern.crow_indices, pattern.col_indices, weight.to(x.dtype), x, validate=False
        )
    dtype = _compute_dtype(x)
    return (pattern.csr(weight.to(dtype)) @ x.to(dtype)).to(x.dtype)


def _sparse_product_transposed(
    pattern: SparsePattern, weight: torch.Tensor, grad: torch.Tensor
) -> torch.Tensor:
    """``W.T @ grad``: the transposed SpMM of the input gradient (no atomics: CSR of ``W.T``)."""
    if use_triton(grad):
        from triton_kernels.csr_spmm import csr_spmm

        values = weight.to(grad.dtype)[pattern.transpose_order]
        return csr_spmm(pattern.ccol_indices, pattern.row_indices, values, grad, validate=False)
    dtype = _compute_dtype(grad)
    return (pattern.csr_transposed(weight.to(dtype)) @ grad.to(dtype)).to(grad.dtype)


def _sampled_product(pattern: SparsePattern, grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(grad @ x.T)`` at the pattern's entries only (SDDMM): the weight gradient, ``[nnz]``."""
    if use_triton(grad):
        from triton_kernels.csr_sddmm import sddmm

        rows = torch.repeat_interleave(
            torch.arange(pattern.shape[0], device=grad.device), pattern.crow_indices.diff()
        )
        return sddmm(rows, pattern.col_indices, grad, x.to(grad.dtype), validate=False)
    dtype = _compute_dtype(grad)
    zeros = pattern.csr(torch.zeros(pattern.nnz, dtype=dtype, device=grad.device))
    return torch.sparse.sampled_addmm(zeros, grad.to(dtype), x.to(dtype).T, beta=0.0).values()


def masked_matmul_backward(
    x: torch.Tensor,
    weight: torch.Tensor,
    mask: torch.Tensor,
    pattern: SparsePattern | BlockPattern | None,
    grad: torch.Tensor,
    *,
    input_grad: bool = True,
    weight_grad: bool = True,
    effective: torch.Tensor | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor]:
    """Return the gradients of :func:`masked_matmul` for the output gradient ``grad``.

    Parameters
    ----------
    x, weight, mask, pattern
        As given to :func:`masked_matmul` (``x`` is ``[in, batch]``).
    grad : torch.Tensor
        ``[out, batch]``.
    input_grad, weight_grad : bool
        Which gradients to compute (the others are ``None``).
    effective : torch.Tensor, optional
        ``masked_weight(weight, mask)`` of the forward pass, if kept (dense
        layout); ``weight`` itself means every entry is live.

    Returns
    -------
    tuple
        ``(grad_x, grad_weight, grad_bias)``; ``grad_weight`` is zero at masked
        entries and exists only at the pattern's entries for the sparse layout.
    """
    grad_x = grad_weight = None
    if pattern is None:
        if effective is None:
            effective = masked_weight(weight, mask)
        if input_grad:
            grad_x = effective.T @ grad
        if weight_grad:
            grad_weight = grad @ x.T if effective is weight else (grad @ x.T) * mask
    elif pattern.nnz == 0:
        if input_grad:
            grad_x = grad.new_zeros(pattern.shape[1], grad.shape[1])
        if weight_grad:
            grad_weight = torch.zeros_like(weight)
    elif isinstance(pattern, BlockPattern):
        if input_grad:
            grad_x = _block_product_transposed(pattern, weight * mask, grad)
        if weight_grad:
            grad_weight = (_block_sampled(pattern, grad, x) * mask).to(weight.dtype)
    else:
        if input_grad:
            grad_x = _sparse_product_transposed(pattern, weight * mask, grad)
        if weight_grad:
            grad_weight = (_sampled_product(pattern, grad, x) * mask).to(weight.dtype)
    return grad_x, grad_weight, grad.sum(dim=1)


def _block_view(t: torch.Tensor, block: int, blocks: int) -> torch.Tensor:
    """``t`` (``[n, batch]``) padded to ``blocks * block`` rows, as ``[blocks, block, batch]``."""
    padded = F.pad(t, (0, 0, 0, blocks * block - t.shape[0]))
    return padded.reshape(blocks, block, t.shape[1])


def _triton_blocks(pattern: BlockPattern, t: torch.Tensor) -> bool:
    from_kernels = t.dtype in (torch.float32, torch.float16, torch.bfloat16)
    return from_kernels and pattern.block_size in (16, 32, 64) and use_triton(t)


def _block_product(pattern: BlockPattern, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``W @ x`` for the block-sparse ``W`` with (already masked) blocks ``weight``."""
    rows = pattern.shape[0]
    if _triton_blocks(pattern, x):
        from triton_kernels.bsr_spmm import bsr_spmm

        return bsr_spmm(
            pattern.crow_indices, pattern.col_indices, weight.to(x.dtype), x, rows, validate=False
        )
    block_rows, block_cols = pattern.grid
    gathered = _block_view(x, pattern.block_size, block_cols).index_select(0, pattern.col_indices)
    products = torch.bmm(weight.to(x.dtype), gathered)
    out = products.new_zeros(block_rows, pattern.block_size, x.shape[1])
    out = out.index_add(0, pattern.block_rows, products)
    return out.reshape(-1, x.shape[1])[:rows]


def _block_product_transposed(
    pattern: BlockPattern, weight: torch.Tensor, grad: torch.Tensor
) -> torch.Tensor:
    """``W.T @ grad`` for the block-sparse ``W`` with (already masked) blocks ``weight``."""
    cols = pattern.shape[1]
    if _triton_blocks(pattern, grad):
        from triton_kernels.bsr_spmm import bsr_spmm

        blocks = weight.to(grad.dtype)[pattern.transpose_order].transpose(1, 2).contiguous()
        return bsr_spmm(
            pattern.ccol_indices, pattern.row_indices, blocks, grad, cols, validate=False
        )
    block_rows, block_cols = pattern.grid
    gathered = _block_view(grad, pattern.block_size, block_rows).index_select(0, pattern.block_rows)
    products = torch.bmm(weight.to(grad.dtype).transpose(1, 2), gathered)
    out = products.new_zeros(block_cols, pattern.block_size, grad.shape[1])
    out = out.index_add(0, pattern.col_indices, products)
    return out.reshape(-1, grad.shape[1])[:cols]


def _block_sampled(pattern: BlockPattern, grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Each stored block of ``grad @ x.T``: the weight gradient, ``[nnz, BS, BS]``."""
    if _triton_blocks(pattern, grad):
        from triton_kernels.bsr_sddmm import bsr_sddmm

        return bsr_sddmm(
            pattern.block_rows,
            pattern.col_indices,
            grad,
            x.to(grad.dtype),
            pattern.block_size,
            validate=False,
        )
    block_rows, block_cols = pattern.grid
    g = _block_view(grad, pattern.block_size, block_rows).index_select(0, pattern.block_rows)
    xs = _block_view(x.to(grad.dtype), pattern.block_size, block_cols)
    return torch.bmm(g, xs.index_select(0, pattern.col_indices).transpose(1, 2))


class _MaskedProduct(torch.autograd.Function):
    """``W @ x`` for the sparse or block-sparse ``W`` of ``values * mask``; ``x`` is ``[in, B]``.

    Its backward pass runs the transposed and the sampled products, so the
    gradient of ``values`` exists only at the stored entries.
    """

    @staticmethod
    def forward(ctx, x, values, mask, pattern: SparsePattern | BlockPattern):
        ctx.pattern = pattern
        ctx.save_for_backward(x, values, mask)
        product = _block_product if isinstance(pattern, BlockPattern) else _sparse_product
        return product(pattern, values * mask, x)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, values, mask = ctx.saved_tensors
        grad_x, grad_values, _ = masked_matmul_backward(
            x,
            values,
            mask,
            ctx.pattern,
            grad,
            input_grad=ctx.needs_input_grad[0],
            weight_grad=ctx.needs_input_grad[1],
        )
        return grad_x, grad_values, None, None


def masked_matmul(
    x: torch.Tensor,
    weight: torch.Tensor,
    mask: torch.Tensor,
    bias: torch.Tensor | None = None,
    pattern: SparsePattern | BlockPattern | None = None,
    *,
    out: torch.Tensor | None = None,
    effective: torch.Tensor | None = None,
) -> torch.Tensor:
    """Compute ``(weight * mask) @ x + bias[:, None]``, feature-major.

    Parameters
    ----------
    x : torch.Tensor
        ``[in_features, batch]``.
    weight, mask, bias, pattern
        As for :func:`masked_linear`.
    out : torch.Tensor, optional
        A contiguous ``[out_features, batch]`` to write the result into (no
        autograd).
    effective : torch.Tensor, optional
        ``masked_weight(weight, mask)`` if already computed (dense layout).

    Returns
    -------
    torch.Tensor
        ``[out_features, batch]``.

    Examples
    --------
    >>> import torch
    >>> w = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> m = torch.tensor([[True, False], [False, True]])
    >>> masked_matmul(torch.ones(2, 3), w, m)
    tensor([[1., 1., 1.],
            [4., 4., 4.]])
    """
    if pattern is None:
        effective = masked_weight(weight, mask) if effective is None else effective
        if bias is None:
            return torch.mm(effective, x, out=out)
        return torch.addmm(bias.unsqueeze(1), effective, x, out=out)
    if pattern.nnz == 0:
        y = x.new_zeros(pattern.shape[0], x.shape[1])
    elif isinstance(pattern, SparsePattern) or _triton_blocks(pattern, x):
        y = _MaskedProduct.apply(x, weight, mask, pattern)
    else:  # block products in plain torch operations: autograd differentiates them to any order
        y = _block_product(pattern, weight * mask, x)
    y = y if bias is None else y + bias.unsqueeze(1)
    return y if out is None else out.copy_(y)


def masked_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    mask: torch.Tensor,
    bias: torch.Tensor | None = None,
    pattern: SparsePattern | BlockPattern | None = None,
) -> torch.Tensor:
    """Compute ``x @ (weight * mask).T + bias`` for a dense or a sparse weight.

    Parameters
    ----------
    x : torch.Tensor
        ``[..., in_features]``.
    weight : torch.Tensor
        Dense layout: ``[out_features, in_features]``.  Sparse layout: the
        ``[nnz]`` values at ``pattern``, in CSR order.
    mask : torch.Tensor
        Boolean, the shape of ``weight``; ``False`` entries count as zero and
        receive a zero gradient.
    bias : torch.Tensor, optional
        ``[out_features]``.
    pattern : SparsePattern, optional
        Given for the sparse layout.

    Returns
    -------
    torch.Tensor
        ``[..., out_features]``.

    Examples
    --------
    >>> import torch
    >>> w = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> m = torch.tensor([[True, False], [False, True]])
    >>> masked_linear(torch.ones(1, 2), w, m)
    tensor([[1., 4.]])
    """
    if pattern is None:
        return F.linear(x, masked_weight(weight, mask), bias)
    lead = x.shape[:-1]
    flat = x.reshape(math.prod(lead), x.shape[-1])
    y = masked_matmul(flat.T, weight, mask, None, pattern).T
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, pattern.shape[0])
