"""graphnn.compat: deepstruct's API on graphnn models, compared against deepstruct itself."""

import pickle
import warnings

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import graphnn
from graphnn.compat import (
    CachedLayeredGraph,
    LayeredGraph,
    MaskedDeepDAN,
    MaskedDeepFFN,
    MaskedLinearLayer,
    maskable_layers,
    prunable_layers,
)
from graphnn.compat import deepstruct as compat_deepstruct
from graphnn.exceptions import StructureError
from graphnn.nn import MaskedLinear
from graphnn.strategies import dags, layered_dags
from tests.conftest import require_peer


@pytest.fixture(scope="module")
def deepstruct():
    """deepstruct.sparse, the predecessor (installed without its dependencies)."""
    return require_peer("deepstruct.sparse")


def deepstruct_call(method, *args):
    """Call one of deepstruct's methods, which warn that they are deprecated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return method(*args)


def load_parameters(model, weights: dict, biases: dict) -> None:
    """Set weights by edge and biases by node label: through to_graph, compile, load_state_dict."""
    graph = model.to_graph()
    for (u, v), w in weights.items():
        graph.edges[u, v]["weight"] = w
    for v, b in biases.items():
        graph.nodes[v]["bias"] = b
    model.load_state_dict(graphnn.compile(graph).state_dict())


def linear_parameters(layer, sources: list, targets: list) -> tuple[dict, dict]:
    """A deepstruct layer's weights and biases keyed by graph labels (column j is sources[j])."""
    weights = {
        (u, v): float(layer.weight[i, j].detach())
        for i, v in enumerate(targets)
        for j, u in enumerate(sources)
    }
    return weights, {v: float(layer.bias[i].detach()) for i, v in enumerate(targets)}


def snapshot(G) -> dict:
    """Every layer query's answer (layer order inside a layer sorted for comparisons)."""
    layers = G.layers
    answers = {
        "layers": layers,
        "num_layers": G.num_layers,
        "vertex_layers": {v: G.get_layer(v) for v in G.nodes},
        "vertices": {layer: sorted(G.get_vertices(layer)) for layer in layers},
        "sizes": {layer: G.get_layer_size(layer) for layer in layers},
        "connected": {(a, b): G.layer_connected(a, b) for a in layers for b in layers if a != b},
        "connections": {
            (a, b): G.layer_connection_size(a, b) for a in layers for b in layers if a != b
        },
    }
    if layers:
        answers["ends"] = (G.first_layer, G.last_layer, G.first_layer_size, G.last_layer_size)
    return answers


# --- pyPaddle's README, as scripts ------------------------------------------------------------


