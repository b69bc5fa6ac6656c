"""The results tables in the warehouse: what a run writes, that later runs only append, and versioning."""

from __future__ import annotations

import json

import duckdb

from pds_core.history import TABLES as HISTORY_TABLES
from tests.conftest import run_pds
from tests.quality_projects import query, write_project

SCHEMA = """
    models:
      - name: stg_orders
        columns:
          - name: order_id
            data_tests: [not_null]
          - name: status
            data_tests:
              - accepted_values: {values: ["completed", "returned", "it's fine"], severity: warn}
        metrics:
          - {name: total_amount, expression: sum(amount)}
"""
TABLES = ("pds_runs", "pds_node_results", "pds_test_results", "pds_metric_values")


def _snapshot(root):
    return {t: sorted(query(root, f"select * from pds_results.{t}"), key=repr) for t in TABLES}


def test_a_build_writes_every_table_and_later_runs_only_append(tmp_path):
    root = write_project(tmp_path, {"models/schema.yml": SCHEMA})
    assert run_pds("build", "--project-dir", str(root)).returncode == 0
    first = _snapshot(root)
    run_id = json.loads((root / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]
    [run] = first["pds_runs"]
    assert run[:6] == (run_id, "shop", "build", "dev", "duckdb", "success")
    assert run[10] == 1  # schema_version
    nodes = {r[1]: r for r in first["pds_node_results"]}
    assert nodes["model.shop.stg_orders"][4] == "success" and nodes["model.shop.stg_orders"][12] == "passed"
    assert nodes["seed.shop.raw_orders"][6] == 4  # rows_affected
    assert len(first["pds_test_results"]) == 2 and len(first["pds_metric_values"]) == 1

    second = run_pds("build", "--project-dir", str(root), "--vars", "{bad_rows: 1}")
    assert second.returncode == 1
    assert run_pds("test", "--project-dir", str(root)).returncode == 1
    after = _snapshot(root)
    for table in TABLES:  # every row of the first run is still there, unchanged
        assert set(first[table]) <= set(after[table]), table
    runs = query(root, "select command, status from pds_results.pds_runs order by started_at")
    assert runs == [("build", "success"), ("build", "error"), ("test", "error")]
    failed = query(root, "select r.command, t.status, t.failures, t.message from pds_results.pds_test_results t "
                         "join pds_results.pds_runs r using (run_id) where t.name = 'not_null_stg_orders_order_id' "
                         "order by t.executed_at")
    assert [(c, s, f) for c, s, f, _ in failed] == [("build", "pass", 0), ("build", "fail", 1), ("test", "fail", 1)]
    quality = query(root, "select quality_status from pds_results.pds_node_results "
                          "where unique_id = 'model.shop.stg_orders' order by started_at")
    assert [q for (q,) in quality] == ["passed", "failed"]
    skipped = query(root, "select count(*) from pds_results.pds_node_results where status = 'skipped'")[0][0]
    assert skipped == 3  # orders_enriched, order_summary, customer_scores in the second build


def test_values_travel_as_parameters(tmp_path):
    """A quote in data reaches the results tables intact (values are never pasted into SQL)."""
    root = write_project(tmp_path, {"models/schema.yml": SCHEMA,
                                    "seeds/raw_orders.csv": "order_id,customer_id,amount,status,ordered_at\n"
                                                            "1,1,10.0,\"it's; DROP TABLE x --\",2024-01-01\n"})
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 0, result.stdout
    [(status, message)] = query(root, "select status, message from pds_results.pds_test_results where test_name = "
                                      "'accepted_values'")
    assert status == "warn" and "it's; DROP TABLE x --" in message


def test_tables_are_versioned(tmp_path):
    root = write_project(tmp_path, {"models/schema.yml": SCHEMA})
    assert run_pds("seed", "--project-dir", str(root)).returncode == 0
    versions = query(root, "select table_name, version from pds_results.pds_schema_versions order by 1")
    assert versions == sorted((t, 1) for t in HISTORY_TABLES)  # every results table, at version 1
    con = duckdb.connect(str(root / "shop.duckdb"))  # make it look written by an older pds (version 0)
    con.execute("alter table pds_results.pds_runs drop column failed")
    con.execute("update pds_results.pds_schema_versions set version = 0")
    con.close()
    assert run_pds("seed", "--project-dir", str(root)).returncode == 0
    assert query(root, "select failed from pds_results.pds_runs order by started_at") == [(None,), (0,)]
    assert query(root, "select max(version) from pds_results.pds_schema_versions where table_name = 'pds_runs'") == [(1,)]
    con = duckdb.connect(str(root / "shop.duckdb"))
    con.execute("insert into pds_results.pds_schema_versions values ('pds_runs', 99, now())")  # from a newer pds
    con.close()
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 2
    assert "written by a newer pds (schema version 99; this pds writes 1)" in result.stderr


def test_results_schema_is_configurable_and_unwritable_is_a_clear_error(tmp_path):
    root = write_project(tmp_path, {"pds_project.yml": """
        name: shop
        profile: shop
        vars: {bad_rows: 0, scale: 1}
        results-schema: audit
    """})
    assert run_pds("seed", "--project-dir", str(root)).returncode == 0
    assert query(root, "select command from audit.pds_runs") == [("seed",)]
    con = duckdb.connect(str(root / "shop.duckdb"))
    con.execute("drop table audit.pds_node_results")
    con.execute("create view audit.pds_node_results as select 1 as x")  # not something pds can append to
    con.close()
    result = run_pds("seed", "--project-dir", str(root))
    assert result.returncode == 0  # the run itself went on; its history could not be written
    assert "could not append this run to the results tables in schema 'audit'" in result.stderr + result.stdout
