"""Read and write OFF meshes: the whole family as met in the wild, checked line by line.

:func:`read_off` reads Geomview's object file format and its variants into a
:class:`~graphnn.sparse3d.mesh.mesh.Mesh`; :func:`write_off` writes a mesh so that
``read_off`` gives it back exactly (``read_off(f) == m`` after
``write_off(m, f)``).

The file
--------
* The header keyword is ``[ST][C][N][4][n]OFF`` (in that order): ``ST``
  texture coordinates, ``C`` vertex colours, ``N`` vertex normals, ``n`` a
  dimension given as the next number, ``4`` homogeneous coordinates.  Only
  3-D vertices are read: ``nOFF`` with dimension 3 is plain ``OFF``;
  ``4OFF`` and other dimensions are refused, as is ``OFF BINARY``.
* Then the counts ``V F [E]`` (``E``, the edge count, is optional and
  ignored), on the header line (``OFF 8 6 12``, or glued to it as in the
  ModelNet files, ``OFF8 6 12``) or on the next line.
* Then one vertex per line: ``x y z``, then ``nx ny nz`` if ``N``, then a
  colour of 1 to 4 numbers if ``C`` (the same count on every line), then
  ``s t`` if ``ST``.
* Then one face per line: ``n i_1 ... i_n`` with ``n >= 3`` and indices in
  ``[0, V)``, then an optional colour of 0 to 4 numbers (a colour-map index,
  grey, RGB or RGBA; the count may change from face to face).
* ``#`` starts a comment that runs to the end of the line, anywhere; blank
  lines, CRLF or CR line ends, tabs and other ASCII whitespace are fine.
* Lines after the ``F``-th face are ignored unread (some exporters append
  edges or other data there).
* Numbers are read as written.  Colours are not rescaled: files use both
  0-255 integers and 0-1 floats, and the mesh keeps whichever it got.
  Every value must be finite.

What the mesh holds
-------------------
A polygon ``(v_0, ..., v_{n-1})`` becomes the fan of triangles
``(v_0, v_i, v_{i+1})`` for ``i = 1 .. n-2``, in file order, and each of its
triangles repeats its colour.  ``face_colors`` is float64 ``[F, k]`` where
``k`` is the longest colour in the file, with NaN after a shorter colour's
values (and ``None`` when no face has a colour).  Degenerate (zero-area)
faces are kept as written: :attr:`Mesh.degenerate` marks them and
:meth:`Mesh.without_degenerate` drops them; their normals are zero, never
NaN.

Reading checks the whole file before it returns, so it never gives back half
a mesh: a file that cannot be read raises :class:`OFFError`, whose message
starts ``FILE:LINE:`` and says what is wrong and what is accepted.  Parsing
is numpy's (``numpy.loadtxt`` over whole blocks) and the checks are
vectorised: no Python loop runs per vertex or face, except to find the bad
value in a block that numpy could not read.

Examples
--------
>>> import io
>>> text = b'''OFF  # a unit square, as one quad
... 4 1 0
... 0 0 0
... 1 0 0
... 1 1 0
... 0 1 0
... 4 0 1 2 3  255 0 0
... '''
>>> mesh = read_off(io.BytesIO(text))
>>> mesh
Mesh(4 vertices, 2 faces; face_colors [2, 3])
>>> mesh.faces
array([[0, 1, 2],
       [0, 2, 3]])
>>> buffer = io.BytesIO()
>>> write_off(mesh, buffer)
>>> print(buffer.getvalue().decode(), end="")
OFF
4 2 0
0.0 0.0 0.0
1.0 0.0 0.0
1.0 1.0 0.0
0.0 1.0 0.0
3 0 1 2 255.0 0.0 0.0
3 0 2 3 255.0 0.0 0.0
>>> read_off(io.BytesIO(text.replace(b"4 0 1 2 3  255 0 0", b"4 0 1 2")))
Traceback (most recent call last):
...
graphnn.exceptions.OFFError: <stream>:7: face says it has 4 vertices but lists 3 indices
"""

