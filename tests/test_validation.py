"""graphnn._validation: the argument checks and message helpers every package shares."""

import math
import operator
import re
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from graphnn._validation import (
    check_int,
    check_number,
    check_probability,
    check_triple,
    cycle_error,
    fmt_edge,
    fmt_nodes,
    require_digraph,
    require_no_self_loops,
)
from graphnn.exceptions import GraphnnError, StructureError

# --- check_int -------------------------------------------------------------------------------


def reference_check_int(value, low, high):
    """What check_int should do, written plainly: ('ok', int) or the error type."""
    if isinstance(value, bool) or not isinstance(value, int):
        return TypeError
    if (low is not None and value < low) or (high is not None and value > high):
        return ValueError
    return value


bounds = st.one_of(st.none(), st.integers(-50, 50))


@given(
    value=st.one_of(st.integers(-100, 100), st.floats(allow_nan=True), st.booleans()),
    low=bounds,
    high=bounds,
)
def test_check_int_agrees_with_a_plain_reference(value, low, high):
    expected = reference_check_int(value, low, high)
    if isinstance(expected, type):
        with pytest.raises(expected):
            check_int("n", value, low=low, high=high)
    else:
        got = check_int("n", value, low=low, high=high)
        assert got == expected and type(got) is int


@pytest.mark.parametrize(
    "value",
    [
        np.int64(3),
        np.int8(3),
        np.uint16(3),
        np.array(3),  # a 0-d numpy array has __index__
        torch.tensor(3),
        torch.tensor(3, dtype=torch.int8),
    ],
    ids=repr,
)
def test_check_int_accepts_numpy_and_0d_torch_integers_as_plain_ints(value):
    got = check_int("n", value, low=0, high=5)
    assert got == 3 and type(got) is int


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "bool True"),
        (False, "bool False"),
        (np.bool_(True), f"bool {np.bool_(True)!r}"),
        (torch.tensor(True), "Tensor tensor(True)"),
        (3.0, "float 3.0"),
        ("3", "str '3'"),
        (None, "NoneType None"),
        (np.array([3]), "ndarray array([3])"),
        (torch.tensor(3.0), "Tensor tensor(3.)"),
    ],
    ids=repr,
)
def test_check_int_refuses_bools_and_non_integers_naming_the_argument(value, shown):
    with pytest.raises(TypeError) as info:
        check_int("size", value, low=1)
    assert str(info.value) == f"size must be an int, got {shown}"


def test_bools_are_refused_even_where_operator_index_takes_them():
    assert operator.index(True) == 1 and operator.index(torch.tensor(True)) == 1
    for value in (True, np.bool_(False), torch.tensor(False)):
        with pytest.raises(TypeError, match="must be an int, got"):
            check_int("n", value)


@pytest.mark.parametrize(
    ("kwargs", "value", "message"),
    [
        ({"low": 1}, 0, "n must be at least 1, got 0"),
        ({"high": 4}, 5, "n must be at most 4, got 5"),
        ({"low": 0, "high": 2}, 3, "n must be between 0 and 2, got 3"),
        ({"low": 0, "high": 2}, -1, "n must be between 0 and 2, got -1"),
        ({"low": 1, "what": "a positive int"}, 0, "n must be a positive int, got 0"),
        (
            {"low": 0, "high": 5, "what": "between 0 and k = 5"},
            6,
            "n must be between 0 and k = 5, got 6",
        ),
        ({"low": 1}, np.int64(0), "n must be at least 1, got 0"),  # shown as a plain int
    ],
)
def test_check_int_range_messages(kwargs, value, message):
    with pytest.raises(ValueError) as info:
        check_int("n", value, **kwargs)
    assert str(info.value) == message


def test_check_int_bounds_are_inclusive():
    assert check_int("n", 0, low=0, high=0) == 0
    assert check_int("n", -7) == -7  # no bounds: any int


