"""``MaskedLinear``: a linear layer whose connections are switched on and off by a mask.

The weight is a *masked tensor* with one of two layouts behind one API:

* ``dense``: ``weight`` is ``[out, in]``, ``mask`` a boolean ``[out, in]``,
  and a boolean ``pattern`` ``[out, in]`` marks the entries that may be live
  at all (all of them, unless the layer was built from a set of entries).
* ``sparse``: the entries live in a CSR pattern (index buffers), ``weight``
  holds their ``[nnz]`` values in CSR order and ``mask`` is ``[nnz]``.
* ``block``: the ``block_size x block_size`` blocks that hold entries live in
  a block-CSR pattern; ``weight``, ``mask`` and ``pattern`` are
  ``[nnz_blocks, block_size, block_size]`` (for masks with block structure:
  block pruning, channel masks).

Either way the effective weight is ``weight * mask``: masked entries act as
zeros, receive zero gradients, and masks only shrink unless asked otherwise.
Masks and patterns are buffers, so they are in the ``state_dict`` and follow
``.to(device)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from graphnn.nn.functional import masked_linear, masked_matmul
from graphnn.nn.layout import check_layout, choose_layout
from graphnn.nn.patterns import BlockPattern, SparsePattern, csr_order

__all__ = ["MaskedLinear"]

_PATTERN_BUFFERS = ("crow_indices", "col_indices", "ccol_indices", "row_indices", "transpose_order")
_BLOCK_BUFFERS = (*(f"block_{name}" for name in _PATTERN_BUFFERS), "block_rows")


class MaskedLinear(nn.Module):
    r"""A linear layer :math:`y = x (W \odot M)^T + b` with a boolean mask :math:`M`.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input and output sample.
    bias : bool, default True
        Learn an additive bias.
    layout : {"dense", "sparse", "block", "auto"}, default "dense"
        ``"auto"`` chooses dense or sparse from the mask's density and the
        layer's size (see :mod:`graphnn.nn.layout`).
    mask : torch.Tensor, optional
        Boolean ``[out, in]``, the live connections (default: all).  It is
        also the pattern: entries outside it can never become live.
    block_size : int, default 32
        Side of the blocks of the ``block`` layout.
    device, dtype : optional
        Of the parameters.

    Attributes
    ----------
    weight : torch.nn.Parameter
        ``[out, in]`` (dense) or ``[nnz]`` (sparse, CSR order), initialised
        uniformly in :math:`\pm 1/\sqrt{\text{in}}` like ``torch.nn.Linear``.
    mask : torch.Tensor
        Boolean, the shape of ``weight``.
    bias : torch.nn.Parameter or None
        ``[out]``.

    Notes
    -----
    Shapes: input ``[..., in_features]``, output ``[..., out_features]``.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> layer = MaskedLinear(4, 3, mask=torch.eye(3, 4, dtype=torch.bool), layout="sparse")
    >>> layer
    MaskedLinear(in_features=4, out_features=3, bias=True, layout=sparse, density=0.25)
    >>> layer(torch.ones(2, 4)).shape
    torch.Size([2, 3])
    >>> layer.weight_count
    3
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        layout: str = "dense",
        *,
        mask: torch.Tensor | None = None,
        block_size: int = 32,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        check_layout(layout)
        shape = (out_features, in_features)
        if mask is None:
            rows, cols = np.divmod(np.arange(out_features * in_features), max(in_features, 1))
        else:
            mask = _as_bool(mask, shape, "mask")
            rows, cols = mask.nonzero(as_tuple=True)
            rows, cols = rows.cpu().numpy(), cols.cpu().numpy()
        self._setup(shape, rows, cols, layout, bias, device, dtype, block_size)
        self.reset_parameters()

    @classmethod
    def from_entries(
        cls,
        in_features: int,
        out_features: int,
        rows: np.ndarray,
        cols: np.ndarray,
        *,
        bias: bool = True,
        layout: str = "dense",
        block_size: int = 32,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> tuple[MaskedLinear, np.ndarray]:
        """Build a layer whose pattern is the entries ``(rows[i], cols[i])``.

        The parameters are left uninitialised (call ``reset_parameters`` or
        set them).  Returns the layer and ``order``: entry ``order[j]`` is the
        layer's ``j``-th entry in CSR order (the order of :meth:`entries`).

        Raises
        ------
        ValueError
            If an entry is repeated or outside ``[out_features, in_features]``.
        """
        layer = cls.__new__(cls)
        nn.Module.__init__(layer)
        check_layout(layout)
        shape = (out_features, in_features)
        order = layer._setup(shape, rows, cols, layout, bias, device, dtype, block_size)
        return layer, order

    def _setup(self, shape, rows, cols, layout, bias, device, dtype, block_size) -> np.ndarray:
        out_features, in_features = shape
        self.in_features, self.out_features = in_features, out_features
        if layout == "auto":
            layout = choose_layout(out_features, in_features, len(rows))
        self.layout = layout
        factory = {"device": device, "dtype": dtype}
        self._saliency: torch.Tensor | None = None
        if layout == "dense":
            order = csr_order(rows, cols, shape)
            allowed = torch.zeros(shape, dtype=torch.bool, device=device)
            allowed[torch.as_tensor(rows, device=device), torch.as_tensor(cols, device=device)] = (
                True
            )
            self.weight = nn.Parameter(torch.empty(shape, **factory))
            self.register_buffer("pattern", allowed)
            self.register_buffer("mask", allowed.clone())
        elif layout == "block":
            pattern, order, flat = BlockPattern.from_coordinates(
                rows, cols, shape, block_size, device=device
            )
            self.block_size = block_size
            blocks = (pattern.nnz, block_size, block_size)
            allowed = torch.zeros(math.prod(blocks), dtype=torch.bool, device=device)
            allowed[torch.as_tensor(flat, device=device)] = True
            self.weight = nn.Parameter(torch.empty(blocks, **factory))
            for name, tensor in zip(_BLOCK_BUFFERS, pattern.tensors(), strict=True):
                self.register_buffer(name, tensor)
            self.register_buffer("pattern", allowed.reshape(blocks))
            self.register_buffer("mask", self.pattern.clone())
        else:
            pattern, order = SparsePattern.from_coordinates(rows, cols, shape, device=device)
            self.weight = nn.Parameter(torch.empty(pattern.nnz, **factory))
            for name, tensor in zip(_PATTERN_BUFFERS, pattern.tensors(), strict=True):
                self.register_buffer(name, tensor)
            self.register_buffer("mask", torch.ones(pattern.nnz, dtype=torch.bool, device=device))
        self.bias = nn.Parameter(torch.empty(out_features, **factory)) if bias else None
        return order

    def reset_parameters(self) -> None:
        """Initialise like ``torch.nn.Linear``: uniform in ``±1/sqrt(in_features)``."""
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    # --- the pattern -----------------------------------------------------------------------

    @property
    def sparse_pattern(self) -> SparsePattern | BlockPattern | None:
        """The pattern of the sparse or block layout (``None`` for the dense layout)."""
        if self.layout == "dense":
            return None
        shape = (self.out_features, self.in_features)
        if self.layout == "block":
            buffers = (getattr(self, n) for n in _BLOCK_BUFFERS)
            return BlockPattern(shape, self.block_size, *buffers)
        return SparsePattern(shape, *(getattr(self, n) for n in _PATTERN_BUFFERS))

    def entries(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(rows, cols, values, live)`` of the pattern's entries, in CSR order."""
        if self.layout == "dense":
            rows, cols = self.pattern.nonzero(as_tuple=True)
            return rows, cols, self.weight.detach()[rows, cols], self.mask[rows, cols]
        if self.layout == "block":
            e, i, j = self.pattern.nonzero(as_tuple=True)
            rows = self.block_rows[e] * self.block_size + i
            cols = self.block_col_indices[e] * self.block_size + j
            return rows, cols, self.weight.detach()[e, i, j], self.mask[e, i, j]
        rows = torch.repeat_interleave(
            torch.arange(self.out_features, device=self.mask.device),
            self.crow_indices.diff(),
        )
        return rows, self.col_indices, self.weight.detach(), self.mask

    def entry_positions(self) -> torch.Tensor:
        """Return where each entry of :meth:`entries` sits in ``weight.flatten()``."""
        if self.layout == "sparse":
            return torch.arange(self.weight.numel(), device=self.weight.device)
        return self.pattern.flatten().nonzero().squeeze(1)

    @torch.no_grad()
    def set_entries(self, values: torch.Tensor) -> MaskedLinear:
        """Write the weights of the pattern's entries, given in the order of :meth:`entries`.

        Raises
        ------
        ValueError
            If ``values`` does not have one value per entry.
        """
        count = self.weight.numel() if self.layout == "sparse" else int(self.pattern.sum())
        if values.shape != (count,):
            raise ValueError(f"values must have shape ({count},), got {tuple(values.shape)}")
        if self.layout == "sparse":
            self.weight.copy_(values)
        else:
            self.weight.zero_()
            self.weight[self.pattern] = values.to(self.weight.dtype)
        return self

    # --- the mask --------------------------------------------------------------------------

    @property
    def weight_count(self) -> int:
        """Number of live connections."""
        return int(self.mask.sum())

    @property
    def density(self) -> float:
        """Live connections over ``out_features * in_features``."""
        size = self.out_features * self.in_features
        return self.weight_count / size if size else 0.0

    def set_mask(self, mask: torch.Tensor) -> MaskedLinear:
        """Replace the mask (the shape of ``weight``); entries outside the pattern cannot be live.

        ``layer.mask = m`` does the same.

        Raises
        ------
        ValueError
            If the shape differs or a ``True`` entry lies outside the pattern.
        """
        mask = _as_bool(mask, tuple(self.mask.shape), "mask").to(self.mask.device)
        if self.layout != "sparse" and bool((mask & ~self.pattern).any()):
            where = tuple((mask & ~self.pattern).nonzero()[0].tolist())
            raise ValueError(
                f"mask entry {where} is True but that connection is not in the layer's "
                "pattern (the structure it was built from)"
            )
        with torch.no_grad():
            self.mask.copy_(mask)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        if name == "mask" and "mask" in self._buffers:
            self.set_mask(value)  # validated, and copied into the buffer
            return
        super().__setattr__(name, value)

    @torch.no_grad()
    def apply_mask(self) -> MaskedLinear:
        """Make the masked weights zero for good; returns the layer."""
        self.weight.masked_fill_(~self.mask, 0.0)
        return self

    @property
    def saliency(self) -> torch.Tensor:
        """Scores in the shape of ``weight`` that :meth:`recompute_mask` thresholds.

        ``|weight|`` unless scores were set (the hook pruning methods use).
        """
        if self._saliency is not None:
            return self._saliency
        return self.weight.detach().abs()

    @saliency.setter
    def saliency(self, scores: torch.Tensor | None) -> None:
        if scores is not None and tuple(scores.shape) != tuple(self.weight.shape):
            raise ValueError(
                f"saliency must have the shape of the weight {tuple(self.weight.shape)}, "
                f"got {tuple(scores.shape)}"
            )
        self._saliency = scores

    @torch.no_grad()
    def recompute_mask(self, threshold: float, *, resurrect: bool = False) -> MaskedLinear:
        """Keep the connections whose saliency is at least ``threshold``.

        Parameters
        ----------
        threshold : float
            Connections with ``saliency < threshold`` are masked.
        resurrect : bool, default False
            Let connections masked before come back if they pass the
            threshold (within the pattern); by default masks only shrink.

        Returns
        -------
        MaskedLinear
            The layer.
        """
        keep = self.saliency >= threshold
        if resurrect:
            self.mask.copy_(keep if self.layout == "sparse" else keep & self.pattern)
        else:
            self.mask &= keep
        return self

    # --- computing -------------------------------------------------------------------------

    def dense_weight(self) -> torch.Tensor:
        """Return the effective weight ``[out, in]`` (masked entries zero), differentiably."""
        if self.layout == "dense":
            return self.weight * self.mask
        if self.layout == "block":
            rows, cols, _, _ = self.entries()
            live = (self.weight * self.mask)[self.pattern]
            dense = live.new_zeros(self.out_features, self.in_features)
            return dense.index_put((rows, cols), live)
        return self.sparse_pattern.csr(self.weight * self.mask).to_dense()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer to ``x`` of shape ``[..., in_features]``."""
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"expected input of shape [..., {self.in_features}], got {tuple(x.shape)}"
            )
        if x.dtype != self.weight.dtype:
            raise TypeError(
                f"input dtype {x.dtype} differs from the layer's {self.weight.dtype}; convert "
                "one of them (e.g. layer.to(x.dtype))"
            )
        return masked_linear(x, self.weight, self.mask, self.bias, self.sparse_pattern)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer feature-major: ``x`` is ``[in, batch]``, the result ``[out, batch]``.

        No input checks: this is the fast path the DAG model calls.
        """
        return masked_matmul(x, self.weight, self.mask, self.bias, self.sparse_pattern)

    def extra_repr(self) -> str:
        """Describe the layer in its ``repr``."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, layout={self.layout}, density={self.density:.3g}"
        )


def _as_bool(mask: object, shape: tuple[int, ...], name: str) -> torch.Tensor:
    try:
        mask = torch.as_tensor(mask)
    except (TypeError, RuntimeError, ValueError):
        raise TypeError(
            f"{name} must be a boolean tensor of shape {tuple(shape)}, got {mask!r}"
        ) from None
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        if bool(((mask != 0) & (mask != 1)).any()):
            raise ValueError(f"{name} must be boolean (or 0/1), got values other than 0 and 1")
        mask = mask != 0
    return mask