def test_readme_ffn_script_trains_prunes_and_gives_its_structure():
    torch.manual_seed(0)
    model = MaskedDeepFFN((1, 28, 28), 10, [100, 100])
    before = [layer.weight.detach().clone() for layer in model.masked_layers()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(
        model(torch.randn(16, 1, 28, 28)), torch.randint(10, (16,))
    )
    loss.backward()
    optimizer.step()
    assert all(
        not torch.equal(b, layer.weight)
        for b, layer in zip(before, model.masked_layers(), strict=True)
    )
    assert model.recompute_mask() is model  # deepstruct's default theta
    model.recompute_mask(0.05)
    middle = model.masked_layers()[1]
    assert 0 < middle.weight_count < 100 * 100
    structure = model.generate_structure()
    assert isinstance(structure, LayeredGraph)
    assert list(structure.nodes) == list(range(200))
    assert structure.number_of_edges() == middle.weight_count
    assert structure.layers == [0, 1] and structure.get_vertices(1) == list(range(100, 200))


def test_readme_dan_script_prunes_and_rebuilds():
    torch.manual_seed(0)
    structure = CachedLayeredGraph()
    structure.add_nodes_from(range(8))
    structure.add_edges_from(
        [(0, 2), (1, 2), (1, 3), (2, 4), (3, 4), (3, 5), (0, 5), (4, 6), (5, 6), (2, 7), (6, 7)]
    )
    model = MaskedDeepDAN(784, 10, structure)
    assert model(torch.randn(4, 1, 28, 28)).shape == (4, 10)
    model.apply_mask()
    model.recompute_mask()
    model.recompute_mask(0.3)
    pruned_structure = model.generate_structure()
    assert list(pruned_structure.nodes) == list(structure.nodes)
    assert set(pruned_structure.edges) < set(structure.edges)
    new_model = MaskedDeepDAN(784, 10, pruned_structure)
    assert new_model(torch.randn(4, 1, 28, 28)).shape == (4, 10)
    assert graphnn.dead_units(new_model.to_graph()) == []


# --- the same functions as deepstruct --------------------------------------------------------


@pytest.mark.parametrize(
    ("size_input", "size_output", "hidden"),
    [((1, 28, 28), 10, [100, 100]), (7, 3, [5]), ((2, 3), 4, [3, 5, 2])],
)
def test_ffn_computes_deepstruct_function(deepstruct, size_input, size_output, hidden):
    torch.manual_seed(1)
    theirs = deepstruct.MaskedDeepFFN(size_input, size_output, hidden)
    ours = MaskedDeepFFN(size_input, size_output, hidden)
    their_layers = [theirs._layer_first, *maskable_hidden(deepstruct, theirs), theirs._layer_out]
    widths = [ours.n_inputs, *hidden, size_output]
    starts = [sum(widths[:k]) for k in range(len(widths) + 1)]
    nodes = [list(range(starts[k], starts[k + 1])) for k in range(len(widths))]
    weights, biases = {}, {}
    for k, layer in enumerate(their_layers):
        w, b = linear_parameters(layer, nodes[k], nodes[k + 1])
        weights.update(w)
        biases.update(b)
    load_parameters(ours, weights, biases)
    x = torch.randn(6, *(size_input if isinstance(size_input, tuple) else (size_input,)))
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-6)

    for theirs_layer, our_layer in zip(their_layers, ours.masked_layers(), strict=True):
        theirs_layer.mask = torch.rand(theirs_layer.weight.shape) < 0.6
        our_layer.mask = theirs_layer.mask  # the masked layers are deepstruct's, in order
    live = {(u, v) for u, v in ours.to_graph().edges}
    assert live == {
        (nodes[k][j], nodes[k + 1][i])
        for k, layer in enumerate(their_layers)
        for i, j in layer.mask.nonzero().tolist()
    }
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-6)
    for flags in [(False, False), (True, False), (False, True), (True, True)]:
        expected = deepstruct_call(theirs.generate_structure, *flags)
        got = ours.generate_structure(*flags)
        assert sorted(got.edges) == sorted(expected.edges)
        assert set(expected.nodes) <= set(got.nodes)  # ours keeps isolated units
        assert list(got.nodes) == list(range(got.number_of_nodes()))

    theirs.recompute_mask(0.2)  # deepstruct's layers bring masked weights back
    ours.recompute_mask(0.2, resurrect=True)
    for theirs_layer, our_layer in zip(their_layers, ours.masked_layers(), strict=True):
        assert torch.equal(our_layer.mask, theirs_layer.mask)


def maskable_hidden(deepstruct, model) -> list:
    return [m for m in model._layers_hidden if isinstance(m, deepstruct.MaskedLinearLayer)]


@settings(max_examples=25)
@given(layered_dags(min_layers=2, max_layers=4, skip=False, shuffle=True))
def test_dan_without_skip_connections_computes_deepstruct_function(deepstruct, G):
    torch.manual_seed(2)
    structure = deepstruct.CachedLayeredGraph()
    structure.add_nodes_from(G.nodes)
    structure.add_edges_from(G.edges)
    theirs = deepstruct.MaskedDeepDAN(5, 3, structure)
    ours = MaskedDeepDAN(5, 3, structure)
    inputs, outputs = ours.input_nodes, ours.output_nodes
    layers = [structure.get_vertices(layer) for layer in structure.layers]
    pairs = [(theirs.layer_first, inputs, layers[0])]
    pairs += [
        (layer, layers[k], layers[k + 1]) for k, layer in enumerate(theirs.layers_main_hidden)
    ]
    pairs.append((theirs.layer_out, layers[-1], outputs))
    edges, weights, biases = set(ours.to_graph().edges), {}, {}
    for layer, sources, targets in pairs:  # deepstruct's masked entries are not our edges
        w, b = linear_parameters(layer, sources, targets)
        weights.update({edge: value for edge, value in w.items() if edge in edges})
        biases.update(b)
    load_parameters(ours, weights, biases)
    x = torch.randn(4, 5)
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-5)


