"""Adapters on recording connections: every statement an engine would send is kept, nothing is sent.

The engine classes are the real ones; only _connect() is replaced, by a DB-API connection (or, for
BigQuery, a client) that records each statement and answers the few queries whose answers steer the
adapter: a table's columns (`SELECT * ... LIMIT 0`), a row count, the information_schema listing. What
stands where in the warehouse is given as `kinds`, through the relation cache a run would set. Staging
names are made deterministic (`__pds_<purpose>_00000000`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from pds_adapters import adapter_class
from pds_adapters.relation import Relation
from pds_adapters.target import Target

SETTINGS: dict[str, dict[str, Any]] = {
    "duckdb": {"path": "/nowhere/wh.duckdb", "schema": "an"},
    "postgres": {"host": "db.example", "user": "pds", "dbname": "wh", "schema": "an"},
    "snowflake": {"account": "acme", "user": "pds", "password": "x", "database": "wh", "schema": "an"},
    "bigquery": {"project": "proj", "dataset": "an", "method": "anonymous", "api_endpoint": "http://x"},
}
ENGINES = list(SETTINGS)
_LIMIT0 = re.compile(r"SELECT \* FROM (\S+) LIMIT 0", re.IGNORECASE)


# how each engine's driver reports the rows a DML statement touched (DuckDB: a "Count" result row;
# Snowflake: a result whose first column is "number of rows ..."; Postgres: cursor.rowcount)
DML_RESULT = {"duckdb": "Count", "snowflake": "number of rows inserted"}
DML = ("INSERT", "DELETE", "MERGE", "UPDATE")


@dataclass
class Warehouse:
    """What the fake warehouse holds (columns per table name, a listing) and everything sent to it."""

    engine: str
    columns: dict[str, list[str]] = field(default_factory=dict)
    listing: list[tuple[str, str, str]] = field(default_factory=list)  # (schema, name, TABLE/VIEW)
    sent: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    connections: int = 0

    def record(self, sql: str, params: Any = None) -> None:
        self.params.append(params)
        if "WITH RECURSIVE deps" in sql:  # Postgres' dependent-views query: long and always the same
            sql = f"-- dependent views of {params['rel']}"
        self.sent.append(sql)

    def answer(self, sql: str) -> tuple[list[str], list[tuple]]:
        match = _LIMIT0.search(sql)
        if match:
            name = match.group(1).replace('"', "").replace("`", "").split(".")[-1].lower()
            return self.columns.get(name, ["id", "v"]), []
        if sql.upper().startswith("SELECT COUNT(*)"):
            return ["count"], [(3,)]
        if "information_schema" in sql.lower():
            return ["table_schema", "table_name", "table_type"], list(self.listing)
        if sql.upper().startswith(DML) and self.engine in DML_RESULT:
            return [DML_RESULT[self.engine]], [(3,)]
        return [], []


class Cursor:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.description: list[tuple] | None = None
        self.rowcount = -1
        self._rows: list[tuple] = []

    def execute(self, sql: str, params: Any = None) -> Cursor:
        self.warehouse.record(sql, params)
        cols, self._rows = self.warehouse.answer(sql)
        self.description = [(c,) for c in cols] or None
        self.rowcount = 3 if sql.upper().startswith(DML) else -1
        return self

    def executemany(self, sql: str, rows: list[Any]) -> None:
        self.warehouse.sent.append(f"{sql} -- {len(rows)} rows")

    def fetchall(self) -> list[tuple]:
        return self._rows

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def close(self) -> None:
        pass


class Connection:
    """DB-API enough for the base, DuckDB (execute on the connection), Postgres (driver_connection)
    and Snowflake (session_id)."""

    session_id = 42
    broken = closed = False

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.driver_connection = self
        warehouse.connections += 1

    def cancel_safe(self, timeout: float = 0) -> None:
        self.warehouse.sent.append("-- cancel request")

    def cursor(self) -> Cursor:
        return Cursor(self.warehouse)

    def execute(self, sql: str, params: Any = None) -> Cursor:
        return self.cursor().execute(sql, params)

    def interrupt(self) -> None:
        self.warehouse.sent.append("-- interrupt()")

    def close(self) -> None:
        pass


@dataclass
class Job:
    warehouse: Warehouse
    sql: str
    num_dml_affected_rows: int | None = None
    output_rows: int = 3

    def result(self, timeout: float | None = None, page_size: int | None = None) -> Any:
        cols, rows = self.warehouse.answer(self.sql)
        return Rows([Field(c) for c in cols], rows)

    def cancel(self) -> None:
        self.warehouse.sent.append(f"-- jobs.cancel({self.sql})")


@dataclass
class Field:
    name: str
    field_type: str = "INT64"
    mode: str = "NULLABLE"


@dataclass
class Rows:
    schema: list[Field]
    rows: list[tuple]

    def __iter__(self) -> Iterator[Any]:
        return iter(dict(zip([f.name for f in self.schema], r, strict=True)) for r in self.rows)


@dataclass
class Table:
    schema: list[Field]
    table_type: str = "TABLE"
    num_rows: int = 3


@dataclass
class Listed:
    table_id: str
    table_type: str


class Client:
    """The google-cloud-bigquery Client calls the BigQuery adapter makes, recorded as `API ...` lines."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def query(self, sql: str, job_config: Any = None) -> Job:
        self.warehouse.sent.append(sql)
        return Job(self.warehouse, sql, 3 if sql.upper().startswith(DML) else None)

    def get_table(self, table_id: str) -> Table:
        return Table([Field(c) for c in self.warehouse.columns.get(table_id.split(".")[-1], ["id", "v"])])

    def delete_table(self, table_id: str, not_found_ok: bool = False) -> None:
        self.warehouse.sent.append(f"API delete_table {table_id}")

    def copy_table(self, source: str, destination: str, job_config: Any = None) -> Job:
        mode = job_config.write_disposition if job_config is not None else None
        self.warehouse.sent.append(f"API copy_table {source} -> {destination} ({mode})")
        return Job(self.warehouse, "")

    def create_dataset(self, dataset: Any, exists_ok: bool = False) -> None:
        self.warehouse.sent.append(f"API create_dataset {dataset.dataset_id}")

    def list_tables(self, dataset: str) -> list[Any]:
        schema = dataset.split(".")[-1]
        return [Listed(n, t) for s, n, t in self.warehouse.listing if s == schema]

    def close(self) -> None:
        pass


