"""project_template shows each kind of quality node, and they all pass on its data."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_pds
from tests.quality_projects import lines_with


@pytest.mark.slow
def test_template_runs_every_kind_of_quality_node(template_project):
    result = run_pds("build", "--project-dir", str(template_project))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert lines_with(out, "OK", "test relationships_stg_orders_customer_id")  # generic
    assert lines_with(out, "OK", "test assert_revenue_matches_completed_orders passed")  # singular
    assert lines_with(out, "OK", "check probabilities_are_probabilities passed")  # Python check
    assert lines_with(out, "OK", "metric mean_churn_probability = ")  # a metric with bounds
    manifest = json.loads((template_project / "target" / "manifest.json").read_text())
    metric = manifest["metrics"]["metric.pds_template.churn_scores.mean_churn_probability"]
    assert {b["kind"] for b in metric["bounds"]} == {"min", "max", "max_change_pct"}
    unit = run_pds("test", "--unit", "--project-dir", str(template_project))
    assert unit.returncode == 0, unit.stdout
    assert lines_with(unit.stdout, "OK", "unit test recent_frequent_customer_is_low_risk passed")
    history = run_pds("metrics", "mean_churn_probability", "--project-dir", str(template_project))
    assert history.returncode == 0 and "churn_scores.mean_churn_probability" in history.stdout
