r"""Read and write structures as GraphML, exactly.

:func:`write_graphml` writes any ``networkx.DiGraph`` so that
:func:`read_graphml` gives back the same graph: node labels and every
attribute value keep their Python types, and nodes and edges keep their
order (``assert_graphs_equal(read_graphml(p), G)`` holds).  The files are
standard GraphML: ``networkx.read_graphml`` and igraph load them, with plain
scalar attributes in their native GraphML types.

Writing is streamed text; reading is a small state machine on
``xml.parsers.expat``, so neither builds a tree of the whole document.

The file
--------
* Node ids are ``str(label)`` when those strings are all different,
  non-empty and XML-safe, else ``n0``, ``n1``, ... in node order.  A node
  whose label is not exactly its id string carries its typed label in the
  data key with id ``graphnn_label`` (``attr.name="graphnn.label"``).
* Every user attribute gets a key ``d0``, ``d1``, ... per domain (graph,
  node, edge) and name.  When all values of an attribute are plain ``bool``,
  ``int`` within 64 bits, ``float`` (not subnormal: igraph refuses those) or
  XML-safe ``str``, the key is declared natively (``boolean``, ``long``,
  ``double``, ``string``) and the values are plain text (``repr`` for
  floats, so ``0.1``, ``-0.0``, ``nan`` and ``inf`` are exact).  Otherwise
  the key is ``string`` and every value is *tagged*.
* The graph's first data entry (key id ``graphnn_format``) is a JSON object:
  ``{"format": "graphnn-graphml", "version": 1, "tagged": [key ids],
  "names": {key id: tagged name}}``.  ``attr.name`` is unique per domain
  (igraph needs that); where it cannot be the exact name (a name that is
  not a string, not XML-safe, or already shown, e.g. ``1`` and ``"1"``) it
  is a readable stand-in and ``names`` holds the exact name.  graphnn's own
  keys are told apart from user keys by their id, so a user attribute
  called ``"graphnn.label"`` is read back as a user attribute.

Tagged values are compact ASCII JSON.  ``null``, ``true``, ``false``,
integers (of any size), finite floats, strings and arrays (Python lists) are
themselves; every other value is a one-key object that names its type:

=============================  ================================================
value                          tagged JSON
=============================  ================================================
``(1, "a")``                   ``{"tuple":[1,"a"]}``
``{1, 2}``, ``frozenset()``    ``{"set":[1,2]}``, ``{"frozenset":[]}``
``{(0, 1): "x"}``              ``{"dict":[[{"tuple":[0,1]},"x"]]}``
``float("-inf")``              ``{"float":"-inf"}`` (also ``"nan"``, ``"inf"``)
``1 + 2j``                     ``{"complex":[1.0,2.0]}``
``b"\x00\xff"``                ``{"bytes":"AP8="}`` (base64)
``np.float32(1.5)``            ``{"numpy":["<f4","AADAPw=="]}``
``np.arange(2, dtype="<i2")``  ``{"ndarray":["<i2",[2],"AAABAA=="]}``
=============================  ================================================

numpy values carry their dtype string and shape and the base64 of their
bytes (C order, in the byte order the dtype names; ``<`` is little-endian).

Reading files that graphnn did not write (no ``graphnn_format`` entry)
follows the GraphML standard: labels are the id strings, values are
converted by ``attr.type`` (``boolean``, ``int``, ``long``, ``float``,
``double``, ``string``), key ``<default>`` values fill in missing data and
an edge's ``id`` becomes its ``"id"`` attribute.

Examples
--------
>>> import io
>>> import networkx as nx
>>> G = nx.DiGraph()
>>> G.add_edge(("x", 0), "h", weight=0.5)
>>> G.add_edge("h", "y", weight=-1.0)
>>> buffer = io.BytesIO()
>>> write_graphml(G, buffer)
>>> print(*buffer.getvalue().decode().splitlines()[7:10], sep="\n")
    <node id="('x', 0)"><data key="graphnn_label">{"tuple":["x",0]}</data></node>
    <node id="h"/>
    <node id="y"/>
>>> _ = buffer.seek(0)
>>> list(read_graphml(buffer).edges(data=True))
[(('x', 0), 'h', {'weight': 0.5}), ('h', 'y', {'weight': -1.0})]
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import BinaryIO

import networkx as nx

from graphnn._validation import require_digraph
from graphnn.structure._graphml_reader import (
    FORMAT,
    LABEL_KEY,
    META_KEY,
    NS,
    VERSION,
    GraphMLReader,
)
from graphnn.structure._graphml_values import (
    NATIVE_TEXT,
    encode,
    escape_attr,
    escape_text,
    native_type,
    to_tree,
    xml_safe,
)

__all__ = ["write_graphml", "read_graphml", "FORMAT", "VERSION"]

_HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<graphml xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    f'xsi:schemaLocation="{NS} {NS}/1.0/graphml.xsd">\n'
    f'  <key id="{META_KEY}" for="graph" attr.name="graphnn.format" attr.type="string"/>\n'
)
_LABEL_DECLARATION = (
    f'  <key id="{LABEL_KEY}" for="node" attr.name="graphnn.label" attr.type="string"/>\n'
)
_GZIP_MAGIC = b"\x1f\x8b"
_UNSEEN = object()


# --- writing ---------------------------------------------------------------------------


def write_graphml(G: nx.DiGraph, path: str | os.PathLike | BinaryIO) -> None:
    """Write a directed graph to a GraphML file that reads back exactly.

    Parameters
    ----------
    G : networkx.DiGraph
        Any directed graph (it need not be a valid structure: cycles are
        fine).  Labels and attribute values may be None, bool, int, float,
        complex, str, bytes, list, tuple, dict, set, frozenset, numpy scalars
        and numpy arrays of plain (non-object) dtypes, nested freely.
    path : str, os.PathLike or binary file object
        Where to write.  A path ending in ``.gz`` is gzip-compressed.

    Raises
    ------
    StructureError
        If ``G`` is a multigraph or undirected.
    TypeError
        If a label, attribute name or value has a type that cannot be written
        exactly; the message names the node, edge or graph and the attribute.
        A file named by ``path`` is then removed; a file object may hold part
        of the document.

    Examples
    --------
    >>> import io
    >>> import networkx as nx
    >>> import numpy as np
    >>> G = nx.DiGraph(name="net")
    >>> G.add_edge(0, 1, weight=np.float32(0.25), kernel=np.eye(2))
    >>> buffer = io.BytesIO()
    >>> write_graphml(G, buffer)
    >>> _ = buffer.seek(0)
    >>> H = read_graphml(buffer)
    >>> w = H.edges[0, 1]["weight"]
    >>> type(w).__name__, float(w), H.graph
    ('float32', 0.25, {'name': 'net'})
    >>> write_graphml(nx.DiGraph([(0, 1)], note=object()), io.BytesIO())
    Traceback (most recent call last):
    ...
    TypeError: graph: attribute 'note': values of type builtins.object cannot be written ...

    Notes
    -----
    No document tree is built: the text is produced and written in chunks,
    and only the node ids and the key plan are held for the whole graph.
    """
    require_digraph(G)
    with _binary_sink(path) as write:
        chunk: list[str] = []
        for part in _document(G):
            chunk.append(part)
            if len(chunk) >= 4096:
                write("".join(chunk).encode())
                chunk.clear()
        write("".join(chunk).encode())


def _document(G: nx.DiGraph) -> Iterator[str]:
    ids, labelled = _node_ids(G)
    keys, formats, tagged, names = _declare_keys(
        {
            "graph": _attribute_types([G.graph]),
            "node": _attribute_types(d for _, d in G.nodes(data=True)),
            "edge": _attribute_types(d for _, _, d in G.edges(data=True)),
        },
        shown={
            "graph": {"graphnn.format"},
            "node": {"graphnn.label"} if labelled else set(),
            "edge": set(),
        },
    )
    meta = {"format": FORMAT, "version": VERSION, "tagged": tagged}
    if names:
        meta["names"] = names
    yield _HEADER
    if labelled:
        yield _LABEL_DECLARATION
    yield from keys
    yield '  <graph edgedefault="directed">\n'
    meta_text = escape_text(json.dumps(meta, separators=(",", ":")))
    yield f'    <data key="{META_KEY}">{meta_text}</data>\n'
    try:
        data = _data_xml(G.graph, formats["graph"])
    except TypeError as err:
        raise TypeError(f"graph: {err}") from None
    if data:
        yield f"    {data}\n"
    node_formats, edge_formats = formats["node"], formats["edge"]
    for v, d in G.nodes(data=True):
        try:
            data = (_label_xml(v) if v in labelled else "") + _data_xml(d, node_formats)
        except TypeError as err:
            raise TypeError(f"node {v!r}: {err}") from None
        yield f'    <node id="{ids[v]}">{data}</node>\n' if data else f'    <node id="{ids[v]}"/>\n'
    for u, v, d in G.edges(data=True):
        head = f'    <edge source="{ids[u]}" target="{ids[v]}"'
        if not d:
            yield f"{head}/>\n"
            continue
        try:
            yield f"{head}>{_data_xml(d, edge_formats)}</edge>\n"
        except TypeError as err:
            raise TypeError(f"edge {u!r} -> {v!r}: {err}") from None
    yield "  </graph>\n</graphml>\n"


def _node_ids(G: nx.DiGraph) -> tuple[dict[Hashable, str], set[Hashable]]:
    """Escaped id of every node, and the nodes whose label is not their id string."""
    texts = {v: str(v) for v in G}
    if len(set(texts.values())) == len(texts) and all(t and xml_safe(t) for t in texts.values()):
        return (
            {v: escape_attr(text) for v, text in texts.items()},
            {v for v in G if type(v) is not str},
        )
    return {v: f"n{i}" for i, v in enumerate(G)}, set(G)


def _attribute_types(dicts: Iterable[dict]) -> dict[Hashable, str | None]:
    """Return the native type all values of each attribute share, or None (tagged)."""
    types: dict[Hashable, str | None] = {}
    for d in dicts:
        for name, value in d.items():
            seen = types.get(name, _UNSEEN)
            if seen is not None:
                kind = native_type(value)
                types[name] = kind if seen is _UNSEEN or seen == kind else None
    return types


def _tagged_text(value: object) -> str:
    return escape_text(encode(value))


def _declare_keys(domains: dict[str, dict], shown: dict[str, set[str]]) -> tuple:
    """``<key>`` lines, per-domain ``{name: (data tag, value -> text)}``, tagged ids, names.

    ``attr.name`` is the name itself when it is an XML-safe string not yet
    shown in its domain (``shown`` starts with graphnn's own names): other
    readers, igraph among them, need one key per name.  Otherwise it is a
    readable stand-in, and the exact name goes to the ``names`` metadata.
    """
    lines: list[str] = []
    formats: dict[str, dict] = {}
    tagged: list[str] = []
    names: dict[str, object] = {}
    for domain, types in domains.items():
        formats[domain] = {}
        for name, kind in types.items():
            kid = f"d{len(lines)}"
            text = name if type(name) is str else repr(name)
            text = text if xml_safe(text) else ascii(name)
            while text in shown[domain]:
                text = f"{text} ({kid})"
            shown[domain].add(text)
            if type(name) is not str or text != name:
                try:
                    names[kid] = to_tree(name)
                except TypeError as err:
                    raise TypeError(f"{domain} attribute name {name!r}: {err}") from None
            if kind is None:
                tagged.append(kid)
            lines.append(
                f'  <key id="{kid}" for="{domain}" attr.name="{escape_attr(text)}" '
                f'attr.type="{kind or "string"}"/>\n'
            )
            formats[domain][name] = (
                f'<data key="{kid}">',
                _tagged_text if kind is None else NATIVE_TEXT[kind],
            )
    return lines, formats, tagged, names


def _label_xml(label: Hashable) -> str:
    try:
        return f'<data key="{LABEL_KEY}">{escape_text(encode(label))}</data>'
    except TypeError as err:
        raise TypeError(f"label: {err}") from None


def _data_xml(attrs: dict, formats: dict) -> str:
    parts = []
    for name, value in attrs.items():
        tag, text = formats[name]
        try:
            parts.append(f"{tag}{text(value)}</data>")
        except TypeError as err:
            raise TypeError(f"attribute {name!r}: {err}") from None
    return "".join(parts)


@contextmanager
def _binary_sink(path: str | os.PathLike | BinaryIO) -> Iterator[Callable[[bytes], object]]:
    if hasattr(path, "write"):
        _require_binary(path, "write_graphml", "wb")
        yield path.write
        return
    name = os.fspath(path)
    gz = name.endswith(b".gz" if isinstance(name, bytes) else ".gz")
    opened = False
    try:
        with gzip.GzipFile(name, "wb", compresslevel=6, mtime=0) if gz else open(name, "wb") as f:
            opened = True
            yield f.write
    except BaseException:
        if opened:
            os.remove(name)  # no half-written file stays behind
        raise


def _require_binary(f: object, func: str, mode: str) -> None:
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"{func} needs a binary file object (open the file with {mode!r})")


# --- reading ---------------------------------------------------------------------------


def read_graphml(path: str | os.PathLike | BinaryIO) -> nx.DiGraph:
    """Read a directed graph from a GraphML file.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        The file; gzip-compressed content is recognised by its magic bytes.

    Returns
    -------
    networkx.DiGraph
        For a file written by :func:`write_graphml`, the graph that was
        written, exactly.  For other GraphML files: nodes labelled by their id
        strings in file order, attributes converted by their key's
        ``attr.type``, key defaults filled in.

    Raises
    ------
    GraphMLError
        If the file cannot be read exactly: not well-formed XML or truncated,
        not GraphML, no graph or several, an undirected graph or edge, nested
        graphs, hyperedges or ports, a duplicate node id, parallel edges, an
        edge to an undeclared node, data with an undeclared key or a key of
        another domain, a value that does not parse, a malformed key, or a
        file written by a newer graphnn.  The message starts with
        ``file:line:``.

    Examples
    --------
    >>> import io
    >>> text = b'''<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
    ... <key id="w" for="edge" attr.name="weight" attr.type="double">
    ...   <default>1.0</default></key>
    ... <graph edgedefault="directed">
    ...   <node id="a"/><node id="b"/>
    ...   <edge source="a" target="b"/>
    ... </graph></graphml>'''
    >>> list(read_graphml(io.BytesIO(text)).edges(data=True))
    [('a', 'b', {'weight': 1.0})]
    >>> read_graphml(io.BytesIO(text.replace(b"directed", b"undirected")))
    Traceback (most recent call last):
    ...
    graphnn.exceptions.GraphMLError: <stream>:4: the graph is undirected ...

    Notes
    -----
    ``<default>`` values are filled into the elements that lack the data, as
    the GraphML specification says (``networkx.read_graphml`` instead keeps
    them apart in ``G.graph["node_default"]`` and ``["edge_default"]``).
    The cyclic garbage collector is paused while a file is read: the reader
    makes no reference cycles, and collections would only slow it down.
    """
    with ExitStack() as stack:
        if hasattr(path, "read"):
            _require_binary(path, "read_graphml", "rb")
            f, name = path, getattr(path, "name", None)
            source = name if isinstance(name, str) else "<stream>"
        else:
            source = os.fsdecode(path)
            f = stack.enter_context(open(path, "rb"))
        if _is_gzip(f):
            f = stack.enter_context(gzip.GzipFile(fileobj=f, mode="rb"))
        return GraphMLReader(source).parse(f)


def _is_gzip(f: BinaryIO) -> bool:
    if hasattr(f, "peek"):
        return f.peek(2)[:2] == _GZIP_MAGIC
    start = f.tell()
    magic = f.read(2)
    f.seek(start)
    return magic == _GZIP_MAGIC
