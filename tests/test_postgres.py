"""The Postgres adapter against the real server at 127.0.0.1:5432: atomic replace, dependent views,
COPY, seed types, the MERGE fallback, and connection errors that never show the password."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests import engine_postgres as pg
from tests.conftest import run_pds

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(pg.unavailable() is not None, reason=str(pg.unavailable()))]
PASSWORD = "pw-Do-Not-Leak-7f3a9"


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"pds_pg_{uuid.uuid4().hex[:8]}"
    with pg.target(name):
        yield name


def make_project(folder: Path, settings: dict, models: dict[str, str], target_name: str = "ci") -> Path:
    """A minimal project with the given model files and a profiles.yml holding one Postgres target."""
    (folder / "models").mkdir(parents=True)
    (folder / "pds_project.yml").write_text("name: pgtest\nprofile: pgtest\nmodels:\n  +materialized: table\n")
    (folder / "profiles.yml").write_text(yaml.safe_dump(
        {"pgtest": {"target": target_name, "outputs": {target_name: settings}}}))
    write_models(folder, models)
    return folder


def write_models(folder: Path, models: dict[str, str]) -> None:
    for name, sql in models.items():
        (folder / "models" / f"{name}.sql").write_text(sql)


def pg_settings(schema: str, **overrides: object) -> dict:
    return {"type": "postgres", "host": pg.HOST, "port": pg.PORT, "user": pg.user(), "dbname": pg.DBNAME,
            "schema": schema, "threads": 2, **overrides}


def query(sql: str, *params: object) -> list[tuple]:
    with pg.connect() as conn:
        return conn.execute(sql, params or None).fetchall()


def relations(schema: str) -> set[str]:
    return {r[0] for r in query("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", schema)}


def node_result(folder: Path, name: str) -> dict:
    results = json.loads((folder / "target" / "run_results.json").read_text())["results"]
    return next(r for r in results if r["name"] == name)


@pytest.mark.slow
def test_failed_rebuild_leaves_previous_table_and_its_views(tmp_path: Path, schema: str) -> None:
    project = make_project(tmp_path / "p", pg_settings(schema), {
        "nums": "select 1 as id, 10 as v union all select 2 as id, 20 as v",
        "nums_doubled": "{{ config(materialized='view') }}\nselect id, v * 2 as v2 from {{ ref('nums') }}",
    })
    first = run_pds("build", "--project-dir", str(project))
    assert first.returncode == 0, first.stdout + first.stderr
    assert sorted(query(f'SELECT id, v FROM "{schema}".nums')) == [(1, 10), (2, 20)]
    # valid SQL that only the warehouse rejects, half way through a table with new rows
    write_models(project, {"nums": "select 1 as id, 11 as v union all select 3 as id, cast('oops' as integer) as v"})
    second = run_pds("build", "--project-dir", str(project))
    out = second.stdout + second.stderr
    assert second.returncode == 1, out
    assert "invalid input syntax for type integer" in out and "Traceback" not in out
    assert node_result(project, "nums")["status"] == "error"
    assert node_result(project, "nums_doubled")["status"] == "skipped"
    assert sorted(query(f'SELECT id, v FROM "{schema}".nums')) == [(1, 10), (2, 20)]
    assert sorted(query(f'SELECT id, v2 FROM "{schema}".nums_doubled')) == [(1, 20), (2, 40)]
    assert relations(schema) == {"nums", "nums_doubled"}  # no staged table left behind


@pytest.mark.slow
def test_dependent_views_survive_a_replace_or_are_reported(tmp_path: Path, schema: str) -> None:
    long_name = "t" * 63  # Postgres' longest name: the staged copy's name must still be unique
    project = make_project(tmp_path / "p", pg_settings(schema), {
        "base_t": "select 1 as id, 'a' as label",
        "ids": "{{ config(materialized='view') }}\nselect id from {{ ref('base_t') }}",
        long_name: "select 1 as x",
    })
    assert run_pds("build", "--project-dir", str(project)).returncode == 0
    with pg.connect() as conn:  # views pds does not manage, one on top of another
        conn.execute(f'CREATE VIEW "{schema}".ext AS SELECT label FROM "{schema}".base_t')
        conn.execute(f'CREATE VIEW "{schema}".ext_count AS SELECT count(*) AS n FROM "{schema}".ext')

    write_models(project, {"base_t": "select 1 as id, 'a' as label union all select 2, 'b'"})
    result = run_pds("run", "--project-dir", str(project), "--select", "base_t", long_name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert node_result(project, "base_t")["status"] == "success"
    assert sorted(query(f'SELECT id FROM "{schema}".ids')) == [(1,), (2,)]  # not rebuilt, still there
    assert query(f'SELECT n FROM "{schema}".ext_count') == [(2,)]
    assert query(f'SELECT x FROM "{schema}"."{long_name}"') == [(1,)]

    write_models(project, {"base_t": "select 1 as id, 5 as n"})  # `label` is gone: ext cannot stay
    result = run_pds("run", "--project-dir", str(project), "--select", "base_t")
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = node_result(project, "base_t")
    assert outcome["status"] == "warn"
    assert f"{schema}.ext was dropped" in outcome["message"] and "label" in outcome["message"]
    assert f"{schema}.ext_count was dropped" in outcome["message"]
    assert "WARN" in result.stdout
    assert relations(schema) == {"base_t", "ids", long_name}
    assert query(f'SELECT id FROM "{schema}".ids') == [(1,)]


@pytest.mark.slow
def test_tables_replaced_at_once_under_one_shared_view(tmp_path: Path, schema: str) -> None:
    """Four tables rebuilt in parallel under views over all of them: each swap re-creates the shared views,
    so without pds's swap lock two swaps deadlock or read a view the other just dropped."""
    tables = {f"t{i}": f"select {i} as id, g from generate_series(1, 50000) g" for i in range(1, 5)}
    union = " union all ".join(f"select id, count(*) as n from {{{{ ref('{t}') }}}} group by id" for t in tables)
    project = make_project(tmp_path / "p", pg_settings(schema, threads=4), {
        **tables, "counts": "{{ config(materialized='view') }}\n" + union,
        "total": "{{ config(materialized='view') }}\nselect sum(n) as n from {{ ref('counts') }}"})
    for _ in range(4):  # each build replaces all four tables while both views stand
        result = run_pds("build", "--project-dir", str(project))
        assert result.returncode == 0, result.stdout + result.stderr
        assert sorted(query(f'SELECT id, n FROM "{schema}".counts')) == [(i, 50000) for i in range(1, 5)]
        assert query(f'SELECT n FROM "{schema}".total') == [(200000,)]


