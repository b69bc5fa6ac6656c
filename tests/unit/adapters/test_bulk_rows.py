"""insert_rows (results tables, fingerprints) and rendered() (compiled SQL as the DDL's query): the build's fast
paths must write exactly what the slow ones wrote."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlglot import exp

from pds_adapters import connect
from pds_adapters import statements as st
from pds_adapters.materialize import Materializations
from pds_adapters.relation import Relation
from pds_adapters.target import Target

COLUMNS = [("name", "VARCHAR"), ("n", "BIGINT"), ("took", "DOUBLE"), ("at", "TIMESTAMP"), ("ok", "BOOLEAN")]


def _rows(count: int) -> list[tuple]:
    start = dt.datetime(2026, 1, 1, 12, 0, 0)
    return [(f"it's {i}" if i % 7 else None, i, i / 4, start + dt.timedelta(seconds=i) if i % 5 else None, i % 2 == 0)
            for i in range(count)]


@pytest.mark.parametrize("path", ["duckdb", "portable"])
def test_insert_rows_writes_every_value_as_given(tmp_path: Path, path: str) -> None:
    """DuckDB's one-statement column lists and the portable chunked VALUES (450 rows: 200 + 200 + 50) agree."""
    target = Target("dev", "duckdb", {"path": str(tmp_path / "wh.duckdb"), "schema": "main"})
    rows = _rows(450)
    with connect(target) as adapter:
        relation = Relation("main", "results")
        adapter.execute(st.create_table(adapter.table(relation), {n: exp.DataType.build(t) for n, t in COLUMNS}))
        insert = adapter.insert_rows if path == "duckdb" else lambda *a: Materializations.insert_rows(adapter, *a)
        insert(relation, COLUMNS, rows)
        insert(relation, COLUMNS, [])  # nothing to write: no statement, no error
        _cols, got = adapter.fetch(exp.select("*").from_(adapter.table(relation)).order_by("n"))
    assert got == rows


def test_rendered_sql_is_wrapped_verbatim_and_a_trailing_comment_is_closed() -> None:
    table = exp.table_("m", db="s")
    query = st.rendered("select 1 as x -- the last line")
    assert st.create_table_as(table, query, replace=True).sql("duckdb") == \
        "CREATE OR REPLACE TABLE s.m AS select 1 as x -- the last line"
    wrapped = exp.select(exp.Count(this=exp.Star())).from_(st.subquery(query, "f"), copy=False)
    assert wrapped.sql("duckdb") == "SELECT COUNT(*) FROM (select 1 as x -- the last line\n) AS f"
    assert st.create_view_as(table, st.rendered("select 2")).sql("duckdb") == "CREATE OR REPLACE VIEW s.m AS select 2"


def test_dialects_whose_generator_rewrites_selects_get_parsed_trees() -> None:
    """Snowflake's and BigQuery's generators walk every SELECT's scopes, which a rendered subquery has not."""
    assert st.wraps_rendered("duckdb") and st.wraps_rendered("postgres") and st.wraps_rendered("spark")
    assert not st.wraps_rendered("snowflake") and not st.wraps_rendered("bigquery")
