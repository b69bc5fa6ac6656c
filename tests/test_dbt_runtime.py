"""dbt's runtime features on DuckDB and Postgres (and Snowflake and BigQuery through their stand-ins): dbt
Python models (`def model(dbt, session)`, incremental ones with dbt.is_incremental and dbt.this) and unit
tests with dbt's semantics, run by `pds build` before their model. The tables checked here are the ones
dbt-duckdb builds from the same project (tests/dbt_runtime_project.py)."""

from __future__ import annotations

import importlib
import json
import uuid
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests import engine_postgres
from tests.conftest import engine_params, run_pds
from tests.dbt_runtime_project import CRM_CUSTOMERS, write_project

UNIT_TESTS = {"missing_columns_are_null_of_their_type", "csv_rows_and_a_fixture_file", "sql_rows",
              "overrides_of_vars_and_env_vars", "incremental_branch_reads_this", "python_model_scores"}
NEW_ORDER = "5,2,7.75,completed,2024-01-05 09:00:00\n"
ALL_ORDERS = [(1, 1, 10.5, "2024-01-01 10:00:00"), (2, 1, 20.0, "2024-01-02 11:00:00"),
              (3, 2, 5.25, "2024-01-03 12:00:00"), (4, 3, 40.0, "2024-01-04 13:00:00"),
              (5, 2, 7.75, "2024-01-05 09:00:00")]


def _results(root: Path) -> dict[str, dict]:
    return {r["name"]: r for r in json.loads((root / "target/run_results.json").read_text())["results"]}


def _build_twice(root: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    first = run_pds("build", "--project-dir", str(root))
    assert first.returncode == 0, first.stdout + first.stderr
    before = _results(root)
    with open(root / "seeds/raw_orders.csv", "a") as fh:
        fh.write(NEW_ORDER)
    second = run_pds("build", "--project-dir", str(root))
    assert second.returncode == 0, second.stdout + second.stderr
    return before, _results(root)


def _check_tables(query) -> None:
    """The tables dbt-duckdb builds from the same project, after the same two builds."""
    rows = query("select customer_id, name, order_count, completed_total, region, bonus from customer_orders "
                  "order by customer_id")
    assert [(int(a), b, int(c), float(d), e, int(f)) for a, b, c, d, e, f in rows] == [
        (1, "Ann", 2, 30.5, "eu", 0), (2, "Bob", 2, 7.75, "eu", 0), (3, "Cy", 1, 40.0, "eu", 0)]
    scores = query("select customer_id, score, tier from customer_scores order by customer_id")
    assert [(int(a), round(float(b), 4), c) for a, b, c in scores] == [
        (1, 0.305, "table"), (2, 0.0775, "table"), (3, 0.4, "table")]
    for table in ("orders_incremental", "orders_py_incremental"):  # the second build added order 5 only
        got = query(f"select order_id, customer_id, amount, ordered_at from {table} order by order_id")
        assert [(int(a), int(b), float(c), str(d)) for a, b, c, d in got] == ALL_ORDERS, table


def test_dbt_python_models_and_unit_tests_on_duckdb(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"type": "duckdb", "path": "shop.duckdb", "schema": "main", "threads": 4},
                         duckdb_models=True)
    with duckdb.connect(str(root / "shop.duckdb")) as con:
        con.execute(CRM_CUSTOMERS)
    first, second = _build_twice(root)
    for results in (first, second):
        units = {n: r for n, r in results.items() if r["resource_type"] == "unit_test"}
        assert set(units) == UNIT_TESTS and all(r["status"] == "success" for r in units.values()), units
    # in a build, the parents are built before the unit test: their types come from the warehouse
    assert second["missing_columns_are_null_of_their_type"]["extra"]["input_types"] == {
        "ref('raw_customers')": "warehouse", "ref('stg_orders')": "warehouse"}
    assert second["orders_incremental"]["message"].startswith("merge into")
    assert second["orders_py_incremental"]["message"].startswith("merge into")
    with duckdb.connect(str(root / "shop.duckdb"), read_only=True) as con:
        _check_tables(lambda sql: con.execute(sql).fetchall())
        assert con.execute("select * from order_days order by order_day").fetchall()[:2] == [
            (__import__("datetime").date(2024, 1, 1), 1, 10.5), (__import__("datetime").date(2024, 1, 2), 1, 20.0)]
        assert con.execute("select order_id, amount from big_orders order by 1").fetchall() == [(2, 20.0), (4, 40.0)]
        assert con.execute("select * from customer_names order by 1").fetchall() == [(1, "ANN"), (2, "BOB")]


