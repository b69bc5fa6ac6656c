"""docs/warehouse-config.md's example project runs as written: every code block captioned with a file path is
written to a folder, built with the real CLI, and what the page says it leaves is checked in the database,
the files and the docs site."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from tests.conftest import ROOT
from tests.projects import pds, query, write_project

DOC = ROOT / "docs" / "warehouse-config.md"
CAPTIONED = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```", re.M | re.S)


@pytest.mark.slow
def test_the_example_project_builds_as_the_page_says(tmp_path):
    files = dict(CAPTIONED.findall(DOC.read_text(encoding="utf-8")))
    assert {"profiles.yml", "pds_project.yml", "models/orders_export.sql", "lake/orders.csv"} <= set(files)
    project = write_project(tmp_path / "shop", files)
    result = pds(project, "build")
    assert "Completed successfully" in result.stdout, result.stdout + result.stderr
    assert result.stderr.count("grants are set but duckdb has no grants: they are not applied") == 1

    assert query(project, 'select id, "Full Name", zip from customers order by id') == [
        (1, "Ann Smith", "01234"), (2, "Bob Jones", "98765")]
    assert query(project, "select data_type from duckdb_columns() where table_name = 'customers' "
                          "order by column_index") == [("INTEGER",), ("VARCHAR",), ("VARCHAR",)]
    assert query(project, "select * from dim_customers order by 1") == [(1, "Ann Smith"), (2, "Bob Jones")]
    assert set(query(project, "select constraint_type, constraint_text from duckdb_constraints() "
                              "where table_name = 'dim_customers'")) == {
        ("CHECK", "CHECK((customer_id > 0))"), ("NOT NULL", "NOT NULL"), ("PRIMARY KEY", "PRIMARY KEY(customer_id)"),
        ("UNIQUE", "UNIQUE(full_name)")}
    assert dict(query(project, "select table_name, comment from duckdb_tables() where schema_name = 'main'")) == {
        "customers": "Customers, exported from the CRM", "dim_customers": "One row per customer"}
    assert query(project, "select comment from duckdb_columns() where table_name = 'dim_customers' "
                          "order by column_index") == [("The CRM id",), ("",)]
    assert query(project, "select comment from duckdb_views() where view_name = 'orders_export'") == [
        ("Orders, written to Parquet for the data lake",)]

    out = project / "out" / "orders_export"
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet")) == [
        "customer_id=1/data_0.parquet", "customer_id=2/data_0.parquet"]
    with duckdb.connect() as con:
        assert con.execute(f"select order_id, amount from read_parquet('{out}/customer_id=1/*.parquet') "
                           "order by 1").fetchall() == [(10, 25.0), (12, 7.25)]
    assert query(project, "select order_id, customer_id from orders_export order by 1") == [(10, 1), (11, 2), (12, 1)]

    pds(project, "docs", "generate")
    text = (project / "target/docs/data.js").read_text(encoding="utf-8")
    site = json.loads(text[len("window.PDS_DOCS = "):].rstrip().rstrip(";"))
    names = {n["name"] for n in site["nodes"].values()}
    assert "dim_customers" in names and "orders_export" not in names