def test_check_int_names_what_is_accepted_in_the_type_error_when_it_is_a_noun():
    with pytest.raises(TypeError, match=r"^n must be a positive int, got float 1\.5$"):
        check_int("n", 1.5, low=1, what="a positive int")
    # a range description is no noun: the type error says "an int"
    with pytest.raises(TypeError, match=r"^n must be an int, got float 1\.5$"):
        check_int("n", 1.5, low=0, high=5, what="between 0 and k = 5")


# --- check_number ----------------------------------------------------------------------------


def reference_check_number(value, low, high, low_open, high_open):
    if isinstance(value, bool) or not isinstance(value, int | float):
        return TypeError
    value = float(value)
    if not math.isfinite(value):
        return ValueError
    if low is not None and (value <= low if low_open else value < low):
        return ValueError
    if high is not None and (value >= high if high_open else value > high):
        return ValueError
    return value


@given(
    value=st.one_of(st.floats(), st.integers(-10, 10), st.booleans()),
    low=st.one_of(st.none(), st.floats(-5, 5)),
    high=st.one_of(st.none(), st.floats(-5, 5)),
    low_open=st.booleans(),
    high_open=st.booleans(),
)
def test_check_number_agrees_with_a_plain_reference(value, low, high, low_open, high_open):
    expected = reference_check_number(value, low, high, low_open, high_open)
    kwargs = {"low": low, "high": high, "low_open": low_open, "high_open": high_open}
    if isinstance(expected, type):
        with pytest.raises(expected):
            check_number("x", value, **kwargs)
    else:
        got = check_number("x", value, **kwargs)
        assert got == expected and type(got) is float


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan")], ids=repr)
def test_check_number_refuses_nan_and_inf_even_without_bounds(value):
    with pytest.raises(ValueError, match=r"^x must be a finite number, got "):
        check_number("x", value)


@pytest.mark.parametrize(
    ("kwargs", "value", "message"),
    [
        ({}, math.nan, "x must be a finite number, got nan"),
        ({"low": 0}, -1, "x must be a finite number >= 0, got -1"),
        ({"low": 0, "low_open": True}, 0, "x must be a finite number > 0, got 0"),
        ({"high": 1}, 1.5, "x must be a finite number <= 1, got 1.5"),
        ({"high": 1, "high_open": True}, 1.0, "x must be a finite number < 1, got 1.0"),
        ({"low": 0, "high": 1}, 2, "x must be a number in [0, 1], got 2"),
        ({"low": 0, "high": 1, "low_open": True}, 0, "x must be a number in (0, 1], got 0"),
        ({"low": 0, "high": 1, "high_open": True}, 1, "x must be a number in [0, 1), got 1"),
        ({"low": 0.5, "high": 2.5}, math.inf, "x must be a number in [0.5, 2.5], got inf"),
        (
            {"low": 0, "what": "a positive learning rate"},
            -1,
            "x must be a positive learning rate, got -1",
        ),
    ],
)
def test_check_number_range_messages(kwargs, value, message):
    with pytest.raises(ValueError) as info:
        check_number("x", value, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "lr must be a number, got str '1'"),
        ({"low": 0}, "lr must be a number >= 0, got str '1'"),
        ({"low": 0, "low_open": True}, "lr must be a number > 0, got str '1'"),
        ({"high": 1, "high_open": True}, "lr must be a number < 1, got str '1'"),
        ({"low": 0, "high": 1}, "lr must be a number in [0, 1], got str '1'"),
    ],
)
def test_check_number_type_messages_drop_finite(kwargs, message):
    with pytest.raises(TypeError) as info:
        check_number("lr", "1", **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (True, "bool True"),
        (np.bool_(False), f"bool {np.bool_(False)!r}"),
        (None, "NoneType None"),
        (1j, "complex 1j"),
        (torch.tensor(0.5), "Tensor tensor(0.5000)"),
    ],
    ids=repr,
)
def test_check_number_refuses_bools_and_non_reals(value, shown):
    with pytest.raises(TypeError) as info:
        check_number("x", value, low=0)
    assert str(info.value) == f"x must be a number >= 0, got {shown}"