def test_dataframes_round_trip_through_copy(schema: str) -> None:
    from pds_adapters.postgres import PostgresAdapter
    from pds_core.nodes import Relation
    from pds_core.profiles import Target

    adapter = PostgresAdapter(Target("ci", "postgres", pg_settings(schema), threads=1))
    df = pd.DataFrame({
        "id": pd.array([1, 2, None, 2**62], dtype="Int64"),
        "text": ["tab\there", "new\nline \\ back", "", None],
        "quote": ['"quoted", comma', "ünïcödé ☃", "NULL", "\\N"],
        "ratio": [0.5, math.nan, -1e-9, 1e300],
        "flag": [True, False, True, False],
        "at": pd.to_datetime(["2024-01-01 10:00:00.123456", None, "1999-12-31 23:59:59", "2024-02-29"], format="ISO8601"),
        "at_tz": pd.to_datetime(["2024-01-01T10:00:00+02:00"] * 4, utc=True),
        "day": [dt.date(2024, 1, 1), None, dt.date(1970, 1, 1), dt.date(2100, 12, 31)],
        "money": [decimal.Decimal("1.10"), decimal.Decimal("-0.01"), None, decimal.Decimal("12345678901234.5")],
    })
    try:
        adapter.open()
        adapter.ensure_schema(schema)
        assert adapter.write_dataframe(Relation(schema, "frame"), df) == 4
        assert adapter.write_dataframe(Relation(schema, "frame"), df) == 4  # a replace, not an append
        back = adapter.read_dataframe(Relation(schema, "frame"))
    finally:
        adapter.close()
    types = dict(query("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = %s AND table_name = 'frame'", schema))
    assert types == {"id": "bigint", "text": "text", "quote": "text", "ratio": "double precision",
                     "flag": "boolean", "at": "timestamp without time zone", "at_tz": "timestamp with time zone",
                     "day": "date", "money": "numeric"}
    rows = sorted(query(f'SELECT * FROM "{schema}".frame'), key=lambda r: str(r[1]))
    assert len(rows) == 4
    by_text = {r[1]: r for r in rows}
    assert by_text[None][0] == 2**62 and by_text[None][3] == 1e300 and by_text[None][2] == "\\N"
    assert by_text["tab\there"][2] == '"quoted", comma' and by_text["new\nline \\ back"][3] is None
    assert by_text[""][0] is None and by_text[""][2] == "NULL"  # '' and the text NULL are not NULL
    assert by_text["tab\there"][5] == dt.datetime(2024, 1, 1, 10, 0, 0, 123456)
    assert by_text["tab\there"][6] == dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)
    assert by_text["new\nline \\ back"][7] is None and by_text["new\nline \\ back"][8] == decimal.Decimal("-0.01")
    # read back for Python models with the dtypes DuckDB would give them
    assert str(back["money"].dtype) == "float64" and str(back["day"].dtype).startswith("datetime64")