def test_unit_tests_run_offline_with_inferred_types(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"type": "duckdb", "path": "shop.duckdb", "schema": "main"})
    done = run_pds("test", "--unit", "--project-dir", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (root / "shop.duckdb").exists()  # never connected
    results = _results(root)
    assert set(results) == UNIT_TESTS
    # nothing built: seeds typed from their CSV, models from their SQL run on empty typed inputs
    assert results["missing_columns_are_null_of_their_type"]["extra"]["input_types"] == {
        "ref('raw_customers')": "seed", "ref('stg_orders')": "inferred"}


FAILING = """
    unit_tests:
      - name: stg_orders_keeps_amounts
        model: stg_orders
        given:
          - input: ref('raw_orders')
            rows: [{order_id: 1, amount: 2.5, ordered_at: "2024-01-01 00:00:00"}]
        expect:
          rows: [{order_id: 1, amount: 9.99}]
"""


def test_a_failing_unit_test_holds_back_its_model_and_children(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"type": "duckdb", "path": "shop.duckdb", "schema": "main"},
                         extra={"models/more_unit_tests.yml": FAILING})
    done = run_pds("build", "--project-dir", str(root))
    assert done.returncode == 1
    results = _results(root)
    assert results["stg_orders_keeps_amounts"]["status"] == "fail"
    assert "expected but missing: order_id=1, amount=9.99" in results["stg_orders_keeps_amounts"]["message"]
    for held in ("stg_orders", "customer_orders", "orders_incremental", "customer_scores"):
        assert results[held]["status"] == "skipped", held
    assert results["raw_orders"]["status"] == "success"
    with duckdb.connect(str(root / "shop.duckdb"), read_only=True) as con:
        tables = {t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()}
        recorded = con.execute("select test_type, status from main_results.pds_test_results "
                               "where name = 'stg_orders_keeps_amounts'").fetchall()
    assert "raw_orders" in tables and "stg_orders" not in tables
    assert recorded == [("unit", "fail")]  # in the results history, beside the data tests


def test_unit_tests_are_selected_by_name_and_test_type(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"type": "duckdb", "path": "shop.duckdb", "schema": "main"})
    done = run_pds("build", "-s", "sql_rows", "--project-dir", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_results(root)) == {"sql_rows"}
    done = run_pds("build", "-s", "test_type:unit", "--exclude", "python_model_scores", "--project-dir", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_results(root)) == UNIT_TESTS - {"python_model_scores"}
    done = run_pds("build", "-s", "customer_scores", "--project-dir", str(root))  # a model brings its unit tests
    assert {n: r["resource_type"] for n, r in _results(root).items()} == {
        "python_model_scores": "unit_test", "customer_scores": "model"}


def test_a_fixture_column_the_relation_lacks_is_refused(tmp_path: Path) -> None:
    bad = FAILING.replace("amount: 2.5,", "amount: 2.5, colour: red,")
    root = write_project(tmp_path, {"type": "duckdb", "path": "shop.duckdb", "schema": "main"},
                         extra={"models/more_unit_tests.yml": bad})
    done = run_pds("test", "--unit", "-s", "stg_orders_keeps_amounts", "--project-dir", str(root))
    assert done.returncode == 1, done.stdout + done.stderr  # the unit test errors, as in dbt
    assert _results(root)["stg_orders_keeps_amounts"]["status"] == "error"
    assert "invalid column name 'colour' in the fixture for ref('raw_orders')" in done.stdout
    assert "accepted columns (seed): order_id, customer_id, amount, status, ordered_at" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.postgres
