"""One loaded snapshot and the questions the API asks of it: a row by key, a filtered page after a
cursor. Loaded once per published snapshot and never changed afterwards, so any number of requests
share it without locks, and a request that holds it sees exactly one snapshot from start to end.

Order is the key's order (the snapshot is stored sorted by it), so pages are stable; a cursor carries
the snapshot id, the position the next page starts at and that row's key: on the same snapshot the
position is used as is, on a newer one the key is looked up again, so paging goes on across a switch
without repeating or skipping a key (rows of a model served without a key cannot, and say so).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from pds_core.errors import did_you_mean
from pds_core.serve.columns import OPERATORS, TRUE, ColumnData, QueryError, search
from pds_core.serve.rowmaker import row_maker
from pds_core.serve.store import SnapshotInfo

RESERVED = ("limit", "cursor", "format", "columns")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
FIRST_CHUNK = 4096  # rows looked at first (at least 4 x limit), doubled until the page is full
LAST_CHUNK = 1 << 20
SELECTIVE = 16  # a row list is used when it holds under 1/16 of the rows


class Gone(QueryError):
    """A cursor that cannot be continued (the model was republished and has no key): HTTP 410."""

    status = 410


@dataclass(frozen=True, eq=False)
class Condition:
    column: ColumnData
    op: str
    value: Any


class Loaded:
    """A snapshot in memory: the Arrow table (memory-mapped) and its columns ready for filtering."""

    def __init__(self, info: SnapshotInfo, table: pa.Table) -> None:
        self.info = info
        self.table = table
        self.rows = table.num_rows
        self.names = table.column_names  # (a pyarrow property that builds a new list on every call)
        self.columns = {name: ColumnData.build(name, table[name]) for name in self.names}
        self.key = [self.columns[k] for k in info.key]
        self.getters = {name: column.getter(table[name]) for name, column in self.columns.items()}
        self.takers = {name: column.taker() or _arrow_taker(table[name]) for name, column in self.columns.items()}
        self._all_takers = [self.takers[name] for name in self.names]
        self._all_getters = list(self.getters.items())
        self._row = row_maker(self.names)
        self._find = _integer_finder(self.key[0], self.rows) if len(self.key) == 1 else None
        # the parts of every answer that only depend on the snapshot, encoded once
        self.snapshot_json = orjson.dumps(info.id)
        self.snapshot_header = (b"x-pds-snapshot", info.id.encode("latin-1"))

    @classmethod
    def open(cls, path: Path, info: SnapshotInfo) -> Loaded:
        source = pa.memory_map(str(path), "r")
        return cls(info, pa.ipc.open_file(source).read_all())

    # ---- requests -> conditions -------------------------------------------------------------------
    def conditions(self, params: list[tuple[str, str]]) -> list[Condition]:
        """`col=v`, `col__gt=v`, `col__in=a,b`, `col__isnull=true` from the query string."""
        found = []
        for name, text in params:
            if name in RESERVED:
                continue
            column_name, _, op = name.partition("__")
            op = op or "eq"
            column = self.columns.get(column_name)
            if column is None:
                raise QueryError(f"unknown column {column_name!r} in filter {name!r}; "
                                 + (did_you_mean(column_name, self.columns) or f"columns: {', '.join(self.columns)}"))
            if op not in OPERATORS:
                raise QueryError(f"unknown operator {op!r} in {name!r}; operators: {', '.join(OPERATORS)}")
            if op == "isnull":
                value: Any = text.lower() in TRUE
            elif op == "in":
                value = [column.parse(part) for part in text.split(",")]
            else:
                value = column.parse(text)
            found.append(Condition(column, op, value))
        return found

    def key_values(self, text: str) -> list[Any]:
        parts = text.split(",") if len(self.key) > 1 else [text]
        if not self.key:
            raise QueryError(f"{self.info.model} is served without a key: use filters instead")
        if len(parts) != len(self.key):
            raise QueryError(f"the key of {self.info.model} has {len(self.key)} columns "
                             f"({', '.join(self.info.key)}): give their values joined by ','")
        return [column.parse(part) for column, part in zip(self.key, parts, strict=True)]

    # ---- lookups and pages ------------------------------------------------------------------------
    def lookup(self, text: str) -> int | None:
        """The row position of a key, or None."""
        if self._find is not None:  # the common case (one integer column): chosen once per snapshot
            return self._find(text)
        if len(self.key) == 1:  # one binary search, then one comparison
            column = self.key[0]
            value = column.parse(text)
            position = search(column.values, value, "left")
            found = position < self.rows and column.values[position] == value  # type: ignore[index]
            return position if found else None
        lo, hi = 0, self.rows
        for column, value in zip(self.key, self.key_values(text), strict=True):
            values = column.values[lo:hi]
            left, right = search(values, value, "left"), search(values, value, "right")
            if left == right:
                return None
            lo, hi = lo + left, lo + right
        return lo

    def _lower_bound(self, values: list[Any]) -> int:
        """The first position whose key is >= values (a key that is gone lands where it would be)."""
        lo, hi = 0, self.rows
        for column, value in zip(self.key, values, strict=True):
            part = column.values[lo:hi]
            left, right = lo + search(part, value, "left"), lo + search(part, value, "right")
            if left == right:
                return left
            lo, hi = left, right
        return lo

    def page(self, conditions: list[Condition], start: int, limit: int) -> tuple[np.ndarray, int | None]:
        """Positions of the first `limit` matching rows at or after `start`, and where the next page starts."""
        if not conditions:
            stop = min(self.rows, start + limit)
            return np.arange(start, stop), (stop if stop < self.rows else None)
        listed = [(c, c.column.postings(c.op, c.value)) for c in conditions]
        # a value's row list pays off when it is selective; a common value (risk_band=high: a third of
        # the rows) is found faster by comparing contiguous codes than by gathering through its list
        listed = [(c, p) for c, p in listed if p is not None and len(p) * SELECTIVE < self.rows]
        candidates = None
        rest = list(conditions)
        if listed:
            chosen, candidates = min(listed, key=lambda item: len(item[1]))
            rest.remove(chosen)
        pos = start if candidates is None else search(candidates, start, "left")
        if candidates is not None and not rest:  # the listed rows are the answer
            matched = candidates[pos:pos + limit + 1]
            return matched[:limit], (int(matched[limit]) if len(matched) > limit else None)
        found: list[np.ndarray] = []
        total, size = 0, max(FIRST_CHUNK, limit * 4)
        end = self.rows if candidates is None else len(candidates)
        while pos < end and total <= limit:
            stop = min(end, pos + size)
            rows: slice | np.ndarray = slice(pos, stop) if candidates is None else candidates[pos:stop]
            mask = rest[0].column.mask(rest[0].op, rest[0].value, rows)
            for cond in rest[1:]:
                mask &= cond.column.mask(cond.op, cond.value, rows)
            hits = mask.nonzero()[0]  # (np.flatnonzero adds two Python-level calls)
            hits = hits + pos if candidates is None else candidates[pos:stop][hits]
            found.append(hits)
            total += len(hits)
            pos, size = stop, min(LAST_CHUNK, size * 2)
        matched = (found[0] if len(found) == 1 else np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        return matched[:limit], (int(matched[limit]) if len(matched) > limit else None)

    # ---- cursors ----------------------------------------------------------------------------------
    def cursor(self, start: int) -> str:
        key = [c.to_text(v) for c, v in zip(self.key, self._key_row(start), strict=True)]
        raw = orjson.dumps({"s": self.info.id, "p": start, "k": key})  # compact; 10x json.dumps
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _key_row(self, position: int) -> list[Any]:
        return [self.getters[column.name](position) for column in self.key]

    def start_of(self, cursor: str | None) -> int:
        if not cursor:
            return 0
        try:
            data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            snapshot, position, key = str(data["s"]), int(data["p"]), list(data["k"])
        except (ValueError, KeyError, TypeError):
            raise QueryError("the cursor is not one this server gave out; start again without it") from None
        if snapshot == self.info.id:
            return max(0, min(position, self.rows))
        if not self.key or len(key) != len(self.key):
            raise Gone(f"{self.info.model} was republished since this cursor was given and has no key to "
                       "continue from; start again without a cursor")
        return self._lower_bound([c.parse(text) for c, text in zip(self.key, key, strict=True)])

    def select(self, positions: np.ndarray, columns: list[str] | None) -> pa.Table:
        table = self.table if columns is None else self.table.select(columns)
        if len(positions) and positions[-1] - positions[0] == len(positions) - 1:  # a run: zero-copy slice
            return table.slice(int(positions[0]), len(positions))
        return table.take(pa.array(positions))

    def records(self, positions: np.ndarray, columns: list[str] | None) -> list[dict[str, Any]]:
        """The rows at `positions` as dicts for JSON, column by column from the indexes' arrays."""
        if columns is None and self.names:
            return list(map(self._row, *[take(positions) for take in self._all_takers]))
        names, takers = columns or self.names, self.takers
        values = [takers[name](positions) for name in names]
        return list(map(dict, map(zip, repeat(names), zip(*values))))  # noqa: B905 - equal lengths by construction

    def record(self, position: int, columns: list[str] | None) -> dict[str, Any]:
        """One row as a dict for JSON (a key lookup): value by value, no arrays built."""
        if columns is None:
            return {name: get(position) for name, get in self._all_getters}
        getters = self.getters
        return {name: getters[name](position) for name in columns}

    def projection(self, text: str | None) -> list[str] | None:
        if not text:
            return None
        names = [n.strip() for n in text.split(",") if n.strip()]
        for name in names:
            if name not in self.columns:
                raise QueryError(f"unknown column {name!r} in columns=; "
                                 + (did_you_mean(name, self.columns) or f"columns: {', '.join(self.columns)}"))
        return names

    def describe(self) -> dict[str, Any]:
        return {"model": self.info.model, "snapshot": self.info.id, "rows": self.rows, "key": list(self.info.key),
                "published_at": self.info.published_at, "columns": self.info.columns}


def _arrow_taker(column: pa.ChunkedArray) -> Any:
    return lambda positions: column.take(pa.array(positions)).to_pylist()


def _integer_finder(column: ColumnData, rows: int) -> Any:
    """position-of-key for a one-column integer key: int(), a range check, one binary search with the
    value already of the array's type (`search`'s checks, done once here), one comparison."""
    values = column.values
    if column.kind != "integer" or values is None or values.dtype.kind not in "iu":
        return None
    lowest, highest = (values.item(0), values.item(rows - 1)) if rows else (0, -1)
    typed = values.dtype.type

    def find(text: str) -> int | None:
        try:
            value = int(text)
        except ValueError:
            column.parse(text)  # raises the QueryError that says what is wrong
            raise
        if not lowest <= value <= highest:
            return None
        position = int(values.searchsorted(typed(value)))
        return position if values.item(position) == value else None
    return find
