"""``MaskedFFN``: a layered feed-forward network, complete or randomly sparse, as a MaskedDAG."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch

from graphnn._random import SeedLike
from graphnn._validation import check_int
from graphnn.nn.dag import MaskedDAG
from graphnn.nn.plan import plan_from_layers
from graphnn.structure.generators import layered_edges

__all__ = ["MaskedFFN", "flat_input_size"]


def flat_input_size(input_size: int | Sequence[int], name: str = "input_size") -> int:
    """Return the number of inputs of ``input_size``: an int, or a shape that is flattened.

    Raises
    ------
    ValueError
        If it is not a positive int or a non-empty shape of them (named ``name``).

    Examples
    --------
    >>> flat_input_size((1, 28, 28)), flat_input_size(10)
    (784, 10)
    """
    shape = tuple(input_size) if isinstance(input_size, Sequence | torch.Size) else (input_size,)
    if not shape or any(
        isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1 for s in shape
    ):
        raise ValueError(f"{name} must be a positive int or a shape of them, got {input_size!r}")
    return math.prod(int(s) for s in shape)


class MaskedFFN(MaskedDAG):
    """A feed-forward network of masked layers, compiled like any structure.

    Its structure is :func:`graphnn.generators.layered` on the sizes
    ``[input, *hidden, output]`` (nodes ``0 .. N-1`` numbered layer by layer),
    built from arrays without a networkx graph, so wide networks compile fast.

    Parameters
    ----------
    input_size : int or tuple of int
        Number of inputs; a shape (e.g. ``(1, 28, 28)``) is flattened.
    output_size : int
        Number of outputs.
    hidden_sizes : sequence of int
        Widths of the hidden layers (may be empty).
    density : float, default 1.0
        Probability of each connection between consecutive layers (every unit
        keeps at least one input and one output connection); 1.0 is the
        complete network.
    seed : None, int or numpy.random.Generator, optional
        For drawing the connections when ``density < 1``.  The initial
        weights and biases come from torch's global generator, as for a
        :class:`MaskedDAG` with ``seed=None``.
    activation, output_activation, layout, dtype, device
        As for :class:`MaskedDAG`.

    Examples
    --------
    >>> import torch
    >>> model = MaskedFFN((1, 28, 28), 10, [100, 100])
    >>> model  # doctest: +NORMALIZE_WHITESPACE
    MaskedFFN(input_size=(1, 28, 28), hidden_sizes=[100, 100], output_size=10,
              density=1.0, layouts=dense)
    >>> model(torch.zeros(4, 1, 28, 28)).shape
    torch.Size([4, 10])
    >>> model.densities()
    [1.0, 1.0, 1.0]
    """

    def __init__(
        self,
        input_size: int | Sequence[int],
        output_size: int,
        hidden_sizes: Sequence[int] = (),
        *,
        density: float = 1.0,
        seed: SeedLike = None,
        activation: str = "relu",
        output_activation: str | None = None,
        layout: str = "auto",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        n_inputs = flat_input_size(input_size)
        if isinstance(hidden_sizes, str) or not isinstance(hidden_sizes, Sequence):
            raise TypeError(f"hidden_sizes must be a sequence of ints, got {hidden_sizes!r}")
        for i, size in enumerate(hidden_sizes):
            check_int(f"hidden_sizes[{i}]", size, low=1)
        check_int("output_size", output_size, low=1)
        sizes = [n_inputs, *(int(h) for h in hidden_sizes), int(output_size)]
        widths, tails, heads = layered_edges(sizes, density, 0.0, seed)
        plan = plan_from_layers(
            widths, tails, heads, activation=activation, output_activation=output_activation
        )
        super().__init__(plan, layout=layout, dtype=dtype, device=device)
        self.input_size = (
            int(input_size) if isinstance(input_size, numbers.Integral) else tuple(input_size)
        )
        self.hidden_sizes = [int(h) for h in hidden_sizes]
        self.output_size = int(output_size)
        self.density = float(density)

    def extra_repr(self) -> str:
        """Describe the network in its ``repr``."""
        layouts = sorted({layer.layout for layer in self.masked_layers()})
        return (
            f"input_size={self.input_size}, hidden_sizes={self.hidden_sizes}, "
            f"output_size={self.output_size}, density={self.density}, layouts={'+'.join(layouts)}"
        )
