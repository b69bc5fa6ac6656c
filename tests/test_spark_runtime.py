"""Snapshots and on_schema_change on Spark (local session, Delta), compared with what dbt-core 1.11 builds.

The same projects and the same expected tables as tests/test_runtime.py (whose DuckDB run is checked
against dbt-core 1.11 and dbt-duckdb), built in this process through the API on the test process's one
warm JVM (tests/spark_kit.py): a `pds` process per build would start a JVM each, minutes on a loaded
machine. The CLI path on Spark is covered by tests/test_spark_cli.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlglot import exp

import pds
from tests import spark_kit
from tests.projects import write_project
from tests.runtime_projects import (
    CUSTOMERS,
    EXPECTED_SCHEMA_CHANGES,
    EXPECTED_SNAPSHOTS,
    SNAPSHOT_TABLES,
    normalize,
    schema_change_files,
    snapshot_files,
)
from tests.test_engines import canonical

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def _spark_here() -> None:
    reason = spark_kit.unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def reader() -> Iterator[tuple[Any, str]]:
    """An adapter on the shared local warehouse (Delta) and a fresh schema name for the project."""
    schema = f"rt_{uuid.uuid4().hex[:8]}"
    found = spark_kit.adapter(spark_kit.local_settings(schema))
    yield found, schema
    found.close()


def on_spark(folder: Path, schema: str) -> Path:
    profile = yaml.safe_load((folder / "pds_project.yml").read_text())["name"]
    target = spark_kit.local_settings(schema)
    (folder / "profiles.yml").write_text(yaml.safe_dump({profile: {"target": "spark", "outputs": {"spark": target}}}))
    return folder


def table(adapter: Any, schema: str, name: str) -> tuple[list[str], list[tuple]]:
    columns, rows = adapter.fetch(f"SELECT * FROM {spark_kit.table_name(schema, name)}")  # rows: 9999-12-31 fits
    return [str(c).lower() for c in columns], [tuple(canonical(v) for v in row) for row in rows]


def drop_schema(adapter: Any, schema: str) -> None:
    adapter.execute(f"DROP SCHEMA IF EXISTS {exp.to_identifier(schema, quoted=True).sql('spark')} CASCADE")


def build(folder: Path, *args: Any, **kwargs: Any) -> Any:
    result = pds.build(pds.load(folder), *args, **kwargs)
    failed = [(r.unique_id, r.message) for r in result.results if r.status not in ("success", "pass")]
    return result, failed


def test_snapshots_record_what_dbt_records(reader: tuple[Any, str], tmp_path: Path) -> None:
    """Four runs of a changing source (updates, inserts, deletes, a row changing back, a row deleted and back,
    a new column) through every kind of snapshot (timestamp, check all/list, hard_deletes ignore/invalidate/
    new_record, renamed meta columns, dbt_valid_to_current): dbt-core 1.11's tables, dbt_scd_id included."""
    adapter, schema = reader
    folder = on_spark(write_project(tmp_path / "snaps", snapshot_files()), schema)
    for step, rows in enumerate(CUSTOMERS, 1):
        (folder / "seeds" / "customers.csv").write_text(rows)
        result, failed = build(folder)
        assert not failed, f"run {step}: {failed}"
        created = [r for r in result.results if r.resource_type == "snapshot" and "created snapshot" in (r.message or "")]
        assert bool(created) == (step == 1)
    again = pds.snapshot(pds.load(folder), select=["snap_ts", "snap_check_list"])
    assert [r.message.split("(")[-1] for r in again.results] == ["0 new, 0 closed)"] * 2
    for name, (suffix, times, scd) in SNAPSHOT_TABLES.items():
        columns, rows = table(adapter, schema + suffix, name)
        assert columns == EXPECTED_SNAPSHOTS[name][0], f"{name}: columns differ"
        got = normalize(columns, rows, times, scd)  # dbt_scd_id exact: Spark writes the timestamps as DuckDB does
        assert got == EXPECTED_SNAPSHOTS[name][1], f"{name} on spark:\n" + "\n".join(map(str, got))
    _cols, current = table(adapter, schema, "current_customers")
    assert sorted(r[0] for r in current) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    history = adapter.fetch(f"DESCRIBE HISTORY {spark_kit.table_name(schema, 'snap_check_all')}")[1]
    operations = [row[4] for row in sorted(history)]  # version order: Delta's own log of what each run did
    assert operations[0] == "CREATE TABLE AS SELECT" and set(operations[1:]) == {"MERGE", "ADD COLUMNS"}
    for suffix in ("_hist", "_snaps", "_yamlsnaps", ""):
        drop_schema(adapter, schema + suffix)


def test_on_schema_change_as_dbt(reader: tuple[Any, str], tmp_path: Path) -> None:
    """An incremental model whose query gains a column (and, for sync_all_columns, loses one and changes a
    type) under each on_schema_change: dbt-core 1.11's tables, and `fail` fails naming the fix."""
    adapter, schema = reader
    folder = on_spark(write_project(tmp_path / "osc", schema_change_files(1)), schema)
    _result, failed = build(folder)
    assert not failed, failed
    write_project(folder, schema_change_files(2))
    _result, failed = build(folder)
    assert [uid for uid, _ in failed] == ["model.osc.inc_fail"], failed
    message = failed[0][1]
    assert "on_schema_change: fail" in message and "--full-refresh" in message and "new in the query: c" in message
    for name, (columns, rows) in EXPECTED_SCHEMA_CHANGES.items():
        got_columns, got_rows = table(adapter, schema, name)
        assert (got_columns, sorted(got_rows, key=str)) == (columns, sorted(rows, key=str)), name
    _result, failed = build(folder, select=["inc_fail"], full_refresh=True)
    assert not failed, failed
    columns, rows = table(adapter, schema, "inc_fail")
    assert (columns, sorted(rows)) == (
        ["id", "a", "b", "c"], [(1.0, 10.0, "x", "p"), (2.0, 20.0, "y", "q"), (3.0, 30.0, "z", "r")])
    drop_schema(adapter, schema)
