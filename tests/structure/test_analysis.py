import json

import networkx as nx
import pytest
from hypothesis import given

from graphnn.exceptions import StructureError
from graphnn.strategies import dags, layered_dags
from graphnn.structure.analysis import StructureSummary, summary


def test_summary_of_a_small_layered_net():
    G = nx.DiGraph()
    G.add_edges_from([(0, 2), (1, 2), (1, 3), (2, 4), (3, 4), (0, 4), (3, 5)])
    G.nodes[5]["role"] = "hidden"  # a dead end
    s = summary(G)
    assert (s.n_nodes, s.n_edges) == (6, 7)
    assert s.density == pytest.approx(7 / 15)
    assert (s.n_inputs, s.n_hidden, s.n_outputs, s.n_dead_units) == (2, 3, 1, 1)
    assert s.layer_widths == (2, 2, 2)
    assert s.n_layers == 3
    assert s.layer_densities == pytest.approx((3 / 4, 3 / 4))
    assert (s.n_skip_edges, s.skip_spans) == (1, {2: 1})
    assert s.longest_path == 2
    assert (s.in_degree.min, s.in_degree.max) == (0, 3)
    assert s.out_degree.mean == pytest.approx(7 / 6)


def test_summary_prints_and_serialises():
    s = summary(nx.DiGraph([(0, 1), (1, 2), (0, 2)]))
    text = str(s)
    for name in ["nodes", "edges", "roles", "dead units", "layers", "skip edges", "longest path"]:
        assert name in text
    data = json.loads(json.dumps(s.as_dict()))
    assert data["n_layers"] == 3
    assert data["skip_spans"] == {"2": 1}
    assert data["in_degree"]["max"] == 2


def test_longest_path_with_explicit_layers():
    G = nx.DiGraph([(0, 1), (1, 2), (0, 3)])
    G.nodes[3]["layer"] = 7
    s = summary(G)
    assert s.layer_widths == (1, 1, 1, 0, 0, 0, 0, 1)
    assert s.longest_path == 2
    assert s.skip_spans == {7: 1}


def test_single_edge():
    s = summary(nx.DiGraph([(0, 1)]))
    assert s.layer_widths == (1, 1)
    assert isinstance(s, StructureSummary)


def test_summary_rejects_cycles():
    with pytest.raises(StructureError, match="cycle"):
        summary(nx.DiGraph([(0, 1), (1, 0)]))


@given(dags(max_nodes=15, shuffle=True))
def test_summary_invariants(G):
    s = summary(G)
    assert sum(s.layer_widths) == s.n_nodes
    assert s.n_inputs + s.n_hidden + s.n_outputs == s.n_nodes
    assert s.longest_path == nx.dag_longest_path_length(G)
    assert s.n_layers == s.longest_path + 1
    assert s.n_skip_edges == sum(s.skip_spans.values()) <= s.n_edges
    consecutive = sum(
        d * s.layer_widths[i] * s.layer_widths[i + 1] for i, d in enumerate(s.layer_densities)
    )
    assert round(consecutive) + s.n_skip_edges == s.n_edges
    assert s.in_degree.mean == pytest.approx(s.n_edges / s.n_nodes)
    assert s.n_dead_units == 0


@given(layered_dags(skip=False))
def test_layered_without_skips_has_no_skip_edges(G):
    s = summary(G)
    assert s.n_skip_edges == 0
    assert all(0 < d <= 1 for d in s.layer_densities)
