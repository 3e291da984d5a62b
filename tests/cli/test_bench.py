import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graphnn.cli import bench, main

ROOT = Path(__file__).resolve().parents[2]

FAKE = """\
from benchmarks._harness import Row, report

report("Fake", [Row("a | b", "peer", 0.5, 1.0), Row("c", "absent peer", 0.5, None)], 1)
"""


@pytest.fixture
def repo(tmp_path):
    """A checkout with the real runner and harness, one benchmark that reports, one that fails."""
    root = tmp_path / "checkout"
    (root / "benchmarks").mkdir(parents=True)
    for name in ("__main__.py", "_harness.py"):
        shutil.copy(ROOT / "benchmarks" / name, root / "benchmarks")
    (root / "benchmarks" / "__init__.py").touch()
    (root / "benchmarks" / "bench_fake.py").write_text(FAKE)
    (root / "benchmarks" / "bench_broken.py").write_text("raise SystemExit('no peer here')\n")
    return root


def test_rows_come_from_the_harness(repo, tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)  # --json is relative to here, not to the checkout
    argv = ["bench", "--repo", str(repo), "--only", "fake", "--json", "rows.json"]
    assert main(argv) == 0
    printed = capfd.readouterr().out
    assert "== bench_fake ==\n### Fake" in printed  # the benchmark's own table first
    assert "command: python -m benchmarks.bench_fake" in printed
    assert "| bench_fake | a \\| b | peer | 2.0x |" in printed
    assert "| bench_fake | c | absent peer | peer not run |" in printed
    assert "bench_broken" not in printed
    data = json.loads((tmp_path / "rows.json").read_text())
    assert [(r["benchmark"], r["case"], r["ratio"]) for r in data] == [
        ("bench_fake", "a | b", "2.0x"),
        ("bench_fake", "c", "peer not run"),
    ]
    assert data[0]["graphnn_s"] == 0.5 and data[1]["peer_s"] is None


def test_a_failing_benchmark_fails_the_run_after_the_others(repo, capfd):
    assert main(["bench", "--repo", str(repo)]) == 1
    captured = capfd.readouterr()
    assert "| bench_fake | a \\| b | peer | 2.0x |" in captured.out
    assert "bench_broken: failed: no peer here" in captured.out
    err = captured.err.strip()
    assert (
        err == "graphnn bench: error: 1 of 2 benchmarks failed: bench_broken (exit 1: no peer here)"
    )


def test_quiet_prints_nothing_but_the_error(repo, capfd):
    assert main(["bench", "--repo", str(repo), "--quiet"]) == 1
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("graphnn bench: error: 1 of 2 benchmarks failed")


@pytest.mark.slow
def test_one_quick_benchmark_of_the_repository(capfd):
    argv = ["bench", "--quick", "--repeat", "1", "--only", "bench_layout"]
    assert main(argv) == 0
    printed = capfd.readouterr().out
    assert "command: python -m benchmarks.bench_layout --quick --repeat 1" in printed
    assert "| bench_layout | sparse layout, 300x784 density 0.1 batch 256 fwd+bwd |" in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repo", "{tmp}"], "no benchmarks/__main__.py in --repo"),
        (["--only", "nope"], "--only nope: no such benchmark; the benchmarks are "),
        (["--repeat", "0"], "--repeat must be a positive int, got 0"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, argv, message, capfd):
    assert main(["bench", *[a.replace("{tmp}", str(tmp_path)) for a in argv]]) == 1
    err = capfd.readouterr().err
    assert err.startswith("graphnn bench: error:") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_only_names_every_benchmark_of_the_repository(capfd):
    assert main(["bench", "--only", "nope"]) == 1
    listed = capfd.readouterr().err.split("the benchmarks are ")[1].strip().split(", ")
    assert listed == sorted(p.stem[6:] for p in (ROOT / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("runner", [False, True])
def test_without_the_benchmarks_the_error_says_where_to_get_them(tmp_path, runner, capfd):
    # A folder without benchmarks/, or an older one without the runner (benchmarks/__main__.py).
    if runner:
        (tmp_path / "benchmarks").mkdir()
        (tmp_path / "benchmarks" / "bench_x.py").touch()
    assert main(["bench", "--repo", str(tmp_path)]) == 1
    err = capfd.readouterr().err.strip()
    assert err == (
        f"graphnn bench: error: no benchmarks/__main__.py in --repo {tmp_path}: the benchmarks "
        "ship with the source repository, not the installed package: use a source checkout "
        "(git clone, then pip install -e . in it) or pass --repo DIR"
    )


def test_an_installed_package_says_the_benchmarks_need_a_checkout(tmp_path, monkeypatch, capfd):
    # graphnn imported from site-packages: no benchmarks/ beside the package.
    monkeypatch.setattr(bench, "__file__", str(tmp_path / "graphnn" / "cli" / "bench.py"))
    assert main(["bench", "--quick"]) == 1
    err = capfd.readouterr().err.strip()
    assert err.startswith(
        f"graphnn bench: error: no benchmarks/__main__.py in {tmp_path} "
        "(where graphnn is imported from): the benchmarks ship with the source repository"
    )
    assert "pip install -e ." in err and "--repo DIR" in err


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "--help"])
    assert e.value.code == 0
    help_text = capsys.readouterr().out
    assert "--only NAME" in help_text and "--repo DIR" in help_text
    assert "python -m benchmarks" in help_text


# The command's module alone: graphnn.cli itself imports every command (some import torch).
HELP_WITHOUT_THE_OTHER_COMMANDS = """\
import argparse, sys, types
from pathlib import Path
import graphnn

cli = types.ModuleType("graphnn.cli")
cli.__path__ = [str(Path(graphnn.__file__).parent / "cli")]
sys.modules["graphnn.cli"] = cli
from graphnn.cli import bench

parser = argparse.ArgumentParser(prog="graphnn")
bench.add_parser(parser.add_subparsers())
try:
    parser.parse_args(["bench", "--help"])
except SystemExit as e:
    assert e.code == 0, e.code
assert "torch" not in sys.modules, "graphnn bench --help imported torch"
"""


def test_help_imports_no_torch():
    done = subprocess.run(
        [sys.executable, "-c", HELP_WITHOUT_THE_OTHER_COMMANDS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: graphnn bench" in done.stdout and "--only NAME" in done.stdout