def test_dan_feeds_the_outputs_from_every_sink():
    structure = nx.DiGraph([(0, 1), (1, 2), (0, 3)])  # 3 is a sink in layer 1: dead in deepstruct
    model = MaskedDeepDAN(2, 2, structure)
    graph = model.to_graph()
    assert graphnn.dead_units(graph) == []
    assert [sorted(graph.predecessors(y)) for y in model.output_nodes] == [[2, 3], [2, 3]]
    assert [list(graph.successors(x)) for x in model.input_nodes] == [[0], [0]]
    assert model.input_nodes == [("input", 0), ("input", 1)]


def test_dan_with_skip_connections_sums_before_one_activation():
    structure = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c")])
    model = MaskedDeepDAN(1, 1, structure)
    load_parameters(
        model,
        {(("input", 0), "a"): 1.0, ("a", "b"): -1.0, ("b", "c"): 1.0, ("a", "c"): 1.0,
         ("c", ("output", 0)): 1.0},
        {"a": 0.0, "b": 0.0, "c": -2.0, ("output", 0): 0.0},
    )  # fmt: skip
    x = torch.tensor([[3.0]])
    # a = 3, b = relu(-3) = 0, c = relu(-2 + b + a) = 1; deepstruct, with c's bias on its
    # b -> c layer, would sum relu(b - 2) + relu(a) = 3
    assert model(x).item() == 1.0


@pytest.mark.parametrize("kind", ["DiGraph", "LayeredGraph", "CachedLayeredGraph", "deepstruct"])
def test_dan_accepts_every_kind_of_structure(kind, request):
    edges = [(0, 2), (1, 2), (2, 3), (1, 3)]
    if kind == "deepstruct":
        structure = request.getfixturevalue("deepstruct").CachedLayeredGraph()
        structure.add_edges_from(edges)
    else:
        structure = {"DiGraph": nx.DiGraph, "LayeredGraph": LayeredGraph}.get(
            kind, CachedLayeredGraph
        )(edges)
    model = MaskedDeepDAN((2, 2), 3, structure)
    assert model(torch.zeros(5, 2, 2)).shape == (5, 3)
    assert sorted(model.generate_structure().edges) == sorted(edges)


def test_dan_generate_structure_adds_the_adapters_on_request():
    structure = CachedLayeredGraph([("a", "b"), ("a", "c")])
    model = MaskedDeepDAN(2, 1, structure)
    model.masked_layers()[0].mask = torch.tensor([[True, False]])  # ("input", 1) -> "a" pruned
    full = model.generate_structure(include_input=True, include_output=True)
    assert list(full.nodes) == [("input", 0), ("input", 1), "a", "b", "c", ("output", 0)]
    assert ("input", 1) not in full.pred["a"] and ("input", 0) in full.pred["a"]
    assert sorted(full.pred[("output", 0)], key=str) == ["b", "c"]
    assert list(model.generate_structure(include_output=True)) == ["a", "b", "c", ("output", 0)]
    assert list(model.generate_structure(include_input=True)) == [
        ("input", 0),
        ("input", 1),
        *"abc",
    ]


def test_dan_uses_the_structure_attributes_except_role_and_layer():
    structure = nx.DiGraph()
    structure.add_node("h", role="input", layer=0, bias=0.25, activation="tanh", note="kept")
    structure.add_edge("h", "y", weight=0.5)
    structure.nodes["y"].update(role="output", layer=1)
    graph = MaskedDeepDAN(1, 1, structure).to_graph()
    assert graph.nodes["h"]["bias"] == 0.25 and graph.nodes["h"]["activation"] == "tanh"
    assert graph.nodes["h"]["note"] == "kept" and graph.nodes["h"]["role"] == "hidden"
    assert graph.edges["h", "y"]["weight"] == 0.5
    assert graph.nodes["y"]["layer"] == 2


# --- LayeredGraph and CachedLayeredGraph ------------------------------------------------------


