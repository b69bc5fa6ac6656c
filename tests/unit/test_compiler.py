"""The compiler's output: relation names in place, ephemeral parents inlined, SQL transpiled to the target."""

from __future__ import annotations

from pathlib import Path

import pytest

from pds_core.compiler import Compiler
from pds_core.errors import ProjectError
from pds_core.graph import build_graph
from pds_core.loader import load_project
from pds_core.parser import parse_project
from tests.projects import write_project

FILES = {
    "seeds/orders.csv": "id,amount,day\n1,10,2025-01-01\n",
    "models/eph.sql": "{{ config(materialized='ephemeral') }}\nselect id, amount from {{ ref('orders') }}",
    "models/big.sql": "select id from {{ ref('eph') }} where amount > 5",
    "models/days.sql": "select date_trunc('month', day) as month, count(*) as n from {{ ref('orders') }} group by 1",
}


def compiled(tmp_path: Path, target: str, files: dict[str, str] = FILES) -> dict[str, str]:
    manifest = parse_project(load_project(write_project(tmp_path / "p", files)))
    graph = build_graph(manifest)
    result = Compiler(manifest, graph, "duckdb", target).compile(list(manifest.nodes))
    return {uid.split(".")[-1]: c.sql for uid, c in result.items()}


def test_same_dialect_keeps_the_sql_as_written_with_relations_in_place(tmp_path: Path) -> None:
    out = compiled(tmp_path, "duckdb")
    assert out["days"] == "select date_trunc('month', day) as month, count(*) as n from main.orders group by 1"


def test_ephemeral_parents_become_ctes(tmp_path: Path) -> None:
    out = compiled(tmp_path, "duckdb")  # same dialect: the CTE holds the parent's SQL as written
    assert out["big"] == ("with __pds_ephemeral__eph as (\nselect id, amount from main.orders\n)\n"
                          "select id from __pds_ephemeral__eph where amount > 5")
    transpiled = compiled(tmp_path / "bq", "bigquery")
    assert transpiled["big"].startswith("WITH __pds_ephemeral__eph AS (")


def test_transpiled_to_the_target_dialect(tmp_path: Path) -> None:
    out = compiled(tmp_path, "bigquery")
    assert "TIMESTAMP_TRUNC(day, MONTH) AS month" in out["days"] and out["days"].startswith("SELECT\n")


def test_every_syntax_error_at_its_place(tmp_path: Path) -> None:
    files = {**FILES, "models/bad.sql": "select id,\nfrom {{ ref('orders') }} where"}
    with pytest.raises(ProjectError) as caught:
        compiled(tmp_path, "duckdb", files)
    assert "models/bad.sql:" in str(caught.value)
