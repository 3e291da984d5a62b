"""``graphnn voxelize``: an OFF mesh to sparse voxels, as a network's input sees it."""

from __future__ import annotations

import argparse
import inspect
import time
from pathlib import Path

import numpy as np

from graphnn.cli._common import add_common_flags, say
from graphnn.exceptions import CommandError
from graphnn.sparse3d.data.picture import Off3DPicture
from graphnn.sparse3d.mesh.render import plot_sites
from graphnn.sparse3d.mesh.shapes import SHAPES, random_shape

__all__ = ["add_parser"]


def _triple(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values.tolist()) + "]"


def _run(args: argparse.Namespace) -> int:
    """Voxelize the surface of an OFF mesh and report its sites.

    MESH is an OFF file or the name of a built-in synthetic shape (box, torus, ...;
    proportions drawn with --seed).

    The mesh is centred and scaled so that its longest side is --size voxels, and every
    voxel its surface passes through is a site (graphnn.sparse3d.Off3DPicture, as the data
    sets voxelize their samples).  --rotate draws a uniformly random pose first and
    --augment adds the training augmentation (affine jitter and translation), both seeded
    by --seed.  --out writes the sites as .npz (coords int32 [N, 3], features float32
    [N, C], render_size, feature_names; graphnn.sparse3d.VoxelPicture(coords, features,
    render_size) takes them back); --png draws them.
    """
    if args.size < 1:
        raise CommandError(f"--size must be a positive number of voxels, got {args.size}")
    if args.spatial_size is not None and args.spatial_size < 1:
        raise CommandError(f"--spatial-size must be a positive int, got {args.spatial_size}")
    features = tuple(name.strip() for name in args.features.split(","))
    source = args.mesh
    if args.mesh in SHAPES and not Path(args.mesh).exists():
        source = random_shape(args.mesh, args.seed, pose=False)  # a built-in shape
    picture = Off3DPicture(source, args.size)
    mesh = picture.mesh  # read now: a broken file is reported before anything else
    start = time.perf_counter()
    coords, values = picture.voxelize(
        train=args.augment,
        rng=args.seed,
        rotate=args.rotate,
        spatial_size=args.spatial_size,
        features=features,
    )
    seconds = time.perf_counter() - start
    bounds = mesh.bounds
    lines = [
        f"{args.mesh}: {len(mesh.vertices)} vertices, {len(mesh.faces)} triangles, "
        f"bounds {_triple(bounds[0])} .. {_triple(bounds[1])}",
        f"render size {args.size}"
        + (f" in a grid of {args.spatial_size}^3" if args.spatial_size else "")
        + (", random pose" if args.rotate else "")
        + (", training augmentation" if args.augment else "")
        + f" (seed {args.seed})" * (args.rotate or args.augment),
    ]
    if len(coords):
        low, high = coords.min(axis=0), coords.max(axis=0)
        extent = high - low + 1
        fill = len(coords) / float(np.prod(extent))
        lines += [
            f"{len(coords)} sites, {values.shape[1]} feature "
            f"{'channel' if values.shape[1] == 1 else 'channels'} ({', '.join(features)}), "
            f"in {seconds * 1000:.1f} ms",
            f"site bounds {low.tolist()} .. {high.tolist()} "
            f"(extent {' x '.join(map(str, extent.tolist()))}, {fill:.1%} of that box)",
        ]
    else:
        lines.append("0 sites: the surface misses the grid (try a larger --spatial-size)")
    if args.out:
        with open(args.out, "wb") as f:
            np.savez_compressed(
                f,
                coords=coords,
                features=values,
                render_size=np.int64(args.size),
                feature_names=np.array(features),
            )
        lines.append(f"wrote {args.out}")
    if args.png:
        title = f"{Path(args.mesh).name}: render size {args.size}, {len(coords)} sites"
        try:
            plot_sites(coords, Path(args.png), title=title, seed=args.seed)
        except ImportError as error:
            raise CommandError(str(error)) from error
        lines.append(f"wrote {args.png}")
    say(args, *lines)
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``graphnn voxelize``."""
    parser = commands.add_parser(
        "voxelize",
        help="voxelize an OFF mesh; report, save or draw its sites",
        description=inspect.cleandoc(_run.__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "mesh",
        metavar="MESH.off",
        help=f"an OFF file (.off or .off.gz), or a built-in shape: {', '.join(SHAPES)}",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=32,
        metavar="N",
        help="voxels along the longest side (default: %(default)s)",
    )
    parser.add_argument(
        "--spatial-size",
        type=int,
        metavar="S",
        help="a grid of S^3 voxels, sites outside it dropped (default: the smallest that holds "
        "the mesh)",
    )
    parser.add_argument(
        "--features",
        default="ones",
        metavar="NAMES",
        help="comma-separated per-site features: ones, area, normal (default: %(default)s)",
    )
    parser.add_argument("--rotate", action="store_true", help="a uniformly random pose first")
    parser.add_argument(
        "--augment", action="store_true", help="the training augmentation (affine, translation)"
    )
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="(default: %(default)s)")
    parser.add_argument("--out", metavar="FILE.npz", help="write the sites as .npz")
    parser.add_argument("--png", metavar="FILE", help="draw the sites (.png, .pdf, .svg, ...)")
    add_common_flags(parser)
    parser.set_defaults(run=_run)
