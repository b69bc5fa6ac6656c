"""docs/quality.md's examples run: every code block captioned with a file path is written into a copy of
project_template (in place of its own schema file and tests), which then builds, tests and reports."""

from __future__ import annotations

import json
import re
import shlex
import shutil

import pytest

from tests.conftest import ROOT, run_pds
from tests.quality_projects import lines_with

DOC = ROOT / "docs" / "quality.md"
CAPTIONED = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```", re.M | re.S)


@pytest.mark.slow
def test_quality_doc_examples_run_on_the_template(template_project):
    text = DOC.read_text(encoding="utf-8")
    files = dict(CAPTIONED.findall(text))
    assert len(files) == len(CAPTIONED.findall(text)) >= 8
    (template_project / "models" / "schema.yml").unlink()
    shutil.rmtree(template_project / "tests")
    for path, body in files.items():
        (template_project / path).parent.mkdir(parents=True, exist_ok=True)
        (template_project / path).write_text(body, encoding="utf-8")

    build = run_pds("build", "--project-dir", str(template_project))
    assert build.returncode == 0, build.stdout + build.stderr
    out = build.stdout
    for name in ("unique_combination_stg_orders_order_id__customer_id", "is_positive_stg_orders_True__amount",
                 "assert_no_negative_revenue", "relationships_stg_orders_customer_id"):
        assert lines_with(out, "OK", f"test {name}"), (name, out)
    for name in ("probabilities_are_probabilities", "few_high_risk"):
        assert lines_with(out, "OK", f"check {name} passed"), (name, out)
    for name in ("scored_customers", "mean_churn_probability", "customers_per_band", "stddev_churn_probability",
                 "null_rate_churn_probability", "high_risk_share"):
        assert lines_with(out, "OK", f"metric {name} = "), (name, out)

    unit = run_pds("test", "--unit", "--project-dir", str(template_project))
    assert unit.returncode == 0, unit.stdout
    assert lines_with(unit.stdout, "OK", "unit test recent_frequent_customer_is_low_risk passed")
    assert lines_with(unit.stdout, "OK", "unit test long_gone_customer_is_high_risk passed")
    assert lines_with(unit.stdout, "OK", "unit test revenue_counts_only_completed_orders passed")
    assert lines_with(out, "OK", "unit test revenue_counts_only_completed_orders passed")  # in build, too

    for line in re.findall(r"^\$ (pds metrics[^#\n>]*)", text, re.M):  # the `pds metrics` examples
        result = run_pds(*shlex.split(line)[1:], "--project-dir", str(template_project))
        assert result.returncode == 0, (line, result.stderr)
        if "--output json" in line:
            assert {r["metric"] for r in json.loads(result.stdout)} == {"mean_churn_probability"}
