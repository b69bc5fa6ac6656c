"""dbt's runtime features on every engine: snapshots, hooks and on_schema_change, compared with dbt-core 1.11.

Each test builds one scenario of tests/runtime_projects.py through the real CLI, on each engine of
tests/engine_*.py (DuckDB, Postgres, Snowflake through fakesnow, BigQuery through bqemulator; Spark gets
these features through its own adapter later), and reads the tables back with the engine's own driver.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import engine_params, run_pds
from tests.projects import write_project
from tests.runtime_projects import (
    CUSTOMERS,
    EXPECTED_HOOK_LOG,
    EXPECTED_SCHEMA_CHANGES,
    EXPECTED_SNAPSHOTS,
    SNAPSHOT_TABLES,
    hooks_files,
    normalize,
    schema_change_files,
    snapshot_files,
)
from tests.test_engines import ENGINES, canonical, load_engine

RUNTIME_ENGINES = [e for e in ENGINES if not e.startswith("spark")]
EXACT_HASHES = ("duckdb", "postgres")  # engines whose text of a timestamp is dbt-duckdb's / dbt-postgres's


@contextlib.contextmanager
def on_engine(engine_name: str, folder: Path, schemas: tuple[str, ...] = ()) -> Iterator[tuple[Any, dict, str]]:
    """The project in `folder` with a profiles.yml for a fresh schema on the engine; the extra schemas
    (suffixes) the project builds into are dropped afterwards where the engine outlives the test."""
    engine = load_engine(engine_name)
    profile = yaml.safe_load((folder / "pds_project.yml").read_text()).get("profile") or \
        yaml.safe_load((folder / "pds_project.yml").read_text())["name"]
    schema = f"pds_rt_{uuid.uuid4().hex[:8]}"
    with engine.target(schema) as settings:
        (folder / "profiles.yml").write_text(
            yaml.safe_dump({profile: {"target": "engine", "outputs": {"engine": settings}}}))
        try:
            yield engine, settings, schema
        finally:
            for suffix in schemas if hasattr(engine, "drop_schema") else ():
                engine.drop_schema(schema + suffix)


def pds_ok(folder: Path, *args: str) -> str:
    result = run_pds(*args, "--project-dir", str(folder))
    assert result.returncode == 0, f"pds {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def table(engine: Any, settings: dict, schema: str, name: str) -> tuple[list[str], list[tuple]]:
    df = engine.read_table(settings, schema, name)
    return [str(c).lower() for c in df.columns], [tuple(canonical(v) for v in row) for row in df.itertuples(index=False)]


def sql_text(value: str) -> str:
    """A canonical timestamp as DuckDB and Postgres cast it to text (trailing zeros of the fraction dropped)."""
    return value[:26].rstrip("0").rstrip(".") if "." in value else value


# ---- snapshots ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("engine_name", engine_params(RUNTIME_ENGINES))
def test_snapshots_record_what_dbt_records(engine_name: str, tmp_path: Path) -> None:
    """Four runs of a changing source (updates, inserts, deletes, unchanged rows, a row changing back, a row
    deleted and back, a new column) through every kind of snapshot: the tables dbt-core 1.11 builds."""
    folder = write_project(tmp_path / "snaps", snapshot_files())
    with on_engine(engine_name, folder, ("_hist", "_snaps", "_yamlsnaps")) as (engine, settings, schema):
        for step, rows in enumerate(CUSTOMERS, 1):
            (folder / "seeds" / "customers.csv").write_text(rows)
            out = pds_ok(folder, "build")  # the seed, then the snapshots, then the model on one (DAG order)
            assert ("created snapshot" in out) == (step == 1), out
        again = pds_ok(folder, "snapshot", "-s", "snap_ts", "snap_check_list")  # nothing changed since
        assert again.count("(0 new, 0 closed)") == 2, again
        for name, (suffix, times, scd) in SNAPSHOT_TABLES.items():
            columns, rows = table(engine, settings, schema + suffix, name)
            got = (columns, normalize(columns, rows, times, scd, engine_name in EXACT_HASHES))
            want = EXPECTED_SNAPSHOTS[name]
            if engine_name not in EXACT_HASHES:
                want = (want[0], normalize(want[0], want[1], times, scd, exact_hashes=False))
            assert got[0] == want[0], f"{name}: columns differ"
            assert got[1] == want[1], f"{name} on {engine_name}:\n" + "\n".join(map(str, got[1]))
            if engine_name in EXACT_HASHES and name == "snap_check_all":  # dbt's md5 of key|snapshot time
                at = {c: i for i, c in enumerate(columns)}
                for row in rows:
                    key = f"{int(row[at['id']])}|{sql_text(row[at['dbt_updated_at']])}"
                    assert row[at["dbt_scd_id"]] == hashlib.md5(key.encode()).hexdigest()
        _cols, current = table(engine, settings, schema, "current_customers")
        assert sorted(r[0] for r in current) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]  # erin: ignore keeps deletes
    results = json.loads((folder / "target" / "run_results.json").read_text())["results"]
    assert {r["unique_id"] for r in results} == {"snapshot.snaps.snap_ts", "snapshot.snaps.snap_check_list"}


# ---- hooks -------------------------------------------------------------------------------------------------------
TRANSACTIONAL = ("duckdb", "postgres")  # a failing hook rolls its node's build back


@pytest.mark.slow
@pytest.mark.parametrize("engine_name", engine_params(RUNTIME_ENGINES))
def test_hooks_run_in_dbts_order(engine_name: str, tmp_path: Path) -> None:
    """on-run-start, the project's, folder's and model's pre/post hooks (before_begin / after_commit too) and
    on-run-end with results and schemas: the log they write is dbt-core 1.11's, row for row."""
    folder = write_project(tmp_path / "hooks", hooks_files())
    with on_engine(engine_name, folder) as (engine, settings, schema):
        out = pds_ok(folder, "build")
        assert out.count("hook OK") == 5, out
        _cols, rows = table(engine, settings, schema, "hook_log")
        got = sorted((step, schema_free(node, schema), seq) for step, node, seq in rows)
        assert sorted(got, key=lambda r: (r[2], r[0])) == sorted(EXPECTED_HOOK_LOG, key=lambda r: (r[2], r[0]))
        results = json.loads((folder / "target" / "run_results.json").read_text())["results"]
        assert [(r["unique_id"], r["status"]) for r in results] == [
            ("operation.hooks.hooks-on-run-start-0", "success"), ("operation.hooks.hooks-on-run-start-1", "success"),
            ("model.hooks.hooked", "success"), ("model.hooks.after", "success"),
            *[(f"operation.hooks.hooks-on-run-end-{i}", "success") for i in range(3)]]
        assert results[0]["message"] == "hooks.on-run-start.0 passed"

        # a failing post-hook fails its node, naming the hook; where DDL is transactional the build rolls back
        (folder / "models/marts/hooked.sql").write_text(
            "{{ config(materialized='table', post_hook='insert into {{ target.schema }}.no_such_table values (1)') }}\n"
            "select 1 as id\n")
        failed = run_pds("build", "--project-dir", str(folder))
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "post-hook 2 of hooked failed" in failed.stdout + failed.stderr, failed.stdout + failed.stderr
        _cols, kept = table(engine, settings, schema, "hooked")
        if engine_name in TRANSACTIONAL:
            assert sorted(kept) == [(1.0,), (2.0,)]  # the table of the last good build
        results = json.loads((folder / "target" / "run_results.json").read_text())["results"]
        status = {r["unique_id"]: r["status"] for r in results}
        assert status["model.hooks.hooked"] == "error" and status["model.hooks.after"] == "skipped"
        assert status["operation.hooks.hooks-on-run-end-1"] == "success"  # on-run-end runs after a failure


