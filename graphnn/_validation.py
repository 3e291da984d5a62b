"""Argument checks and message helpers shared by every graphnn package.

One convention everywhere: a value of the wrong *type* raises ``TypeError``,
a value of the right type out of range raises ``ValueError``, and the
message names the argument, says what is accepted and shows what was given.
The checks return the value in its plain Python form (``int``, ``float``,
a tuple), so a caller writes ``n = check_int("n", n, low=1)``.

This module imports nothing beyond the standard library (networkx only
inside the graph checks), so the numpy-only and torch-free packages use it.

Examples
--------
>>> check_int("n", 3, low=1)
3
>>> check_triple("stride", 2, low=1)
(2, 2, 2)
>>> check_number("lr", 0, low=0, low_open=True)
Traceback (most recent call last):
    ...
ValueError: lr must be a finite number > 0, got 0
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable
from typing import TYPE_CHECKING

from graphnn.exceptions import StructureError

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "check_int",
    "check_number",
    "check_probability",
    "check_triple",
    "cycle_error",
    "fmt_edge",
    "fmt_nodes",
    "require_digraph",
    "require_no_self_loops",
]


# --- numbers ---------------------------------------------------------------------------------


def _is_bool(value: object) -> bool:
    """Tell Python, numpy and torch booleans (which ``operator.index`` may accept) apart."""
    return isinstance(value, bool) or str(getattr(value, "dtype", "")) in ("bool", "torch.bool")


def _int_range(low: int | None, high: int | None) -> str:
    if high is None:
        return "an int" if low is None else f"at least {low}"
    if low is None:
        return f"at most {high}"
    return f"between {low} and {high}"


def check_int(
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    what: str | None = None,
) -> int:
    """Return ``value`` as an ``int`` if it is an integer with ``low <= value <= high``.

    Python, numpy and 0-d torch integers are accepted (anything with
    ``__index__``), booleans are not.

    Parameters
    ----------
    name : str
        The argument, as the message names it.
    value : object
    low, high : int, optional
        Inclusive bounds.
    what : str, optional
        What is accepted, for the message (default: from the bounds, e.g.
        ``"at least 1"``).

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it is out of range.

    Examples
    --------
    >>> check_int("k", 3, low=0, high=2)
    Traceback (most recent call last):
        ...
    ValueError: k must be between 0 and 2, got 3
    """
    accepted = what or _int_range(low, high)
    kind = what if what and what.split()[0] in ("a", "an") else "an int"  # a noun: "a positive int"
    wrong_type = f"{name} must be {kind}, got {type(value).__name__} {value!r}"
    if _is_bool(value):
        raise TypeError(wrong_type)
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(wrong_type) from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise ValueError(f"{name} must be {accepted}, got {number!r}")
    return number


def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    what: str | None = None,
) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number within the bounds.

    Parameters
    ----------
    name : str
    value : object
    low, high : float, optional
        The bounds; inclusive unless ``low_open`` / ``high_open``.
    what : str, optional
        What is accepted, for the message (default: from the bounds, e.g.
        ``"a number >= 0"``).

    Raises
    ------
    TypeError
        If ``value`` is not a real number (booleans are not).
    ValueError
        If it is NaN, infinite or out of range.

    Examples
    --------
    >>> check_number("momentum", 0.9, low=0, high=1, high_open=True)
    0.9
    >>> check_number("amount", float("nan"), low=0)
    Traceback (most recent call last):
        ...
    ValueError: amount must be a finite number >= 0, got nan
    """
    if what is None:
        if low is not None and high is not None:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            what = f"a number in {left}{low:g}, {high:g}{right}"
        elif low is not None:
            what = f"a finite number {'>' if low_open else '>='} {low:g}"
        elif high is not None:
            what = f"a finite number {'<' if high_open else '<='} {high:g}"
        else:
            what = "a finite number"
    if _is_bool(value) or not isinstance(value, numbers.Real):
        kind = what.replace("finite ", "")  # "a positive number", not "a positive finite number"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__} {value!r}")
    number = float(value)
    in_range = math.isfinite(number)
    if low is not None:
        in_range &= number > low if low_open else number >= low
    if high is not None:
        in_range &= number < high if high_open else number <= high
    if not in_range:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return number


