"""Ctrl-C (SIGINT) during a build: the running statements are cancelled, rolled back, the lock released,
exit 130 within seconds; the run is recorded as interrupted with what finished, and `pds retry`
finishes it. A real slow DuckDB query and a real slow Postgres query (pg_sleep), in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests import engine_postgres as pg
from tests.projects import pds, query, relations, write_project

SLOW_DUCKDB = ("{{ config(materialized='table') }}\nselect sum(a.range * b.range) + (select count(*) from {{ ref('a_first') }})"
               " as x from range(400000) a, range(400000) b")
FAST = "{{ config(materialized='table') }}\nselect 42 as x"
FAST_AFTER = "{{ config(materialized='table') }}\nselect 42 as x from {{ ref('a_first') }} limit 1"
FILES = {
    "seeds/s.csv": "id\n1\n2\n",
    "models/a_first.sql": "{{ config(materialized='table') }}\nselect * from {{ ref('s') }}",
    "models/b_slow.sql": SLOW_DUCKDB,
    "models/c_after.sql": "{{ config(materialized='table') }}\nselect x + 1 as y from {{ ref('b_slow') }}",
}


def start(project: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "pds_core.cli", "--log-format", "json", "build", "--threads", "1",
                             "--project-dir", str(project), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def interrupt_after(proc: subprocess.Popen, finished: str, twice: bool = False,
                    signum: int = signal.SIGINT) -> tuple[float, list[dict], str]:
    """Wait until node `finished` is done (the slow one runs next), then Ctrl-C; returns the seconds to exit,
    the JSON events and stderr."""
    assert proc.stdout is not None
    events = []
    for line in proc.stdout:
        events.append(json.loads(line))
        if events[-1].get("event") == "node_finished" and events[-1].get("name") == finished:
            break
    else:
        raise AssertionError(f"the build ended before {finished} finished: {events} {proc.stderr.read()}")
    time.sleep(1.5)  # the slow statement is running now
    proc.send_signal(signum)
    sent = time.monotonic()
    if twice:
        time.sleep(0.3)
        proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    events += [json.loads(line) for line in out.splitlines() if line.strip()]
    return time.monotonic() - sent, events, err


def test_ctrl_c_cancels_a_slow_duckdb_query_records_the_run_as_interrupted_and_retry_finishes_it(tmp_path):
    project = write_project(tmp_path / "p", FILES)
    proc = start(project)
    took, events, err = interrupt_after(proc, "a_first")
    assert proc.returncode == 130, err
    assert took < 15, f"exit took {took:.1f}s: the query was waited for instead of cancelled"
    assert "Traceback" not in err
    assert not list(project.glob("*.pds-lock")), "the lock file was left behind"
    kinds = [e["event"] for e in events]
    assert "run_interrupted" in kinds and kinds[-1] == "run_finished" and events[-1]["status"] == "interrupted"

    results = json.loads((project / "target" / "run_results.json").read_text())
    assert results["success"] is False and results["status"] == "interrupted"
    status = {r["name"]: (r["status"], r["message"]) for r in results["results"]}
    assert status["s"][0] == status["a_first"][0] == "success"
    assert status["b_slow"][0] == "error" and "interrupted" in status["b_slow"][1]
    assert status["c_after"][0] == "skipped" and "not run" in status["c_after"][1]
    assert "b_slow" not in relations(project)  # rolled back, not committed behind the message's back
    assert query(project, "select status, nodes from pds_results.pds_runs") == [("interrupted", 4)]

    (project / "models" / "b_slow.sql").write_text(FAST_AFTER)
    retried = pds(project, "retry")
    assert "Retrying 2 nodes" in retried.stdout
    assert query(project, "select y from main.c_after") == [(43,)]
    assert json.loads((project / "target" / "run_results.json").read_text())["success"] is True


def test_a_second_ctrl_c_leaves_no_lock_and_prints_no_traceback(tmp_path):
    project = write_project(tmp_path / "p", FILES)
    proc = start(project)
    took, events, err = interrupt_after(proc, "a_first", twice=True)
    assert proc.returncode == 130
    assert took < 15
    assert "Traceback" not in err and "unexpected" not in err, err
    assert not list(project.glob("*.pds-lock"))
    (project / "models" / "b_slow.sql").write_text(FAST_AFTER)
    pds(project, "build")  # the target is free: no lock, no open database file


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    """A cancelled CI job or `kill` sends SIGTERM: the statement is cancelled, the run recorded, the lock freed."""
    project = write_project(tmp_path / "p", FILES)
    proc = start(project)
    took, events, err = interrupt_after(proc, "a_first", signum=signal.SIGTERM)
    assert proc.returncode == 130, err
    assert took < 15, f"exit took {took:.1f}s"
    assert "Traceback" not in err
    assert not list(project.glob("*.pds-lock")), "the lock file was left behind"
    assert events[-1]["event"] == "run_finished" and events[-1]["status"] == "interrupted"
    results = json.loads((project / "target" / "run_results.json").read_text())
    assert {r["name"]: r["status"] for r in results["results"]}["a_first"] == "success"
    assert query(project, "select status from pds_results.pds_runs") == [("interrupted",)]


@pytest.mark.skipif(pg.unavailable() is not None, reason=str(pg.unavailable()))
def test_ctrl_c_cancels_a_slow_postgres_query(tmp_path):
    schema = f"pds_sig_{uuid.uuid4().hex[:8]}"
    profile = (f"proj:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: {pg.HOST}\n"
               f"      port: {pg.PORT}\n      user: {pg.user()}\n      dbname: {pg.DBNAME}\n      schema: {schema}\n")
    with pg.target(schema):
        project = write_project(tmp_path / "p", {
            "pds_project.yml": "name: proj\nprofile: proj\n", "profiles.yml": profile,
            "models/a_first.sql": FAST,
            "models/b_slow.sql": "{{ config(materialized='table') }}\n"
                                 "select count(*) as x from pg_sleep(120), {{ ref('a_first') }}",
        })
        proc = start(project)
        took, events, err = interrupt_after(proc, "a_first", twice=True)
        assert proc.returncode == 130, err
        assert took < 15 and "Traceback" not in err
        run_id = json.loads((project / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]
        with pg.connect() as conn:
            sleeping = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(120)%%' "
                                    "AND pid <> pg_backend_pid()").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                                 "WHERE table_schema = %s", [schema]).fetchall()}
            runs = conn.execute("SELECT status FROM pds_results.pds_runs WHERE run_id = %s", [run_id]).fetchall()
        assert sleeping == 0, "the query still runs on the server"
        assert "b_slow" not in tables and "a_first" in tables
        assert runs == [("interrupted",)]
        (project / "models" / "b_slow.sql").write_text(FAST_AFTER)
        pds(project, "build")  # the advisory lock was released with the session
