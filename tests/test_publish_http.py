"""HTTP exports and webhook notifications against a real HTTP server on 127.0.0.1 started by the test:
batches, retries with backoff, failures reported (never dropped), and no secret in any output."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.conftest import run_pds
from tests.publish_kit import Recorder, http_server, scores_project
from tests.quality_projects import query

TOKEN = "tok-Never-Show-4b1d"
HOOK_PATH = "/hooks/T0001/B0002/SecretHookPath9"


def http_export(retries: int = 3, batch_size: int = 2) -> str:
    return textwrap.indent(textwrap.dedent(f"""
        - name: scores_api
          http:
            url: "{{{{ env_var('SCORES_URL') }}}}/v1/scores?api_key={{{{ env_var('SCORES_TOKEN') }}}}"
            headers:
              Authorization: "Bearer {{{{ env_var('SCORES_TOKEN') }}}}"
              X-Team: data-science
            batch_size: {batch_size}
            retries: {retries}
            backoff: 0.01
    """), " " * 12)


PROJECT = """
    name: shop
    profile: shop
    vars: {bad_rows: 0, scale: 1}
    on_failure: "{{ env_var('HOOK_URL') }}"
    on_warn:
      - url: "{{ env_var('HOOK_URL') }}"
        headers: {X-Hook-Token: "{{ env_var('SCORES_TOKEN') }}"}
