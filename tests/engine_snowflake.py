"""Snowflake for the cross-engine suite: a fakesnow server on loopback, reached by the real connector.

fakesnow runs in its own virtualenv (it pins a sqlglot that pds cannot share): `.venv-fakesnow` in
the repository, made by `.ci/run`, or the Python named by PDS_FAKESNOW_PYTHON. Each server is a
subprocess (tests/fakesnow_launcher.py) on a free 127.0.0.1 port, stopped when the block ends.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas

NAME = "snowflake"
ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = Path(__file__).resolve().parent / "fakesnow_launcher.py"
DATABASE = "pds_test"
PASSWORD = "fakesnow-Secret-9f3a"  # fakesnow accepts any password; tests check it is never printed
INSTALL = ".ci/standins  (makes .venv-fakesnow)"


def fakesnow_python() -> str | None:
    """A Python that can import fakesnow's server, or None."""
    for candidate in (os.environ.get("PDS_FAKESNOW_PYTHON"), str(ROOT / ".venv-fakesnow" / "bin" / "python")):
        if candidate and Path(candidate).is_file():
            return candidate
    return sys.executable if importlib.util.find_spec("fakesnow") else None


def unavailable() -> str | None:
    """Why the Snowflake tests cannot run here, or None. In CI a missing piece fails instead of skipping."""
    if os.environ.get("CI"):
        return None
    if importlib.util.find_spec("snowflake.connector") is None:
        return "snowflake-connector-python is not installed (pip install -e '.[test]')"
    if fakesnow_python() is None:
        return f"no fakesnow server: {INSTALL}"
    return None


@contextlib.contextmanager
def server() -> Iterator[int]:
    """Run a fakesnow server; yields its port. The emulator's log is shown if it fails to start."""
    python = fakesnow_python()
    if python is None:
        raise RuntimeError(f"fakesnow is not installed: {INSTALL}")
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen([python, str(LAUNCHER)], stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if not line.isdigit():
                proc.wait(timeout=10)
                log.seek(0)
                raise RuntimeError(f"fakesnow did not start (exit {proc.returncode}):\n{log.read()[-3000:]}")
            yield int(line)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def settings_for(port: int, schema: str) -> dict[str, Any]:
    """A profiles.yml target for the fakesnow server on port, creating its database."""
    settings = {"type": "snowflake", "account": "fakesnow", "user": "pds", "password": PASSWORD,
                "database": DATABASE, "schema": schema, "warehouse": "pds_wh", "role": "transformer",
                "host": "127.0.0.1", "port": port, "protocol": "http", "query_tag": "pds-tests", "threads": 4}
    with contextlib.closing(_connect(settings)) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    return settings


@contextlib.contextmanager
def target(schema: str) -> Iterator[dict]:
    """A fresh fakesnow server and a target on it; the server stops when the block ends."""
    with server() as port:
        yield settings_for(port, schema)


def read_table(settings: dict, schema: str, table: str) -> pandas.DataFrame:
    """The table's rows, read with the connector; folded (upper-case) column names are lower-cased."""
    from pds_core.nodes import Relation

    query = f"SELECT * FROM {Relation(schema, table, settings['database']).sql('snowflake')}"
    with contextlib.closing(_connect(settings)) as conn, conn.cursor() as cur:
        cur.execute(query)
        names = [d[0].lower() if d[0].isupper() else d[0] for d in cur.description]
        rows = [tuple(float(v) if isinstance(v, decimal.Decimal) else v for v in r) for r in cur.fetchall()]
    return pandas.DataFrame.from_records(rows, columns=names)


def _connect(settings: dict) -> Any:
    import snowflake.connector

    keys = ("account", "user", "password", "host", "port", "protocol", "database")
    return snowflake.connector.connect(**{k: settings[k] for k in keys})


def column_types(settings: dict, schema: str, table: str) -> dict[str, str]:
    """column name (lower-cased where Snowflake folded it) -> the type information_schema reports."""
    query = (f"SELECT column_name, data_type, numeric_precision, numeric_scale FROM {settings['database']}"
             ".information_schema.columns WHERE lower(table_schema) = %s AND lower(table_name) = %s")
    with contextlib.closing(_connect(settings)) as conn, conn.cursor() as cur:
        cur.execute(query, [schema.lower(), table.lower()])
        rows = cur.fetchall()
    return {(n.lower() if n.isupper() else n): (f"{t}({p},{s})" if t.upper() == "NUMBER" else t)
            for n, t, p, s in rows}
