"""GPU: the sparse convolution kernels against torch gather + bmm and against dense cuDNN conv3d.

A submanifold 3x3x3 convolution on the voxels of a spherical shell (the
surface of a ModelNet-like object: a few percent of the grid active), at grid
sides 64 and 128 and 16 to 128 channels.  Measured, in one process, same
dtype:

* ``gather_conv`` forward, and forward + backward (input gradient through
  the reversed table, weight gradient with ``gather_conv_weight_grad``), against

  - torch gather + bmm: ``x[neighbors]`` masked to ``[N, K, C_in]``, one
    ``torch.bmm`` with the ``K`` weight matrices, summed over ``K`` (autograd
    for the backward);
  - cuDNN dense: ``F.conv3d`` (padding 1) on the dense ``[1, C, D, H, W]``
    grid of the same voxels (autograd for the backward);

* ``gather_max_pool`` (3x3x3 window) against torch's masked gather + ``max``;
* building the neighbour table with the device hash table (``hash_build`` +
  ``hash_lookup`` of the ``27 N`` neighbour keys) against torch's
  ``sort`` + ``searchsorted`` of the same keys.

Run:  python -m benchmarks.bench_sparse_conv_gpu [--quick] [--repeat 20] [--dtype float16]
"""

from __future__ import annotations

import argparse
import itertools
import statistics

import torch
import torch.nn.functional as F

from benchmarks._harness import Row, report


def cuda_median(fn, repeat: int) -> float:
    """Median seconds of ``fn`` on the GPU (CUDA events), after a warm-up."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeat):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop) / 1000)
    return statistics.median(times)


def shell(side: int, device: torch.device) -> torch.Tensor:
    """int64 [N, 3]: the voxels within half a voxel of a sphere of radius 0.4 * side."""
    axis = torch.arange(side, device=device, dtype=torch.float32)
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1)
    distance = (grid - (side - 1) / 2).norm(dim=-1)
    return (distance - 0.4 * side).abs().le(0.5).nonzero()


def neighbour_keys(coords: torch.Tensor, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Linearised keys of the sites, and of their 27 neighbours (-1 outside the grid)."""
    offsets = torch.tensor(list(itertools.product((-1, 0, 1), repeat=3)), device=coords.device)
    near = coords[:, None, :] + offsets[None]
    inside = ((near >= 0) & (near < side)).all(-1)
    linear = lambda c: (c[..., 0] * side + c[..., 1]) * side + c[..., 2]  # noqa: E731
    return linear(coords), torch.where(inside, linear(near), -1).reshape(-1)


