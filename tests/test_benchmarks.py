"""The benchmark scripts run (quick, one repetition) and print their ratio tables."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "name",
    [
        "bench_layering",
        "bench_graphml",
        "bench_layout",
        "bench_compile",
        "bench_training",
        "bench_kernels",
        "bench_off",
        "bench_voxelize",
        "bench_sparse_conv",
        "bench_sparse_conv_gpu",
    ],
)
def test_benchmark_runs(name):
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", "--quick", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    if "needs a CUDA device: nothing measured" in done.stdout:
        return  # a GPU benchmark on a machine without one
    assert "| case | peer | graphnn s | peer s | ratio |" in done.stdout
    assert f"command: python -m benchmarks.{name} --quick --repeat 1" in done.stdout
