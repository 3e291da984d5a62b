import gzip
import io
import math
import re

import igraph
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from graphnn.exceptions import GraphMLError, StructureError
from graphnn.structure._graphml_values import decode, encode
from graphnn.structure.equality import assert_graphs_equal, values_equal
from graphnn.structure.graphml import VERSION, read_graphml, write_graphml

NASTY = ["", "\r", "\r\n", "a\rb", "\x00", "\x01\x1f", "\ud800", "\ufffe", "&<>\"']]>", " x ", "é"]


def round_trip(G: nx.DiGraph) -> nx.DiGraph:
    buffer = io.BytesIO()
    write_graphml(G, buffer)
    buffer.seek(0)
    return read_graphml(buffer)


def text_of(G: nx.DiGraph) -> str:
    buffer = io.BytesIO()
    write_graphml(G, buffer)
    return buffer.getvalue().decode()


# --- strategies --------------------------------------------------------------------------

texts = st.one_of(st.text(max_size=6), st.sampled_from(NASTY))
numeric_dtypes = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(endianness="?"),
    hnp.unsigned_integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?"),
    hnp.complex_number_dtypes(endianness="?"),
)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
arrays = numeric_dtypes.flatmap(lambda dtype: hnp.arrays(dtype, shapes))
numpy_scalars = numeric_dtypes.flatmap(lambda dtype: hnp.arrays(dtype, ())).map(lambda a: a[()])
# Labels: hashable, never NaN (NaN != NaN, so a NaN node cannot be looked up) and never
# None (networkx refuses None as a node); None is drawn as a value inside tuples instead.
scalar_labels = st.one_of(
    st.integers(),
    texts,
    st.floats(allow_nan=False),
    st.booleans(),
    hnp.arrays(hnp.floating_dtypes(), (), elements={"allow_nan": False}).map(lambda a: a[()]),
)
labels = st.recursive(
    scalar_labels,
    lambda inner: st.one_of(
        st.tuples(inner, st.one_of(inner, st.none())),
        st.lists(inner, max_size=3).map(tuple),
        st.frozensets(inner),
    ),
    max_leaves=4,
)
scalar_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    texts,
    st.binary(max_size=4),
    numpy_scalars,
    arrays,
)
values = st.recursive(
    scalar_values,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(labels, inner, max_size=3),
        st.sets(labels, max_size=3),
        st.frozensets(labels, max_size=3),
    ),
    max_leaves=6,
)
# A small pool of names, so that attributes are shared (native keys) or mixed (tagged),
# including names like graphnn's own keys and names that are not strings.
names = st.sampled_from(["weight", "bias", "role", "graphnn.label", "graphnn.format", "\x00"])
names = st.one_of(names, st.integers(0, 2), st.tuples(st.just("t"), st.integers(0, 1)))
# Many attributes drawn from one type, so native keys (double, long, ...) appear often.
attr_values = st.one_of(
    st.floats(), st.integers(-10, 10), st.booleans(), st.text(max_size=3), values
)


@st.composite
def digraphs(draw):
    nodes = draw(st.lists(labels, max_size=6, unique_by=lambda v: v))
    G = nx.DiGraph()
    G.graph.update(draw(st.dictionaries(names, values, max_size=2)))
    for v in nodes:
        G.add_node(v)
        G.nodes[v].update(draw(st.dictionaries(names, attr_values, max_size=3)))
    if nodes:
        pairs = st.tuples(st.sampled_from(nodes), st.sampled_from(nodes))
        for u, v in draw(st.lists(pairs, max_size=10)):
            G.add_edge(u, v)
            G.edges[u, v].update(draw(st.dictionaries(names, attr_values, max_size=3)))
    return G


# --- exact round trips ------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(digraphs())
def test_round_trip_is_exact(G):
    assert_graphs_equal(round_trip(G), G)


@settings(max_examples=60, deadline=None)
@given(values)
def test_tagged_encoding_round_trips_any_value(value):
    G = nx.DiGraph()
    G.add_node(0, x=value)
    assert_graphs_equal(round_trip(G), G)
    text = encode(value)
    assert text.isascii()
    assert values_equal(decode(text), value)