def test_seed_types_are_inferred_and_overridable(tmp_path: Path, schema: str) -> None:
    project = make_project(tmp_path / "p", pg_settings(schema), {})
    (project / "seeds").mkdir()
    (project / "seeds" / "people.csv").write_text(
        "id,zip,born,seen_at,height,active,nickname\n"
        "1,01234,1990-05-01,2024-01-01 10:00:00,1.8,true,\n"
        "2,98765,1985-12-31,2024-01-02 11:30:00,,false,Bo\n")
    with (project / "pds_project.yml").open("a") as f:
        f.write("seeds:\n  people:\n    +column_types:\n      zip: varchar(5)\n      height: numeric(4,2)\n")
    result = run_pds("seed", "--project-dir", str(project))
    assert result.returncode == 0, result.stdout + result.stderr
    types = dict(query("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_schema = %s AND table_name = 'people'", schema))
    assert types == {"id": "integer", "zip": "character varying", "born": "date",  # dbt-postgres's types
                     "seen_at": "timestamp without time zone", "height": "numeric", "active": "boolean",
                     "nickname": "text"}
    assert sorted(query(f'SELECT zip, height, nickname FROM "{schema}".people')) == [
        ("01234", decimal.Decimal("1.80"), None), ("98765", None, "Bo")]