@settings(max_examples=60)
@given(
    st.one_of(
        dags(max_nodes=12, shuffle=True), layered_dags(max_layers=5, max_width=4, shuffle=True)
    )
)
def test_layer_queries_agree_with_deepstruct(deepstruct, G):
    theirs = deepstruct.CachedLayeredGraph()
    theirs.add_nodes_from(G.nodes)
    theirs.add_edges_from(G.edges)
    for ours in (LayeredGraph(G), CachedLayeredGraph(G), LayeredGraph.load_from(G)):
        assert snapshot(ours) == snapshot(theirs)
        for layer in ours.layers:  # the order inside a layer is G.nodes'
            assert ours.get_vertices(layer) == [v for v in G if ours.get_layer(v) == layer]


def test_empty_graph_has_no_layers_like_deepstruct(deepstruct):
    theirs, ours = deepstruct.CachedLayeredGraph(), CachedLayeredGraph()
    assert ours.layers == theirs.layers == [] and ours.num_layers == theirs.num_layers == 0
    for name in ["first_layer", "last_layer", "first_layer_size", "last_layer_size"]:
        with pytest.raises(IndexError):
            getattr(theirs, name)
        with pytest.raises(IndexError, match="empty"):
            getattr(ours, name)


def test_query_errors_are_clear():
    G = LayeredGraph([(0, 1), (1, 2)])
    with pytest.raises(KeyError, match="node 7 is not in the graph"):
        G.get_layer(7)
    with pytest.raises(KeyError, match=r"no node is in layer 5; the layers are \[0, 1, 2\]"):
        G.get_vertices(5)
    with pytest.raises(KeyError, match="layer 5"):
        G.layer_connection_size(0, 5)
    with pytest.raises(ValueError, match="inside itself"):
        G.layer_connected(1, 1)
    G.add_edge(2, 0)
    with pytest.raises(StructureError, match="cycle"):
        _ = G.num_layers


def test_any_hashable_labels_and_explicit_layers():
    G = CachedLayeredGraph([(("x", 0), "h"), ("h", 1.5)])
    assert G.get_vertices(1) == ["h"] and G.get_layer(1.5) == 2
    G.add_node(1.5, layer=4)  # an explicit layer, set through a method, is seen
    assert G.layers == [0, 1, 4] and G.last_layer == 4


MUTATIONS = {
    "add_node": lambda G: G.add_node(9),
    "add_node with a layer": lambda G: G.add_node(3, layer=5),
    "add_nodes_from": lambda G: G.add_nodes_from([9, 10]),
    "add_edge": lambda G: G.add_edge(3, 9),
    "add_edges_from": lambda G: G.add_edges_from([(3, 9), (9, 10)]),
    "add_weighted_edges_from": lambda G: G.add_weighted_edges_from([(3, 9, 1.0)]),
    "remove_node": lambda G: G.remove_node(1),
    "remove_nodes_from": lambda G: G.remove_nodes_from([1, 2]),
    "remove_edge": lambda G: G.remove_edge(1, 2),
    "remove_edges_from": lambda G: G.remove_edges_from([(1, 2), (2, 3)]),
    "update": lambda G: G.update(edges=[(3, 9)]),
    "clear": lambda G: G.clear(),
    "clear_edges": lambda G: G.clear_edges(),
    "nx.add_path": lambda G: nx.add_path(G, [3, 9, 10]),
    "nx.relabel_nodes": lambda G: nx.relabel_nodes(G, {3: "y"}, copy=False),
}


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_cache_is_invalidated_by_every_mutation(mutate):
    G = CachedLayeredGraph([(0, 1), (1, 2), (2, 3), (0, 3)])
    before = snapshot(G)
    mutate(G)
    after = snapshot(G)
    assert after == snapshot(LayeredGraph(G))  # computed afresh
    assert after != before


def test_every_mutating_method_of_digraph_invalidates_the_cache():
    mutators = [
        name for name in dir(nx.DiGraph) if name.startswith(("add_", "remove_", "clear", "update"))
    ]
    assert {"add_edge", "remove_nodes_from", "clear_edges", "update"} <= set(mutators)
    for name in mutators:
        assert getattr(CachedLayeredGraph, name) is not getattr(nx.DiGraph, name), name