@pytest.mark.parametrize(
    "value", [np.float32(0.25), np.float64(0.25), np.int64(0), Fraction(1, 4), 1]
)
def test_check_number_accepts_real_numbers_and_returns_a_float(value):
    got = check_number("x", value, low=0, high=1)
    assert got == float(value) and type(got) is float


def test_check_number_open_and_closed_bounds():
    assert check_number("x", 0, low=0) == 0.0
    assert check_number("x", 1, high=1) == 1.0
    with pytest.raises(ValueError):
        check_number("x", 0, low=0, low_open=True)
    with pytest.raises(ValueError):
        check_number("x", 1, high=1, high_open=True)
    assert check_number("x", 1e-300, low=0, low_open=True) == 1e-300


# --- check_probability -----------------------------------------------------------------------


@given(st.floats(0, 1))
def test_check_probability_accepts_the_closed_interval(p):
    assert check_probability("p", p) == p


@given(st.floats(0, 1, exclude_max=True))
def test_check_probability_below_one_accepts_the_half_open_interval(p):
    assert check_probability("p", p, below_one=True) == p


@pytest.mark.parametrize(
    ("value", "below_one", "message"),
    [
        (1.0, True, "p must be a probability in [0, 1), got 1.0"),
        (-0.1, False, "p must be a probability in [0, 1], got -0.1"),
        (1.5, False, "p must be a probability in [0, 1], got 1.5"),
        (math.nan, False, "p must be a probability in [0, 1], got nan"),
    ],
)
def test_check_probability_messages(value, below_one, message):
    with pytest.raises(ValueError) as info:
        check_probability("p", value, below_one=below_one)
    assert str(info.value) == message


def test_check_probability_refuses_non_numbers():
    with pytest.raises(TypeError, match=r"^p must be a probability in \[0, 1\], got str '0.5'$"):
        check_probability("p", "0.5")
    with pytest.raises(TypeError, match=r"^p must be a probability in \[0, 1\), got bool True$"):
        check_probability("p", True, below_one=True)


# --- check_triple ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        2,
        np.int64(2),
        torch.tensor(2),
        (2, 2, 2),
        [2, 2, 2],
        np.array([2, 2, 2]),
        torch.tensor([2, 2, 2]),
    ],
    ids=repr,
)
def test_check_triple_repeats_one_int_or_takes_three(value):
    got = check_triple("stride", value, low=1)
    assert got == (2, 2, 2) and all(type(v) is int for v in got)


@pytest.mark.parametrize(
    "value",
    [(3, 1, 2), [3, 1, 2], np.array([3, 1, 2]), torch.tensor([3, 1, 2]), iter([3, 1, 2])],
    ids=repr,
)
def test_check_triple_keeps_the_axis_order(value):
    got = check_triple("kernel_size", value, low=1)
    assert got == (3, 1, 2) and type(got) is tuple and all(type(v) is int for v in got)


@given(st.tuples(*[st.integers(0, 9)] * 3), st.sampled_from([tuple, list, np.array, torch.tensor]))
def test_check_triple_round_trips_three_ints_in_any_container(values, container):
    assert check_triple("padding", container(values), low=0) == values


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("container", [tuple, list, np.array, torch.tensor])
def test_check_triple_names_the_axis_out_of_range(axis, container):
    values = [1, 1, 1]
    values[axis] = -1
    with pytest.raises(ValueError) as info:
        check_triple("padding", container(values), low=0)
    assert str(info.value) == f"padding[{axis}] must be at least 0, got -1"


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_check_triple_names_the_axis_of_the_wrong_type(axis):
    values: list = [1, 1, 1]
    values[axis] = 1.5
    with pytest.raises(TypeError) as info:
        check_triple("kernel_size", values, low=1)
    assert str(info.value) == f"kernel_size[{axis}] must be an int, got float 1.5"


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_check_triple_names_the_axis_above_high(axis):
    values = [2, 2, 2]
    values[axis] = 9
    with pytest.raises(ValueError) as info:
        check_triple("dilation", values, low=1, high=3)
    assert str(info.value) == f"dilation[{axis}] must be between 1 and 3, got 9"


