"""How a compiled DAG runs: its stages, swept over one activation buffer.

A model's nodes live in one buffer ``H`` of shape ``[nodes, batch]`` in
buffer order (inputs first, then layer by layer; see :mod:`graphnn.nn.plan`).
Each :class:`Stage` computes its rows ``H[start:stop]`` from the rows it
reads (``columns``: a slice when they are one run, else an index) with one
masked product and its activations.  Two sweeps run the stages:

* ``fused`` (the default): one ``torch.autograd.Function`` for the whole
  model.  The forward pass fills ``H`` in place; the backward pass walks the
  stages in reverse with one gradient buffer, the closed-form activation
  derivatives of :mod:`graphnn.nn.activations` and the three masked
  products of :mod:`graphnn.nn.functional` (forward, transposed, sampled).
  It stores ``O(nodes * batch)`` values and has little overhead per stage,
  which matters for deep structures with thousands of small layers.  It is
  differentiable once.
* ``autograd``: plain torch operations that autograd records, the prefix of
  the buffer rebuilt with ``torch.cat`` per stage (``O(stages * nodes *
  batch)`` values).  Differentiable to any order (with dense layouts): use it
  for second derivatives.  It is also the in-library reference of the
  fused sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from graphnn.nn.activations import ACTIVATION_GRADS, ACTIVATIONS
from graphnn.nn.functional import masked_matmul, masked_matmul_backward
from graphnn.nn.masked_linear import MaskedLinear

__all__ = ["ENGINES", "Stage", "run"]

#: The sweeps a compiled model can run with.
ENGINES = ("fused", "autograd")

Span = tuple[int, int]  # (offset, count) into one of the model's flat index buffers


@dataclass(frozen=True)
class Stage:
    """The non-input nodes of one layer: buffer rows ``start .. stop - 1``.

    Attributes
    ----------
    start, stop : int
        The rows the stage computes.
    layer : MaskedLinear
        The masked product from the rows it reads to its own.
    columns : slice or (int, int)
        The rows it reads: a slice, or a span of the model's ``column_index``.
    groups : tuple of (str, span or None)
        Activation name and the stage's local rows it applies to (a span of the
        model's ``group_index``), or ``None`` for all of them.
    activations : tuple of str
        The activation of each node (for ``to_graph``).
    reads_computed : bool
        Whether it reads rows other than the inputs.
    """

    start: int
    stop: int
    layer: MaskedLinear
    columns: slice | Span
    groups: tuple[tuple[str, Span | None], ...]
    activations: tuple[str, ...]
    reads_computed: bool


def _span(buffer: torch.Tensor, span: Span) -> torch.Tensor:
    return buffer.narrow(0, span[0], span[1])


def _read(model, stage: Stage, H: torch.Tensor) -> torch.Tensor:
    if isinstance(stage.columns, slice):
        return H[stage.columns]
    return H.index_select(0, _span(model.column_index, stage.columns))


def _activate(model, stage: Stage, z: torch.Tensor) -> torch.Tensor:
    (name, span), *more = stage.groups
    if not more:
        return ACTIVATIONS[name](z)
    a = torch.empty_like(z)
    for name, span in stage.groups:
        index = _span(model.group_index, span)
        a = a.index_copy(0, index, ACTIVATIONS[name](z.index_select(0, index)))
    return a


def _activate_grad(model, stage: Stage, z: torch.Tensor, a: torch.Tensor, g: torch.Tensor):
    (name, span), *more = stage.groups
    if not more:
        return ACTIVATION_GRADS[name](z, a, g)
    dz = torch.empty_like(g)
    for name, span in stage.groups:
        index = _span(model.group_index, span)
        pick = lambda t, index=index: t.index_select(0, index)  # noqa: E731
        dz.index_copy_(0, index, ACTIVATION_GRADS[name](pick(z), pick(a), pick(g)))
    return dz


def _fill(model, x: torch.Tensor, keep_z: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run every stage into a new buffer; return it and the pre-activations (if kept)."""
    n_in = model.n_inputs
    H = x.new_empty(model.n_nodes, x.shape[1])
    H[:n_in] = x
    Z = x.new_empty(model.n_nodes - n_in, x.shape[1]) if keep_z else None
    for stage in model.stages:
        layer = stage.layer
        z = masked_matmul(
            _read(model, stage, H), layer.weight, layer.mask, layer.bias, layer.sparse_pattern
        )
        if Z is not None:
            Z[stage.start - n_in : stage.stop - n_in] = z
        H[stage.start : stage.stop] = _activate(model, stage, z)
    return H, Z


class _FusedSweep(torch.autograd.Function):
    """The whole model as one autograd node (see the module docstring)."""

    @staticmethod
    def forward(ctx, model, x, *params):
        H, Z = _fill(model, x, keep_z=True)
        ctx.model = model
        ctx.save_for_backward(H, Z, *params)
        return H.index_select(0, model.output_index)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        model = ctx.model
        H, Z, *params = ctx.saved_tensors
        needs = ctx.needs_input_grad[2:]
        n_in = model.n_inputs
        dH = torch.zeros_like(H)
        dH.index_add_(0, model.output_index, grad)
        grads: list[torch.Tensor | None] = [None] * len(params)
        for k in range(len(model.stages) - 1, -1, -1):
            stage = model.stages[k]
            rows = slice(stage.start, stage.stop)
            z = Z[stage.start - n_in : stage.stop - n_in]
            dz = _activate_grad(model, stage, z, H[rows], dH[rows])
            weight, layer = params[2 * k], stage.layer
            needs_dx = stage.reads_computed or ctx.needs_input_grad[1]
            dx, dw, db = masked_matmul_backward(
                _read(model, stage, H),
                weight,
                layer.mask,
                layer.sparse_pattern,
                dz,
                input_grad=needs_dx and stage.layer.in_features > 0,
                weight_grad=needs[2 * k],
            )
            grads[2 * k], grads[2 * k + 1] = dw, db if needs[2 * k + 1] else None
            if dx is not None:
                if isinstance(stage.columns, slice):
                    dH[stage.columns] += dx
                else:
                    dH.index_add_(0, _span(model.column_index, stage.columns), dx)
        dx = dH[:n_in] if ctx.needs_input_grad[1] else None
        return (None, dx, *grads)


def _sweep_autograd(model, x: torch.Tensor) -> torch.Tensor:
    prefix = x
    for stage in model.stages:
        z = stage.layer.forward_features(_read(model, stage, prefix))
        prefix = torch.cat([prefix, _activate(model, stage, z)])
    return prefix.index_select(0, model.output_index)


def run(model, x: torch.Tensor) -> torch.Tensor:
    """Compute the outputs ``[n_outputs, batch]`` from the inputs ``x`` ``[n_inputs, batch]``.

    ``model`` provides ``stages``, ``n_inputs``, ``n_nodes``, ``engine``,
    ``column_index``, ``group_index`` and ``output_index`` (a compiled
    :class:`~graphnn.nn.MaskedDAG`).
    """
    if model.engine == "autograd":
        return _sweep_autograd(model, x)
    params = [p for stage in model.stages for p in (stage.layer.weight, stage.layer.bias)]
    if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params)):
        return _FusedSweep.apply(model, x, *params)
    with torch.no_grad():
        H, _ = _fill(model, x, keep_z=False)
        return H.index_select(0, model.output_index)
