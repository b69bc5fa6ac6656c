"""BigQuery end to end through the real CLI and the real google-cloud-bigquery client, against bqemulator.

One emulator serves the module; each test builds into its own dataset.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import engine_bigquery as bq
from tests.conftest import TEMPLATE, run_pds

pytestmark = pytest.mark.bigquery

FAILING_MODEL = """
-- divides by zero on BigQuery: the build of this table fails at run time, after compiling fine
select customer_id, 1 / (customer_id - customer_id) as boom from {{ ref('stg_customers') }}
"""

TYPES_MODEL = '''
import datetime as dt

import pandas as pd


def model(ctx):
    return pd.DataFrame({
        "id": pd.array([1, 2, 3], dtype="int64"),
        "maybe": pd.array([10, None, 30], dtype="Int64"),
        "ratio": [0.5, None, 2.25],
        "label": ["a", "b, with comma", 'c "quoted"'],
        "flag": [True, False, True],
        "day": [dt.date(2024, 1, 1), dt.date(2024, 2, 29), dt.date(2024, 12, 31)],
        "seen_at": pd.to_datetime(["2024-01-01 10:00:00", "2024-01-02 11:30:00", "2024-01-03 00:00:01"]),
        "seen_utc": pd.to_datetime(["2024-01-01 10:00:00", "2024-01-02 11:30:00", "2024-01-03 00:00:01"], utc=True),
        "band": pd.Categorical(["low", "high", "low"]),
    })
'''

DELETE_INSERT_MODEL = """
{{ config(materialized='incremental', unique_key='id', incremental_strategy='delete+insert') }}
-- with broken=true the INSERT fails (text into an INT64 column) after its DELETE ran
select customer_id as id,
       {% if var('broken', false) %}'x' || cast(customer_id as varchar){% else %}customer_id * 10{% endif %} as val
from {{ ref('customers') }}
where customer_id <= 3
"""

INCREMENTAL_PY = '''
import pandas as pd


def model(ctx):
    ctx.config(materialized="incremental", unique_key="id", incremental_strategy="merge")
    version = int(ctx.var("version", 1))
    ids = [1, 2] if version == 1 else [2, 3]
    return pd.DataFrame({"id": ids, "version": [version] * len(ids)})
'''


STANDARD = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}  # legacy type names the API may report


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    reason = bq.unavailable()
    if reason:
        pytest.skip(reason)
    with bq.emulator() as url:
        yield url


@pytest.fixture
def project(tmp_path: Path, endpoint: str) -> tuple[Path, dict]:
    """project_template in a temp folder, its profile pointing at a fresh dataset on the emulator."""
    folder = tmp_path / "proj"
    shutil.copytree(TEMPLATE, folder, ignore=shutil.ignore_patterns("target", "*.duckdb*", "__pycache__"))
    settings = bq.settings_for(endpoint, f"pds_{uuid.uuid4().hex[:8]}")
    write_profile(folder, settings)
    return folder, settings


def write_profile(folder: Path, settings: dict, name: str = "bq") -> None:
    (folder / "profiles.yml").write_text(yaml.safe_dump({"pds_template": {"target": name,
                                                                          "outputs": {name: settings}}}))


def build(folder: Path, *args: str, ok: bool = True):
    result = run_pds("build", "--project-dir", str(folder), *args)
    if ok:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def query(settings: dict, sql: str) -> list[tuple]:
    client = bq.client(settings)
    try:
        return [tuple(row.values()) for row in client.query(sql).result()]
    finally:
        client.close()


def tables(settings: dict) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """table name -> (TABLE or VIEW, [(column, standard SQL type)]) in the target's dataset."""
    client = bq.client(settings)
    try:
        found = {}
        for item in client.list_tables(f"{settings['project']}.{settings['dataset']}"):
            table = client.get_table(item.reference)
            found[item.table_id] = (item.table_type, [(f.name, STANDARD.get(f.field_type, f.field_type))
                                                      for f in table.schema])
        return found
    finally:
        client.close()


@pytest.mark.slow
def test_template_builds_with_right_types_and_values(project):
    folder, settings = project
    build(folder)
    ds = f"`{settings['project']}.{settings['dataset']}`"
    found = tables(settings)
    assert {name: kind for name, (kind, _) in found.items()} == {
        "customers": "TABLE", "orders": "TABLE", "stg_customers": "VIEW", "stg_orders": "VIEW",
        "customer_orders": "TABLE", "daily_revenue": "TABLE", "churn_scores": "TABLE"}  # no staged leftovers
    # seeds typed as dbt-bigquery types them (whole numbers INT64); column_types (amount_cents: integer) applied
    assert dict(found["orders"][1]) == {"order_id": "INT64", "customer_id": "INT64", "order_date": "DATE",
                                        "amount_cents": "INT64", "status": "STRING"}
    assert dict(found["churn_scores"][1]) == {"customer_id": "INT64", "churn_probability": "FLOAT64",
                                              "risk_band": "STRING", "scored_at": "DATETIME"}
    assert query(settings, f"select count(*) from {ds}.customers") == [(60,)]
    completed, revenue = query(settings, f"select (select sum(amount_cents) / 100 from {ds}.orders "
                                         f"where status = 'completed'), (select sum(revenue) from {ds}.daily_revenue)")[0]
    assert completed == pytest.approx(revenue)
    # DuckDB's date_diff('day', a, b) became BigQuery's DATE_DIFF(b, a, DAY): same numbers as on DuckDB
    assert query(settings, f"select order_count, lifetime_value, days_since_last_order from {ds}.customer_orders "
                           "where customer_id = 1") == [(2, pytest.approx(346.38), 135)]
    n, lo, hi = query(settings, f"select count(*), min(churn_probability), max(churn_probability) "
                                f"from {ds}.churn_scores")[0]
    assert n == 60 and 0 <= lo <= hi <= 1


