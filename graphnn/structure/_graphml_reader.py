"""The expat state machine behind :func:`graphnn.structure.graphml.read_graphml`.

``xml.parsers.expat`` calls :meth:`GraphMLReader.start`, ``end`` and
``chars`` for every element and every run of text.  The reader keeps a stack
of the open GraphML elements; the pair (parent, element) picks the handler,
so one table says which elements may appear where.  Node and edge data are
parsed as they arrive; the graph is assembled once ``</graph>`` is reached,
when every node id is known (edges may name nodes declared after them).
"""

from __future__ import annotations

import gc
import gzip
import json
import zlib
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import BinaryIO
from xml.parsers import expat

import networkx as nx

from graphnn.exceptions import GraphMLError
from graphnn.structure._graphml_values import NATIVE_PARSE, decode, from_tree

__all__ = ["GraphMLReader", "FORMAT", "VERSION", "NS", "META_KEY", "LABEL_KEY"]

#: Format name in the graph's ``graphnn_format`` entry.
FORMAT = "graphnn-graphml"
#: Newest format version written and read.
VERSION = 1
#: The GraphML namespace.
NS = "http://graphml.graphdrawing.org/xmlns"
#: Key ids of graphnn's own keys: the format entry and the typed node labels.
META_KEY, LABEL_KEY = "graphnn_format", "graphnn_label"

_CHUNK = 1 << 20
_AT_END_OF_INPUT = {
    expat.errors.codes[message]
    for message in (expat.errors.XML_ERROR_NO_ELEMENTS, expat.errors.XML_ERROR_UNCLOSED_TOKEN)
}
_SKIP = "skip"  # a foreign element or <desc>, ignored with its content
_TAGS = ("graphml", "key", "default", "graph", "node", "edge", "data", "desc")
_TAGS += ("hyperedge", "endpoint", "port", "locator")
_TAG = {name: name for name in _TAGS} | {f"{NS}}}{name}": name for name in _TAGS}
_UNSUPPORTED = {
    ("node", "graph"): "nested graphs (a <graph> inside a <node>) are not supported",
    ("edge", "graph"): "nested graphs (a <graph> inside an <edge>) are not supported",
    ("graph", "hyperedge"): "hyperedges are not supported",
    ("node", "port"): "ports are not supported",
    ("graph", "locator"): "<locator> (a graph in another file) is not supported",
    ("graphml", "data"): "data for the <graphml> element is not supported",
}
_UNDIRECTED = "graphnn structures are directed: use networkx.read_graphml for undirected files"


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the reader builds the graph.

    The reader creates millions of small containers and no reference cycles;
    collections triggered by them would only traverse every object the
    program holds, over and over (a third of the reading time of a large
    graph).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Key:
    """A ``<key>``: where it applies, the attribute name and how to parse its text."""

    __slots__ = ("default", "domain", "id", "line", "name", "parse", "type")

    def __init__(self, kid: str, domain: str, name: Hashable, type_: str, line: int) -> None:
        self.id, self.domain, self.name, self.type, self.line = kid, domain, name, type_, line
        self.parse: Callable[[str], object] = NATIVE_PARSE[type_]
        self.default: str | None = None


