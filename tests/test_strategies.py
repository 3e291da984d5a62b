import networkx as nx
import numpy as np
import pytest
from hypothesis import find, given
from hypothesis import strategies as st

from graphnn.strategies import dags, layered_dags, structures
from graphnn.structure.layering import layers
from graphnn.structure.roles import dead_units, inputs, outputs, roles


@given(dags(min_nodes=3, max_nodes=9, max_in_degree=2))
def test_dags_respect_their_bounds(G):
    assert 3 <= G.number_of_nodes() <= 9
    assert nx.is_directed_acyclic_graph(G)
    assert max(d for _, d in G.in_degree) <= 2


@given(dags(labels=st.text(max_size=3) | st.tuples(st.integers(), st.integers()), shuffle=True))
def test_dags_with_drawn_labels(G):
    assert nx.is_directed_acyclic_graph(G)
    assert all(isinstance(v, str | tuple) for v in G)


def test_dags_shrink_towards_a_path():
    G = find(dags(), lambda G: nx.dag_longest_path_length(G) >= 4)
    assert list(G.edges) == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_structures_shrink_towards_zero_parameters():
    G = find(structures(), lambda G: G.number_of_nodes() >= 3)
    assert G.number_of_nodes() == 3 and 1 <= G.number_of_edges() <= 2
    assert all(w == 0.0 for *_, w in G.edges(data="weight"))
    assert all(b == 0.0 for _, b in G.nodes(data="bias") if b is not None)


@given(layered_dags(min_layers=2, max_layers=5, min_width=2, max_width=3, shuffle=True))
def test_layered_dags_have_the_drawn_layers(G):
    grouped = layers(G)
    assert 2 <= len(grouped) <= 5
    assert all(2 <= len(layer) <= 3 for layer in grouped)
    assert sorted(inputs(G), key=str) == sorted(grouped[0], key=str)
    assert sorted(outputs(G), key=str) == sorted(grouped[-1], key=str)
    assert dead_units(G) == []


@given(structures(layered_dags(), activations=["relu", "tanh"], explicit_roles=True, scale=3.0))
def test_structures_draw_parameters(G):
    role = roles(G)
    for *_, w in G.edges(data="weight"):
        assert isinstance(w, float) and abs(w) <= 3.0
        assert float(np.float32(w)) == w  # exact in float32
    for v, data in G.nodes(data=True):
        assert data["role"] == role[v]
        if role[v] == "input":
            assert "bias" not in data and "activation" not in data
        else:
            assert data["activation"] in {"relu", "tanh"}
            assert float(np.float32(data["bias"])) == data["bias"]


@given(structures(weights=False, biases=False))
def test_structures_without_parameters(G):
    assert all(not data for *_, data in G.edges(data=True))
    assert all(not data for _, data in G.nodes(data=True))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: dags(min_nodes=0), ValueError, "min_nodes must be at least 1"),
        (
            lambda: dags(min_nodes=5, max_nodes=3),
            ValueError,
            "max_nodes must be at least min_nodes = 5, got 3",
        ),
        (lambda: dags(max_nodes=2.5), TypeError, "max_nodes must be an int"),
        (lambda: dags(max_in_degree=0), ValueError, "max_in_degree must be at least 1"),
        (lambda: layered_dags(min_layers=1), ValueError, "min_layers must be at least 2"),
        (lambda: layered_dags(min_width=0), ValueError, "min_width must be at least 1"),
        (lambda: structures(activations="relu"), ValueError, "non-empty sequence"),
        (lambda: structures(activations=[]), ValueError, "non-empty sequence"),
        (lambda: structures(scale=0), ValueError, "scale must be positive"),
    ],
)
def test_bad_arguments_fail_at_once(make, error, match):
    with pytest.raises(error, match=match):
        make()
