"""DuckDB SQL transpiled to Spark: each rewrite of pds_core/transpile_checks.py gives DuckDB's result on
Spark (both engines run the same query over the same rows), and each construct no rule can rewrite is
a compile-time error at its file:line with a rewrite that the other cases prove equal on both engines.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest
import sqlglot

from pds_core import transpile_checks
from pds_core.errors import ProjectError, ProjectErrors
from tests import spark_kit

ROWS = """WITH t AS (SELECT * FROM (VALUES
    (1, DATE '2024-03-03', TIMESTAMP '2024-01-31 10:30:00', 5, 2, CAST(1.25 AS DECIMAL(10, 2)), [10, 20, 30], 'a', 3),
    (2, DATE '2024-01-31', TIMESTAMP '2024-02-29 23:00:00', 7, 0, CAST(2.50 AS DECIMAL(10, 2)), [40], 'a', NULL),
    (3, DATE '2024-02-29', TIMESTAMP '2023-12-31 00:00:00', NULL, 4, CAST(4.00 AS DECIMAL(10, 2)), [], 'b', 1),
    (4, DATE '2024-12-30', TIMESTAMP '2024-06-15 12:00:00', -3, 0, CAST(8.75 AS DECIMAL(10, 2)), [1, NULL], 'b', 2),
    (5, DATE '2024-07-06', TIMESTAMP '2024-07-06 06:06:06', 0, 0, CAST(0.10 AS DECIMAL(10, 2)), [7, 8], 'c', 2)
) AS v(id, d, ts, x, y, dec, l, grp, k))
"""

SAME = {  # a DuckDB query -> what it shows (the result must be the same on Spark)
    "weekdays": "SELECT id, dayofweek(d), isodow(d), extract(dow FROM d), extract(isodow FROM ts), date_part('dow', d) FROM t",
    "names": "SELECT id, dayname(d), monthname(d), monthname(ts) FROM t",
    "intervals": "SELECT id, d + INTERVAL 1 MONTH, d - INTERVAL '3 days', ts + INTERVAL 1 MONTH, d + INTERVAL (id) DAY,"
                 " ts - INTERVAL (id) HOUR, d + INTERVAL (id) MONTH FROM t",
    "division": "SELECT id, x / y, dec / 2, dec / y, id / 2, x / NULLIF(y, 0) FROM t",
    "lists": "SELECT grp, list(x), list(x ORDER BY id DESC), array_agg(k ORDER BY k), array_agg(k ORDER BY k DESC NULLS "
             "FIRST, id), list(id ORDER BY k, id) FILTER (WHERE id > 1) FROM t GROUP BY grp",
    "empty_list": "SELECT list(x) FILTER (WHERE id > 99), count(*) FROM t",
    "list_window": "SELECT id, list(id) OVER (PARTITION BY grp ORDER BY id) FROM t",
    "lengths": "SELECT id, len([1, 2, 3]), len(list(x) OVER (PARTITION BY grp)), len(grp) FROM t",
    "indexes": "SELECT id, l[1], l[-1], l[2], l[-2], l[5], l[k], l[2:3], l[1:1] FROM t",
    "quantiles": "SELECT grp, median(x::double), quantile_cont(x::double, 0.25), percentile_cont(0.75) WITHIN GROUP "
                 "(ORDER BY id::double), percentile_cont(0.75) WITHIN GROUP (ORDER BY id::double DESC), "
                 "median(dec::double) FROM t GROUP BY grp",
}

ERRORS = {  # a DuckDB query -> what the error says and the line it names (the construct's)
    "SELECT id,\n  median(dec) FROM t": ("median(x) of a DECIMAL", 2),
    "SELECT id,\n  quantile_cont(x, 0.5) FROM t": ("quantile_cont(x, q) of a DECIMAL", 2),
    "SELECT * REPLACE (x + 1 AS x)\n FROM t": ("SELECT * REPLACE", 1),
    "SELECT id FROM t\nUNION BY NAME SELECT id FROM t": ("UNION BY NAME", 2),
    "SELECT * FROM (\nPIVOT t ON grp USING sum(x))": ("short PIVOT", 2),
    "SELECT id,\n  l[0] FROM t": ("list index 0", 2),
    "SELECT l[id:2] FROM t": ("list slice", 1),
}


@pytest.fixture(scope="module")
def spark() -> Any:
    reason = spark_kit.unavailable()
    if reason:
        pytest.skip(reason)
    adapter = spark_kit.adapter(spark_kit.local_settings("transpile", "parquet"))
    yield adapter.session()
    adapter.close()


def to_spark(sql: str) -> str:
    node = SimpleNamespace(raw_code=sql, path="models/m.sql")
    tree = transpile_checks.check(sqlglot.parse_one(sql, read="duckdb"), node, sql, "duckdb", "spark")
    return tree.sql(dialect="spark")


def canonical(value: Any) -> Any:
    """One representation per value, whatever the engine returned."""
    if isinstance(value, list | tuple):
        return tuple(canonical(v) for v in value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal | int | float) and not isinstance(value, bool):
        number = float(value)
        return "nan" if math.isnan(number) else round(number, 9)
    if isinstance(value, dt.datetime):
        return ("timestamp", value.isoformat())
    if isinstance(value, dt.date):
        return ("date", value.isoformat())
    return value


@pytest.mark.spark
@pytest.mark.parametrize("case", sorted(SAME))
def test_rewrites_give_duckdbs_result_on_spark(spark: Any, case: str) -> None:
    sql = ROWS + SAME[case]
    want = sorted((canonical(tuple(r)) for r in duckdb.sql(sql).fetchall()), key=repr)
    got = sorted((canonical(tuple(r)) for r in spark.sql(to_spark(sql)).collect()), key=repr)
    assert got == want, f"{case}: Spark SQL was\n{to_spark(sql)}"


@pytest.mark.parametrize("sql", sorted(ERRORS))
def test_constructs_without_a_sure_rewrite_are_errors_at_their_line(sql: str) -> None:
    with pytest.raises((ProjectError, ProjectErrors)) as caught:
        to_spark(sql)
    error = caught.value.errors[0] if isinstance(caught.value, ProjectErrors) else caught.value
    message, line = ERRORS[sql]
    assert message in error.message and error.hint
    assert (str(error.location.path), error.location.line) == ("models/m.sql", line), error


def test_other_dialect_pairs_are_left_alone() -> None:
    node = SimpleNamespace(raw_code="", path="m.sql")
    tree = sqlglot.parse_one("SELECT dayofweek(d) FROM t", read="duckdb")
    assert transpile_checks.check(tree, node, "", "duckdb", "postgres") is tree
