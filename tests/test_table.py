"""graphnn._table: plain-text tables and the record/log design every log shares."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphnn._table import Column, RecordLog, cell, text_table

# --- text_table ------------------------------------------------------------------------------


def test_text_table_aligns_right_by_default():
    assert text_table(["a", "bbb"], [["10", "2"], ["3", "40"]]) == (" a  bbb\n10    2\n 3   40")


def test_text_table_aligns_each_column_as_asked():
    got = text_table(["name", "value"], [["a", "1.5"], ["bcd", "10"]], align="lr")
    assert got == "name  value\na       1.5\nbcd      10"


def test_text_table_strips_trailing_spaces_of_a_left_aligned_last_column():
    got = text_table(["n", "comment"], [["1", "x"], ["22", "longer"]], align="rl")
    assert got.splitlines() == [" n  comment", " 1  x", "22  longer"]


def test_text_table_with_no_rows_is_the_header():
    assert text_table(["a", "b"], []) == "a  b"


def test_text_table_takes_any_sequences():
    assert text_table(("x",), (("1",), ("22",))) == " x\n 1\n22"


cells = st.text(alphabet="ab1 .-", max_size=6)


@given(
    st.integers(1, 4).flatmap(
        lambda k: st.tuples(
            st.lists(cells, min_size=k, max_size=k),
            st.lists(st.lists(cells, min_size=k, max_size=k), max_size=5),
            st.text(alphabet="lr", min_size=k, max_size=k),
        )
    )
)
def test_text_table_lays_every_cell_in_its_column(args):
    header, rows, align = args
    lines = text_table(header, rows, align=align).split("\n")
    assert len(lines) == 1 + len(rows)
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for line, row in zip(lines, table, strict=True):
        assert line == line.rstrip()
        expected = "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        )
        assert line == expected.rstrip()


@pytest.mark.parametrize("align", ["l", "lrl", "lc", "RR", "l r"])
def test_text_table_refuses_an_align_that_does_not_fit(align):
    with pytest.raises(ValueError) as info:
        text_table(["a", "b"], [], align=align)
    assert str(info.value) == f"align must be one 'l' or 'r' per column, got {align!r}"


def test_text_table_names_the_row_with_the_wrong_number_of_cells():
    with pytest.raises(ValueError) as info:
        text_table(["a", "b"], [["1", "2"], ["3"]])
    assert str(info.value) == "row 1 has 1 cells for 2 columns"
    with pytest.raises(ValueError, match=r"^row 0 has 3 cells for 2 columns$"):
        text_table(["a", "b"], [["1", "2", "3"]])


# --- cell and Column -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "-"),
        (0.5, "0.5000"),
        (1 / 3, "0.3333"),
        (np.float64(2.0), "2.0000"),  # a float subclass
        (3, "3"),
        ("text", "text"),
        (True, "True"),
        ((1, 2), "(1, 2)"),
    ],
    ids=repr,
)
def test_cell(value, shown):
    assert cell(value) == shown


def test_column_formats_its_key_with_cell_by_default():
    column = Column("Loss", "loss")
    assert column.format is cell
    assert column({"loss": 0.25, "other": 1}) == "0.2500"


def test_column_shows_a_dash_for_a_missing_or_none_value_without_calling_its_format():
    def never(value):
        raise AssertionError("format called")

    column = Column("Acc", "acc", never)
    assert column({}) == "-"
    assert column({"acc": None}) == "-"


def test_column_takes_a_format():
    column = Column("Acc", "acc", lambda v: f"{100 * v:.1f}%")
    assert column({"acc": 0.875}) == "87.5%"
    assert Column("Epoch", "epoch", str)({"epoch": 3}) == "3"


def test_column_is_frozen_and_compares_by_value():
    column = Column("Loss", "loss")
    with pytest.raises(dataclasses.FrozenInstanceError):
        column.key = "other"  # type: ignore[misc]
    assert column == Column("Loss", "loss")


# --- RecordLog -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Epoch:
    epoch: int
    loss: float
    accuracy: float | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class EpochLog(RecordLog[Epoch]):
    def columns(self) -> list[Column]:
        return [
            Column("epoch", "epoch"),
            Column("loss", "loss"),
            Column("acc", "accuracy", lambda v: f"{v:.0%}"),
        ]


class RunningLog(EpochLog):
    """A subclass that adds a value to each row of its table."""

    def columns(self) -> list[Column]:
        return [*super().columns(), Column("best", "best")]

    def table_rows(self) -> list[dict]:
        rows, best = [], None
        for row in self.as_dicts():
            best = row["loss"] if best is None else min(best, row["loss"])
            rows.append({**row, "best": best})
        return rows


RECORDS = [Epoch(1, 0.75, 0.5), Epoch(2, 0.5), Epoch(3, 0.625, 0.875)]


def test_a_record_log_is_a_sequence_of_its_records():
    log = EpochLog(list(RECORDS))
    assert len(log) == 3
    assert log[0] is RECORDS[0] and log[-1] is RECORDS[-1]
    assert list(log) == RECORDS
    assert log.records == RECORDS
    assert log.as_dicts() == [r.as_dict() for r in RECORDS]


def test_a_record_log_starts_empty_and_each_log_has_its_own_list():
    a, b = EpochLog(), EpochLog()
    a.records.append(RECORDS[0])
    assert len(a) == 1 and len(b) == 0
    assert str(b) == "epoch  loss  acc"


def test_a_record_log_prints_the_columns_its_subclass_names():
    assert str(EpochLog(list(RECORDS))) == (
        "epoch    loss  acc\n    1  0.7500  50%\n    2  0.5000    -\n    3  0.6250  88%"
    )


def test_table_rows_may_add_values_to_each_row():
    log = RunningLog(list(RECORDS))
    assert str(log).splitlines() == [
        "epoch    loss  acc    best",
        "    1  0.7500  50%  0.7500",
        "    2  0.5000    -  0.5000",
        "    3  0.6250  88%  0.5000",
    ]
    assert log.as_dicts() == [r.as_dict() for r in RECORDS]  # the records are unchanged


def test_the_base_log_names_no_columns():
    log = RecordLog(list(RECORDS))
    assert log.table_rows() == log.as_dicts()
    with pytest.raises(NotImplementedError):
        log.columns()
    with pytest.raises(NotImplementedError):
        str(log)


def test_record_logs_compare_by_their_records():
    assert EpochLog(list(RECORDS)) == EpochLog(list(RECORDS))
    assert EpochLog(list(RECORDS)) != EpochLog(RECORDS[:1])
