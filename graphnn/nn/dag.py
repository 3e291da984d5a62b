"""``MaskedDAG``: a structure compiled into a trainable torch module, and back into its graph.

The model computes every non-input node ``v`` as
``activation_v(bias_v + sum(weight_uv * value_u))`` over its predecessors
``u``.  Nodes are kept in buffer order (see :mod:`graphnn.nn.plan`); each
layer's non-input nodes are one :class:`~graphnn.nn.MaskedLinear` from the
buffer columns they read.  The forward pass keeps one block of activations per
stage, feature-major (``[nodes, batch]``, the orientation of the CSR
products), and gathers each stage's columns from them (a view when they are
one contiguous run), so autograd stores ``O(batch * sum of columns read)``
values, never anything of size ``V x V``.

``to_graph()`` gives back the structure with the current parameters; pruning
is a mask, and masked connections are absent from it.
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np
import torch
from torch import nn

from graphnn.nn.activations import IDENTITY, get_activation
from graphnn.nn.layout import check_layout
from graphnn.nn.masked_linear import MaskedLinear
from graphnn.nn.plan import Plan, StagePlan, init_bounds, plan_from_graph
from graphnn.structure.layering import LAYER
from graphnn.structure.roles import INPUT, ROLE
from graphnn.structure.validation import ACTIVATION, BIAS, WEIGHT

__all__ = ["MaskedDAG", "compile"]

_FINGERPRINT = "structure_fingerprint"


class _Gather(nn.Module):
    """Pick buffer positions out of the per-stage activation blocks.

    ``parts[j]`` is ``[nodes, batch]`` and holds buffer positions
    ``bounds[j] .. bounds[j + 1] - 1``.  The positions are split by block; a
    contiguous run is a slice (a view), anything else an ``index_select`` of
    rows.  ``permutation`` reorders the gathered rows.
    """

    def __init__(self, positions: np.ndarray, bounds: np.ndarray, device=None) -> None:
        super().__init__()
        order = np.argsort(positions, kind="stable")
        wanted = positions[order]
        part = np.searchsorted(bounds, wanted, side="right") - 1
        self.segments: list[tuple[int, slice | str]] = []
        for j in np.unique(part).tolist():
            local = wanted[part == j] - bounds[j]
            if local[-1] - local[0] + 1 == local.size:
                self.segments.append((j, slice(int(local[0]), int(local[-1]) + 1)))
            else:
                name = f"index_{len(self.segments)}"
                self.register_buffer(name, torch.as_tensor(local, device=device), persistent=False)
                self.segments.append((j, name))
        permutation = None
        if not np.array_equal(order, np.arange(order.size)):
            inverse = np.empty_like(order)
            inverse[order] = np.arange(order.size)
            permutation = torch.as_tensor(inverse, device=device)
        self.register_buffer("permutation", permutation, persistent=False)

    def forward(self, parts: list[torch.Tensor]) -> torch.Tensor:
        if not self.segments:
            return parts[0][:0]
        pieces = [
            parts[j][where]
            if isinstance(where, slice)
            else parts[j].index_select(0, getattr(self, where))
            for j, where in self.segments
        ]
        gathered = pieces[0] if len(pieces) == 1 else torch.cat(pieces)
        return gathered if self.permutation is None else gathered.index_select(0, self.permutation)


class _Stage(nn.Module):
    """One layer's non-input nodes: gather their columns, one masked product, activations."""

    def __init__(
        self, plan: StagePlan, layer: MaskedLinear, bounds: np.ndarray, device=None
    ) -> None:
        super().__init__()
        self.start, self.stop = plan.start, plan.stop
        self.gather = _Gather(plan.columns, bounds, device)
        self.layer = layer
        self.activations = plan.activations
        names = sorted(set(plan.activations))
        self.groups: list[tuple[str, str | None]] = []
        if len(names) == 1:
            self.groups.append((names[0], None))
        else:
            order = []
            for k, name in enumerate(names):
                index = np.flatnonzero(np.array(plan.activations) == name)
                order.append(index)
                self.register_buffer(
                    f"group_{k}", torch.as_tensor(index, device=device), persistent=False
                )
                self.groups.append((name, f"group_{k}"))
            order = np.concatenate(order)
            inverse = np.empty_like(order)
            inverse[order] = np.arange(order.size)
            self.register_buffer(
                "ungroup", torch.as_tensor(inverse, device=device), persistent=False
            )

    def forward(self, parts: list[torch.Tensor]) -> torch.Tensor:
        z = self.layer.forward_features(self.gather(parts))
        if len(self.groups) == 1:
            return get_activation(self.groups[0][0])(z)
        pieces = [
            get_activation(name)(z.index_select(0, getattr(self, index)))
            for name, index in self.groups
        ]
        return torch.cat(pieces).index_select(0, self.ungroup)


