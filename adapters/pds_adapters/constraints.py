"""A table built from its declared columns and constraints (an enforced contract), as dbt builds it.

dbt creates such a table with `CREATE TABLE t (col type constraint..., model constraint...)` and fills
it with `INSERT INTO t (cols) SELECT cols FROM (<model query>) AS model_subq`; each engine keeps the
constraints it has (the adapter's `constraint_support` flag, dbt's CONSTRAINT_SUPPORT):

- "enforced": written into the DDL and checked by the engine (a violating row fails the build);
- "not_enforced": written into the DDL as metadata (Snowflake's keys; BigQuery's as NOT ENFORCED);
- "not_supported": left out (the caller warns), e.g. check constraints on Snowflake and BigQuery.

The replace is atomic like every table replace: on DuckDB `CREATE OR REPLACE TABLE` and the INSERT in one
transaction; elsewhere a staged table put in place by swap_in(), or (Postgres, a named primary key or
unique constraint, whose index name must be free) the old table dropped and the new one created under
its name inside one transaction.

DuckDB will not drop or replace a table that another table's foreign key references: such dependents
are copied aside, dropped, and restored (without their foreign keys) after the replace, in the same
transaction, as dbt-duckdb does; the run rebuilds them (with their keys) after this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pds_adapters import statements as st
from pds_adapters.errors import ProjectError
from pds_adapters.relation import Relation, identifier

if TYPE_CHECKING:  # sqlglot loads when a statement is first built, not with the adapter class (lazy.py)
    import sqlglot
    from sqlglot import exp
else:
    from pds_adapters.lazy import exp, sqlglot

TYPES = ("not_null", "unique", "primary_key", "foreign_key", "check", "custom")
ENFORCED, NOT_ENFORCED, NOT_SUPPORTED = "enforced", "not_enforced", "not_supported"
DEFAULT_SUPPORT = {"check": NOT_SUPPORTED, "not_null": ENFORCED, "unique": NOT_ENFORCED,
                   "primary_key": NOT_ENFORCED, "foreign_key": ENFORCED}  # dbt's BaseAdapter


@dataclass
class Constraint:
    """One constraint as declared (column-level when `columns` is empty and it sits on a DeclaredColumn)."""

    type: str
    name: str | None = None
    expression: str | None = None  # a check's condition; a foreign key's "table (col)"; a custom constraint
    columns: list[str] = field(default_factory=list)  # model-level: the columns it covers
    to: Relation | None = None  # a foreign key's referenced relation (to: ref('customers'))
    to_columns: list[str] = field(default_factory=list)
    dialect: str | None = None  # the dialect the expression is written in (default: the target's)
    warn_unenforced: bool = True  # warn when the engine keeps it as metadata only
    warn_unsupported: bool = True  # warn when the engine has no such constraint (it is left out)


@dataclass
class DeclaredColumn:
    name: str
    data_type: str
    quote: bool = False
    constraints: list[Constraint] = field(default_factory=list)


def support(adapter: Any, constraint: Constraint) -> str:
    """enforced, not_enforced or not_supported on this engine (custom constraints are always written)."""
    if constraint.type == "custom":
        return ENFORCED
    return dict(adapter.constraint_support).get(constraint.type, NOT_SUPPORTED)


def column_name(adapter: Any, name: str, quote: bool) -> exp.Identifier:
    """A declared column's name: quoted exactly with `quote: true`, else by the relation naming policy."""
    return exp.to_identifier(name, quoted=True) if quote else identifier(name, adapter.dialect)


def create_statement(adapter: Any, relation: Relation, columns: list[DeclaredColumn], model: list[Constraint],
                     replace: bool = False) -> exp.Create:
    """CREATE [OR REPLACE] TABLE relation (col type constraints..., model constraints...)."""
    defs: list[exp.Expression] = []
    for col in columns:
        kinds = [c for c in (_column_constraint(adapter, k) for k in col.constraints) if c is not None]
        defs.append(exp.ColumnDef(this=column_name(adapter, col.name, col.quote), kind=_type(adapter, col),
                                  constraints=[exp.ColumnConstraint(kind=k) for k in kinds] or None))
    defs += [c for c in (_model_constraint(adapter, k) for k in model) if c is not None]
    return exp.Create(this=exp.Schema(this=adapter.table(relation), expressions=defs), kind="TABLE", replace=replace)


