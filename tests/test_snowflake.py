"""The Snowflake adapter end to end: the real CLI and snowflake-connector-python against fakesnow.

One fakesnow server serves the module; each test builds in a schema of its own. What fakesnow
cannot show (SWAP WITH's own atomicity, real authentication) is listed in docs/adapters/snowflake.md.
"""

from __future__ import annotations

import json
import shutil
import socket
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests import engine_snowflake as es
from tests.conftest import TEMPLATE, run_pds

pytestmark = [pytest.mark.snowflake, pytest.mark.skipif(es.unavailable() is not None, reason=str(es.unavailable()))]


@pytest.fixture(scope="module")
def sf_port():
    with es.server() as port:
        yield port


@pytest.fixture
def sf(template_project: Path, sf_port: int) -> tuple[Path, dict, str]:
    """The template project with a profiles.yml whose target `sf` is a fresh schema on fakesnow."""
    schema = f"pds_{uuid.uuid4().hex[:8]}"
    settings = es.settings_for(sf_port, schema)
    write_profiles(template_project, settings)
    return template_project, settings, schema


def write_profiles(project: Path, settings: dict) -> None:
    profile = {"pds_template": {"target": "sf", "outputs": {"sf": settings}}}
    (project / "profiles.yml").write_text(yaml.safe_dump(profile))


def build(project: Path, *args: str):
    return run_pds("build", "--project-dir", str(project), *args, timeout=240)