@pytest.mark.parametrize(
    "value",
    [
        0.1,
        -0.0,
        5e-324,
        float("nan"),
        float("-inf"),
        2**63 - 1,
        -(2**63),
        2**63,
        -(2**200),
        1 + 2j,
        complex(float("nan"), -0.0),
        "a\rb\r\n",
        "\x00\x01",
        "\ud800",
        b"\x00\xff",
        None,
        [1, [2.0, None]],
        (1, (2,)),
        {(0, 1): {"a": frozenset({1})}, 2: set()},
        np.float32(1.5),
        np.float16(-0.0),
        np.longlong(3),
        np.uint64(2**64 - 1),
        np.longdouble(1) / 3,
        np.complex64(1j),
        np.bool_(True),
        np.str_("a"),
        np.array(1.5),
        np.zeros((0, 3), np.int8),
        np.arange(6, dtype=">i4").reshape(2, 3),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.array([True, False]),
        np.array(["ab", "c"]),
        np.array(["2020-01-01", "2021-06-30"], dtype="datetime64[D]"),
    ],
    ids=repr,
)
def test_round_trip_value(value):
    G = nx.DiGraph()
    G.add_edge(0, 1, x=value)
    G.add_node(0, x=value)
    G.graph["x"] = value
    assert_graphs_equal(round_trip(G), G)


@pytest.mark.parametrize(
    "labels",
    [
        [0, 1, 2],
        ["a", "b", "c"],
        [1, "1", 1.5],  # str(label) collides: generated ids
        ["a\rb", "\x00", "\ud800"],
        ["", "a"],  # an empty id would not do
        [(1, ("x", None)), frozenset({1, 2}), True, 2.5, -7],
        [np.float32(1.5), np.int64(3), np.str_("s")],
        [2**100, -(2**100)],
    ],
    ids=repr,
)
def test_round_trip_labels_and_order(labels):
    G = nx.DiGraph()
    G.add_nodes_from(reversed(labels))
    G.add_edges_from([(labels[-1], labels[0]), (labels[0], labels[0]), (labels[-1], labels[1])])
    H = round_trip(G)
    assert_graphs_equal(H, G)
    assert [type(v) for v in H] == [type(v) for v in G]


def test_attribute_names_of_any_hashable_type():
    G = nx.DiGraph()
    G.add_node(0, **{"graphnn.label": "mine", "": 1})
    G.nodes[0].update({1: "one", ("a", 2): 2.0, "\x00": True, None: None})
    G.graph.update({"graphnn.format": "user data", 0.5: [1]})
    H = round_trip(G)
    assert_graphs_equal(H, G)
    assert list(H.nodes[0]) == list(G.nodes[0])


def test_empty_graph_and_graph_without_attributes():
    for G in [nx.DiGraph(), nx.DiGraph([(0, 1)])]:
        assert_graphs_equal(round_trip(G), G)


def test_cycle_and_self_loop_are_written():
    G = nx.DiGraph([(0, 1), (1, 0), (2, 2)])
    assert_graphs_equal(round_trip(G), G)


def test_output_is_deterministic(tmp_path):
    G = nx.DiGraph([(0, 1, {"w": (1, 2)})])
    for name in ["a.graphml", "a.graphml.gz"]:
        write_graphml(G, tmp_path / name)
        first = (tmp_path / name).read_bytes()
        write_graphml(G, tmp_path / name)
        assert (tmp_path / name).read_bytes() == first


# --- the file: native keys, interoperability -------------------------------------------


def structure() -> nx.DiGraph:
    G = nx.DiGraph(name="net", layers=3)
    G.add_node("x", bias=0.0, role="input", layer=0, frozen=True)
    G.add_node("h", bias=0.5, role="hidden", layer=1, frozen=False)
    G.add_node("y", bias=-1.5, role="output", layer=2, frozen=True)
    G.add_edge("x", "h", weight=0.25)
    G.add_edge("h", "y", weight=-2.0)
    G.add_edge("x", "y", weight=1e-300)
    return G


