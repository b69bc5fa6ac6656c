"""Excel workbooks from model rows: one or several models as the sheets of ONE .xlsx file.

Why these choices:
- xlsxwriter in constant_memory mode streams each sheet's rows to a temporary file as they come, so
  a large model is never held in memory as cells (the warehouse's chunks are converted and written
  one at a time); it is about 2.5x faster than openpyxl's write-only mode here.
- Cells keep their types, so the people opening the file can sort, filter and sum: numbers are
  numbers, dates are dates (shown yyyy-mm-dd), timestamps are date-times, booleans TRUE/FALSE and
  NULL / NaN / NaT an empty cell. pandas reads SQL DATE columns as datetime64 at times: a naive
  datetime64 column whose values are all at midnight is written as dates. Excel has no time zones: an aware timestamp is written in UTC
  without its zone. Integers beyond 2**53, which Excel's doubles cannot hold exactly, are written as
  text so an id is never silently changed.
- A text that starts with '=' is written as text, never as a formula: model rows are data, and a
  value like '=HYPERLINK(...)' from a source system must not run in a reader's Excel.
- The header row is bold, frozen (it stays in view while scrolling) and has an auto-filter; column
  widths come from the header and the first 1,000 values of each chunk, between 8 and 60 characters.
  Infinity, which Excel cannot store, is written as the text inf / -inf.
- write_workbook() writes to a temporary name in the same folder, fsyncs and renames it over the
  old file (os.replace), so a reader never sees half a workbook and a failure leaves the old one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # parsing exports (pds ls, compile) must not load pandas
    import pandas as pd

MAX_ROWS = 1_048_576  # Excel's limit, header included
MAX_TEXT = 32_767  # characters in one cell
MAX_SHEET_NAME = 31
BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
ILLEGAL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML cannot hold
MIN_WIDTH, MAX_WIDTH = 8, 60
EXACT_INT = 2**53
INF = float("inf")
TEMP_MARK = ".pds-tmp-"


class XlsxError(ValueError):
    """A workbook that cannot be written as asked (a bad sheet name, too many rows)."""


@dataclass
class Sheet:
    """One sheet: its name and its rows as a DataFrame, a pyarrow Table, or an iterable of DataFrame
    chunks (all with the same columns)."""

    name: str
    data: Any
    columns: list[str] | None = None  # write only these, in this order (default: all)


@dataclass
class SheetWritten:
    name: str
    rows: int
    notes: list[str] = field(default_factory=list)  # e.g. texts cut to Excel's cell limit


def sheet_name(name: str) -> str:
    """A valid sheet name or XlsxError saying why not (Excel refuses these on open, so fail early)."""
    text = str(name).strip()
    if not text:
        raise XlsxError("a sheet name must not be empty")
    if len(text) > MAX_SHEET_NAME:
        raise XlsxError(f"sheet name {text!r} is longer than {MAX_SHEET_NAME} characters")
    bad = BAD_SHEET_CHARS.search(text)
    if bad or text.startswith("'") or text.endswith("'"):
        raise XlsxError(f"sheet name {text!r} may not contain [ ] : * ? / \\ or start/end with '")
    return text


def chunks_of(data: Any) -> Iterator[pd.DataFrame]:
    """DataFrame chunks from a DataFrame, a pyarrow Table / RecordBatchReader, or an iterable of them."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        yield data
        return
    if hasattr(data, "to_batches"):  # pyarrow.Table: batch by batch, never the whole table as pandas
        for batch in data.to_batches(max_chunksize=50_000):
            yield batch.to_pandas()
        return
    if hasattr(data, "to_pandas"):  # a RecordBatch
        yield data.to_pandas()
        return
    for chunk in data:
        yield from chunks_of(chunk)