class MaskedDAG(nn.Module):
    r"""A structure compiled into a torch module: masked layers over a DAG.

    Every non-input node ``v`` computes
    :math:`h_v = f_v(b_v + \sum_{u \to v} w_{uv} h_u)`; the inputs are the
    columns of ``x``, the outputs the columns of the result.

    Parameters
    ----------
    structure : networkx.DiGraph or Plan
        A valid structure (see :func:`graphnn.structure.validate`), or a plan
        made by :mod:`graphnn.nn.plan`.  Edge ``weight`` and node ``bias`` and
        ``activation`` attributes are used where present; missing weights and
        biases are drawn uniformly in :math:`\pm 1/\sqrt{\text{fan-in}}` of
        their node with torch's random generator (as ``torch.nn.Linear``).
    activation : str, default "relu"
        Activation of hidden nodes without an ``activation`` attribute (see
        :data:`graphnn.nn.activations.ACTIVATIONS`).
    output_activation : str, optional
        Activation of output nodes without one; default the identity.
    layout : {"auto", "dense", "sparse"}, default "auto"
        Layout of every layer's weight; ``"auto"`` chooses per layer.
    dtype : torch.dtype, optional
        Floating dtype of the parameters (default: torch's default dtype).
    device : torch.device or str, optional
        Where the parameters live.

    Attributes
    ----------
    layer_type : type
        The class of the masked layers (a :class:`MaskedLinear` subclass);
        subclasses of the model may set their own.
    input_nodes, output_nodes : list
        The labels of the inputs and outputs, in the order of ``G.nodes``:
        column ``i`` of the input is ``input_nodes[i]``.

    Raises
    ------
    StructureError
        If the structure is not valid (the message names the nodes or edges).
    ValueError, TypeError
        For an unknown activation or layout, or a non-floating dtype.

    Notes
    -----
    Shapes: input ``[batch, n_inputs]``, a single sample ``[n_inputs]``, or
    ``[batch, *dims]`` with ``prod(dims) == n_inputs``; output
    ``[batch, n_outputs]`` (``[n_outputs]`` for a single sample).

    Examples
    --------
    >>> import networkx as nx
    >>> import torch
    >>> G = nx.DiGraph([("x1", "h"), ("x2", "h"), ("h", "y"), ("x1", "y")])
    >>> model = MaskedDAG(G)
    >>> model
    MaskedDAG(nodes=4, edges=4, inputs=2, outputs=1, stages=2, layouts=dense)
    >>> model(torch.zeros(5, 2)).shape
    torch.Size([5, 1])
    >>> H = model.to_graph()
    >>> sorted(H.nodes["h"])
    ['activation', 'bias', 'layer', 'role']
    """

    layer_type: type[MaskedLinear] = MaskedLinear

    def __init__(
        self,
        structure: nx.DiGraph | Plan,
        *,
        activation: str = "relu",
        output_activation: str | None = None,
        layout: str = "auto",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        check_layout(layout)
        dtype = torch.get_default_dtype() if dtype is None else dtype
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        plan = structure
        if not isinstance(plan, Plan):
            plan = plan_from_graph(
                structure, activation=activation, output_activation=output_activation
            )
        self._plan = plan
        self.n_inputs, self.n_outputs = plan.n_inputs, int(plan.outputs.size)
        weight, bias = _initial_parameters(plan)
        bounds = np.array([0, plan.n_inputs] + [s.stop for s in plan.stages], dtype=np.int64)
        self.stages = nn.ModuleList()
        self._entry_edges: list[np.ndarray] = []
        for stage in plan.stages:
            layer, order = self.layer_type.from_entries(
                stage.columns.size,
                stage.stop - stage.start,
                stage.rows,
                stage.cols,
                layout=layout,
                device=device,
                dtype=dtype,
            )
            edges = stage.edge_ids[order]
            with torch.no_grad():
                values = torch.as_tensor(weight[edges], dtype=dtype, device=device)
                if layer.layout == "dense":
                    layer.weight.zero_()
                    layer.weight[
                        tuple(
                            torch.as_tensor(a, device=device)
                            for a in (stage.rows[order], stage.cols[order])
                        )
                    ] = values
                else:
                    layer.weight.copy_(values)
                layer.bias.copy_(torch.as_tensor(bias[stage.start : stage.stop], dtype=dtype))
            self._entry_edges.append(edges)
            self.stages.append(_Stage(stage, layer, bounds, device))
        self.output_gather = _Gather(plan.outputs, bounds, device)
        fingerprint = torch.tensor(list(plan.fingerprint()), dtype=torch.uint8, device=device)
        self.register_buffer(_FINGERPRINT, fingerprint)
        self.register_load_state_dict_pre_hook(_check_fingerprint)

    # --- the interface ---------------------------------------------------------------------

    @property
    def input_nodes(self) -> list[Hashable]:
        """The input labels; column ``i`` of the input is ``input_nodes[i]``."""
        return self._plan.labels[: self.n_inputs]

    @property
    def output_nodes(self) -> list[Hashable]:
        """The output labels; column ``i`` of the output is ``output_nodes[i]``."""
        return [self._plan.labels[i] for i in self._plan.outputs.tolist()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the outputs for ``x`` (see the class notes for the shapes)."""
        batch, single = self._as_batch(x)
        parts = [batch.T.contiguous()]
        for stage in self.stages:
            parts.append(stage(parts))
        out = self.output_gather(parts).T.contiguous()
        return out[0] if single else out

    def _as_batch(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
        dtype, device = self.dtype, self.structure_fingerprint.device
        if x.dtype != dtype:
            raise TypeError(
                f"input dtype {x.dtype} differs from the model's {dtype}; convert the input "
                f"(x.to({dtype})) or the model (model.to({x.dtype}))"
            )
        if x.device != device:
            raise ValueError(f"input is on {x.device} but the model is on {device}")
        if x.ndim == 1 and x.shape[0] == self.n_inputs:
            return x.unsqueeze(0), True
        if x.ndim >= 2 and int(np.prod(x.shape[1:])) == self.n_inputs:
            return x.reshape(x.shape[0], self.n_inputs), False
        raise ValueError(
            f"expected input of shape [batch, {self.n_inputs}], [{self.n_inputs}] or [batch, ...] "
            f"with trailing dims that flatten to {self.n_inputs}; got {tuple(x.shape)}"
        )

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the parameters."""
        for parameter in self.parameters():
            return parameter.dtype
        return torch.get_default_dtype()

    # --- masks -----------------------------------------------------------------------------

    def masked_layers(self) -> list[MaskedLinear]:
        """Return the masked layers, one per stage, in buffer order."""
        return [stage.layer for stage in self.stages]

    def densities(self) -> list[float]:
        """Return each masked layer's density (live connections over its full size)."""
        return [layer.density for layer in self.masked_layers()]

    def apply_mask(self) -> MaskedDAG:
        """Make every masked weight zero for good; returns the model."""
        for layer in self.masked_layers():
            layer.apply_mask()
        return self

    def recompute_mask(self, threshold: float, *, resurrect: bool = False) -> MaskedDAG:
        """Mask every connection whose saliency is below ``threshold``; returns the model.

        See :meth:`MaskedLinear.recompute_mask`.
        """
        for layer in self.masked_layers():
            layer.recompute_mask(threshold, resurrect=resurrect)
        return self

    def parameter_count(self, live_only: bool = True) -> int:
        """Return the number of parameters: live weights and biases, or all allocated ones."""
        if not live_only:
            return sum(p.numel() for p in self.parameters())
        return sum(
            layer.weight_count + (layer.bias.numel() if layer.bias is not None else 0)
            for layer in self.masked_layers()
        )

    # --- back to the graph -----------------------------------------------------------------

    @torch.no_grad()
    def to_graph(self) -> nx.DiGraph:
        """Return the structure with the current parameters.

        Same node labels and node order, one edge per live connection (in the
        order of the compiled structure's edges) with its ``weight``, and for
        every node its ``role`` and ``layer`` and, unless it is an input, its
        ``bias`` and ``activation``.  Other attributes of the compiled
        structure are kept.  ``compile(model.to_graph())`` computes the same
        function.

        Returns
        -------
        networkx.DiGraph
        """
        plan = self._plan
        live = np.zeros(plan.n_edges, dtype=bool)
        weight = np.zeros(plan.n_edges)
        bias = np.zeros(plan.n_nodes)
        for stage, edges in zip(self.stages, self._entry_edges, strict=True):
            _, _, values, alive = stage.layer.entries()
            weight[edges] = values.double().cpu().numpy()
            live[edges] = alive.cpu().numpy()
            bias[stage.start : stage.stop] = stage.layer.bias.double().cpu().numpy()
        activation = [IDENTITY] * plan.n_nodes
        for stage in self.stages:
            activation[stage.start : stage.stop] = stage.activations
        H = nx.DiGraph()
        H.graph.update(plan.graph_attrs)
        labels, layers, biases = plan.labels, plan.layer.tolist(), bias.tolist()
        for i in plan.order.tolist():
            attrs = dict(plan.node_attrs.get(i, ()))
            attrs[ROLE], attrs[LAYER] = plan.role[i], layers[i]
            if plan.role[i] != INPUT:
                attrs[BIAS], attrs[ACTIVATION] = biases[i], activation[i]
            H.add_node(labels[i], **attrs)
        src, dst, weights = plan.src.tolist(), plan.dst.tolist(), weight.tolist()
        extra = plan.edge_attrs
        H.add_edges_from(
            (labels[src[e]], labels[dst[e]], {**extra.get(e, {}), WEIGHT: weights[e]})
            for e in np.flatnonzero(live).tolist()
        )
        return H

    def extra_repr(self) -> str:
        """Describe the model in its ``repr``."""
        layouts = sorted({layer.layout for layer in self.masked_layers()}) or ["-"]
        return (
            f"nodes={self._plan.n_nodes}, edges={self._plan.n_edges}, inputs={self.n_inputs}, "
            f"outputs={self.n_outputs}, stages={len(self.stages)}, layouts={'+'.join(layouts)}"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _initial_parameters(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Return the plan's weights and biases, drawing the missing ones with torch's generator."""
    bound = init_bounds(plan.fan_in())
    weight, bias = plan.weight.copy(), plan.bias.copy()
    missing = np.flatnonzero(np.isnan(weight))
    if missing.size:
        draws = torch.rand(missing.size, dtype=torch.float64).numpy()
        weight[missing] = (2.0 * draws - 1.0) * bound[plan.dst[missing]]
    computed = np.arange(plan.n_inputs, plan.n_nodes)
    missing = computed[np.isnan(bias[computed])]
    if missing.size:
        draws = torch.rand(missing.size, dtype=torch.float64).numpy()
        bias[missing] = (2.0 * draws - 1.0) * bound[missing]
    return weight, bias


def _check_fingerprint(module, state_dict, prefix, *args) -> None:
    key = prefix + _FINGERPRINT
    if key in state_dict and not torch.equal(
        state_dict[key].cpu(), module.structure_fingerprint.cpu()
    ):
        raise ValueError(
            f"the state_dict was saved from a model of another structure (its "
            f"{_FINGERPRINT} differs); load it into a model compiled from the same structure "
            f"({module._plan.n_nodes} nodes, {module._plan.n_edges} edges here)"
        )


def compile(  # the name shadows the builtin inside this module only
    G: nx.DiGraph,
    *,
    activation: str = "relu",
    output_activation: str | None = None,
    layout: str = "auto",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> MaskedDAG:
    """Compile a structure into a trainable :class:`MaskedDAG` (same arguments).

    Examples
    --------
    >>> import torch
    >>> from graphnn import generators
    >>> model = compile(generators.layered([4, 8, 2], density=0.5, seed=0))
    >>> model(torch.ones(3, 4)).shape
    torch.Size([3, 2])
    """
    return MaskedDAG(
        G,
        activation=activation,
        output_activation=output_activation,
        layout=layout,
        dtype=dtype,
        device=device,
    )
