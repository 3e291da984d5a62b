"""The benchmark scripts run (quick, one repetition) and print their ratio tables; so does
the runner, ``python -m benchmarks``, on a tiny benchmarks package of its own."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
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


FAKE = """\
import os
from benchmarks._harness import Row, report

print("threads:", os.environ.get("OMP_NUM_THREADS", "unset"))
report("Fake", [Row("a | b", "peer", 0.5, 1.0), Row("c", "absent peer", 0.5, None)], 1)
"""


@pytest.fixture
def checkout(tmp_path):
    """A checkout with the real runner and harness and a tiny benchmarks package."""
    (tmp_path / "benchmarks").mkdir()
    for name in ("__main__.py", "_harness.py"):
        shutil.copy(ROOT / "benchmarks" / name, tmp_path / "benchmarks")
    (tmp_path / "benchmarks" / "__init__.py").touch()
    (tmp_path / "benchmarks" / "bench_fake.py").write_text(FAKE)
    (tmp_path / "benchmarks" / "bench_voxelize.py").write_text(FAKE)
    (tmp_path / "benchmarks" / "bench_broken.py").write_text("raise SystemExit('no peer here')\n")
    (tmp_path / "benchmarks" / "bench_silent.py").write_text("print('needs a GPU')\n")
    return tmp_path


def runner(checkout, *argv, **env):
    environ = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"} | env
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *argv],
        cwd=checkout,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_runner_tabulates_every_ratio_and_fails_after_the_others(checkout):
    done = runner(checkout)
    assert done.returncode == 1
    out = done.stdout
    # Each benchmark's own output as it ends, in name order, then the one ratio table.
    sections = ["== bench_broken ==", "== bench_fake ==\nthreads: unset\n### Fake"]
    sections += ["== bench_silent ==\nneeds a GPU", "== bench_voxelize ==", "### Ratios"]
    assert [out.index(s) for s in sections] == sorted(out.index(s) for s in sections)
    assert "command: python -m benchmarks.bench_fake\n" in out
    table = out[out.index("### Ratios") :]
    assert table.splitlines()[:8] == [
        "### Ratios: peer time / graphnn time (above 1: graphnn faster)",
        "",
        "| benchmark | case | peer | ratio |",
        "|---|---|---|---|",
        "| bench_fake | a \\| b | peer | 2.0x |",
        "| bench_fake | c | absent peer | peer not run |",
        "| bench_voxelize | a \\| b | peer | 2.0x |",
        "| bench_voxelize | c | absent peer | peer not run |",
    ]
    assert "\nbench_broken: failed: no peer here\n" in table
    assert "\nbench_silent: no ratios (needs a GPU)" in table
    assert done.stderr.strip() == (
        "python -m benchmarks: error: 1 of 4 benchmarks failed: bench_broken (exit 1: no peer here)"
    )


def test_the_runner_passes_its_options_and_writes_the_rows(checkout, tmp_path):
    rows = tmp_path / "rows.json"
    done = runner(
        checkout, "--only", "fake", "bench_fake.py", "--quick", "--repeat", "2", "--json", str(rows)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("== bench_fake ==") == 1 and "bench_broken" not in done.stdout
    assert "command: python -m benchmarks.bench_fake --quick --repeat 2\n" in done.stdout
    data = json.loads(rows.read_text())
    assert [(r["benchmark"], r["title"], r["case"], r["ratio"]) for r in data] == [
        ("bench_fake", "Fake", "a | b", "2.0x"),
        ("bench_fake", "Fake", "c", "peer not run"),
    ]


@pytest.mark.parametrize(("env", "threads"), [({}, "1"), ({"OMP_NUM_THREADS": "3"}, "3")])
def test_voxelize_runs_on_one_thread_unless_told(checkout, env, threads):
    done = runner(checkout, "--only", "voxelize", "fake", **env)
    assert done.returncode == 0, done.stderr
    assert f"== bench_voxelize ==\nthreads: {threads}\n" in done.stdout
    assert f"== bench_fake ==\nthreads: {env.get('OMP_NUM_THREADS', 'unset')}\n" in done.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--only", "nope"], "--only nope: no such benchmark; the benchmarks are broken, fake, "),
        (["--repeat", "0"], "--repeat must be a positive int, got 0"),
    ],
)
def test_the_runner_reports_bad_input_in_one_line(checkout, argv, message):
    done = runner(checkout, *argv)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("python -m benchmarks: error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
