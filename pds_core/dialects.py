"""The project's `dialect:` checked without importing sqlglot for the names every project uses.

Why: loading a project happens on every command, and importing sqlglot to look a dialect up costs
~70 ms that `pds ls`, a warm `pds compile` (a replay) or `pds clean` never otherwise pay (issue 17).
The default (duckdb) and the dialects of pds's own adapters are known; any other name is looked up
in sqlglot, as before, so a sqlglot dialect (or a plugin's) is accepted and a misspelt one refused.
"""

from __future__ import annotations

from pds_core.errors import ProjectError

KNOWN_DIALECTS = frozenset({"duckdb", "postgres", "snowflake", "bigquery", "spark"})


def dialect_errors(dialect: str | None, file: str, line: int | None) -> list[ProjectError]:
    """[] when sqlglot knows the dialect, else the error naming it (file:line of `dialect:`)."""
    if dialect is None or (isinstance(dialect, str) and dialect in KNOWN_DIALECTS):
        return []
    from sqlglot.dialects.dialect import Dialect

    try:
        Dialect.get_or_raise(dialect)
    except ValueError:
        return [ProjectError(f"unknown SQL dialect {dialect!r}", file, line,
                             hint="use a sqlglot dialect name such as duckdb, postgres, snowflake, bigquery")]
    return []
