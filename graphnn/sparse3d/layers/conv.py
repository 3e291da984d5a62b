r"""Sparse 3D convolutions: submanifold, strided, inverse and transposed.

Each layer takes and returns a
:class:`~graphnn.sparse3d.tensor.SparseVoxelTensor`.  On the densified grid
it equals the dense ``torch`` operation with the same kernel, restricted to
its output sites:

========================  =======================================  =========================
layer                     dense equivalent                         output sites
========================  =======================================  =========================
SubmanifoldConv3d         ``conv3d``, padding ``d (k - 1) / 2``    the input sites
SparseConv3d              ``conv3d``                               >= ``min_active_inputs``
                                                                   input sites in the window
SparseInverseConv3d       ``conv_transpose3d`` with the conv's     the sites of the conv's
                          geometry                                 input
SparseConvTranspose3d     ``conv_transpose3d``                     every reachable site
========================  =======================================  =========================

Weights are stored offset-major, ``weight [K, C_in, C_out]``, the offsets
in the order of :mod:`graphnn.sparse3d.kernel_map` (``k = (a * ky + b) * kz
+ c``, the order of a flattened ``torch`` kernel).
:meth:`~_SparseConvNd.from_conv3d_weight` and
:meth:`~_SparseConvNd.to_conv3d_weight` convert to and from ``torch``'s
layout: ``nn.Conv3d``'s ``[C_out, C_in, kx, ky, kz]`` for the convolutions,
``nn.ConvTranspose3d``'s ``[C_in, C_out, kx, ky, kz]`` for the inverse and
transposed ones.  Initialisation is ``torch``'s: uniform in
``[-1/sqrt(fan_in), 1/sqrt(fan_in)]`` (Kaiming uniform with ``a = sqrt(5)``)
for the weight and the bias, with ``fan_in = C_in K`` for the convolutions
and ``C_out K`` for the transposed ones, as ``torch`` computes it.

Every layer has a boolean ``channel_mask [C_in, C_out]`` buffer, all true
by default: the weight used is ``weight * channel_mask``, so masked
connections get no gradient, and input channels (rows) or output channels
(columns) that are masked entirely are left out of the computation (a
masked output channel is its bias).

The kernel map is taken from the input's cache (built on the first use):
stacked layers with one geometry share it, and a
:class:`SparseInverseConv3d` finds the map of the :class:`SparseConv3d`
that produced its input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from graphnn._validation import check_triple
from graphnn.nn.functional import masked_weight
from graphnn.sparse3d.kernel_map.map import KernelMap
from graphnn.sparse3d.kernel_map.strided import conv_map, find_inverse_map, transpose_map
from graphnn.sparse3d.kernel_map.submanifold import submanifold_map
from graphnn.sparse3d.ops.conv import sparse_conv
from graphnn.sparse3d.tensor import SparseVoxelTensor

__all__ = [
    "SparseConv3d",
    "SparseConvTranspose3d",
    "SparseInverseConv3d",
    "SubmanifoldConv3d",
]

IntOrTriple = int | Sequence[int]


class _SparseConvNd(nn.Module):
    """Weight, bias, channel mask and the forward pass shared by the sparse convolutions."""

    #: True for the layers whose dense counterpart is ``conv_transpose3d``.
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTriple,
        stride: IntOrTriple,
        padding: IntOrTriple,
        dilation: IntOrTriple,
        bias: bool,
    ) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = check_triple("kernel_size", kernel_size, low=1)
        self.stride = check_triple("stride", stride, low=1)
        self.padding = check_triple("padding", padding, low=0)
        self.dilation = check_triple("dilation", dilation, low=1)
        K = math.prod(self.kernel_size)
        self.weight = nn.Parameter(torch.empty(K, in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.register_buffer("channel_mask", torch.ones(in_channels, out_channels, dtype=bool))
        self.reset_parameters()

    @property
    def kernel_volume(self) -> int:
        """``K``, the number of kernel offsets."""
        return self.weight.shape[0]

    def reset_parameters(self) -> None:
        """Draw weight and bias uniformly in ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]`` (torch's)."""
        fan_in = (self.out_channels if self._transposed else self.in_channels) * self.kernel_volume
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    # --- torch layout ----------------------------------------------------------------------

    def _torch_shape(self) -> list[int]:
        channels = [self.in_channels, self.out_channels]
        return [*(channels if self._transposed else channels[::-1]), *self.kernel_size]

    def from_conv3d_weight(self, weight: torch.Tensor) -> _SparseConvNd:
        """Copy a weight in ``torch``'s layout into this layer (in place); return the layer.

        Parameters
        ----------
        weight : torch.Tensor
            ``[C_out, C_in, kx, ky, kz]`` (``nn.Conv3d``) for the
            convolutions, ``[C_in, C_out, kx, ky, kz]`` (``nn.ConvTranspose3d``)
            for :class:`SparseInverseConv3d` and :class:`SparseConvTranspose3d`.

        Raises
        ------
        ValueError
            If the shape does not match the layer.

        Examples
        --------
        >>> dense = nn.Conv3d(2, 3, 3)
        >>> sparse = SubmanifoldConv3d(2, 3, 3).from_conv3d_weight(dense.weight)
        >>> torch.equal(sparse.to_conv3d_weight(), dense.weight)
        True
        """
        expected = self._torch_shape()
        if not isinstance(weight, torch.Tensor) or list(weight.shape) != expected:
            got = list(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
            layout = (
                "[C_in, C_out, kx, ky, kz]" if self._transposed else "[C_out, C_in, kx, ky, kz]"
            )
            raise ValueError(
                f"{type(self).__name__} takes a weight of shape {layout} = {expected}, got {got}"
            )
        order = (2, 3, 4, 0, 1) if self._transposed else (2, 3, 4, 1, 0)
        with torch.no_grad():
            self.weight.copy_(weight.permute(order).reshape(self.weight.shape))
        return self

    def to_conv3d_weight(self, masked: bool = True) -> torch.Tensor:
        """Return the weight in ``torch``'s layout (see :meth:`from_conv3d_weight`).

        Parameters
        ----------
        masked : bool, default True
            Return the weight the layer uses, ``weight * channel_mask``;
            ``False``: the stored weight.

        Returns
        -------
        torch.Tensor
            A new tensor, differentiable with respect to :attr:`weight`.
        """
        w = masked_weight(self.weight, self.channel_mask) if masked else self.weight
        kx, ky, kz = self.kernel_size
        w = w.reshape(kx, ky, kz, self.in_channels, self.out_channels)
        order = (3, 4, 0, 1, 2) if self._transposed else (4, 3, 0, 1, 2)
        return w.permute(order).contiguous()

    # --- forward ---------------------------------------------------------------------------

    def kernel_map(self, x: SparseVoxelTensor) -> KernelMap:
        """Return the layer's kernel map on the sites of ``x`` (built once, kept in its cache)."""
        raise NotImplementedError

    def forward(self, x: SparseVoxelTensor) -> SparseVoxelTensor:
        """Convolve ``x``; the result lives on the kernel map's output sites."""
        if not isinstance(x, SparseVoxelTensor):
            raise TypeError(
                f"{type(self).__name__} takes a SparseVoxelTensor, got {type(x).__name__}"
            )
        if x.channels != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} has {self.in_channels} input channels, the tensor has "
                f"{x.channels}"
            )
        kmap = self.kernel_map(x)
        return x.map_output(kmap, self._convolve(x.features, kmap))

    def _convolve(self, features: torch.Tensor, kmap: KernelMap) -> torch.Tensor:
        mask = self.channel_mask
        if bool(mask.all()):
            return sparse_conv(features, self.weight, kmap, self.bias)
        weight = self.weight * mask
        live_in = torch.nonzero(mask.any(dim=1)).flatten()
        live_out = torch.nonzero(mask.any(dim=0)).flatten()
        out = features.new_zeros(kmap.n_out, self.out_channels)
        if live_in.numel() and live_out.numel():
            w = weight.index_select(1, live_in).index_select(2, live_out)
            out = out.index_copy(1, live_out, sparse_conv(features[:, live_in], w, kmap))
        if self.bias is not None:
            out = out + self.bias.to(out.dtype)
        return out

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        for name, default in self._repr_defaults():
            value = getattr(self, name)
            if value != default:
                s += f", {name}={value}"
        if self.bias is None:
            s += ", bias=False"
        live = int(self.channel_mask.sum())
        if live != self.channel_mask.numel():
            s += f", channel_mask={live}/{self.channel_mask.numel()}"
        return s

    def _repr_defaults(self) -> list[tuple[str, object]]:
        return [("stride", (1, 1, 1)), ("padding", (0, 0, 0)), ("dilation", (1, 1, 1))]


