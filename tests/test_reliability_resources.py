"""Resources: a Python model that streams a large parent with ctx.ref(..., chunksize=N) stays near the
process's base memory while a whole-table read grows with the table; a build of many models keeps the
number of open files and warehouse connections bounded (per-thread connections are reused).

The many-model build runs 500 models on DuckDB and 300 on Postgres by default; set PDS_SLOW_TESTS=1
for the full sizes (5,000 and 2,000).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import engine_params, run_pds
from tests.reliability_kit import ENGINES, Engine, make_engine, write_files, write_project

SLOW = os.environ.get("PDS_SLOW_TESTS") == "1"
READER = """import pandas as pd


def model(ctx):
    ctx.config(materialized="table")
    sizes, total = [], 0
    for chunk in {source}:
        sizes.append(len(chunk))
        total += int(chunk["i"].sum())
    return pd.DataFrame({{"chunks": [len(sizes)], "largest": [max(sizes)], "total": [total]}})
"""
MEASURE = ("import atexit, resource, sys\n"
           "atexit.register(lambda: print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
           "file=sys.stderr))\nfrom pds_core.cli import main\nsys.argv = ['pds'] + sys.argv[1:]\nmain()\n")


@pytest.fixture(params=engine_params(ENGINES))
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_engine(request.param, tmp_path)


def peak_memory_mb(project: Path, *args: str) -> float:
    """Run pds in a fresh process and return its peak resident memory."""
    result = subprocess.run([sys.executable, "-c", MEASURE, *args, "--project-dir", str(project)],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return int(result.stderr.split("MAXRSS_KB")[-1].split()[0]) / 1024


@pytest.mark.slow
def test_chunked_reads_keep_a_python_model_small(engine: Engine, tmp_path: Path) -> None:
    rows = 3_000_000 if engine.name == "duckdb" else 2_000_000
    chunk = 100_000
    project = write_project(tmp_path / "p", engine, {
        "models/big.sql": "{{ config(materialized='table') }}\n"
                          f"select i, 'row number ' || cast(i as varchar) as label from {engine.series(rows)}\n",
        "models/chunked.py": READER.format(source=f"ctx.ref('big', chunksize={chunk})"),
        "models/whole.py": READER.format(source="[ctx.ref('big')]"),
    })
    result = run_pds("build", "--project-dir", str(project), "--select", "big")
    assert result.returncode == 0, result.stdout + result.stderr
    streamed = peak_memory_mb(project, "build", "--select", "chunked")
    loaded = peak_memory_mb(project, "build", "--select", "whole")
    [(chunks, largest, total)] = engine.query(f"SELECT chunks, largest, total FROM {engine.qualified('chunked')}")
    assert total == rows * (rows - 1) // 2 and largest <= chunk and chunks >= rows // chunk
    assert engine.query(f"SELECT total FROM {engine.qualified('whole')}") == [(total,)]
    assert streamed < loaded - 50, (streamed, loaded)  # the whole table costs more (RSS also holds DuckDB's cache)


def chain_project(engine: Engine, folder: Path, n: int) -> Path:
    """n models in a binary tree of refs; every tenth is a table, the rest views."""
    files = {}
    for i in range(n):
        body = "select 1 as id" if i == 0 else f"select id + 1 as id from {{{{ ref('m_{(i - 1) // 2:05d}') }}}}"
        files[f"models/m_{i:05d}.sql"] = ("{{ config(materialized='table') }}\n" if i % 10 == 0 else "") + body + "\n"
    project = write_project(folder, engine, {})
    write_files(project, files)
    return project


def open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open files through /proc")
def test_many_models_keep_files_and_connections_bounded(engine: Engine, tmp_path: Path) -> None:
    n = (5000 if engine.name == "duckdb" else 2000) if SLOW else (500 if engine.name == "duckdb" else 300)
    threads = 4
    project = chain_project(engine, tmp_path / "p", n)
    app = f"pds-resources-{uuid.uuid4().hex[:8]}"  # libpq names this process's sessions (PGAPPNAME)
    proc = subprocess.Popen([sys.executable, "-m", "pds_core.cli", "-q", "build", "--threads", str(threads),
                             "--project-dir", str(project)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "NO_COLOR": "1", "PGAPPNAME": app})
    peak = {"fds": 0, "sessions": 0}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            peak["fds"] = max(peak["fds"], open_files(proc.pid))
            if engine.name == "postgres":
                peak["sessions"] = max(peak["sessions"], sessions_of(engine, app))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out, _ = proc.communicate(timeout=900)
    done.set()
    watcher.join()
    assert proc.returncode == 0, out
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    assert len(results) == n and all(r["status"] == "success" for r in results)
    assert engine.query(f"SELECT id FROM {engine.qualified(f'm_{n - 1:05d}')}") == [((n - 1).bit_length(),)]
    assert 0 < peak["fds"] <= 64, peak  # a fixed set of files, whatever the number of models
    if engine.name == "postgres":
        assert 0 < peak["sessions"] <= threads + 2, peak  # a connection per thread, plus the lock's


def sessions_of(engine: Engine, app: str) -> int:
    """Server sessions (active or idle in the pool) opened by the pds process under test."""
    return int(engine.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app])[0][0])
