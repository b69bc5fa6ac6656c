"""The Spark target through the real `pds` CLI: persistence across processes, an unreachable
Connect server, and the build lock on both kinds of target.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests import spark_kit
from tests.conftest import run_pds

pytestmark = pytest.mark.spark
TOKEN = "sc-Secret-7f2e91"  # must never be printed


@pytest.fixture(scope="module", autouse=True)
def _spark_here() -> None:
    reason = spark_kit.unavailable()
    if reason:
        pytest.skip(reason)


def small_project(folder: Path, target: dict) -> Path:
    """A seed, a view, a table and an incremental model, on the given spark target."""
    (folder / "models").mkdir(parents=True)
    (folder / "seeds").mkdir()
    (folder / "pds_project.yml").write_text("name: sparkling\nprofile: sparkling\ndialect: duckdb\n")
    (folder / "profiles.yml").write_text(yaml.safe_dump({"sparkling": {"target": "dev", "outputs": {"dev": target}}}))
    (folder / "seeds" / "orders.csv").write_text("order_id,amount,placed_on\n1,10.5,2024-01-01\n2,4.0,2024-01-02\n"
                                                 "3,7.25,2024-01-02\n")
    (folder / "models" / "daily.sql").write_text(
        "{{ config(materialized='table') }}\nselect placed_on, count(*) as orders, sum(amount) as amount\n"
        "from {{ ref('orders') }} group by placed_on\n")
    (folder / "models" / "big.sql").write_text("select * from {{ ref('orders') }} where amount > 5\n")
    (folder / "models" / "loaded.sql").write_text(
        "{{ config(materialized='incremental', incremental_strategy='append') }}\n"
        "select order_id, amount from {{ ref('orders') }}\n"
        "{% if is_incremental() %}where order_id > (select max(order_id) from {{ this }}){% endif %}\n")
    return folder


def test_tables_persist_from_one_process_to_the_next(tmp_path: Path) -> None:
    """`pds build` in one process, `pds show` in another: the local warehouse inside the project
    (no warehouse: key) keeps the tables, like the DuckDB file of the default target."""
    # delta: the core's fingerprint table takes a DELETE, which parquet tables do not have (see the docs)
    project = small_project(tmp_path / "proj", {"type": "spark", "master": "local[2]", "schema": "shop",
                                                "file_format": "delta", "threads": 2})
    built = run_pds("build", "--project-dir", str(project), cwd=project, timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (project / "spark-warehouse" / "metastore_db").is_dir()
    assert (project / "spark-warehouse" / "shop.db").is_dir()
    shown = run_pds("show", "daily", "--output", "json", "--project-dir", str(project), cwd=project, timeout=900)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    rows = json.loads(shown.stdout.strip().splitlines()[-1])
    got = {r["placed_on"][:10]: (r["orders"], r["amount"]) for r in rows}
    assert got == {"2024-01-01": (1, 10.5), "2024-01-02": (2, 11.25)}


def test_unreachable_connect_server_is_a_clear_error(tmp_path: Path) -> None:
    port = spark_kit.free_port()  # nothing listens there
    project = small_project(tmp_path / "proj", {
        "type": "spark", "method": "connect", "host": f"sc://127.0.0.1:{port}", "connect_timeout": 3,
        "token": "{{ env_var('PDS_TEST_SPARK_TOKEN') }}", "schema": "shop"})
    done = run_pds("build", "--project-dir", str(project), env={"PDS_TEST_SPARK_TOKEN": TOKEN}, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert f"cannot reach the Spark Connect server at sc://127.0.0.1:{port}" in output
    assert "Traceback" not in output and TOKEN not in output


def test_build_lock_on_a_local_warehouse_and_on_connect(tmp_path: Path) -> None:
    local = spark_kit.adapter(spark_kit.local_settings("locks"))
    try:
        assert local.lock_file() == str(spark_kit.local_warehouse() / ".pds-lock")
    finally:
        local.close()
    first = spark_kit.adapter(spark_kit.connect_settings("locks"))
    second = spark_kit.adapter(spark_kit.connect_settings("locks"))
    try:
        assert first.lock_file() is None and first.supports_advisory_lock
        assert first.try_advisory_lock(1) is True
        assert second.try_advisory_lock(1) is False
        holder = second.advisory_lock_holder(1)
        assert holder is not None and f"pid {os.getpid()}" in holder and "pds_build_lock" in holder
        assert ("locks", "pds_build_lock") not in first.list_relations(["locks"])  # hidden from the project
        first.advisory_unlock(1)
        assert second.try_advisory_lock(1) is True
        second.advisory_unlock(1)
    finally:
        first.close()
        second.close()
