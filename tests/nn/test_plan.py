import networkx as nx
import numpy as np
import pytest
from hypothesis import given

import graphnn
from graphnn.nn.plan import plan_from_graph, plan_from_layers
from graphnn.strategies import dags, structures


def test_buffer_order_inputs_first_then_layers():
    G = nx.DiGraph()
    G.add_nodes_from(["y", "h", "c", "x2", "x1"])
    G.add_edges_from([("x1", "h"), ("x2", "h"), ("h", "y"), ("c", "y")])
    G.nodes["c"]["role"] = "hidden"  # a non-input source: computed in layer 0
    plan = plan_from_graph(G)
    assert plan.labels == ["x2", "x1", "c", "h", "y"]
    assert plan.n_inputs == 2
    assert [(s.start, s.stop) for s in plan.stages] == [(2, 3), (3, 4), (4, 5)]
    assert plan.stages[0].columns.size == 0  # the constant unit reads nothing
    assert plan.stages[2].columns.tolist() == [2, 3]
    assert [plan.labels[i] for i in plan.order] == list(G)
    assert plan.outputs.tolist() == [4]


@given(structures(dags(max_nodes=12, shuffle=True)))
def test_plan_invariants(G):
    plan = plan_from_graph(G)
    index = graphnn.layer_index(G)
    assert sorted(plan.order.tolist()) == list(range(plan.n_nodes))
    assert all(index[plan.labels[i]] == plan.layer[i] for i in range(plan.n_nodes))
    assert (
        np.all(plan.layer[:-1] <= plan.layer[1:]) or plan.n_inputs
    )  # layer order after the inputs
    seen = 0
    for stage in plan.stages:
        assert stage.start == plan.n_inputs + seen
        seen += stage.stop - stage.start
        assert np.all(stage.columns < stage.start)
        assert np.all(np.diff(stage.columns) > 0)
        np.testing.assert_array_equal(stage.columns[stage.cols], plan.src[stage.edge_ids])
        np.testing.assert_array_equal(stage.rows + stage.start, plan.dst[stage.edge_ids])
    assert plan.n_inputs + seen == plan.n_nodes
    assert sorted(np.concatenate([s.edge_ids for s in plan.stages]).tolist()) == list(
        range(plan.n_edges)
    )
    np.testing.assert_array_equal(plan.weight, [w for *_, w in G.edges(data="weight")])


def test_fingerprint_depends_on_structure_not_parameters():
    G = graphnn.generators.layered([3, 4, 2], density=0.5, seed=0)
    H = G.copy()
    nx.set_edge_attributes(H, 0.5, "weight")
    assert plan_from_graph(G).fingerprint() == plan_from_graph(H).fingerprint()
    H.remove_edge(*next(iter(H.edges)))
    assert plan_from_graph(G).fingerprint() != plan_from_graph(H).fingerprint()
    relabelled = graphnn.relabel(G, lambda v: f"n{v}")
    assert plan_from_graph(G).fingerprint() != plan_from_graph(relabelled).fingerprint()


def test_plan_from_layers_matches_the_graph():
    widths, tails, heads = graphnn.generators.layered_edges(
        [4, 5, 3], density=0.4, skip_density=0.2, seed=7
    )
    G = graphnn.generators.layered([4, 5, 3], density=0.4, skip_density=0.2, seed=7)
    a, b = plan_from_layers(widths, tails, heads), plan_from_graph(G)
    assert a.labels == b.labels and a.n_inputs == b.n_inputs and a.role == b.role
    np.testing.assert_array_equal(a.src, b.src)
    assert a.fingerprint() == b.fingerprint()


def test_plan_from_layers_rejects_edges_that_do_not_go_forward():
    with pytest.raises(ValueError, match="to a node of a later layer"):
        plan_from_layers(np.array([2, 2]), np.array([2]), np.array([0]))
