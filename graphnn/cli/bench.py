"""``graphnn bench``: run the benchmark suite of the source checkout and tabulate its ratios.

The benchmarks (``benchmarks/bench_*.py``) and their runner (``benchmarks/__main__.py``)
are not part of the installed package: they live in the source repository beside
``graphnn/``.  This command finds that checkout (``--repo DIR``, else the folder above
the imported ``graphnn`` package) and runs ``python -m benchmarks ARGS`` there, with the
same interpreter and environment (``PYTHONPATH`` led by the checkout), and returns its
exit status.  It imports nothing heavy, so ``graphnn bench --help`` needs no torch.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from graphnn.cli._common import add_common_flags
from graphnn.exceptions import CommandError

__all__ = ["add_parser"]

_DESCRIPTION = """\
Run the benchmarks of the source checkout and print their ratio table.

Every benchmark times graphnn and a named peer in one process and reports the median
and the ratio peer / graphnn (benchmarks/README.md has the measured tables).  Each
runs in its own process from the repository root, its tables printed as it ends; then
one table gathers every ratio.  A benchmark that fails is reported and the others go
on; the exit status is then 1.  This is `python -m benchmarks` of the checkout: the
benchmarks ship with the source repository, not with the installed package."""


def _root(args: argparse.Namespace) -> Path:
    """Return the source checkout holding the benchmarks: --repo, or graphnn's own."""
    # graphnn/cli/bench.py -> the folder above the graphnn package
    root = Path(args.repo).resolve() if args.repo else Path(__file__).resolve().parents[2]
    runner = root / "benchmarks" / "__main__.py"
    if not (runner.is_file() and (root / "benchmarks" / "_harness.py").is_file()):
        where = f"--repo {args.repo}" if args.repo else f"{root} (where graphnn is imported from)"
        raise CommandError(
            f"no benchmarks/__main__.py in {where}: the benchmarks ship with the source "
            "repository, not the installed package: use a source checkout "
            "(git clone, then pip install -e . in it) or pass --repo DIR"
        )
    return root


def _run(args: argparse.Namespace) -> int:
    """Run ``python -m benchmarks`` in the source checkout; return its exit status."""
    root = _root(args)
    argv = ["--prog", "graphnn bench"]
    argv += ["--quick"] * args.quick
    argv += ["--only", *args.only] if args.only else []
    argv += ["--repeat", str(args.repeat)] if args.repeat is not None else []
    argv += ["--json", os.path.abspath(args.json)] if args.json else []  # it runs in root
    argv += ["--debug"] * getattr(args, "debug", False)
    argv += ["--quiet"] * getattr(args, "quiet", False)
    env = dict(os.environ)
    paths = env.get("PYTHONPATH", "").split(os.pathsep)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *(p for p in paths if p and p != str(root))])
    status = subprocess.run([sys.executable, "-m", "benchmarks", *argv], cwd=root, env=env)
    code = status.returncode
    return code if code >= 0 else 128 - code  # killed by signal N: 128 + N, as a shell says


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``graphnn bench``."""
    parser = commands.add_parser(
        "bench",
        help="run the benchmarks of the source checkout; print their ratios",
        description=_DESCRIPTION,
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
