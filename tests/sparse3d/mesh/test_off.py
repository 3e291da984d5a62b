import gzip
import io
import re

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from graphnn.exceptions import GraphnnError, OFFError
from graphnn.sparse3d.mesh.mesh import Mesh
from graphnn.sparse3d.mesh.off import read_off, write_off

SQUARE = """OFF
4 1 0
0 0 0
1 0 0
1 1 0
0 1 0
4 0 1 2 3
"""


def read_text(text: str | bytes) -> Mesh:
    return read_off(io.BytesIO(text.encode() if isinstance(text, str) else text))


def written(mesh: Mesh) -> str:
    buffer = io.StringIO()
    write_off(mesh, buffer)
    return buffer.getvalue()


def reference_read(text: str) -> Mesh:
    """A slow, obvious reader of plain OFF/COFF with polygons, colours and comments."""
    lines = [line.split("#")[0].split() for line in text.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    header = lines[0][0]
    assert header in ("OFF", "COFF") or header.startswith("OFF")
    counts = lines[0][1:] or lines[1]
    if header.startswith("OFF") and header != "OFF":
        counts = [header[3:], *lines[0][1:]]
    body = lines[1:] if lines[0][1:] or header not in ("OFF", "COFF") else lines[2:]
    n_vertices, n_faces = int(counts[0]), int(counts[1])
    rows = [[float(x) for x in row] for row in body[:n_vertices]]
    vertices = [row[:3] for row in rows]
    colors = [row[3:] for row in rows] if header == "COFF" else None
    faces, face_colors = [], []
    for row in body[n_vertices : n_vertices + n_faces]:
        size = int(row[0])
        polygon = [int(x) for x in row[1 : 1 + size]]
        color = [float(x) for x in row[1 + size :]]
        for i in range(1, size - 1):
            faces.append([polygon[0], polygon[i], polygon[i + 1]])
            face_colors.append(color + [np.nan] * (4 - len(color)))
    return Mesh(
        vertices,
        np.array(faces, dtype=np.int64).reshape(-1, 3),
        vertex_colors=colors,
        face_colors=face_colors if faces else None,
    )


def same_triangles(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal as sets of triangles, each up to rotation (trimesh orders the fans differently)."""

    def canonical(faces):
        rolled = np.stack([np.roll(faces, -k, axis=1) for k in range(3)], axis=1)
        best = rolled[np.arange(len(faces)), np.argmin(faces, axis=1)]
        return sorted(map(tuple, best.tolist()))

    return canonical(np.asarray(a)) == canonical(np.asarray(b))


# --- the family --------------------------------------------------------------------------


def test_plain_off_quad_is_fan_triangulated():
    mesh = read_text(SQUARE)
    assert mesh.vertices.tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]
    assert mesh.faces.tolist() == [[0, 1, 2], [0, 2, 3]]
    assert mesh.fields().keys() == {"vertices", "faces"}


def test_polygons_of_any_size_and_mixed_sizes():
    text = "OFF\n6 3 0\n" + "0 0 0\n1 0 0\n2 1 0\n1 2 0\n0 2 0\n-1 1 0\n"
    text += "6 0 1 2 3 4 5\n3 0 1 2\n5 5 4 3 2 1\n"
    assert read_text(text).faces.tolist() == [
        [0, 1, 2],
        [0, 2, 3],
        [0, 3, 4],
        [0, 4, 5],
        [0, 1, 2],
        [5, 4, 3],
        [5, 3, 2],
        [5, 2, 1],
    ]


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (
            "COFF\n3 1 0\n0 0 0 255 0 0 255\n1 0 0 0 255 0 255\n0 1 0 0 0 255 128\n3 0 1 2\n",
            {"vertex_colors": [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 128]]},
        ),
        (
            "COFF\n3 1 0\n0 0 0 1 0 0\n1 0 0 0 0.5 0\n0 1 0 0 0 1\n3 0 1 2\n",
            {"vertex_colors": [[1, 0, 0], [0, 0.5, 0], [0, 0, 1]]},
        ),
        (
            "NOFF\n3 1 0\n0 0 0 0 0 1\n1 0 0 0 0 1\n0 1 0 0 0 -1\n3 0 1 2\n",
            {"vertex_normals": [[0, 0, 1], [0, 0, 1], [0, 0, -1]]},
        ),
        (
            "CNOFF\n3 1 0\n0 0 0 0 0 1 .1 .2 .3 .4\n1 0 0 0 0 1 1 1 1 1\n0 1 0 0 0 1 0 0 0 0\n"
            "3 0 1 2\n",
            {
                "vertex_normals": [[0, 0, 1]] * 3,
                "vertex_colors": [[0.1, 0.2, 0.3, 0.4], [1, 1, 1, 1], [0, 0, 0, 0]],
            },
        ),
        (
            "STOFF\n3 1 0\n0 0 0 0 0\n1 0 0 1 0\n0 1 0 0 1\n3 0 1 2\n",
            {"texture_coords": [[0, 0], [1, 0], [0, 1]]},
        ),
        (
            "STCNOFF\n3 1 0\n0 0 0 0 0 1 1 1 1 1 0 0.5\n1 0 0 0 0 1 2 2 2 2 1 0.5\n"
            "0 1 0 0 0 1 3 3 3 3 0 1\n3 0 1 2\n",
            {
                "vertex_normals": [[0, 0, 1]] * 3,
                "vertex_colors": [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]],
                "texture_coords": [[0, 0.5], [1, 0.5], [0, 1]],
            },
        ),
        ("nOFF\n3\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n", {}),
        ("nOFF 3 3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n", {}),
        ("nOFF 3\n3 1\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n", {}),
    ],
    ids=[
        "COFF-rgba-ints",
        "COFF-rgb-floats",
        "NOFF",
        "CNOFF",
        "STOFF",
        "STCNOFF",
        "nOFF",
        "nOFF-1line",
        "nOFF-2",
    ],
)
def test_variants(text, fields):
    expected = Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], **fields)
    assert read_text(text) == expected
    assert read_text(written(expected)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
        "OFF3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
        "OFF 3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
        "OFF\n3 1\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2",
        "OFF\r\n3 1 0\r\n0 0 0\r\n1 0 0\r\n0 1 0\r\n3 0 1 2\r\n",
        "OFF\r3 1 0\r0 0 0\r1 0 0\r0 1 0\r3 0 1 2\r",
        "\ufeffOFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
        "# made by hand\n\n  OFF # header\n# counts next\n3 1 0 # V F E\n\n0 0 0# a\n 1\t0 0\n"
        "\n# middle\n0\x0b1\x0c0   \n\t3  0 1\t2 # the face\n# end",
        "\t \t OFF3 1 0 # glued, as in ModelNet\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
        "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n3 0 1 2\n1 2 3\nthis is not OFF at all ###\n",
        "OFF\n3 1 0\n0.0 0e0 -0\n+1. 0 0.0\n.0 1E0 0\n3 0 1 2\n",
    ],
    ids=[
        "plain",
        "glued",
        "counts-on-header",
        "no-edges-no-newline",
        "crlf",
        "cr",
        "bom",
        "comments-blank-lines-whitespace",
        "modelnet-indented",
        "trailing-garbage",
        "number-spellings",
    ],
)
def test_layouts_met_in_the_wild(text):
    assert read_text(text) == Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]])


def test_face_colors_of_different_lengths_are_padded_with_nan():
    text = "OFF\n4 5 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n"
    text += "3 0 1 2\n3 0 1 2 7\n3 0 1 2 0.5 0.25\n4 0 1 2 3 255 0 0\n3 0 1 2 1 0 0 0.75\n"
    mesh = read_text(text)
    nan = np.nan
    expected = [
        [nan, nan, nan, nan],
        [7, nan, nan, nan],
        [0.5, 0.25, nan, nan],
        [255, 0, 0, nan],
        [255, 0, 0, nan],
        [1, 0, 0, 0.75],
    ]
    np.testing.assert_array_equal(mesh.face_colors, expected)
    assert len(mesh.faces) == 6
    assert read_text(written(mesh)) == mesh


def test_degenerate_faces_are_kept_and_marked():
    text = "OFF\n4 3 0\n0 0 0\n1 0 0\n2 0 0\n0 1 0\n3 0 1 3\n3 0 1 2\n3 3 3 0\n"
    mesh = read_text(text)
    assert len(mesh.faces) == 3
    assert mesh.degenerate.tolist() == [False, True, True]
    assert not np.isnan(mesh.face_normals).any()
    assert mesh.without_degenerate().faces.tolist() == [[0, 1, 3]]


def test_empty_mesh():
    assert read_text("OFF\n0 0 0\n") == Mesh([], [])
    assert read_text(written(Mesh([], []))) == Mesh([], [])


def test_sources_paths_text_files_and_gzip(tmp_path):
    expected = read_text(SQUARE)
    path = tmp_path / "square.off"
    path.write_text(SQUARE)
    assert read_off(path) == expected
    assert read_off(str(path)) == expected
    with open(path) as f:
        assert read_off(f) == expected
    with open(path, "rb") as f:
        assert read_off(f) == expected
    gz = tmp_path / "square.off.gz"
    write_off(expected, gz)
    assert gzip.decompress(gz.read_bytes()).startswith(b"OFF\n")
    assert read_off(gz) == expected
    assert read_off(io.BytesIO(gzip.compress(SQUARE.encode()))) == expected
    binary = tmp_path / "square-binary-handle.off"
    with open(binary, "wb") as f:
        write_off(expected, f)
    assert read_off(binary) == expected


# --- broken files --------------------------------------------------------------------------

TRI = "0 0 0\n1 0 0\n0 1 0\n"
BROKEN = [
    ("empty", "", None, "empty file: expected an OFF header"),
    ("only-comments", "# nothing\n\n  # here\n", None, "empty file"),
    (
        "missing-header",
        "3 1 0\n" + TRI + "3 0 1 2\n",
        1,
        "unknown header '3': expected [ST][C][N][4][n]OFF",
    ),
    ("unknown-header", "\nOFX\n3 1 0\n", 2, "unknown header 'OFX'"),
    ("header-word", "OFFICE 3 1 0\n", 1, "unknown header 'OFFICE'"),
    ("lowercase", "off\n3 1 0\n", 1, "unknown header 'off'"),
    ("wrong-order", "NCOFF\n3 1 0\n", 1, "unknown header 'NCOFF'"),
    ("binary", "OFF BINARY\n", 1, "binary OFF is not supported"),
    ("4OFF", "4OFF\n3 1 0\n0 0 0 1\n", 1, "4OFF has homogeneous 4-D vertices; only 3-D"),
    ("4nOFF", "4nOFF\n2\n3 1 0\n", 1, "4nOFF has homogeneous 4-D vertices"),
    ("nOFF-2", "nOFF\n2\n3 1 0\n0 0\n", 2, "nOFF has dimension 2; only dimension 3 is supported"),
    ("nOFF-4", "nOFF 4 3 1 0\n", 1, "nOFF has dimension 4"),
    ("nOFF-no-dimension", "nOFF\n", 1, "file ends before the dimension of nOFF"),
    ("nOFF-bad-dimension", "nOFF\nthree\n", 2, "dimension 'three' is not an integer"),
    ("no-counts", "OFF\n", 1, "file ends before the counts 'V F E'"),
    (
        "one-count",
        "OFF\n3\n" + TRI,
        2,
        "expected the counts 'V F E' (vertices, faces, optional edges), found '3'",
    ),
    ("four-counts", "OFF\n3 1 0 0\n", 2, "expected the counts 'V F E'"),
    ("counts-not-integers", "OFF\n3.0 1 0\n", 2, "vertex count '3.0' is not an integer"),
    ("counts-words", "OFF\nthree 1 0\n", 2, "vertex count 'three' is not an integer"),
    ("counts-underscore", "OFF\n3 1_0 0\n", 2, "face count '1_0' is not an integer"),
    ("negative-vertices", "OFF\n-3 1 0\n", 2, "vertex count -3 is negative"),
    ("negative-faces", "OFF-1 -1 0\n", 1, "vertex count -1 is negative"),
    ("negative-edges", "OFF\n3 1 -1\n", 2, "edge count -1 is negative"),
    ("too-few-vertices", "OFF\n4 1 0\n" + TRI, 5, "file ends after 3 of 4 vertices"),
    ("no-vertices", "OFF\n4 1 0\n", 2, "file ends after 0 of 4 vertices"),
    (
        "too-few-faces",
        "OFF\n3 2 0\n" + TRI + "3 0 1 2\n\n# bye\n",
        6,
        "file ends after 1 of 2 faces",
    ),
    ("no-faces", "OFF\n3 2 0\n" + TRI, 5, "file ends after 0 of 2 faces"),
    (
        "vertex-word",
        "OFF\n3 1 0\n0 0 0\n1 zero 0\n0 1 0\n3 0 1 2\n",
        4,
        "vertex value 'zero' is not a number",
    ),
    (
        "vertex-hex",
        "OFF\n3 1 0\n0 0 0\n0x1 0 0\n0 1 0\n3 0 1 2\n",
        4,
        "vertex value '0x1' is not a number",
    ),
    (
        "vertex-short",
        "OFF\n3 1 0\n0 0 0\n1 0\n0 1 0\n3 0 1 2\n",
        4,
        "vertex line has 2 values; OFF needs 3 (x y z)",
    ),
    (
        "vertex-long",
        "OFF\n3 1 0\n0 0 0\n1 0 0 1\n0 1 0\n3 0 1 2\n",
        4,
        "vertex line has 4 values; OFF needs 3",
    ),
    (
        "vertex-nan",
        "OFF\n3 1 0\n0 0 0\n1 0 nan\n0 1 0\n3 0 1 2\n",
        4,
        "vertex value nan is not finite",
    ),
    (
        "vertex-inf",
        "OFF\n3 1 0\n0 0 0\n1 0 0\n0 -inf 0\n3 0 1 2\n",
        5,
        "vertex value -inf is not finite",
    ),
    (
        "vertex-overflow",
        "OFF\n3 1 0\n0 0 0\n1e999 0 0\n0 1 0\n3 0 1 2\n",
        4,
        "vertex value inf is not finite",
    ),
    (
        "NOFF-short",
        "NOFF\n3 1 0\n" + TRI + "3 0 1 2\n",
        3,
        "vertex line has 3 values; NOFF needs 6 (x y z nx ny nz)",
    ),
    (
        "COFF-no-color",
        "COFF\n3 1 0\n" + TRI + "3 0 1 2\n",
        3,
        "COFF needs 3 + a colour of 1 to 4 (x y z r g b a)",
    ),
    (
        "COFF-long-color",
        "COFF\n1 0 0\n0 0 0 1 2 3 4 5\n",
        3,
        "vertex line has 8 values; COFF needs 3 + a colour",
    ),
    (
        "COFF-mixed-colors",
        "COFF\n3 1 0\n0 0 0 1 1 1\n1 0 0 1 1 1 1\n0 1 0 1 1 1\n3 0 1 2\n",
        4,
        "vertex line has 7 values; COFF needs the same 6 values as the first vertex",
    ),
    ("face-word", "OFF\n3 1 0\n" + TRI + "3 0 one 2\n", 6, "face value 'one' is not a number"),
    (
        "face-two",
        "OFF\n3 1 0\n" + TRI + "2 0 1\n",
        6,
        "face vertex count 2 must be an integer of at least 3",
    ),
    ("face-zero", "OFF\n3 2 0\n" + TRI + "3 0 1 2\n0\n", 7, "face vertex count 0 must be"),
    ("face-fraction", "OFF\n3 1 0\n" + TRI + "3.5 0 1 2\n", 6, "face vertex count 3.5 must be"),
    (
        "face-short",
        "OFF\n3 2 0\n" + TRI + "3 0 1 2\n4 0 1 2\n",
        7,
        "face says it has 4 vertices but lists 3 indices",
    ),
    (
        "face-shorter",
        "OFF\n3 1 0\n" + TRI + "3 0\n",
        6,
        "face says it has 3 vertices but lists 1 indices",
    ),
    (
        "face-long-color",
        "OFF\n3 1 0\n" + TRI + "3 0 1 2 1 1 1 1 1\n",
        6,
        "face has 5 values after its 3 vertex indices",
    ),
    (
        "face-index-high",
        "OFF\n3 2 0\n" + TRI + "3 0 1 2\n4 0 1 2 3\n",
        7,
        "face vertex index 3 is outside [0, 3)",
    ),
    (
        "face-index-negative",
        "OFF\n3 1 0\n" + TRI + "3 0 -1 2\n",
        6,
        "face vertex index -1 is outside",
    ),
    (
        "face-index-fraction",
        "OFF\n3 1 0\n" + TRI + "3 0 1.5 2 0.5\n",
        6,
        "face vertex index 1.5 is not an integer",
    ),
    (
        "face-color-nan",
        "OFF\n3 1 0\n" + TRI + "3 0 1 2 0.5 nan\n",
        6,
        "face value nan is not finite",
    ),
    (
        "face-index-nan",
        "OFF\n3 1 0\n" + TRI + "3 0 nan 2\n",
        6,
        "face vertex index nan is not an integer",
    ),
    (
        "polygon-index-high",
        "OFF\n3 1 0\n" + TRI + "5 0 1 2 1 9\n",
        6,
        "face vertex index 9 is outside",
    ),
    ("bad-gzip", b"\x1f\x8b\x08\x00garbage", None, "broken gzip data"),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_files_name_the_line(tmp_path, text, line, message):
    path = tmp_path / "broken.off"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(OFFError) as info:
        read_off(path)
    error = info.value
    assert error.path == str(path) and error.line == line
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(error).startswith(where), str(error)
    assert message in str(error), str(error)
    assert isinstance(error, ValueError) and isinstance(error, GraphnnError)


def test_errors_from_streams_say_stream():
    with pytest.raises(OFFError, match=r"^<stream>:1: unknown header"):
        read_text("OOF\n")


def test_an_error_deep_in_a_large_file_names_its_line():
    n = 2000
    lines = ["OFF", f"{n} {n - 2} 0"] + [f"{i} {i * i % 7} 0.5" for i in range(n)]
    lines += [f"3 {i} {i + 1} {i + 2}" for i in range(n - 2)]
    assert len(read_text("\n".join(lines)).faces) == n - 2
    for at, bad, message in [
        (1500, "1500 x 0.5", "vertex value 'x' is not a number"),
        (2500, "3 1 2 99999", "face vertex index 99999 is outside [0, 2000)"),
        (2600, "3 1 2", "face says it has 3 vertices but lists 2 indices"),
        (2700, "4 1 2 3 4 5 6 7 8 9", "face has 5 values after its 4 vertex indices"),
        (900, "1 2", "vertex line has 2 values"),
    ]:
        broken = lines.copy()
        broken[at] = bad
        with pytest.raises(OFFError, match=rf"^<stream>:{at + 1}: {re.escape(message)}"):
            read_text("\n".join(broken))


# --- against a slow reference and against trimesh --------------------------------------


@st.composite
def off_texts(draw: st.DrawFn) -> str:
    """OFF/COFF files with polygons, colours of 0-4 numbers, comments and odd layout."""
    count = draw(st.integers(3, 8))
    coordinates = st.floats(-1e6, 1e6, allow_nan=False, width=32).map(float)
    vertices = draw(hnp.arrays(np.float64, (count, 3), elements=coordinates))
    colored_vertices = draw(st.booleans())
    vertex_colors = draw(st.integers(1, 4)) if colored_vertices else 0
    color_values = st.one_of(st.integers(0, 255).map(str), st.floats(0, 1).map(repr))
    rows = []
    for vertex in vertices.tolist():
        colors = [draw(color_values) for _ in range(vertex_colors)]
        rows.append(" ".join([*map(repr, vertex), *colors]))
    faces = []
    for _ in range(draw(st.integers(0, 6))):
        size = draw(st.integers(3, 6))
        indices = draw(st.lists(st.integers(0, count - 1), min_size=size, max_size=size))
        colors = draw(st.lists(color_values, max_size=4))
        faces.append(" ".join(map(str, [size, *indices, *colors])))
    header = "COFF" if colored_vertices else "OFF"
    counts = f"{count} {len(faces)} {draw(st.integers(0, 99))}"
    head = draw(st.sampled_from([[header, counts], [f"{header} {counts}"], [f"{header}{counts}"]]))
    if colored_vertices and "COFF" + counts in head[0]:
        head = [header, counts]
    lines = []
    for line in [*head, *rows, *faces, *draw(st.sampled_from([[], ["junk after the faces"]]))]:
        lines.extend(draw(st.sampled_from([[], [""], ["# a comment"], ["  \t"]])))
        gap = draw(st.sampled_from([" ", "\t", "  "]))
        comment = draw(st.sampled_from(["", " # note", "#x"]))
        lines.append(draw(st.sampled_from(["", " ", "\t"])) + line.replace(" ", gap) + comment)
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines)


@settings(max_examples=60)
@given(off_texts())
def test_read_off_matches_the_slow_reference(text):
    mesh = read_text(text)
    assert mesh == reference_read(text)
    assert read_text(written(mesh)) == mesh


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A drawn OFF file with a few bytes deleted, inserted or replaced."""
    data = bytearray(draw(off_texts()).encode())
    noise = st.sampled_from(list(b"0123456789 .-+eE#\n\r\t\x00\xffnaifOFFCNST4x"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        if action == "delete":
            del data[at]
        elif action == "insert":
            data.insert(at, draw(noise))
        else:
            data[at] = draw(noise)
    return bytes(data)


@settings(max_examples=100)
@given(mangled() | st.binary(max_size=64))
def test_any_bytes_give_a_whole_mesh_or_an_off_error(data):
    try:
        mesh = read_text(data)
    except OFFError as error:
        assert error.line is None or error.line >= 1
    else:
        assert isinstance(mesh, Mesh)


def test_same_as_trimesh_on_a_sphere(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=3)
    path = tmp_path / "sphere.off"
    write_off(Mesh(sphere.vertices, sphere.faces), path)
    theirs = trimesh.load(path, file_type="off", process=False)
    ours = read_off(path)
    assert np.array_equal(ours.vertices, theirs.vertices)
    assert np.array_equal(ours.faces, theirs.faces)


@pytest.mark.parametrize(
    "text",
    [
        SQUARE,
        "OFF8 6 12 # a cube, the header glued as in ModelNet\n"
        + "".join(f"{x} {y} {z}\n" for x in (0, 1) for y in (0, 1) for z in (0, 1))
        + "4 0 1 3 2\n4 4 6 7 5\n4 0 4 5 1\n4 2 3 7 6\n4 0 2 6 4\n4 1 5 7 3\n",
        "OFF\n# comments\n\n5 2 0\n0 0 0\n1 0 0\n1 1 0 # a vertex\n0 1 0\n0.5 2 0\n"
        "4 0 1 2 3 0.1 0.2 0.3 1.0\n3 3 2 4 255 0 0\n",
    ],
    ids=["square", "modelnet-cube", "colored"],
)
def test_same_triangles_as_trimesh(text):
    ours = read_text(text)
    theirs = trimesh.load(io.BytesIO(text.encode()), file_type="off", process=False)
    assert np.array_equal(ours.vertices, theirs.vertices)
    assert same_triangles(ours.faces, theirs.faces)


# --- writing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "header"),
    [
        ({}, "OFF"),
        ({"vertex_colors": np.ones((3, 3))}, "COFF"),
        ({"vertex_normals": np.ones((3, 3))}, "NOFF"),
        ({"vertex_colors": np.ones((3, 1)), "vertex_normals": np.ones((3, 3))}, "CNOFF"),
        ({"texture_coords": np.ones((3, 2))}, "STOFF"),
        ({"texture_coords": np.ones((3, 2)), "vertex_normals": np.ones((3, 3))}, "STNOFF"),
        (
            {
                "texture_coords": np.ones((3, 2)),
                "vertex_colors": np.ones((3, 4)),
                "vertex_normals": np.ones((3, 3)),
            },
            "STCNOFF",
        ),
        ({"face_colors": [[1.0, 2.0]]}, "OFF"),
    ],
)
def test_write_off_uses_the_shortest_header(fields, header):
    mesh = Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], **fields)
    text = written(mesh)
    assert text.splitlines()[:2] == [header, "3 1 0"]
    assert read_text(text) == mesh


def test_write_off_needs_a_mesh():
    with pytest.raises(TypeError, match="write_off needs a Mesh, got dict"):
        write_off({}, io.StringIO())


def test_polygon_meshes_round_trip_as_their_triangulation():
    mesh = read_text(SQUARE)
    assert written(mesh).splitlines()[1:] == [
        "4 2 0",
        "0.0 0.0 0.0",
        "1.0 0.0 0.0",
        "1.0 1.0 0.0",
        "0.0 1.0 0.0",
        "3 0 1 2",
        "3 0 2 3",
    ]
    assert read_text(written(mesh)) == mesh


any_floats = st.floats(allow_nan=False, allow_infinity=False)
edge_floats = st.sampled_from(
    [0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1 / 3]
)


@st.composite
def meshes_with_fields(draw: st.DrawFn) -> Mesh:
    count = draw(st.integers(1, 6))
    values = st.one_of(any_floats, edge_floats)

    def maybe(shape):
        return draw(st.none() | hnp.arrays(np.float64, shape, elements=values))

    faces = draw(
        hnp.arrays(np.int64, (draw(st.integers(0, 5)), 3), elements=st.integers(0, count - 1))
    )
    face_colors = None
    if draw(st.booleans()):
        width = draw(st.integers(1, 4))
        face_colors = np.full((len(faces), width), np.nan)
        for row in face_colors:
            present = draw(st.integers(0, width))
            row[:present] = draw(hnp.arrays(np.float64, present, elements=values))
    return Mesh(
        draw(hnp.arrays(np.float64, (count, 3), elements=values)),
        faces,
        vertex_colors=maybe((count, draw(st.integers(1, 4)))),
        vertex_normals=maybe((count, 3)),
        texture_coords=maybe((count, 2)),
        face_colors=face_colors,
    )


@settings(max_examples=80)
@given(meshes_with_fields())
def test_write_then_read_is_exact(mesh):
    assert read_text(written(mesh)) == mesh
    buffer = io.BytesIO()
    write_off(mesh, buffer)
    assert read_text(buffer.getvalue()) == mesh
