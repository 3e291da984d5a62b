"""Scale: structures of 100,000 nodes and about 1,000,000 edges, graphnn alone.

No peer can build models of this size from a graph (deepstruct's layering
alone is quadratic, see bench_layering), so this reports absolute numbers.
Two structures, each measured in a fresh Python process so that their memory
does not mix:

* ``layered``: ``layered([10000] * 10, density=0.001, skip_density=3e-5)``,
  ten layers with skip connections (10k inputs, 10k outputs);
* ``watts-strogatz``: ``watts_strogatz_dag(100000, 20, 0.1)``, oriented from
  the lower to the higher node, one input and one or two outputs; its
  longest-path layering has almost one layer per node, hence as many stages.

For each: the time to build the networkx graph, ``graphnn.compile`` (once,
after a warm-up compile of a tiny structure), a training pass
(forward + backward of ``sum(outputs)``) on a float32 batch of 64 (median of
``--repeat``), ``model.to_graph()`` (once), and the process's peak resident
memory (``ru_maxrss``) after importing, after building the graph, after
compiling, after the passes and after ``to_graph``.  Then
``compile(model.to_graph())`` must give the same outputs on a batch of 4
(checked after the memory is read; the largest difference is shown).

Run:  python -m benchmarks.bench_scale [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import networkx as nx
import torch

import graphnn
from benchmarks._harness import command, median_seconds
from graphnn.structure.generators import layered, watts_strogatz_dag

KINDS = ("layered", "watts-strogatz")
BATCH = 64


def scale_structure(kind: str, n: int) -> tuple[str, nx.DiGraph]:
    """Return ``(description, graph)`` of ``n`` nodes and about ``10 n`` edges."""
    if kind == "layered":
        width = n // 10
        density, skip = 10 / width, 0.3 / width
        name = f"layered 10x{width} density {density:g} skip {skip:g}"
        return name, layered([width] * 10, density=density, skip_density=skip, seed=0)
    if kind == "watts-strogatz":
        return f"watts_strogatz_dag({n}, 20, 0.1)", watts_strogatz_dag(n, 20, 0.1, seed=0)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def measure(kind: str, n: int, repeat: int) -> dict:
    """Run one case in this process and return its numbers."""
    graphnn.compile(layered([3, 4, 2], seed=0))(torch.zeros(2, 3)).sum().backward()  # warm-up
    out = {"rss_import_mb": peak_rss_mb()}
    (name, G), out["graph_s"] = timed(lambda: scale_structure(kind, n))
    out |= {"rss_graph_mb": peak_rss_mb(), "name": name}
    out |= {"nodes": G.number_of_nodes(), "edges": G.number_of_edges()}
    model, out["compile_s"] = timed(lambda: graphnn.compile(G))
    out["rss_compile_mb"] = peak_rss_mb()
    chosen = [layer.layout for layer in model.masked_layers()]
    out["stages"] = f"{len(chosen)}: " + ", ".join(
        f"{chosen.count(k)} {k}" for k in ("dense", "sparse") if k in chosen
    )
    x = torch.randn(BATCH, model.n_inputs)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()

    out["train_s"] = median_seconds(step, repeat)
    out["rss_train_mb"] = peak_rss_mb()
    H, out["to_graph_s"] = timed(model.to_graph)
    out["rss_peak_mb"] = peak_rss_mb()
    again = graphnn.compile(H)
    assert again.input_nodes == model.input_nodes and again.output_nodes == model.output_nodes
    small = torch.randn(4, model.n_inputs)
    with torch.no_grad():
        expected, got = model(small), again(small)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    out["round_trip_diff"] = float((got - expected).abs().max())
    return out


def run_in_subprocess(kind: str, args: argparse.Namespace) -> dict:
    """Measure one case in a fresh interpreter and return its numbers."""
    child = [sys.executable, "-m", "benchmarks.bench_scale", "--case", kind]
    child += ["--repeat", str(args.repeat), "--threads", str(args.threads)]
    child += ["--quick"] if args.quick else []
    done = subprocess.run(child, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(child)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


ROWS = (
    ("nodes", "nodes", "{}"),
    ("edges", "edges", "{}"),
    ("stages (layouts)", "stages", "{}"),
    ("build the networkx graph, s", "graph_s", "{:.3g}"),
    ("compile, s", "compile_s", "{:.3g}"),
    (f"forward + backward, batch {BATCH}, s (median)", "train_s", "{:.3g}"),
    ("to_graph, s", "to_graph_s", "{:.3g}"),
    ("peak RSS after imports, MB", "rss_import_mb", "{:.0f}"),
    ("peak RSS after building the graph, MB", "rss_graph_mb", "{:.0f}"),
    ("peak RSS after compile, MB", "rss_compile_mb", "{:.0f}"),
    ("peak RSS after forward + backward, MB", "rss_train_mb", "{:.0f}"),
    ("peak RSS after to_graph (the peak), MB", "rss_peak_mb", "{:.0f}"),
    ("round trip: max abs difference of outputs", "round_trip_diff", "{:.3g}"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 nodes instead of 100,000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--case", choices=KINDS, help=argparse.SUPPRESS)  # the child's job
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n = 5_000 if args.quick else 100_000
    if args.case:
        print(json.dumps(measure(args.case, n, args.repeat)))
        return
    results = [run_in_subprocess(kind, args) for kind in KINDS]
    print(f"### Scale: graphnn alone, {n} nodes, about {10 * n} edges\n")
    print(
        f"torch threads {args.threads}, float32; one fresh process per structure; "
        f"forward + backward median of {args.repeat} runs, the rest once\n"
    )
    print("| | " + " | ".join(r["name"] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for label, key, fmt in ROWS:
        print(f"| {label} | " + " | ".join(fmt.format(r[key]) for r in results) + " |")
    share = ", ".join(f"{r['rss_compile_mb'] - r['rss_graph_mb']:.0f}" for r in results)
    print(f"\ncompiled model's own share (peak after compile - after graph), MB: {share}")
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    print(f"command: {command()}\n")


if __name__ == "__main__":
    main()