@pytest.mark.slow
def test_second_build_merges_into_the_incremental_table(project):
    folder, settings = project
    build(folder)
    ds = f"`{settings['project']}.{settings['dataset']}`"
    (last_day, before), = query(settings, f"select order_date, revenue from {ds}.daily_revenue "
                                          "order by order_date desc limit 1")
    with (folder / "seeds" / "orders.csv").open("a") as f:  # one more order on the last day, one on a new day
        f.write(f"9001,1,{last_day.isoformat()},1000,completed\n9002,2,2030-01-01,2550,completed\n")
    result = build(folder)
    assert "merge into" in result.stdout
    rows = dict(query(settings, f"select order_date, revenue from {ds}.daily_revenue"))
    assert len(rows) == len(set(rows))  # merged on order_date: no duplicate days
    assert rows[last_day] == pytest.approx(before + 10.0)
    assert [v for d, v in rows.items() if d.year == 2030] == [pytest.approx(25.5)]
    completed, = query(settings, f"select sum(amount_cents) / 100 from {ds}.orders where status = 'completed'")[0]
    assert sum(rows.values()) == pytest.approx(completed)


@pytest.mark.slow
def test_python_models_load_every_type_and_merge(project):
    folder, settings = project
    (folder / "models" / "ml" / "all_types.py").write_text(TYPES_MODEL)
    (folder / "models" / "ml" / "versions.py").write_text(INCREMENTAL_PY)
    build(folder, "--select", "all_types", "versions")
    found = tables(settings)
    assert found["all_types"][1] == [("id", "INT64"), ("maybe", "INT64"), ("ratio", "FLOAT64"),
                                     ("label", "STRING"), ("flag", "BOOL"), ("day", "DATE"),
                                     ("seen_at", "DATETIME"), ("seen_utc", "TIMESTAMP"), ("band", "STRING")]
    df = bq.read_table(settings, settings["dataset"], "all_types").sort_values("id")
    assert df["maybe"].isna().tolist() == [False, True, False] and df["ratio"].isna().tolist() == [False, True, False]
    assert df["label"].tolist() == ["a", "b, with comma", 'c "quoted"']
    assert str(df["seen_at"].iloc[1]) == "2024-01-02 11:30:00" and df["band"].tolist() == ["low", "high", "low"]
    build(folder, "--select", "versions", "--vars", "{version: 2}")
    ds = f"`{settings['project']}.{settings['dataset']}`"
    assert query(settings, f"select id, version from {ds}.versions order by id") == [(1, 1), (2, 2), (3, 2)]
    assert not [t for t in tables(settings) if "__pds_" in t]  # staged DataFrames are dropped


@pytest.mark.slow
def test_seeds_replace_not_append(project):
    folder, settings = project
    for _ in range(2):
        result = run_pds("seed", "--project-dir", str(folder))
        assert result.returncode == 0, result.stdout + result.stderr
    ds = f"`{settings['project']}.{settings['dataset']}`"
    assert query(settings, f"select count(*) from {ds}.customers") == [(60,)]
    assert query(settings, f"select count(*) from {ds}.orders") == [(400,)]


@pytest.mark.slow
def test_failed_model_keeps_the_old_table(project):
    folder, settings = project
    build(folder)
    ds = f"`{settings['project']}.{settings['dataset']}`"
    before = query(settings, f"select * from {ds}.customer_orders order by customer_id")
    (folder / "models" / "marts" / "customer_orders.sql").write_text(FAILING_MODEL)
    result = build(folder, ok=False)
    assert result.returncode == 1
    assert "customer_orders" in result.stdout and "division by zero" in result.stdout.lower()
    assert query(settings, f"select * from {ds}.customer_orders order by customer_id") == before
    assert not [t for t in tables(settings) if "__pds_" in t]  # the staged table is gone too


@pytest.mark.slow
def test_connection_errors_name_the_target_and_hide_keys(project):
    folder, settings = project
    secret = "SUPERSECRETKEYMATERIAL"
    key = json.dumps({"type": "service_account", "project_id": "pds-test", "private_key_id": "id-" + secret,
                      "private_key": f"-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n",
                      "client_email": "pds@pds-test.iam.gserviceaccount.com",
                      "token_uri": "https://oauth2.googleapis.com/token"})
    write_profile(folder, {**settings, "method": "service-account-json",
                           "keyfile_json": "{{ env_var('PDS_TEST_BQ_KEY') }}"}, "prod")
    result = run_pds("build", "--project-dir", str(folder), env={"PDS_TEST_BQ_KEY": key})
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in out
    assert "target 'prod'" in out and "bigquery project pds-test" in out and secret not in out
    for artifact in (folder / "target").glob("*.json"):
        assert secret not in artifact.read_text()
    closed = bq.settings_for(f"http://127.0.0.1:{bq._free_port()}", settings["dataset"])
    write_profile(folder, closed, "offline")
    result = run_pds("build", "--project-dir", str(folder))
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "target 'offline'" in out and closed["api_endpoint"] in out


@pytest.mark.slow
def test_delete_insert_is_one_transaction(project):
    folder, settings = project
    (folder / "models" / "marts" / "by_id.sql").write_text(DELETE_INSERT_MODEL)
    build(folder, "--select", "customers", "by_id")
    build(folder, "--select", "by_id")
    ds = f"`{settings['project']}.{settings['dataset']}`"
    assert query(settings, f"select id, val from {ds}.by_id order by id") == [(1, 10), (2, 20), (3, 30)]
    result = build(folder, "--select", "by_id", "--vars", "{broken: true}", ok=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert query(settings, f"select id, val from {ds}.by_id order by id") == [(1, 10), (2, 20), (3, 30)]