def insert_statement(adapter: Any, relation: Relation, columns: list[DeclaredColumn], query: exp.Expression) -> exp.Insert:
    """INSERT INTO relation (cols) SELECT cols FROM (query) AS model_subq: the declared order, whatever the query's."""
    names = [column_name(adapter, c.name, c.quote) for c in columns]
    select = exp.select(*[exp.column(n.copy()) for n in names]).from_(
        exp.Subquery(this=query.copy(), alias=exp.TableAlias(this=exp.to_identifier("model_subq"))))
    return exp.Insert(this=exp.Schema(this=adapter.table(relation), expressions=names), expression=select)


def replace_declared(adapter: Any, relation: Relation, query: exp.Expression, columns: list[DeclaredColumn],
                     model: list[Constraint]) -> int | None:
    """The query's rows in place of relation, in a table created from the declared columns and constraints."""
    kind = adapter.relation_kind(relation)
    if adapter.supports_create_or_replace_table:
        with adapter.transaction():
            if kind == "view":
                adapter.drop(relation, "view")
            detached = detach_foreign_key_dependents(adapter, relation) if kind == "table" else []
            adapter.execute(create_statement(adapter, relation, columns, model, replace=True))
            rows = adapter.execute(insert_statement(adapter, relation, columns, query))
            restore_dependents(adapter, relation, detached)
        return rows if rows is not None else adapter.count(relation)
    if adapter.supports_transactional_ddl and _named_index(model, columns):
        with adapter.transaction(), adapter._keeping_dependent_views(relation, kind):
            if kind:
                adapter.drop(relation, kind)
            adapter.execute(create_statement(adapter, relation, columns, model))
            rows = adapter.execute(insert_statement(adapter, relation, columns, query))
        return rows if rows is not None else adapter.count(relation)
    staged = adapter.temp_relation(relation)

    def fill() -> int | None:
        adapter.execute(create_statement(adapter, staged, columns, model))
        return adapter.execute(insert_statement(adapter, staged, columns, query))

    return adapter._replace_with(staged, relation, fill)


def _named_index(model: list[Constraint], columns: list[DeclaredColumn]) -> bool:
    keys = [*model, *(c for col in columns for c in col.constraints)]
    return any(k.name and k.type in ("primary_key", "unique") for k in keys)


# ---- DuckDB: tables whose foreign keys reference the one being replaced ----------------------------------
def foreign_key_dependents(adapter: Any, relation: Relation) -> list[str]:
    """The tables of relation's schema whose foreign keys reference it, directly or through each other,
    deepest first (the order they must be dropped in). DuckDB only (`foreign_keys_block_replace`)."""
    if not adapter.foreign_keys_block_replace:
        return []
    _cols, rows = adapter.fetch(
        "SELECT table_name, referenced_table FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY' "
        "AND lower(database_name) = lower(?) AND lower(schema_name) = lower(?)",
        [adapter.qualify(relation).database, relation.schema])
    edges = [(str(t), str(r)) for t, r in rows if str(t).lower() != str(r).lower()]
    depth: dict[str, int] = {}
    frontier, level = {relation.identifier.lower()}, 0
    while frontier and level <= len(edges):
        level += 1
        frontier = {t for t, r in edges if r.lower() in frontier}
        for table in frontier:
            depth[table] = level
    return sorted(depth, key=lambda t: (-depth[t], t))


def detach_foreign_key_dependents(adapter: Any, relation: Relation) -> list[tuple[Relation, Relation]]:
    """Copy each foreign-key dependent aside and drop it (inside the caller's transaction); returns
    (dependent, copy) pairs for restore_dependents()."""
    pairs = []
    for table in foreign_key_dependents(adapter, relation):
        dependent = Relation(relation.schema, table, relation.database)
        backup = adapter.temp_relation(dependent, "fk")
        adapter.execute(st.create_table_as(adapter.table(backup), st.select_star(adapter.table(dependent))))
        adapter.execute(st.drop(adapter.table(dependent)))
        pairs.append((dependent, backup))
    return pairs


def restore_dependents(adapter: Any, relation: Relation, pairs: list[tuple[Relation, Relation]]) -> None:
    """Put the copies back under their names (without foreign keys: their models rebuild them)."""
    for dependent, backup in reversed(pairs):
        adapter.execute(st.rename_table(adapter.table(backup), exp.Table(this=identifier(dependent.identifier,
                                                                                          adapter.dialect))))


