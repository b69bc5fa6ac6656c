"""`pds serve` pieces under a real uvicorn on 127.0.0.1 with a real HTTP client (httpx): snapshots,
lookups, filtered pages with cursors, formats, tokens, switch-over under concurrent requests, scoring."""

from __future__ import annotations

import io
import logging
import threading

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pds_core.serve.app import create_app
from pds_core.serve.auth import Auth, ServeConfigError, check_host
from pds_core.serve.scoring import ScoringModel
from pds_core.serve.served import Served
from pds_core.serve.server import running
from pds_core.serve.store import SnapshotError, SnapshotStore

N = 5000


def _scores(version: int = 1, n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(version)
    frame = pd.DataFrame({
        "customer_id": rng.permutation(n) + 1, "churn_probability": rng.random(n).round(6),
        "risk_band": rng.choice(["low", "medium", "high"], n), "region": rng.choice(["eu", "us"], n),
        "tenure_months": rng.integers(0, 60, n),
        "scored_at": pd.Timestamp("2025-01-31") + pd.to_timedelta(rng.integers(0, 86_400, n), "s"),
        "version": version})
    frame.loc[frame.index[::97], "churn_probability"] = np.nan  # some NULL scores
    return frame


@pytest.fixture()
def store(tmp_path) -> SnapshotStore:
    store = SnapshotStore(tmp_path / "target" / "serve")
    store.publish("churn_scores", _scores(), ["customer_id"], run_id="run-1")
    return store


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("customer_id").reset_index(drop=True)


def _all_pages(client: httpx.Client, url: str, params: dict) -> list[dict]:
    rows, cursor, pages = [], None, 0
    while True:
        got = client.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert got.status_code == 200, got.text
        body = got.json()
        rows += body["rows"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return rows
        assert pages < 1000


def test_lookups_pages_filters_and_formats(store):
    frame = _expected(_scores())
    served = Served(store, poll=0)
    with running(create_app(served)) as url, httpx.Client(base_url=url) as client:
        one = client.get("/models/churn_scores/rows/42")
        assert one.status_code == 200 and one.headers["x-pds-snapshot"] == store.current_id("churn_scores")
        row = one.json()["row"]
        want = frame[frame.customer_id == 42].iloc[0]
        assert row["risk_band"] == want.risk_band and row["tenure_months"] == want.tenure_months
        assert row["scored_at"] == want.scored_at.isoformat()
        assert client.get("/models/churn_scores/rows/999999").status_code == 404
        bad = client.get("/models/churn_scores/rows/abc")
        assert bad.status_code == 400 and "not a valid integer" in bad.json()["detail"]
        for params, expected in [
            ({"risk_band": "high"}, frame[frame.risk_band == "high"]),
            ({"churn_probability__gt": "0.9", "tenure_months__lte": "12"},
             frame[(frame.churn_probability > 0.9) & (frame.tenure_months <= 12)]),
            ({"risk_band__in": "low,medium", "region__ne": "eu"}, frame[frame.risk_band.isin(["low", "medium"])
                                                                       & (frame.region != "eu")]),
            ({"churn_probability__isnull": "true"}, frame[frame.churn_probability.isna()]),
            ({"risk_band__gte": "lox"}, frame[frame.risk_band >= "lox"]),  # text range, a value not in the column
            ({"scored_at__lt": "2025-01-31T01:00:00"}, frame[frame.scored_at < "2025-01-31T01:00:00"]),
        ]:
            rows = _all_pages(client, "/models/churn_scores/rows", {**params, "limit": 700})
            assert [r["customer_id"] for r in rows] == expected.customer_id.tolist(), params
        everything = _all_pages(client, "/models/churn_scores/rows", {"limit": 10_000})
        assert len(everything) == N
        csv = client.get("/models/churn_scores/rows", params={"region": "eu", "format": "csv", "limit": 50,
                                                              "columns": "customer_id,risk_band"})
        assert csv.headers["content-type"].startswith("text/csv") and "x-next-cursor" in csv.headers
        got = pd.read_csv(io.StringIO(csv.text))
        assert got.to_dict("records") == frame[frame.region == "eu"][["customer_id", "risk_band"]].head(50).to_dict("records")
        arrow = client.get("/models/churn_scores/rows", params={"limit": 10},
                           headers={"Accept": "application/vnd.apache.arrow.stream"})
        table = pa.ipc.open_stream(arrow.content).read_all()
        assert table.column("customer_id").to_pylist() == list(range(1, 11)) and table.num_columns == 7
        errors = [client.get("/models/churn_scores/rows", params=p) for p in
                  ({"risk_bnd": "x"}, {"risk_band__like": "x"}, {"format": "xml"}, {"limit": 0}, {"cursor": "zzz"})]
        assert [e.status_code for e in errors] == [400, 400, 400, 400, 400]
        assert "did you mean 'risk_band'" in errors[0].json()["detail"]
        assert client.get("/models/nope/rows").status_code == 404
        assert client.get("/health").json() == {"status": "ok", "models": 1,
                                                 "snapshots": {"churn_scores": store.current_id("churn_scores")}}
        described = client.get("/models/churn_scores").json()
        assert described["rows"] == N and described["key"] == ["customer_id"]
        assert "/models/{model}/rows/{key}" in client.get("/openapi.json").json()["paths"]
        assert "swagger" in client.get("/docs").text.lower()


def test_composite_keys_and_models_without_a_key(tmp_path):
    store = SnapshotStore(tmp_path)
    frame = pd.DataFrame({"region": ["eu", "us", "eu", "us"], "customer_id": [2, 1, 1, 2], "score": [0.1, 0.2, 0.3, 0.4]})
    store.publish("by_region", frame, ["region", "customer_id"])
    store.publish("unkeyed", frame, [])
    with pytest.raises(SnapshotError, match="not unique: 1 duplicate"):
        store.publish("by_region", pd.concat([frame, frame.head(1)]), ["region", "customer_id"])
    with pytest.raises(SnapshotError, match="key column 'id' is not among"):
        store.publish("by_region", frame, ["id"])
    served = Served(store, poll=0)
    with running(create_app(served)) as url, httpx.Client(base_url=url) as client:
        assert client.get("/models/by_region/rows/eu,2").json()["row"] == {"region": "eu", "customer_id": 2, "score": 0.1}
        assert client.get("/models/by_region/rows/eu").status_code == 400
        assert client.get("/models/unkeyed/rows/1").status_code == 400
        first = client.get("/models/unkeyed/rows", params={"limit": 2}).json()
        store.publish("unkeyed", frame, [])
        assert served.refresh() == ["unkeyed"]
        gone = client.get("/models/unkeyed/rows", params={"limit": 2, "cursor": first["next_cursor"]})
        assert gone.status_code == 410 and "republished" in gone.json()["detail"]


def test_a_cursor_continues_by_key_across_a_republish(store):
    served = Served(store, poll=0)
    with running(create_app(served)) as url, httpx.Client(base_url=url) as client:
        first = client.get("/models/churn_scores/rows", params={"limit": 100}).json()
        assert [r["customer_id"] for r in first["rows"]] == list(range(1, 101))
        fewer = _scores(2)
        fewer = fewer[(fewer.customer_id != 101) & (fewer.customer_id != 102)]  # the next keys are gone
        store.publish("churn_scores", fewer, ["customer_id"])
        assert served.refresh() == ["churn_scores"]
        second = client.get("/models/churn_scores/rows", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [r["customer_id"] for r in second["rows"]] == [103, 104, 105] and second["rows"][0]["version"] == 2


def test_tokens_per_model_and_no_secret_in_responses_or_logs(store, caplog, capfd):
    store.publish("other_model", pd.DataFrame({"id": [1, 2]}), ["id"])
    environ = {"PDS_SERVE_TOKEN_CHURN_SCORES": "churn-token-1234567890", "PDS_SERVE_TOKEN_OTHER_MODEL": "other-token-0987654321"}
    auth = Auth.from_env(["churn_scores", "other_model"], environ)
    admin = Auth.from_env(["churn_scores", "other_model"], {**environ, "PDS_SERVE_TOKEN": "admin-token-5555555555"})
    with pytest.raises(ServeConfigError, match="no token can read other_model: set PDS_SERVE_TOKEN_OTHER_MODEL"):
        Auth.from_env(["churn_scores", "other_model"], {"PDS_SERVE_TOKEN_CHURN_SCORES": "x" * 20})
    with pytest.raises(ServeConfigError, match="refusing to listen on 0.0.0.0 without tokens"):
        check_host("0.0.0.0", Auth())
    check_host("0.0.0.0", auth)  # with tokens another interface is allowed
    caplog.set_level(logging.INFO)
    bodies: list[str] = []
    with running(create_app(Served(store, poll=0), admin), auth=admin, access_log=True, log_level="info") as url, \
            httpx.Client(base_url=url) as client:
        def get(path: str, token: str | None = None) -> httpx.Response:
            got = client.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})
            bodies.append(got.text + str(dict(got.headers)))
            return got

        none = get("/models/churn_scores/rows/1")
        assert none.status_code == 401 and none.headers["www-authenticate"].startswith("Bearer")
        assert get("/models/churn_scores/rows/1", "wrong-token-000000000").status_code == 401
        assert get("/models/churn_scores/rows/1", "other-token-0987654321").status_code == 403
        assert get("/models/other_model/rows/1", "other-token-0987654321").status_code == 200
        assert get("/models/churn_scores/rows/1", "churn-token-1234567890").status_code == 200
        assert get("/models/other_model/rows", "admin-token-5555555555").status_code == 200
        assert get("/models/churn_scores/rows/1", "admin-token-5555555555").status_code == 200
        listed = get("/models", "other-token-0987654321").json()["models"]
        assert [m["model"] for m in listed] == ["other_model"]
        assert get("/models").status_code == 401
        assert get("/health").json() == {"status": "ok", "models": 2}  # nothing more without a token
        assert get("/models/nope/rows", "other-token-0987654321").status_code == 403
    out, err = capfd.readouterr()  # uvicorn's access log goes to its own handler on stderr
    logged = "\n".join(r.getMessage() for r in caplog.records) + out + err
    assert "GET /models/churn_scores/rows/1" in logged  # the access log ran
    for secret in ("churn-token-1234567890", "other-token-0987654321", "admin-token-5555555555", "wrong-token"):
        assert secret not in logged and not any(secret in b for b in bodies)


def test_switch_over_under_concurrent_requests_never_fails_and_never_mixes(store):
    served = Served(store, poll=0.02)
    errors: list[str] = []
    seen: dict[int, list[int]] = {}
    stop = threading.Event()
    snapshot_version = {store.current_id("churn_scores"): 1}

    def client_loop(worker: int, url: str) -> None:
        versions = seen.setdefault(worker, [])
        with httpx.Client(base_url=url, timeout=30) as client:
            i = 0
            while not stop.is_set():
                i += 1
                path = "/models/churn_scores/rows/" + str(1 + (i * 37 + worker) % N) if i % 2 else \
                    "/models/churn_scores/rows?risk_band=high&limit=200"
                got = client.get(path)
                if got.status_code != 200:
                    errors.append(f"{path}: {got.status_code} {got.text[:100]}")
                    continue
                body = got.json()
                rows = [body["row"]] if "row" in body else body["rows"]
                found = {r["version"] for r in rows}
                if len(found) != 1:
                    errors.append(f"{path}: one response mixed snapshots {found}")
                versions.append(found.pop())

    with running(create_app(served)) as url:
        threads = [threading.Thread(target=client_loop, args=(w, url)) for w in range(8)]
        for thread in threads:
            thread.start()
        while len(seen) < 8 or not all(seen.values()):  # every client has read the first snapshot
            threading.Event().wait(0.01)
        for version in range(2, 6):
            info = store.publish("churn_scores", _scores(version), ["customer_id"])
            snapshot_version[info.id] = version
            with pytest.raises(SnapshotError):  # a failed build between good ones publishes nothing
                store.publish("churn_scores", pd.concat([_scores(99), _scores(99).head(3)]), ["customer_id"])
            deadline = threading.Event()
            while served.get("churn_scores").info.id != info.id and not deadline.wait(0.01):
                pass
            threading.Event().wait(0.2)
        for _ in range(2000):  # every client has read the last snapshot (at most 20 s on a loaded machine)
            if all(v and v[-1] == 5 for v in seen.values()):
                break
            threading.Event().wait(0.01)
        stop.set()
        for thread in threads:
            thread.join()
        with httpx.Client(base_url=url) as client:
            final = client.get("/models/churn_scores/rows/7")
    assert errors == []
    assert all(v == sorted(v) for v in seen.values())  # each client only ever moved forward
    assert {v for vs in seen.values() for v in vs} >= {1, 5} and 99 not in {v for vs in seen.values() for v in vs}
    assert final.json()["row"]["version"] == 5 and snapshot_version[final.headers["x-pds-snapshot"]] == 5
    assert sum(len(v) for v in seen.values()) > 100


def _toy_scorer(model: str, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Stands in for running the model's own model(): reads its parent like model() reads ctx.ref()."""
    customers = frames["customers"]
    if (customers.tenure_months < 0).any():
        raise ValueError("tenure_months must not be negative")
    return pd.DataFrame({"customer_id": customers.customer_id,
                         "churn_probability": (1.0 / (1.0 + customers.tenure_months)).round(6),
                         "plan": customers.plan.str.upper(), "signup_year": customers.signup.dt.year})


def test_online_scoring_validates_inputs_and_answers_with_the_model_output(store):
    scoring = {"churn_scores": ScoringModel("churn_scores", {"customers": {
        "customer_id": "int64", "tenure_months": "int64", "plan": "string", "signup": "date32[day]"}})}
    rows = [{"customer_id": 1, "tenure_months": 3, "plan": "basic", "signup": "2024-02-29"},
            {"customer_id": 2, "tenure_months": 0, "plan": "pro", "signup": "2025-01-01"}]
    auth = Auth.from_env(["churn_scores"], {"PDS_SERVE_TOKEN_CHURN_SCORES": "score-token-123456789"})
    app = create_app(Served(store, poll=0), auth, scoring, _toy_scorer)
    headers = {"Authorization": "Bearer score-token-123456789"}
    with running(app, auth=auth) as url, httpx.Client(base_url=url, headers=headers) as client:
        got = client.post("/score/churn_scores", json={"inputs": {"customers": rows}})
        assert got.status_code == 200, got.text
        frame = pd.DataFrame(rows).astype({"signup": "datetime64[s]"})
        assert got.json() == {"model": "churn_scores", "rows": _toy_scorer("churn_scores", {"customers": frame})
                              .to_dict("records")}
        bare = client.post("/score/churn_scores", json=rows, params={"format": "csv"})
        assert bare.status_code == 200 and bare.text.splitlines()[1].startswith("1,0.25,")
        bad = client.post("/score/churn_scores", json={"inputs": {"customers": [
            {"customer_id": "x", "tenure_months": 1.5, "plan": "pro", "signup": "2025-13-01"},
            {"customer_id": 3, "plan": "pro", "signup": "2025-01-01", "colour": "red"}]}})
        assert bad.status_code == 422
        assert bad.json()["detail"] == [
            "inputs.customers[1]: missing column tenure_months",
            "inputs.customers[1]: unknown column colour; columns: customer_id, tenure_months, plan, signup",
            "inputs.customers[0].customer_id: 'x' is not an integer",
            "inputs.customers[0].tenure_months: 1.5 is not an integer",
            "inputs.customers[0].signup: '2025-13-01' is not a date (YYYY-MM-DD)"]
        assert client.post("/score/churn_scores", json={"inputs": {"orders": []}}).status_code == 422
        assert client.post("/score/churn_scores", content=b"{not json").status_code == 422
        failing = client.post("/score/churn_scores", json=[{**rows[0], "tenure_months": -1}])
        assert failing.status_code == 500
        assert failing.json()["detail"] == "model() of churn_scores failed: ValueError: tenure_months must not be negative"
        assert client.post("/score/other", json=rows).status_code == 403  # this token reads churn_scores only
        assert httpx.post(f"{url}/score/churn_scores", json=rows).status_code == 401


def test_store_keeps_three_snapshots_and_a_snapshot_that_cannot_load_never_replaces_a_good_one(tmp_path, caplog):
    store = SnapshotStore(tmp_path)
    ids = [store.publish("churn_scores", _scores(v, 50), ["customer_id"]).id for v in range(1, 6)]
    folder = tmp_path / "churn_scores"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ids[2:]
    (folder / ".pds-tmp-leftover").mkdir()  # a publish killed half way
    served = Served(store, poll=0)
    assert served.refresh() == ["churn_scores"] and served.get("churn_scores").info.id == ids[-1]
    broken = store.publish("churn_scores", _scores(6, 50), ["customer_id"])
    assert not (folder / ".pds-tmp-leftover").exists()
    store.rows_path("churn_scores", broken.id).write_bytes(b"not an arrow file")
    caplog.set_level(logging.ERROR)
    assert served.refresh() == []
    assert served.get("churn_scores").info.id == ids[-1]  # still the last good one
    assert f"could not load snapshot {broken.id} of churn_scores" in caplog.text
