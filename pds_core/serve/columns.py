"""One served column in the form filters and key lookups need: a numpy array whose order is the
values' order, built once when a snapshot is loaded, so a request compares integers in C instead of
touching Python objects.

- numbers: their values (decimals as float64); integers with NULLs are filled and masked;
- dates and timestamps: their integer value in the column's unit (time zones as stored, UTC);
- booleans: 0 / 1;
- text: codes into the SORTED list of distinct values, so code order is text order and a range
  filter on text is a range on codes; each value's rows are also listed (postings), so
  `risk_band=high` finds its rows without a scan.
A NULL matches no comparison (as in SQL); `isnull` asks for it.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "isnull")
EPOCH = dt.datetime(1970, 1, 1)
EPOCH_DATE = dt.date(1970, 1, 1)
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")
COMPARE = {"eq": np.equal, "ne": np.not_equal, "gt": np.greater, "gte": np.greater_equal, "lt": np.less,
           "lte": np.less_equal}


class QueryError(ValueError):
    """A request the data cannot answer as asked (unknown column, value of the wrong type): HTTP 400."""

    status = 400


@dataclass(eq=False)  # compared by identity: comparing the arrays would scan them
class ColumnData:
    name: str
    type: pa.DataType
    kind: str  # number | integer | boolean | time | text | other
    length: int
    values: np.ndarray | None  # order-preserving storage values (codes for text)
    nulls: np.ndarray | None  # True where NULL; None when the column has none
    dictionary: np.ndarray | None = None  # text: sorted distinct values
    order: np.ndarray | None = None  # text/boolean postings: row positions grouped by code, ascending in each
    starts: np.ndarray | None = None  # postings of code c: order[starts[c + 1]:starts[c + 2]] (c = -1: NULLs)
    words: list[str] | None = None  # text: the dictionary as a list (bisect on it: 10x numpy on objects)

    @classmethod
    def build(cls, name: str, column: pa.ChunkedArray) -> ColumnData:
        kind_of = column.type
        array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        nulls = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
        if pa.types.is_dictionary(kind_of):
            array, kind_of = array.cast(kind_of.value_type), kind_of.value_type
        if pa.types.is_string(kind_of) or pa.types.is_large_string(kind_of):
            encoded = pc.dictionary_encode(array)
            distinct = encoded.dictionary.to_numpy(zero_copy_only=False)
            ranks = np.argsort(distinct, kind="stable")  # text order (code points = UTF-8 byte order)
            remap = np.empty(len(ranks), dtype=np.int32)
            remap[ranks] = np.arange(len(ranks), dtype=np.int32)
            raw = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
            codes = np.where(raw >= 0, remap[np.maximum(raw, 0)], -1).astype(np.int32) if len(ranks) else \
                np.full(len(raw), -1, dtype=np.int32)  # every value NULL: no dictionary to index
            data = cls(name, column.type, "text", len(array), codes, nulls, distinct[ranks])
            data.words = data.dictionary.tolist()  # type: ignore[union-attr]
            if len(distinct) <= max(1, len(codes) // 2):  # a value repeats: list its rows
                data._postings(codes, len(distinct))
            return data
        if pa.types.is_boolean(kind_of):
            codes = array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.int8)
            data = cls(name, column.type, "boolean", len(array), codes, nulls)
            data._postings(np.where(nulls, -1, codes) if nulls is not None else codes, 2)
            return data
        if pa.types.is_timestamp(kind_of) or pa.types.is_date(kind_of) or pa.types.is_time(kind_of) \
                or pa.types.is_duration(kind_of):
            width = pa.int32() if kind_of.bit_width == 32 else pa.int64()
            ints = array.view(width).fill_null(0) if array.null_count else array.view(width)
            return cls(name, column.type, "time", len(array), ints.to_numpy(zero_copy_only=False), nulls)
        if pa.types.is_integer(kind_of):
            filled = array.fill_null(0) if array.null_count else array
            return cls(name, column.type, "integer", len(array), filled.to_numpy(zero_copy_only=False), nulls)
        if pa.types.is_floating(kind_of) or pa.types.is_decimal(kind_of):
            floats = array.cast(pa.float64()) if pa.types.is_decimal(kind_of) else array
            return cls(name, column.type, "number", len(array),
                       floats.fill_null(math.nan).to_numpy(zero_copy_only=False), nulls)
        return cls(name, column.type, "other", len(array), None, nulls)

    def _postings(self, codes: np.ndarray, count: int) -> None:
        self.order = np.argsort(codes, kind="stable").astype(np.int32)
        counts = np.bincount(codes.astype(np.int64) + 1, minlength=count + 1)
        self.starts = np.concatenate([[0], np.cumsum(counts)])

    # ---- values from requests -----------------------------------------------------------------
    def parse(self, text: str) -> Any:
        """A value from a URL in storage terms. For text, a value that is not in the column becomes the
        half-way point between codes, so range comparisons stay right and equality finds nothing."""
        kind = self.kind
        try:
            if kind == "text":
                words = self.words
                index = bisect_left(words, text)  # type: ignore[arg-type]
                found = index < len(words) and words[index] == text  # type: ignore[arg-type]
                return index if found else index - 0.5
            if kind == "boolean":
                lowered = text.lower()
                if lowered not in TRUE + FALSE:
                    raise ValueError
                return int(lowered in TRUE)
            if kind == "integer":
                return int(text)
            if kind == "number":
                return float(text)
            if kind == "time":
                return self._time(text)
        except (ValueError, OverflowError):
            raise QueryError(f"{text!r} is not a valid {self._shown_type()} for column {self.name!r}") from None
        raise QueryError(f"column {self.name!r} ({self.type}) cannot be filtered or used as a key")

    def _time(self, text: str) -> int:
        import pandas as pd

        kind_of = self.type.value_type if pa.types.is_dictionary(self.type) else self.type
        if pa.types.is_date32(kind_of):
            return (dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days
        if pa.types.is_date64(kind_of):
            return (dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days * 86_400_000
        if pa.types.is_timestamp(kind_of):
            stamp = pd.Timestamp(text)
            if stamp.tzinfo is not None:  # stored values are UTC instants (aware) or wall times (naive)
                stamp = stamp.tz_convert("UTC").tz_localize(None)
            per_unit = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[kind_of.unit]
            return int(stamp.as_unit("ns").value) // per_unit  # .value is always in nanoseconds
        raise ValueError(text)

    def _shown_type(self) -> str:
        return {"integer": "integer", "number": "number", "boolean": "boolean (true/false)",
                "time": f"{self.type} (ISO 8601)"}.get(self.kind, str(self.type))

    def to_text(self, value: Any) -> str:
        """A Python value of this column (from to_pylist) as the text parse() reads back."""
        if isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def getter(self, fallback: pa.ChunkedArray) -> Callable[[int], Any]:
        """A function position -> Python value, chosen once per snapshot so a key lookup does no type
        dispatch per value (`fallback`, the Arrow column, answers for types without a fast path).
        `ndarray.item(p)` gives the Python value without building a numpy scalar first."""
        values, nulls, kind, kind_of = self.values, self.nulls, self.kind, self.type
        get: Callable[[int], Any]
        if kind == "text":
            words = [*self.words, None]  # type: ignore[misc]  # code -1 (NULL) -> None
            return lambda p: words[values.item(p)]  # type: ignore[union-attr]
        if kind in ("integer", "number"):
            get = values.item  # type: ignore[union-attr]
        elif kind == "boolean":
            get = lambda p: bool(values.item(p))  # type: ignore[union-attr]  # noqa: E731
        elif kind == "time" and pa.types.is_date32(kind_of):
            get = lambda p: EPOCH_DATE + dt.timedelta(days=values.item(p))  # type: ignore[union-attr]  # noqa: E731
        elif kind == "time" and pa.types.is_timestamp(kind_of) and kind_of.unit != "ns":
            stamps = values.view(f"datetime64[{kind_of.unit}]")  # type: ignore[union-attr]  # .item(): a datetime
            get = stamps.item if not kind_of.tz else lambda p: stamps.item(p).replace(tzinfo=dt.UTC)
        elif kind == "time" and pa.types.is_timestamp(kind_of):  # Python datetimes stop at microseconds
            zone = dt.UTC if kind_of.tz else None

            def get(p: int) -> Any:
                return (EPOCH + dt.timedelta(microseconds=values.item(p) // 1_000)).replace(tzinfo=zone)  # type: ignore[union-attr]
        else:
            return lambda p: fallback[p].as_py()
        if nulls is None:
            return get
        return lambda p: None if nulls[p] else get(p)

    def taker(self) -> Callable[[np.ndarray], list[Any]] | None:
        """A function positions -> the values there as Python objects for JSON, straight from the numpy
        arrays and chosen once per snapshot (pyarrow's to_pylist builds each value through slow paths:
        it was most of a request's time). None: no such fast path (the caller falls back to Arrow)."""
        kind, values, nulls, kind_of = self.kind, self.values, self.nulls, self.type
        if values is None:
            return None
        if kind == "text":  # code -1 (NULL) indexes the None appended last
            words = np.append(self.dictionary, None).astype(object)  # type: ignore[arg-type]
            return lambda p: words[values[p]].tolist()
        if kind in ("integer", "number"):
            plain = values
        elif kind == "boolean":
            plain = values.view(np.bool_)  # int8 0 / 1: a view, no copy
        elif pa.types.is_date32(kind_of):
            return _nulled(lambda p: values[p].astype("datetime64[D]").tolist(), nulls)
        elif pa.types.is_timestamp(kind_of) and kind_of.tz is None:
            stamps = values.view(f"datetime64[{kind_of.unit}]")  # int64 storage: a view, no copy
            if kind_of.unit == "ns":  # Python datetimes stop at microseconds: nanoseconds are cut
                return _nulled(lambda p: stamps[p].astype("datetime64[us]").tolist(), nulls)
            plain = stamps
        else:
            return None
        return _nulled(lambda p: plain[p].tolist(), nulls)

    # ---- matching -------------------------------------------------------------------------------
    def postings(self, op: str, value: Any) -> np.ndarray | None:
        """Sorted row positions for eq / in / isnull when the column lists its rows, else None."""
        if self.order is None or op not in ("eq", "in", "isnull"):
            return None
        if op == "isnull":
            codes = [-1] if value else None
            if codes is None:  # not null: everything but bucket -1
                return np.sort(self.order[self.starts[1]:])
        else:
            codes = [v for v in (value if op == "in" else [value]) if float(v).is_integer()]
        parts = [self.order[self.starts[c + 1]:self.starts[c + 2]] for c in codes]
        if len(parts) == 1:
            return parts[0]
        return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int32)

    def mask(self, op: str, value: Any, rows: slice | np.ndarray) -> np.ndarray:
        """Which of the rows (a slice or positions) satisfy `column op value`."""
        if op == "isnull":
            nulls = self.nulls[rows] if self.nulls is not None else np.zeros(_count(rows, self.length), dtype=bool)
            return nulls if value else ~nulls
        if self.values is None:
            raise QueryError(f"column {self.name!r} ({self.type}) cannot be filtered")
        data = self.values[rows]
        if op == "in":
            result = np.isin(data, [v for v in value if self.kind != "text" or float(v).is_integer()])
        else:
            result = COMPARE[op](data, value)
        if self.kind == "text":  # NULL is code -1: only ne, lt and lte could match it
            if op in ("ne", "lt", "lte"):
                result &= data >= 0
        elif self.nulls is not None:
            result &= ~self.nulls[rows]
        return result