class SubmanifoldConv3d(_SparseConvNd):
    r"""Submanifold sparse convolution: the output sites are the input sites.

    ``out[o] = sum_k x[o + (offset_k - (k - 1) / 2) dilation] W[k] + b`` over
    the active neighbours: ``conv3d`` with padding ``dilation (k - 1) / 2``
    sampled at the input sites, without letting activity spread.

    Args:
        in_channels (int): ``C_in``.
        out_channels (int): ``C_out``.
        kernel_size (int or 3 ints): odd on every axis.
        dilation (int or 3 ints, default 1):
        bias (bool, default True):

    Shapes:
        input: :class:`~graphnn.sparse3d.tensor.SparseVoxelTensor` with
        ``[N, C_in]`` features; output: the same sites (and cache) with
        ``[N, C_out]`` features.

    Examples
    --------
    >>> x = SparseVoxelTensor.from_dense(torch.ones(1, 2, 2, 2, 2))
    >>> conv = SubmanifoldConv3d(2, 4, 3)
    >>> conv
    SubmanifoldConv3d(2, 4, kernel_size=(3, 3, 3))
    >>> y = conv(x)
    >>> y.features.shape, y.coords is x.coords, y.cache is x.cache
    (torch.Size([8, 4]), True, True)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTriple,
        dilation: IntOrTriple = 1,
        bias: bool = True,
    ) -> None:
        ks = check_triple("kernel_size", kernel_size, low=1)
        if any(k % 2 == 0 for k in ks):
            raise ValueError(f"SubmanifoldConv3d needs an odd kernel_size on every axis, got {ks}")
        dil = check_triple("dilation", dilation, low=1)
        padding = tuple(d * (k - 1) // 2 for k, d in zip(ks, dil, strict=True))
        super().__init__(in_channels, out_channels, ks, 1, padding, dil, bias)

    def kernel_map(self, x: SparseVoxelTensor) -> KernelMap:
        """Return the layer's kernel map on the sites of ``x`` (cached there)."""
        return submanifold_map(x, self.kernel_size, self.dilation)

    def _repr_defaults(self) -> list[tuple[str, object]]:
        return [("dilation", (1, 1, 1))]


