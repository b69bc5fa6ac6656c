"""The Postgres engine for tests/test_engines.py: the real server at 127.0.0.1:5432 (trust auth), db `test`.

Each target() gets its own schema, dropped (CASCADE) afterwards.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import pandas as pd

NAME = "postgres"
HOST, PORT, DBNAME = "127.0.0.1", 5432, "test"


@functools.cache
def user() -> str | None:
    """The first of the usual superusers the server lets in without a password."""
    import psycopg

    for name in ("postgres", "root"):
        try:
            psycopg.connect(host=HOST, port=PORT, user=name, dbname=DBNAME, connect_timeout=3).close()
            return name
        except psycopg.Error:
            continue
    return None


def unavailable() -> str | None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    if user() is None:
        return f"no PostgreSQL server accepting user postgres or root at {HOST}:{PORT}/{DBNAME}"
    return None


def connect() -> Any:
    import psycopg

    return psycopg.connect(host=HOST, port=PORT, user=user(), dbname=DBNAME, autocommit=True)


@contextlib.contextmanager
def target(schema: str) -> Iterator[dict]:
    try:
        yield {"type": "postgres", "host": HOST, "port": PORT, "user": user(), "password": "",
               "dbname": DBNAME, "schema": schema, "threads": 4}
    finally:
        drop_schema(schema)


def drop_schema(schema: str) -> None:
    from psycopg import sql

    with connect() as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def read_table(settings: dict, schema: str, table: str) -> pd.DataFrame:
    from psycopg import sql

    with connect() as conn:
        cur = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table)))
        return pd.DataFrame.from_records(cur.fetchall(), columns=[d.name for d in cur.description or []])


def column_types(settings: dict, schema: str, table: str) -> dict[str, str]:
    """column name -> the type Postgres reports for it (format_type: with precision and scale)."""
    with connect() as conn:
        rows = conn.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                            "WHERE a.attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass AND a.attnum > 0 "
                            "AND NOT a.attisdropped", [schema, table]).fetchall()
    return {name: kind for name, kind in rows}