def test_cache_computes_the_layers_once(monkeypatch):
    calls = []
    real = compat_deepstruct.layer_index
    monkeypatch.setattr(compat_deepstruct, "layer_index", lambda G: calls.append(1) or real(G))
    G = CachedLayeredGraph([(0, 1), (1, 2)])
    snapshot(G)
    assert len(calls) == 1
    G.add_edge(0, 2)
    snapshot(G)
    assert len(calls) == 2
    snapshot(LayeredGraph(G))  # the plain LayeredGraph computes them on every query
    assert len(calls) > 3


def test_views_follow_their_graph():
    G = CachedLayeredGraph([(0, 1), (1, 2), (2, 3)])
    view = G.subgraph([1, 2, 3])
    assert view.num_layers == 3
    G.remove_edge(1, 2)
    assert view.num_layers == 2
    assert G.reverse(copy=False).get_layer(0) == 1


def test_pickle_and_copy_keep_the_graph():
    G = CachedLayeredGraph([(0, 1), (1, 2)])
    assert G.num_layers == 3
    for H in (pickle.loads(pickle.dumps(G)), G.copy()):
        H.add_edge(2, 3)
        assert H.num_layers == 4 and G.num_layers == 3


def test_save_and_load_keep_labels_and_attributes(tmp_path):
    G = CachedLayeredGraph(name="net")
    G.add_edge(("x", 0), "h", weight=0.5)
    G.add_edge("h", 7, weight=-1.0)
    G.nodes["h"]["bias"] = 0.1
    path = tmp_path / "structure.graphml"
    G.save(path)
    for H in (LayeredGraph.load(path), CachedLayeredGraph.load(str(path))):
        assert type(H) is CachedLayeredGraph
        graphnn.assert_graphs_equal(H, G)
        assert H.get_vertices(2) == [7]
    graphnn.assert_graphs_equal(LayeredGraph.load_from(nx.DiGraph(G)), G)


def test_load_from_rejects_what_is_not_a_digraph():
    with pytest.raises(TypeError, match=r"networkx\.DiGraph"):
        LayeredGraph.load_from([(0, 1)])
    with pytest.raises(StructureError, match="undirected"):
        LayeredGraph.load_from(nx.Graph([(0, 1)]))


# --- layers, masks, helpers -------------------------------------------------------------------


def test_masked_linear_layer_takes_deepstruct_idioms():
    torch.manual_seed(3)
    layer = MaskedLinearLayer(3, 2)
    layer.mask = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])  # deepstruct's float masks
    assert layer.mask.dtype == torch.bool and "mask" in dict(layer.named_buffers())
    assert torch.equal(layer.get_weight_count(), torch.tensor(4))
    layer.saliency = torch.tensor([[0.0, 9.0, 2.0], [9.0, 1.0, 0.0]])
    layer.recompute_mask(0.5)
    assert layer.mask.tolist() == [[False, False, True], [False, True, False]]
    with pytest.raises(ValueError, match="shape of the weight"):
        layer.saliency = torch.ones(3, 2)


@pytest.mark.parametrize(
    ("mask", "message"),
    [(torch.ones(3, 2), r"mask must have shape \(2, 3\)"), (torch.full((2, 3), 0.5), "0 and 1")],
)
def test_bad_mask_assignments_raise(mask, message):
    for layer in (MaskedLinearLayer(3, 2), MaskedDeepFFN(3, 2, []).masked_layers()[0]):
        with pytest.raises(ValueError, match=message):
            layer.mask = mask
        assert layer.mask.all()


def test_dan_layer_mask_stays_inside_the_structure():
    model = MaskedDeepDAN(1, 1, nx.DiGraph([(0, 2), (1, 3)]))
    layer = model.masked_layers()[1]  # 2 and 3 read 0 and 1: edges 0 -> 2 and 1 -> 3 only
    assert layer.mask.tolist() == [[True, False], [False, True]]
    layer.mask = torch.tensor([[0, 0], [0, 1]])
    assert sorted(model.generate_structure().edges) == [(1, 3)]
    with pytest.raises(ValueError, match="not in the layer's pattern"):
        layer.mask = torch.ones(2, 2)


