"""The DuckDB engine for tests/test_engines.py: the embedded default, and the reference the others match."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from sqlglot import exp

NAME = "duckdb"


def unavailable() -> str | None:
    return None  # in-process, always there


@contextlib.contextmanager
def target(schema: str) -> Iterator[dict]:
    """A fresh database file in its own temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="pds-duckdb-") as folder:
        yield {"type": "duckdb", "path": str(Path(folder) / "engine.duckdb"), "schema": schema, "threads": 4}


def read_table(settings: dict, schema: str, table: str) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect(settings["path"], read_only=True)
    try:
        name = exp.table_(exp.to_identifier(table, quoted=True), exp.to_identifier(schema, quoted=True))
        return con.execute(exp.select("*").from_(name).sql("duckdb")).df()
    finally:
        con.close()


def column_types(settings: dict, schema: str, table: str) -> dict[str, str]:
    """column name -> the type DuckDB reports for it."""
    import duckdb

    con = duckdb.connect(settings["path"], read_only=True)
    try:
        rows = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = ? AND table_name = ? AND table_catalog = current_database()",
                           [schema, table]).fetchall()
    finally:
        con.close()
    return {name: kind for name, kind in rows}