@pytest.mark.parametrize(
    ("value", "low", "message"),
    [
        ([1, 2], 1, "k must be one int or 3 positive ints, got 2 values: [1, 2]"),
        ((1, 2, 3, 4), 1, "k must be one int or 3 positive ints, got 4 values: (1, 2, 3, 4)"),
        ([], 1, "k must be one int or 3 positive ints, got 0 values: []"),
        ([1, 2], 0, "k must be one int or 3 ints >= 0, got 2 values: [1, 2]"),
        (np.array([1, 2]), 1, "k must be one int or 3 positive ints, got 2 values: [1, 2]"),
        (
            torch.tensor([1, 2, 3, 4]),
            0,
            "k must be one int or 3 ints >= 0, got 4 values: [1, 2, 3, 4]",
        ),
    ],
    ids=repr,
)
def test_check_triple_refuses_another_number_of_values(value, low, message):
    with pytest.raises(ValueError) as info:
        check_triple("k", value, low=low)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "k[0] must be an int, got bool True"),
        ((1, True, 1), "k[1] must be an int, got bool True"),
        (torch.tensor([1, 1, 1]).bool(), "k[0] must be an int, got bool True"),
        (np.array([1.0, 2.0, 3.0]), "k[0] must be an int, got float 1.0"),
        ("abc", "k[0] must be an int, got str 'abc'"),  # a string is not three values
        (None, "k[0] must be an int, got NoneType None"),
        (np.ones((3, 1), dtype=int), "k[0] must be an int, got list [1]"),
    ],
    ids=repr,
)
def test_check_triple_refuses_non_integers(value, message):
    with pytest.raises(TypeError) as info:
        check_triple("k", value, low=1)
    assert str(info.value) == message


# --- graph checks ----------------------------------------------------------------------------


def test_require_digraph_accepts_digraphs_and_subclasses():
    class MyDiGraph(nx.DiGraph):
        pass

    assert require_digraph(nx.DiGraph([(0, 1)])) is None
    assert require_digraph(MyDiGraph()) is None


def test_require_digraph_refuses_what_is_no_graph():
    with pytest.raises(TypeError) as info:
        require_digraph([(0, 1)])
    assert str(info.value) == "expected a networkx.DiGraph, got list"


@pytest.mark.parametrize(
    ("G", "message"),
    [
        (
            nx.MultiDiGraph(),
            "a structure must be a networkx.DiGraph, got a MultiDiGraph: parallel edges cannot "
            "be one connection; merge them and convert with networkx.DiGraph(G)",
        ),
        (
            nx.MultiGraph(),
            "a structure must be a networkx.DiGraph, got a MultiGraph: parallel edges cannot "
            "be one connection; merge them and convert with networkx.DiGraph(G)",
        ),
        (
            nx.Graph(),
            "a structure must be a networkx.DiGraph, got an undirected Graph; orient it first, "
            "e.g. with graphnn.generators.orient(G)",
        ),
    ],
    ids=lambda x: type(x).__name__ if isinstance(x, nx.Graph) else "",
)
def test_require_digraph_refuses_multigraphs_and_undirected_graphs(G, message):
    with pytest.raises(StructureError) as info:
        require_digraph(G)
    assert str(info.value) == message
    assert isinstance(info.value, GraphnnError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("nodes", "limit", "shown"),
    [
        ([], 5, "[]"),
        ([0, "a", (1, 2)], 5, "[0, 'a', (1, 2)]"),
        (range(5), 5, "[0, 1, 2, 3, 4]"),  # exactly the limit: no count
        (range(6), 5, "[0, 1, 2, 3, 4, ... (1 more)]"),
        (range(8), 3, "[0, 1, 2, ... (5 more)]"),
        ((v for v in "xyz"), 2, "['x', 'y', ... (1 more)]"),  # any iterable, consumed once
    ],
)
def test_fmt_nodes(nodes, limit, shown):
    assert fmt_nodes(nodes, limit=limit) == shown


