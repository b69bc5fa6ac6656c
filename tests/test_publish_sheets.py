"""Google Sheets destination against a stand-in of the Sheets REST API and the OAuth token endpoint
(tests/sheets_standin.py), started on 127.0.0.1 by each test and stopped after it."""

from __future__ import annotations

import datetime as dt
import json
import threading

import httpx
import pandas as pd
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pds_core.publish.sheets import SheetsFailed, SheetsSpec, write_sheet
from tests.sheets_standin import StandIn, serve

SHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
ENV = "GOOGLE_SHEETS_CREDENTIALS"
OLD = [["customer_id", "score"], [9, 0.5], [8, 0.25]]


def _key() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, public


@pytest.fixture(scope="module")
def keys():
    return _key()


def _environ(key: rsa.RSAPrivateKey) -> dict[str, str]:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "churn", "private_key_id": "0123456789abcdef0123",
            "private_key": pem, "client_email": "pds-export@churn.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}  # overridden by token_url: no request leaves 127.0.0.1
    return {ENV: json.dumps(info)}


def _spec(url: str, standin: StandIn, **kw) -> SheetsSpec:
    settings = {"worksheet": "Scores", "backoff": 0.01, **kw}
    return SheetsSpec(spreadsheet_id=SHEET_ID, api_url=url + "/v4/spreadsheets", token_url=standin.token_url, **settings)


def _scores(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": range(1, n + 1), "score": [i / n for i in range(n)], "band": ["=1+1"] + ["low"] * (n - 1),
        "active": [i % 2 == 0 for i in range(n)], "scored_on": [dt.date(2025, 1, 31)] * n,
        "scored_at": pd.to_datetime(["2025-01-31 06:00:00"] * n), "note": [None] * (n - 1) + ["last"],
        "big": [2**60] * n})


def _expected(frame: pd.DataFrame) -> list[list]:
    day = (dt.datetime(2025, 1, 31) - dt.datetime(1899, 12, 30)).days
    rows = [list(frame.columns)]
    for r in frame.itertuples(index=False):
        note = None if pd.isna(r.note) else r.note
        row = [r.customer_id, r.score, r.band, r.active, day, day + 0.25, note, str(2**60)]
        while row and row[-1] is None:
            row.pop()
        rows.append(row)
    return rows


def test_replace_is_atomic_for_a_concurrent_reader_and_keeps_the_worksheet(keys):
    key, public = keys
    standin = StandIn(SHEET_ID, public, stall=0.02)
    scores_id = standin.add_sheet("Scores", OLD)
    standin.add_sheet("Other", [["keep me"]])
    standin.tokens.add("reader-token")
    frame = _scores()
    with serve(standin) as url:
        seen: list[list] = []
        stop = threading.Event()

        def reader() -> None:  # what a person with the sheet open gets, through the API
            with httpx.Client(headers={"Authorization": "Bearer reader-token"}) as client:
                while not stop.is_set():
                    got = client.get(f"{url}/v4/spreadsheets/{SHEET_ID}/values/'Scores'!A1:Z",
                                     params={"valueRenderOption": "UNFORMATTED_VALUE"})
                    assert got.status_code == 200
                    seen.append(got.json()["values"])

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            result = write_sheet(_spec(url, standin, batch_size=7), iter([frame.iloc[:25], frame.iloc[25:]]),
                                 environ=_environ(key))
            done = len(seen)
            while len(seen) < done + 2 and thread.is_alive():  # a read that began after the export ended
                threading.Event().wait(0.01)
        finally:
            stop.set()
            thread.join()
    new = _expected(frame)
    assert (result.rows, result.batches) == (40, 6)  # 41 rows with the header, 7 per request
    assert standin.grid("Scores") == new and standin.grid("Other") == [["keep me"]]
    assert [s.properties["title"] for s in standin.sheets.values()] == ["Scores", "Other"]  # no temporary left
    assert next(iter(standin.sheets)) == scores_id  # same worksheet id: links and references keep working
    assert all(grid in (OLD, new) for grid in seen), "a reader saw a half-written worksheet"
    assert OLD in seen and new in seen  # the reader really read during the export
    sheet = standin.sheets[scores_id]
    assert sheet.properties["gridProperties"] == {"rowCount": 41, "columnCount": 8, "frozenRowCount": 1}
    assert sheet.formats[(0, 0)] == {"textFormat": {"bold": True}}
    assert sheet.formats[(1, 4)]["numberFormat"]["type"] == "DATE"
    assert sheet.formats[(40, 5)]["numberFormat"] == {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}
    assert standin.grid("Scores")[1][2] == "=1+1"  # sent RAW (the stand-in takes nothing else): text, not a formula
    assert [k for _m, k, status in standin.log if status != 200] == []


