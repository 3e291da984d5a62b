"""``MaskedDAG``: a structure compiled into a trainable torch module, and back into its graph.

The model computes every non-input node ``v`` as
``activation_v(bias_v + sum(weight_uv * value_u))`` over its predecessors
``u``.  Nodes are kept in buffer order (see :mod:`graphnn.nn.plan`); each
layer's non-input nodes are one :class:`~graphnn.nn.MaskedLinear` from the
buffer rows they read, and :mod:`graphnn.nn.engine` sweeps those stages over
one activation buffer.  Nothing of size ``V x V`` is ever built.

``to_graph()`` gives back the structure with the current parameters; pruning
is a mask, and masked connections are absent from it.
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import numpy as np
import torch
from torch import nn

from graphnn._random import SeedLike, check_seed, torch_generator
from graphnn.nn.activations import IDENTITY, NEEDS_PREACTIVATION
from graphnn.nn.engine import ENGINES, Rows, Stage, is_chain, run
from graphnn.nn.layout import check_layout
from graphnn.nn.masked_linear import MaskedLinear
from graphnn.nn.plan import Plan, init_bounds, plan_from_graph
from graphnn.structure.layering import LAYER
from graphnn.structure.roles import INPUT, ROLE
from graphnn.structure.validation import ACTIVATION, BIAS, WEIGHT

__all__ = ["MaskedDAG", "compile"]

_FINGERPRINT = "structure_fingerprint"


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
        their node (as ``torch.nn.Linear``), see ``seed``.
    activation : str, default "relu"
        Activation of hidden nodes without an ``activation`` attribute (see
        :data:`graphnn.nn.activations.ACTIVATIONS`).
    output_activation : str, optional
        Activation of output nodes without one; default the identity.
    layout : {"auto", "dense", "sparse", "block"}, default "auto"
        Layout of every layer's weight; ``"auto"`` chooses dense or sparse
        per layer.
    block_size : int, default 32
        Side of the blocks of the ``block`` layout.
    dtype : torch.dtype, optional
        Floating dtype of the parameters (default: torch's default dtype).
    device : torch.device or str, optional
        Where the parameters live.
    seed : None, int or numpy.random.Generator, optional
        Draws the initial values of the weights and biases the structure
        does not give.  ``None`` draws them from torch's global generator
        (what ``torch.manual_seed`` sets); an int or a numpy ``Generator``
        draws them from a generator of their own, the same values on every
        device, and leaves torch's global generator untouched.  A
        ``Generator`` is advanced.

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
        For an unknown activation or layout, a non-floating dtype or a seed
        that is not None, a non-negative int or a numpy ``Generator``.

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

    The same seed draws the same initial parameters:

    >>> a, b = MaskedDAG(G, seed=0), MaskedDAG(G, seed=0)
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    """

    layer_type: type[MaskedLinear] = MaskedLinear

    def __init__(
        self,
        structure: nx.DiGraph | Plan,
        *,
        activation: str = "relu",
        output_activation: str | None = None,
        layout: str = "auto",
        block_size: int = 32,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        seed = check_seed(seed)
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
        self.n_nodes = plan.n_nodes
        self.engine = "fused"
        weight, bias = _initial_parameters(plan, torch_generator(seed))
        self.layers = nn.ModuleList()
        self.stages: list[Stage] = []
        self._entry_edges: list[np.ndarray] = []
        index = _IndexBuffers()
        for stage in plan.stages:
            layer, order = self.layer_type.from_entries(
                stage.columns.size,
                stage.stop - stage.start,
                stage.rows,
                stage.cols,
                layout=layout,
                block_size=block_size,
                device=device,
                dtype=dtype,
            )
            edges = stage.edge_ids[order]
            with torch.no_grad():
                layer.set_entries(torch.as_tensor(weight[edges], dtype=dtype, device=device))
                layer.bias.copy_(torch.as_tensor(bias[stage.start : stage.stop], dtype=dtype))
            self._entry_edges.append(edges)
            self.layers.append(layer)
            n_in = plan.n_inputs
            self.stages.append(
                Stage(
                    start=stage.start - n_in,
                    stop=stage.stop - n_in,
                    layer=layer,
                    inputs=index.rows(stage.columns[stage.columns < n_in]),
                    computed=index.rows(stage.columns[stage.columns >= n_in] - n_in),
                    groups=index.groups(stage.activations),
                    activations=stage.activations,
                    needs_preactivation=bool(NEEDS_PREACTIVATION & set(stage.activations)),
                )
            )
        self.needs_preactivation = any(stage.needs_preactivation for stage in self.stages)
        for name, values in index.tensors(plan.outputs - plan.n_inputs, device):
            self.register_buffer(name, values, persistent=False)
        self.chain = is_chain(self.stages, plan.n_inputs, self.output_rows)
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
        out = run(self, batch)
        return out[0] if single else out

    @property
    def engine(self) -> str:
        """How the stages run: ``"fused"`` (default) or ``"autograd"`` (any-order derivatives).

        See :mod:`graphnn.nn.engine`.
        """
        return self._engine

    @engine.setter
    def engine(self, value: str) -> None:
        if value not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {value!r}")
        self._engine = value

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
        return list(self.layers)

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
            rows = slice(stage.start + plan.n_inputs, stage.stop + plan.n_inputs)
            bias[rows] = stage.layer.bias.double().cpu().numpy()
        activation = [IDENTITY] * plan.n_nodes
        for stage in self.stages:
            activation[stage.start + plan.n_inputs : stage.stop + plan.n_inputs] = stage.activations
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


class _IndexBuffers:
    """Collects the stages' column and activation-group indices into flat buffers."""

    def __init__(self) -> None:
        self.column_parts: list[np.ndarray] = []
        self.group_parts: list[np.ndarray] = []
        self.column_size = self.group_size = 0

    def rows(self, rows: np.ndarray) -> Rows:
        """Return None for no rows, a slice for one run, else a span of ``column_index``."""
        if rows.size == 0:
            return None
        if rows[-1] - rows[0] + 1 == rows.size:
            return slice(int(rows[0]), int(rows[-1]) + 1)
        span = (self.column_size, int(rows.size))
        self.column_parts.append(rows)
        self.column_size += rows.size
        return span

    def groups(
        self, activations: tuple[str, ...]
    ) -> tuple[tuple[str, tuple[int, int] | None], ...]:
        """One group per activation name, with a span of ``group_index`` unless it is alone."""
        names = sorted(set(activations))
        if len(names) == 1:
            return ((names[0], None),)
        named = np.array(activations)
        groups = []
        for name in names:
            rows = np.flatnonzero(named == name)
            groups.append((name, (self.group_size, int(rows.size))))
            self.group_parts.append(rows)
            self.group_size += rows.size
        return tuple(groups)

    def tensors(self, outputs: np.ndarray, device) -> list[tuple[str, torch.Tensor]]:
        """Return the buffers ``column_index``, ``group_index`` and ``output_rows``."""

        def flat(parts: list[np.ndarray]) -> torch.Tensor:
            values = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            return torch.as_tensor(values, dtype=torch.int64, device=device)

        return [
            ("column_index", flat(self.column_parts)),
            ("group_index", flat(self.group_parts)),
            ("output_rows", flat([outputs])),
        ]


def _initial_parameters(
    plan: Plan, generator: torch.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return the plan's weights and biases, drawing the missing ones from ``generator``.

    ``None`` is torch's global generator.  The weights are drawn first, then
    the biases, as float64 on the CPU whatever the model's device and dtype.
    """
    bound = init_bounds(plan.fan_in())
    weight, bias = plan.weight.copy(), plan.bias.copy()
    missing = np.flatnonzero(np.isnan(weight))
    if missing.size:
        draws = torch.rand(missing.size, dtype=torch.float64, generator=generator).numpy()
        weight[missing] = (2.0 * draws - 1.0) * bound[plan.dst[missing]]
    computed = np.arange(plan.n_inputs, plan.n_nodes)
    missing = computed[np.isnan(bias[computed])]
    if missing.size:
        draws = torch.rand(missing.size, dtype=torch.float64, generator=generator).numpy()
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
    block_size: int = 32,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    seed: SeedLike = None,
) -> MaskedDAG:
    """Compile a structure into a trainable :class:`MaskedDAG` (same arguments).

    Parameters
    ----------
    G : networkx.DiGraph
        A valid structure (see :func:`graphnn.structure.validate`).
    activation, output_activation, layout, block_size, dtype, device
        As for :class:`MaskedDAG`.
    seed : None, int or numpy.random.Generator, optional
        Draws the initial values of the weights and biases ``G`` does not
        give; ``None`` draws them from torch's global generator (see
        :class:`MaskedDAG`).

    Returns
    -------
    MaskedDAG

    Raises
    ------
    StructureError, ValueError, TypeError
        As :class:`MaskedDAG`.

    Examples
    --------
    >>> import torch
    >>> from graphnn import generators
    >>> G = generators.layered([4, 8, 2], density=0.5, seed=0)
    >>> model = compile(G, seed=1)
    >>> model(torch.ones(3, 4)).shape
    torch.Size([3, 2])
    >>> other = compile(G, seed=1)
    >>> all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters()))
    True
    """
    return MaskedDAG(
        G,
        activation=activation,
        output_activation=output_activation,
        layout=layout,
        block_size=block_size,
        dtype=dtype,
        device=device,
        seed=seed,
    )
