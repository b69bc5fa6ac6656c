"""A dbt project in the shape of the real ones builds with pds into the relations dbt-core 1.11 builds.

tests/dbt_jaffle.py holds the project (a local package written like dbt_utils, dispatch search
orders, a generate_schema_name override, run_query/statement, adapter.get_columns_in_relation,
graph, docs blocks, dbt's cross-database macros) and the rows dbt-core built from it. Where dbt is
installed, the test also builds the project with dbt and compares every relation directly.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import dbt_jaffle as jaffle
from tests import engine_postgres as pg
from tests.projects import pds

SEEDS = {"raw_customers", "raw_orders", "raw_payments"}


def check(relations: dict[str, tuple[str, list[tuple]]], engine: str, schema: str) -> None:
    """Every relation dbt builds, in dbt's schema (seeds in raw_<schema> by the project's override), same rows."""
    want = jaffle.expected(engine)
    assert sorted(relations) == sorted(want)
    for name, rows in want.items():
        where, got = relations[name]
        assert where == (f"raw_{schema}" if name in SEEDS else schema), name
        assert got == rows, name


def test_jaffle_builds_on_duckdb_as_dbt_builds_it(tmp_path: Path) -> None:
    root = jaffle.write(tmp_path / "jaffle", {"type": "duckdb", "path": "jaffle.duckdb", "schema": "main",
                                              "threads": 2})
    result = pds(root, "build")
    assert "18 ok" in result.stdout, result.stdout
    relations = jaffle.duckdb_relations(root / "jaffle.duckdb")
    check(relations, "duckdb", "main")
    # the pivot's columns came from the warehouse (get_column_values ran at the model's turn)
    orders = json.loads((root / "target" / "manifest.json").read_text())["nodes"]
    assert any(n.get("name") == "orders" for n in orders.values())
    if jaffle.dbt_executable():  # and dbt, from the same files, built exactly the same relations
        theirs = jaffle.write(tmp_path / "dbt", {"type": "duckdb", "path": "jaffle.duckdb", "schema": "main",
                                                 "threads": 1})
        built = jaffle.dbt_build(theirs)
        assert built.returncode == 0, built.stdout[-3000:]
        assert jaffle.duckdb_relations(theirs / "jaffle.duckdb") == relations


@pytest.fixture
def pg_schema() -> Iterator[str]:
    name = f"jaffle_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        pg.drop_schema(name)
        pg.drop_schema(f"raw_{name}")


@pytest.mark.postgres
@pytest.mark.skipif(pg.unavailable() is not None, reason=str(pg.unavailable()))
def test_jaffle_builds_on_postgres_as_dbt_builds_it(tmp_path: Path, pg_schema: str) -> None:
    profile = {"type": "postgres", "host": pg.HOST, "port": pg.PORT, "user": pg.user(), "password": "",
               "dbname": pg.DBNAME, "schema": pg_schema, "threads": 2}
    root = jaffle.write(tmp_path / "jaffle", profile)
    result = pds(root, "build")
    assert "18 ok" in result.stdout, result.stdout
    relations = jaffle.postgres_relations(pg.connect, [pg_schema, f"raw_{pg_schema}"])
    check(relations, "postgres", pg_schema)
    # sent as written: `amount / 100` stays Postgres's integer division (never transpiled to a float one)
    assert [row[3] for row in relations["stg_payments"][1]] == [10, 20, 1, 25, 17, 6, 16, 3]
    assert all(isinstance(row[3], int) for row in relations["stg_payments"][1])
    if jaffle.dbt_executable():
        theirs_schema = f"{pg_schema}_dbt"
        try:
            theirs = jaffle.write(tmp_path / "dbt", {**profile, "schema": theirs_schema})
            built = jaffle.dbt_build(theirs)
            assert built.returncode == 0, built.stdout[-3000:]
            dbt_relations = jaffle.postgres_relations(pg.connect, [theirs_schema, f"raw_{theirs_schema}"])
            assert {k: v[1] for k, v in dbt_relations.items()} == {k: v[1] for k, v in relations.items()}
        finally:
            pg.drop_schema(theirs_schema)
            pg.drop_schema(f"raw_{theirs_schema}")


def test_compile_without_a_warehouse_renders_all_but_the_introspecting_models(tmp_path: Path) -> None:
    root = jaffle.write(tmp_path / "jaffle", {"type": "duckdb", "path": "jaffle.duckdb", "schema": "main"})
    result = pds(root, "compile")
    assert not (root / "jaffle.duckdb").exists()  # the warehouse was never touched
    deferred = {"orders", "customers", "order_days", "payment_summary"}  # they ask the warehouse
    for name in deferred:
        assert f"models/marts/{name}.sql: rendered again at run time, connected" in result.stdout + result.stderr
    compiled = root / "target" / "compiled" / "jaffle" / "models"
    staging = (compiled / "marts" / "staging_models.sql").read_text()
    assert "'base_orders,stg_customers,stg_orders,stg_payments'" in staging  # graph, once every node is parsed
    stg_orders = (compiled / "staging" / "stg_orders.sql").read_text()
    assert "md5(cast(coalesce(cast(id as TEXT), '~')" in stg_orders  # the project's var, seen by the package
    assert "with __pds_ephemeral__base_orders as (\nselect id, user_id" in stg_orders  # the CTE as written
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    orders = next(n for n in manifest["nodes"].values() if n.get("name") == "orders")
    assert orders["columns"]["status"]["description"] == "One of placed, shipped, completed, return_pending or returned."


def test_a_second_build_reuses_the_parse_and_rebuilds_the_same(tmp_path: Path) -> None:
    root = jaffle.write(tmp_path / "jaffle", {"type": "duckdb", "path": "jaffle.duckdb", "schema": "main"})
    pds(root, "build")
    second = pds(root, "build")  # the parse cache holds the renders; the introspecting models render again
    assert "18 ok" in second.stdout, second.stdout
    check(jaffle.duckdb_relations(root / "jaffle.duckdb"), "duckdb", "main")
    shutil.rmtree(root / "target")
