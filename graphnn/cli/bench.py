"""``graphnn bench``: run the benchmark suite of the source checkout and tabulate its ratios.

The benchmarks (``benchmarks/bench_*.py``) are not part of the installed
package: they live in the source repository beside ``graphnn/``.  Each runs in
its own Python process, from the repository root, exactly as ``python -m
benchmarks.NAME`` would (same output, same ``command:`` line, the environment
passed through, so ``OMP_NUM_THREADS=1 graphnn bench`` is the README's
setting).  Its rows are collected from ``benchmarks._harness.report``, the one
place every benchmark reports through, not scraped from the text.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tqdm.auto import tqdm

import graphnn
from graphnn.cli._common import CommandError, add_common_flags, progress

__all__ = ["add_parser"]

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


def _root(args: argparse.Namespace) -> Path:
    """Return the source checkout holding ``benchmarks/``: --repo, or graphnn's own."""
    root = Path(args.repo) if args.repo else Path(graphnn.__file__).resolve().parents[1]
    if not (root / "benchmarks" / "_harness.py").is_file():
        where = f"--repo {args.repo}" if args.repo else f"{root} (where graphnn is imported from)"
        raise CommandError(
            f"no benchmarks/ folder in {where}; the benchmarks ship with the source repository, "
            "not the installed package: run from a checkout (pip install -e .) or pass --repo DIR"
        )
    return root


def _selected(args: argparse.Namespace, root: Path) -> list[str]:
    available = sorted(p.stem for p in (root / "benchmarks").glob("bench_*.py"))
    if not args.only:
        return available
    chosen = []
    for name in args.only:
        stem = name.removesuffix(".py")
        stem = stem if stem.startswith("bench_") else f"bench_{stem}"
        if stem not in available:
            short = ", ".join(n.removeprefix("bench_") for n in available)
            raise CommandError(f"--only {name}: no such benchmark; the benchmarks are {short}")
        chosen.append(stem)
    return list(dict.fromkeys(chosen))


def _run_one(name: str, argv: list[str], root: Path, rows_file: Path) -> tuple[int, str, str]:
    """Run a benchmark; return its exit status, standard output and error."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(rows_file), name, *argv],
        cwd=root,
        env=env,
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


def _run(args: argparse.Namespace) -> int:
    """Run the benchmarks of the source checkout and print their ratio table.

    Every benchmark times graphnn and a named peer in one process and reports the median
    and the ratio peer / graphnn (benchmarks/README.md has the measured tables).  Each
    runs in its own process from the repository root, its tables printed as it ends; then
    one table gathers every ratio.  A benchmark that fails is reported and the others go
    on; the exit status is then 1.
    """
    if args.repeat is not None and args.repeat < 1:
        raise CommandError(f"--repeat must be a positive int, got {args.repeat}")
    root = _root(args)
    names = _selected(args, root)
    argv = ["--quick"] * args.quick + ["--repeat", str(args.repeat)] * (args.repeat is not None)
    rows: list[dict] = []
    silent: dict[str, str] = {}
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for name in progress(args, names, desc="benchmarks"):
            rows_file = Path(folder, f"{name}.jsonl")
            rows_file.touch()
            status, out, err = _run_one(name, argv, root, rows_file)
            if not args.quiet:
                tqdm.write(f"== {name} ==\n{out.rstrip()}\n", file=sys.stdout)
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
        print(_table(rows, silent))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    if failed:
        raise CommandError(f"{len(failed)} of {len(names)} benchmarks failed: {'; '.join(failed)}")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``graphnn bench``."""
    parser = commands.add_parser(
        "bench",
        help="run the benchmarks of the source checkout; print their ratios",
        description=inspect.cleandoc(_run.__doc__),
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
        "--repo",
        metavar="DIR",
        help="the source checkout holding benchmarks/ (default: the one graphnn is imported from)",
    )
    add_common_flags(parser)
    parser.set_defaults(run=_run)
