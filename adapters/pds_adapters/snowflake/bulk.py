"""DataFrames in and out of Snowflake: write_pandas (Parquet, PUT, COPY INTO) in; names unfolded out.

Snowflake folds unquoted names to upper case; pds writes plain lower-case names unquoted, so a
DataFrame column `customer_id` is stored as CUSTOMER_ID, and names read back that Snowflake folded are
lower-cased again: Python models see the same column names on every engine.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from sqlglot import exp

from pds_adapters import frames
from pds_adapters import statements as st
from pds_adapters.errors import ProjectError
from pds_adapters.relation import Relation

_FOLDED = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def load_frame(adapter: Any, staged: Relation, df: Any) -> int:
    """A new table staged holding the DataFrame: created with explicit column types, then loaded in bulk
    with write_pandas. On failure the table is dropped again."""
    from snowflake.connector.pandas_tools import write_pandas

    frame = df.rename(columns={c: adapter.stored_name(str(c)) for c in df.columns})
    if frame.columns.duplicated().any():
        raise ProjectError(f"columns of the DataFrame for {staged} collide on Snowflake "
                           f"(names differing only in case): {list(df.columns)}",
                           hint="Snowflake folds unquoted names to upper case; rename the columns")
    adapter.execute(st.create_table(adapter.table(staged), {str(n): column_type(frame[n]) for n in frame.columns}))
    try:
        database, schema, name = (p.name for p in adapter.table(staged).parts)
        adapter.count_statement()
        conn = adapter.connection()
        with adapter.connections.running(conn):
            ok, _chunks, rows, _ = write_pandas(conn, frame.reset_index(drop=True), adapter.stored_name(name),
                                                database=adapter.stored_name(database),
                                                schema=adapter.stored_name(schema), quote_identifiers=True,
                                                auto_create_table=False, use_logical_type=True)
        if not ok:
            raise RuntimeError(f"write_pandas could not load {staged}")
    except BaseException:
        with contextlib.suppress(Exception):  # the original error matters more
            adapter.execute(st.drop(adapter.table(staged)))
        raise
    return int(rows)


def column_type(series: Any) -> exp.DataType:
    dtype = frames.sql_type(series)
    if dtype.this == exp.DataType.Type.TIMESTAMP:  # TIMESTAMP alone follows a session parameter
        return exp.DataType.build("TIMESTAMP_NTZ", dialect="snowflake")
    return dtype


def as_read(df: Any) -> Any:
    """A DataFrame read from Snowflake as Python models see it on every engine: names and dtypes."""
    return frames.tidy_frame(df.rename(columns={c: unfolded_name(str(c)) for c in df.columns}))


def unfolded_name(name: str) -> str:
    """A column name as read back: names Snowflake folded to upper case are lower-cased again."""
    return name.lower() if _FOLDED.match(name) else name
