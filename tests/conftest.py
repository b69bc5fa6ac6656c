"""Shared fixtures: run the real `pds` CLI on real projects in temporary folders."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "project_template"
POSTGRES_SCRIPT = ROOT / ".ci" / "postgres"
_started_postgres: list[bool] = []
_SESSION_CACHE = tempfile.mkdtemp(prefix="pds-test-cache-")


@pytest.fixture(autouse=True)
def own_shared_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own shared cache folder (PDS_CACHE_DIR), so no test reads a parse cache another test
    saved; Jinja's compiled macro code (keyed by its text and pds's code, nothing a test changes) is shared
    by the whole session through a link, which spares each `pds` the same compile of pds's own macros."""
    folder = tmp_path_factory.mktemp("pds-cache")
    (Path(_SESSION_CACHE) / "jinja").mkdir(exist_ok=True)
    (folder / "jinja").symlink_to(Path(_SESSION_CACHE) / "jinja", target_is_directory=True)
    monkeypatch.setenv("PDS_CACHE_DIR", str(folder))
    return folder


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def pytest_sessionstart(session: pytest.Session) -> None:
    """PostgreSQL on 127.0.0.1:5432 for the Postgres tests: installed and started when missing (as root),
    and stopped again at the end of the session if this session started it. The user's shared cache folder
    is never touched: the session gets its own (see `own_shared_cache`)."""
    os.environ["PDS_CACHE_DIR"] = _SESSION_CACHE
    # A session started in the background by a script (`.ci/run &`, nohup) inherits SIGINT ignored, and so
    # would every `pds` it starts: the Ctrl-C tests could not interrupt them. Catching SIGINT here gives
    # the children the default action back (exec resets caught signals, not ignored ones).
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if _listening("127.0.0.1", 5432) or os.geteuid() != 0 or not POSTGRES_SCRIPT.exists():
        return
    done = subprocess.run(["bash", str(POSTGRES_SCRIPT)], capture_output=True, text=True)
    if done.returncode == 0:
        _started_postgres.append(True)
    else:
        sys.stderr.write(f"could not start PostgreSQL: {done.stderr.strip()}\n")


def pytest_sessionfinish(session: pytest.Session) -> None:
    shutil.rmtree(_SESSION_CACHE, ignore_errors=True)
    if _started_postgres:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop"], capture_output=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """In CI (CI or PDS_TEST_STRICT set) a skipped test fails: a missing server or package must not pass
    quietly on a fresh machine."""
    outcome = yield
    report = outcome.get_result()
    strict = os.environ.get("CI") or os.environ.get("PDS_TEST_STRICT")
    if strict and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where everything must run: {reason}"


def run_pds(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `pds ARGS` as a subprocess, like a user would, and return the finished process."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "pds_core.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a server a test started: SIGTERM, then SIGKILL if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


ENGINE_MARKS = {"postgres": pytest.mark.postgres, "snowflake": pytest.mark.snowflake,
                "bigquery": pytest.mark.bigquery, "spark": pytest.mark.spark, "spark_connect": pytest.mark.spark}


def engine_params(names: list[str]) -> list[object]:
    """Engine names as pytest params carrying their engine's marker (duckdb has none: it is in-process)."""
    return [pytest.param(n, id=n, marks=ENGINE_MARKS.get(n, ())) for n in names]


@pytest.fixture
def template_project(tmp_path: Path) -> Path:
    """A fresh copy of project_template in a temporary folder."""
    dest = tmp_path / "proj"
    shutil.copytree(TEMPLATE, dest, ignore=shutil.ignore_patterns("target", "*.duckdb*", "__pycache__"))
    return dest