def query(settings: dict, sql: str) -> list[tuple]:
    import contextlib

    with contextlib.closing(es._connect(settings)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """Values as plain text and rounded floats: dates read back as date or Timestamp compare equal."""
    out = df.copy()
    for name in out.columns:
        if pd.api.types.is_float_dtype(out[name].dtype):
            out[name] = out[name].round(9)
        else:
            out[name] = [None if pd.isna(v) else str(v)[:10] if hasattr(v, "year") else str(v) for v in out[name]]
    return out


def staging_left(settings: dict, schema: str) -> list[str]:
    rows = query(settings, f"SELECT table_name FROM {es.DATABASE}.information_schema.tables "
                           f"WHERE table_schema = '{schema.upper()}'")
    return [r[0] for r in rows if "__PDS_" in r[0]]


@pytest.mark.slow
def test_template_builds_like_duckdb(sf, tmp_path):
    project, settings, schema = sf
    result = build(project)
    assert result.returncode == 0, result.stdout + result.stderr

    # names are folded to upper case, so plain unquoted SQL finds them
    tables, views = ({r[0] for r in query(settings, f"SELECT table_name FROM {es.DATABASE}.information_schema.{kind} "
                                                    f"WHERE table_schema = '{schema.upper()}'")}
                     for kind in ("tables", "views"))
    assert {"CUSTOMERS", "ORDERS", "CUSTOMER_ORDERS", "DAILY_REVENUE", "CHURN_SCORES"} <= tables
    assert {"STG_ORDERS", "STG_CUSTOMERS"} <= views
    assert query(settings, f"select count(*) from {es.DATABASE}.{schema}.churn_scores") == [(60,)]
    assert staging_left(settings, schema) == []

    seeds = TEMPLATE / "seeds"
    orders = pd.read_csv(seeds / "orders.csv")
    revenue = es.read_table(settings, schema, "daily_revenue")
    completed = orders[orders.status == "completed"]
    assert len(revenue) == completed.order_date.nunique()
    assert revenue.revenue.sum() == pytest.approx(completed.amount_cents.sum() / 100)

    # the same project on DuckDB gives the same tables (the Python model went through write_pandas)
    duck = tmp_path / "duck"
    shutil.copytree(TEMPLATE, duck, ignore=shutil.ignore_patterns("target", "*.duckdb*", "profiles.yml"))
    assert build(duck).returncode == 0
    import duckdb

    (db,) = duck.glob("*.duckdb")
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table, key in (("churn_scores", "customer_id"), ("customer_orders", "customer_id")):
            ours = es.read_table(settings, schema, table).sort_values(key).reset_index(drop=True)
            theirs = con.execute(f"select * from main.{table}").df().sort_values(key).reset_index(drop=True)
            pd.testing.assert_frame_equal(comparable(ours), comparable(theirs), check_dtype=False)
    finally:
        con.close()


def test_seeds_keep_their_types(sf):
    project, settings, schema = sf
    result = run_pds("seed", "--project-dir", str(project), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    types = dict(query(settings, f"SELECT column_name, data_type FROM {es.DATABASE}.information_schema.columns "
                                 f"WHERE table_schema = '{schema.upper()}' AND table_name = 'ORDERS'"))
    assert types["AMOUNT_CENTS"] == "NUMBER" and types["ORDER_DATE"] == "DATE", types
    expected = pd.read_csv(TEMPLATE / "seeds" / "customers.csv")
    got = es.read_table(settings, schema, "customers").sort_values("customer_id").reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    assert got.name.tolist() == expected.name.tolist()
    assert [str(d)[:10] for d in got.signup_date] == expected.signup_date.tolist()


@pytest.mark.slow
def test_incremental_merge_and_delete_insert_on_second_build(sf):
    project, settings, schema = sf
    (project / "models" / "marts" / "daily_orders_di.sql").write_text(
        "{{ config(materialized='incremental', unique_key='order_date', incremental_strategy='delete+insert') }}\n"
        "select order_date, count(*) as orders from {{ ref('stg_orders') }}\n"
        "{% if is_incremental() %} where order_date >= (select max(order_date) from {{ this }}) {% endif %}\n"
        "group by order_date\n")
    assert build(project).returncode == 0
    before = es.read_table(settings, schema, "daily_revenue").set_index("order_date")
    last = max(before.index)

    seed = project / "seeds" / "orders.csv"
    orders = pd.read_csv(seed)
    new = pd.DataFrame({"order_id": [9001, 9002, 9003], "customer_id": [1, 2, 3],
                        "order_date": [str(last)[:10], "2025-01-15", "2025-01-15"],
                        "amount_cents": [10000, 2500, 1500], "status": ["completed"] * 3})
    pd.concat([orders, new]).to_csv(seed, index=False)

    result = build(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "merge into" in result.stdout and "delete+insert into" in result.stdout
    after = es.read_table(settings, schema, "daily_revenue").set_index("order_date")
    assert after.index.is_unique and len(after) == len(before) + 1
    assert after.loc[last, "revenue"] == pytest.approx(before.loc[last, "revenue"] + 100)
    assert after.loc[last, "orders"] == before.loc[last, "orders"] + 1
    new_day = [d for d in after.index if str(d).startswith("2025-01-15")]
    assert len(new_day) == 1 and after.loc[new_day[0], "revenue"] == pytest.approx(40.0)
    unchanged = [d for d in before.index if d != last]
    assert after.loc[unchanged, "revenue"].tolist() == before.loc[unchanged, "revenue"].tolist()
    di = es.read_table(settings, schema, "daily_orders_di").set_index("order_date")
    assert di.index.is_unique and di.loc[new_day[0], "orders"] == 2
    assert staging_left(settings, schema) == []


@pytest.mark.slow
def test_failed_model_keeps_the_old_table(sf):
    project, settings, schema = sf
    assert build(project).returncode == 0
    old = es.read_table(settings, schema, "customer_orders").sort_values("customer_id").reset_index(drop=True)
    old_scores = es.read_table(settings, schema, "churn_scores")

    model = project / "models" / "marts" / "customer_orders.sql"
    # fails in the warehouse while the new table is being built, after compile succeeded
    model.write_text(model.read_text() + "\nwhere cast(c.customer_name as integer) > 0\n")
    result = build(project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "customer_orders" in result.stdout
    now = es.read_table(settings, schema, "customer_orders").sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(now, old)
    assert len(es.read_table(settings, schema, "churn_scores")) == len(old_scores) == 60
    assert staging_left(settings, schema) == []
    results = json.loads((project / "target" / "run_results.json").read_text())
    statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in results["results"]}
    assert statuses["customer_orders"] == "error" and statuses["churn_scores"] == "skipped"


def test_connection_error_names_target_and_account_not_password(template_project):
    with socket.socket() as sock:  # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = {"type": "snowflake", "account": "fakesnow", "user": "pds", "password": es.PASSWORD,
                "database": es.DATABASE, "schema": "analytics", "host": "127.0.0.1", "port": port,
                "protocol": "http", "connect_timeout": 5}
    write_profiles(template_project, settings)
    result = build(template_project)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "'sf'" in out and "fakesnow" in out and f"127.0.0.1:{port}" in out
    assert es.PASSWORD not in out and "Traceback" not in out


@pytest.mark.slow
def test_key_pair_auth_and_bad_passphrase(template_project, sf_port, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    passphrase = "key-Passphrase-71c2"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "rsa_key.p8"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(passphrase.encode())))
    settings = es.settings_for(sf_port, "keys")
    del settings["password"]
    settings |= {"private_key_path": str(path), "private_key_passphrase": passphrase}
    write_profiles(template_project, settings)
    result = run_pds("debug", "--project-dir", str(template_project), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr  # fakesnow accepts the JWT; Snowflake checks it

    settings["private_key_passphrase"] = "wrong-" + passphrase
    write_profiles(template_project, settings)
    result = run_pds("debug", "--project-dir", str(template_project), timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "cannot read the private key" in out, out
    assert passphrase not in out and "Traceback" not in out


def test_target_without_credentials_is_a_profile_error(template_project):
    write_profiles(template_project, {"type": "snowflake", "account": "acme-xy12345", "user": "pds",
                                      "database": "analytics", "schema": "dev", "warehouse": "wh"})
    result = run_pds("debug", "--project-dir", str(template_project), timeout=60)
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "has no credentials" in out and "private_key_path" in out, out
