"""OFF: graphnn.read_off / write_off against trimesh's OFF loader and exporter.

The mesh is a torus of about 100k triangles (50k vertices), written three
ways: by ``write_off`` (``repr`` floats), as a ModelNet file (the header
glued to the counts, ``OFF50000 100000 0``, six decimals), and as quads
mixed with triangles (polygons of different sizes, fan-triangulated on
reading).  Each reader reads the same file; ``trimesh.load`` runs with
``process=False`` so it does no more than parse.

Run:  python -m benchmarks.bench_off [--quick]
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._harness import Row, median_seconds, report
from graphnn.sparse3d.mesh.mesh import Mesh
from graphnn.sparse3d.mesh.off import read_off, write_off

try:
    import trimesh
except ImportError:  # the peer is optional: its rows show "peer not run"
    trimesh = None


def torus(rings: int, segments: int) -> Mesh:
    """A torus with ``rings * segments`` vertices and twice as many triangles."""
    u, v = np.meshgrid(
        np.linspace(0, 2 * np.pi, rings, endpoint=False),
        np.linspace(0, 2 * np.pi, segments, endpoint=False),
        indexing="ij",
    )
    radius = 1.0 + 0.3 * np.cos(v)
    vertices = np.stack([radius * np.cos(u), radius * np.sin(u), 0.3 * np.sin(v)], -1)
    i, j = np.meshgrid(np.arange(rings), np.arange(segments), indexing="ij")
    a, b = i * segments + j, ((i + 1) % rings) * segments + j
    c, d = ((i + 1) % rings) * segments + (j + 1) % segments, i * segments + (j + 1) % segments
    quads = np.stack([a, b, c, d], -1).reshape(-1, 4)
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    return Mesh(vertices.reshape(-1, 3), faces)


def modelnet_text(mesh: Mesh) -> str:
    head = f"OFF{len(mesh.vertices)} {len(mesh.faces)} 0\n"
    vertices = "%.6f %.6f %.6f\n" * len(mesh.vertices) % tuple(mesh.vertices.ravel().tolist())
    return head + vertices + "3 %d %d %d\n" * len(mesh.faces) % tuple(mesh.faces.ravel().tolist())


def mixed_polygon_text(mesh: Mesh) -> str:
    """Every other pair of triangles (a, b, c), (a, c, d) of the torus as one quad."""
    half = len(mesh.faces) // 2
    first, second = mesh.faces[:half], mesh.faces[half:]
    lines = [f"OFF\n{len(mesh.vertices)} {half + half // 2} 0\n"]
    lines.append("%r %r %r\n" * len(mesh.vertices) % tuple(mesh.vertices.ravel().tolist()))
    for k, (t, s) in enumerate(zip(first.tolist(), second.tolist(), strict=True)):
        if k % 2:
            lines.append(f"4 {t[0]} {t[1]} {t[2]} {s[2]}\n")
        else:
            lines.append(f"3 {t[0]} {t[1]} {t[2]}\n3 {s[0]} {s[1]} {s[2]}\n")
    return "".join(lines)


def trimesh_load(path: Path):
    return trimesh.load(path, file_type="off", process=False)


def trimesh_load_off(path: Path):
    with open(path, "rb") as f:
        return trimesh.exchange.off.load_off(f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 10k triangles instead of 100k")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    mesh = torus(*((50, 100) if args.quick else (250, 200)))
    name = f"torus [{len(mesh.vertices)} vertices, {len(mesh.faces)} triangles]"
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        files = {
            "write_off": Path(folder, "graphnn.off"),
            "ModelNet": Path(folder, "modelnet.off"),
            "mixed quads": Path(folder, "polygons.off"),
        }
        write_off(mesh, files["write_off"])
        files["ModelNet"].write_text(modelnet_text(mesh))
        files["mixed quads"].write_text(mixed_polygon_text(mesh))
        assert read_off(files["write_off"]) == mesh
        assert len(read_off(files["mixed quads"]).faces) == len(mesh.faces)
        for kind, path in files.items():
            if trimesh is not None:  # the peer reads the same mesh
                peer = trimesh_load(path)
                assert len(peer.vertices) == len(mesh.vertices), kind
                assert len(peer.faces) == len(mesh.faces), kind
            ours = median_seconds(lambda path=path: read_off(path), args.repeat)
            for peer, load in (
                ("trimesh.load", trimesh_load),
                ("trimesh load_off", trimesh_load_off),
            ):
                theirs = None
                if trimesh is not None:
                    theirs = median_seconds(lambda load=load, path=path: load(path), args.repeat)
                rows.append(Row(f"read {name}, {kind} file", peer, ours, theirs))
        ours = median_seconds(lambda: write_off(mesh, io.StringIO()), args.repeat)
        theirs = None
        if trimesh is not None:
            peer_mesh = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
            theirs = median_seconds(lambda: trimesh.exchange.off.export_off(peer_mesh), args.repeat)
        rows.append(Row(f"write {name} (to a string)", "trimesh export_off", ours, theirs))
        size = files["write_off"].stat().st_size / 1e6
    report(f"OFF (graphnn's file {size:.1f} MB)", rows, args.repeat)


if __name__ == "__main__":
    main()
