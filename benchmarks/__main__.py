"""Run the benchmarks and tabulate their ratios: ``python -m benchmarks`` (the one runner).

Usage, from the repository root::

    python -m benchmarks [--quick] [--only NAME ...] [--repeat N] [--json FILE]

Every benchmark times graphnn and a named peer in one process and reports the median
and the ratio peer / graphnn (benchmarks/README.md has the measured tables).  Each
``benchmarks/bench_*.py`` runs in its own Python process, from the repository root,
exactly as ``python -m benchmarks.NAME`` would (same output, same ``command:`` line,
the environment passed through), its tables printed as it ends; then one table
gathers every ratio.  The rows are collected from ``benchmarks._harness.report``, the
one place every benchmark reports through, not scraped from the text.  A benchmark
that fails is reported and the others go on; the exit status is then 1.

``bench_voxelize`` runs with ``OMP_NUM_THREADS=1``, the setting of its measured table
(benchmarks/README.md), unless the environment sets ``OMP_NUM_THREADS``.  ``graphnn bench``
runs this module.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tqdm.auto import tqdm

ROOT = Path(__file__).resolve().parents[1]

#: Environment variables a benchmark's process gets unless the environment sets them.
ENV_DEFAULTS = {"bench_voxelize": {"OMP_NUM_THREADS": "1"}}

# Runs one benchmark as ``python -m benchmarks.NAME ARGS``, also appending every row that
# ``benchmarks._harness.report`` prints to ROWS_FILE, one JSON object a line.
_CHILD = """\
import dataclasses, json, runpy, sys
import benchmarks._harness as harness

rows_file, name, *argv = sys.argv[1:]
shown = harness.report


def report(title, rows, repeat):
    shown(title, rows, repeat)
    with open(rows_file, "a") as f:
        for row in rows:
            data = dataclasses.asdict(row) | {"title": title, "ratio": row.ratio}
            f.write(json.dumps(data) + "\\n")


harness.report = report
sys.argv = [name, *argv]
runpy.run_module(f"benchmarks.{name}", run_name="__main__", alter_sys=True)
"""


class UsageError(Exception):
    """Input the runner cannot go on with: reported as one line, exit status 1."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n\n", 3)[3],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="the benchmarks' small cases")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="run only these benchmarks (off or bench_off; default: all)",
    )
    parser.add_argument(
        "--repeat", type=int, metavar="N", help="runs per timing (default: each benchmark's own)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument(
        "--debug", action="store_true", help="show a failing benchmark's standard error"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print less")
    # The name errors are reported under (``graphnn bench`` passes its own).
    parser.add_argument("--prog", default=parser.prog, help=argparse.SUPPRESS)
    return parser


def _selected(only: list[str] | None) -> list[str]:
    available = sorted(p.stem for p in (ROOT / "benchmarks").glob("bench_*.py"))
    if not only:
        return available
    chosen = []
    for name in only:
        stem = name.removesuffix(".py")
        stem = stem if stem.startswith("bench_") else f"bench_{stem}"
        if stem not in available:
            short = ", ".join(n.removeprefix("bench_") for n in available)
            raise UsageError(f"--only {name}: no such benchmark; the benchmarks are {short}")
        chosen.append(stem)
    return list(dict.fromkeys(chosen))


def _environment(name: str) -> dict[str, str]:
    env = ENV_DEFAULTS.get(name, {}) | dict(os.environ)
    paths = env.get("PYTHONPATH", "").split(os.pathsep)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *(p for p in paths if p and p != str(ROOT))])
    return env


def _run_one(name: str, argv: list[str], rows_file: Path) -> tuple[int, str, str]:
    """Run a benchmark; return its exit status, standard output and error."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(rows_file), name, *argv],
        cwd=ROOT,
        env=_environment(name),
        capture_output=True,
        text=True,
    )
    return done.returncode, done.stdout, done.stderr


def _table(rows: list[dict], silent: dict[str, str]) -> str:
    lines = [
        "### Ratios: peer time / graphnn time (above 1: graphnn faster)",
        "",
        "| benchmark | case | peer | ratio |",
        "|---|---|---|---|",
    ]
    for row in rows:
        cells = [row["benchmark"], row["case"], row["peer"], row["ratio"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if not rows:
        lines.append("| - | no ratios | - | - |")
    lines += [f"\n{name}: {why}" for name, why in silent.items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the selected benchmarks, print their tables and the ratio table; return 0.

    Raises :class:`UsageError` for bad input and when a benchmark failed.
    """
    if args.repeat is not None and args.repeat < 1:
        raise UsageError(f"--repeat must be a positive int, got {args.repeat}")
    names = _selected(args.only)
    argv = ["--quick"] * args.quick + ["--repeat", str(args.repeat)] * (args.repeat is not None)
    rows: list[dict] = []
    silent: dict[str, str] = {}
    failed: list[str] = []
    hidden = args.quiet or not sys.stderr.isatty()
    with tempfile.TemporaryDirectory() as folder:
        for name in tqdm(names, desc="benchmarks", disable=hidden, leave=False):
            rows_file = Path(folder, f"{name}.jsonl")
            rows_file.touch()
            status, out, err = _run_one(name, argv, rows_file)
            if not args.quiet:
                tqdm.write(f"== {name} ==\n{out.rstrip()}\n", file=sys.stdout)
                sys.stdout.flush()
            found = [json.loads(line) for line in rows_file.read_text().splitlines()]
            rows += [{"benchmark": name, **row} for row in found]
            last = (err.strip() or out.strip() or "no output").splitlines()[-1]
            if status != 0:
                failed.append(f"{name} (exit {status}: {last})")
                silent[name] = f"failed: {last}"
                if args.debug:
                    print(err, file=sys.stderr)
            elif not found:
                silent[name] = f"no ratios ({(out.strip() or 'no output').splitlines()[-1]})"
    if not args.quiet:
        print(_table(rows, silent), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    if failed:
        raise UsageError(f"{len(failed)} of {len(names)} benchmarks failed: {'; '.join(failed)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m benchmarks ARGV``; return its exit status (1: an error, 2: usage)."""
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except (UsageError, OSError) as err:
        if args.debug and not isinstance(err, UsageError):
            raise
        print(f"{args.prog}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
