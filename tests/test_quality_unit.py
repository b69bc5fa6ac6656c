"""Unit tests of models (`pds test --unit`): fixed input rows, expected output rows, an in-memory
DuckDB, for SQL and Python models alike, never touching the target."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_pds
from tests.quality_projects import lines_with, write_project

UNIT = """
    unit_tests:
      - name: enriched_orders_carry_the_customer_name
        model: orders_enriched
        given:
          - input: ref('stg_orders')
            rows:
              - {order_id: 1, customer_id: 1, amount: 5.0, status: completed}
              - {order_id: 3, customer_id: 9, amount: 1.0, status: returned}
          - input: ref('raw_customers')
            rows:
              - {customer_id: 1, name: Ann}
        expect:
          rows:
            - {order_id: 1, name: Ann}
            - {order_id: 3, name: null}
      - name: summary_counts_per_status
        model: order_summary
        given:
          - input: ref('orders_enriched')
            rows:
              - {status: completed, amount: 5.0}
              - {status: completed, amount: 7.5}
              - {status: returned, amount: 1.0}
        expect:
          rows:
            - {status: completed, n: 2, total: 12.5}
            - {status: returned, n: 1, total: 1.0}
      - name: scores_are_capped_at_one
        model: customer_scores
        given:
          - input: ref('stg_orders')
            rows:
              - {order_id: 1, customer_id: 1, amount: 50.0}
              - {order_id: 2, customer_id: 1, amount: 25.0}
              - {order_id: 3, customer_id: 2, amount: 500.0}
        expect:
          rows:
            - {customer_id: 1, score: 0.75}
            - {customer_id: 2, score: 1.0}
      - name: scale_var_override
        model: customer_scores
        overrides: {vars: {scale: 10}}
        given:
          - input: ref('stg_orders')
            rows: [{order_id: 1, customer_id: 1, amount: 100.0}]
        expect:
          rows: [{customer_id: 1, score: 0.1}]
"""
FIXTURE = '''
    import pandas as pd
    from pds import unit_test


    @unit_test(model="customer_scores")
    def big_spenders_score_one():
        """A Python fixture: DataFrames in, DataFrame out."""
        orders = pd.DataFrame({"order_id": [1, 2], "customer_id": [7, 8], "amount": [1000.0, 10.0]})
        return {"stg_orders": orders}, pd.DataFrame({"customer_id": [7, 8], "score": [1.0, 0.1]})
'''


@pytest.mark.slow
def test_sql_and_python_models_pass_their_unit_tests_without_touching_the_target(tmp_path):
    root = write_project(tmp_path, {"models/schema.yml": UNIT, "tests/fixtures.py": FIXTURE})
    result = run_pds("test", "--unit", "--project-dir", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("enriched_orders_carry_the_customer_name", "summary_counts_per_status", "scores_are_capped_at_one",
                 "scale_var_override", "big_spenders_score_one"):
        assert lines_with(result.stdout, "OK", f"unit test {name} passed"), (name, result.stdout)
    assert not (root / "shop.duckdb").exists()  # the target was never opened
    results = json.loads((root / "target" / "run_results.json").read_text())
    assert results["args"]["unit"] is True and len(results["results"]) == 5
    only = run_pds("test", "--unit", "--select", "order_summary", "--project-dir", str(root))
    assert only.returncode == 0 and "1 of 1 OK" in only.stdout


def test_a_failing_unit_test_shows_the_difference(tmp_path):
    wrong = UNIT.replace("{customer_id: 2, score: 1.0}", "{customer_id: 2, score: 0.5}")
    root = write_project(tmp_path, {"models/schema.yml": wrong})
    result = run_pds("test", "--unit", "--project-dir", str(root))
    assert result.returncode == 1
    assert lines_with(result.stdout, "FAIL", "scores_are_capped_at_one")
    assert "expected but missing: customer_id=2, score=0.5" in result.stdout
    assert "returned but not expected: customer_id=2, score=1" in result.stdout
    assert lines_with(result.stdout, "OK", "summary_counts_per_status")


def test_unit_test_inputs_must_match_the_model(tmp_path):
    root = write_project(tmp_path, {"models/schema.yml": """
        unit_tests:
          - name: forgot_customers
            model: orders_enriched
            given:
              - {input: ref('stg_orders'), rows: [{order_id: 1, customer_id: 1}]}
            expect: {rows: [{order_id: 1}]}
          - name: wrong_input
            model: customer_scores
            given:
              - {input: ref('raw_orders'), rows: [{order_id: 1}]}
            expect: {rows: []}
    """})
    result = run_pds("test", "--unit", "--project-dir", str(root))
    assert result.returncode == 1
    assert lines_with(result.stdout, "ERROR", "forgot_customers")
    assert "gives no rows for ref('raw_customers')" in result.stdout
    assert "ref('raw_orders') is not an input of customer_scores" in result.stdout
    assert "its inputs: ref('stg_orders')" in result.stdout
