"""Attribute values as GraphML text: native scalars and the type-tagged encoding.

A value is written either *natively* (the plain text of a GraphML
``boolean``, ``long``, ``double`` or ``string``) or *tagged*: the JSON text of
a small tree that says every type (see :mod:`graphnn.structure.graphml` for
the table).  This module turns values into text and back; the XML around the
text is the business of :mod:`graphnn.structure.graphml`.
"""

from __future__ import annotations

import base64
import json
import math
import re
import sys
from collections.abc import Callable

import numpy as np

__all__ = [
    "native_type",
    "NATIVE_TEXT",
    "NATIVE_PARSE",
    "encode",
    "decode",
    "to_tree",
    "from_tree",
    "xml_safe",
    "escape_text",
    "escape_attr",
]

_INT64 = 1 << 63
_MIN_NORMAL = sys.float_info.min
#: Characters that XML 1.0 cannot hold, not even as a character reference.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: numpy dtype kinds whose arrays are plain bytes: bool, ints, floats, complex,
#: timedelta, datetime, bytes, str (not object ``O`` or structured ``V``).
_ARRAY_KINDS = "biufcmMSU"


def xml_safe(text: str) -> bool:
    """Whether XML 1.0 can hold ``text`` (no NUL, most C0 controls, surrogates)."""
    return _NOT_XML.search(text) is None


def escape_text(text: str) -> str:
    """Escape XML-safe ``text`` for element content; a CR survives as ``&#13;``."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def escape_attr(text: str) -> str:
    """Escape XML-safe ``text`` for a double-quoted attribute value."""
    return escape_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def native_type(value: object) -> str | None:
    """Return the GraphML ``attr.type`` that holds ``value`` exactly, else ``None``.

    Only the exact built-in types qualify (``numpy.float64`` is a ``float``
    subclass, but it must come back as ``numpy.float64``, so it is tagged),
    and only values that common GraphML readers parse: no subnormal floats.
    """
    t = type(value)
    if t is float:  # subnormals are tagged: igraph's reader refuses them
        return "double" if not 0.0 < abs(value) < _MIN_NORMAL else None
    if t is bool:
        return "boolean"
    if t is int:
        return "long" if -_INT64 <= value < _INT64 else None
    if t is str:
        return "string" if xml_safe(value) else None
    return None


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "1"):
        return True
    if word in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not a boolean (true or false)")


#: ``attr.type`` -> value -> text, for values :func:`native_type` accepts.
NATIVE_TEXT: dict[str, Callable[[object], str]] = {
    "boolean": {True: "true", False: "false"}.__getitem__,
    "long": int.__repr__,
    "double": float.__repr__,  # repr is exact: "0.1", "-0.0", "nan", "inf"
    "string": escape_text,
}

#: ``attr.type`` -> text -> value, for every type the GraphML standard names.
NATIVE_PARSE: dict[str, Callable[[str], object]] = {
    "boolean": _parse_bool,
    "int": int,
    "long": int,
    "float": float,
    "double": float,
    "string": str,
}


# --- the tagged tree -----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _dtype_name(dtype: np.dtype) -> str:
    """``dtype.str`` (``'<f4'``), or byte order + char where ``str`` is ambiguous."""
    name = dtype.str
    if np.dtype(name).type is not dtype.type:  # e.g. longlong vs int64, both '<i8'
        name = name[0] + dtype.char
    return name


def _array_tree(x: np.ndarray) -> dict:
    if x.dtype.kind not in _ARRAY_KINDS:
        raise TypeError(f"numpy arrays of dtype {x.dtype} cannot be written (only plain data)")
    return {"ndarray": [_dtype_name(x.dtype), list(x.shape), _b64(x.tobytes())]}


def _scalar_tree(x: np.generic) -> dict:
    if x.dtype.kind not in _ARRAY_KINDS:
        raise TypeError(f"numpy scalars of dtype {x.dtype} cannot be written")
    return {"numpy": [_dtype_name(x.dtype), _b64(x.tobytes())]}


def _items(x: object) -> list:
    return [to_tree(item) for item in x]


_TO_TREE: dict[type, Callable[[object], object]] = {
    list: _items,
    tuple: lambda x: {"tuple": _items(x)},
    set: lambda x: {"set": _items(x)},
    frozenset: lambda x: {"frozenset": _items(x)},
    dict: lambda x: {"dict": [[to_tree(k), to_tree(v)] for k, v in x.items()]},
    complex: lambda x: {"complex": [to_tree(x.real), to_tree(x.imag)]},
    bytes: lambda x: {"bytes": _b64(x)},
    np.ndarray: _array_tree,
}


def to_tree(value: object) -> object:
    """Return the JSON-ready tagged tree of ``value``.

    Raises
    ------
    TypeError
        If ``value`` holds a type that cannot be written exactly.
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    to = _TO_TREE.get(t)
    if to is not None:
        return to(value)
    if isinstance(value, np.generic):
        return _scalar_tree(value)
    raise TypeError(
        f"values of type {t.__module__}.{t.__qualname__} cannot be written to GraphML "
        "(supported: None, bool, int, float, complex, str, bytes, list, tuple, dict, set, "
        "frozenset, numpy scalars and numpy arrays of plain dtypes)"
    )