# ---- rendering ------------------------------------------------------------------------------------------
def _type(adapter: Any, col: DeclaredColumn) -> exp.DataType:
    try:
        return exp.DataType.build(col.data_type, dialect=adapter.dialect, udt=True)
    except (sqlglot.errors.SqlglotError, ValueError):
        raise ProjectError(f"data_type {col.data_type!r} of column {col.name!r} is not a {adapter.dialect} type",
                           hint="write a type such as integer, varchar, numeric(10,2)") from None


def _condition(adapter: Any, constraint: Constraint) -> exp.Expression:
    try:
        return sqlglot.parse_one(str(constraint.expression), read=constraint.dialect or adapter.dialect)
    except sqlglot.errors.SqlglotError as exc:
        raise ProjectError(f"the {constraint.type} constraint's expression {constraint.expression!r} is not SQL: "
                           f"{str(exc).splitlines()[0]}", hint="e.g. expression: \"amount >= 0\"") from None


def _options(adapter: Any, constraint: Constraint) -> list[str] | None:
    """BigQuery writes its unenforced keys with NOT ENFORCED (as dbt-bigquery does)."""
    return ["NOT ENFORCED"] if support(adapter, constraint) == NOT_ENFORCED and adapter.dialect == "bigquery" else None


def _reference(adapter: Any, constraint: Constraint) -> exp.Reference:
    if constraint.to is not None:
        cols = [identifier(c, adapter.dialect) for c in constraint.to_columns]
        target: exp.Expression = exp.Schema(this=adapter.table(constraint.to), expressions=cols) if cols \
            else adapter.table(constraint.to)
        return exp.Reference(this=target, options=_options(adapter, constraint))
    text = str(constraint.expression or "")
    try:  # the legacy form: expression: "other_table (id)"
        parsed = sqlglot.parse_one(f"CREATE TABLE __pds (__pds INT REFERENCES {text})", read=adapter.dialect)
        found = parsed.find(exp.Reference)
    except sqlglot.errors.SqlglotError:
        found = None
    if found is None:
        raise ProjectError(f"foreign_key constraint needs `to:` and `to_columns:` (or expression: \"table (column)\"), "
                           f"got {text!r}", hint="e.g. to: ref('customers'), to_columns: [id]")
    found.set("options", _options(adapter, constraint))
    return found


def _column_constraint(adapter: Any, constraint: Constraint) -> exp.Expression | None:
    if support(adapter, constraint) == NOT_SUPPORTED:
        return None
    kind = constraint.type
    if kind == "not_null":
        return exp.NotNullColumnConstraint()
    if kind == "unique":
        return exp.UniqueColumnConstraint(options=_options(adapter, constraint))
    if kind == "primary_key":
        return exp.PrimaryKeyColumnConstraint(options=_options(adapter, constraint))
    if kind == "check":
        return exp.CheckColumnConstraint(this=_condition(adapter, constraint)) if constraint.expression else None
    if kind == "foreign_key":
        return _reference(adapter, constraint)
    return exp.Var(this=str(constraint.expression)) if kind == "custom" and constraint.expression else None


def _model_constraint(adapter: Any, constraint: Constraint) -> exp.Expression | None:
    if support(adapter, constraint) == NOT_SUPPORTED:
        return None
    cols = [identifier(c, adapter.dialect) for c in constraint.columns]
    kind = constraint.type
    body: exp.Expression | None = None
    if kind == "check" and constraint.expression:
        body = exp.CheckColumnConstraint(this=_condition(adapter, constraint))
    elif kind == "unique":
        body = exp.UniqueColumnConstraint(this=exp.Schema(expressions=cols), options=_options(adapter, constraint))
    elif kind == "primary_key":
        body = exp.PrimaryKey(expressions=cols, options=_options(adapter, constraint))
    elif kind == "foreign_key":
        body = exp.ForeignKey(expressions=cols, reference=_reference(adapter, constraint))
    elif kind == "custom" and constraint.expression:
        body = exp.Var(this=str(constraint.expression))
    if body is None or not constraint.name:
        return body
    return exp.Constraint(this=exp.to_identifier(constraint.name), expressions=[body])
