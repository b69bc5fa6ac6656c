"""docs/publish.md's example project runs as written: every code block captioned with a file path is
written to a folder and built with the real CLI, its HTTP export going to a server the test starts."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

import duckdb
import pandas as pd
from openpyxl import load_workbook

from tests.conftest import ROOT, run_pds
from tests.publish_kit import http_server

DOC = ROOT / "docs" / "publish.md"
CAPTIONED = re.compile(r"^\*\*`([^`]+)`\*\*\n\n```[a-z]*\n(.*?)^```", re.M | re.S)


def test_the_publish_example_builds_and_exports_everywhere(tmp_path):
    files = dict(CAPTIONED.findall(DOC.read_text(encoding="utf-8")))
    assert set(files) == {"pds_project.yml", "profiles.yml", "models/churn_scores.sql", "models/churn_scores.yml"}
    root = tmp_path / "churn"
    root.mkdir()
    for path, body in files.items():  # written as they are (write_project would add the shop's files)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(body, encoding="utf-8")
    with http_server() as (url, rec):
        result = run_pds("build", "--project-dir", str(root), env={"SCORES_URL": url, "SCORES_TOKEN": "t0ken-x"})
    assert result.returncode == 0, result.stdout + result.stderr
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    assert len(pd.read_csv(root / "exports" / "eu" / f"churn_scores_{today}.csv")) == 3
    assert list(pd.read_parquet(root / "exports" / "churn_scores.parquet").columns) == ["customer_id",
                                                                                       "churn_probability"]
    con = duckdb.connect(str(root / "serving.duckdb"), read_only=True)
    try:
        assert con.execute("select customer_id, risk_band from scores.churn_scores order by 1").fetchall() == [
            (1, "low"), (2, "medium"), (3, "high")]
    finally:
        con.close()
    [post] = rec.requests
    assert post.path == "/v1/churn" and post.headers["authorization"] == "Bearer t0ken-x"
    assert post.body["rows"] == [{"customer_id": 3, "churn_probability": 0.91, "risk_band": "high"}]
    # the example's output lines are what the CLI prints
    assert f"export churn_csv to exports/eu/churn_scores_{today}.csv 3 rows" in result.stdout
    assert "export churn_serving to serving:scores.churn_scores (upsert) 3 rows" in result.stdout
    assert "export churn_api to POST ${SCORES_URL}/v1/churn 1 rows" in result.stdout
    assert "export churn_xlsx to exports/churn_scores.xlsx 3 rows" in result.stdout
    assert "chart churn_scores.by_band to charts/churn_scores_by_band.html, charts/churn_scores_by_band.svg 3 rows" \
        in result.stdout
    assert "metric psi_churn_probability: no reference yet" in result.stdout
    book = load_workbook(root / "exports" / "churn_scores.xlsx")
    assert book.sheetnames == ["Scores"] and [c.value for c in book["Scores"]["B"]] == [
        "churn_probability", 0.12, 0.55, 0.91]
    assert "<svg" in (root / "charts" / "churn_scores_by_band.svg").read_text()


def test_the_scheduling_guide_nightly_script_runs_on_the_template(template_project):
    doc = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    [script] = [body for path, body in CAPTIONED.findall(doc) if path == "nightly.py"]
    (template_project / "nightly.py").write_text(script, encoding="utf-8")
    done = subprocess.run([sys.executable, "nightly.py", "."], cwd=template_project, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "'exports': {'churn_scores_csv': 'success', 'churn_scores_xlsx': 'success'}" in done.stdout
    workflow = (template_project / ".github" / "workflows" / "pds.yml").read_text()
    for line in ('cron: "30 5 * * *"', "PDS_PG_PASSWORD: ${{ secrets.PDS_PG_PASSWORD }}"):
        assert line in workflow and line in doc
