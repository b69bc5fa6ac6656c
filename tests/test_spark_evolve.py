"""on_schema_change and snapshot columns on Spark (adapters/pds_adapters/spark/evolve.py), on the local session.

Each case reads the table back: the rows and the column order dbt leaves (DuckDB's, tests/test_runtime.py
checks the same against dbt-core), the number of Delta commits a change took (one where columns are only
added), `fail` leaving the table untouched, and the error naming the format on parquet.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlglot

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")

from pds_adapters.schema_change import ColumnDiff, SchemaPolicy  # noqa: E402
from pds_adapters.spark.ddl import TableOptions  # noqa: E402
from pds_core.errors import ProjectError  # noqa: E402
from pds_core.nodes import Relation  # noqa: E402
from tests import spark_kit  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def _spark_here() -> None:
    reason = spark_kit.unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def delta() -> Iterator[Any]:
    schema = f"ev_{uuid.uuid4().hex[:8]}"
    found = spark_kit.adapter(spark_kit.local_settings(schema, "delta"))
    found.ensure_schema(schema)
    yield found
    found.close()


def q(sql: str) -> Any:
    return sqlglot.parse_one(sql, read="spark")


def table(adapter: Any, name: str) -> tuple[list[str], list[tuple]]:
    cols, rows = adapter.fetch(q(f"SELECT * FROM {spark_kit.table_name(adapter.target.schema, name)}"))
    return cols, sorted(rows, key=lambda r: tuple((v is None, str(v)) for v in r))


def commits(adapter: Any, name: str) -> int:
    _cols, rows = adapter.fetch(f"DESCRIBE HISTORY {spark_kit.table_name(adapter.target.schema, name)}")
    return len(rows)


START = "SELECT * FROM VALUES (1, 10, 'x', 'p'), (2, 20, 'y', 'q') AS t(id, a, b, day)"
NEW = "SELECT * FROM VALUES (2, 21, 'Y', 'q', 'c2'), (3, 30, 'z', 'p', 'c3') AS t(id, a, b, day, c)"


@pytest.mark.parametrize("strategy", ["append", "insert_overwrite", "merge", "delete+insert"])
def test_append_new_columns_is_one_commit(delta: Any, strategy: str) -> None:
    name = f"add_{strategy.replace('+', '_')}"
    r = Relation(delta.target.schema, name)
    opts = TableOptions(file_format="delta", partition_by=("day",))
    delta.replace_table(r, q(START), opts)
    before = commits(delta, name)
    keys = ["id"] if strategy in ("merge", "delete+insert") else []
    delta.incremental(r, q(NEW), strategy, keys, SchemaPolicy("append_new_columns"), opts)
    assert commits(delta, name) == before + 1  # the new column and the rows: one Delta commit
    expected = {
        "append": [(1, 10, "x", "p", None), (2, 20, "y", "q", None), (2, 21, "Y", "q", "c2"), (3, 30, "z", "p", "c3")],
        # the partitions in the new rows (p and q) are replaced
        "insert_overwrite": [(2, 21, "Y", "q", "c2"), (3, 30, "z", "p", "c3")],
        "merge": [(1, 10, "x", "p", None), (2, 21, "Y", "q", "c2"), (3, 30, "z", "p", "c3")],
        "delete+insert": [(1, 10, "x", "p", None), (2, 21, "Y", "q", "c2"), (3, 30, "z", "p", "c3")],
    }[strategy]
    assert table(delta, name) == (["id", "a", "b", "day", "c"], expected)


def test_append_new_columns_when_the_query_also_lost_one(delta: Any) -> None:
    """append_new_columns keeps a column the query no longer has (NULL in the new rows), as dbt does."""
    r = Relation(delta.target.schema, "lost")
    delta.replace_table(r, q("SELECT 1 AS id, 'x' AS b"))
    delta.incremental(r, q("SELECT 2 AS id, 'c' AS c"), "append", [], SchemaPolicy("append_new_columns"))
    assert table(delta, "lost") == (["id", "b", "c"], [(1, "x", None), (2, None, "c")])


def test_sync_all_columns_drops_and_retypes(delta: Any) -> None:
    """dbt's order: kept columns, new ones, retyped ones; old rows kept with the retyped column cast."""
    r = Relation(delta.target.schema, "sync")
    delta.replace_table(r, q("SELECT * FROM VALUES (1, 10, 'x'), (2, 20, 'y') AS t(id, a, b)"))
    delta.incremental(r, q("SELECT 2 AS id, '21' AS a, 'c2' AS c UNION ALL SELECT 3, '30', 'c3'"), "merge", ["id"],
                      SchemaPolicy("sync_all_columns"))
    cols, rows = table(delta, "sync")
    assert (cols, rows) == (["id", "c", "a"], [(1, None, "10"), (2, "c2", "21"), (3, "c3", "30")])
    assert dict(delta.column_types(r))["a"] == "string"
    # nothing changed since: no rewrite, the rows merged as usual
    delta.incremental(r, q("SELECT 3 AS id, '31' AS a, 'c3' AS c"), "merge", ["id"], SchemaPolicy("sync_all_columns"))
    assert table(delta, "sync")[1][-1] == (3, "c3", "31")


