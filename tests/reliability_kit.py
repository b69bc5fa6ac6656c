"""Helpers of the reliability tests: a project in a temporary folder on DuckDB or Postgres, the real
CLI started as a subprocess (to be killed), and the warehouse read back with the engine's own driver."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import engine_postgres as pg
from tests.conftest import ROOT

ENGINES = ["duckdb", "postgres"]
STAGING = re.compile(r"__pds_", re.IGNORECASE)


@dataclass
class Engine:
    """One warehouse for one test: its profiles.yml target and a way to read it back."""

    name: str
    schema: str
    settings: dict[str, Any]
    dialect: str

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        if self.name == "duckdb":
            import duckdb

            con = duckdb.connect(self.settings["path"], read_only=True)
            try:
                return con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
            finally:
                con.close()
        with pg.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def qualified(self, name: str, schema: str | None = None) -> str:
        quote = lambda s: '"' + s.replace('"', '""') + '"'  # noqa: E731 - test-side reading only
        return f"{quote(schema or self.schema)}.{quote(name)}"

    def relations(self, schema_prefix: str | None = None) -> dict[str, str]:
        """name -> 'table'/'view' in the test's schema (or every schema starting with schema_prefix)."""
        prefix = (schema_prefix or self.schema).replace("_", "\\_") + ("%" if schema_prefix else "")
        catalog = " AND table_catalog = current_database()" if self.name == "duckdb" else ""
        rows = self.query("SELECT table_name, table_type FROM information_schema.tables "
                          f"WHERE table_schema LIKE {'?' if self.name == 'duckdb' else '%s'} ESCAPE '\\'" + catalog,
                          [prefix])
        return {n: ("view" if "VIEW" in t.upper() else "table") for n, t in rows}

    def staging(self) -> list[str]:
        return sorted(n for n in self.relations(self.schema) if STAGING.search(n))

    def series(self, n: int, column: str = "i") -> str:
        """A FROM clause with n rows numbered 0..n-1, in this engine's SQL."""
        if self.name == "duckdb":
            return f"range({n}) t({column})"
        return f"generate_series(0, {n - 1}) t({column})"


def make_engine(name: str, tmp_path: Path) -> Iterator[Engine]:
    if name == "duckdb":
        yield Engine("duckdb", "rel", {"type": "duckdb", "path": str(tmp_path / "wh.duckdb"), "schema": "rel",
                                       "threads": 2}, "duckdb")
        return
    reason = pg.unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"pds_rel_{uuid.uuid4().hex[:8]}"
    try:
        yield Engine("postgres", schema, {"type": "postgres", "host": pg.HOST, "port": pg.PORT, "user": pg.user(),
                                          "dbname": pg.DBNAME, "schema": schema, "threads": 2}, "postgres")
    finally:
        with pg.connect() as conn:
            for (name_,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                         [schema + "%"]).fetchall():
                pg.drop_schema(name_)


def write_project(folder: Path, engine: Engine, files: dict[str, str], name: str = "rel",
                  extra_config: str = "") -> Path:
    """A project with the given files (relative path -> text) and one target, `ci`, on the engine."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pds_project.yml").write_text(f"name: {name}\nprofile: {name}\ndialect: {engine.dialect}\n"
                                            f"{extra_config}", encoding="utf-8")
    (folder / "profiles.yml").write_text(yaml.safe_dump({name: {"target": "ci", "outputs": {"ci": engine.settings}}}),
                                         encoding="utf-8")
    write_files(folder, files)
    return folder


def write_files(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@dataclass
class Running:
    """A `pds` subprocess whose output is collected line by line as it comes."""

    proc: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def wait_line(self, pattern: str, timeout: float = 60) -> bool:
        """True once a line matches pattern; False if the process ended or time ran out first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(regex.search(line) for line in list(self.lines)):
                return True
            if self.proc.poll() is not None:
                time.sleep(0.1)  # let the reader catch the last lines
                return any(regex.search(line) for line in list(self.lines))
            time.sleep(0.01)
        return False

    def kill(self) -> int:
        """SIGKILL: no handler, no finally block runs; returns the exit status."""
        self.proc.kill()
        return self.proc.wait(timeout=30)

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.05)
        return code, self.output

    @property
    def output(self) -> str:
        return "".join(self.lines)


def start_pds(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Running:
    """Start the real CLI unbuffered (each output line arrives as it is printed)."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "pds_core.cli", *args], cwd=cwd, env=full_env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    running = Running(proc)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            running.lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return running


def wait_until(check: Callable[[], bool], timeout: float = 60, every: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return False


def pg_active(pattern: str) -> list[int]:
    """Server pids of other sessions running a query that contains pattern."""
    with pg.connect() as conn:
        return [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
            "AND datname = %s AND query ILIKE %s", [pg.DBNAME, f"%{pattern}%"]).fetchall()]


__all__ = ["ENGINES", "ROOT", "Engine", "Running", "make_engine", "pg_active", "start_pds",
           "wait_until", "write_files", "write_project"]
