"""`pds publish` (exports from what is built, gated by the recorded results), mistakes in `exports:`
reported with file and line, and the project template's export."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from tests.conftest import run_pds
from tests.publish_kit import scores_project
from tests.quality_projects import query

CSV = """
            - name: scores_csv
              file: {path: exports/scores.csv}
            - name: prod_only
              targets: [prod]
              file: {path: exports/prod.csv}
"""


@pytest.mark.slow
def test_publish_runs_the_exports_of_what_is_built_when_its_checks_last_passed(tmp_path):
    root = scores_project(tmp_path / "shop", CSV)
    target = root / "exports" / "scores.csv"

    never = run_pds("publish", "--project-dir", str(root))
    assert never.returncode == 1
    assert "skipped: model customer_scores is not built in target 'dev'" in never.stdout

    assert run_pds("build", "--project-dir", str(root)).returncode == 0
    target.unlink()
    published = run_pds("publish", "--project-dir", str(root), "-s", "customer_scores")
    assert published.returncode == 0, published.stdout + published.stderr
    assert len(pd.read_csv(target)) == 3
    assert "Not exporting on target dev: prod_only (targets: prod)" in published.stdout
    assert not (root / "exports" / "prod.csv").exists()
    runs = query(root, "select r.command, e.name, e.status from pds_results.pds_export_results e "
                       "join pds_results.pds_runs r using (run_id) order by r.started_at")
    assert runs == [("publish", "scores_csv", "skipped"), ("build", "scores_csv", "success"),
                    ("publish", "scores_csv", "success")]

    # `pds test` on bad data records a failing error-severity test upstream: publishing is held back
    assert run_pds("run", "--project-dir", str(root), "--vars", "{bad_rows: 1}").returncode == 0
    stale = run_pds("publish", "--project-dir", str(root))
    assert stale.returncode == 1  # stg_orders was rebuilt after its tests last ran
    assert "test not_null_stg_orders_order_id has not run since stg_orders was last built" in stale.stdout
    assert run_pds("test", "--project-dir", str(root), "--vars", "{bad_rows: 1}").returncode == 1
    blocked = run_pds("publish", "--project-dir", str(root))
    assert blocked.returncode == 1
    assert "SKIP  export scores_csv: skipped: test not_null_stg_orders_order_id failed (error)" in blocked.stdout
    assert len(pd.read_csv(target)) == 3

    # fixed and re-tested: published again; on target prod the prod-only export runs too (a copy in JSON)
    assert run_pds("build", "--project-dir", str(root)).returncode == 0
    result = run_pds("--log-format", "json", "publish", "--project-dir", str(root))
    assert result.returncode == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["name"] for e in events if e["event"] == "node_finished"] == ["scores_csv"]


@pytest.mark.parametrize(("entry", "line", "message"), [
    ("- {name: a, file: {path: x.csv}, table: {target: prod}}", 3, "needs exactly one destination"),
    ("- {name: a, filee: {path: x.csv}}", 3, "unknown key 'filee' in export 'a'"),
    ("- {name: a, file: {path: 'x_{rundate}.csv'}}", 3, "unknown placeholder {rundate}"),
    ("- {name: a, file: {path: x.txt}}", 3, "cannot tell the format of 'x.txt'"),
    ("- {name: a, file: {path: 'nosuchfs://b/x.csv'}}", 3, "no fsspec filesystem is known for nosuchfs://"),
    ("- {name: a, table: {target: prod, mode: upsert}}", 3, "mode upsert of export 'a' needs a unique_key"),
    ("- {name: a, table: {target: prod, mode: merge}}", 3, "unknown mode 'merge'"),
    ("- {name: a, http: {url: 'ftp://x'}}", 3, "must start with http:// or https://"),
    ("- {name: a, http: {url: 'http://x', batch_size: 0}}", 3, "batch_size of export 'a' must be a number of at least 1"),
    ("- {name: a, http: {url: 'http://x', timeout: soon}}", 3, "'timeout' in http: of export 'a' must be a number, got a string ('soon')"),
    ("- {name: a, where: 'score >', file: {path: x.csv}}", 3, "where:"),
    ("- {file: {path: x.csv}}", 3, "each export needs a 'name:'"),
])
def test_mistakes_in_exports_are_project_errors_with_file_and_line(tmp_path, entry, line, message):
    root = scores_project(tmp_path / "shop", "")
    (root / "models" / "schema.yml").write_text(f"models:\n  - name: customer_scores\n    exports:\n      {entry}\n")
    result = run_pds("compile", "--project-dir", str(root))
    assert result.returncode == 2, result.stdout
    assert f"models/schema.yml:{line + 1}:" in result.stderr or f"models/schema.yml:{line}:" in result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_bad_notification_hooks_are_project_errors(tmp_path):
    root = scores_project(tmp_path / "shop", "", project_yml="name: shop\nprofile: shop\non_failure:\n  - {uri: x}\n")
    (root / "pds_project.yml").write_text("name: shop\nprofile: shop\nvars: {bad_rows: 0, scale: 1}\n"
                                          "on_failure:\n  - {uri: x}\n")
    result = run_pds("build", "--project-dir", str(root))
    assert result.returncode == 2 and "pds_project.yml:5:" in result.stderr
    assert "each on_failure entry must be a webhook URL or a mapping with url:" in result.stderr


def test_the_template_builds_and_exports_its_churn_scores(template_project):
    result = run_pds("build", "--project-dir", str(template_project))
    assert result.returncode == 0, result.stdout + result.stderr
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    scores = pd.read_csv(template_project / "exports" / f"churn_scores_{today}.csv")
    assert len(scores) == 60 and scores["churn_probability"].between(0, 1).all()
    assert (template_project / ".github" / "workflows" / "pds.yml").is_file()
    workflow = (template_project / ".github" / "workflows" / "pds.yml").read_text()
    assert "cron:" in workflow and "pds --log-format json build --target prod" in workflow
