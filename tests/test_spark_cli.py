"""The Spark target through the real `pds` CLI: tables persisting from one process to the next, the
failure modes (an unreachable Connect server, a model failing mid-build, Ctrl-C during a Spark job),
plan- and compile-time errors that never start Spark, the docs site's warehouse reads, and the build
lock on both kinds of target.

Local-session builds start a JVM each (the project's own warehouse); Connect builds use the run's one
Connect server (tests/spark_kit.py), so most end-to-end cases run there.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import spark_kit
from tests.conftest import run_pds
from tests.test_core_interrupt import start

pytestmark = [pytest.mark.spark, pytest.mark.slow]
TOKEN = "sc-Secret-7f2e91"  # must never be printed


@pytest.fixture(scope="module", autouse=True)
def _spark_here() -> None:
    reason = spark_kit.unavailable()
    if reason:
        pytest.skip(reason)


def write(folder: Path, target: dict[str, Any], models: dict[str, str], dialect: str = "duckdb") -> Path:
    """A project with one seed (orders) and the given models, on the given spark target."""
    (folder / "models").mkdir(parents=True)
    (folder / "seeds").mkdir()
    (folder / "pds_project.yml").write_text(f"name: sparkling\nprofile: sparkling\ndialect: {dialect}\n")
    (folder / "profiles.yml").write_text(yaml.safe_dump({"sparkling": {"target": "dev", "outputs": {"dev": target}}}))
    (folder / "seeds" / "orders.csv").write_text("order_id,amount,placed_on\n1,10.5,2024-01-01\n2,4.0,2024-01-02\n"
                                                 "3,7.25,2024-01-02\n")
    for name, text in models.items():
        (folder / "models" / name).write_text(text)
    return folder


SHOP = {
    "daily.sql": "{{ config(materialized='table', partition_by='placed_on') }}\nselect placed_on, count(*) as orders, "
                 "sum(amount) as amount, monthname(placed_on) as month\nfrom {{ ref('orders') }} group by placed_on\n",
    "big.sql": "select * from {{ ref('orders') }} where amount > 5\n",
    "loaded.sql": "{{ config(materialized='incremental', incremental_strategy='append') }}\n"
                  "select order_id, amount from {{ ref('orders') }}\n"
                  "{% if is_incremental() %}where order_id > (select max(order_id) from {{ this }}){% endif %}\n",
}


def show(project: Path, model: str, **env: str) -> list[dict[str, Any]]:
    shown = run_pds("show", model, "--output", "json", "--project-dir", str(project), env=env, timeout=900)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return json.loads(shown.stdout.strip().splitlines()[-1])


def interrupt_after(proc: Any, finished: str, seconds: float) -> tuple[float, str]:
    """Ctrl-C `seconds` after node `finished` is done (the slow job has started by then); returns the
    seconds the process took to exit after the signal, and its stderr."""
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("event") == "node_finished" and event.get("name") == finished:
            break
    else:
        raise AssertionError(f"the build ended before {finished} finished: {proc.stderr.read()}")
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _out, err = proc.communicate(timeout=120)
    return time.monotonic() - sent, err


def test_a_local_parquet_warehouse_persists_and_ctrl_c_cancels_its_job(tmp_path: Path) -> None:
    """`pds build` in one process, `pds show` in another: the warehouse inside the project (no warehouse:
    key) keeps parquet tables, incremental models and pds's own tables, like the DuckDB file. Then a build
    whose Spark job would run for ever is cancelled by Ctrl-C within seconds (exit 130), old table intact."""
    target = {"type": "spark", "master": "local[2]", "schema": "shop", "file_format": "parquet", "threads": 2}
    project = write(tmp_path / "proj", target, {
        **SHOP, "slow.sql": "{{ config(materialized='table') }}\nselect id from range(0, {{ var('rows', 3) }}) where "
                            "coalesce(reflect('java.lang.Thread', 'sleep', cast({{ var('sleep_ms', 0) }} as bigint)), 'null') "
                            "= 'null' "  # sleep is void: reflect gives the string 'null'
                            "and id >= (select min(order_id) - 1 from {{ ref('loaded') }})\n"})
    (project / "pds_project.yml").write_text("name: sparkling\nprofile: sparkling\ndialect: spark\n")
    (project / "models" / "daily.sql").write_text(SHOP["daily.sql"].replace("monthname(placed_on)",
                                                                            "date_format(placed_on, 'MMMM')"))
    (project / "models" / "typed.sql").write_text("select cast(order_id as int) as order_id from {{ ref('orders') }}\n")
    (project / "models" / "schema.yml").write_text(  # an enforced contract, descriptions and grants on Spark
        "models:\n  - name: typed\n    config: {materialized: table, contract: {enforced: true}, "
        "persist_docs: {relation: true}, grants: {select: [reporter]}}\n    columns:\n"
        "      - {name: order_id, data_type: int, constraints: [{type: not_null}]}\n")
    built = run_pds("build", "--project-dir", str(project), timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    said = built.stdout + built.stderr  # each thing Spark does not do is said, never silently dropped
    assert "not_null constraints are not supported on spark" in said, said
    assert "persist_docs is set but pds does not write descriptions on spark" in said, said
    assert "grants are set but spark has no grants" in said, said
    assert sorted(r["order_id"] for r in show(project, "typed")) == [1, 2, 3]
    assert (project / "spark-warehouse" / "metastore_db").is_dir() and (project / "spark-warehouse" / "shop.db").is_dir()
    got = {r["placed_on"][:10]: (r["orders"], r["amount"], r["month"]) for r in show(project, "daily")}
    assert got == {"2024-01-01": (1, 10.5, "January"), "2024-01-02": (2, 11.25, "January")}

    proc = start(project, "--select", "+slow", "--vars", "{rows: 100000000, sleep_ms: 1000}")
    took, err = interrupt_after(proc, "loaded", seconds=10)
    assert proc.returncode == 130, err
    assert took < 20, f"exit took {took:.1f}s: the Spark job was waited for, not cancelled"
    assert "Traceback" not in err and not (project / "spark-warehouse" / ".pds-lock").exists()
    assert sorted(r["id"] for r in show(project, "slow")) == [0, 1, 2]  # the table of the first build


def test_connect_builds_fail_safely_and_the_docs_site_reads_the_warehouse(tmp_path: Path) -> None:
    """On the Connect server (Delta): a model that fails at run time leaves its old table (exit 1), the
    results tables record the run, and `pds docs generate` reads history and column types from Spark."""
    schema = f"cli_{os.getpid()}"
    models = {**SHOP, "merged.sql": "{{ config(materialized='incremental', unique_key='order_id') }}\n"
                                    "select order_id, amount * {{ var('factor', 1) }} as amount from {{ ref('orders') }}"
                                    "\n"}
    with spark_kit.dropped_schema(spark_kit.connect_settings(schema)) as target:
        project = write(tmp_path / "proj", target, models)
        built = run_pds("build", "--project-dir", str(project), timeout=900)
        assert built.returncode == 0, built.stdout + built.stderr
        (project / "models" / "merged.sql").write_text(models["merged.sql"].replace(
            "amount * {{ var('factor', 1) }}", "cast('not a number' as int)"))
        failed = run_pds("build", "--vars", "{factor: 2}", "--project-dir", str(project), timeout=900)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "merged" in failed.stdout and "Traceback" not in failed.stdout + failed.stderr
        spark = spark_kit.remote_session()
        try:
            rows = spark.table(spark_kit.table_name(schema, "merged")).orderBy("order_id").collect()
            assert [(r.order_id, r.amount) for r in rows] == [(1, 10.5), (2, 4.0), (3, 7.25)]
            runs = spark.sql(f"select status from {spark_kit.table_name('pds_results', 'pds_runs')} "
                             f"where project = 'sparkling' order by started_at").collect()
            assert [r.status for r in runs][-2:] == ["success", "error"]
        finally:
            spark.stop()
        docs = run_pds("docs", "generate", "--project-dir", str(project), timeout=900)
        assert docs.returncode == 0, docs.stdout + docs.stderr
        text = (project / "target" / "docs" / "data.js").read_text(encoding="utf-8")
        site = json.loads(text[len("window.PDS_DOCS = "):].rstrip().rstrip(";"))
        assert site["meta"]["history_problem"] is None and len(site["runs"]) >= 2
        daily = {c["name"]: c for c in site["nodes"]["model.sparkling.daily"]["columns"]}
        assert daily["orders"]["type"] == "bigint" and daily["month"]["type"] == "string"


def test_unreachable_connect_server_is_a_clear_error(tmp_path: Path) -> None:
    port = spark_kit.free_port()  # nothing listens there
    project = write(tmp_path / "proj", {
        "type": "spark", "method": "connect", "host": f"sc://127.0.0.1:{port}", "connect_timeout": 3,
        "token": "{{ env_var('PDS_TEST_SPARK_TOKEN') }}", "schema": "shop"}, SHOP)
    started = time.monotonic()
    done = run_pds("build", "--project-dir", str(project), env={"PDS_TEST_SPARK_TOKEN": TOKEN}, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert f"cannot reach the Spark Connect server at sc://127.0.0.1:{port}" in output
    assert "Traceback" not in output and TOKEN not in output
    assert time.monotonic() - started < 120


def test_plan_and_compile_errors_never_start_spark(tmp_path: Path) -> None:
    """merge into a parquet table is a plan-time error naming the format; a DuckDB construct whose meaning
    Spark would change is a compile-time error at its line; a rewritten one compiles to Spark's spelling."""
    target = {"type": "spark", "master": "local[2]", "schema": "shop", "file_format": "parquet"}
    project = write(tmp_path / "proj", target, {
        **SHOP, "merged.sql": "-- merged on order_id\n{{ config(materialized='incremental', unique_key='order_id',\n"
                              "  incremental_strategy='merge') }}\nselect * from {{ ref('orders') }}\n"})
    done = run_pds("build", "--project-dir", str(project), timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "models/merged.sql:3" in done.stderr and "'merge' needs a table format with row-level changes" in done.stderr
    assert "parquet" in done.stderr and "Traceback" not in done.stderr
    assert not (project / "spark-warehouse").exists()  # nothing started
    (project / "models" / "merged.sql").unlink()
    (project / "models" / "median.sql").write_text("select placed_on,\n  median(amount) as m\n"
                                                   "from {{ ref('orders') }} group by placed_on\n")
    done = run_pds("compile", "--project-dir", str(project), timeout=300)
    assert done.returncode == 2 and "models/median.sql:2" in done.stderr and "CAST(x AS DOUBLE)" in done.stderr
    (project / "models" / "median.sql").unlink()
    done = run_pds("compile", "--project-dir", str(project), timeout=300)
    assert done.returncode == 0, done.stderr
    compiled = next((project / "target" / "compiled").rglob("daily.sql")).read_text()
    assert "DATE_FORMAT(placed_on, 'MMMM')" in compiled


def test_build_lock_on_a_local_warehouse_and_on_connect() -> None:
    local = spark_kit.adapter(spark_kit.local_settings("locks"))
    try:
        lock = local.build_lock({"command": "build"})
        assert lock.where() == f"lock file {spark_kit.local_warehouse() / '.pds-lock'}"
    finally:
        local.close()
    settings = spark_kit.connect_settings("locks")
    first_adapter, second_adapter = spark_kit.adapter(settings), spark_kit.adapter(settings)
    first = first_adapter.build_lock({"command": "build"})
    second = second_adapter.build_lock({"command": "run"})
    try:
        assert first.try_acquire() is None
        holder = second.try_acquire()
        assert holder is not None and f"pid {os.getpid()}" in holder and "build" in holder
        assert "pds_build_lock" in second.where()
        assert ("locks", "pds_build_lock") not in first_adapter.list_relations(["locks"])  # hidden from the project
        first.release()
        assert second.try_acquire() is None
        second.release()
    finally:
        first_adapter.close()
        second_adapter.close()
