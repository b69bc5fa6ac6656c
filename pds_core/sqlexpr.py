"""A SQL expression written by the user in YAML (a test's `where:`, an export's `where:`), parsed once."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from pds_core.errors import ProjectError


def parse_sql_expression(text: str, dialect: str, what: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(str(text), read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise ProjectError(f"{what}: {text!r} is not a SQL expression: {str(exc).splitlines()[0]}") from None
