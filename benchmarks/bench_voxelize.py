"""Voxelization: graphnn.sparse3d.voxelize against trimesh's ``mesh.voxelized(pitch)``.

Each mesh is rotated at random (seeded), centred and scaled so that its
longest side is ``render_size`` voxels; both libraries get the same placed
vertices, voxel pitch 1.  graphnn's time includes that placement (it takes
the raw mesh), trimesh's the building of its ``Trimesh``; the two alternate,
run by run, so that both see the same load.  trimesh rounds the points of a
subdivided surface to voxel centres, so it gets the vertices shifted by half
a voxel and its voxel ``n`` is graphnn's voxel ``[n, n + 1)``.  ``covers``
is the fraction of trimesh's voxels that graphnn's set holds (1.0: it
covers trimesh's surface voxels), ``N`` the number of voxels of each.

Run:  python -m benchmarks.bench_voxelize [--quick]
"""

from __future__ import annotations

import argparse
import statistics
from types import SimpleNamespace

import numpy as np
import trimesh
from scipy.spatial.transform import Rotation

from benchmarks._harness import Row, median_seconds, report
from graphnn.sparse3d.mesh.voxelization import grid_coordinates, voxelize


def meshes(quick: bool) -> dict[str, SimpleNamespace]:
    shapes = {
        "icosphere(2)": trimesh.creation.icosphere(2),
        "icosphere(4)": trimesh.creation.icosphere(4),
        "box": trimesh.creation.box(),
        "torus 64x32": trimesh.creation.torus(1.0, 0.35, 64, 32),
        "cylinder 64": trimesh.creation.cylinder(0.2, 2.0, sections=64),
    }
    if quick:
        shapes = {name: shapes[name] for name in ("icosphere(4)", "box")}
    return {
        f"{name} [{len(m.faces)} faces]": SimpleNamespace(vertices=m.vertices, faces=m.faces)
        for name, m in shapes.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 meshes, render sizes 32 and 64")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    render_sizes = [32, 64] if args.quick else [32, 64, 128]
    rows, total_ours, total_theirs = [], 0.0, 0.0
    for seed, (name, mesh) in enumerate(meshes(args.quick).items()):
        rotation = Rotation.random(random_state=seed).as_matrix()
        for render_size in render_sizes:
            points, _ = grid_coordinates(mesh, render_size, rotation=rotation)

            def ours(mesh=mesh, render_size=render_size, rotation=rotation):
                return voxelize(mesh, render_size, rotation=rotation)[0]

            def theirs(points=points, faces=mesh.faces):
                grid = trimesh.Trimesh(points - 0.5, faces, process=False).voxelized(1.0)
                return grid.sparse_indices + np.round(grid.transform[:3, 3]).astype(int)

            mine = set(map(tuple, ours().tolist()))  # (also a warm-up)
            other = set(map(tuple, theirs().tolist()))
            covers = len(mine & other) / len(other)
            pairs = range(args.repeat)
            runs = [(median_seconds(ours, 1), median_seconds(theirs, 1)) for _ in pairs]
            ours_s, theirs_s = (statistics.median(times) for times in zip(*runs, strict=True))
            total_ours, total_theirs = total_ours + ours_s, total_theirs + theirs_s
            case = (
                f"{name}, render {render_size}: N {len(mine)} vs {len(other)}, covers {covers:.4f}"
            )
            rows.append(Row(case, "trimesh voxelized(1.0)", ours_s, theirs_s))
    rows.append(Row("all of the above", "trimesh voxelized(1.0)", total_ours, total_theirs))
    report("Surface voxelization, random rotation, pitch 1 voxel", rows, args.repeat)


if __name__ == "__main__":
    main()
