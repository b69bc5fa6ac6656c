"""The schema column validation resolves names against: parents' tables as sqlglot sees them, and hints."""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope
from sqlglot.schema import MappingSchema

NO_PART = "__pds_none__"  # fills missing catalog/schema parts so every table nests at the same depth


def schema_of(entries: list[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]], dialect: Dialect) -> MappingSchema:
    """A sqlglot schema of the given tables, nested at one depth (missing leading parts filled in)."""
    depth = max((len(parts) for parts, _ in entries), default=1)
    nested: dict[str, Any] = {}
    for parts, columns in entries:
        level = nested
        for part in (NO_PART,) * (depth - len(parts)) + parts[:-1]:
            level = level.setdefault(part, {})
        level[parts[-1]] = dict(columns)
    return MappingSchema(nested, dialect=dialect, normalize=False)


def source_columns_of(source: Any, schema: MappingSchema) -> list[str] | None:
    """Columns a FROM source offers: a table's from the schema, a subquery's or CTE's from its outputs."""
    if isinstance(source, Scope):
        names = source.expression.named_selects
        return None if "*" in names else names
    if isinstance(source, exp.Table):
        try:
            return schema.column_names(source) or None
        except SqlglotError:
            return None
    return None


def available(names: Any) -> str | None:
    """The hint after an unknown column: the columns that are there (the first dozen)."""
    names = sorted(names)
    if not names:
        return None
    return "available columns: " + ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
