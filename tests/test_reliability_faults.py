"""Faults: builds killed with SIGKILL at chosen and random points leave every relation at its old or
its new complete state, and the next `pds build` succeeds with no manual clean-up; a lost warehouse
session fails only the affected nodes with a clear message; `pds retry` re-runs what failed or was
skipped. Every test drives the real CLI in a subprocess and reads the warehouse back afterwards.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import engine_params, run_pds
from tests.reliability_kit import (
    ENGINES,
    Engine,
    make_engine,
    pg_active,
    start_pds,
    wait_until,
    write_files,
    write_project,
)

MARKER_MODEL = """import os
import pathlib

import pandas as pd


def model(ctx):
    ctx.config(materialized="table")
    flag = os.environ.get("PDS_TEST_FLAG")
    if flag:
        pathlib.Path(flag).write_text("started")
    return pd.DataFrame({"x": [1]})
"""


@pytest.fixture(params=engine_params(ENGINES))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_engine(request.param, tmp_path)


def versions(engine: Engine, name: str, schema: str | None = None) -> dict[int, int]:
    """version -> number of rows with it."""
    rows = engine.query(f"SELECT version, count(*) FROM {engine.qualified(name, schema)} GROUP BY version")
    return {int(v): int(n) for v, n in rows}


def slow_clause(engine: Engine) -> str:
    """A cross join that keeps the query busy for seconds (DuckDB: real work; Postgres: pg_sleep)."""
    if engine.name == "duckdb":
        return ("cross join (select count(*) as c from range(200000) a(x), range(200000) b(y) "
                "where (x * y) % 7 = 3) slow")
    return "cross join (select pg_sleep(20)) slow"


def build(project: Path, *args: str) -> str:
    result = run_pds("build", "--project-dir", str(project), *args)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Traceback" not in out
    return out


def assert_clean(engine: Engine, project: Path) -> None:
    """No staging relation, no lock file, artifacts readable: nothing for a person to clean up."""
    assert engine.staging() == []
    assert not list(project.parent.glob("*.pds-lock")) and not list(project.glob("*.pds-lock"))
    for name in ("manifest.json", "run_results.json"):
        json.loads((project / "target" / name).read_text())


# ---- killed during a table build ----------------------------------------------------------------
@pytest.mark.slow
def test_kill_during_table_build_keeps_the_old_table(engine: Engine, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", engine, {
        "models/marker.py": MARKER_MODEL,
        "models/nums.sql": "{{ config(materialized='table') }}\n-- depends_on: {{ ref('marker') }}\n"
                           f"select {{{{ var('v') }}}} as version, i from {engine.series(1000)}\n"
                           f"{{% if var('v') == 2 %}}{slow_clause(engine)}{{% endif %}}\n",
    })
    build(project, "--vars", "{v: 1}")
    flag = tmp_path / "flag"
    running = start_pds("build", "--threads", "1", "--vars", "{v: 2}", cwd=project,
                        env={"PDS_TEST_FLAG": str(flag)})
    assert wait_until(flag.exists, 90), running.output
    if engine.name == "postgres":
        assert wait_until(lambda: bool(pg_active("pg_sleep")), 30), running.output
    else:
        time.sleep(random.uniform(0.3, 1.5))  # inside the multi-second query
    assert running.proc.poll() is None, "the build ended before it could be killed: " + running.output
    running.kill()
    assert versions(engine, "nums") == {1: 1000}  # the old table, whole
    build(project, "--vars", "{v: 3}")  # no clean-up in between: the stale lock is taken over
    assert versions(engine, "nums") == {3: 1000}
    assert_clean(engine, project)


# ---- killed during a seed load ------------------------------------------------------------------
def write_seed(project: Path, version: int, rows: int) -> None:
    lines = ["version,i,label"] + [f"{version},{i},row {i} of v{version}" for i in range(rows)]
    write_files(project, {"seeds/big.csv": "\n".join(lines) + "\n"})


@pytest.mark.slow
def test_kill_during_seed_load_keeps_the_old_seed(engine: Engine, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", engine, {})
    rows = {1: 300_000, 2: 250_000, 3: 20}
    write_seed(project, 1, rows[1])
    build(project)
    write_seed(project, 2, rows[2])
    for _attempt in range(2):
        running = start_pds("seed", cwd=project)
        if engine.name == "postgres":
            assert wait_until(lambda: bool(pg_active("COPY")), 60), running.output
            time.sleep(random.uniform(0, 0.5))
        else:
            assert running.wait_line(r"Running seed", 60), running.output
            time.sleep(random.uniform(0, 0.6))
        running.kill()
        found = versions(engine, "big")
        assert found in ({1: rows[1]}, {2: rows[2]}), found  # one whole file or the other, never a mix
    write_seed(project, 3, rows[3])
    build(project)
    assert versions(engine, "big") == {3: rows[3]}
    assert_clean(engine, project)


# ---- killed while views are swapped (and tables turn into views) --------------------------------
@pytest.mark.slow
def test_kill_during_view_swaps_keeps_each_view_whole(engine: Engine, tmp_path: Path) -> None:
    names = [f"v_{i:02d}" for i in range(30)]
    files = {f"models/{n}.sql": ("{{ config(materialized='table' if var('v') == 1 else 'view') }}\n" if i < 10 else "")
             + f"select {{{{ var('v') }}}} as version, i from {engine.series(5)}\n" for i, n in enumerate(names)}
    project = write_project(tmp_path / "p", engine, files)
    build(project, "--vars", "{v: 1}")
    running = start_pds("build", "--threads", "1", "--vars", "{v: 2}", cwd=project)
    assert running.wait_line(r"\b8 of 30\b", 60), running.output
    time.sleep(random.uniform(0, 0.1))
    running.kill()
    kinds = engine.relations()
    assert set(names) <= set(kinds), sorted(set(names) - set(kinds))  # nothing dropped and left missing
    for name in names:
        assert versions(engine, name) in ({1: 5}, {2: 5}), name
    build(project, "--vars", "{v: 3}")
    assert all(versions(engine, n) == {3: 5} for n in names)
    assert {kinds_ for n, kinds_ in engine.relations().items() if n in names} == {"view"}
    assert_clean(engine, project)


# ---- killed while results and artifacts are written ---------------------------------------------
@pytest.mark.slow
def test_kill_while_results_are_written_leaves_readable_artifacts(engine: Engine, tmp_path: Path) -> None:
    files = {f"models/m_{i:02d}.sql": f"select {{{{ var('v') }}}} as version, i from {engine.series(3)}\n"
             for i in range(20)}
    files["models/schema.yml"] = ("models:\n  - name: m_00\n    columns:\n      - name: i\n"
                                  "        data_tests: [not_null]\n")
    project = write_project(tmp_path / "p", engine, files)
    build(project, "--vars", "{v: 1}")
    for attempt, delay in enumerate((0.0, 0.1)):
        running = start_pds("build", "--vars", f"{{v: {attempt + 2}}}", cwd=project)
        assert running.wait_line(r"\b21 of 21\b", 60), running.output  # the last node is done: recording
        time.sleep(delay)
        running.kill()
        for name in ("manifest.json", "run_results.json"):  # the old file or the new one, never half of one
            data = json.loads((project / "target" / name).read_text())
            assert data["metadata"]["schema_version"].startswith("pds/")
        for i in range(20):
            assert len(versions(engine, f"m_{i:02d}")) == 1
    build(project, "--vars", "{v: 9}")
    assert versions(engine, "m_19") == {9: 3}
    results = json.loads((project / "target" / "run_results.json").read_text())
    assert results["success"] and len(results["results"]) == 21
    assert_clean(engine, project)


# ---- killed at random points of a mixed build ---------------------------------------------------
def mixed_project(engine: Engine, folder: Path) -> Path:
    incr = ("{{ config(materialized='incremental') }}\n"
            f"select {{{{ var('v') }}}} as version, i from {engine.series(10)}\n"
            "{% if is_incremental() %}where {{ var('v') }} > (select max(version) from {{ this }}){% endif %}\n")
    return write_project(folder, engine, {
        "models/base_t.sql": "{{ config(materialized='table') }}\n"
                             f"select {{{{ var('v') }}}} as version, i from {engine.series(2000)}\n",
        "models/from_seed.sql": "{{ config(materialized='table') }}\nselect * from {{ ref('small') }}\n",
        "models/v_one.sql": "select version, i from {{ ref('base_t') }} where i < 100\n",
        "models/t_two.sql": "{{ config(materialized='table') }}\nselect version, i from {{ ref('v_one') }}\n",
        "models/incr.sql": incr,
        "models/py_model.py": "def model(ctx):\n    ctx.config(materialized='table')\n"
                              "    df = ctx.ref('t_two')\n    return df[df['i'] < 50]\n",
    })


MIXED = {"base_t": 2000, "from_seed": 7, "small": 7, "v_one": 100, "t_two": 100, "py_model": 50}


@pytest.mark.slow
def test_kill_at_random_points_never_leaves_a_partial_relation(engine: Engine, tmp_path: Path) -> None:
    project = mixed_project(engine, tmp_path / "p")
    seed = lambda v: "version,i\n" + "".join(f"{v},{i}\n" for i in range(7))  # noqa: E731
    write_files(project, {"seeds/small.csv": seed(1)})
    build(project, "--vars", "{v: 1}")
    rng = random.Random()
    for v in range(2, 5):
        write_files(project, {"seeds/small.csv": seed(v)})
        running = start_pds("build", "--threads", "2", "--vars", f"{{v: {v}}}", cwd=project)
        time.sleep(rng.uniform(0.5, 4.0))
        running.kill()
        for name, rows in MIXED.items():
            found = versions(engine, name)
            assert len(found) == 1 and next(iter(found.values())) == rows, (name, found, running.output)
            assert 1 <= next(iter(found)) <= v
        assert all(n == 10 for n in versions(engine, "incr").values())  # whole batches only
    write_files(project, {"seeds/small.csv": seed(99)})
    build(project, "--vars", "{v: 99}")
    assert all(versions(engine, name) == {99: rows} for name, rows in MIXED.items())
    assert versions(engine, "incr")[99] == 10
    assert_clean(engine, project)


# ---- left-over staging relations ----------------------------------------------------------------
def test_left_over_staging_relations_are_removed_at_the_start_of_a_build(engine: Engine, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", engine, {
        "models/keep__pds_notes.sql": "{{ config(materialized='table') }}\nselect 1 as version\n",
        "models/nums.sql": "{{ config(materialized='table') }}\nselect 1 as version\n",
    })
    build(project)
    leftovers = ["nums__pds_tmp_0badc0de", "Nums__pds_df_12345678", "x__pds_seed_abcdef01"]
    with_schema = [engine.qualified(n) for n in leftovers]
    if engine.name == "duckdb":
        import duckdb

        con = duckdb.connect(engine.settings["path"])
        for name in with_schema[:2]:
            con.execute(f"CREATE TABLE {name} AS SELECT 1 AS a")
        con.execute(f"CREATE VIEW {with_schema[2]} AS SELECT 1 AS a")
        con.close()
    else:
        from tests import engine_postgres as pg

        with pg.connect() as conn:
            for name in with_schema[:2]:
                conn.execute(f"CREATE TABLE {name} AS SELECT 1 AS a")
            conn.execute(f"CREATE VIEW {with_schema[2]} AS SELECT 1 AS a")
    assert len(engine.staging()) == 4  # three left-overs and the model whose name merely looks alike
    out = build(project)
    assert "Removed 3 staging relations left by an interrupted run" in out
    assert engine.staging() == ["keep__pds_notes"]


# ---- a lost warehouse session, and pds retry -----------------------------------------------------
@pytest.fixture
def pg_engine(tmp_path: Path) -> Iterator[Engine]:
    yield from make_engine("postgres", tmp_path)


def statuses(project: Path) -> dict[str, str]:
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    return {r["name"]: r["status"] for r in results}


@pytest.mark.postgres
def test_lost_connection_fails_the_affected_node_and_retry_reruns_it(pg_engine: Engine, tmp_path: Path) -> None:
    engine = pg_engine
    project = write_project(tmp_path / "p", engine, {
        "models/a_sleepy.sql": "{{ config(materialized='table') }}\n"
                               "select 1 as x from (select pg_sleep({{ var('sleep', 0) }})) s\n",
        "models/after_sleepy.sql": "select x from {{ ref('a_sleepy') }}\n",
        **{f"models/other_{i}.sql": "{{ config(materialized='table') }}\nselect 2 as y\n" for i in range(3)},
    })
    running = start_pds("build", "--threads", "1", "--vars", "{sleep: 30}", cwd=project)
    assert wait_until(lambda: bool(pg_active("pg_sleep")), 60), running.output
    from tests import engine_postgres as pg

    with pg.connect() as conn:
        for pid in pg_active("pg_sleep"):
            conn.execute("SELECT pg_terminate_backend(%s)", [pid])
    code, out = running.finish()
    assert code == 1, out
    assert "lost the connection to target 'ci'" in out and "pds retry" in out and "Traceback" not in out
    # the same worker thread reconnected for the nodes after it
    assert statuses(project) == {"a_sleepy": "error", "after_sleepy": "skipped", "other_0": "success",
                                 "other_1": "success", "other_2": "success"}
    retried = run_pds("retry", "--project-dir", str(project))
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert statuses(project) == {"a_sleepy": "success", "after_sleepy": "success"}
    assert engine.query(f"SELECT x FROM {engine.qualified('after_sleepy')}") == [(1,)]


def test_retry_reruns_only_failed_and_skipped_nodes(tmp_path: Path) -> None:
    engine = next(make_engine("duckdb", tmp_path))
    broken = "{{ config(materialized='table') }}\nselect cast('not a number' as integer) as x\n"
    project = write_project(tmp_path / "p", engine, {
        "models/bad.sql": broken,
        "models/child.sql": "select x + 1 as x from {{ ref('bad') }}\n",
        "models/fine.sql": "{{ config(materialized='table') }}\nselect 1 as x\n",
    })
    missing = run_pds("retry", "--project-dir", str(project))
    assert missing.returncode == 2 and "nothing to retry" in missing.stderr and "hint: run `pds build`" in missing.stderr
    first = run_pds("build", "--project-dir", str(project))
    assert first.returncode == 1
    assert statuses(project) == {"bad": "error", "child": "skipped", "fine": "success"}
    still = run_pds("retry", "--project-dir", str(project))
    assert still.returncode == 1 and statuses(project) == {"bad": "error", "child": "skipped"}
    write_files(project, {"models/bad.sql": "{{ config(materialized='table') }}\nselect 41 as x\n"})
    fixed = run_pds("retry", "--project-dir", str(project))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert statuses(project) == {"bad": "success", "child": "success"}
    assert engine.query('SELECT x FROM rel.child') == [(42,)]
    done = run_pds("retry", "--project-dir", str(project))
    assert done.returncode == 0 and "Nothing to retry" in done.stdout
