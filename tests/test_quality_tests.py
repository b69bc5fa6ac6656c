"""Generic and singular tests on real DuckDB projects through the real CLI: each test type, both
severities, thresholds, where:, the downstream skip, `pds test` and --store-failures."""

from __future__ import annotations

import json

from tests.conftest import run_pds
from tests.quality_projects import lines_with, query, write_project

SCHEMA = """
    models:
      - name: stg_orders
        data_tests:
          - row_count: {min: 1, max: 100}
          - unique_combination: {combination_of_columns: [order_id, customer_id]}
        columns:
          - name: order_id
            data_tests: [not_null, unique]
          - name: status
            data_tests:
              - accepted_values: {values: [completed, returned], severity: warn}
          - name: customer_id
            data_tests:
              - relationships: {to: ref('raw_customers'), field: customer_id}
          - name: amount
            data_tests:
              - expression_is_true: {expression: ">= 0", config: {severity: error, warn_if: ">= 1", error_if: "> 1"}}
              - is_positive: {where: "status != 'lost'"}
"""
GENERIC = """
    {% test is_positive(model, column_name) %}
    select * from {{ model }} where {{ column_name }} <= 0
    {% endtest %}
"""
SINGULAR = """
    {{ config(severity='warn') }}
    -- orders above a limit: a warning, never a blocker
    select * from {{ ref('orders_enriched') }} where amount > {{ var('big', 1000) }}
"""


def _project(tmp_path):
    return write_project(tmp_path, {"models/schema.yml": SCHEMA, "tests/generic/positive.sql": GENERIC,
                                    "tests/no_big_orders.sql": SINGULAR})


def test_every_test_type_passes_and_runs_right_after_its_model(tmp_path):
    root = _project(tmp_path)
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for name in ("not_null_stg_orders_order_id", "unique_stg_orders_order_id", "row_count_stg_orders_100__1",
                 "accepted_values_stg_orders_status__completed__returned", "is_positive_stg_orders_amount",
                 "unique_combination_stg_orders_order_id__customer_id", "expression_is_true_stg_orders_amount___0",
                 "no_big_orders"):
        assert lines_with(out, "OK", f"test {name} passed"), (name, out)
    assert len(lines_with(out, "OK", "test relationships_stg_orders_customer_id")) == 1
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]  # completion order
    done = [r["unique_id"] for r in results]
    # error-severity tests of stg_orders hold back its children: all finish before orders_enriched starts
    blocking = [r["unique_id"] for r in results if r["resource_type"] == "test"
                and r["extra"]["attached_to"] == "model.shop.stg_orders" and r["extra"]["severity"] == "error"]
    assert len(blocking) == 7
    assert max(done.index(t) for t in blocking) < done.index("model.shop.orders_enriched")
    assert done.index("model.shop.stg_orders") < min(done.index(t) for t in blocking)
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    test = manifest["tests"]["test.shop.not_null_stg_orders_order_id.81cfe2fe64"]  # dbt's id
    assert test["attached_to"] == "model.shop.stg_orders" and test["column"] == "order_id"
    assert manifest["parent_map"]["test.shop.no_big_orders"] == ["model.shop.orders_enriched"]
    assert {r["unique_id"]: r["status"] for r in results}["test.shop.unique_stg_orders_order_id.e3b841c71a"] == "success"


def test_error_severity_failure_skips_descendants_and_warn_goes_on(tmp_path):
    root = _project(tmp_path)
    result = run_pds("build", "--project-dir", str(root), "--vars", "{bad_rows: 1}")
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert lines_with(out, "FAIL", "not_null_stg_orders_order_id")
    assert lines_with(out, "FAIL", "relationships_stg_orders_customer_id")
    assert "1 failing row, e.g. order_id=None, customer_id=99" in out
    # warn severity: reported, not blocking
    assert lines_with(out, "WARN", "accepted_values_stg_orders_status__completed__returned", "1 failing row")
    # thresholds: one negative amount trips warn_if (>= 1) but not error_if (> 1)
    assert lines_with(out, "WARN", "expression_is_true_stg_orders_amount___0")
    # where: the bad row is filtered out of is_positive, so it passes
    assert lines_with(out, "OK", "test is_positive_stg_orders_amount passed")
    for child in ("orders_enriched", "order_summary", "customer_scores"):
        assert lines_with(out, "SKIP", f"{child}: skipped because stg_orders failed quality"), (child, out)
    assert lines_with(out, "QUALITY", "stg_orders failed", "not_null_stg_orders_order_id", "3 downstream nodes skipped")
    assert "Completed with errors" in out
    # the singular test on a skipped model is skipped too; the views below were never replaced
    assert lines_with(out, "SKIP", "no_big_orders")
    by_id = {r["unique_id"]: r for r in json.loads((root / "target" / "run_results.json").read_text())["results"]}
    assert by_id["model.shop.stg_orders"]["status"] == "success"
    assert by_id["model.shop.stg_orders"]["extra"]["quality"] == "failed"
    assert by_id["model.shop.order_summary"]["status"] == "skipped"
    assert by_id["test.shop.not_null_stg_orders_order_id.81cfe2fe64"]["failures"] == 1