class GraphMLReader:
    """Read one GraphML document into a ``networkx.DiGraph``.

    Parameters
    ----------
    source : str
        The file name used in error messages.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.parser = parser = expat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.chars
        self.stack: list[str | None] = [None]  # the open elements, under a sentinel
        self.keys: dict[str, _Key] = {}
        self.text: list[str] | None = None  # character data, inside <data> or <default>
        self.meta: dict | None = None  # the graphnn_format entry, when there is one
        self.frozen = False  # whether the keys' meaning is settled (at the first node or edge)
        self.label_key: _Key | None = None
        self.defaults: dict[str, list[_Key]] = {"graph": [], "node": [], "edge": []}
        self.graph_seen = False
        self.graph_data: list[tuple[_Key, str, int]] = []
        self.ids: dict[str, Hashable] = {}  # node id -> label
        self.nodes: dict[Hashable, dict] = {}  # label -> attributes, in file order
        self.edges: list[tuple[Hashable, Hashable, dict]] = []  # (source, target, attributes)
        self.edge_lines: list[int] = []
        self.forward: list[tuple[int, str, str, int]] = []  # edges to nodes declared later
        self.element: dict = {}  # the attributes of the open node or edge
        self.node_id: str = ""
        self.label: Hashable = None
        self.data_key: _Key | None = None
        self.data_line = 0
        self.G: nx.DiGraph | None = None

    def error(self, message: str, line: int | None = None) -> GraphMLError:
        """Return a :class:`GraphMLError` at ``line`` (default: the parser's line)."""
        line = self.parser.CurrentLineNumber if line is None else line
        return GraphMLError(message, source=self.source, line=line)

    def parse(self, f: BinaryIO) -> nx.DiGraph:
        """Parse the binary stream ``f`` to its end and return the graph."""
        parser = self.parser
        try:
            with _gc_paused():
                while chunk := f.read(_CHUNK):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except expat.ExpatError as err:
            hint = " (is the file truncated?)" if err.code in _AT_END_OF_INPUT else ""
            raise GraphMLError(
                f"not well-formed XML: {expat.ErrorString(err.code)} at column "
                f"{err.offset + 1}{hint}",
                source=self.source,
                line=err.lineno,
            ) from None
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            raise self.error(f"corrupt or truncated gzip data: {err}") from None
        finally:  # break the cycle self -> parser -> handlers -> self
            parser.StartElementHandler = parser.EndElementHandler = None
            parser.CharacterDataHandler = None
        assert self.G is not None, "graphml_end checks that there is a graph"
        return self.G

    # expat handlers ---------------------------------------------------------------------

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """Open an element (expat's ``StartElementHandler``)."""
        entry = _STARTS.get((self.stack[-1], name))
        if entry is None:
            self.unusual_start(name)
            return
        self.stack.append(entry[0])
        entry[1](self, attrs)

    def unusual_start(self, name: str) -> None:
        parent, tag = self.stack[-1], _TAG.get(name)
        shown = name.rpartition("}")[2]
        if parent is None:
            raise self.error(f"not GraphML: the root element is <{shown}>, not <graphml>")
        if parent == "data" or parent == "default":
            raise self.error(
                f"<{parent}> holds an element <{shown}>; only text values can be read "
                "(networkx.read_graphml reads yEd graphics)"
            )
        if parent is _SKIP or tag is None or tag == "desc":
            self.stack.append(_SKIP)
            return
        raise self.error(_UNSUPPORTED.get((parent, tag), f"unexpected <{tag}> in <{parent}>"))

    def end(self, name: str) -> None:
        """Close an element (expat's ``EndElementHandler``)."""
        handler = _ENDS.get(self.stack.pop())
        if handler is not None:
            handler(self)

    def chars(self, data: str) -> None:
        """Collect text inside ``<data>`` and ``<default>`` (``CharacterDataHandler``)."""
        if self.text is not None:
            self.text.append(data)

    # elements ---------------------------------------------------------------------------

    def key(self, attrs: dict[str, str]) -> None:
        kid = attrs.get("id")
        if kid is None:
            raise self.error("<key> without an id")
        if kid in self.keys:
            raise self.error(f"key id {kid!r} is declared twice")
        if self.graph_seen:
            raise self.error(f"key {kid!r} is declared after the <graph>; keys come first")
        domain = attrs.get("for", "all")
        if domain == "all":
            raise self.error(f'key {kid!r} is for="all"; declare one key per domain')
        type_ = attrs.get("attr.type", "string")
        if type_ not in NATIVE_PARSE:
            raise self.error(f"key {kid!r} has the unknown attr.type {type_!r}")
        line = self.parser.CurrentLineNumber
        self.keys[kid] = _Key(kid, domain, attrs.get("attr.name", kid), type_, line)

    def default(self, attrs: dict[str, str]) -> None:
        self.text = []

    def default_end(self) -> None:
        self.keys[next(reversed(self.keys))].default = "".join(self.text)
        self.text = None

    def graphml_end(self) -> None:
        if not self.graph_seen:
            raise self.error("the file holds no <graph> element")

    def graph(self, attrs: dict[str, str]) -> None:
        if self.graph_seen:
            raise self.error(
                "the file holds several graphs; graphnn reads one graph per file "
                "(networkx.read_graphml reads them all)"
            )
        self.graph_seen = True
        if attrs.get("edgedefault") != "directed":
            raise self.error(
                f"the graph is undirected (edgedefault is not 'directed'); {_UNDIRECTED}"
            )

    def node(self, attrs: dict[str, str]) -> None:
        if not self.frozen:
            self.freeze()
        nid = attrs.get("id")
        if nid is None:
            raise self.error("<node> without an id")
        if nid in self.ids:
            raise self.error(f"duplicate node id {nid!r}")
        self.ids[nid] = self.node_id = self.label = nid
        self.element = {}

    def node_end(self) -> None:
        attrs, label = self.element, self.label
        for key in self.defaults["node"]:
            if key.name not in attrs:
                attrs[key.name] = key.parse(key.default)
        try:
            taken = label is None or label in self.nodes
        except TypeError:  # unhashable
            taken = True
        if taken:
            raise self.error(f"node {self.node_id!r} has the label {label!r}: None or taken")
        self.nodes[label] = attrs
        self.ids[self.node_id] = label

    def edge(self, attrs: dict[str, str]) -> None:
        if not self.frozen:
            self.freeze()
        source, target = attrs.get("source"), attrs.get("target")
        if source is None or target is None:
            raise self.error("<edge> without a source or a target")
        self.element = element = {}
        if len(attrs) > 2:
            if attrs.get("directed") == "false":
                raise self.error(f"edge {source!r} -> {target!r} is undirected; {_UNDIRECTED}")
            if "sourceport" in attrs or "targetport" in attrs:
                raise self.error("ports are not supported")
            if "id" in attrs:
                element["id"] = attrs["id"]
        ids, line = self.ids, self.parser.CurrentLineNumber
        try:
            self.edges.append((ids[source], ids[target], element))
        except KeyError:  # a node declared later: resolved at </graph>
            self.forward.append((len(self.edges), source, target, line))
            self.edges.append((source, target, element))
        self.edge_lines.append(line)

    def edge_end(self) -> None:
        attrs = self.element
        for key in self.defaults["edge"]:
            if key.name not in attrs:
                attrs[key.name] = key.parse(key.default)

    def data(self, attrs: dict[str, str]) -> None:
        kid = attrs.get("key")
        key = self.keys.get(kid)
        if key is None:
            raise self.error(f"<data> with the key {kid!r}, which no <key> declares")
        parent = self.stack[-2]
        if key.domain != parent:
            raise self.error(f"key {kid!r} is declared for={key.domain!r} but used in <{parent}>")
        self.data_key, self.data_line, self.text = key, self.parser.CurrentLineNumber, []

    def data_end(self) -> None:
        text, key = "".join(self.text), self.data_key
        self.text = None
        if self.stack[-1] == "graph":
            if key.id == META_KEY:
                self.read_meta(text, self.data_line)
            else:
                self.graph_data.append((key, text, self.data_line))
            return
        try:
            value = key.parse(text)
        except ValueError:
            value = self.value(key, text, self.data_line)  # raises the error
        if key is self.label_key:
            self.label = value
        elif key.name in self.element:
            raise self.error(f"two values for {key.name!r} in one element")
        else:
            self.element[key.name] = value

    def graph_end(self) -> None:
        if not self.frozen:
            self.freeze()
        G = nx.DiGraph()
        for key, text, line in self.graph_data:
            if key.name in G.graph:
                raise self.error(f"two values for the graph attribute {key.name!r}", line)
            G.graph[key.name] = self.value(key, text, line)
        for key in self.defaults["graph"]:
            G.graph.setdefault(key.name, key.parse(key.default))
        G.add_nodes_from(self.nodes.items())
        ids, edges = self.ids, self.edges
        for i, source, target, line in self.forward:
            for nid in (source, target):
                if nid not in ids:
                    raise self.error(
                        f"an edge names the node id {nid!r}, which no <node> has", line
                    )
            edges[i] = (ids[source], ids[target], edges[i][2])
        G.add_edges_from(edges)
        if G.number_of_edges() < len(edges):
            self.raise_parallel_edge()
        self.G = G

    # helpers ----------------------------------------------------------------------------

    def value(self, key: _Key, text: str, line: int) -> object:
        """Parse the text of a ``<data>`` or ``<default>`` of ``key``."""
        try:
            return key.parse(text)
        except ValueError as err:
            shown = text if len(text) <= 60 else text[:57] + "..."
            kind = "graphnn tagged value" if key.parse is decode else key.type
            raise self.error(
                f"key {key.id!r} ({key.name!r}): {shown!r} is not a valid {kind}: {err}", line
            ) from None

    def raise_parallel_edge(self) -> None:
        seen = set()
        for (u, v, _), line in zip(self.edges, self.edge_lines, strict=True):
            if (u, v) in seen:
                raise self.error(
                    f"parallel edge {u!r} -> {v!r}: a DiGraph holds one edge per pair "
                    "(networkx.read_graphml reads multigraphs)",
                    line,
                )
            seen.add((u, v))

    def read_meta(self, text: str, line: int) -> None:
        """Check the ``graphnn_format`` entry: format, version, key ids."""
        if self.frozen or self.meta is not None:
            raise self.error("the graphnn_format entry must come once, before any node", line)
        try:
            meta = json.loads(text)
        except ValueError:
            meta = None
        if type(meta) is not dict or meta.get("format") != FORMAT:
            raise self.error(f"malformed graphnn_format entry {text[:60]!r}", line)
        version, tagged, names = meta.get("version"), meta.get("tagged"), meta.get("names", {})
        if type(version) is not int or type(tagged) is not list or type(names) is not dict:
            raise self.error(f"malformed graphnn_format entry {text[:60]!r}", line)
        if version > VERSION:
            raise self.error(
                f"written by a newer graphnn (format version {version}); this graphnn reads "
                f"versions up to {VERSION}: upgrade graphnn",
                line,
            )
        if not all(type(kid) is str and kid in self.keys for kid in [*tagged, *names]):
            raise self.error(f"the graphnn_format entry names undeclared keys: {text!r}", line)
        self.meta = meta

    def freeze(self) -> None:
        """Settle what every key means, before the first node or edge."""
        self.frozen = True
        if self.meta is not None:
            for kid in self.meta["tagged"]:
                self.keys[kid].parse = decode
            for kid, tree in self.meta.get("names", {}).items():
                try:
                    name = from_tree(tree)
                    hash(name)
                except (ValueError, TypeError) as err:
                    raise self.error(f"malformed name of key {kid!r}: {err}") from None
                self.keys[kid].name = name
            self.label_key = self.keys.get(LABEL_KEY)
            if self.label_key is not None:
                self.label_key.parse = decode
        for key in self.keys.values():
            if (
                key.default is not None
                and key is not self.label_key
                and key.domain in self.defaults
            ):
                self.value(key, key.default, key.line)
                self.defaults[key.domain].append(key)


_STARTS: dict[tuple[str | None, str], tuple[str, Callable[[GraphMLReader, dict], None]]] = {
    (parent, name): (tag, handler)
    for (parent, tag), handler in {
        (None, "graphml"): lambda self, attrs: None,
        ("graphml", "key"): GraphMLReader.key,
        ("key", "default"): GraphMLReader.default,
        ("graphml", "graph"): GraphMLReader.graph,
        ("graph", "node"): GraphMLReader.node,
        ("graph", "edge"): GraphMLReader.edge,
        ("node", "data"): GraphMLReader.data,
        ("edge", "data"): GraphMLReader.data,
        ("graph", "data"): GraphMLReader.data,
    }.items()
    for name in (tag, f"{NS}}}{tag}")
}
_ENDS: dict[str, Callable[[GraphMLReader], None]] = {
    "graphml": GraphMLReader.graphml_end,
    "default": GraphMLReader.default_end,
    "node": GraphMLReader.node_end,
    "edge": GraphMLReader.edge_end,
    "data": GraphMLReader.data_end,
    "graph": GraphMLReader.graph_end,
}