def test_fail_changes_nothing(delta: Any) -> None:
    r = Relation(delta.target.schema, "failing")
    delta.replace_table(r, q("SELECT 1 AS id, 10 AS a"))
    before = commits(delta, "failing")
    with pytest.raises(ProjectError, match=r"on_schema_change: fail.*new in the query: c"):
        delta.incremental(r, q("SELECT 2 AS id, 20 AS a, 'c' AS c"), "append", [], SchemaPolicy("fail"))
    assert commits(delta, "failing") == before
    assert table(delta, "failing") == (["id", "a"], [(1, 10)])


def test_snapshot_columns_are_added(delta: Any) -> None:
    r = Relation(delta.target.schema, "snap_like")
    delta.replace_table(r, q("SELECT 1 AS id"))
    with delta.reshaped(r, ColumnDiff(added=(("tier", "string"),)), [("id", "int")]) as into:
        assert into == r
    assert delta.column_types(r) == [("id", "int"), ("tier", "string")]


def test_parquet_names_the_format() -> None:
    schema = f"evp_{uuid.uuid4().hex[:8]}"
    parquet = spark_kit.adapter(spark_kit.local_settings(schema, "parquet"))
    try:
        parquet.ensure_schema(schema)
        r = Relation(schema, "pq")
        parquet.replace_table(r, q("SELECT 1 AS id"))
        with pytest.raises(ProjectError, match="on_schema_change: append_new_columns needs .*parquet table"):
            parquet.incremental(r, q("SELECT 2 AS id, 'c' AS c"), "append", [], SchemaPolicy("append_new_columns"))
        parquet.incremental(r, q("SELECT 2 AS id"), "append", [], SchemaPolicy("ignore"))  # ignore still works
        assert table(parquet, "pq") == (["id"], [(1,), (2,)])
    finally:
        parquet.close()


def test_a_far_future_timestamp_reads_into_pandas(delta: Any) -> None:
    """A snapshot's `dbt_valid_to_current` of 9999-12-31 is beyond pandas' nanoseconds: read all the same."""
    frame = delta.query_dataframe(q("SELECT 1 AS id, CAST('9999-12-31' AS TIMESTAMP) AS valid_to, "
                                    "CAST('2024-01-02 03:04:05' AS TIMESTAMP) AS t, CAST(NULL AS TIMESTAMP) AS n"))
    row = frame.to_dict("records")[0]
    assert (row["id"], str(row["valid_to"]), str(row["t"])) == (1, "9999-12-31 00:00:00", "2024-01-02 03:04:05")
    assert row["n"] is None or str(row["n"]) == "NaT"
