"""GPU: graphnn's Triton kernels against cuBLAS dense and torch.sparse CSR (needs CUDA).

``Y = X @ W.T`` forward + backward for ``in = out = 4096``, batch 512, at
densities 50 %, 10 %, 1 % and 0.1 %, with unstructured masks (graphnn's
``sparse`` layout: CSR SpMM, transposed SpMM, SDDMM) and with 32x32-block
masks (graphnn's ``block`` layout: BSR kernels).  Peers, in the same
process, same dtype:

* cuBLAS dense: ``x @ (w * m).T`` with autograd (graphnn's ``dense`` layout);
* torch.sparse CSR: the same masked layer run with ``backend("torch")``, i.e.
  torch's CSR product (cuSPARSE) and ``torch.sparse.sampled_addmm``.

Then a full training step of a ``MaskedDAG`` (4096-4096-4096 ``MaskedFFN``
at 1 %), dense against sparse layout.  Goals (issue 4): block-sparse at
least ``0.5 / density`` times faster than dense at density <= 25 %;
unstructured CSR faster than dense at <= 5 % and at least 2x faster than
torch.sparse CSR.

Run:  python -m benchmarks.bench_kernels [--quick] [--dtype float16]
"""

from __future__ import annotations

import argparse
import statistics

import torch

from benchmarks._harness import Row, report
from graphnn.backends import backend
from graphnn.nn import MaskedFFN, MaskedLinear

SIZE, BATCH, BLOCK = 4096, 512, 32


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


def mask_of(density: float, blocked: bool, generator: torch.Generator) -> torch.Tensor:
    if not blocked:
        return torch.rand(SIZE, SIZE, generator=generator) < density
    blocks = torch.rand(SIZE // BLOCK, SIZE // BLOCK, generator=generator) < density
    return blocks.repeat_interleave(BLOCK, 0).repeat_interleave(BLOCK, 1)


def step(layer: MaskedLinear, x: torch.Tensor) -> None:
    layer.zero_grad(set_to_none=True)
    layer(x).sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="density 1 % only")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench_kernels needs a CUDA device: nothing measured on this machine")
        return
    dtype = getattr(torch, args.dtype)
    device = torch.device("cuda")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, SIZE, device=device, dtype=dtype, requires_grad=True)
    rows = []
    for density in [0.01] if args.quick else [0.5, 0.1, 0.01, 0.001]:
        for blocked in (False, True):
            mask = mask_of(density, blocked, generator)
            layout = "block" if blocked else "sparse"
            ours = MaskedLinear(
                SIZE, SIZE, layout=layout, mask=mask, block_size=BLOCK, device=device, dtype=dtype
            )
            dense = MaskedLinear(SIZE, SIZE, layout="dense", mask=mask, device=device, dtype=dtype)
            ours_s = cuda_median(lambda o=ours: step(o, x), args.repeat)
            dense_s = cuda_median(lambda d=dense: step(d, x), args.repeat)
            kind = f"{'32x32 blocks' if blocked else 'unstructured'}, density {density}"
            rows.append(
                Row(f"{layout} (Triton) fwd+bwd, {kind}", "cuBLAS dense (w*m)", ours_s, dense_s)
            )
            if not blocked:
                with backend("torch"):
                    torch_s = cuda_median(lambda o=ours: step(o, x), args.repeat)
                rows.append(
                    Row(f"{layout} (Triton) fwd+bwd, {kind}", "torch.sparse CSR", ours_s, torch_s)
                )
    for layout in ("sparse", "dense"):
        torch.manual_seed(0)
        model = MaskedFFN(
            SIZE, SIZE, [SIZE], density=0.01, seed=0, layout=layout, device=device, dtype=dtype
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        inputs = torch.randn(BATCH, SIZE, device=device, dtype=dtype)

        def train(model=model, optimizer=optimizer, inputs=inputs) -> None:
            optimizer.zero_grad(set_to_none=True)
            model(inputs).float().pow(2).mean().backward()
            optimizer.step()

        rows.append(
            Row(
                f"MaskedFFN 4096-4096-4096 at 1 %, SGD step, {layout} layout",
                "-",
                cuda_median(train, args.repeat),
                None,
            )
        )
    report(
        f"Triton kernels on {torch.cuda.get_device_name()} ({args.dtype}, batch {BATCH})",
        rows,
        args.repeat,
    )


if __name__ == "__main__":
    main()