"""


def _env(url: str) -> dict[str, str]:
    return {"SCORES_URL": url, "SCORES_TOKEN": TOKEN, "HOOK_URL": url + HOOK_PATH}


def _no_secrets(root: Path, *outputs: str) -> None:
    texts = [*outputs, (root / "target" / "run_results.json").read_text(), (root / "target" / "manifest.json").read_text(),
             json.dumps(query(root, "select * from pds_results.pds_export_results"), default=str),
             json.dumps(query(root, "select * from pds_results.pds_node_results"), default=str)]
    for text in texts:
        assert TOKEN not in text and HOOK_PATH not in text


def test_rows_are_posted_in_batches_and_a_failing_batch_is_retried(tmp_path):
    root = scores_project(tmp_path / "shop", http_export(), project_yml=PROJECT)
    with http_server(Recorder(fail_first=2)) as (url, rec):
        result = run_pds("build", "--project-dir", str(root), env=_env(url))
    assert result.returncode == 0, result.stdout + result.stderr
    run_id = json.loads((root / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]
    posts = [r for r in rec.requests if r.path.startswith("/v1/scores")]
    assert [r.status for r in posts] == [503, 503, 200, 200]  # batch 1 twice refused, then accepted
    accepted = [r.body for r in posts if r.status == 200]
    assert [b["batch"] for b in accepted] == [1, 2] and [b["last"] for b in accepted] == [False, True]
    assert [row for b in accepted for row in b["rows"]] == [
        {"customer_id": 1, "score": 0.3}, {"customer_id": 2, "score": 0.3}, {"customer_id": 3, "score": 0.4}]
    assert all(b["run_id"] == run_id and b["export"] == "scores_api" for b in accepted)
    first = posts[2]
    assert first.headers["authorization"] == f"Bearer {TOKEN}" and first.headers["x-team"] == "data-science"
    assert first.headers["x-pds-run-id"] == run_id and first.headers["x-pds-batch"] == "1"
    assert "attempt 1 failed (HTTP 503" in result.stdout and "(2 retries)" in result.stdout
    assert query(root, "select status, rows, batches, destination from pds_results.pds_export_results") == [
        ("success", 3, 2, "POST ${SCORES_URL}/v1/scores")]
    assert not [r for r in rec.requests if r.path.startswith("/hooks")]  # a clean run notifies nobody
    _no_secrets(root, result.stdout, result.stderr)


def test_a_batch_that_keeps_failing_is_reported_and_nothing_after_it_is_sent(tmp_path):
    root = scores_project(tmp_path / "shop", http_export(retries=2), project_yml=PROJECT)
    with http_server(Recorder(always_status=502, only="/v1/")) as (url, rec):
        result = run_pds("build", "--project-dir", str(root), env=_env(url))
    assert result.returncode == 1
    posts = [r for r in rec.requests if r.path.startswith("/v1/scores")]
    assert len(posts) == 3 and {r.body["batch"] for r in posts} == {1}  # 1 try + 2 retries, batch 2 never sent
    assert ("batch 1 (2 rows) was not accepted: HTTP 502 Bad Gateway after 3 attempts; 0 batches (0 rows) were "
            "sent before it, this one and every batch after it not sent") in result.stdout
    assert query(root, "select status, rows, batches from pds_results.pds_export_results") == [("error", 0, 0)]

    [hook] = [r for r in rec.requests if r.path == HOOK_PATH]
    pds = hook.body["pds"]
    assert hook.body["text"].startswith("pds build failed on target dev (project shop")
    assert hook.body["blocks"][0]["type"] == "section"
    assert pds["status"] == "error" and pds["failed_nodes"][0]["name"] == "scores_api"
    assert "HTTP 502" in pds["failed_nodes"][0]["message"]
    _no_secrets(root, result.stdout, result.stderr, json.dumps(hook.body))
    assert "Sent the on_failure notification to ${HOOK_URL}" in result.stdout


def test_a_refused_request_is_not_retried(tmp_path):
    root = scores_project(tmp_path / "shop", http_export(), project_yml=PROJECT)
    with http_server(Recorder(always_status=422, only="/v1/")) as (url, rec):
        result = run_pds("build", "--project-dir", str(root), env=_env(url))
    assert result.returncode == 1
    assert len([r for r in rec.requests if r.path.startswith("/v1/scores")]) == 1
    assert "HTTP 422 Unprocessable Entity (not retried" in result.stdout


def test_notifications_on_failure_and_on_warn_carry_the_run_without_secrets(tmp_path):
    metric = {"tests/score_metrics.py": '''
        from pds import metric

        @metric(model="customer_scores", max=0.2, severity="warn")
        def mean_score(df):
            return float(df["score"].mean())
    '''}
    root = scores_project(tmp_path / "shop", http_export(), project_yml=PROJECT, extra=metric)
    with http_server() as (url, rec):
        failed = run_pds("build", "--project-dir", str(root), "--vars", "{bad_rows: 1}", env=_env(url))
        hooks = [r for r in rec.requests if r.path == HOOK_PATH]
        assert failed.returncode == 1 and len(hooks) == 1
        body = hooks[0].body
        assert body["pds"]["status"] == "error" and f"run {body['pds']['run_id'][:8]}" in body["text"]
        assert [c["name"] for c in body["pds"]["failed_checks"]] == ["not_null_stg_orders_order_id"]
        assert body["pds"]["failed_checks"][0]["severity"] == "error"
        assert body["pds"]["skipped_exports"] == [{"name": "scores_api", "model": "customer_scores",
                                                   "reason": "skipped: test not_null_stg_orders_order_id failed (error)"}]
        assert "export *scores_api* skipped" in body["blocks"][1]["text"]["text"]
        assert hooks[0].headers.get("x-hook-token") is None  # on_failure has no headers; on_warn has

        warned = run_pds("build", "--project-dir", str(root), env=_env(url))
        assert warned.returncode == 0, warned.stdout
        hooks = [r for r in rec.requests if r.path == HOOK_PATH]
        assert len(hooks) == 2
        body = hooks[1].body
        assert body["pds"]["status"] == "warn" and body["text"].startswith("pds build finished with warnings")
        [bound] = body["pds"]["metrics_out_of_bounds"]
        assert bound["metric"] == "mean_score" and bound["severity"] == "warn" and bound["bound"] == "max"
        assert abs(bound["value"] - 1 / 3) < 1e-9 and bound["limit"] == 0.2
        assert hooks[1].headers["x-hook-token"] == TOKEN
        assert len([r for r in rec.requests if r.path.startswith("/v1/scores") and r.status == 200]) == 2
        for hook in hooks:
            assert TOKEN not in json.dumps(hook.body) and HOOK_PATH not in json.dumps(hook.body)
    _no_secrets(root, failed.stdout, failed.stderr, warned.stdout, warned.stderr)


def test_an_unreachable_webhook_is_reported_and_does_not_change_the_exit_code(tmp_path):
    root = scores_project(tmp_path / "shop", "            - {name: scores_csv, file: {path: exports/s.csv}}",
                          project_yml=PROJECT)
    result = run_pds("--log-format", "json", "build", "--project-dir", str(root), "--vars", "{bad_rows: 1}",
                     env={"HOOK_URL": "http://127.0.0.1:9" + HOOK_PATH, "SCORES_TOKEN": TOKEN})
    assert result.returncode == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    [failed] = [e for e in events if e["event"] == "notification_failed"]
    assert failed["hook"] == "on_failure" and failed["destination"] == "${HOOK_URL}" and "after 3 attempts" in failed["error"]
    assert HOOK_PATH not in result.stdout + result.stderr
