import json
import shutil
from pathlib import Path

import pytest

from graphnn.cli import main

ROOT = Path(__file__).resolve().parents[2]

FAKE = """\
from benchmarks._harness import Row, report

report("Fake", [Row("a | b", "peer", 0.5, 1.0), Row("c", "absent peer", 0.5, None)], 1)
"""


@pytest.fixture
def repo(tmp_path):
    """A checkout with the real harness, one benchmark that reports and one that fails."""
    (tmp_path / "benchmarks").mkdir()
    shutil.copy(ROOT / "benchmarks" / "_harness.py", tmp_path / "benchmarks")
    (tmp_path / "benchmarks" / "__init__.py").touch()
    (tmp_path / "benchmarks" / "bench_fake.py").write_text(FAKE)
    (tmp_path / "benchmarks" / "bench_broken.py").write_text("raise SystemExit('no peer here')\n")
    return tmp_path


def test_rows_come_from_the_harness(repo, tmp_path, capsys):
    rows = tmp_path / "rows.json"
    argv = ["bench", "--repo", str(repo), "--only", "fake", "--json", str(rows)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "== bench_fake ==\n### Fake" in printed  # the benchmark's own table first
    assert "command: python -m benchmarks.bench_fake" in printed
    assert "| bench_fake | a \\| b | peer | 2.0x |" in printed
    assert "| bench_fake | c | absent peer | peer not run |" in printed
    data = json.loads(rows.read_text())
    assert [(r["benchmark"], r["case"], r["ratio"]) for r in data] == [
        ("bench_fake", "a | b", "2.0x"),
        ("bench_fake", "c", "peer not run"),
    ]
    assert data[0]["graphnn_s"] == 0.5 and data[1]["peer_s"] is None


def test_a_failing_benchmark_fails_the_run_after_the_others(repo, capsys):
    assert main(["bench", "--repo", str(repo)]) == 1
    captured = capsys.readouterr()
    assert "| bench_fake | a \\| b | peer | 2.0x |" in captured.out
    assert "bench_broken: failed: no peer here" in captured.out
    err = captured.err.strip()
    assert (
        err == "graphnn bench: error: 1 of 2 benchmarks failed: bench_broken (exit 1: no peer here)"
    )


def test_one_quick_benchmark_of_the_repository(capsys):
    argv = ["bench", "--quick", "--repeat", "1", "--only", "bench_layout"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "command: python -m benchmarks.bench_layout --quick --repeat 1" in printed
    assert "| bench_layout | sparse layout, 300x784 density 0.1 batch 256 fwd+bwd |" in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repo", "{tmp}"], "no benchmarks/ folder in --repo"),
        (["--only", "nope"], "--only nope: no such benchmark; the benchmarks are "),
        (["--repeat", "0"], "--repeat must be a positive int, got 0"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, argv, message, capsys):
    assert main(["bench", *[a.replace("{tmp}", str(tmp_path)) for a in argv]]) == 1
    err = capsys.readouterr().err
    assert err.startswith("graphnn bench: error:") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "--help"])
    assert e.value.code == 0
    assert "--only NAME" in capsys.readouterr().out
