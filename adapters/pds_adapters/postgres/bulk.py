"""DataFrames into Postgres with COPY ... FROM STDIN: one stream, values never in SQL text."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from pds_adapters import frames
from pds_adapters import statements as st
from pds_adapters.relation import Relation


def copy_frame(adapter: Any, relation: Relation, df: Any, types: dict[str, exp.DataType] | None = None) -> int:
    """CREATE TABLE with the frame's column types, then COPY its rows in; returns the rows written.

    Identifiers in the COPY are quoted by psycopg.sql.Identifier (the table exactly as table() names it:
    COPY is not a statement sqlglot renders).
    """
    from psycopg import sql

    types = types or frames.column_types(df)
    adapter.execute(st.create_table(adapter.table(relation), types))
    name = adapter.table(relation)
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(*(p.name for p in name.parts)), sql.SQL(", ").join(map(sql.Identifier, types)))
    rows = 0
    adapter.count_statement()
    conn = adapter.connection()
    cur = conn.cursor()
    try:
        with adapter.connections.running(conn), cur.copy(copy) as stream:
            for row in frames.python_rows(df):
                stream.write_row(row)
                rows += 1
    finally:
        cur.close()
    return rows
