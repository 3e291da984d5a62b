"""Training step of masked feed-forward nets: graphnn MaskedFFN against deepstruct and dense torch.

One training step is forward, cross-entropy loss, backward and a
``torch.optim.SGD`` step (lr 0.01, no momentum), float32, on a random batch
of 256 with random class targets; every model runs with the same torch
thread count.  Peers:

* deepstruct 0.10.0 ``deepstruct.sparse.MaskedDeepFFN``: the dense masked
  product ``F.linear(x, weight * mask)`` in every layer, given graphnn's
  masks and weights (so it computes the same function; checked before
  timing).
* plain dense torch, ``nn.Sequential(nn.Linear, nn.ReLU, ...)``, given the
  same (masked, i.e. zero-filled) weights; it ignores the density, so it is
  the cost of not exploiting sparsity at all.

graphnn runs ``MaskedFFN(..., density=d, seed=0)`` with ``layout="auto"``;
the per-layer layouts it chose are printed after the table.  The three
models are timed in turns (one step of each per round, median over the
rounds), so that load from other work falls on all of them alike.  Shapes:
``784-300-100-10`` (deepstruct's MNIST net) at densities 1, 0.1 and 0.01,
and ``4096-4096-4096`` (input, one hidden layer, output) at 0.1 and 0.01.

Run:  python -m benchmarks.bench_training [--quick]
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks._harness import Row, median_seconds, report
from graphnn.nn import MaskedFFN, MaskedLinear

BATCH, LR = 256, 0.01


def dense_mask(layer: MaskedLinear) -> torch.Tensor:
    """The layer's live connections as a boolean ``[out, in]``, whatever its layout."""
    rows, cols, _, live = layer.entries()
    mask = torch.zeros(layer.out_features, layer.in_features, dtype=torch.bool)
    mask[rows[live], cols[live]] = True
    return mask


def copies(model: MaskedFFN) -> tuple[nn.Module | None, nn.Module]:
    """deepstruct's MaskedDeepFFN (None if not installed) and a dense Sequential, each with
    ``model``'s masks and (masked, zero-filled) weights."""
    layers = model.masked_layers()
    stack: list[nn.Module] = []
    for layer in layers:
        stack += [nn.Linear(layer.in_features, layer.out_features), nn.ReLU()]
    dense = nn.Sequential(*stack[:-1])
    targets = [[m for m in dense if isinstance(m, nn.Linear)]]
    try:
        from deepstruct.sparse import MaskedDeepFFN, maskable_layers
    except ImportError:
        masked = None
    else:
        masked = MaskedDeepFFN(model.n_inputs, model.n_outputs, model.hidden_sizes)
        targets.append(list(maskable_layers(masked)))  # first, hidden..., out: in order
        for theirs, layer in zip(targets[-1], layers, strict=True):
            theirs.mask = dense_mask(layer)
    with torch.no_grad():
        for linears in targets:
            for linear, layer in zip(linears, layers, strict=True):
                linear.weight.copy_(layer.dense_weight())
                linear.bias.copy_(layer.bias)
    return masked, dense


def stepper(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    """Return a function that runs one training step of ``model`` on ``(x, y)``."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    step()  # warm-up: allocates the gradients
    return step


def interleaved(steps: list, repeat: int) -> list[float]:
    """Median seconds of each step, timed in turns (one of each per round), so that load from
    other work on the machine falls on all of them alike."""
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(repeat):
        for step, series in zip(steps, times, strict=True):
            series.append(median_seconds(step, 1))
    return [statistics.median(series) for series in times]


def cases(quick: bool) -> list[tuple[list[int], float]]:
    """(sizes ``[input, *hidden, output]``, density)."""
    if quick:
        return [([784, 300, 100, 10], 1.0), ([784, 300, 100, 10], 0.01)]
    mnist = [([784, 300, 100, 10], d) for d in (1.0, 0.1, 0.01)]
    return mnist + [([4096, 4096, 4096], d) for d in (0.1, 0.01)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="784-300-100-10 at 1 and 0.01 only")
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch threads: {torch.get_num_threads()}, float32, batch {BATCH}\n")
    rows, chosen = [], []
    for sizes, density in cases(args.quick):
        model = MaskedFFN(sizes[0], sizes[-1], sizes[1:-1], density=density, seed=0)
        masked, dense = copies(model)
        x = torch.randn(BATCH, sizes[0])
        y = torch.randint(sizes[-1], (BATCH,))
        with torch.no_grad():
            expected = model(x)
            for peer in (masked, dense):
                if peer is not None:
                    torch.testing.assert_close(peer(x), expected, rtol=1e-4, atol=1e-4)
        name = f"{'-'.join(map(str, sizes))} density {density:g}"
        layouts = [layer.layout for layer in model.masked_layers()]
        chosen.append(
            f"{name}: "
            + ", ".join(
                f"{layer.out_features}x{layer.in_features} {layout} ({layer.density:.4f})"
                for layer, layout in zip(model.masked_layers(), layouts, strict=True)
            )
        )
        models = [model, dense] if masked is None else [model, masked, dense]
        ours, *theirs = interleaved([stepper(m, x, y) for m in models], args.repeat)
        plain = theirs.pop()
        case = f"{name} [{'/'.join(layouts)}], SGD step"
        rows.append(
            Row(
                case,
                "deepstruct 0.10 MaskedDeepFFN (dense masked)",
                ours,
                theirs[0] if theirs else None,
            )
        )
        rows.append(Row(case, "dense nn.Linear (density ignored)", ours, plain))
    report("Training step: graphnn MaskedFFN vs dense masked vs dense", rows, args.repeat)
    print("Layouts graphnn chose (layer out x in, layout, live density):\n")
    for line in chosen:
        print(f"* {line}")


if __name__ == "__main__":
    main()
