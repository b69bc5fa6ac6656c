"""Contracts: a mismatch between declared and returned columns fails the node and leaves the old table as it was."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.compile_project import write_project
from tests.conftest import run_pds

SEED = "id,name,amount_cents\n1,Ann,100\n2,Bob,250\n3,Cid,75\n"

TOTALS = """\
  - name: totals
    config:
      contract: enforced
    columns:
      - name: total
        data_type: double
"""


def schema_with(columns: dict[str, str]) -> str:
    """Schema YAML with an enforced contract on customers (these columns) and on totals."""
    declared = "".join(f"      - name: {name}\n        data_type: {kind}\n" for name, kind in columns.items())
    return ("version: 2\nmodels:\n  - name: customers\n    config:\n      contract: {enforced: true}\n"
            "    columns:\n" + declared + TOTALS)


GOOD_SCHEMA = schema_with({"customer_id": "integer", "name": "text", "amount": "decimal(18,2)"})
BROKEN_SCHEMA = schema_with({"customer_id": "bigint", "amount": "decimal(18,2)", "segment": "varchar"})


def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj", {
        "seeds/raw_customers.csv": SEED,
        "models/schema.yml": GOOD_SCHEMA,
        "models/customers.sql": """
            {{ config(materialized='table') }}
            select id as customer_id, name, cast(amount_cents / 100 as decimal(18, 2)) as amount
            from {{ ref('raw_customers') }}
            """,
        "models/totals.sql": """
            {{ config(materialized='incremental', unique_key='total') }}
            select cast(sum(amount) as double) as total from {{ ref('customers') }}
            """,
    })


def read(proj: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(proj / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_contract_met_then_broken_keeps_the_old_table(tmp_path):
    proj = project(tmp_path)
    result = run_pds("build", "--project-dir", str(proj))
    assert result.returncode == 0, result.stdout + result.stderr
    before = read(proj, "select * from main.customers order by customer_id")
    assert before == [(1, "Ann", 1), (2, "Bob", 2.5), (3, "Cid", 0.75)]

    (proj / "models/schema.yml").write_text(BROKEN_SCHEMA)
    (proj / "models/customers.sql").write_text(  # the new query would drop a row: it must not land
        "{{ config(materialized='table') }}\n"
        "select id as customer_id, name, cast(amount_cents / 100 as decimal(18, 2)) as amount\n"
        "from {{ ref('raw_customers') }} where id > 1\n")
    result = run_pds("build", "--project-dir", str(proj))
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("models/schema.yml:3: the contract of customers is not met, so main.customers was left as it was:\n"
            "    missing columns (declared, not returned by the query): segment (varchar)\n"
            "    extra columns (returned by the query, not declared): name (VARCHAR)\n"
            "    column customer_id is declared bigint, but the query returns INTEGER") in result.stdout
    assert "SKIP  totals" in result.stdout
    assert read(proj, "select * from main.customers order by customer_id") == before
    leftovers = read(proj, "select table_name from information_schema.tables where table_name like '%pds_contract%'")
    assert leftovers == []


def test_incremental_contract_checked_before_merge(tmp_path):
    proj = project(tmp_path)
    assert run_pds("build", "--project-dir", str(proj)).returncode == 0
    assert read(proj, "select total from main.totals") == [(4.25,)]
    (proj / "models/totals.sql").write_text(
        "{{ config(materialized='incremental', unique_key='total') }}\n"
        "select cast(sum(amount) as integer) as total from {{ ref('customers') }}\n")
    result = run_pds("build", "--project-dir", str(proj), "--select", "totals")
    assert result.returncode == 1
    assert "column total is declared double, but the query returns INTEGER" in result.stdout
    assert read(proj, "select total from main.totals") == [(4.25,)]


def test_bad_contract_declarations_are_compile_errors(tmp_path):
    proj = project(tmp_path)
    (proj / "models/schema.yml").write_text(GOOD_SCHEMA.replace("        data_type: double\n", ""))
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 2
    assert "models/schema.yml:17: column 'total' of totals needs a data_type: its contract is enforced" \
        in result.stderr
    (proj / "models/py_model.py").write_text("import pandas as pd\n\n\ndef model(ctx):\n"
                                             "    return pd.DataFrame({'a': [1]})\n")
    (proj / "models/schema.yml").write_text(GOOD_SCHEMA + "  - name: py_model\n    config:\n"
                                            "      contract: {enforced: true}\n    columns:\n"
                                            "      - name: a\n        data_type: bigint\n")
    result = run_pds("compile", "--project-dir", str(proj))
    assert result.returncode == 2
    assert "py_model is a Python model; contracts are enforced on SQL tables, incremental models and views" \
        in result.stderr
