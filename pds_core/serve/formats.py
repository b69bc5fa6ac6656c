"""Response bodies: JSON (orjson), CSV and Arrow IPC, chosen by ?format= or the Accept header.

JSON carries the rows and the next cursor in one object; CSV and Arrow carry only the rows, with the
snapshot and the next cursor in headers (X-PDS-Snapshot, X-Next-Cursor, Link rel="next"), so a
CSV reader or pyarrow gets a plain table.
"""

from __future__ import annotations

import base64
import decimal
import functools
import io
from typing import Any

import orjson
import pyarrow as pa

from pds_core.serve.columns import QueryError

MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8", "arrow": "application/vnd.apache.arrow.stream"}
ACCEPT = (("text/csv", "csv"), ("application/vnd.apache.arrow.stream", "arrow"),
          ("application/vnd.apache.arrow.file", "arrow"), ("application/json", "json"))


def choose(fmt: str | None, accept: str | None) -> str:
    """?format= wins; else the first type of the Accept header pds can give; else JSON."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in MEDIA:
            raise QueryError(f"unknown format {fmt!r}; formats: {', '.join(MEDIA)}")
        return fmt
    return _from_accept(accept) if accept else "json"


@functools.lru_cache(maxsize=256)  # clients send the same few Accept headers again and again
def _from_accept(accept: str) -> str:
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        for known, name in ACCEPT:
            if media == known:
                return name
    return "json"


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)


def json_bytes(data: Any) -> bytes:
    return orjson.dumps(data, default=_default)  # (OPT_NON_STR_KEYS would cost ~60% more: keys are text)


def encode(table: pa.Table, fmt: str, envelope: dict[str, Any], single: bool = False) -> bytes:
    """The rows of `table` in the format; for JSON inside `envelope` (as "row" when single)."""
    if fmt == "json":
        rows = records(table)
        body = {**envelope, "row": rows[0] if rows else None} if single else {**envelope, "rows": rows}
        return json_bytes(body)
    if fmt == "csv":
        import pyarrow.csv as pacsv

        sink = io.BytesIO()
        pacsv.write_csv(table, sink)
        return sink.getvalue()
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def records(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as dicts of JSON-ready values, built column by column: numbers through numpy's tolist()
    (several times faster than pyarrow's per-value to_pylist); dates and timestamps stay Python
    objects, which orjson writes as ISO 8601 itself."""
    names, columns = table.column_names, []
    for column in table.columns:
        kind = column.type
        fast = column.null_count == 0 and (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                           or pa.types.is_boolean(kind))
        columns.append(column.to_numpy().tolist() if fast else column.to_pylist())
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