@given(st.lists(st.integers(), max_size=20), st.integers(0, 10))
def test_fmt_nodes_shows_the_first_nodes_and_counts_the_rest(nodes, limit):
    shown = fmt_nodes(nodes, limit=limit)
    assert shown.startswith("[" + ", ".join(map(repr, nodes[:limit]))) and shown.endswith("]")
    hidden = len(nodes) - limit
    assert (f"... ({hidden} more)" in shown) == (hidden > 0)


def test_fmt_edge():
    assert fmt_edge(0, "a") == "0 -> 'a'"
    assert fmt_edge((1, 2), None) == "(1, 2) -> None"


def test_require_no_self_loops_passes_graphs_without_them():
    assert require_no_self_loops(nx.DiGraph([(0, 1)]), "why") is None
    assert require_no_self_loops(nx.Graph([(0, 1)]), "why") is None


def test_require_no_self_loops_names_the_loops_of_a_structure():
    G = nx.DiGraph([(0, 1), (1, 1), ("a", "a")])
    with pytest.raises(StructureError) as info:
        require_no_self_loops(G, "a structure must be acyclic")
    assert str(info.value) == "structure has self-loops at [1, 'a']; a structure must be acyclic"
    assert info.value.nodes == [1, "a"]
    assert info.value.edges == [(1, 1), ("a", "a")]


def test_require_no_self_loops_says_graph_for_an_undirected_graph_and_keeps_every_node():
    G = nx.Graph([(v, v) for v in range(7)])
    with pytest.raises(StructureError) as info:
        require_no_self_loops(G, "remove them first")
    assert str(info.value) == (
        "graph has self-loops at [0, 1, 2, 3, 4, ... (2 more)]; remove them first"
    )
    assert info.value.nodes == list(range(7))  # the message is short, the attribute is whole
    assert info.value.edges == [(v, v) for v in range(7)]


def test_cycle_error_names_a_cycle():
    G = nx.DiGraph([(0, 1), (1, 2), (2, 0), (2, 3)])
    error = cycle_error(G)
    assert isinstance(error, StructureError)  # returned, for the caller to raise
    assert str(error) == "structure has a cycle: 0 -> 1 -> 2 -> 0"
    assert error.nodes == [0, 1, 2]
    assert error.edges == [(0, 1), (1, 2), (2, 0)]


def test_cycle_error_repr_of_nodes():
    error = cycle_error(nx.DiGraph([("a", "b"), ("b", "a")]))
    assert str(error) == "structure has a cycle: 'a' -> 'b' -> 'a'"


def test_cycle_error_names_a_self_loop():
    G = nx.DiGraph([(0, 1)])
    G.add_edge("x", "x")
    error = cycle_error(G)
    assert str(error) == "structure has a self-loop at node 'x'; a structure must be acyclic"
    assert error.nodes == ["x"]
    assert error.edges == [("x", "x")]


@given(st.integers(2, 12))
def test_cycle_error_names_every_node_of_a_ring(n):
    error = cycle_error(nx.cycle_graph(n, create_using=nx.DiGraph))
    assert sorted(error.nodes) == list(range(n))
    path = re.fullmatch(r"structure has a cycle: (.*)", str(error)).group(1).split(" -> ")
    assert len(path) == n + 1 and path[0] == path[-1]
