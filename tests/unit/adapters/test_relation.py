"""One name per relation: the adapters' DDL and the compiler's ref() get it from the same function."""

from __future__ import annotations

import pytest

from pds_adapters import get_adapter
from pds_adapters.relation import Relation, identifier, render_relation
from pds_adapters.target import Target
from tests.unit.adapters.recording import SETTINGS


def adapter_for(engine: str, **settings: object) -> object:
    return get_adapter(Target("t", engine, {**SETTINGS[engine], **settings}))


def test_plain_lower_case_names_are_unquoted_others_quoted() -> None:
    assert [identifier(n, "snowflake").quoted for n in ("churn_scores", "Churn", "with space", "select")] == \
        [False, True, True, True]
    assert render_relation(Relation("an", "Daily Revenue", "wh"), "postgres").sql("postgres") == \
        'wh.an."Daily Revenue"'


def test_a_sources_quoting_forces_quotes_per_part() -> None:
    table = render_relation(Relation("raw", "orders", "lake"), "snowflake", {"identifier": True, "schema": False})
    assert table.sql("snowflake") == 'lake.raw."orders"'
    assert Relation("raw", "orders").table("duckdb", True).sql("duckdb") == '"raw"."orders"'


@pytest.mark.parametrize(("engine", "settings", "name"), [
    ("duckdb", {"path": "/p/pds.duckdb"}, "pds.pds.pds_runs"),  # catalog pds, schema pds: not ambiguous
    ("duckdb", {"path": "/p/shop.v2.duckdb"}, "shop.pds.pds_runs"),  # DuckDB's catalog: up to the first dot
    ("duckdb", {"path": ":memory:"}, "memory.pds.pds_runs"),
    ("duckdb", {"path": "/p/x.duckdb", "database": "other"}, "other.pds.pds_runs"),
    ("postgres", {}, "pds.pds_runs"),
    ("snowflake", {}, "wh.pds.pds_runs"),
    ("bigquery", {}, "proj.pds.pds_runs"),
])
def test_each_engine_qualifies_relations_the_same_way_in_ddl_and_queries(engine: str, settings: dict, name: str) -> None:
    adapter = adapter_for(engine, **settings)
    relation = Relation("pds", "pds_runs")
    assert adapter.relation_sql(relation) == adapter.table(relation).sql(adapter.dialect)
    assert adapter.table(relation).sql(adapter.dialect).replace("`", "") == name
    # the compiler renders in the project's dialect: the same parts, quoted by the same policy
    assert adapter.relation_sql(relation, dialect="duckdb") == name


def test_a_relation_with_its_own_database_keeps_it() -> None:
    adapter = adapter_for("snowflake")
    assert adapter.relation_sql(Relation("raw", "orders", "lake")) == "lake.raw.orders"


def test_the_duckdb_catalog_is_the_one_duckdb_names(tmp_path: object) -> None:
    import duckdb

    for name in ("pds.duckdb", "shop.v2.duckdb", "Mixed-Case.db"):
        path = f"{tmp_path}/{name}"
        con = duckdb.connect(path)
        try:
            actual = con.execute("SELECT current_database()").fetchone()[0]
        finally:
            con.close()
        assert adapter_for("duckdb", path=path).default_database() == actual
