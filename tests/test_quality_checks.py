"""Python checks in tests/*.py: given the model's DataFrame, returning a bool or a boolean Series."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_pds
from tests.quality_projects import lines_with, query, write_project

CHECKS = '''
    from pds import check, metric


    @check(model="customer_scores", severity="error")
    def scores_are_probabilities(df):
        """Every score lies in [0, 1]; the rows where it does not are the failures."""
        return df["score"].between(0, 1)


    @check(model="stg_orders", severity="warn")
    def few_returns(df):
        return bool((df["status"] == "returned").mean() < 0.2)


    @check("orders_enriched")
    def names_present(df):
        return df["name"].notna()


    @metric(model="customer_scores", max=0.9, severity="warn")
    def mean_score(df):
        return df["score"].mean()
'''
SCORES_OUT_OF_RANGE = '''
    import pandas as pd

    def model(ctx):
        orders = ctx.ref("stg_orders")
        per = orders.groupby("customer_id", as_index=False)["amount"].sum()
        per["score"] = per["amount"] / 32.0   # customer 3 (40 spent) gets a score above 1
        return per[["customer_id", "score"]]
'''
DOWNSTREAM = "select customer_id from {{ ref('customer_scores') }} where score > 0.5\n"


def test_python_checks_pass_warn_and_record_metrics(tmp_path):
    root = write_project(tmp_path, {"tests/checks.py": CHECKS})
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert lines_with(out, "OK", "check scores_are_probabilities passed")
    assert lines_with(out, "OK", "check names_present passed")
    # a bool check: one returned of four orders is 25% >= 20%, a warning, and the build goes on
    assert lines_with(out, "WARN", "check few_returns: few_returns() returned False")
    assert lines_with(out, "OK", "metric mean_score = 0.333333")  # customers spent 30, 30 and 40 of 100
    [(metric, value, status)] = query(root, "select metric, value, status from pds_results.pds_metric_values")
    assert (metric, round(value, 6), status) == ("mean_score", 0.333333, "pass")
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    check = manifest["tests"]["test.shop.scores_are_probabilities"]
    assert check["test_type"] == "python" and check["depends_on"] == ["model.shop.customer_scores"]
    assert check["description"].startswith("Every score lies in [0, 1]")


@pytest.mark.slow
def test_failing_python_check_reports_rows_and_skips_downstream(tmp_path):
    root = write_project(tmp_path, {"tests/checks.py": CHECKS, "models/customer_scores.py": SCORES_OUT_OF_RANGE,
                                    "models/high_scorers.sql": DOWNSTREAM})
    result = run_pds("test", "--project-dir", str(root))  # nothing built yet: every check says so
    assert result.returncode == 1 and "is not built in target 'dev'" in result.stdout
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert lines_with(out, "FAIL", "scores_are_probabilities")
    assert "1 failing row, e.g. customer_id=3, score=1.25" in out
    assert lines_with(out, "SKIP", "high_scorers: skipped because customer_scores failed quality "
                                   "(scores_are_probabilities)")
    assert lines_with(out, "QUALITY", "customer_scores failed scores_are_probabilities; 1 downstream node skipped")
    # the failing rows can be kept for a look
    result = run_pds("test", "--project-dir", str(root), "--select", "customer_scores", "--store-failures")
    assert result.returncode == 1
    assert query(root, "select customer_id, score from pds_results.failures__scores_are_probabilities") == [(3, 1.25)]


def test_check_that_raises_is_an_error_naming_the_line(tmp_path):
    root = write_project(tmp_path, {"tests/checks.py": '''
        from pds import check

        @check(model="stg_orders")
        def broken(df):
            return df["no_such_column"] > 0
    '''})
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 1
    assert lines_with(result.stdout, "ERROR", "broken")
    assert "tests/checks.py:5: KeyError: 'no_such_column'" in result.stdout
    assert lines_with(result.stdout, "SKIP", "orders_enriched")


def test_check_decorator_needs_literal_known_model(tmp_path):
    root = write_project(tmp_path, {"tests/checks.py": '''
        from pds import check

        @check(model="stg_order")
        def typo(df):
            return True
    '''})
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 2
    assert "tests/checks.py:3: @check(model='stg_order'): no such model" in result.stderr
    assert "did you mean 'stg_orders'" in result.stderr
