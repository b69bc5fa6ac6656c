"""xlsx workbooks: several models as sheets of one file, read back with openpyxl cell by cell and type
by type; streamed from chunks and Arrow tables; replaced atomically."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import threading

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from openpyxl import load_workbook

from pds_core.publish.xlsx import MAX_TEXT, Sheet, XlsxError, write_workbook, write_xlsx


def _scores() -> pd.DataFrame:
    """Churn scores as the DuckDB warehouse returns them: ints, floats with a NULL, text, booleans,
    a date, naive and aware timestamps, a decimal, a nullable integer."""
    con = duckdb.connect()
    frame = con.execute("""
        select * from (values
            (1, 0.12, 'low', true, date '2025-01-31', timestamp '2025-01-31 05:30:00',
             timestamptz '2025-01-31 06:30:00+01', 12.50::decimal(10, 2), 7),
            (2, null, 'medium', false, date '2024-02-29', timestamp '2024-02-29 23:59:59.5',
             null, 0.01::decimal(10, 2), null),
            (3, 0.91, null, null, null, null, timestamptz '2025-06-01 00:00:00+00', null, 9)
        ) t(customer_id, churn_probability, risk_band, active, scored_on, scored_at, sent_at, revenue, visits)
    """).df()
    con.close()
    return frame


def _grid(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_two_models_as_sheets_of_one_workbook_with_types_header_and_widths(tmp_path):
    scores = _scores()
    summary = pd.DataFrame({"risk_band": ["low", "medium", "high"], "customers": [10, 20, 3],
                            "note": ["=1+1", "a\x07bell", "x" * 40]})
    target = tmp_path / "out" / "churn.xlsx"
    written = write_workbook(target, [Sheet("Scores", scores), Sheet("By band", summary)])
    assert [(w.name, w.rows) for w in written] == [("Scores", 3), ("By band", 3)]
    book = load_workbook(target)
    assert book.sheetnames == ["Scores", "By band"]
    ws = book["Scores"]
    grid = _grid(ws)
    assert grid[0] == list(scores.columns)
    assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:I4"
    first, second, third = grid[1:]
    assert first[:4] == [1, 0.12, "low", True] and second[:4] == [2, None, "medium", False]
    assert third[:4] == [3, 0.91, None, None]
    # dates come back as datetimes at midnight (Excel has no date type), shown as dates
    assert first[4] == dt.datetime(2025, 1, 31) and ws["E2"].number_format == "yyyy-mm-dd" and ws["E2"].is_date
    assert first[5] == dt.datetime(2025, 1, 31, 5, 30) and ws["F2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert second[5] == dt.datetime(2024, 2, 29, 23, 59, 59, 500000)
    assert first[6] == dt.datetime(2025, 1, 31, 5, 30) and second[6] is None  # aware: in UTC, zone dropped
    assert first[7] == 12.5 and second[7] == 0.01 and third[7] is None
    assert [r[8] for r in grid[1:]] == [7, None, 9]
    assert ws["A2"].data_type == "n" and ws["D2"].data_type == "b" and ws["C2"].data_type == "s"
    for row, (_, expected) in zip(grid[1:], scores.iterrows(), strict=True):  # the whole frame, typed
        assert row[0] == expected.customer_id and (row[2] is None) == pd.isna(expected.risk_band)
    widths = [ws.column_dimensions[c].width for c in "ABCDEFGHI"]
    assert all(8 <= w <= 60 for w in widths) and ws.column_dimensions["F"].width >= 19
    band = book["By band"]
    assert _grid(band)[1:] == [["low", 10, "=1+1"], ["medium", 20, "abell"], ["high", 3, "x" * 40]]
    assert band["C2"].data_type == "s"  # text, never a formula
    assert not list(target.parent.glob(".*pds-tmp*"))


def test_chunks_and_arrow_stream_into_one_sheet_and_big_ints_stay_exact(tmp_path):
    chunks = (pd.DataFrame({"id": range(i, i + 1000), "score": [i / 10_000] * 1000}) for i in range(0, 5000, 1000))
    table = pa.table({"id": pa.array([2**60, 5], pa.int64()), "label": ["big", "small"]})
    target = tmp_path / "stream.xlsx"
    written = write_workbook(target, {"chunked": chunks, "arrow": table})
    assert [w.rows for w in written] == [5000, 2]
    book = load_workbook(target, read_only=True)
    rows = list(book["chunked"].iter_rows(values_only=True))
    assert len(rows) == 5001 and rows[1] == (0, 0.0) and rows[-1] == (4999, 0.4)
    assert [r[0] for r in rows[1:]] == list(range(5000))
    assert list(book["arrow"].iter_rows(values_only=True))[1:] == [(str(2**60), "big"), (5, "small")]
    book.close()


def test_columns_order_long_text_and_empty_model(tmp_path):
    frame = pd.DataFrame({"a": [1], "b": ["y" * (MAX_TEXT + 10)], "c": [True], "d": [float("-inf")]})
    target = tmp_path / "cols.xlsx"
    written = write_workbook(target, [Sheet("picked", frame, columns=["c", "b", "d"]),
                                      Sheet("empty", frame.iloc[:0])])
    assert "cut" in written[0].notes[0] and written[1].rows == 0
    book = load_workbook(target)
    assert _grid(book["picked"]) == [["c", "b", "d"], [True, "y" * MAX_TEXT, "-inf"]]  # Excel has no infinity
    assert _grid(book["empty"]) == [["a", "b", "c", "d"]]


@pytest.mark.parametrize("sheets, message", [
    ([Sheet("a" * 32, pd.DataFrame())], "longer than 31"),
    ([Sheet("q1/q2", pd.DataFrame())], "may not contain"),
    ([Sheet("Scores", pd.DataFrame()), Sheet("scores", pd.DataFrame())], "two sheets are named"),
    ([], "at least one sheet"),
])
def test_bad_sheets_are_refused_before_writing(tmp_path, sheets, message):
    target = tmp_path / "bad.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(XlsxError, match=message):
        write_workbook(target, sheets)
    assert target.read_bytes() == b"old"


def test_a_failure_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "scores.xlsx"
    write_workbook(target, {"s": pd.DataFrame({"x": [1]})})
    before = target.read_bytes()

    def chunks():
        yield pd.DataFrame({"x": [2]})
        raise RuntimeError("warehouse went away")

    with pytest.raises(RuntimeError):
        write_workbook(target, {"s": chunks()})
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["scores.xlsx"]


def test_a_reader_polling_during_rewrites_only_ever_opens_a_whole_workbook(tmp_path):
    target = tmp_path / "live.xlsx"
    write_workbook(target, {"s": pd.DataFrame({"x": range(100)})})
    stop, seen, errors = threading.Event(), [], []

    def reader():
        while not stop.is_set():
            try:
                book = load_workbook(target, read_only=True)
                seen.append(len(list(book["s"].iter_rows(values_only=True))))
                book.close()
            except Exception as exc:  # a half-written file would fail to open
                errors.append(repr(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    for n in range(10):
        write_workbook(target, {"s": pd.DataFrame({"x": range(100 + n * 2000)})})
    stop.set()
    thread.join()
    assert not errors and seen and set(seen) <= {101 + n * 2000 for n in range(10)}


def test_write_xlsx_to_an_open_handle_and_decimal_objects(tmp_path):
    frame = pd.DataFrame({"amount": [decimal.Decimal("1.25"), None, None],
                          "when": [dt.date(2025, 1, 1), None, dt.date(2025, 1, 2)]})
    with open(tmp_path / "h.xlsx", "wb") as handle:
        write_xlsx(handle, [Sheet("money", frame)])
    grid = _grid(load_workbook(tmp_path / "h.xlsx")["money"])
    assert grid[1:] == [[1.25, dt.datetime(2025, 1, 1)], [None, None], [None, dt.datetime(2025, 1, 2)]]