def test_replace_creates_a_missing_worksheet_and_removes_a_stale_temporary(keys):
    key, public = keys
    standin = StandIn(SHEET_ID, public)
    standin.add_sheet("Sheet1", [["x"]])
    standin.add_sheet("pds-tmp-Scores-deadbeef", [["left by a killed run"]])
    with serve(standin) as url:
        write_sheet(_spec(url, standin), iter([_scores(4)]), environ=_environ(key))
    assert [s.properties["title"] for s in standin.sheets.values()] == ["Sheet1", "Scores"]
    assert standin.grid("Scores") == _expected(_scores(4))
    assert standin.sheets[max(standin.sheets)].properties["hidden"] is False


def test_append_writes_the_header_once_then_rows_below_and_refuses_other_columns(keys):
    key, public = keys
    standin = StandIn(SHEET_ID, public)
    standin.add_sheet("Sheet1", [["x"]])
    frame = _scores(6)
    with serve(standin) as url:
        spec = _spec(url, standin, mode="append", worksheet="History", batch_size=4)
        first = write_sheet(spec, iter([frame.iloc[:3], frame.iloc[3:]]), environ=_environ(key))
        second = write_sheet(spec, iter([frame.iloc[:2]]), environ=_environ(key))
        with pytest.raises(SheetsFailed, match=r"has the columns \['customer_id'.*append needs the same columns"):
            write_sheet(spec, iter([frame[["score", "customer_id"]]]), environ=_environ(key))
    expected = _expected(frame)
    assert (first.rows, first.batches, second.rows) == (6, 2, 2)
    assert standin.grid("History") == expected + expected[1:3]


def test_429_and_5xx_are_retried_with_backoff(keys):
    key, public = keys
    standin = StandIn(SHEET_ID, public, faults=[("values", 429), ("batchUpdate", 503), ("get", 500)])
    standin.add_sheet("Scores", OLD)
    slept, retried = [], []
    with serve(standin) as url:
        result = write_sheet(_spec(url, standin, backoff=0.5), iter([_scores(3)]), environ=_environ(key),
                             sleep=slept.append, on_retry=lambda n, reason, delay: retried.append((n, reason)))
    assert result.retries == 3 and slept == [0.5, 0.5, 0.5]
    assert sorted(r for _n, r in retried) == ["HTTP 429 stand-in fault", "HTTP 500 stand-in fault",
                                              "HTTP 503 stand-in fault"]
    assert standin.grid("Scores") == _expected(_scores(3))


def test_a_failed_replace_leaves_the_worksheet_as_it_was_and_no_secret_in_the_message(keys):
    key, public = keys
    standin = StandIn(SHEET_ID, public, faults=[("values", 500)] * 3)
    standin.add_sheet("Scores", OLD)
    environ = _environ(key)
    info = json.loads(environ[ENV])
    with serve(standin) as url:
        with pytest.raises(SheetsFailed) as caught:
            write_sheet(_spec(url, standin, retries=2), iter([_scores(3)]), environ=environ, sleep=lambda _s: None)
        standin.faults[:] = [("batchUpdate", 403)]
        with pytest.raises(SheetsFailed) as refused:
            write_sheet(_spec(url, standin), iter([_scores(3)]), environ=environ)
    message = str(caught.value)
    assert "HTTP 500" in message and "after 3 attempts" in message
    assert "share the spreadsheet with pds-export@churn.iam.gserviceaccount.com" in str(refused.value)
    assert standin.grid("Scores") == OLD
    assert [s.properties["title"] for s in standin.sheets.values()] == ["Scores"]  # temporary removed
    for text in (message, str(refused.value)):
        assert not any(t in text for t in standin.tokens) and info["private_key"][40:80] not in text
        assert info["private_key_id"] not in text


def test_credentials_problems_are_clear_and_never_show_the_key(keys):
    key, public = keys
    other_key, _ = _key()  # a key the token endpoint does not know
    standin = StandIn(SHEET_ID, public)
    standin.add_sheet("Scores", OLD)
    with serve(standin) as url:
        with pytest.raises(SheetsFailed, match=f"the environment variable {ENV} is not set"):
            write_sheet(_spec(url, standin), iter([_scores(2)]), environ={})
        with pytest.raises(SheetsFailed, match="does not hold a valid service account key") as bad:
            write_sheet(_spec(url, standin), iter([_scores(2)]), environ={ENV: '{"private_key": "s3cr3t-value"}'})
        assert "s3cr3t-value" not in str(bad.value)
        environ = _environ(other_key)
        with pytest.raises(SheetsFailed, match="could not get an access token") as denied:
            write_sheet(_spec(url, standin), iter([_scores(2)]), environ=environ)
    pem = json.loads(environ[ENV])["private_key"]
    assert pem[40:80] not in str(denied.value) and "invalid_grant" in str(denied.value)
    assert standin.grid("Scores") == OLD and not standin.tokens
