"""Sparse 3D convolution on voxelized surfaces: graphnn against spconv 2.3 and dense conv3d.

The workload is SparseConvNet's: the surfaces of random synthetic shapes
(boxes, spheres, tori, ...) voxelized at ``render_size`` in a grid of
``spatial_size`` (about 100k active sites in a batch of 8 at 128^3; ``--quick``:
a small grid).  Rows:

* map build: the kernel map from the raw coordinates (graphnn: the tensor with
  its checks and sorted keys, then :func:`submanifold_map` / :func:`conv_map`;
  spconv: ``get_indice_pairs``, its native builder);
* forward of ``SubmanifoldConv3d`` 32->32 and 64->64 (k=3) on a built map, and of
  ``SparseConv3d`` k=2 s=2 including its map (spconv rebuilds a strided map on
  every call), against spconv's CPU build (forward only there); the outputs are
  checked equal before anything is timed;
* forward + backward of a submanifold layer against dense ``conv3d`` forward +
  backward on the densified grid of one sample (the issue's goal: 5x);
* forward + backward (a training step) of a submanifold and a strided layer on the
  native kernel against the same on graphnn's torch path.

graphnn's forward rows run what the CPU runs by default, the native C kernel
(:mod:`graphnn.sparse3d.ops.native`, when it builds; the row says which), and
each is repeated on the torch path (``backend("torch")``, the reference).

Every row runs graphnn and its peer in one process at one thread
(``torch.set_num_threads(1)``, spconv's CPU kernels being single-threaded),
the two timed turn about (medians of ``--repeat`` calls each).
The spconv rows are skipped, with a note, when spconv does not import
(``pip install spconv==2.3.8 'cumm<0.8'``).  Last, the torch path's output and
gradients are compared bitwise at 1 and 2 threads.

Run:  python -m benchmarks.bench_sparse_conv [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks._harness import Row, median_seconds, report
from benchmarks._harness import paired_median_seconds as paired
from graphnn.backends import backend
from graphnn.sparse3d.kernel_map import conv_map, linear_keys, submanifold_map
from graphnn.sparse3d.layers.conv import SparseConv3d, SubmanifoldConv3d
from graphnn.sparse3d.mesh.shapes import shapes
from graphnn.sparse3d.mesh.voxelization import voxelize
from graphnn.sparse3d.ops import native
from graphnn.sparse3d.tensor import SparseVoxelTensor


def surfaces(samples: int, render_size: int, spatial_size: int) -> SparseVoxelTensor:
    """The voxelized surfaces of ``samples`` random shapes, one per sample, 1 channel."""
    meshes = shapes(max(1, -(-samples // 8)), seed=0)[:samples]
    parts = []
    for b, (mesh, _) in enumerate(meshes):
        xyz, _ = voxelize(mesh, render_size, spatial_size=spatial_size)
        parts.append(np.concatenate([np.full((len(xyz), 1), b, np.int32), xyz], axis=1))
    coords = torch.from_numpy(np.concatenate(parts))
    return SparseVoxelTensor(coords, torch.ones(len(coords), 1), (spatial_size,) * 3, samples)


def spconv_or_none():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import spconv.pytorch as spconv
    except ImportError:
        return None
    return spconv


def to_spconv_weight(weight: torch.Tensor, kernel_size: tuple[int, int, int]) -> torch.Tensor:
    """graphnn's ``[K, C_in, C_out]`` as spconv's ``[C_out, kx, ky, kz, C_in]``."""
    return weight.reshape(*kernel_size, *weight.shape[1:]).permute(4, 0, 1, 2, 3).contiguous()


def sorted_rows(coords: torch.Tensor, features: torch.Tensor, shape) -> torch.Tensor:
    return features[torch.argsort(linear_keys(coords, shape))]


def check_equal(ours: torch.Tensor, theirs: torch.Tensor, what: str) -> None:
    scale = float(ours.abs().max()) if ours.numel() else 1.0
    error = float((ours - theirs).abs().max()) if ours.numel() else 0.0
    if error > 1e-5 * max(scale, 1.0):
        raise AssertionError(
            f"{what}: graphnn and spconv differ by {error:.3g} (scale {scale:.3g})"
        )


def default_path() -> str:
    return "native" if native.available() else "torch path, native kernel not built"


def on_torch(fn):
    """``fn`` on the torch path (the reference the native kernel is tested against)."""

    def run():
        with backend("torch"):
            return fn()

    return run


def both_paths(case, peer_name, ours, theirs, repeat) -> list[Row]:
    """Rows for graphnn's default CPU path and its torch path, each paired with ``theirs``."""
    rows = []
    for label, fn in ((default_path(), ours), ("torch path", on_torch(ours))):
        if theirs is None:
            mine, peer = median_seconds(fn, repeat), None
        else:
            mine, peer = paired(fn, theirs, repeat)
        rows.append(Row(f"{case} [{label}]", peer_name, mine, peer))
    return rows


