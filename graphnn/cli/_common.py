"""What every ``graphnn`` command shares: printing, flags, progress bars, errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

__all__ = ["add_common_flags", "progress", "say", "show_progress"]

T = TypeVar("T")


def say(args: argparse.Namespace, *lines: object) -> None:
    """Print ``lines`` unless ``--quiet`` was given."""
    if not getattr(args, "quiet", False):
        print(*lines, sep="\n")


def progress(
    args: argparse.Namespace, items: Iterable[T], *, desc: str, total: int | None = None
) -> Iterator[T]:
    """Wrap a long loop in a progress bar on standard error.

    The bar is shown only on a terminal and never with ``--quiet``.
    """
    disable = not show_progress(args)
    yield from tqdm(items, desc=desc, total=total, disable=disable, leave=False)


def show_progress(args: argparse.Namespace) -> bool:
    """Whether progress bars are shown: on a terminal, without ``--quiet``.

    Pass it to the library's own ``progress=`` options (``sparse3d.fit``, ...)
    so that their bars follow the same rule as :func:`progress`.
    """
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def add_common_flags(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    """Add ``--debug`` and ``--quiet``, accepted before and after the command.

    After the command their default is ``SUPPRESS``, so that leaving them out
    there does not undo them when they were given before it.
    """
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks on errors"
    )
    parser.add_argument("--quiet", "-q", action="store_true", default=default, help="print less")
