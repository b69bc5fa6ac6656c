"""Concurrency: two `pds build` on one target never interleave. The second refuses with a clear message
(or waits, with --lock-timeout), and a lock left by a killed process is taken over by the next run."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pds_core.locking import FileLock, TargetLocked, acquire
from tests.conftest import engine_params
from tests.reliability_kit import ENGINES, Engine, make_engine, start_pds, write_project

SLOW_MODEL = """import time

import pandas as pd


def model(ctx):
    ctx.config(materialized="table")
    time.sleep(float(ctx.var("sleep", 0)))
    return pd.DataFrame({"version": [ctx.var("v", 1)] * 3})
"""


@pytest.fixture(params=engine_params(ENGINES))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_engine(request.param, tmp_path)


def project_for(engine: Engine, folder: Path) -> Path:
    return write_project(folder, engine, {
        "models/slow.py": SLOW_MODEL,
        "models/after.sql": "{{ config(materialized='table') }}\nselect version, {{ var('v', 1) }} as v "
                            "from {{ ref('slow') }}\n",
    })


def rows(engine: Engine) -> list[tuple]:
    return sorted(engine.query(f"SELECT version, v FROM {engine.qualified('after')}"))


@pytest.mark.slow
def test_a_second_build_refuses_while_the_first_runs(engine: Engine, tmp_path: Path) -> None:
    project = project_for(engine, tmp_path / "p")
    first = start_pds("build", "--vars", "{v: 1, sleep: 8}", cwd=project)
    assert first.wait_line(r"Running build", 60), first.output  # it holds the lock from here on
    second = start_pds("build", "--vars", "{v: 2}", cwd=project)
    code, out = second.finish()
    assert code == 2, out
    assert f"target 'ci' is in use by another pds run: pds build (pid {first.proc.pid}" in out \
        or "server process" in out, out
    assert "hint: wait for that run to finish, or pass --lock-timeout SECONDS" in out and "Traceback" not in out
    code, out = first.finish()
    assert code == 0, out
    assert rows(engine) == [(1, 1)] * 3
    results = json.loads((project / "target" / "run_results.json").read_text())
    assert results["success"] and {r["name"] for r in results["results"]} == {"slow", "after"}


@pytest.mark.slow
def test_a_second_build_waits_with_lock_timeout(engine: Engine, tmp_path: Path) -> None:
    project = project_for(engine, tmp_path / "p")
    first = start_pds("build", "--vars", "{v: 1, sleep: 8}", cwd=project)
    assert first.wait_line(r"Running build", 60), first.output
    second = start_pds("build", "--lock-timeout", "120", "--vars", "{v: 2}", cwd=project)
    assert second.wait_line(r"Waiting for target 'ci'", 60), second.output
    assert first.finish()[0] == 0
    code, out = second.finish()
    assert code == 0, out
    assert rows(engine) == [(2, 2)] * 3  # the second ran after the first, on its result


def test_a_lock_left_by_a_killed_build_is_recovered(engine: Engine, tmp_path: Path) -> None:
    project = project_for(engine, tmp_path / "p")
    first = start_pds("build", "--vars", "{v: 1, sleep: 30}", cwd=project)
    assert first.wait_line(r"Running build", 60), first.output
    first.kill()
    lock_file = Path(engine.settings["path"] + ".pds-lock") if engine.name == "duckdb" else None
    if lock_file is not None:
        assert json.loads(lock_file.read_text())["pid"] == first.proc.pid  # left behind by the dead process
    second = start_pds("build", "--vars", "{v: 2}", cwd=project)
    code, out = second.finish()
    assert code == 0, out
    assert rows(engine) == [(2, 2)] * 3
    assert lock_file is None or not lock_file.exists()


# ---- the lock file itself ----------------------------------------------------------------------------
def plant(path: Path, **info: object) -> None:
    path.write_text(json.dumps({"command": "pds build", "started_at": "2024-01-01T00:00:00Z", **info}))


def test_lock_file_owners(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb.pds-lock"
    here = socket.gethostname()
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    plant(path, pid=dead, host=here)
    lock = FileLock(path, {"command": "pds build"})
    assert lock.try_acquire() is None and json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()
    assert not path.exists()
    plant(path, pid=os.getpid(), host=here, proc_start="1")  # our pid, but another process's start time
    assert FileLock(path, {}).try_acquire() is None
    plant(path, pid=os.getpid(), host=here)  # a live process on this host
    with pytest.raises(TargetLocked) as live:
        acquire(FileLock(path, {}), "dev", 0.3)
    assert f"pid {os.getpid()} on {here}" in str(live.value) and "after waiting 0.3s" in str(live.value)
    plant(path, pid=dead, host="another-host")  # cannot be checked from here: never taken over
    with pytest.raises(TargetLocked) as remote:
        acquire(FileLock(path, {}), "dev", 0)
    assert "on another-host" in str(remote.value) and "--lock-timeout" in str(remote.value)
    path.write_text("")  # an owner that died between creating the file and writing it
    os.utime(path, (0, 0))
    assert FileLock(path, {}).try_acquire() is None
