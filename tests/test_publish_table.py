"""Table exports to another target: predictions built in DuckDB pushed to the Postgres server at
127.0.0.1:5432 (database `test`, a schema of the test's own, dropped afterwards), in each mode,
and a killed export that leaves the previous table as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests import engine_postgres as pg
from tests.conftest import ROOT, run_pds
from tests.quality_projects import write_project

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(pg.unavailable() is not None, reason=str(pg.unavailable()))]
PASSWORD = "pg-Export-Secret-55x"


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"pds_pub_{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        pg.drop_schema(name)


def project(root: Path, schema: str) -> Path:
    profiles = {"scores": {"target": "dev", "outputs": {
        "dev": {"type": "duckdb", "path": "scores.duckdb", "schema": "main"},
        "warehouse": {"type": "postgres", "host": pg.HOST, "port": pg.PORT, "user": pg.user(),
                      "password": "{{ env_var('PG_EXPORT_PASSWORD', '') }}", "dbname": pg.DBNAME,
                      "schema": schema}}}}
    files = {name: None for name in ("seeds/raw_orders.csv", "seeds/raw_customers.csv", "models/stg_orders.sql",
                                     "models/orders_enriched.sql", "models/order_summary.sql",
                                     "models/customer_scores.py")}
    return write_project(root, {**files,
        "pds_project.yml": "name: scores\nprofile: scores\nvars: {n: 3, factor: 1}\nmodels:\n  +materialized: table\n",
        "profiles.yml": yaml.safe_dump(profiles),
        "models/scores.sql": "select id as customer_id, id * {{ var('factor') }} as score "
                             "from range(1, {{ var('n') }} + 1) as t(id)",
        "models/schema.yml": f"""
            models:
              - name: scores
                columns:
                  - name: customer_id
                    data_tests: [not_null, unique]
                exports:
                  - name: scores_replace
                    table: {{target: warehouse, name: scores_now}}
                  - name: scores_append
                    table: {{target: warehouse, name: scores_log, mode: append}}
                  - name: scores_upsert
                    table: {{target: warehouse, schema: {schema}_serving, name: scores, mode: upsert,
                             unique_key: customer_id}}
        """})


def rows(schema: str, table: str) -> list[tuple]:
    df = pg.read_table({}, schema, table)
    return sorted((int(a), int(b)) for a, b in df[["customer_id", "score"]].itertuples(index=False))


@pytest.mark.slow
def test_replace_append_and_upsert_into_postgres(tmp_path, schema):
    root = project(tmp_path / "scores", schema)
    env = {"PG_EXPORT_PASSWORD": ""}
    try:
        first = run_pds("build", "--project-dir", str(root), env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"export scores_replace to warehouse:{schema}.scores_now (replace)" in first.stdout
        assert rows(schema, "scores_now") == rows(schema, "scores_log") == [(1, 1), (2, 2), (3, 3)]
        assert rows(f"{schema}_serving", "scores") == [(1, 1), (2, 2), (3, 3)]

        second = run_pds("build", "--project-dir", str(root), "--vars", "{n: 4, factor: 10}", env=env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert rows(schema, "scores_now") == [(1, 10), (2, 20), (3, 30), (4, 40)]  # replaced
        assert rows(schema, "scores_log") == sorted([(1, 1), (2, 2), (3, 3), (1, 10), (2, 20), (3, 30), (4, 40)])
        assert rows(f"{schema}_serving", "scores") == [(1, 10), (2, 20), (3, 30), (4, 40)]  # updated + inserted
        with pg.connect() as conn:  # no staging table is left behind in either schema
            left = conn.execute("select tablename from pg_tables where schemaname in (%s, %s) "
                                "and tablename like '%%__pds_%%'", [schema, f"{schema}_serving"]).fetchall()
        assert left == []

        import duckdb

        con = duckdb.connect(str(root / "scores.duckdb"), read_only=True)
        try:
            recorded = con.execute("select name, destination, status, rows from pds_results.pds_export_results "
                                   "order by completed_at, name").fetchall()
        finally:
            con.close()
        assert len(recorded) == 6 and set(recorded[-3:]) == {
            ("scores_append", f"warehouse:{schema}.scores_log (append)", "success", 4),
            ("scores_replace", f"warehouse:{schema}.scores_now (replace)", "success", 4),
            ("scores_upsert", f"warehouse:{schema}_serving.scores (upsert)", "success", 4)}
    finally:
        pg.drop_schema(f"{schema}_serving")


def test_an_unreachable_target_fails_the_export_without_showing_its_password(tmp_path, schema):
    root = project(tmp_path / "scores", schema)
    profiles = yaml.safe_load((root / "profiles.yml").read_text())
    profiles["scores"]["outputs"]["warehouse"].update(port=1, connect_timeout=2)
    (root / "profiles.yml").write_text(yaml.safe_dump(profiles))
    result = run_pds("build", "--project-dir", str(root), env={"PG_EXPORT_PASSWORD": PASSWORD})
    assert result.returncode == 1
    assert "cannot connect to target 'warehouse'" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr + (root / "target" / "run_results.json").read_text()


@pytest.mark.slow
def test_a_killed_table_export_leaves_the_previous_table_intact(tmp_path, schema):
    root = project(tmp_path / "scores", schema)
    schema_yml = root / "models" / "schema.yml"
    text = schema_yml.read_text()
    cut = text.rfind("\n", 0, text.index("- name: scores_append")) + 1
    schema_yml.write_text(text[:cut])  # the replace export only
    assert run_pds("build", "--project-dir", str(root)).returncode == 0
    assert rows(schema, "scores_now") == [(1, 1), (2, 2), (3, 3)]

    proc = subprocess.Popen([sys.executable, "-m", "pds_core.cli", "build", "--project-dir", str(root),
                             "--vars", "{n: 3000000, factor: 2}"], cwd=ROOT, env={**os.environ, "NO_COLOR": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    copying = f'COPY "{schema}"."scores_now__pds_df_%'
    try:
        deadline = time.monotonic() + 120
        seen = False
        with pg.connect() as conn:
            while time.monotonic() < deadline and proc.poll() is None and not seen:
                seen = bool(conn.execute("select count(*) from pg_stat_activity where query like %s",
                                         [copying]).fetchone()[0])
                time.sleep(0.05)
        assert seen, "the big export never started copying"
        time.sleep(0.5)  # well into the COPY
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert rows(schema, "scores_now") == [(1, 1), (2, 2), (3, 3)]  # the old table, whole
    with pg.connect() as conn:  # the server notices the dead client and rolls its transaction back
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and conn.execute(
                "select count(*) from pg_stat_activity where query like %s", [copying]).fetchone()[0]:
            time.sleep(0.1)
        left = conn.execute("select tablename from pg_tables where schemaname = %s", [schema]).fetchall()
    assert left == [("scores_now",)]