def write_workbook(path: str | Path, sheets: Sequence[Sheet] | Mapping[str, Any]) -> list[SheetWritten]:
    """Write the sheets to `path` atomically (temporary name in the same folder, then os.replace)."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}{TEMP_MARK}*"):  # left by a killed run
        stale.unlink(missing_ok=True)
    temp = final.parent / f".{final.name}{TEMP_MARK}{uuid.uuid4().hex[:8]}"
    try:
        with open(temp, "wb") as handle:
            written = write_xlsx(handle, sheets)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    return written


def write_xlsx(handle: IO[bytes], sheets: Sequence[Sheet] | Mapping[str, Any]) -> list[SheetWritten]:
    """Write the sheets as one workbook to an open binary file (the caller makes it atomic)."""
    import xlsxwriter

    items = [Sheet(k, v) for k, v in sheets.items()] if isinstance(sheets, Mapping) else list(sheets)
    if not items:
        raise XlsxError("a workbook needs at least one sheet")
    names = [sheet_name(s.name) for s in items]
    lowered = [n.lower() for n in names]
    for name in names:
        if lowered.count(name.lower()) > 1:
            raise XlsxError(f"two sheets are named {name!r} (Excel compares sheet names ignoring case)")
    # constant_memory streams each sheet's rows to a file in `tmp`, removed whatever happens
    with tempfile.TemporaryDirectory(prefix="pds-xlsx-") as tmp:
        book = xlsxwriter.Workbook(handle, {
            "constant_memory": True, "tmpdir": tmp, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "remove_timezone": True})
        formats = {kind: book.add_format({"num_format": shown}) for kind, shown in NUMBER_FORMATS.items()}
        formats["header"] = book.add_format({"bold": True})
        try:
            written = [_write_sheet(book.add_worksheet(name), name, sheet, formats)
                       for name, sheet in zip(names, items, strict=True)]
            book.close()
        except BaseException:
            for ws in book.worksheets():
                with contextlib.suppress(Exception):
                    ws.row_data_fh.close()
            raise
    return written


NUMBER_FORMATS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss", "time": "hh:mm:ss",
                  "timedelta": "[h]:mm:ss"}


def _write_sheet(ws: Any, name: str, sheet: Sheet, formats: dict[str, Any]) -> SheetWritten:
    import pandas as pd

    result = SheetWritten(name, 0)
    chunks = chunks_of(sheet.data)
    first = next(chunks, None)
    if first is None:
        first = pd.DataFrame(columns=sheet.columns or [])
    columns = list(sheet.columns or [str(c) for c in first.columns])
    widths = [len(_clean(str(c))) + 2 for c in columns]
    for index, column in enumerate(columns):
        ws.write_string(0, index, _clean(str(column)), formats["header"])
    ws.freeze_panes(1, 0)
    row = 1
    for chunk in _chain(first, chunks):
        missing = [c for c in columns if c not in chunk.columns]
        if missing:
            raise XlsxError(f"sheet {name!r}: a chunk has no column {missing[0]!r}")
        if result.rows + len(chunk) > MAX_ROWS - 1:
            raise XlsxError(f"sheet {name!r} would have more than {MAX_ROWS - 1:,} rows, Excel's limit; "
                            "export fewer rows (where:) or write CSV/Parquet")
        values = [_values(chunk[c], result) for c in columns]
        for index, column_values in enumerate(values):
            widths[index] = max([widths[index], *(_shown_width(v) for v in column_values[:1000])])
        cell = _cell_writer(ws, formats)
        for offset, record in enumerate(zip(*values, strict=True)):
            for index, value in enumerate(record):
                if value is not None:
                    cell(row + offset, index, value)
        row += len(chunk)
        result.rows += len(chunk)
    for index, width in enumerate(widths):
        ws.set_column(index, index, min(MAX_WIDTH, max(MIN_WIDTH, width)))
    if columns:
        ws.autofilter(0, 0, result.rows, len(columns) - 1)
    return result


def _cell_writer(ws: Any, formats: dict[str, Any]) -> Any:
    """One typed cell write: the Python type of the value picks the Excel type and display format."""
    number, string, boolean, when = ws.write_number, ws.write_string, ws.write_boolean, ws.write_datetime
    date_f, datetime_f, time_f, delta_f = (formats[k] for k in ("date", "datetime", "time", "timedelta"))

    def cell(r: int, c: int, value: Any) -> None:
        kind = type(value)
        if kind is str:
            string(r, c, value)
        elif kind is bool:
            boolean(r, c, value)
        elif kind is int or kind is float:
            if value in (INF, -INF):  # Excel has no infinity: shown as text
                string(r, c, str(value))
            else:
                number(r, c, value)
        elif kind is dt.datetime:
            when(r, c, value, datetime_f)
        elif kind is dt.date:
            when(r, c, value, date_f)
        elif kind is dt.time:
            when(r, c, value, time_f)
        elif kind is dt.timedelta:
            when(r, c, value, delta_f)
        elif kind is decimal.Decimal:
            number(r, c, float(value))
        else:  # subclasses of the above
            cell(r, c, _plain(value))

    return cell


def _plain(value: Any) -> Any:
    for kind in (bool, int, float, str, dt.datetime, dt.date, dt.time, dt.timedelta):
        if isinstance(value, kind):
            return kind(value) if kind in (bool, int, float, str) else _copy_date(value, kind)
    return str(value)


def _copy_date(value: Any, kind: type) -> Any:
    if kind is dt.datetime:
        return dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                           value.microsecond)
    if kind is dt.date:
        return dt.date(value.year, value.month, value.day)
    if kind is dt.time:
        return dt.time(value.hour, value.minute, value.second, value.microsecond)
    return dt.timedelta(seconds=value.total_seconds())


def _chain(first: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterable[pd.DataFrame]:
    yield first
    yield from rest


def _values(series: pd.Series, result: SheetWritten) -> list[Any]:
    """A column as plain Python values whose type picks the cell type (None: an empty cell)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        elif len(series) and series.dropna().eq(series.dropna().dt.normalize()).all():
            return [None if pd.isna(v) else v.date() for v in series]  # a DATE column read through pandas
        return [None if pd.isna(v) else v.to_pydatetime() for v in series]
    if pd.api.types.is_timedelta64_dtype(series):
        return [None if pd.isna(v) else v.to_pytimedelta() for v in series]
    if pd.api.types.is_bool_dtype(series) and not series.hasnans:
        return [bool(v) for v in series.tolist()]
    if pd.api.types.is_float_dtype(series):
        return [None if v != v else v for v in series.tolist()]  # NaN != NaN
    if pd.api.types.is_integer_dtype(series) and not series.hasnans:
        values = series.tolist()
        return [str(v) if abs(v) >= EXACT_INT else v for v in values] if values and \
            max(abs(min(values)), abs(max(values))) >= EXACT_INT else values
    return [_scalar(v, result) for v in series.tolist()]


def _scalar(value: Any, result: SheetWritten) -> Any:
    """One value of an object (or nullable) column."""
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str):
        return _text(value, result)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, bool | dt.date | dt.time | dt.timedelta | float | decimal.Decimal):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        if isinstance(value, dt.time) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value
    if isinstance(value, int):
        return str(value) if abs(value) >= EXACT_INT else value
    if hasattr(value, "item"):  # a numpy scalar
        return _scalar(value.item(), result)
    if isinstance(value, bytes):
        return _text(value.hex(), result)
    return _text(str(value), result)  # lists, dicts, UUIDs: their text


def _text(value: str, result: SheetWritten) -> str:
    value = _clean(value)
    if len(value) > MAX_TEXT:
        if not any(n.startswith("texts longer") for n in result.notes):
            result.notes.append(f"texts longer than {MAX_TEXT:,} characters were cut (Excel's cell limit)")
        value = value[:MAX_TEXT]
    return value


def _clean(value: str) -> str:
    return ILLEGAL_CHARS.sub("", value) if ILLEGAL_CHARS.search(value) else value


def _shown_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 19
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, float):
        return min(len(f"{value:.6g}"), 15)
    return max((len(line) for line in str(value).splitlines()), default=0) + 1