def table_by_sorting(keys: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """The torch peer: each query's row through sort + searchsorted, -1 when absent."""
    ordered, order = keys.sort()
    at = torch.searchsorted(ordered, queries).clamp(max=keys.numel() - 1)
    return torch.where(ordered[at] == queries, order[at], -1).to(torch.int32)


def gather_bmm(x: torch.Tensor, w: torch.Tensor, nbr: torch.Tensor) -> torch.Tensor:
    """The torch peer of ``gather_conv``: masked gather to [K, N, C_in], bmm, sum over K."""
    valid = (nbr >= 0).T.unsqueeze(-1)
    gathered = torch.where(valid, x[nbr.T.clamp(min=0).long()], 0)
    return torch.bmm(gathered, w).sum(0)


def gather_max(x: torch.Tensor, nbr: torch.Tensor) -> torch.Tensor:
    valid = (nbr >= 0).unsqueeze(-1)
    masked = torch.where(valid, x[nbr.clamp(min=0).long()], float("-inf")).amax(1)
    return torch.where(valid.any(1), masked, 0)


def conv_rows(case: str, x, w, grad, nbr, reverse, coords, side: int, repeat: int) -> list[Row]:
    """Forward, forward + backward and max pooling of one case, ours against the peers."""
    from triton_kernels.max_pool import gather_max_pool
    from triton_kernels.sparse_conv import gather_conv
    from triton_kernels.sparse_conv_weight_grad import gather_conv_weight_grad

    torch.testing.assert_close(
        gather_conv(x, w, nbr).float(), gather_bmm(x, w, nbr).float(), rtol=5e-2, atol=5e-2
    )
    channels = x.shape[1]
    dense_x = x.new_zeros(1, channels, side, side, side)
    dense_x[0, :, coords[:, 0], coords[:, 1], coords[:, 2]] = x.T
    dense_w = w.permute(2, 1, 0).reshape(channels, channels, 3, 3, 3).contiguous()
    w_t = w.transpose(1, 2).contiguous()

    def ours_step():
        gather_conv(x, w, nbr, validate=False)
        gather_conv(grad, w_t, reverse, validate=False)
        gather_conv_weight_grad(x, grad, nbr, validate=False)

    def torch_step():
        xs, ws = x.detach().requires_grad_(), w.detach().requires_grad_()
        gather_bmm(xs, ws, nbr).backward(grad)

    def dense_step():
        xs, ws = dense_x.detach().requires_grad_(), dense_w.detach().requires_grad_()
        out = F.conv3d(xs, ws, padding=1)
        out.backward(torch.ones_like(out))

    forward_s = cuda_median(lambda: gather_conv(x, w, nbr, validate=False), repeat)
    step_s = cuda_median(ours_step, repeat)
    return [
        Row(
            f"gather_conv forward, {case}",
            "torch gather + bmm",
            forward_s,
            cuda_median(lambda: gather_bmm(x, w, nbr), repeat),
        ),
        Row(
            f"gather_conv forward, {case}",
            "cuDNN dense conv3d",
            forward_s,
            cuda_median(lambda: F.conv3d(dense_x, dense_w, padding=1), repeat),
        ),
        Row(
            f"gather_conv fwd+bwd, {case}",
            "torch gather + bmm",
            step_s,
            cuda_median(torch_step, repeat),
        ),
        Row(
            f"gather_conv fwd+bwd, {case}",
            "cuDNN dense conv3d",
            step_s,
            cuda_median(dense_step, repeat),
        ),
        Row(
            f"gather_max_pool 3x3x3, {case}",
            "torch masked gather + max",
            cuda_median(lambda: gather_max_pool(x, nbr, validate=False), repeat),
            cuda_median(lambda: gather_max(x, nbr), repeat),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="grid side 64, 32 channels only")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench_sparse_conv_gpu needs a CUDA device: nothing measured on this machine")
        return
    from triton_kernels.hash_table import hash_build, hash_lookup
    from triton_kernels.sparse_conv import reverse_neighbors

    def table_by_hashing(keys: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        return hash_lookup(hash_build(keys, validate=False), queries)

    dtype, device = getattr(torch, args.dtype), torch.device("cuda")
    generator = torch.Generator(device=device).manual_seed(0)
    rows = []
    for side in [64] if args.quick else [64, 128]:
        coords = shell(side, device)
        n = coords.shape[0]
        keys, queries = neighbour_keys(coords, side)
        nbr = table_by_sorting(keys, queries).reshape(n, 27)
        if not torch.equal(table_by_hashing(keys, queries).reshape(n, 27), nbr):
            raise AssertionError("the hash table and sort + searchsorted disagree")
        where = f"{side}^3 grid, {n} voxels ({100 * n / side**3:.1f} %)"
        rows.append(
            Row(
                f"neighbour table: hash build + lookup, {where}",
                "torch sort + searchsorted",
                cuda_median(lambda k=keys, q=queries: table_by_hashing(k, q), args.repeat),
                cuda_median(lambda k=keys, q=queries: table_by_sorting(k, q), args.repeat),
            )
        )
        reverse = reverse_neighbors(nbr, n)
        for channels in [32] if args.quick else [16, 64, 128]:
            x, grad = (
                torch.randn(n, channels, device=device, dtype=dtype, generator=generator)
                for _ in range(2)
            )
            w = torch.randn(27, channels, channels, device=device, dtype=dtype, generator=generator)
            w /= (27 * channels) ** 0.5
            case = f"{where}, {channels} -> {channels} channels"
            rows += conv_rows(case, x, w, grad, nbr, reverse, coords, side, args.repeat)
    report(
        f"Sparse convolution kernels on {torch.cuda.get_device_name()} ({args.dtype})",
        rows,
        args.repeat,
    )


if __name__ == "__main__":
    main()
