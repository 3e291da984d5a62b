"""An immutable triangle mesh with optional per-vertex and per-face fields.

:class:`Mesh` holds float64 ``vertices [V, 3]`` and int64 triangle
``faces [F, 3]``, checked once when it is made and stored as read-only
copies, so a mesh can be shared, cached and compared exactly (``==`` is
element-wise equality of every field).  Operations return new meshes.

Optional fields, all float64:

* ``vertex_colors [V, k]`` with 1 <= k <= 4 (a colour-map index, grey,
  RGB or RGBA, values as written: 0-255 or 0-1);
* ``vertex_normals [V, 3]``;
* ``texture_coords [V, 2]``;
* ``face_colors [F, k]`` with 1 <= k <= 4, where NaN marks an absent
  value: a face's colour is the leading non-NaN values of its row, so faces
  may have colours of different lengths (the OFF format allows that).
  Columns that are NaN on every face are dropped, and a ``face_colors``
  with no column left is ``None``, so equal colourings compare equal.

Every value is finite except the NaN that marks absent face colours.

Examples
--------
>>> import numpy as np
>>> m = Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], [[0, 1, 2], [1, 3, 2], [0, 0, 1]])
>>> m
Mesh(4 vertices, 3 faces)
>>> m.face_areas
array([0.5, 0.5, 0. ])
>>> m.face_normals
array([[0., 0., 1.],
       [0., 0., 1.],
       [0., 0., 0.]])
>>> m.degenerate
array([False, False,  True])
>>> m.without_degenerate()
Mesh(4 vertices, 2 faces)
>>> m.vertices[0, 0] = 5.0
Traceback (most recent call last):
...
ValueError: assignment destination is read-only
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from graphnn.exceptions import MeshError

__all__ = ["Mesh"]

_VERTEX_FIELDS = ("vertex_colors", "vertex_normals", "texture_coords")


class Mesh:
    """An immutable triangle mesh.

    Parameters
    ----------
    vertices : array_like, shape [V, 3]
        Finite vertex positions, stored as float64.
    faces : array_like, shape [F, 3]
        Triangles as integer-valued vertex indices in ``[0, V)``, stored as
        int64.  Empty sequences are an empty mesh.
    vertex_colors : array_like, shape [V, k], optional
        Finite per-vertex colours, 1 <= k <= 4 numbers each, as written.
    vertex_normals : array_like, shape [V, 3], optional
        Finite per-vertex normals (not normalised here).
    texture_coords : array_like, shape [V, 2], optional
        Finite per-vertex texture coordinates ``(s, t)``.
    face_colors : array_like, shape [F, k], optional
        Per-face colours, 1 <= k <= 4; NaN marks absent trailing values (see
        the module notes).  Inf, or a number after a NaN in a row, is an
        error.

    Raises
    ------
    MeshError
        When an array has the wrong shape or values; the message names the
        field, and the first bad row and value (a ``ValueError``).
    TypeError
        When an array cannot be converted to numbers.

    Examples
    --------
    >>> Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 3]])
    Traceback (most recent call last):
    ...
    graphnn.exceptions.MeshError: faces[0] holds vertex index 3, outside [0, 3)
    >>> Mesh(np.eye(3), [[0, 1, 2]], face_colors=[[1, 0, 0, np.nan]])
    Mesh(3 vertices, 1 faces; face_colors [1, 3])
    """

    __slots__ = ("_vertices", "_faces", *(f"_{name}" for name in (*_VERTEX_FIELDS, "face_colors")))

    def __init__(
        self,
        vertices: ArrayLike,
        faces: ArrayLike,
        *,
        vertex_colors: ArrayLike | None = None,
        vertex_normals: ArrayLike | None = None,
        texture_coords: ArrayLike | None = None,
        face_colors: ArrayLike | None = None,
    ) -> None:
        v = _float_rows("vertices", vertices, columns=(3,))
        _require_finite("vertices", v)
        f = _index_rows(faces, len(v))
        fields = {"_vertices": v, "_faces": f}
        for name, value, columns in (
            ("vertex_colors", vertex_colors, (1, 2, 3, 4)),
            ("vertex_normals", vertex_normals, (3,)),
            ("texture_coords", texture_coords, (2,)),
        ):
            if value is not None:
                value = _float_rows(name, value, columns=columns, rows=len(v))
                _require_finite(name, value)
            fields[f"_{name}"] = value
        if face_colors is not None:
            face_colors = _face_colors(
                _float_rows("face_colors", face_colors, (1, 2, 3, 4), len(f))
            )
        fields["_face_colors"] = face_colors
        for name, value in fields.items():
            if value is not None:
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    # --- fields -----------------------------------------------------------------------

    @property
    def vertices(self) -> np.ndarray:
        """Vertex positions, float64 ``[V, 3]``, read-only."""
        return self._vertices

    @property
    def faces(self) -> np.ndarray:
        """Triangles as vertex indices, int64 ``[F, 3]``, read-only."""
        return self._faces

    @property
    def vertex_colors(self) -> np.ndarray | None:
        """Per-vertex colours, float64 ``[V, k]`` (1 <= k <= 4), or None."""
        return self._vertex_colors

    @property
    def vertex_normals(self) -> np.ndarray | None:
        """Per-vertex normals, float64 ``[V, 3]``, or None."""
        return self._vertex_normals

    @property
    def texture_coords(self) -> np.ndarray | None:
        """Per-vertex texture coordinates, float64 ``[V, 2]``, or None."""
        return self._texture_coords

    @property
    def face_colors(self) -> np.ndarray | None:
        """Per-face colours, float64 ``[F, k]``, NaN where absent, or None."""
        return self._face_colors

    def fields(self) -> dict[str, np.ndarray]:
        """Return the arrays that are set, by keyword name, vertices and faces first.

        ``Mesh(**m.fields()) == m`` holds.

        Examples
        --------
        >>> list(Mesh(np.eye(3), [[0, 1, 2]], vertex_normals=np.eye(3)).fields())
        ['vertices', 'faces', 'vertex_normals']
        """
        names = ("vertices", "faces", *_VERTEX_FIELDS, "face_colors")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Mesh is immutable: cannot set {name!r}; make a new Mesh")

    def __getstate__(self) -> dict[str, np.ndarray]:
        return self.fields()

    def __setstate__(self, state: dict[str, np.ndarray]) -> None:
        self.__init__(**state)  # checks again and makes the arrays read-only

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mesh):
            return NotImplemented
        mine, theirs = self.fields(), other.fields()
        return mine.keys() == theirs.keys() and all(
            mine[k].shape == theirs[k].shape and np.array_equal(mine[k], theirs[k], equal_nan=True)
            for k in mine
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        extra = [
            f"{name} [{', '.join(map(str, value.shape))}]"
            for name, value in self.fields().items()
            if name not in ("vertices", "faces")
        ]
        more = f"; {', '.join(extra)}" if extra else ""
        return f"Mesh({len(self._vertices)} vertices, {len(self._faces)} faces{more})"

    # --- geometry ---------------------------------------------------------------------

    @property
    def bounds(self) -> np.ndarray:
        """The axis-aligned bounding box ``[[min x, y, z], [max x, y, z]]``, float64 ``[2, 3]``.

        Raises ``ValueError`` for a mesh without vertices.

        Examples
        --------
        >>> Mesh([[0, 1, 2], [3, -1, 5]], []).bounds
        array([[ 0., -1.,  2.],
               [ 3.,  1.,  5.]])
        """
        if len(self._vertices) == 0:
            raise ValueError("a mesh without vertices has no bounds")
        return np.stack([self._vertices.min(axis=0), self._vertices.max(axis=0)])

    @property
    def face_areas(self) -> np.ndarray:
        """The area of every triangle, float64 ``[F]``; 0 exactly for degenerate faces.

        Computed with power-of-two rescaling, so huge or tiny coordinates
        neither overflow nor underflow unless the area itself does.
        """
        cross, exponent = self._scaled_cross()
        size = np.abs(cross).max(axis=1)
        mantissa, size_exponent = np.frexp(size)
        unit = np.divide(cross, size[:, None], out=np.zeros_like(cross), where=size[:, None] > 0)
        with np.errstate(over="ignore", under="ignore"):  # only when the area itself does
            return np.ldexp(0.5 * mantissa * np.linalg.norm(unit, axis=1), size_exponent + exponent)

    @property
    def face_normals(self) -> np.ndarray:
        """Unit normals of the triangles (right-hand rule), float64 ``[F, 3]``.

        A degenerate face has the zero vector, never NaN.
        """
        cross, _ = self._scaled_cross()
        size = np.abs(cross).max(axis=1, keepdims=True)
        unit = np.divide(cross, size, out=np.zeros_like(cross), where=size > 0)
        length = np.linalg.norm(unit, axis=1, keepdims=True)
        np.divide(unit, length, out=unit, where=length > 0)
        return unit + 0.0  # no -0.0

    @property
    def degenerate(self) -> np.ndarray:
        """Which faces have zero area, bool ``[F]``.

        A face is degenerate when the cross product of its edge vectors is
        exactly zero: a repeated vertex index, two equal positions, or three
        collinear points.
        """
        cross, _ = self._scaled_cross()
        return ~cross.any(axis=1)

    def _scaled_cross(self) -> tuple[np.ndarray, np.ndarray]:
        # The cross product of the two edges from each face's first vertex, as c * 2**exponent
        # with c computed on exactly rescaled (power-of-two) coordinates and edges.
        corners = self._vertices[self._faces]
        _, exponent = np.frexp(np.abs(corners).max(axis=(1, 2), initial=0.0))
        corners = np.ldexp(corners, -exponent[:, None, None])
        edges = corners[:, 1:] - corners[:, :1]
        _, edge_exponent = np.frexp(np.abs(edges).max(axis=2, initial=0.0))
        edges = np.ldexp(edges, -edge_exponent[:, :, None])
        cross = np.cross(edges[:, 0], edges[:, 1]).reshape(-1, 3)
        return cross, 2 * exponent + edge_exponent.sum(axis=1)

    # --- new meshes -------------------------------------------------------------------

    def without_degenerate(self) -> Mesh:
        """Return a mesh without the degenerate faces (and their face colours).

        Vertices are kept, also those no face uses any more.
        """
        keep = ~self.degenerate
        fields = self.fields()
        fields["faces"] = self._faces[keep]
        if self._face_colors is not None:
            fields["face_colors"] = self._face_colors[keep]
        return Mesh(**fields)

    def transformed(
        self, matrix: ArrayLike | None = None, translation: ArrayLike | None = None
    ) -> Mesh:
        """Return the mesh with vertices ``x @ matrix.T + translation``.

        When ``matrix`` is given, vertex normals are mapped by its inverse
        transpose and normalised again (zero normals stay zero).  When ``matrix`` mirrors
        (negative determinant), every face's winding is reversed, so face
        normals follow the surface just as vertex normals do.

        Parameters
        ----------
        matrix : array_like, shape [3, 3], optional
            A finite linear map; the identity when omitted.  It must be
            invertible when the mesh has vertex normals.
        translation : array_like, shape [3], optional
            A finite offset; zero when omitted.

        Returns
        -------
        Mesh

        Examples
        --------
        >>> m = Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])
        >>> t = m.transformed(np.diag([2.0, 1.0, -1.0]), translation=[0, 0, 1])
        >>> t.vertices
        array([[0., 0., 1.],
               [2., 0., 1.],
               [0., 1., 1.]])
        >>> t.faces, t.face_normals
        (array([[0, 2, 1]]), array([[ 0.,  0., -1.]]))
        """
        M = np.eye(3) if matrix is None else np.asarray(matrix, dtype=np.float64)
        shift = np.zeros(3) if translation is None else np.asarray(translation, dtype=np.float64)
        if M.shape != (3, 3) or not np.isfinite(M).all():
            raise ValueError(f"matrix must be a finite 3x3 array, got shape {M.shape}")
        if shift.shape != (3,) or not np.isfinite(shift).all():
            raise ValueError(f"translation must be 3 finite numbers, got shape {shift.shape}")
        fields = self.fields()
        with np.errstate(over="ignore", invalid="ignore"):  # Mesh names a vertex that overflows
            fields["vertices"] = self._vertices @ M.T + shift
        if np.linalg.slogdet(M)[0] < 0:
            fields["faces"] = self._faces[:, [0, 2, 1]]
        if self._vertex_normals is not None and matrix is not None:
            try:
                normals = self._vertex_normals @ np.linalg.inv(M)
            except np.linalg.LinAlgError:
                raise ValueError("matrix is singular: vertex normals cannot follow it") from None
            length = np.linalg.norm(normals, axis=1, keepdims=True)
            fields["vertex_normals"] = np.divide(normals, length, out=normals, where=length > 0)
        return Mesh(**fields)


# --- checks -------------------------------------------------------------------------------


def _float_rows(
    name: str, value: ArrayLike, columns: tuple[int, ...], rows: int | None = None
) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers: {err}") from None
    if array.size == 0 and array.ndim == 1:
        array = array.reshape(0, columns[-1])
    if array.ndim != 2 or array.shape[1] not in columns:
        wanted = " or ".join(map(str, columns))
        raise MeshError(f"{name} must have shape [N, {wanted}], got {list(array.shape)}")
    if rows is not None and len(array) != rows:
        per = "face" if name == "face_colors" else "vertex"
        raise MeshError(f"{name} must have one row per {per} ({rows}), got {len(array)} rows")
    return array


def _require_finite(name: str, array: np.ndarray) -> None:
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise MeshError(f"{name}[{row}] is not finite: {array[row].tolist()}")


def _index_rows(faces: ArrayLike, vertex_count: int) -> np.ndarray:
    array = np.asarray(faces)
    if array.size == 0 and array.ndim == 1:
        array = array.reshape(0, 3)
    if array.dtype == bool or array.dtype.kind not in "iuf":
        raise TypeError(f"faces must be integer vertex indices, got dtype {array.dtype}")
    if array.ndim != 2 or array.shape[1] != 3:
        raise MeshError(f"faces must have shape [F, 3] (triangles), got {list(array.shape)}")
    if array.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(array) & (array == np.round(array)))
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise MeshError(f"faces[{row}] holds {array[row, col].item()!r}, not a vertex index")
    outside = (array < 0) | (array >= vertex_count)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        value = array[row, col].item()
        raise MeshError(f"faces[{row}] holds vertex index {value:.0f}, outside [0, {vertex_count})")
    return array.astype(np.int64, copy=True)


def _face_colors(colors: np.ndarray) -> np.ndarray | None:
    if np.isinf(colors).any():
        row = int(np.argmax(np.isinf(colors).any(axis=1)))
        raise MeshError(f"face_colors[{row}] is not finite: {colors[row].tolist()}")
    present = ~np.isnan(colors)
    gap = present[:, 1:] & ~present[:, :-1]
    if gap.any():
        row = int(np.argmax(gap.any(axis=1)))
        raise MeshError(
            f"face_colors[{row}] has a number after a NaN: {colors[row].tolist()} "
            "(NaN marks absent trailing values)"
        )
    width = int(present.sum(axis=1).max(initial=0))
    return np.ascontiguousarray(colors[:, :width]) if width else None