from __future__ import annotations

import gzip
import io
import os
import re
from typing import IO

import numpy as np

from graphnn.exceptions import OFFError
from graphnn.sparse3d.mesh.mesh import Mesh

__all__ = ["OFFError", "read_off", "write_off"]

_HEADER = re.compile(rb"(ST)?(C)?(N)?(4)?(n)?OFF")
_COMMENT = re.compile(rb"#[^\n\r]*")
_INTEGER = re.compile(rb"[+-]?\d+")
_NUMBER = re.compile(rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|(?i:inf|infinity|nan))")
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_COLOR = 4


# --- reading ---------------------------------------------------------------------------


def read_off(path_or_file: str | os.PathLike | IO) -> Mesh:
    r"""Read a mesh from an OFF file (any of the variants in the module notes).

    Parameters
    ----------
    path_or_file : str, os.PathLike or file object
        A path, or a file object open for reading in binary or text mode.
        Gzip-compressed data (``.off.gz``) is recognised by its first bytes.

    Returns
    -------
    Mesh
        Triangles (polygons fan-triangulated), with the vertex and face
        fields the file has.

    Raises
    ------
    OFFError
        When the file is not a valid OFF file; the message names the file
        and line.

    Examples
    --------
    >>> import io
    >>> read_off(io.StringIO("OFF3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")).faces
    array([[0, 1, 2]])
    >>> read_off(io.StringIO("OFF\n3 1\n0 0 0\n1 0 0\n0 1\n3 0 1 2\n"))
    Traceback (most recent call last):
    ...
    graphnn.exceptions.OFFError: <stream>:5: vertex line has 2 values; OFF needs 3 (x y z)
    """
    name, data = _read_bytes(path_or_file)
    return _Reader(name, data).mesh()


def _read_bytes(path_or_file: str | os.PathLike | IO) -> tuple[str | None, bytes]:
    if hasattr(path_or_file, "read"):
        data = path_or_file.read()
        name = getattr(path_or_file, "name", None)
        name = name if isinstance(name, str) else None
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
    else:
        name = os.fsdecode(path_or_file)
        with open(path_or_file, "rb") as f:
            data = f.read()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise OFFError(f"broken gzip data: {err}", path=name) from None
    return name, data


