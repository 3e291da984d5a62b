r"""The sparse convolution product on a kernel map, with its gradients: the dispatch point.

:func:`sparse_conv` computes, for a :class:`~graphnn.sparse3d.kernel_map.KernelMap`,

.. math:: \mathrm{out}[o] = \sum_k \mathrm{features}[\mathrm{neighbors}[o, k]]\, W[k] + b

with ``W`` of shape ``[K, C_in, C_out]``, and its gradients: the input
gradient is the same product with ``(grad_out, W^T)`` on the reversed map,
the weight gradient ``dW[k] = features[in_rows]^T grad_out[out_rows]`` over
the pairs of offset ``k``.  Every convolution of :mod:`graphnn.sparse3d`
(submanifold, strided, transposed, inverse) runs through it.

Backends, chosen by the rule of :mod:`graphnn.backends` (and with its
:func:`~graphnn.backends.backend` switch):

* torch (:mod:`graphnn.sparse3d.ops.torch_conv`; the CPU without the native
  kernel, and CUDA without triton): tile by tile, an ``index_select`` of the
  tile's input rows, one GEMM per offset and an ``embedding_bag`` summing each
  output row's products, in a fixed order.  Tiling keeps what a tile touches
  in the CPU's cache: on voxelized surfaces (about 15 of 27 neighbours per
  site) it ran 1.3-2x faster than whole offsets at a time (gather, GEMM and
  sum of each offset over all rows), and faster than an im2col GEMM over all
  offsets, which spends half its work on missing neighbours.
* native (:mod:`graphnn.sparse3d.ops.native`, a C kernel compiled at first
  use; CPU tensors when it builds, or under ``backend("native")``): the
  forward product and the input gradient in one pass over the output rows,
  each input row read straight from the features into the output row's sums
  (no gathered copy, no products buffer, no ``embedding_bag``), and the weight
  gradient over chunks of output rows, offset by offset (each offset's sum
  owned by one thread).  It is what the CPU runs by default; where
  no C compiler is found or ``GRAPHNN_NATIVE=0`` is set, the torch path runs
  (with one warning when the build failed).  Each output row is summed by one
  thread in an order fixed by the shapes (and the vector width the kernel was
  built for): bitwise the same at any thread count.
* Triton (:mod:`triton_kernels.sparse_conv` and
  :mod:`triton_kernels.sparse_conv_weight_grad`, CUDA tensors when triton
  imports, or any device under ``backend("triton")`` with
  ``TRITON_INTERPRET=1``): an implicit-GEMM gather kernel for the forward
  product and the input gradient, a gathered GEMM for the weight gradient.

``backend("torch")`` forces the torch path on the CPU: it is the reference
the other two are tested against.

``float16`` and ``bfloat16`` are accumulated in ``float32`` (the torch path
computes in ``float32``); ``float64`` stays ``float64`` (for
``torch.autograd.gradcheck``).  The result has the features' dtype, the
weight gradient the weight's dtype.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from graphnn import backends
from graphnn.sparse3d.kernel_map.map import KernelMap
from graphnn.sparse3d.ops import native
from graphnn.sparse3d.ops.torch_conv import torch_product, torch_weight_grad

__all__ = ["sparse_conv"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def sparse_conv(
    features: torch.Tensor,
    weight: torch.Tensor,
    kmap: KernelMap,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Return ``out[o] = sum_k features[neighbors[o, k]] @ weight[k] (+ bias)``, differentiable.

    Parameters
    ----------
    features : torch.Tensor
        Floating point ``[n_in, C_in]``, one row per input site of ``kmap``.
    weight : torch.Tensor
        ``[K, C_in, C_out]``, offset-major (see
        :mod:`graphnn.sparse3d.kernel_map` for the offset order).
    kmap : KernelMap
    bias : torch.Tensor, optional
        ``[C_out]``.

    Returns
    -------
    torch.Tensor
        ``[n_out, C_out]`` in ``features.dtype``, one row per output site.

    Raises
    ------
    ValueError
        If a shape does not fit ``kmap`` or the other arguments (named).
    TypeError
        For non-floating-point features or weights.

    Examples
    --------
    >>> import torch
    >>> from graphnn.sparse3d.tensor import SparseVoxelTensor
    >>> from graphnn.sparse3d.kernel_map import submanifold_map
    >>> coords = torch.tensor([[0, 0, 0, 0], [0, 0, 0, 1]])
    >>> t = SparseVoxelTensor(coords, torch.ones(2, 1), (1, 1, 2))
    >>> w = torch.tensor([1.0, 10.0, 100.0]).view(3, 1, 1)
    >>> sparse_conv(t.features, w, submanifold_map(t, (1, 1, 3))).flatten().tolist()
    [110.0, 11.0]
    """
    _check(features, weight, kmap, bias)
    out = _SparseConv.apply(features, weight, kmap)
    if bias is not None:
        out = out + bias.to(out.dtype)
    return out