def _nulled(take: Callable[[np.ndarray], list[Any]], nulls: np.ndarray | None) -> Callable[[np.ndarray], list[Any]]:
    """`take`, with None where the column is NULL (when it has NULLs at all)."""
    if nulls is None:
        return take

    def with_nulls(positions: np.ndarray) -> list[Any]:
        out, missing = take(positions), nulls[positions]
        if not missing.any():
            return out
        return [None if gone else value for value, gone in zip(out, missing.tolist(), strict=True)]
    return with_nulls


def _count(rows: slice | np.ndarray, length: int) -> int:
    return len(range(*rows.indices(length))) if isinstance(rows, slice) else len(rows)


def search(values: np.ndarray, value: Any, side: str = "left") -> int:
    """np.searchsorted without its trap: a Python number against an int32/int64 array makes numpy cast
    the whole array to a common type (a copy of a million values per request). The value is brought to
    the array's type instead; text's half-way codes (not in the column) land between codes."""
    if values.dtype.kind in "iu" and isinstance(value, float | int) and not isinstance(value, bool):
        if isinstance(value, float):
            if math.isnan(value):
                return len(values)
            if not value.is_integer():
                value, side = math.ceil(value), "left"
        try:
            typed = values.dtype.type(int(value))
        except OverflowError:  # beyond the column's integer type: before or after every value
            return 0 if value < 0 else len(values)
        return int(values.searchsorted(typed, side))  # type: ignore[call-overload]
    return int(values.searchsorted(value, side))  # type: ignore[call-overload]
