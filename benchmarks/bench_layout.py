"""Dense against sparse layout of one MaskedLinear: forward + backward, where they cross.

graphnn's two layouts of the same masked layer (the peer of the sparse layout
is graphnn's own dense layout, i.e. ``torch.nn.functional.linear`` on
``weight * mask``, which is what cuBLAS/MKL dense does).  The crossover
sets the thresholds of ``layout="auto"`` in ``graphnn/nn/layout.py``.

Run:  python -m benchmarks.bench_layout [--quick]
"""

from __future__ import annotations

import argparse

import torch

from benchmarks._harness import Row, median_seconds, report
from graphnn.nn.masked_linear import MaskedLinear


def step(layer: MaskedLinear, x: torch.Tensor) -> None:
    layer.zero_grad(set_to_none=True)
    layer(x).sum().backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [(300, 784), (1024, 1024), (4096, 4096)] if not args.quick else [(300, 784)]
    densities = [0.5, 0.2, 0.1, 0.05, 0.01] if not args.quick else [0.1]
    torch.manual_seed(0)
    rows = []
    for out_f, in_f in sizes:
        x = torch.randn(args.batch, in_f, requires_grad=True)
        for density in densities:
            mask = torch.rand(out_f, in_f) < density
            dense = MaskedLinear(in_f, out_f, layout="dense", mask=mask)
            sparse = MaskedLinear(in_f, out_f, layout="sparse", mask=mask)
            ours = median_seconds(lambda s=sparse, x=x: step(s, x), args.repeat)
            peer = median_seconds(lambda d=dense, x=x: step(d, x), args.repeat)
            case = f"{out_f}x{in_f} density {density} batch {args.batch} fwd+bwd"
            rows.append(Row(f"sparse layout, {case}", "dense layout (F.linear)", ours, peer))
    report(
        f"Masked layer: sparse vs dense layout (float32, CPU, {args.threads} torch threads)",
        rows,
        args.repeat,
    )


if __name__ == "__main__":
    main()