class SparseConv3d(_SparseConvNd):
    r"""Sparse convolution with a dense ``conv3d``'s geometry (strided: downsampling).

    Output site ``q`` is active when at least ``min_active_inputs`` input
    sites ``q * stride - padding + offset * dilation`` are active
    (SparseConvNet's rule); the output grid is the dense conv's.  The output
    tensor's cache links back to the map, for :class:`SparseInverseConv3d`.

    Args:
        in_channels (int): ``C_in``.
        out_channels (int): ``C_out``.
        kernel_size (int or 3 ints):
        stride (int or 3 ints, default 1):
        padding (int or 3 ints, default 0):
        dilation (int or 3 ints, default 1):
        bias (bool, default True):
        min_active_inputs (int, default 1): between 1 and the kernel volume.

    Shapes:
        input: ``[N, C_in]`` features on a ``(D, H, W)`` grid; output:
        ``[N_out, C_out]`` on the dense conv's output grid.

    Examples
    --------
    >>> x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 4, 4, 4))
    >>> down = SparseConv3d(1, 8, 2, stride=2)
    >>> down
    SparseConv3d(1, 8, kernel_size=(2, 2, 2), stride=(2, 2, 2))
    >>> y = down(x)
    >>> y.spatial_shape, y.num_sites
    ((2, 2, 2), 8)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTriple,
        stride: IntOrTriple = 1,
        padding: IntOrTriple = 0,
        dilation: IntOrTriple = 1,
        bias: bool = True,
        min_active_inputs: int = 1,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, bias)
        K = self.kernel_volume
        if isinstance(min_active_inputs, bool) or not isinstance(min_active_inputs, int):
            raise TypeError(f"min_active_inputs must be an int, got {min_active_inputs!r}")
        if not 1 <= min_active_inputs <= K:
            raise ValueError(
                f"min_active_inputs must be between 1 and the kernel volume {K}, "
                f"got {min_active_inputs}"
            )
        self.min_active_inputs = min_active_inputs

    def kernel_map(self, x: SparseVoxelTensor) -> KernelMap:
        """Return the layer's kernel map on the sites of ``x`` (cached there)."""
        return conv_map(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.min_active_inputs
        )

    def _repr_defaults(self) -> list[tuple[str, object]]:
        return [*super()._repr_defaults(), ("min_active_inputs", 1)]


