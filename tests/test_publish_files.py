"""File exports through the real CLI: CSV, Parquet and JSON Lines, path placeholders, fsspec URLs,
their rows in pds_export_results, and a killed export that leaves the previous file intact."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, run_pds
from tests.publish_kit import scores_project
from tests.quality_projects import query, write_project

EXPORTS = """
            - name: scores_csv
              file: {path: "exports/{target}/scores_{run_date}_{region}.csv"}
            - name: scores_parquet
              description: every column, as Parquet
              file: {path: exports/scores.parquet}
            - name: high_scores_jsonl
              columns: [customer_id, score]
              where: "score > 0.35"
              file: {path: "exports/high.jsonl"}
            - name: scores_via_fsspec
              file:
                path: "file://{{ env_var('EXPORT_ROOT') }}/{run_id}/scores.ndjson"
"""


def _run_id(root: Path) -> str:
    return json.loads((root / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]


@pytest.mark.slow
def test_csv_parquet_jsonl_and_fsspec_with_placeholders(tmp_path):
    root = scores_project(tmp_path / "shop", EXPORTS, extra={"pds_project.yml": """
        name: shop
        profile: shop
        vars: {bad_rows: 0, scale: 1, region: eu}
    """})
    outside = tmp_path / "outside"
    result = run_pds("build", "--project-dir", str(root), env={"EXPORT_ROOT": str(outside)})
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = _run_id(root)
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    expected = pd.DataFrame({"customer_id": [1, 2, 3], "score": [0.3, 0.3, 0.4]})

    csv = root / "exports" / "dev" / f"scores_{today}_eu.csv"
    pd.testing.assert_frame_equal(pd.read_csv(csv), expected)
    parquet = pd.read_parquet(root / "exports" / "scores.parquet")  # typed as built: a seed's ids are INTEGER
    pd.testing.assert_frame_equal(parquet.sort_values("customer_id").reset_index(drop=True),
                                  expected.astype({"customer_id": "int32"}))
    lines = (root / "exports" / "high.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"customer_id": 3, "score": 0.4}]
    fsspec_file = outside / run_id / "scores.ndjson"
    assert len(fsspec_file.read_text().splitlines()) == 3
    assert not list(root.rglob("*.pds-tmp-*")) and not list(outside.rglob("*.pds-tmp-*"))

    assert f"export scores_csv to exports/dev/scores_{today}_eu.csv" in result.stdout
    rows = query(root, "select name, destination_type, destination, status, rows, batches, run_id, target "
                       "from pds_results.pds_export_results order by name")
    assert rows == [
        ("high_scores_jsonl", "file", "exports/high.jsonl", "success", 1, 1, run_id, "dev"),
        ("scores_csv", "file", f"exports/dev/scores_{today}_eu.csv", "success", 3, 1, run_id, "dev"),
        ("scores_parquet", "file", "exports/scores.parquet", "success", 3, 1, run_id, "dev"),
        ("scores_via_fsspec", "file", f"file://{outside}/{run_id}/scores.ndjson", "success", 3, 1, run_id, "dev"),
    ]
    # the same results are in run_results.json, one node per export
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    exported = {r["name"]: r for r in results if r["resource_type"] == "export"}
    assert set(exported) == {"scores_csv", "scores_parquet", "high_scores_jsonl", "scores_via_fsspec"}
    assert exported["scores_csv"]["rows_affected"] == 3 and exported["scores_csv"]["status"] == "success"

    # a var given on the command line fills its placeholder; the second run appends to the history
    result = run_pds("build", "--project-dir", str(root), "--vars", "{region: us}", env={"EXPORT_ROOT": str(outside)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "exports" / "dev" / f"scores_{today}_us.csv").is_file() and csv.is_file()
    assert query(root, "select count(*), count(distinct run_id) from pds_results.pds_export_results") == [(8, 2)]


@pytest.mark.slow
def test_error_severity_failure_blocks_the_export_and_a_warning_does_not(tmp_path):
    exports = """
            - name: scores_csv
              file: {path: exports/scores.csv}
    """
    checks = {"tests/score_checks.py": '''
        from pds import check, metric

        @check(model="customer_scores", severity="warn")
        def scores_are_low(df):
            return df["score"] < 0.35

        @check(model="customer_scores", severity="error")
        def scores_are_probabilities(df):
            return df["score"].between(0, 1)

        @metric(model="customer_scores", max=0.5, severity="error")
        def mean_score(df):
            return float(df["score"].mean())
    '''}
    root = scores_project(tmp_path / "shop", exports, extra=checks)
    target = root / "exports" / "scores.csv"

    blocked = run_pds("build", "--project-dir", str(root), "--vars", "{bad_rows: 1}")
    assert blocked.returncode == 1
    assert not target.exists()
    assert "SKIP  export scores_csv: skipped: test not_null_stg_orders_order_id failed (error)" in blocked.stdout
    assert query(root, "select status, message from pds_results.pds_export_results") == [
        ("skipped", "skipped: test not_null_stg_orders_order_id failed (error)")]

    warned = run_pds("build", "--project-dir", str(root))  # the warn check fails (0.4 >= 0.35): exported anyway
    assert warned.returncode == 0, warned.stdout + warned.stderr
    assert "WARN" in warned.stdout and "scores_are_low" in warned.stdout
    assert len(pd.read_csv(target)) == 3
    first = target.read_bytes()

    # a tighter error bound on the mean score (0.33) holds the export back
    checks_file = root / "tests" / "score_checks.py"
    checks_file.write_text(checks_file.read_text().replace("max=0.5", "max=0.2"))
    bound = run_pds("build", "--project-dir", str(root))
    assert bound.returncode == 1
    assert "skipped: metric mean_score is out of bounds (error)" in bound.stdout
    assert target.read_bytes() == first  # the last good export stays

    # selecting only the model: the unselected ancestors' tests do not run, so they do not block
    checks_file.write_text(checks_file.read_text().replace("max=0.2", "max=0.5"))
    only = run_pds("build", "--project-dir", str(root), "-s", "customer_scores")
    assert only.returncode == 0, only.stdout
    assert "not_null_stg_orders_order_id" not in only.stdout and "export scores_csv to" in only.stdout


@pytest.mark.slow
def test_json_log_format_is_one_event_per_line(tmp_path):
    root = scores_project(tmp_path / "shop", """
            - name: scores_csv
              file: {path: exports/scores.csv}
    """)
    for args in (["build"], ["build", "--vars", "{bad_rows: 1}"], ["publish"], ["build", "-s", "nothing_here"]):
        result = run_pds("--log-format", "json", *args, "--project-dir", str(root))
        events = [json.loads(line) for line in result.stdout.splitlines()]  # every line is one JSON object
        assert events and all("event" in e and "ts" in e for e in events)
        kinds = {e["event"] for e in events}
        if args == ["build"]:
            assert {"run_started", "node_finished", "run_finished"} <= kinds
            [export] = [e for e in events if e["event"] == "node_finished" and e["resource_type"] == "export"]
            assert export["status"] == "success" and export["extra"]["destination"] == "exports/scores.csv"
        if args[-1] == "nothing_here":
            assert result.returncode == 2 and events[-1]["event"] == "error" and events[-1]["exit_code"] == 2


BIG = {
    "pds_project.yml": "name: big\nprofile: big\nvars: {n: 1000}\nmodels:\n  +materialized: table\n",
    "profiles.yml": "big:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: big.duckdb, schema: main}\n",
    "models/big_scores.sql": """
        select range as id, range * 0.5 as score, 'some padding to make the rows longer' as pad
        from range({{ var('n') }})
    """,
    "models/schema.yml": """
        models:
          - name: big_scores
            exports:
              - name: big_csv
                file: {path: exports/big.csv}
    """,
}


@pytest.mark.slow
def test_a_killed_file_export_leaves_the_previous_file_intact(tmp_path):
    root = write_project(tmp_path / "big", {**BIG, "seeds/raw_orders.csv": None, "seeds/raw_customers.csv": None,
                                            "models/stg_orders.sql": None, "models/orders_enriched.sql": None,
                                            "models/order_summary.sql": None, "models/customer_scores.py": None})
    assert run_pds("build", "--project-dir", str(root)).returncode == 0
    final = root / "exports" / "big.csv"
    before = hashlib.sha256(final.read_bytes()).hexdigest()
    assert len(pd.read_csv(final)) == 1000

    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "pds_core.cli", "build", "--project-dir", str(root),
                             "--vars", "{n: 30000000}"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        temp: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            temp = [p for p in final.parent.glob(".big.csv.pds-tmp-*") if p.stat().st_size > 1_000_000]
            if temp:
                break
            time.sleep(0.05)
        assert temp, "the big export never started writing"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert hashlib.sha256(final.read_bytes()).hexdigest() == before  # readers still see the whole old file
    assert list(final.parent.glob(".big.csv.pds-tmp-*"))  # the half-written temp file is beside it...
    assert run_pds("build", "--project-dir", str(root)).returncode == 0
    assert not list(final.parent.glob(".big.csv.pds-tmp-*"))  # ...until the next export of that file
    assert len(pd.read_csv(final)) == 1000
