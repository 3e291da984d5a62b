"""Shared machinery of the benchmarks: medians of repeated timings, ratio tables.

Every benchmark runs graphnn and a named peer in one process, on the same
input, with the same thread count, and reports the median of several
repetitions and the ratio ``peer / graphnn`` (above 1: graphnn is faster).
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Return the median wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_median_seconds(
    ours: Callable[[], object], theirs: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Return the median wall times of ``ours`` and ``theirs``, timed turn about.

    One untimed call of each comes first (allocator, caches).  Alternating the two
    calls spreads the drift of a shared, noisy machine over both, so their ratio holds
    better than that of two medians taken one after the other.
    """
    ours()
    theirs()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((ours, times[0]), (theirs, times[1])):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


@dataclass
class Row:
    case: str
    peer: str
    graphnn_s: float
    peer_s: float | None

    @property
    def ratio(self) -> str:
        if self.peer_s is None:
            return "peer not run"
        return f"{self.peer_s / self.graphnn_s:.1f}x"

    def markdown(self) -> str:
        peer = "-" if self.peer_s is None else f"{self.peer_s:.4g}"
        return f"| {self.case} | {self.peer} | {self.graphnn_s:.4g} | {peer} | {self.ratio} |"


def report(title: str, rows: list[Row], repeat: int) -> None:
    """Print a markdown table of the rows, the machine and the command to reproduce it."""
    print(f"### {title}\n")
    print(f"median of {repeat} runs, seconds; ratio = peer / graphnn (above 1: graphnn faster)\n")
    print("| case | peer | graphnn s | peer s | ratio |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(row.markdown())
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, OMP_NUM_THREADS={threads}"
    )
    print(f"command: {command()}\n")


def command() -> str:
    """The command line that reproduces this run, as ``python -m benchmarks.NAME ...``."""
    script = os.path.basename(sys.argv[0]).removesuffix(".py")
    return shlex.join(["python", "-m", f"benchmarks.{script}", *sys.argv[1:]])