def encode(value: object) -> str:
    """Return the tagged text of ``value``: compact ASCII JSON (so always XML-safe).

    Examples
    --------
    >>> encode((1, 2.5, None))
    '{"tuple":[1,2.5,null]}'
    >>> decode(encode({"a": float("-inf")}))
    {'a': -inf}
    """
    return json.dumps(to_tree(value), separators=(",", ":"), allow_nan=False)


def _list(payload: object) -> list:
    if type(payload) is not list:
        raise ValueError(f"expected a list, got {payload!r}")
    return [_value(item) for item in payload]


def _float(payload: object) -> float:
    if type(payload) is not str:
        raise ValueError(f"expected a float as text, got {payload!r}")
    return float(payload)


def _complex(payload: object) -> complex:
    real, imag = _list(payload)
    if type(real) is not float or type(imag) is not float:
        raise ValueError(f"complex parts must be floats, got {payload!r}")
    return complex(real, imag)


def _bytes(payload: object) -> bytes:
    if type(payload) is not str:
        raise ValueError(f"expected base64 text, got {payload!r}")
    return base64.b64decode(payload, validate=True)


def _dtype(name: object) -> np.dtype:
    dtype = np.dtype(name) if type(name) is str else None
    if dtype is None or dtype.kind not in _ARRAY_KINDS:
        raise ValueError(f"{name!r} is not a plain numpy dtype")
    return dtype


def _array(payload: object) -> np.ndarray:
    name, shape, data = payload
    if type(shape) is not list or any(type(n) is not int for n in shape):
        raise ValueError(f"bad array shape {shape!r}")
    return np.frombuffer(_bytes(data), dtype=_dtype(name)).reshape(shape).copy()


def _scalar(payload: object) -> np.generic:
    name, data = payload
    (value,) = np.frombuffer(_bytes(data), dtype=_dtype(name))
    return value


_FROM_TREE: dict[str, Callable[[object], object]] = {
    "tuple": lambda p: tuple(_list(p)),
    "set": lambda p: set(_list(p)),
    "frozenset": lambda p: frozenset(_list(p)),
    "dict": lambda p: {_value(k): _value(v) for k, v in p},
    "complex": _complex,
    "float": _float,
    "bytes": _bytes,
    "ndarray": _array,
    "numpy": _scalar,
}


def _value(tree: object) -> object:
    if type(tree) is list:
        return [_value(item) for item in tree]
    if type(tree) is not dict:
        return tree
    if len(tree) != 1:
        raise ValueError(f"a tagged value has exactly one tag, got {list(tree)}")
    ((tag, payload),) = tree.items()
    if tag not in _FROM_TREE:
        raise ValueError(f"unknown tag {tag!r}")
    return _FROM_TREE[tag](payload)


def from_tree(tree: object) -> object:
    """Return the value of a tagged tree (the inverse of :func:`to_tree`).

    Raises
    ------
    ValueError
        If the tree is malformed (whatever is wrong with it, only
        ``ValueError`` escapes).
    """
    try:
        return _value(tree)
    except (TypeError, KeyError, RecursionError) as err:
        raise ValueError(f"{type(err).__name__}: {err}") from None


def decode(text: str) -> object:
    """Return the value of a tagged text (the inverse of :func:`encode`).

    Raises
    ------
    ValueError
        If ``text`` is not valid JSON or not a valid tagged tree.
    """
    try:
        tree = json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    return from_tree(tree)