class SparseInverseConv3d(_SparseConvNd):
    r"""The inverse of a :class:`SparseConv3d`: back to the sites that conv read.

    Its input must be (or share the sites and cache of) the output of a
    :class:`SparseConv3d` with the same ``kernel_size``, ``stride``,
    ``padding`` and ``dilation``; the map is that conv's, reversed, and the
    output has the conv input's sites, row order and cache.  On the dense
    grid it is ``conv_transpose3d`` with that geometry (weight
    ``[C_in, C_out, kx, ky, kz]``), sampled at those sites.

    Args:
        in_channels (int): ``C_in`` (the conv's ``C_out``, typically).
        out_channels (int): ``C_out``.
        kernel_size, stride, padding, dilation: the geometry of the conv it inverts.
        bias (bool, default True):

    Shapes:
        input: ``[N_out, C_in]`` on the conv's output sites; output:
        ``[N, C_out]`` on the conv's input sites.

    Examples
    --------
    >>> x = SparseVoxelTensor.from_dense(torch.ones(1, 1, 4, 4, 4))
    >>> down = SparseConv3d(1, 8, 2, stride=2)
    >>> up = SparseInverseConv3d.inverse_of(down)
    >>> up
    SparseInverseConv3d(8, 1, kernel_size=(2, 2, 2), stride=(2, 2, 2))
    >>> y = up(down(x))
    >>> y.coords is x.coords, y.cache is x.cache
    (True, True)
    """

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTriple,
        stride: IntOrTriple = 1,
        padding: IntOrTriple = 0,
        dilation: IntOrTriple = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, bias)

    @classmethod
    def inverse_of(
        cls, conv: SparseConv3d, out_channels: int | None = None, bias: bool = True
    ) -> SparseInverseConv3d:
        """Return the inverse layer of ``conv``: its geometry, ``C_in = conv.out_channels``.

        ``out_channels`` defaults to ``conv.in_channels``.
        """
        if not isinstance(conv, SparseConv3d):
            raise TypeError(f"conv must be a SparseConv3d, got {type(conv).__name__}")
        return cls(
            conv.out_channels,
            conv.in_channels if out_channels is None else out_channels,
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
            bias,
        )

    def kernel_map(self, x: SparseVoxelTensor) -> KernelMap:
        """Return the layer's kernel map on the sites of ``x`` (cached there)."""
        return find_inverse_map(x, self.kernel_size, self.stride, self.padding, self.dilation)


class SparseConvTranspose3d(_SparseConvNd):
    r"""Transposed sparse convolution: every site the input reaches is an output site.

    Input site ``i`` feeds ``i * stride - padding + offset * dilation``
    through ``offset``, as ``conv_transpose3d`` (weight ``[C_in, C_out, kx,
    ky, kz]``) on the dense grid, whose output size it has.

    Args:
        in_channels (int): ``C_in``.
        out_channels (int): ``C_out``.
        kernel_size (int or 3 ints):
        stride (int or 3 ints, default 1):
        padding (int or 3 ints, default 0):
        output_padding (int or 3 ints, default 0): smaller than the stride or the dilation.
        bias (bool, default True):
        dilation (int or 3 ints, default 1):

    Shapes:
        input: ``[N, C_in]`` on a ``(D, H, W)`` grid; output: ``[N_out,
        C_out]`` on ``conv_transpose3d``'s output grid, sorted.

    Examples
    --------
    >>> x = SparseVoxelTensor(torch.tensor([[0, 1, 1, 1]]), torch.ones(1, 1), (2, 2, 2))
    >>> up = SparseConvTranspose3d(1, 1, 2, stride=2)
    >>> y = up(x)
    >>> y.spatial_shape, y.coords[:, 1:].min().item(), y.num_sites
    ((4, 4, 4), 2, 8)
    """

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTriple,
        stride: IntOrTriple = 1,
        padding: IntOrTriple = 0,
        output_padding: IntOrTriple = 0,
        bias: bool = True,
        dilation: IntOrTriple = 1,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, bias)
        self.output_padding = check_triple("output_padding", output_padding, low=0)
        for axis, (op, s, d) in enumerate(
            zip(self.output_padding, self.stride, self.dilation, strict=True)
        ):
            if op >= max(s, d):
                raise ValueError(
                    f"output_padding must be smaller than stride or dilation, got {op} on axis "
                    f"{axis} with stride {s} and dilation {d}"
                )

    def kernel_map(self, x: SparseVoxelTensor) -> KernelMap:
        """Return the layer's kernel map on the sites of ``x`` (cached there)."""
        return transpose_map(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.output_padding
        )

    def _repr_defaults(self) -> list[tuple[str, object]]:
        return [*super()._repr_defaults(), ("output_padding", (0, 0, 0))]