def test_dbt_python_models_and_unit_tests_on_postgres(tmp_path: Path) -> None:
    reason = engine_postgres.unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"pds_dbt_runtime_{uuid.uuid4().hex[:6]}"  # its own: other runs on the same server leave it alone
    with engine_postgres.target(schema) as target, engine_postgres.target(f"{schema}_results"):
        root = write_project(tmp_path, target)
        first, second = _build_twice(root)
        units = {n: r for n, r in second.items() if r["resource_type"] == "unit_test"}
        assert set(units) == UNIT_TESTS and all(r["status"] == "success" for r in units.values()), units
        assert units["missing_columns_are_null_of_their_type"]["extra"]["input_types"] == {
            "ref('raw_customers')": "warehouse", "ref('stg_orders')": "warehouse"}
        with engine_postgres.connect() as conn:
            conn.execute(f"set search_path to {schema}")
            _check_tables(lambda sql: conn.execute(sql).fetchall())


@pytest.mark.slow
@pytest.mark.parametrize("engine_name", engine_params(["snowflake", "bigquery"]))
def test_dbt_python_models_and_unit_tests_on_the_stand_ins(engine_name: str, tmp_path: Path) -> None:
    """Snowflake and BigQuery (their stand-ins): ref() gives pandas and `session.sql()` reads the
    warehouse into pandas; the same tables as on DuckDB, the unit tests typed from the warehouse."""
    engine = importlib.import_module(f"tests.engine_{engine_name}")
    reason = engine.unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"pds_dbt_runtime_{uuid.uuid4().hex[:6]}"
    with engine.target(schema) as target:
        root = write_project(tmp_path, target)
        _first, second = _build_twice(root)
        units = {n: r for n, r in second.items() if r["resource_type"] == "unit_test"}
        assert set(units) == UNIT_TESTS and all(r["status"] == "success" for r in units.values()), units
        assert units["missing_columns_are_null_of_their_type"]["extra"]["input_types"] == {
            "ref('raw_customers')": "warehouse", "ref('stg_orders')": "warehouse"}

        def query(sql: str) -> list[tuple]:  # "select COLUMNS from TABLE order by ..." read with the engine's driver
            columns, table = sql.removeprefix("select ").split(" from ")[0], sql.split(" from ")[1].split()[0]
            frame = engine.read_table(target, schema, table)[[c.strip() for c in columns.split(",")]]
            return sorted(tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False))

        _check_tables(query)


MORE = {
    "macros/label.sql": "{% macro label(column) %}upper({{ column }}){% endmacro %}",
    "models/labelled.sql": "select customer_id, {{ label('name') }} as label from {{ ref('raw_customers') }}",
    "models/py_packages.py": '''
        def model(dbt, session):
            dbt.config(materialized="table", packages=["numpy"])
            orders = dbt.ref("stg_orders")
            frame = orders.df() if hasattr(orders, "df") else orders
            return frame[["order_id"]].sort_values("order_id")
    ''',
    "models/more_unit_tests.yml": """
        unit_tests:
          - name: a_macro_overridden
            model: labelled
            overrides:
              macros: {label: "'someone'"}
            given:
              - input: ref('raw_customers')
                rows: [{customer_id: 1, name: Ann}]
            expect:
              rows: [{customer_id: 1, label: someone}]
    """,
}


def test_macro_overrides_and_packages(tmp_path: Path) -> None:
    """A project macro replaced by a unit test's `overrides: macros:` (dbt-duckdb passes the same test);
    `dbt.config(packages=...)` warns, naming the file, and the model runs."""
    root = write_project(tmp_path, {"type": "duckdb", "path": "shop.duckdb", "schema": "main"}, extra=MORE)
    done = run_pds("build", "-s", "+labelled", "+py_packages", "--project-dir", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _results(root)["a_macro_overridden"]["status"] == "success"
    assert "models/py_packages.py" in done.stdout + done.stderr and "'packages'" in done.stdout + done.stderr
    with duckdb.connect(str(root / "shop.duckdb"), read_only=True) as con:
        assert con.execute("select * from labelled order by 1").fetchall() == [(1, "ANN"), (2, "BOB"), (3, "CY")]
        assert con.execute("select order_id from py_packages order by 1").fetchall() == [(1,), (2,), (3,), (4,)]
