"""The `sheets:` destination through the real CLI, against the stand-in of the Google Sheets REST API
(tests/sheets_standin.py) that the test starts on 127.0.0.1: the service account's key from an
environment variable, the worksheet replaced whole with the model's rows, appends, a failing check
that leaves the worksheet as it was, and no secret in any output or artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import run_pds
from tests.publish_kit import scores_project
from tests.quality_projects import query
from tests.sheets_standin import StandIn, serve

SHEET_ID = "1ChurnSheetForTheCrmTeam0123456789"
EXPORTS = """
            - name: scores_sheet
              sheets:
                spreadsheet_id: "{{ env_var('CHURN_SHEET_ID') }}"
                worksheet: Scores
                credentials_env: CHURN_SHEETS_KEY
                api_url: "{{ env_var('SHEETS_API_URL') }}"
                backoff: 0.01
            - name: scores_log
              sheets:
                spreadsheet_id: "{{ env_var('CHURN_SHEET_ID') }}"
                worksheet: Log
                mode: append
                credentials_env: CHURN_SHEETS_KEY
                api_url: "{{ env_var('SHEETS_API_URL') }}"
"""


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _env(key: rsa.RSAPrivateKey, url: str, standin: StandIn) -> dict[str, str]:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "churn", "private_key_id": "feedfacefeedface0001",
            "private_key": pem, "client_email": "pds@churn.iam.gserviceaccount.com", "client_id": "7",
            "token_uri": standin.token_url}  # the key's own token endpoint: the stand-in's
    return {"CHURN_SHEETS_KEY": json.dumps(info), "CHURN_SHEET_ID": SHEET_ID, "SHEETS_API_URL": url}


def _public(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _no_secret(root: Path, env: dict[str, str], *outputs: str) -> None:
    secret = json.loads(env["CHURN_SHEETS_KEY"])["private_key"].splitlines()[1]
    texts = [*outputs, (root / "target" / "run_results.json").read_text(),
             (root / "target" / "manifest.json").read_text(),
             json.dumps(query(root, "select * from pds_results.pds_export_results"), default=str)]
    assert not [t for t in texts if secret in t or "feedfacefeedface0001" in t]


def test_worksheet_replaced_with_the_model_and_rows_appended(tmp_path, key):
    root = scores_project(tmp_path / "shop", EXPORTS)
    standin = StandIn(SHEET_ID, _public(key))
    scores_id = standin.add_sheet("Scores", [["old"], ["rows"], ["here"], ["and"], ["more"]])
    with serve(standin) as url:
        env = _env(key, url, standin)
        first = run_pds("build", "--project-dir", str(root), env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        expected = [["customer_id", "score"], *[list(r) for r in query(
            root, "select customer_id, score from main.customer_scores order by customer_id")]]
        got = standin.grid("Scores")
        assert [got[0], *sorted(got[1:])] == expected
        assert standin.sheets[scores_id].properties["title"] == "Scores"  # the same worksheet, not a new one
        assert standin.grid("Log") == expected
        second = run_pds("build", "--project-dir", str(root), env=env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert standin.grid("Log") == [expected[0], *expected[1:], *expected[1:]]  # appended below
        assert [t for t in (s.properties["title"] for s in standin.sheets.values()) if "pds-tmp" in t] == []
        assert "export scores_sheet to sheets ${CHURN_SHEET_ID} worksheet 'Scores' (replace)" in second.stdout
        recorded = query(root, "select name, status, rows, destination_type from pds_results.pds_export_results "
                               "order by completed_at, name")
        assert recorded[-2:] == [("scores_log", "success", 3, "sheets"), ("scores_sheet", "success", 3, "sheets")]
        _no_secret(root, env, first.stdout, first.stderr, second.stdout, second.stderr)


def test_a_failing_check_or_refused_call_leaves_the_worksheet(tmp_path, key):
    root = scores_project(tmp_path / "shop", EXPORTS)
    standin = StandIn(SHEET_ID, _public(key))
    standin.add_sheet("Scores", [["customer_id", "score"], [9, 0.5]])
    with serve(standin) as url:
        env = _env(key, url, standin)
        held = run_pds("build", "--project-dir", str(root), "--vars", "{bad_rows: 1}", env=env)
        assert held.returncode == 1
        assert "SKIP  export scores_sheet: skipped: test not_null_stg_orders_order_id failed (error)" in held.stdout
        assert standin.grid("Scores") == [["customer_id", "score"], [9, 0.5]]
        standin.faults += [("batchUpdate", 403)] * 3  # the service account may not edit: not retried
        refused = run_pds("build", "--project-dir", str(root), "-s", "customer_scores", env=env)
        assert refused.returncode == 1
        assert "ERROR scores_sheet: export scores_sheet: POST :batchUpdate: HTTP 403" in refused.stdout, refused.stdout
        assert "share the spreadsheet with pds@churn.iam.gserviceaccount.com as an editor" in refused.stdout
        assert standin.grid("Scores") == [["customer_id", "score"], [9, 0.5]]
        _no_secret(root, env, held.stdout, held.stderr, refused.stdout, refused.stderr)


def test_a_missing_key_variable_fails_the_export_with_its_name(tmp_path, key):
    root = scores_project(tmp_path / "shop", EXPORTS)
    standin = StandIn(SHEET_ID, _public(key))
    with serve(standin) as url:
        env = {**_env(key, url, standin), "CHURN_SHEETS_KEY": ""}
        result = run_pds("build", "--project-dir", str(root), env=env)
    assert result.returncode == 1
    assert "the environment variable CHURN_SHEETS_KEY is not set" in result.stdout, result.stdout
