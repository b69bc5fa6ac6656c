"""Metrics: computed after every build, appended to pds_metric_values, judged by bounds against
absolute limits and against their own history; `pds metrics` shows that history."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import run_pds
from tests.quality_projects import lines_with, query, write_project

SCHEMA = """
    models:
      - name: stg_orders
        metrics:
          - name: total_amount
            expression: sum(amount)
            bounds: {max_change_pct: 50, severity: error}
          - name: orders
            type: row_count
            bounds: {min: 1, max: 10}
          - name: amount_by_status
            expression: sum(amount)
            where: "status <> 'lost'"
            group_by: [status]
        columns:
          - name: amount
            metrics:
              - mean
              - type: null_rate
              - {type: distinct_count, bounds: {min: 2, severity: warn}}
"""


def _build(root, *args):
    return run_pds("build", "--project-dir", str(root), *args)


@pytest.mark.slow
def test_history_across_three_builds_and_a_change_bound_that_trips_on_the_third(tmp_path):
    root = write_project(tmp_path, {"models/schema.yml": SCHEMA})
    first, second = _build(root), _build(root)
    assert first.returncode == 0 and second.returncode == 0, first.stdout + second.stdout
    assert lines_with(first.stdout, "OK", "metric total_amount = 100")
    assert lines_with(first.stdout, "OK", "metric amount_by_status = completed: 70, returned: 30")
    third = _build(root, "--vars", "{scale: 3}")  # every amount triples: +200% against the previous run
    assert third.returncode == 1, third.stdout + third.stderr
    assert lines_with(third.stdout, "FAIL", "metric total_amount")
    assert "max_change_pct: changed +200.0% vs 100 (max 50%)" in third.stdout
    for child in ("orders_enriched", "order_summary", "customer_scores"):
        assert lines_with(third.stdout, "SKIP", f"{child}: skipped because stg_orders failed quality (total_amount)")
    rows = query(root, "select v.value, v.status, r.command from pds_results.pds_metric_values v "
                       "join pds_results.pds_runs r using (run_id) where v.metric = 'total_amount' order by v.measured_at")
    assert rows == [(100.0, "pass", "build"), (100.0, "pass", "build"), (300.0, "fail", "build")]
    # the fourth build compares with the last *successful* value (100), not the failed 300
    fourth = _build(root)
    assert fourth.returncode == 0, fourth.stdout
    assert "metric total_amount = 100" in fourth.stdout
    statuses = query(root, "select status from pds_results.pds_metric_values where metric = 'total_amount' "
                           "order by measured_at")
    assert [s for (s,) in statuses] == ["pass", "pass", "fail", "pass"]
    bound = query(root, "select status, severity, message from pds_results.pds_test_results "
                        "where name = 'total_amount:max_change_pct' order by executed_at")
    assert [b[0] for b in bound] == ["pass", "pass", "fail", "pass"]
    assert bound[0][2] == "no previous value yet" and "+200.0%" in bound[2][2]


def test_ready_made_metrics_groups_and_absolute_bounds(tmp_path):
    root = write_project(tmp_path, {"models/schema.yml": SCHEMA})
    result = _build(root, "--vars", "{bad_rows: 1}")
    assert result.returncode == 0, result.stdout + result.stderr
    values = dict(query(root, "select metric || coalesce(' ' || nullif(group_key, ''), ''), value "
                              "from pds_results.pds_metric_values"))
    assert values["orders"] == 5 and values["total_amount"] == 95
    assert values["mean_amount"] == 19.0 and values["null_rate_amount"] == 0.0
    assert values["distinct_count_amount"] == 5
    assert values['amount_by_status {"status": "completed"}'] == 70
    assert values['amount_by_status {"status": "returned"}'] == 30
    assert not any("lost" in key for key in values)  # where: filtered it out
    strict = SCHEMA.replace("bounds: {min: 1, max: 10}", "bounds: {min: 1, max: 4}")
    root = write_project(tmp_path / "strict", {"models/schema.yml": strict})
    result = _build(root, "--vars", "{bad_rows: 1}")
    assert result.returncode == 1
    assert lines_with(result.stdout, "FAIL", "metric orders")
    assert "max: 5 > max 4" in result.stdout


@pytest.mark.slow
def test_zscore_bound_against_the_last_runs(tmp_path):
    schema = """
        models:
          - name: stg_orders
            metrics:
              - name: total_amount
                expression: sum(amount)
                bounds: {max_zscore: 3, window: 5, severity: warn}
    """
    root = write_project(tmp_path, {"models/schema.yml": schema})
    for scale in (1.0, 1.01, 0.99, 1.0):
        result = _build(root, "--vars", f"{{scale: {scale}}}")
        assert result.returncode == 0 and not lines_with(result.stdout, "WARN"), result.stdout
    result = _build(root, "--vars", "{scale: 2}")
    assert result.returncode == 0  # warn severity: reported, the build goes on
    assert lines_with(result.stdout, "WARN", "metric total_amount", "max_zscore: z-score")
    assert not lines_with(result.stdout, "SKIP")


@pytest.mark.slow
def test_pds_metrics_shows_history_as_table_json_and_csv(tmp_path):
    root = write_project(tmp_path, {"models/schema.yml": SCHEMA, "tests/metrics.py": '''
        from pds import metric

        @metric(model="customer_scores")
        def customers_scored(df):
            return len(df)
    '''})
    for scale in (1, 2, 1):
        _build(root, "--vars", f"{{scale: {scale}}}")
    table = run_pds("metrics", "--project-dir", str(root))
    assert table.returncode == 0, table.stderr
    line = lines_with(table.stdout, "stg_orders.total_amount")[0]
    assert "▁█▁" in line and line.split()[-1] == "pass"
    # the second build failed total_amount's bound: customer_scores was skipped, its metric not computed
    assert lines_with(table.stdout, "customer_scores.customers_scored", "▁▁ ", " 2 ")
    one = run_pds("metrics", "stg_orders.total_amount", "--project-dir", str(root))
    assert one.returncode == 0
    assert len(lines_with(one.stdout, "run ")) == 3
    data = json.loads(run_pds("metrics", "total_amount", "--output", "json", "--project-dir", str(root)).stdout)
    assert [d["value"] for d in data] == [100.0, 200.0, 100.0]
    assert {d["metric"] for d in data} == {"total_amount"}
    text = run_pds("metrics", "--output", "csv", "--limit", "1", "--project-dir", str(root)).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len([r for r in rows if r["metric"] == "total_amount"]) == 1
    missing = run_pds("metrics", "total_amout", "--project-dir", str(root))
    assert missing.returncode == 2 and "did you mean 'total_amount'" in missing.stderr


def test_bad_metric_declarations_are_project_errors(tmp_path):
    root = write_project(tmp_path, {"models/schema.yml": """
        models:
          - name: stg_orders
            metrics:
              - name: broken
                expression: "sum(amount"
              - {type: median, column: amount}
              - {name: m, expression: "count(*)", bounds: {max_change: 5}}
    """})
    result = _build(root)
    assert result.returncode == 2
    assert "models/schema.yml:4" in result.stderr and "is not valid SQL" in result.stderr
    assert "unknown metric type 'median'" in result.stderr
    assert "unknown key 'max_change'" in result.stderr and "max_change_pct" in result.stderr