def timed(fn, repeat: int) -> float:
    """The median time of ``fn`` after one untimed warm-up call (allocator, caches)."""
    fn()
    return median_seconds(fn, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 32^3 grid instead of 128^3")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    samples, render, size = (4, 14, 32) if args.quick else (8, 64, 128)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    spconv = spconv_or_none()
    x = surfaces(samples, render, size)
    name = f"{samples} surfaces, {x.num_sites} sites, {size}^3"
    coords, shape = x.coords, list(x.spatial_shape)
    rows = []

    def fresh() -> SparseVoxelTensor:
        return SparseVoxelTensor(coords, x.features, x.spatial_shape, x.batch_size)

    # --- map build ---------------------------------------------------------------------
    peer_subm = peer_down = None
    if spconv is None:
        subm_build = timed(lambda: submanifold_map(fresh(), 3), args.repeat)
        down_build = timed(lambda: conv_map(fresh(), 2, 2), args.repeat)
    else:
        from spconv.core import ConvAlgo
        from spconv.pytorch.ops import get_indice_pairs

        def pairs(k, s, subm):
            return get_indice_pairs(
                coords, x.batch_size, shape, ConvAlgo.Native, [k] * 3, [s] * 3, [0] * 3,
                [1] * 3, [0] * 3, subm,
            )  # fmt: skip

        subm_build, peer_subm = paired(
            lambda: submanifold_map(fresh(), 3), lambda: pairs(3, 1, True), args.repeat
        )
        down_build, peer_down = paired(
            lambda: conv_map(fresh(), 2, 2), lambda: pairs(2, 2, False), args.repeat
        )
    spconv_name = "spconv 2.3 (CPU)" if spconv is not None else "spconv (not installed)"
    rows.append(Row(f"map build, submanifold k=3, {name}", spconv_name, subm_build, peer_subm))
    rows.append(Row(f"map build, conv k=2 s=2, {name}", spconv_name, down_build, peer_down))

    # --- forward against spconv --------------------------------------------------------
    for channels in (32, 64):
        layer = SubmanifoldConv3d(channels, channels, 3, bias=False)
        t = x.replace_features(torch.randn(x.num_sites, channels))
        with torch.no_grad():
            layer(t)  # builds the map and the tile plan once
            peer_fn = None
            if spconv is not None:
                theirs = spconv.SubMConv3d(channels, channels, 3, bias=False, indice_key="s")
                theirs.weight.copy_(to_spconv_weight(layer.weight, (3, 3, 3)))
                first = theirs(spconv.SparseConvTensor(t.features, coords, shape, x.batch_size))
                check_equal(layer(t).features, first.features, f"submanifold {channels}")
                with backend("torch"):
                    check_equal(layer(t).features, first.features, "torch path")
                again = first.replace_feature(t.features)

                def peer_fn(theirs=theirs, again=again):
                    return theirs(again)

            case = f"SubmanifoldConv3d {channels}->{channels} k=3 forward, {name}"
            rows += both_paths(
                case, spconv_name, lambda layer=layer, t=t: layer(t), peer_fn, args.repeat
            )

    layer = SparseConv3d(32, 32, 2, stride=2, bias=False)
    features = torch.randn(x.num_sites, 32)
    with torch.no_grad():
        peer = None
        if spconv is None:
            ours = median_seconds(lambda: layer(fresh().replace_features(features)), args.repeat)
        else:
            theirs = spconv.SparseConv3d(32, 32, 2, 2, bias=False)
            theirs.weight.copy_(to_spconv_weight(layer.weight, (2, 2, 2)))

            def run_theirs():
                return theirs(spconv.SparseConvTensor(features, coords, shape, x.batch_size))

            out, y = run_theirs(), layer(fresh().replace_features(features))
            assert out.indices.shape[0] == y.num_sites
            check_equal(
                y.features,
                sorted_rows(out.indices, out.features, y.spatial_shape),
                "strided conv",
            )
            ours, peer = paired(
                lambda: layer(fresh().replace_features(features)), run_theirs, args.repeat
            )
    case = f"SparseConv3d 32->32 k=2 s=2 map + forward, {name} [{default_path()}]"
    rows.append(Row(case, spconv_name, ours, peer))

    with torch.no_grad():  # the same layer on a built map (both sides keep their pairs)
        t = fresh().replace_features(features)
        layer(t)
        on_torch(lambda: layer(t))()  # the torch path's tile plan, built once like the map
        conv_theirs = None
        if spconv is not None:
            from spconv.core import ConvAlgo
            from spconv.pytorch import functional as spconv_functional
            from spconv.pytorch.ops import get_indice_pairs

            out_ids, pairs_, counts = get_indice_pairs(
                coords, x.batch_size, shape, ConvAlgo.Native, [2] * 3, [2] * 3, [0] * 3,
                [1] * 3, [0] * 3, False,
            )  # fmt: skip

            def conv_theirs():
                return spconv_functional.indice_conv(
                    features, theirs.weight, pairs_, counts, out_ids.shape[0], ConvAlgo.Native
                )

            expected = sorted_rows(out_ids, conv_theirs(), layer(t).spatial_shape)
            check_equal(layer(t).features, expected, "strided conv on a built map")
            check_equal(on_torch(lambda: layer(t))().features, expected, "torch path")
        case = f"SparseConv3d 32->32 k=2 s=2 forward, {name}"
        rows += both_paths(case, spconv_name, lambda: layer(t), conv_theirs, args.repeat)

    # --- forward + backward against dense conv3d ---------------------------------------
    one = SparseVoxelTensor(
        coords[coords[:, 0] == 0], x.features[coords[:, 0] == 0], x.spatial_shape, 1
    )
    for channels in (32,):
        layer = SubmanifoldConv3d(channels, channels, 3)
        f = torch.randn(one.num_sites, channels, requires_grad=True)
        t = one.replace_features(f)
        layer(t)

        def sparse_step(layer=layer, t=t):
            layer(t).features.sum().backward()

        grid = t.dense().detach().requires_grad_()
        dense = torch.nn.Conv3d(channels, channels, 3, padding=1)

        def dense_step(grid=grid, dense=dense):
            F.conv3d(grid, dense.weight, dense.bias, padding=1).sum().backward()

        case = f"SubmanifoldConv3d {channels}->{channels} forward+backward, 1 surface, {size}^3"
        ours = median_seconds(sparse_step, args.repeat)
        theirs = median_seconds(dense_step, args.repeat)
        rows.append(Row(case, "dense F.conv3d fwd+bwd", ours, theirs))

    # --- a training step of one layer, default CPU path against the torch path ------------
    if native.available():
        for layer, label in (
            (SubmanifoldConv3d(32, 32, 3), "SubmanifoldConv3d 32->32 k=3"),
            (SparseConv3d(32, 32, 2, stride=2), "SparseConv3d 32->32 k=2 s=2"),
        ):
            f = torch.randn(x.num_sites, 32, requires_grad=True)
            t = x.replace_features(f)

            def step(layer=layer, t=t):
                layer(t).features.sum().backward()

            step()
            on_torch(step)()  # both plans built
            ours, theirs = paired(step, on_torch(step), args.repeat)
            case = f"{label} forward+backward, {name} [native]"
            rows.append(Row(case, "graphnn's torch path", ours, theirs))

    title = "Sparse convolution (one thread; forward rows are inference, torch.no_grad)"
    report(title, rows, args.repeat)
    if spconv is None:
        print("note: spconv does not import here, so its rows were not run\n")
    for path in ("auto", "torch"):
        print(determinism(x, path))


def determinism(x: SparseVoxelTensor, path: str) -> str:
    """Say whether outputs and gradients have the same bits at 1 and 2 threads."""
    layer = SubmanifoldConv3d(16, 16, 3)
    features = torch.randn(x.num_sites, 16)
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        layer.zero_grad()
        f = features.clone().requires_grad_()
        with backend(path):
            y = layer(x.replace_features(f)).features
            (y**2).sum().backward()
        results.append((y.detach(), f.grad, layer.weight.grad.clone()))
    torch.set_num_threads(1)
    same = all(torch.equal(a, b) for a, b in zip(*results, strict=True))
    label = default_path() if path == "auto" else "torch path"
    return f"determinism [{label}]: output and gradients bitwise equal at 1 and 2 threads: {same}\n"


if __name__ == "__main__":
    main()