def check_probability(name: str, value: object, *, below_one: bool = False) -> float:
    """Return ``value`` as a float if it is a probability in ``[0, 1]`` (``[0, 1)``: ``below_one``).

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it lies outside the interval (or is NaN).

    Examples
    --------
    >>> check_probability("p", 1.0, below_one=True)
    Traceback (most recent call last):
        ...
    ValueError: p must be a probability in [0, 1), got 1.0
    """
    interval = "[0, 1)" if below_one else "[0, 1]"
    return check_number(
        name, value, low=0, high=1, high_open=below_one, what=f"a probability in {interval}"
    )


def check_triple(
    name: str, value: object, *, low: int, high: int | None = None
) -> tuple[int, int, int]:
    """Return ``value`` as 3 ints ``>= low`` (and ``<= high``): an int is used on every axis.

    A sequence, a numpy array or a torch tensor of 3 integers is accepted; the
    messages name the axis at fault (``kernel_size[2]``).

    Raises
    ------
    TypeError
        If ``value`` is neither an int nor 3 ints.
    ValueError
        For another number of values, or a value out of range.

    Examples
    --------
    >>> check_triple("kernel_size", [3, 1, 3], low=1)
    (3, 1, 3)
    >>> check_triple("padding", (1, -1, 0), low=0)
    Traceback (most recent call last):
        ...
    ValueError: padding[1] must be at least 0, got -1
    """
    if hasattr(value, "tolist") and not isinstance(value, numbers.Number):
        value = value.tolist()  # numpy arrays and torch tensors
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        values: tuple = (value,) * 3
    else:
        values = tuple(value)
        if len(values) != 3:
            kind = "positive ints" if low == 1 else f"ints >= {low}"
            raise ValueError(
                f"{name} must be one int or 3 {kind}, got {len(values)} values: {value!r}"
            )
    return tuple(
        check_int(f"{name}[{axis}]", v, low=low, high=high) for axis, v in enumerate(values)
    )


# --- graphs ----------------------------------------------------------------------------------


def require_digraph(G: object) -> None:
    """Raise unless ``G`` is a plain ``networkx.DiGraph`` (or a subclass).

    Raises
    ------
    TypeError
        If ``G`` is not a networkx graph at all.
    StructureError
        If ``G`` is a multigraph or undirected.
    """
    import networkx as nx

    if not isinstance(G, nx.Graph):
        raise TypeError(f"expected a networkx.DiGraph, got {type(G).__name__}")
    if G.is_multigraph():
        raise StructureError(
            f"a structure must be a networkx.DiGraph, got a {type(G).__name__}: parallel "
            "edges cannot be one connection; merge them and convert with networkx.DiGraph(G)"
        )
    if not G.is_directed():
        raise StructureError(
            f"a structure must be a networkx.DiGraph, got an undirected {type(G).__name__}; "
            "orient it first, e.g. with graphnn.generators.orient(G)"
        )


def fmt_nodes(nodes: Iterable, limit: int = 5) -> str:
    """``[0, 'a', (1, 2)]`` style list of at most ``limit`` nodes, then a count.

    Examples
    --------
    >>> fmt_nodes(range(8), limit=3)
    '[0, 1, 2, ... (5 more)]'
    """
    nodes = list(nodes)
    shown = ", ".join(repr(v) for v in nodes[:limit])
    if len(nodes) > limit:
        shown += f", ... ({len(nodes) - limit} more)"
    return f"[{shown}]"


def fmt_edge(u: object, v: object) -> str:
    """``0 -> 'a'`` style edge."""
    return f"{u!r} -> {v!r}"


def require_no_self_loops(G: nx.Graph, what: str) -> None:
    """Raise a :class:`StructureError` naming the self-loops of ``G``, if it has any.

    ``what`` ends the message: why a self-loop is not accepted here.
    """
    import networkx as nx

    loops = list(nx.nodes_with_selfloops(G))
    if loops:
        raise StructureError(
            f"{'graph' if not G.is_directed() else 'structure'} has self-loops at "
            f"{fmt_nodes(loops)}; {what}",
            nodes=loops,
            edges=[(v, v) for v in loops],
        )


def cycle_error(G: nx.DiGraph) -> StructureError:
    """Return a :class:`StructureError` naming one cycle (or self-loop) of ``G``."""
    import networkx as nx

    cycle = nx.find_cycle(G)
    if len(cycle) == 1:
        v = cycle[0][0]
        return StructureError(
            f"structure has a self-loop at node {v!r}; a structure must be acyclic",
            nodes=[v],
            edges=cycle,
        )
    path = " -> ".join(repr(u) for u, _ in cycle) + f" -> {cycle[0][0]!r}"
    return StructureError(
        f"structure has a cycle: {path}", nodes=[u for u, _ in cycle], edges=cycle
    )