def test_pds_test_runs_only_tests_against_what_is_built_and_stores_failures(tmp_path):
    root = _project(tmp_path)
    assert run_pds("build", "--project-dir", str(root)).returncode == 0
    before = query(root, "select count(*) from pds_results.pds_node_results where resource_type = 'model'")[0][0]
    result = run_pds("test", "--project-dir", str(root), "--store-failures", "--vars", "{big: 15}",
                     "--select", "orders_enriched")
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines_with(result.stdout, "WARN", "no_big_orders", "3 failing rows", "stored in pds_results.failures__no_big_orders")
    assert "not_null_stg_orders_order_id" not in result.stdout  # not a test of the selected node
    assert query(root, "select count(*) from pds_results.pds_node_results where resource_type = 'model'")[0][0] == before
    stored = query(root, "select order_id, amount from pds_results.failures__no_big_orders order by order_id")
    assert stored == [(2, 20.0), (3, 30.0), (4, 40.0)]
    row = query(root, "select status, severity, failures, failures_relation from pds_results.pds_test_results "
                      "where name = 'no_big_orders' order by executed_at desc limit 1")[0]
    assert row == ("warn", "warn", 3, "pds_results.failures__no_big_orders")


def test_pds_test_says_when_the_model_is_not_built(tmp_path):
    root = _project(tmp_path)
    result = run_pds("test", "--project-dir", str(root), "--select", "stg_orders")
    assert result.returncode == 1
    assert "stg_orders is not built in target 'dev'" in result.stdout
    assert "pds build --select stg_orders" in result.stdout


def test_source_tests_and_freshness(tmp_path):
    root = write_project(tmp_path, {
        "seeds/events.csv": "id,loaded_at\n1,2020-01-01 00:00:00\n2,\n",
        "seeds/fresh_events.csv": "id,loaded_at\n1,2999-01-01 00:00:00\n",
        "models/sources.yml": """
            sources:
              - name: raw
                schema: main
                loaded_at_field: loaded_at
                tables:
                  - name: events
                    freshness: {warn_after: {count: 12, period: hour}, error_after: {count: 1, period: day}}
                    columns:
                      - name: id
                        data_tests: [not_null, unique]
                  - name: fresh_events
                    freshness: {warn_after: {count: 1, period: hour}}
        """})
    assert run_pds("seed", "--project-dir", str(root)).returncode == 0
    result = run_pds("test", "--project-dir", str(root))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert lines_with(out, "FAIL", "source_freshness_raw_events")
    assert "last loaded 2020-01-01 00:00 UTC" in out and "older than error_after 1 day" in out
    assert lines_with(out, "OK", "freshness source_freshness_raw_fresh_events")
    assert lines_with(out, "OK", "test source_not_null_raw_events_id passed")


def test_bad_test_declarations_are_project_errors_with_lines(tmp_path):
    root = write_project(tmp_path, {"models/schema.yml": """
        models:
          - name: stg_orders
            columns:
              - name: order_id
                data_tests: [not_nul]
              - name: status
                data_tests:
                  - accepted_values: {vals: [a]}
    """})
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 2
    assert "models/schema.yml:5" in result.stderr and "unknown test 'not_nul'" in result.stderr
    assert "did you mean 'not_null'" in result.stderr
    assert "models/schema.yml:8" in result.stderr and "needs values" in result.stderr
    assert "Traceback" not in result.stderr