def recording(engine: str, kinds: dict[str, str] | None = None, columns: dict[str, list[str]] | None = None,
              **flags: Any) -> tuple[Any, Warehouse]:
    """A real adapter of the engine on a recording connection; kinds: table name -> 'table'/'view'."""
    warehouse = Warehouse(engine, columns=dict(columns or {}))
    base = adapter_class(engine)
    fake = Client if engine == "bigquery" else Connection

    class Recording(base):  # type: ignore[valid-type, misc]
        def _connect(self) -> Any:
            return fake(warehouse)

    for name, value in flags.items():
        setattr(Recording, name, value)
    adapter = Recording(Target("t", engine, dict(SETTINGS[engine]), threads=1))
    known = dict(kinds or {})
    adapter.relation_lookup = lambda rel: known.get(rel.identifier)
    return adapter, warehouse


@contextmanager
def fixed_names(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Staging names end in _00000000 instead of random hex."""
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=0))
    yield


def rel(name: str) -> Relation:
    return Relation("an", name)


QUERY = "select 1 as id, 'a' as v"


def _query() -> Any:
    import sqlglot

    return sqlglot.parse_one(QUERY)


# operation name -> (what stands in the warehouse, the call); each engine's test lists what it sends
OPERATIONS: dict[str, tuple[dict[str, str], Any]] = {
    "replace_table": ({"m": "table"}, lambda a: a.replace_table(rel("m"), _query())),
    "replace_table_first": ({}, lambda a: a.replace_table(rel("m"), _query())),
    "replace_view_by_table": ({"m": "view"}, lambda a: a.replace_table(rel("m"), _query())),
    "create_view": ({"m": "view"}, lambda a: a.create_view(rel("m"), _query())),
    "create_view_over_table": ({"m": "table"}, lambda a: a.create_view(rel("m"), _query())),
    "append": ({"m": "table"}, lambda a: a.incremental(rel("m"), _query(), "append", [])),
    "merge": ({"m": "table"}, lambda a: a.incremental(rel("m"), _query(), "merge", ["id"])),
    "delete+insert": ({"m": "table"}, lambda a: a.incremental(rel("m"), _query(), "delete+insert", ["id"])),
    "ensure_schema": ({}, lambda a: a.ensure_schema("an")),
    "swap_in": ({}, lambda a: a.swap_in(rel("m__pds_tmp_00000000"), rel("m"), "table")),
    "drop_staging": ({}, lambda a: a.drop_staging(["an"], {("an", "kept__pds_tmp_0000000a")})),
}
LISTING = [("an", "m", "BASE TABLE"), ("an", "m__pds_tmp_12345678", "BASE TABLE"),
           ("an", "v__pds_incr_abcdef01", "VIEW"), ("an", "kept__pds_tmp_0000000a", "BASE TABLE")]


def sent_by(engine: str, operation: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the engine sends for one of OPERATIONS."""
    kinds, call = OPERATIONS[operation]
    adapter, warehouse = recording(engine, kinds)
    warehouse.listing = list(LISTING)
    with fixed_names(monkeypatch):
        call(adapter)
    return warehouse.sent