def test_native_keys_for_plain_scalars():
    text = text_of(structure())
    for name, kind in [
        ("bias", "double"),
        ("role", "string"),
        ("layer", "long"),
        ("frozen", "boolean"),
        ("weight", "double"),
        ("name", "string"),
        ("layers", "long"),
    ]:
        assert re.search(f'attr.name="{name}" attr.type="{kind}"', text), name
    assert '<data key="d0">net</data>' in text
    assert "graphnn_label" not in text  # str labels are their ids
    assert '"tagged":[]' in text


@pytest.mark.parametrize(
    "values",
    [[1, 2.0], [1, True], [2**63, 1], ["a", "\x00"], [np.float64(1.0), 2.0], [1.0, None]],
    ids=repr,
)
def test_mixed_or_non_native_values_make_a_tagged_string_key(values):
    G = nx.DiGraph()
    for i, value in enumerate(values):
        G.add_node(i, x=value)
    text = text_of(G)
    assert re.search('<key id="(d0)" for="node" attr.name="x" attr.type="string"/>', text)
    assert '"tagged":["d0"]' in text
    assert_graphs_equal(round_trip(G), G)


def test_networkx_reads_graphnn_files(tmp_path):
    path = tmp_path / "net.graphml"
    G = structure()
    write_graphml(G, path)
    H = nx.read_graphml(path)
    assert list(H) == ["x", "h", "y"]
    assert list(H.edges(data="weight")) == list(G.edges(data="weight"))
    assert all(type(w) is float for _, _, w in H.edges(data="weight"))
    assert dict(H.nodes(data="layer")) == {"x": 0, "h": 1, "y": 2}
    assert dict(H.nodes(data="frozen")) == dict(G.nodes(data="frozen"))
    assert dict(H.nodes(data="role")) == dict(G.nodes(data="role"))
    assert H.graph["name"] == "net"


def test_igraph_reads_graphnn_files(tmp_path):
    path = tmp_path / "net.graphml"
    G = structure()
    write_graphml(G, path)
    g = igraph.Graph.Read_GraphML(str(path))
    assert g.is_directed()
    assert (g.vcount(), g.ecount()) == (3, 3)
    assert g.vs["id"] == ["x", "h", "y"]
    assert [(g.vs[e.source]["id"], g.vs[e.target]["id"]) for e in g.es] == list(G.edges)
    assert g.es["weight"] == [w for _, _, w in G.edges(data="weight")]
    assert g.vs["bias"] == [0.0, 0.5, -1.5]
    assert g.vs["role"] == ["input", "hidden", "output"]
    assert g.vs["layer"] == [0, 1, 2]
    assert g.vs["frozen"] == [True, False, True]
    assert g["name"] == "net"


def test_mixed_types_still_load_in_networkx_and_igraph(tmp_path):
    path = tmp_path / "mixed.graphml"
    G = nx.DiGraph()
    G.add_node((0, "in"), kernel=np.ones((2, 2), np.float32), tag=1)
    G.add_node(1.5, kernel=None, tag="one")
    G.add_node("a\x00b", kernel=[1, 2], tag=frozenset())
    G.add_edge((0, "in"), 1.5, weight=np.float64(0.5), extra={"k": (1, 2)})
    G.add_edge(1.5, "a\x00b", weight=2.0)
    G.add_edge("a\x00b", "a\x00b", weight=3.0)
    G.nodes[1.5].update({"graphnn.label": "mine", 1: "int name", "1": "str name"})
    G.graph.update({"graphnn.format": "mine", "\x00": 0})
    write_graphml(G, path)
    H = nx.read_graphml(path)
    assert (H.number_of_nodes(), H.number_of_edges()) == (3, 3)
    g = igraph.Graph.Read_GraphML(str(path))
    assert (g.vcount(), g.ecount()) == (3, 3)
    assert g.vs["1 (d6)"] == ["", "str name", ""]  # igraph fills in missing strings
    assert_graphs_equal(read_graphml(path), G)


