"""`charts:` through the real CLI: a chart rendered after its model's checks into HTML, SVG and PNG with path
placeholders (and a copy for the docs site); a failing check that leaves the old files; a field that is
not a column, reported with the file and line before anything runs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import run_pds
from tests.quality_projects import query, write_project

CHART = """
    models:
      - name: stg_orders
        columns:
          - name: order_id
            data_tests: [not_null]
      - name: order_summary
        charts:
          - name: totals
            type: bar
            x: status
            y: total
            aggregate: sum
            title: Order totals by status
            path: "charts/{target}/{model}_{chart}_{run_date}.html"
            formats: [html, svg, png]
      - name: customer_scores
        columns:
          - name: customer_id
          - name: score
        charts:
          - {name: scores, type: histogram, x: score, bins: 5}
"""


def _project(root: Path, charts: str = CHART) -> Path:
    return write_project(root, {"models/charts.yml": charts})


def test_charts_rendered_to_every_format_and_for_the_docs_site(tmp_path):
    root = _project(tmp_path / "shop")
    built = run_pds("build", "--project-dir", str(root))
    assert built.returncode == 0, built.stdout + built.stderr
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    stem = root / "charts" / "dev" / f"order_summary_totals_{today}"
    html, svg, png = (stem.with_name(stem.name + ext).read_bytes() for ext in (".html", ".svg", ".png"))
    spec = json.loads(html.decode().split('id="pds-chart-spec">')[1].split("</script>")[0])
    totals = dict(query(root, "select status, sum(total) from main.order_summary group by status"))
    assert {v["status"]: v["total"] for v in spec["data"]["values"]} == pytest.approx(totals)
    assert spec["mark"]["type"] == "bar" and spec["title"] == "Order totals by status"
    assert b"<svg" in svg and svg.count(b'aria-roledescription="bar"') == len(totals)
    assert png.startswith(b"\x89PNG")
    docs = root / "target" / "charts"
    assert (docs / "order_summary.totals.svg").read_bytes() == svg  # what the docs site shows: the same chart
    assert (docs / "customer_scores.scores.svg").is_file()  # no path: the docs site only
    about = json.loads((docs / "order_summary.totals.json").read_text())
    assert about["title"] == "Order totals by status" and len(about["files"]) == 3
    assert query(root, "select name, status, destination_type from pds_results.pds_export_results "
                       "where destination_type = 'chart' order by name") == [("scores", "success", "chart"),
                                                                              ("totals", "success", "chart")]
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    assert set(manifest["charts"]) == {"chart.shop.order_summary.totals", "chart.shop.customer_scores.scores"}


def test_a_failing_check_leaves_the_old_chart(tmp_path):
    root = _project(tmp_path / "shop", CHART.replace("_{run_date}", ""))
    assert run_pds("build", "--project-dir", str(root)).returncode == 0
    files = sorted((root / "charts" / "dev").iterdir()) + [root / "target" / "charts" / "order_summary.totals.svg"]
    before = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    failed = run_pds("build", "--project-dir", str(root), "--vars", "{bad_rows: 1}")
    assert failed.returncode == 1
    assert "SKIP  chart totals: skipped: test not_null_stg_orders_order_id failed (error)" in failed.stdout
    assert [hashlib.sha256(f.read_bytes()).hexdigest() for f in files] == before


@pytest.mark.parametrize(("charts", "message", "line"), [
    # a SQL model: its compiled projection (status, n, total)
    (CHART.replace("y: total", "y: totl"), "y: 'totl' is not a column of order_summary", 11),
    # a Python model that has not been built yet: the columns its schema YAML declares
    (CHART.replace("x: score, bins: 5", "x: scor, bins: 5"), "x: 'scor' is not a column of customer_scores", 21),
    (CHART.replace("aggregate: sum", "aggregate: avg"), "unknown aggregate 'avg'", 12),
    (CHART.replace("{run_date}", "{rundate}"), "unknown placeholder {rundate}", 14),
])
def test_a_chart_mistake_is_a_project_error_before_anything_runs(tmp_path, charts, message, line):
    root = _project(tmp_path / "shop", charts)
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"models/charts.yml:{line}: " in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (root / "shop.duckdb").exists()  # nothing ran
    if "totl" in charts:
        assert "did you mean 'total'" in result.stderr