def test_merge_falls_back_to_delete_insert_before_postgres_15(tmp_path: Path, schema: str) -> None:
    """A server without MERGE (checked at connect) gets delete+insert with the same result."""

    from pds_adapters.postgres import PostgresAdapter
    from pds_core import api

    sent: list[str] = []

    class Postgres14(PostgresAdapter):
        def _connect(self):  # type: ignore[no-untyped-def]
            conn = super()._connect()
            self.supports_merge = False  # what _connect decides for server_version < 150000
            return conn

        def _execute(self, conn, sql, params):  # type: ignore[no-untyped-def]
            sent.append(sql)
            return super()._execute(conn, sql, params)

    project_dir = make_project(tmp_path / "p", pg_settings(schema), {
        "latest": "{{ config(materialized='incremental', unique_key='id') }}\n"
                  "select id, v from {{ ref('src') }}",
        "src": "select 1 as id, 'one' as v union all select 2, 'two'",
    })
    for src in (None, "select 2 as id, 'TWO' as v union all select 3, 'three'"):
        if src:
            write_models(project_dir, {"src": src})
        project = api.load(project_dir)
        run = api.build(project, adapter=Postgres14(project.target))
        assert run.exit_code == 0, [r.message for r in run.results]
    assert sorted(query(f'SELECT id, v FROM "{schema}".latest')) == [(1, "one"), (2, "TWO"), (3, "three")]
    assert not any(s.lstrip().upper().startswith("MERGE") for s in sent)
    assert any(s.lstrip().upper().startswith("DELETE") for s in sent)
    # and this server (15+) says it has MERGE
    adapter = PostgresAdapter(project.target)
    try:
        adapter.open()
        version = adapter.connection().driver_connection.info.server_version
        assert adapter.supports_merge is (version >= 150000)
    finally:
        adapter.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["no server on the port", "no such database"])
def test_connection_errors_name_target_and_host_never_the_password(tmp_path: Path, problem: str) -> None:
    settings = pg_settings("pds_never_created", password=PASSWORD)
    if problem == "no server on the port":
        settings["port"] = free_port()
    else:
        settings["dbname"] = "pds_no_such_database"
    project = make_project(tmp_path / "p", settings, {"m": "select 1 as x"}, target_name="nightly")
    for command in ("build", "debug"):
        result = run_pds(command, "--project-dir", str(project))
        out = result.stdout + result.stderr
        assert result.returncode == 2, out
        assert "'nightly'" in out and "127.0.0.1" in out and "Traceback" not in out
        assert ("refused" in out) if problem == "no server on the port" else ("does not exist" in out)
        assert PASSWORD not in out
    for artifact in (project / "target").rglob("*") if (project / "target").exists() else []:
        if artifact.is_file():
            assert PASSWORD not in artifact.read_text(errors="ignore"), artifact


@pytest.mark.slow
def test_password_is_redacted_when_the_connection_works(tmp_path: Path, schema: str) -> None:
    project = make_project(tmp_path / "p", pg_settings(schema, password=PASSWORD), {"m": "select 1 as x"})
    for command in ("debug", "build"):
        result = run_pds(command, "--project-dir", str(project))
        assert result.returncode == 0 and PASSWORD not in result.stdout + result.stderr, result.stdout
    for artifact in (project / "target").rglob("*.json"):
        assert PASSWORD not in artifact.read_text(), artifact


def test_profile_keys_reach_the_connection(schema: str, tmp_path: Path) -> None:
    from pds_adapters.postgres import PostgresAdapter
    from pds_core.profiles import Target

    settings = pg_settings(schema, database=pg.DBNAME, search_path=f"{schema}, public", sslmode="disable",
                           keepalives_idle=30, connect_timeout=5)
    del settings["dbname"]  # `database` is accepted as dbt's alias
    adapter = PostgresAdapter(Target("ci", "postgres", settings, threads=1))
    try:
        adapter.open()
        assert adapter.fetch("SHOW search_path")[1] == [(f"{schema},public",)]
        params = adapter.connection().driver_connection.info.get_parameters()
        assert params["sslmode"] == "disable" and params["keepalives_idle"] == "30"
        assert params["connect_timeout"] == "5" and params["dbname"] == pg.DBNAME
    finally:
        adapter.close()
    project = make_project(tmp_path / "p", pg_settings(schema, dbnmae="oops"), {"m": "select 1 as x"})
    result = run_pds("build", "--project-dir", str(project))
    assert result.returncode == 2 and "dbnmae" in result.stdout + result.stderr
    assert "dbname" in result.stdout + result.stderr and "Traceback" not in result.stdout + result.stderr