@settings(max_examples=40, deadline=None)
@given(G=digraphs())
def test_networkx_and_igraph_load_any_graphnn_file(tmp_path_factory, G):
    path = tmp_path_factory.mktemp("interop") / "g.graphml"
    write_graphml(G, path)
    H = nx.read_graphml(path)
    assert (H.number_of_nodes(), H.number_of_edges()) == (len(G), G.number_of_edges())
    g = igraph.Graph.Read_GraphML(str(path))
    assert (g.vcount(), g.ecount()) == (len(G), G.number_of_edges())


def test_user_attribute_named_like_graphnn_keys_stays_a_user_attribute():
    G = nx.DiGraph()
    G.add_node((1, 2), **{"graphnn.label": "shown label"})
    G.graph["graphnn.format"] = "not ours"
    H = round_trip(G)
    assert_graphs_equal(H, G)
    assert list(H) == [(1, 2)]


# --- files graphnn did not write ---------------------------------------------------------


def test_reads_networkx_written_files(tmp_path):
    path = tmp_path / "nx.graphml"
    G = nx.DiGraph(title="t")
    G.add_node("b", size=3, score=0.5, ok=True, name="B")
    G.add_node("a", size=-1, score=1.5, ok=False, name="A")
    G.add_edge("b", "a", weight=0.75)
    G.add_edge("a", "a", weight=1.0)
    nx.write_graphml(G, path)
    H = read_graphml(path)
    assert_graphs_equal(H, G)
    N = nx.read_graphml(path)
    assert N.graph.pop("node_default") == N.graph.pop("edge_default") == {}
    assert_graphs_equal(H, N)


def test_reads_integer_labels_as_strings(tmp_path):
    path = tmp_path / "nx.graphml"
    nx.write_graphml(nx.DiGraph([(1, 2), (2, 0)]), path)
    assert list(read_graphml(path).edges) == [("1", "2"), ("2", "0")]


MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <desc>a hand-written file</desc>
  <key id="c" for="node" attr.name="count" attr.type="int"><default>7</default></key>
  <key id="f" for="node" attr.name="flag" attr.type="boolean"/>
  <key id="w" for="edge" attr.name="weight" attr.type="float"><default>0.5</default></key>
  <key id="t" for="graph" attr.name="title"/>
  <graph id="G" edgedefault="directed">
    <data key="t">demo</data>
    <edge source="n1" target="n0"><data key="w">2</data></edge>
    <node id="n1"><data key="c">3</data><data key="f">TRUE</data></node>
    <node id="n0"><desc>ignored</desc></node>
    <edge id="e7" source="n0" target="n1" directed="true"/>
  </graph>