def _check(
    features: torch.Tensor, weight: torch.Tensor, kmap: KernelMap, bias: torch.Tensor | None
) -> None:
    if not isinstance(kmap, KernelMap):
        raise TypeError(f"kmap must be a KernelMap, got {type(kmap).__name__}")
    for name, t in (("features", features), ("weight", weight)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            got = t.dtype if isinstance(t, torch.Tensor) else type(t).__name__
            raise TypeError(f"{name} must be a floating-point tensor, got {got}")
    if features.dim() != 2 or features.shape[0] != kmap.n_in:
        raise ValueError(
            f"features must have shape [n_in, C_in] with n_in = {kmap.n_in} (the kernel map's "
            f"input sites), got {list(features.shape)}"
        )
    K = kmap.kernel_volume
    if weight.dim() != 3 or weight.shape[0] != K or weight.shape[1] != features.shape[1]:
        raise ValueError(
            f"weight must have shape [K, C_in, C_out] = [{K}, {features.shape[1]}, C_out] for a "
            f"kernel of size {kmap.kernel_size} and {features.shape[1]} input channels, got "
            f"{list(weight.shape)}"
        )
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != weight.shape[2]):
        raise ValueError(f"bias must have shape [{weight.shape[2]}], got {list(bias.shape)}")
    if features.device != weight.device or features.device != kmap.neighbors.device:
        raise ValueError(
            f"features ({features.device}), weight ({weight.device}) and the kernel map "
            f"({kmap.neighbors.device}) must be on one device"
        )


def _compute_dtype(*tensors: torch.Tensor) -> torch.dtype:
    if any(t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


class _SparseConv(torch.autograd.Function):
    """``features, weight -> out`` on a fixed kernel map (the bias is added outside)."""

    @staticmethod
    def forward(ctx, features: torch.Tensor, weight: torch.Tensor, kmap: KernelMap):
        ctx.save_for_backward(features, weight)
        ctx.kmap = kmap
        ops = backends.triton_module("sparse_conv", features)
        if ops is not None:
            return ops.gather_conv(
                features, weight.to(features.dtype), kmap.neighbors, validate=False
            )
        dtype = _compute_dtype(features, weight)
        if backends.use_native(features, native):
            out = native.gather_conv(
                features.to(dtype), weight.to(dtype), kmap.neighbors, validate=False
            )
        else:
            out = torch_product(features.to(dtype), weight.to(dtype), kmap, transposed=False)
        return out.to(features.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        features, weight = ctx.saved_tensors
        kmap: KernelMap = ctx.kmap
        need_input, need_weight = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_input = grad_weight = None
        ops = backends.triton_module("sparse_conv", grad)
        if ops is not None:
            grad = grad.to(features.dtype).contiguous()
            if need_input:
                w_t = weight.to(features.dtype).transpose(1, 2).contiguous()
                grad_input = ops.gather_conv(grad, w_t, kmap.reverse(), validate=False)
            if need_weight:
                wgrad = backends.triton_module("sparse_conv_weight_grad", grad)
                if wgrad is None:  # sparse_conv imported, so this one should too
                    raise ImportError("triton_kernels.sparse_conv_weight_grad does not import")
                grad_weight = wgrad.gather_conv_weight_grad(
                    features, grad, kmap.neighbors, validate=False
                )
                grad_weight = grad_weight.to(weight.dtype)
            return grad_input, grad_weight, None
        dtype = _compute_dtype(features, weight, grad)
        grad_c = grad.to(dtype)
        if need_input:
            w_t = weight.to(dtype).transpose(1, 2)
            if backends.use_native(grad, native):
                grad_input = _native_transposed(grad_c, w_t, kmap).to(features.dtype)
            else:
                grad_input = torch_product(grad_c, w_t, kmap, transposed=True).to(features.dtype)
        if need_weight:
            if backends.use_native(grad, native):
                grad_weight = native.gather_conv_weight_grad(
                    features.to(dtype), grad_c, kmap.neighbors, validate=False
                )
            else:
                grad_weight = torch_weight_grad(features.to(dtype), grad_c, kmap)
            grad_weight = grad_weight.to(weight.dtype)
        return grad_input, grad_weight, None


def _native_transposed(grad: torch.Tensor, w_t: torch.Tensor, kmap: KernelMap) -> torch.Tensor:
    """Return the input gradient on the native kernel: ``(grad, W^T)`` on the reversed map.

    The reverse of a submanifold map is the map itself with the offsets mirrored.
    """
    if kmap.kind == "submanifold":
        return native.gather_conv(grad, w_t.flip(0), kmap.neighbors, validate=False)
    return native.gather_conv(grad, w_t, kmap.reverse(), validate=False)