def test_recompute_mask_keeps_masked_connections_masked_unless_asked():
    model = MaskedDeepFFN(2, 1, [2])
    first = model.masked_layers()[0]
    with torch.no_grad():
        first.weight.fill_(1.0)
    first.mask = torch.tensor([[True, False], [True, True]])
    model.recompute_mask(0.5)
    assert first.weight_count == 3
    model.recompute_mask(0.5, resurrect=True)  # what deepstruct did
    assert first.weight_count == 4


def test_maskable_layers_of_any_module():
    model = MaskedDeepFFN(4, 2, [3, 3])
    assert list(maskable_layers(model)) == model.masked_layers()
    assert list(model.maskable_children) == model.masked_layers()
    assert all(type(layer) is MaskedLinearLayer for layer in model.masked_layers())
    plain, ours = MaskedLinear(4, 3), MaskedLinearLayer(3, 2)
    sequential = torch.nn.Sequential(plain, torch.nn.ReLU(), torch.nn.Sequential(ours))
    assert list(prunable_layers(sequential)) == [plain, ours]
    assert list(maskable_layers(plain)) == [plain]


def test_models_pickle_and_keep_their_layers():
    torch.manual_seed(4)
    for model in (
        MaskedDeepFFN(3, 2, [4]),
        MaskedDeepDAN(3, 2, CachedLayeredGraph([(0, 1), (0, 2)])),
    ):
        copy = pickle.loads(pickle.dumps(model))
        x = torch.randn(5, 3)
        assert torch.equal(copy(x), model(x))
        assert all(type(layer) is MaskedLinearLayer for layer in copy.masked_layers())
        assert repr(copy) == repr(model)
    assert repr(MaskedDeepFFN(3, 2, [4])).startswith("MaskedDeepFFN(input_size=3, hidden_sizes=[4]")


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: MaskedDeepFFN(4, 2, [3], True),
        lambda: MaskedDeepFFN(4, 2, [3], use_layer_norm=True),
        lambda: MaskedDeepDAN(4, 2, nx.DiGraph([(0, 1)]), use_layer_norm=True),
    ],
)
def test_layer_norm_is_refused_clearly(build):
    with pytest.raises(ValueError, match="use_layer_norm=True is not supported"):
        build()


@pytest.mark.parametrize("clash", [("input", 0), ("output", 1)])
def test_structure_labels_that_clash_with_the_adapters_are_refused(clash):
    structure = nx.DiGraph([(clash, "h")])
    with pytest.raises(StructureError, match=r"labels of MaskedDeepDAN's input and output") as err:
        MaskedDeepDAN(2, 2, structure)
    assert err.value.nodes == [clash]
    MaskedDeepDAN(2, 2, nx.DiGraph([(("input", 5), ("output", 2))]))  # no clash at these sizes


@pytest.mark.parametrize(
    ("size_input", "size_output", "structure", "error", "message"),
    [
        (4, 2, nx.DiGraph(), ValueError, "structure is empty"),
        (4, 2, nx.DiGraph([(0, 1), (1, 0)]), StructureError, "cycle"),
        (4, 2, nx.Graph([(0, 1)]), StructureError, "undirected"),
        (4, 2, [(0, 1)], TypeError, "networkx.DiGraph"),
        (4, 0, nx.DiGraph([(0, 1)]), ValueError, "size_output must be at least 1"),
        (4, 2.0, nx.DiGraph([(0, 1)]), TypeError, "size_output must be an int"),
        ((2, 0), 2, nx.DiGraph([(0, 1)]), ValueError, "size_input must be a positive int"),
        ("4", 2, nx.DiGraph([(0, 1)]), ValueError, "size_input must be a positive int"),
    ],
)
def test_dan_errors_name_the_problem(size_input, size_output, structure, error, message):
    with pytest.raises(error, match=message):
        MaskedDeepDAN(size_input, size_output, structure)


def test_ffn_size_errors_are_graphnn_ones():
    with pytest.raises(ValueError, match="input_size must be a positive int"):
        MaskedDeepFFN(0, 2, [3])
    with pytest.raises(TypeError, match="hidden_sizes must be a sequence"):
        MaskedDeepFFN(4, 2, 3)