class _Reader:
    """One pass over the file's lines; every error names the line it is about."""

    def __init__(self, name: str | None, data: bytes) -> None:
        self.name = name
        data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
        if b"#" in data:
            data = _COMMENT.sub(b"", data)
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self.lines = data.split(b"\n")
        lengths = np.fromiter(map(len, map(bytes.strip, self.lines)), np.intp, len(self.lines))
        self.nonblank = np.flatnonzero(lengths)  # 0-based indices into self.lines

    def error(self, message: str, index: int | None) -> OFFError:
        return OFFError(message, path=self.name, line=None if index is None else int(index) + 1)

    def mesh(self) -> Mesh:
        keyword, flags, tokens, cursor = self._header()
        vertex_count, face_count, cursor = self._counts(keyword, flags, tokens, cursor)
        rows = self.nonblank[cursor:]
        if len(rows) < vertex_count:
            message = f"file ends after {len(rows)} of {vertex_count} vertices"
            raise self.error(message, self.nonblank[-1])
        vertex_rows, face_rows = rows[:vertex_count], rows[vertex_count : vertex_count + face_count]
        if len(face_rows) < face_count:
            message = f"file ends after {len(face_rows)} of {face_count} faces"
            raise self.error(message, self.nonblank[-1])
        fields = self._vertices(keyword, flags, vertex_rows)
        fields.update(self._faces(face_rows, vertex_count))
        return Mesh(**fields)

    def _header(self) -> tuple[str, dict[str, bool], list[bytes], int]:
        if len(self.nonblank) == 0:
            raise self.error("empty file: expected an OFF header such as 'OFF'", None)
        index = self.nonblank[0]
        line = self.lines[index].strip()
        match = _HEADER.match(line)
        rest = line[match.end() :] if match else b""
        if match is None or (rest and not (rest[:1].isspace() or rest[:1] in b"0123456789+-.")):
            word = line.split()[0].decode("utf-8", "replace")[:40]
            raise self.error(
                f"unknown header {word!r}: expected [ST][C][N][4][n]OFF (OFF, COFF, NOFF, CNOFF, "
                "STOFF, nOFF, ...)",
                index,
            )
        if rest.split()[:1] == [b"BINARY"]:
            raise self.error("binary OFF is not supported; only text OFF files", index)
        keyword = match.group(0).decode()
        flags = {flag: match.group(i) is not None for i, flag in enumerate("SCN4n", 1)}
        if flags["4"]:
            raise self.error(
                f"{keyword} has homogeneous 4-D vertices; only 3-D vertices are supported", index
            )
        return keyword, flags, rest.split(), 1

    def _tokens_of_next_line(self, tokens: list[bytes], cursor: int, what: str):
        if tokens:
            return tokens, cursor
        if cursor >= len(self.nonblank):
            raise self.error(f"file ends before the {what}", self.nonblank[cursor - 1])
        return self.lines[self.nonblank[cursor]].split(), cursor + 1

    def _counts(self, keyword: str, flags: dict[str, bool], tokens: list[bytes], cursor: int):
        if flags["n"]:
            tokens, cursor = self._tokens_of_next_line(tokens, cursor, "dimension of nOFF")
            dimension = self._integer(tokens[0], "dimension", self.nonblank[cursor - 1])
            if dimension != 3:
                raise self.error(
                    f"{keyword} has dimension {dimension}; only dimension 3 is supported",
                    self.nonblank[cursor - 1],
                )
            tokens = tokens[1:]
        tokens, cursor = self._tokens_of_next_line(tokens, cursor, "counts 'V F E'")
        index = self.nonblank[cursor - 1]
        if len(tokens) not in (2, 3):
            found = b" ".join(tokens).decode("utf-8", "replace")[:60]
            raise self.error(
                f"expected the counts 'V F E' (vertices, faces, optional edges), found {found!r}",
                index,
            )
        names = ("vertex count", "face count", "edge count")
        counts = [self._integer(t, what, index) for t, what in zip(tokens, names, strict=False)]
        return counts[0], counts[1], cursor

    def _integer(self, token: bytes, what: str, index: int) -> int:
        if not _INTEGER.fullmatch(token):
            text = token.decode("utf-8", "replace")[:40]
            raise self.error(f"{what} {text!r} is not an integer", index)
        value = int(token)
        if value < 0:
            raise self.error(f"{what} {value} is negative", index)
        return value

    def _vertices(self, keyword: str, flags: dict[str, bool], rows: np.ndarray) -> dict:
        fixed = 3 + 3 * flags["N"] + 2 * flags["S"]
        values, counts = self._numbers(rows, "vertex")
        width = int(counts[0]) if flags["C"] and len(rows) else fixed + flags["C"] * _MAX_COLOR
        needs = "x y z" + " nx ny nz" * flags["N"] + " r g b a" * flags["C"] + " s t" * flags["S"]
        color = width - fixed
        if flags["C"] and not 1 <= color <= _MAX_COLOR:
            raise self.error(
                f"vertex line has {width} values; {keyword} needs {fixed} + a colour of 1 to 4 "
                f"({needs})",
                rows[0],
            )
        wrong = counts != width
        if wrong.any():
            row = int(np.argmax(wrong))
            need = f"the same {width} values as the first vertex" if flags["C"] else f"{width}"
            raise self.error(
                f"vertex line has {counts[row]} values; {keyword} needs {need} ({needs})", rows[row]
            )
        table = values.reshape(len(rows), width).astype(np.float64, copy=False)
        self._require_finite(table, rows, "vertex")
        fields = {"vertices": table[:, :3]}
        start = 3
        for flag, name, size in (("N", "vertex_normals", 3), ("C", "vertex_colors", color)):
            if flags[flag]:
                fields[name] = table[:, start : start + size]
                start += size
        if flags["S"]:
            fields["texture_coords"] = table[:, start : start + 2]
        return fields

    def _faces(self, rows: np.ndarray, vertex_count: int) -> dict:
        values, counts = self._numbers(rows, "face")
        starts = np.cumsum(counts) - counts
        sizes = values[starts]
        if values.dtype.kind == "f":
            bad = ~(np.isfinite(sizes) & (sizes == np.floor(sizes)) & (sizes >= 3))
        else:
            bad = sizes < 3
        if bad.any():
            row = int(np.argmax(bad))
            raise self.error(
                f"face vertex count {_show(sizes[row])} must be an integer of at least 3",
                rows[row],
            )
        sizes = sizes.astype(np.int64)
        short = sizes > counts - 1
        if short.any():
            row = int(np.argmax(short))
            raise self.error(
                f"face says it has {sizes[row]} vertices but lists {counts[row] - 1} indices",
                rows[row],
            )
        color_sizes = counts - 1 - sizes
        if (color_sizes > _MAX_COLOR).any():
            row = int(np.argmax(color_sizes > _MAX_COLOR))
            raise self.error(
                f"face has {color_sizes[row]} values after its {sizes[row]} vertex indices; a face "
                "colour is 0 to 4 numbers",
                rows[row],
            )
        # Fan triangulation: triangle j of a face is (v_0, v_{j+1}, v_{j+2}).
        triangle_counts = sizes - 2
        face_of = np.repeat(np.arange(len(rows)), triangle_counts)
        j = np.arange(len(face_of)) - np.repeat(
            np.cumsum(triangle_counts) - triangle_counts, triangle_counts
        )
        first = starts[face_of] + 1
        triangles = np.stack([values[first], values[first + 1 + j], values[first + 2 + j]], axis=1)
        if values.dtype.kind == "f":
            bad = ~(triangles == np.floor(triangles))
            if bad.any():
                triangle, corner = np.argwhere(bad)[0]
                raise self.error(
                    f"face vertex index {_show(triangles[triangle, corner])} is not an integer",
                    rows[face_of[triangle]],
                )
        outside = (triangles < 0) | (triangles >= vertex_count)
        if outside.any():
            triangle, corner = np.argwhere(outside)[0]
            raise self.error(
                f"face vertex index {_show(triangles[triangle, corner])} is outside [0, "
                f"{vertex_count}) ({vertex_count} vertices)",
                rows[face_of[triangle]],
            )
        fields = {"faces": triangles.astype(np.int64)}
        width = int(color_sizes.max(initial=0))
        if width:
            columns = np.arange(width)
            present = columns < color_sizes[:, None]
            where = np.minimum((starts + 1 + sizes)[:, None] + columns, len(values) - 1)
            colors = np.where(present, values[where], np.nan)
            self._require_finite(np.where(present, colors, 0.0), rows, "face")
            fields["face_colors"] = colors[face_of]
        return fields

    def _numbers(self, rows: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
        """All numbers on the given lines, flat, and how many each line has."""
        if len(rows) == 0:
            return np.zeros(0), np.zeros(0, np.int64)
        if rows[-1] - rows[0] == len(rows) - 1:
            lines = self.lines[rows[0] : rows[-1] + 1]
        else:
            lines = [self.lines[i] for i in rows]
        for dtype in (np.int64, np.float64):  # integers parse about 4x faster
            try:
                table = np.loadtxt(io.BytesIO(b"\n".join(lines)), dtype, comments=None, ndmin=2)
            except ValueError:
                continue
            if len(table) == len(rows):
                return table.ravel(), np.full(len(rows), table.shape[1])
        counts = np.fromiter(map(len, map(bytes.split, lines)), np.int64, len(lines))
        for dtype in (np.int64, np.float64):
            try:
                values = np.loadtxt(io.BytesIO(b" ".join(lines)), dtype, comments=None, ndmin=1)
            except ValueError:
                continue
            if len(values) == counts.sum():
                return values, counts
        return self._numbers_one_by_one(lines, rows, what), counts

    def _numbers_one_by_one(self, lines: list[bytes], rows: np.ndarray, what: str) -> np.ndarray:
        # The reference reader, and the one that finds the bad value when numpy's fails.
        values = []
        for line, index in zip(lines, rows, strict=True):
            for token in line.split():
                if not _NUMBER.fullmatch(token):
                    text = token.decode("utf-8", "replace")[:40]
                    raise self.error(f"{what} value {text!r} is not a number", index)
                values.append(float(token))
        return np.array(values, dtype=np.float64)

    def _require_finite(self, table: np.ndarray, rows: np.ndarray, what: str) -> None:
        if table.dtype.kind != "f":
            return
        bad = ~np.isfinite(table).all(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            value = table[row][~np.isfinite(table[row])][0]
            raise self.error(f"{what} value {value} is not finite", rows[row])


def _show(value: float | int) -> str:
    return str(int(value)) if np.isfinite(value) and value == int(value) else repr(float(value))


# --- writing ---------------------------------------------------------------------------


def write_off(mesh: Mesh, path_or_file: str | os.PathLike | IO) -> None:
    """Write a mesh as an OFF file that :func:`read_off` reads back equal.

    The header is the shortest keyword that holds the mesh's fields
    (``OFF``, ``COFF``, ``NOFF``, ``CNOFF``, ``STOFF``, ``STCNOFF``, ...);
    floats are written as Python's ``repr`` (the shortest text that reads
    back to the same float), faces as triangles ``3 a b c`` followed by the
    face's colour values, if any.

    Parameters
    ----------
    mesh : Mesh
        Any mesh.
    path_or_file : str, os.PathLike or file object
        Where to write; a file object may be open in binary or text mode.
        A path ending in ``.gz`` is gzip-compressed.

    Examples
    --------
    >>> import io
    >>> m = Mesh([[0, 0, 0], [1, 0, 0], [0, 0.1, 0]], [[0, 1, 2]], vertex_colors=[[1], [2], [3]])
    >>> buffer = io.StringIO()
    >>> write_off(m, buffer)
    >>> print(buffer.getvalue(), end="")
    COFF
    3 1 0
    0.0 0.0 0.0 1.0
    1.0 0.0 0.0 2.0
    0.0 0.1 0.0 3.0
    3 0 1 2
    >>> _ = buffer.seek(0)
    >>> read_off(buffer) == m
    True
    """
    if not isinstance(mesh, Mesh):
        raise TypeError(f"write_off needs a Mesh, got {type(mesh).__name__}")
    columns = [mesh.vertices]
    keyword = "OFF"
    for field, flag in (
        (mesh.vertex_normals, "N"),
        (mesh.vertex_colors, "C"),
        (mesh.texture_coords, "ST"),
    ):
        if field is not None:
            columns.append(field)
            keyword = flag + keyword
    table = np.hstack(columns)
    vertex_count, width = table.shape
    parts = [f"{keyword}\n{vertex_count} {len(mesh.faces)} 0\n"]
    parts.append((" ".join(["%r"] * width) + "\n") * vertex_count % tuple(table.ravel().tolist()))
    if mesh.face_colors is None:
        parts.append("3 %d %d %d\n" * len(mesh.faces) % tuple(mesh.faces.ravel().tolist()))
    else:
        colors = mesh.face_colors.tolist()
        parts.extend(
            " ".join(["3", *map(str, face), *(repr(c) for c in color if c == c)]) + "\n"
            for face, color in zip(mesh.faces.tolist(), colors, strict=True)
        )
    text = "".join(parts)
    if hasattr(path_or_file, "write"):
        path_or_file.write(text if isinstance(path_or_file, io.TextIOBase) else text.encode())
        return
    name = os.fsdecode(path_or_file)
    data = text.encode()
    with open(name, "wb") as f:
        f.write(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
