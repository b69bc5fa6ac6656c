"""Descriptions into the warehouse (dbt's persist_docs): the relation's and its columns' comments.

What is written is what dbt writes: the relation's description when it has one; for columns, every
column described in schema YAML that the relation has (an empty description included), matched as
dbt matches them (case-insensitively unless the column is `quote: true`). Per engine (the adapter's
`comment_style` flag):

- "comment_on" (Postgres, DuckDB): `COMMENT ON TABLE|VIEW <relation> IS '...'` and
  `COMMENT ON COLUMN <relation>."<column>" IS '...'`;
- "snowflake": `COMMENT ON TABLE|VIEW <relation> IS '...'`, and per column of the relation
  `ALTER TABLE|VIEW <relation> ALTER COLUMN "<column>" COMMENT '...'` (an undocumented one gets '',
  as dbt-snowflake does);
- "api" (BigQuery): the adapter's update_descriptions() patches the table's description and its
  schema fields' descriptions through the API, as dbt-bigquery does.

Column names are written exactly as the warehouse reports them, so a name with a space or capitals
needs no `quote:` (dbt-postgres and dbt-duckdb fail on those without it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from pds_adapters.relation import Relation


@dataclass
class Descriptions:
    """What to persist: the relation's description (None: leave it) and column -> (description, quote)."""

    relation: str | None = None
    columns: dict[str, tuple[str, bool]] = field(default_factory=dict)


def match_columns(declared: dict[str, tuple[str, bool]], existing: list[str]) -> tuple[dict[str, str], list[str]]:
    """existing column name -> description for the declared columns the relation has, and the declared
    names it has not (dbt's validate_doc_columns: exact for quoted columns, else case-insensitive)."""
    lowered = {c.lower(): c for c in existing}
    found: dict[str, str] = {}
    missing: list[str] = []
    for name, (description, quoted) in declared.items():
        actual = (name if name in existing else None) if quoted else lowered.get(name.lower())
        if actual is None:
            missing.append(name)
        else:
            found[actual] = description
    return found, missing


def persist(adapter: Any, relation: Relation, kind: str, docs: Descriptions) -> list[str]:
    """Write the descriptions; returns the names of documented columns the relation does not have."""
    if adapter.comment_style == "api":
        return adapter.update_descriptions(relation, docs)
    missing: list[str] = []
    statements: list[exp.Expression] = []
    noun = "VIEW" if kind == "view" else "TABLE"
    table = adapter.table(relation)
    if docs.relation:
        statements.append(exp.Comment(this=table, kind=noun, expression=exp.Literal.string(docs.relation)))
    if docs.columns:
        existing = adapter.columns(relation)
        found, missing = match_columns(docs.columns, existing)
        if adapter.comment_style == "snowflake":
            for column in existing:
                statements.append(exp.Alter(this=table.copy(), kind=noun, actions=[exp.AlterColumn(
                    this=exp.to_identifier(column, quoted=True),
                    comment=exp.Literal.string(_snowflake_lookup(column, docs.columns, found)))]))
        else:
            for column, description in found.items():
                target = exp.Column(this=exp.to_identifier(column, quoted=True), table=table.this.copy(),
                                    db=table.args["db"].copy() if table.args.get("db") else None,
                                    catalog=table.args["catalog"].copy() if table.args.get("catalog") else None)
                statements.append(exp.Comment(this=target, kind="COLUMN", expression=exp.Literal.string(description)))
    for statement in statements:
        adapter.execute(statement)
    return missing


def _snowflake_lookup(column: str, declared: dict[str, tuple[str, bool]], found: dict[str, str]) -> str:
    """dbt-snowflake's get_column_comment_sql: the description of the declared column named like this one
    (upper, lower or exact), else ''."""
    if column in found:
        return found[column]
    for name in (column.upper(), column.lower(), column):
        if name in declared:
            return declared[name][0]
    return ""
