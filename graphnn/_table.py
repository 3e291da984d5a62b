r"""Plain-text tables, and the one design of graphnn's logs: a list of records, one table.

:func:`text_table` lays out every table graphnn prints (pruning reports and
histories, training logs, evaluation reports, the ``graphnn`` command's
summaries): columns two spaces apart, each as wide as its widest cell,
right-aligned unless said otherwise, no trailing spaces.

:class:`RecordLog` is the base of the logs that grow a record at a time
(:class:`~graphnn.prune.PruningHistory` has a record per pruning round,
:class:`~graphnn.sparse3d.TrainingLog` one per epoch): a record is a frozen
dataclass with ``as_dict()`` (one flat dict), the log is a sequence of
records with ``as_dicts()``, and printing it prints the :class:`Column`\\ s
its subclass names.

Examples
--------
>>> print(text_table(["name", "value"], [["a", "1.5"], ["bcd", "10"]], align="lr"))
name  value
a       1.5
bcd      10
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, Protocol, TypeVar

__all__ = ["Column", "Record", "RecordLog", "cell", "text_table"]


def text_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str | None = None
) -> str:
    """Return the rows under the header, columns two spaces apart, trailing spaces stripped.

    Parameters
    ----------
    header : sequence of str
    rows : sequence of sequences of str
        As many cells as the header has.
    align : str, optional
        One letter per column, ``"l"`` (left) or ``"r"`` (right); default
        all right.

    Raises
    ------
    ValueError
        If a row or ``align`` does not have one entry per column.
    """
    align = align or "r" * len(header)
    if len(align) != len(header) or set(align) - {"l", "r"}:
        raise ValueError(f"align must be one 'l' or 'r' per column, got {align!r}")
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {i} has {len(row)} cells for {len(header)} columns")
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        ).rstrip()
        for row in table
    )


def cell(value: object) -> str:
    """Format a log's cell: ``-`` for None, 4 decimals for a float, else ``str``."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a :class:`RecordLog`'s table: its header, the key of the value, its format."""

    header: str
    key: str
    format: Callable[[object], str] = cell

    def __call__(self, row: dict) -> str:
        """Return the cell of one row (a record's flat dict); ``-`` where the key is missing."""
        value = row.get(self.key)
        return "-" if value is None else self.format(value)


class Record(Protocol):
    """What a :class:`RecordLog` holds: anything with ``as_dict()`` returning one flat dict."""

    def as_dict(self) -> dict: ...


R = TypeVar("R", bound=Record)


@dataclasses.dataclass
class RecordLog(Generic[R]):
    """A log of records, printable as one table (the base of pruning histories and training logs).

    Subclasses say which :meth:`columns` their table has, and may add values
    to each row in :meth:`table_rows`.

    Attributes
    ----------
    records : list
        The records, oldest first.
    """

    records: list[R] = dataclasses.field(default_factory=list)

    def __iter__(self) -> Iterator[R]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> R:
        return self.records[index]

    def as_dicts(self) -> list[dict]:
        """Return one flat dict per record (its ``as_dict()``)."""
        return [record.as_dict() for record in self.records]

    def columns(self) -> list[Column]:
        """Return the columns of the printed table (subclasses name theirs)."""
        raise NotImplementedError

    def table_rows(self) -> list[dict]:
        """Return the values of each table row: :meth:`as_dicts` unless a subclass adds some."""
        return self.as_dicts()

    def __str__(self) -> str:
        columns = self.columns()
        rows = [[column(row) for column in columns] for row in self.table_rows()]
        return text_table([column.header for column in columns], rows)
