"""How a compiled DAG runs: its stages, swept over one activation buffer.

A model's nodes are in buffer order (inputs first, then layer by layer; see
:mod:`graphnn.nn.plan`).  The inputs stay where they are (``x``, feature-major
``[n_inputs, batch]``); the computed nodes live in one buffer ``H`` of shape
``[n_nodes - n_inputs, batch]``.  Each :class:`Stage` computes its rows of
``H`` from the rows it reads (input rows of ``x`` and computed rows of ``H``,
each a slice when they are one run, else an index) with one masked product
and its activations.  Two sweeps run the stages:

* ``fused`` (the default): one ``torch.autograd.Function`` for the whole
  model.  The forward pass writes each product straight into its rows of
  ``H`` and applies the activation in place; the backward pass walks the
  stages in reverse with one gradient buffer, the closed-form activation
  derivatives of :mod:`graphnn.nn.activations` and the three masked
  products of :mod:`graphnn.nn.functional` (forward, transposed, sampled).
  It stores ``O(nodes * batch)`` values and has little overhead per stage,
  which matters for deep structures with thousands of small layers.  It is
  differentiable once.
  When the stages form a chain (each reads exactly all rows of the one
  before, the first all inputs, with one activation per stage and the last
  stage's rows as the outputs in order: every layered network without skip
  connections), the buffer buys nothing and the fused engine instead runs
  the layers one after the other, batch-major, with autograd.
* ``autograd``: plain torch operations that autograd records, the computed
  rows rebuilt with ``torch.cat`` per stage (``O(stages * nodes * batch)``
  values).  Differentiable to any order (with dense layouts): use it for
  second derivatives.  It is also the in-library reference of the fused
  sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from graphnn.nn.activations import (
    ACTIVATION_GRADS,
    ACTIVATIONS,
    apply_inplace,
)
from graphnn.nn.functional import masked_matmul, masked_matmul_backward, masked_weight
from graphnn.nn.masked_linear import MaskedLinear

__all__ = ["ENGINES", "Rows", "Stage", "is_chain", "run"]

#: The sweeps a compiled model can run with.
ENGINES = ("fused", "autograd")

#: Some rows of ``x`` or ``H``: a slice, ``(offset, count)`` into the model's
#: ``column_index`` buffer, or None for none.
Rows = slice | tuple[int, int] | None


@dataclass(frozen=True)
class Stage:
    """The non-input nodes of one layer: rows ``start .. stop - 1`` of ``H``.

    Attributes
    ----------
    start, stop : int
        The rows of ``H`` it computes (buffer positions minus ``n_inputs``).
    layer : MaskedLinear
        The masked product from the rows it reads to its own; its columns are
        the input rows it reads, then the computed rows.
    inputs, computed : Rows
        The rows of ``x`` and of ``H`` it reads.
    groups : tuple of (str, (int, int) or None)
        Activation name and the stage's local rows it applies to (a span of
        the model's ``group_index``), or ``None`` for all of them.
    activations : tuple of str
        The activation of each node (for ``to_graph``).
    needs_preactivation : bool
        Whether its activation derivatives need the pre-activations.
    """

    start: int
    stop: int
    layer: MaskedLinear
    inputs: Rows
    computed: Rows
    groups: tuple[tuple[str, tuple[int, int] | None], ...]
    activations: tuple[str, ...]
    needs_preactivation: bool


def _rows(model, source: torch.Tensor, rows: Rows) -> torch.Tensor | None:
    if rows is None:
        return None
    if isinstance(rows, slice):
        return source[rows]
    return source.index_select(0, model.column_index.narrow(0, *rows))


def _read(model, stage: Stage, x: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    a, b = _rows(model, x, stage.inputs), _rows(model, H, stage.computed)
    if a is None:
        return x[:0] if b is None else b
    return a if b is None else torch.cat([a, b])


def _scatter(model, stage: Stage, dx: torch.Tensor, dX: torch.Tensor | None, dH: torch.Tensor):
    """Add the gradient of the rows a stage read into the gradient buffers."""
    n = 0
    for rows, target in ((stage.inputs, dX), (stage.computed, dH)):
        if rows is None:
            continue
        count = rows.stop - rows.start if isinstance(rows, slice) else rows[1]
        if target is not None:
            part = dx[n : n + count]
            if isinstance(rows, slice):
                target[rows] += part
            else:
                target.index_add_(0, model.column_index.narrow(0, *rows), part)
        n += count


def _groups(model, stage: Stage):
    for name, span in stage.groups:
        yield name, None if span is None else model.group_index.narrow(0, *span)


def _activate(model, stage: Stage, z: torch.Tensor) -> torch.Tensor:
    """Out of place, for autograd."""
    a = None
    for name, index in _groups(model, stage):
        if index is None:
            return ACTIVATIONS[name](z)
        a = torch.zeros_like(z) if a is None else a
        a = a.index_copy(0, index, ACTIVATIONS[name](z.index_select(0, index)))
    return a


def _fill(model, x: torch.Tensor, keep: bool):
    """Run every stage into a new buffer ``H``.

    Returns ``H``, the pre-activations the backward pass needs (or None) and
    each dense layer's effective weight (None for sparse ones).
    """
    H = x.new_empty(model.n_nodes - model.n_inputs, x.shape[1])
    Z = torch.empty_like(H) if keep and model.needs_preactivation else None
    effective = []
    for stage in model.stages:
        layer = stage.layer
        out = H[stage.start : stage.stop]
        xin = _read(model, stage, x, H)
        pattern = layer.sparse_pattern
        w = masked_weight(layer.weight, layer.mask) if pattern is None else None
        effective.append(w)
        masked_matmul(xin, layer.weight, layer.mask, layer.bias, pattern, out=out, effective=w)
        if Z is not None and stage.needs_preactivation:
            Z[stage.start : stage.stop] = out
        for name, index in _groups(model, stage):
            if index is None:
                apply_inplace(name, out)
            else:
                out.index_copy_(0, index, ACTIVATIONS[name](out.index_select(0, index)))
    return H, Z, effective


class _FusedSweep(torch.autograd.Function):
    """The whole model as one autograd node (see the module docstring)."""

    @staticmethod
    def forward(ctx, model, x, *params):
        H, Z, ctx.effective = _fill(model, x, keep=True)
        ctx.model = model
        ctx.save_for_backward(x, H, *([Z] if Z is not None else []), *params)
        return H.index_select(0, model.output_rows)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        model = ctx.model
        x, H, *rest = ctx.saved_tensors
        Z = rest.pop(0) if model.needs_preactivation else None
        params = rest
        needs = ctx.needs_input_grad[2:]
        dX = torch.zeros_like(x) if ctx.needs_input_grad[1] else None
        dH = torch.zeros_like(H)
        dH.index_add_(0, model.output_rows, grad)
        grads: list[torch.Tensor | None] = [None] * len(params)
        for k in range(len(model.stages) - 1, -1, -1):
            stage = model.stages[k]
            rows = slice(stage.start, stage.stop)
            z = Z[rows] if Z is not None and stage.needs_preactivation else None
            a, g = H[rows], dH[rows]
            dz = None
            for name, index in _groups(model, stage):
                if index is None:
                    dz = ACTIVATION_GRADS[name](z, a, g)
                    break
                dz = torch.empty_like(g) if dz is None else dz
                pick = lambda t, i=index: None if t is None else t.index_select(0, i)  # noqa: E731
                dz.index_copy_(0, index, ACTIVATION_GRADS[name](pick(z), pick(a), pick(g)))
            layer = stage.layer
            needs_dx = stage.computed is not None or (dX is not None and stage.inputs is not None)
            dx, dw, db = masked_matmul_backward(
                _read(model, stage, x, H),
                params[2 * k],
                layer.mask,
                layer.sparse_pattern,
                dz,
                input_grad=needs_dx,
                weight_grad=needs[2 * k],
                effective=ctx.effective[k],
            )
            grads[2 * k], grads[2 * k + 1] = dw, db if needs[2 * k + 1] else None
            if dx is not None:
                _scatter(model, stage, dx, dX, dH)
        return (None, dX, *grads)


def _sweep_autograd(model, x: torch.Tensor) -> torch.Tensor:
    H = x[:0]
    for stage in model.stages:
        z = stage.layer.forward_features(_read(model, stage, x, H))
        H = torch.cat([H, _activate(model, stage, z)])
    return H.index_select(0, model.output_rows)


def is_chain(stages: list[Stage], n_inputs: int, output_rows: torch.Tensor) -> bool:
    """Whether the stages form a chain (see the module docstring)."""
    previous = slice(0, n_inputs)
    for stage in stages:
        reads = stage.inputs if stage is stages[0] else stage.computed
        other = stage.computed if stage is stages[0] else stage.inputs
        if other is not None or reads != previous or len(stage.groups) != 1:
            return False
        previous = slice(stage.start, stage.stop)
    expected = torch.arange(previous.start, previous.stop, device=output_rows.device)
    return bool(stages) and torch.equal(output_rows, expected)


def _sweep_chain(model, x: torch.Tensor) -> torch.Tensor:
    """Run the layers one after the other, batch-major; ``x`` is ``[batch, n_inputs]``."""
    for stage in model.stages:
        x = ACTIVATIONS[stage.groups[0][0]](stage.layer(x))
    return x


def run(model, x: torch.Tensor) -> torch.Tensor:
    """Compute the outputs ``[batch, n_outputs]`` from the inputs ``x`` ``[batch, n_inputs]``.

    ``model`` is a compiled :class:`~graphnn.nn.MaskedDAG`: it provides
    ``stages``, ``n_inputs``, ``n_nodes``, ``engine``, ``chain``,
    ``needs_preactivation`` and the index buffers ``column_index``,
    ``group_index`` and ``output_rows``.
    """
    if model.engine == "fused" and model.chain:
        return _sweep_chain(model, x)
    return _run_buffer(model, x.T).T.contiguous()


def _run_buffer(model, x: torch.Tensor) -> torch.Tensor:
    if model.engine == "autograd":
        return _sweep_autograd(model, x)
    params = [p for stage in model.stages for p in (stage.layer.weight, stage.layer.bias)]
    if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params)):
        return _FusedSweep.apply(model, x, *params)
    with torch.no_grad():
        H, _, _ = _fill(model, x, keep=False)
        return H.index_select(0, model.output_rows)