def schema_free(value: str, schema: str) -> str:
    return value.replace(schema, "<schema>")


# ---- on_schema_change --------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("engine_name", engine_params(RUNTIME_ENGINES))
def test_on_schema_change_as_dbt(engine_name: str, tmp_path: Path) -> None:
    """An incremental model whose query gains a column (and, for sync_all_columns, loses one and changes a
    type) under each on_schema_change: the tables dbt-core 1.11 leaves, and `fail` fails naming the fix."""
    folder = write_project(tmp_path / "osc", schema_change_files(1))
    with on_engine(engine_name, folder) as (engine, settings, schema):
        pds_ok(folder, "build")
        write_project(folder, schema_change_files(2))
        second = run_pds("build", "--project-dir", str(folder))
        assert second.returncode == 1, second.stdout + second.stderr
        text = second.stdout + second.stderr
        assert "on_schema_change: fail" in text and "--full-refresh" in text and "new in the query: c" in text.lower(), text
        for name, (columns, rows) in EXPECTED_SCHEMA_CHANGES.items():
            got_columns, got_rows = table(engine, settings, schema, name)
            assert (got_columns, sorted(got_rows)) == (columns, rows), name
        pds_ok(folder, "build", "--full-refresh", "-s", "inc_fail")
        assert table(engine, settings, schema, "inc_fail") == (
            ["id", "a", "b", "c"], [(1.0, 10.0, "x", "p"), (2.0, 20.0, "y", "q"), (3.0, 30.0, "z", "r")])


def test_failing_on_run_start_fails_the_run_as_dbt(tmp_path: Path) -> None:
    """dbt-core 1.11: the failing hook is an error, the hooks after it are skipped, the nodes still run,
    on-run-end runs, and the run exits 1 (run_results.json as dbt-duckdb wrote it for the same project)."""
    folder = write_project(tmp_path / "hf", {
        "pds_project.yml": "name: hf\non-run-start:\n  - \"select * from no_such_table\"\n  - \"select 1\"\n"
                           "on-run-end:\n  - \"select 2\"\n",
        "models/m.sql": "select 1 as x\n"})
    result = run_pds("run", "--project-dir", str(folder))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "hf.on-run-start.0 failed: " in result.stdout and "no_such_table" in result.stdout, result.stdout
    results = json.loads((folder / "target" / "run_results.json").read_text())["results"]
    assert [(r["unique_id"], r["status"]) for r in results] == [
        ("operation.hf.hf-on-run-start-0", "error"), ("operation.hf.hf-on-run-start-1", "skipped"),
        ("model.hf.m", "success"), ("operation.hf.hf-on-run-end-0", "success")]
    assert results[1]["message"] == "hf.on-run-start.1 skipped" and results[3]["message"] == "hf.on-run-end.0 passed"