</graphml>
"""


def test_reads_hand_written_graphml_with_defaults():
    H = read_graphml(io.BytesIO(MINIMAL.encode()))
    G = nx.DiGraph(title="demo")
    G.add_node("n1", count=3, flag=True)
    G.add_node("n0", count=7)
    G.add_edge("n1", "n0", weight=2.0)
    G.add_edge("n0", "n1", id="e7", weight=0.5)
    assert_graphs_equal(H, G)


def test_reads_graphml_without_namespace():
    text = MINIMAL.replace(' xmlns="http://graphml.graphdrawing.org/xmlns"', "")
    assert list(read_graphml(io.BytesIO(text.encode()))) == ["n1", "n0"]


# --- file objects and gzip ---------------------------------------------------------------


def test_gzip_round_trip_and_detection_by_magic(tmp_path):
    G = structure()
    path = tmp_path / "net.graphml.gz"
    write_graphml(G, path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert_graphs_equal(read_graphml(path), G)
    assert_graphs_equal(read_graphml(str(path)), G)
    renamed = path.rename(tmp_path / "compressed.xml")
    assert_graphs_equal(read_graphml(renamed), G)
    with open(renamed, "rb") as f:
        assert_graphs_equal(read_graphml(f), G)
    assert_graphs_equal(read_graphml(io.BytesIO(renamed.read_bytes())), G)
    N = nx.read_graphml(io.BytesIO(gzip.decompress(renamed.read_bytes())))
    assert list(N.edges(data="weight")) == list(G.edges(data="weight"))


def test_file_object_round_trip(tmp_path):
    G = structure()
    with open(tmp_path / "net.graphml", "wb") as f:
        write_graphml(G, f)
        f.write(b"<!-- after -->\n")  # the stream stays open for the caller
    with open(tmp_path / "net.graphml", "rb") as f:
        assert_graphs_equal(read_graphml(f), G)


@pytest.mark.parametrize("func", [write_graphml, read_graphml])
def test_text_mode_file_objects_are_refused(func):
    args = (nx.DiGraph(), io.StringIO()) if func is write_graphml else (io.StringIO(),)
    with pytest.raises(TypeError, match="binary file object"):
        func(*args)


# --- what cannot be written ----------------------------------------------------------------


class Opaque:
    pass


def _node_attr(value):
    G = nx.DiGraph([(0, 1)])
    G.nodes[1]["x"] = value
    return G


def _edge_attr(value):
    G = nx.DiGraph([(0, 1)])
    G.edges[0, 1]["w"] = value
    return G


def _graph_attr(value):
    return nx.DiGraph(meta=value)


@pytest.mark.parametrize(
    ("G", "match"),
    [
        (_node_attr(Opaque()), r"node 1: attribute 'x': values of type .*Opaque"),
        (_node_attr([1, Opaque()]), r"node 1: attribute 'x': values of type .*Opaque"),
        (_edge_attr(np.array([None], dtype=object)), r"edge 0 -> 1: attribute 'w': .*dtype object"),
        (_edge_attr({"k": Opaque()}), r"edge 0 -> 1: attribute 'w'"),
        (_edge_attr(np.ma.masked_array([1.0])), r"edge 0 -> 1: attribute 'w': .*MaskedArray"),
        (_graph_attr(Opaque()), r"graph: attribute 'meta'"),
        (nx.DiGraph([(Opaque, 1)]), r"node <class .*Opaque'>: label: values of type"),
        (nx.DiGraph([(0, 1, {Opaque: 1})]), r"edge attribute name <class .*Opaque'>"),
    ],
    ids=["object", "nested", "object-array", "dict", "masked", "graph", "label", "name"],
)
def test_unsupported_values_raise_type_error_naming_where(tmp_path, G, match):
    path = tmp_path / "out.graphml"
    with pytest.raises(TypeError, match=match):
        write_graphml(G, path)
    assert not path.exists()  # no half-written file is left behind


def test_torch_tensors_are_refused():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"edge 0 -> 1: attribute 'w': values of type torch.Tensor"):
        write_graphml(_edge_attr(torch.zeros(2)), io.BytesIO())


@pytest.mark.parametrize("G", [nx.Graph([(0, 1)]), nx.MultiDiGraph([(0, 1)])], ids=repr)
def test_undirected_and_multigraphs_are_refused(G):
    with pytest.raises(StructureError):
        write_graphml(G, io.BytesIO())


# --- errors while reading ----------------------------------------------------------------

HEAD = '<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
KEY_W = '<key id="w" for="edge" attr.name="weight" attr.type="double"/>\n'
DIRECTED = '<graph edgedefault="directed">\n'
AB = '<node id="a"/><node id="b"/>\n'
TAIL = "</graph>\n</graphml>\n"
HERE = "<!--HERE-->"


def doc(body: str, keys: str = "") -> str:
    """A GraphML document: keys, then a directed graph around ``body``."""
    return HEAD + keys + DIRECTED + body + "\n" + TAIL


def key(kid: str, domain: str, attrs: str = "", default: str = "") -> str:
    default = f"<default>{default}</default>" if default else ""
    return f'<key id="{kid}" for="{domain}" {attrs}>{default}</key>'


YED = '<y:ShapeNode xmlns:y="http://www.yworks.com/xml/graphml"/>'
EDGE_AB = '<edge source="a" target="b"/>'

# case: (document, where HERE marks the line of the error, what the message says)
READ_ERRORS = {
    "mismatched-tag": (HEAD + DIRECTED + '<node id="a">\n' + HERE + "</graph>", "mismatched tag"),
    "truncated": (HEAD + DIRECTED + AB + '<edge source="a" ' + HERE, "not well-formed XML"),
    "empty": (HERE, "no element found"),
    "not-xml": (HERE + "hello", "not well-formed XML"),
    "root": ('<?xml version="1.0"?>\n<gexf>' + HERE + "</gexf>\n", "root element is <gexf>"),
    "no-graph": (HEAD + KEY_W + HERE + "</graphml>\n", "no <graph>"),
    "two-graphs": (doc("</graph>\n" + DIRECTED.rstrip() + HERE), "several graphs"),
    "undirected": (
        HEAD + '<graph edgedefault="undirected">' + HERE + TAIL,
        "undirected.*networkx.read_graphml",
    ),
    "no-edgedefault": (HEAD + "<graph>" + HERE + TAIL, "undirected"),
    "undirected-edge": (
        doc(AB + '<edge source="a" target="b" directed="false"/>' + HERE),
        "edge 'a' -> 'b' is undirected",
    ),
    "nested-graph": (
        doc('<node id="a">' + DIRECTED.rstrip() + HERE + "</graph></node>"),
        "nested graphs",
    ),
    "hyperedge": (
        doc(AB + '<hyperedge><endpoint node="a"/>' + HERE + "</hyperedge>"),
        "hyperedges",
    ),
    "port": (doc('<node id="a"><port name="p"/>' + HERE + "</node>"), "ports"),
    "edge-port": (doc(AB + '<edge source="a" target="b" sourceport="p"/>' + HERE), "ports"),
    "duplicate-node": (doc(AB + '<node id="a"/>' + HERE), "duplicate node id 'a'"),
    "undeclared-node": (
        doc(AB + '<edge source="a" target="c"/>' + HERE + '\n<node id="d"/>'),
        "node id 'c', which no <node>",
    ),
    "parallel-edges": (
        doc(AB + EDGE_AB + '\n<edge source="b" target="b"/>\n' + EDGE_AB + HERE),
        "parallel edge 'a' -> 'b'",
    ),
    "undeclared-key": (
        doc('<node id="a"><data key="zz">1</data>' + HERE + "</node>"),
        "key 'zz', which no <key> declares",
    ),
    "wrong-domain": (
        doc('<node id="a"><data key="w">1</data>' + HERE + "</node>", KEY_W),
        "declared for='edge' but used in <node>",
    ),
    "bad-double": (
        doc(AB + '<edge source="a" target="b"><data key="w">abc</data></edge>' + HERE, KEY_W),
        "key 'w' \\('weight'\\): 'abc' is not a valid double",
    ),
    "bad-int": (
        doc(
            '<node id="k"><data key="k">1.5</data>' + HERE + "</node>",
            key("k", "node", 'attr.type="int"'),
        ),
        "'1.5' is not a valid int",
    ),
    "bad-boolean": (
        doc(
            '<node id="a"><data key="b">maybe</data>' + HERE + "</node>",
            key("b", "node", 'attr.type="boolean"'),
        ),
        "'maybe' is not a valid boolean",
    ),
    "bad-default": (
        doc('<node id="a"/>', key("k", "node", 'attr.type="long"', "x") + HERE + "\n"),
        "'x' is not a valid long",
    ),
    "duplicate-key": (
        doc("", KEY_W + KEY_W.rstrip() + HERE + "\n"),
        "key id 'w' is declared twice",
    ),
    "key-for-all": (doc("", key("k", "all") + HERE + "\n"), 'for="all"'),
    "key-without-for": (doc("", '<key id="k"/>' + HERE + "\n"), 'for="all"'),
    "unknown-type": (
        doc("", key("k", "node", 'attr.type="date"') + HERE + "\n"),
        "attr.type 'date'",
    ),
    "key-after-graph": (
        HEAD + DIRECTED + "</graph>\n" + KEY_W.rstrip() + HERE + "</graphml>",
        "after the <graph>",
    ),
    "two-values": (
        doc(
            AB
            + '<edge source="a" target="b"><data key="w">1</data><data key="w">2</data>'
            + HERE
            + "</edge>",
            KEY_W,
        ),
        "two values for 'weight'",
    ),
    "yed-graphics": (
        doc(
            '<node id="a"><data key="g">' + YED + HERE + "</data></node>",
            key("g", "node", 'yfiles.type="x"'),
        ),
        "holds an element <ShapeNode>",
    ),
    "misplaced": (
        doc('<node id="a"><edge source="a" target="a"/>' + HERE + "</node>"),
        "unexpected <edge> in <node>",
    ),
}


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize("case", READ_ERRORS, ids=str)
def test_read_errors_name_the_file_and_line(tmp_path, case):
    text, match = READ_ERRORS[case]
    path = tmp_path / f"{case}.graphml"
    path.write_text(text, encoding="utf-8")
    where = f"{path}:{line_of(text, HERE)}: "
    with pytest.raises(GraphMLError, match=re.escape(where) + ".*" + match):
        read_graphml(path)
    with open(path, "rb") as f, pytest.raises(GraphMLError, match=re.escape(where)):
        read_graphml(f)
    stream = f"<stream>:{line_of(text, HERE)}: "
    with pytest.raises(GraphMLError, match=re.escape(stream)):
        read_graphml(io.BytesIO(text.encode()))


def test_forward_references_to_nodes_are_fine():
    text = HEAD + DIRECTED + '<edge source="b" target="a"/>\n' + AB + TAIL
    assert list(read_graphml(io.BytesIO(text.encode())).edges) == [("b", "a")]


def graphnn_text(G: nx.DiGraph, old: str, new: str) -> tuple[str, int]:
    text = text_of(G)
    assert old in text
    return text.replace(old, new), line_of(text, old)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('{"tuple":[1,2]}', '{"tuple":1}', r"not a valid graphnn tagged value"),
        ('{"tuple":[1,2]}', '{"tuple":[1,2]', r"not a valid graphnn tagged value"),
        ('{"tuple":[1,2]}', '{"bogus":[1,2]}', r"unknown tag 'bogus'"),
        ('{"tuple":[1,2]}', '{"tuple":[1],"set":[]}', r"exactly one tag"),
        ('{"tuple":[1,2]}', '{"ndarray":["&lt;f8",[3],"AAAA"]}', r"not a valid graphnn tagged"),
        ('{"tuple":[1,2]}', '{"ndarray":["O",[1],""]}', r"not a plain numpy dtype"),
        ('{"tuple":[1,2]}', '{"set":[[1]]}', r"not a valid graphnn tagged value"),
        ('{"tuple":[1,2]}', '{"bytes":"%%%"}', r"not a valid graphnn tagged value"),
        ('"version":1', f'"version":{VERSION + 1}', r"newer graphnn \(format version 2\)"),
        ('"format":"graphnn-graphml"', '"format":"other"', r"malformed graphnn_format"),
        ('"tagged":["d0"]', '"tagged":["d9"]', r"undeclared keys"),
        (
            '<data key="graphnn_label">0</data>',
            '<data key="graphnn_label">[0]</data>',
            r"label \[0\]",
        ),
        (
            '<data key="graphnn_label">1</data>',
            '<data key="graphnn_label">0</data>',
            r"label 0: None or taken",
        ),
    ],
)
def test_errors_in_graphnn_metadata_and_tagged_values(tmp_path, old, new, match):
    G = nx.DiGraph([(0, 1, {"w": (1, 2)})])
    text, line = graphnn_text(G, old, new)
    path = tmp_path / "g.graphml"
    path.write_text(text)
    with pytest.raises(GraphMLError, match=re.escape(f"{path}:{line}: ") + ".*" + match):
        read_graphml(path)


def test_truncated_gzip_file(tmp_path):
    path = tmp_path / "g.graphml.gz"
    write_graphml(structure(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GraphMLError, match=re.escape(str(path)) + r":\d+: .*(truncated|gzip)"):
        read_graphml(path)


def test_graphml_error_is_a_value_error():
    with pytest.raises(ValueError, match="no element found"):
        read_graphml(io.BytesIO(b""))


def test_large_weights_stay_floats():
    G = nx.DiGraph()
    G.add_weighted_edges_from((i, i + 1, math.ldexp(1.0, -i)) for i in range(1000))
    assert_graphs_equal(round_trip(G), G)
