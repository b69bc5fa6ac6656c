"""Small projects for the core end-to-end tests, written into temporary folders.

A test describes a project as {relative path: file text}; `write_project` lays it out, the
test drives the real CLI on it, and `query` reads the DuckDB file afterwards (read-only,
after the CLI has exited) to check what was really built.
"""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import run_pds

needs_postgres = pytest.mark.skipif(
    importlib.util.find_spec("pds_adapters.postgres") is None or importlib.util.find_spec("psycopg") is None,
    reason="the postgres adapter is not installed")


def postgres_profile(port: int, schema: str, password_env: str) -> str:
    """profiles.yml for project `proj` on the local Postgres (db test), password from an env var."""
    return (f"proj:\n  target: pg\n  outputs:\n    pg:\n      type: postgres\n      host: 127.0.0.1\n"
            f"      port: {port}\n      user: postgres\n      password: \"{{{{ env_var('{password_env}') }}}}\"\n"
            f"      dbname: test\n      schema: {schema}\n")


def write_project(root: Path, files: dict[str, str], name: str = "proj") -> Path:
    """Create a project; pds_project.yml defaults to `name: <name>` (so no profiles.yml is needed)."""
    root.mkdir(parents=True, exist_ok=True)
    files = {"pds_project.yml": f"name: {name}\n", **files}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def pds(project: Path, *args: str, env: dict[str, str] | None = None, expect: int | None = 0) -> Any:
    """Run `pds ARGS --project-dir project`; check the exit code unless expect is None."""
    result = run_pds(*args, "--project-dir", str(project), env=env)
    if expect is not None:
        assert result.returncode == expect, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def invoke(project: Path, *args: str) -> tuple[int, str]:
    """The real CLI in this process (exit code, stdout + stderr): for the many cases that only parse."""
    from click.testing import CliRunner

    from pds_core.cli import cli

    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)])
    return result.exit_code, result.output


def database(project: Path) -> Path:
    """The default target's DuckDB file: <project>/<name>.duckdb."""
    found = sorted(project.glob("*.duckdb"))
    assert found, f"no .duckdb file in {project}"
    return found[0]


def query(project: Path, sql: str, db: Path | None = None) -> list[tuple]:
    """Rows of a query against the project's DuckDB file, opened read-only."""
    con = duckdb.connect(str(db or database(project)), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def relations(project: Path, schema: str = "main") -> dict[str, str]:
    """name -> 'BASE TABLE' or 'VIEW' for the relations in one schema."""
    rows = query(project, "select table_name, table_type from information_schema.tables "
                          f"where table_schema = '{schema}'")
    return dict(rows)


def column_types(project: Path, table: str) -> dict[str, str]:
    return {name: dtype for name, dtype, *_ in query(project, f"describe {table}")}


def ls_names(project: Path, *args: str) -> list[str]:
    """Names `pds ls` prints for the given selection arguments."""
    out = pds(project, "ls", *args).stdout
    return [line for line in out.splitlines() if line.strip()]


def artifact(project: Path, name: str) -> Any:
    return json.loads((project / "target" / name).read_text(encoding="utf-8"))


def output(result: Any) -> str:
    return result.stdout + result.stderr
