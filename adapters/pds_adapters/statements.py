"""DDL and DML as sqlglot expressions: quoting and syntax come from the dialect, never from strings."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from pds_adapters.errors import ProjectError, did_you_mean

if TYPE_CHECKING:  # sqlglot loads when a statement is first built, not with the adapter class (lazy.py)
    from sqlglot import exp
else:
    from pds_adapters.lazy import exp


def rendered(sql: str) -> exp.Var:
    """SQL already written in the target's dialect (a compiled model, a test query generated once), as an
    expression that renders verbatim: DDL and wrappers take it without parsing it again or copying its
    tree (both cost more than running a small model; docs/performance.md). Never for user values: only
    for SQL that pds compiled and checked. A trailing line comment is closed, so text may follow."""
    tail = sql.rsplit("\n", 1)[-1]
    return exp.Var(this=sql + "\n" if "--" in tail else sql)


def subquery(query: exp.Expression, alias: str) -> exp.Subquery:
    """(query) AS alias, for a rendered query as for a parsed one."""
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


@functools.cache
def wraps_rendered(dialect: str) -> bool:
    """Whether this dialect's generator can put rendered SQL inside a SELECT: some (Snowflake, BigQuery)
    rewrite every SELECT through the optimizer's scopes, which need a parsed subquery. Asked of sqlglot
    itself, once per dialect, so a new sqlglot or dialect is judged by what it does."""
    probe = exp.select(exp.Count(this=exp.Star())).from_(subquery(rendered("SELECT 1 AS x"), "probe"), copy=False)
    try:
        probe.sql(dialect=dialect)
    except Exception:  # noqa: BLE001 - any failure means: give this dialect parsed trees
        return False
    return True


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True), table=exp.to_identifier(table) if table else None)


def create_table_as(table: exp.Table, query: exp.Expression, replace: bool = False,
                    temporary: bool = False) -> exp.Create:
    props = exp.Properties(expressions=[exp.TemporaryProperty()]) if temporary else None
    return exp.Create(this=table, kind="TABLE", expression=query, replace=replace, properties=props)


def create_view_as(table: exp.Table, query: exp.Expression, replace: bool = True) -> exp.Create:
    return exp.Create(this=table, kind="VIEW", expression=query, replace=replace)


def create_schema(name: exp.Table | exp.Identifier) -> exp.Create:
    return exp.Create(this=name, kind="SCHEMA", exists=True)


def drop(table: exp.Table, kind: str = "TABLE", cascade: bool = False) -> exp.Drop:
    return exp.Drop(tables=[table], kind=kind, exists=True, cascade=cascade)


def rename_table(table: exp.Table, new_name: exp.Table) -> exp.Alter:
    """ALTER TABLE ... RENAME TO new_name (unqualified on most engines; the adapter decides)."""
    return exp.Alter(this=table, kind="TABLE", actions=[exp.AlterRename(this=new_name)])


def create_table(table: exp.Table, types: dict[str, exp.DataType]) -> exp.Create:
    """CREATE TABLE with the given column names (quoted exactly) and types."""
    columns = [exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=kind) for name, kind in types.items()]
    return exp.Create(this=exp.Schema(this=table.copy(), expressions=columns), kind="TABLE")


def insert_values(table: exp.Table, columns: list[str]) -> exp.Insert:
    """INSERT INTO table (columns) VALUES (?, ...): one row of placeholders, for executemany."""
    row = exp.Tuple(expressions=[exp.Placeholder() for _ in columns])
    return insert_select(table, exp.Values(expressions=[row]), columns)


def select_star(table: exp.Table, limit: int | None = None) -> exp.Select:
    query = exp.select("*").from_(table.copy())
    return query.limit(limit) if limit is not None else query


def select_columns(query: exp.Expression, columns: list[str]) -> exp.Select:
    """SELECT the named columns (quoted as given) of a query: rows go into a table by name, not position."""
    sub = exp.Subquery(this=query.copy(), alias=exp.TableAlias(this=exp.to_identifier("__pds_rows")))
    return exp.select(*[col(c) for c in columns]).from_(sub)


def count_rows(table: exp.Table) -> exp.Select:
    return exp.select(exp.Count(this=exp.Star())).from_(table.copy())


def insert_select(table: exp.Table, query: exp.Expression, columns: list[str] | None = None) -> exp.Insert:
    target: exp.Expression = table
    if columns:
        target = exp.Schema(this=table, expressions=[exp.to_identifier(c, quoted=True) for c in columns])
    return exp.Insert(this=target, expression=query)


def delete_matching(table: exp.Table, staged: exp.Table, keys: list[str]) -> exp.Delete:
    """DELETE FROM table WHERE (keys) IN (SELECT keys FROM staged)."""
    lhs: Any = exp.Tuple(expressions=[col(k) for k in keys]) if len(keys) > 1 else col(keys[0])
    sub = exp.select(*[col(k) for k in keys]).from_(staged.copy())
    return exp.Delete(this=table, where=exp.Where(this=exp.In(this=lhs, query=exp.Subquery(this=sub))))


def merge(table: exp.Table, staged: exp.Table, keys: list[str], columns: list[str]) -> exp.Merge:
    """MERGE INTO table USING staged ON keys: update every other column, insert new rows."""
    tgt, src = "__pds_target", "__pds_source"
    target = table.copy()
    target.set("alias", exp.TableAlias(this=exp.to_identifier(tgt)))
    source = staged.copy()
    source.set("alias", exp.TableAlias(this=exp.to_identifier(src)))
    on = exp.and_(*[exp.EQ(this=col(k, tgt), expression=col(k, src)) for k in keys])
    updates = [exp.EQ(this=col(c), expression=col(c, src)) for c in columns if c not in keys]
    whens = []
    if updates:
        whens.append(exp.When(matched=True, source=False, then=exp.Update(expressions=updates)))
    whens.append(exp.When(matched=False, source=False, then=exp.Insert(
        this=exp.Tuple(expressions=[col(c) for c in columns]),
        expression=exp.Tuple(expressions=[col(c, src) for c in columns]))))
    return exp.Merge(this=target, using=source, on=on, whens=exp.Whens(expressions=whens))


def select_cast(table: exp.Table, columns: list[str], types: dict[str, str], dialect: str,
                where: str | None = None, aliases: list[str] | None = None) -> exp.Select:
    """Every column of table, cast to its declared SQL type where there is one (a seed's column_types), and
    named as `aliases` says where given (types are keyed by those names)."""
    names = aliases or columns
    exprs: list[exp.Expression] = []
    for name in types:
        if name not in names:
            raise ProjectError(f"column_types names {name!r}, which is not a column", where,
                               hint=did_you_mean(name, names) or f"columns: {', '.join(names)}")
    for column, name in zip(columns, names, strict=True):
        value: exp.Expression = col(column)
        if name in types:
            try:
                dtype = exp.DataType.build(str(types[name]), dialect=dialect)
            except Exception:
                raise ProjectError(f"column_types: {types[name]!r} (column {name!r}) is not a SQL type", where,
                                   hint="write a type such as varchar, integer, date, decimal(10,2)") from None
            value = exp.cast(value, dtype)
        exprs.append(value.as_(exp.to_identifier(name, quoted=True)) if name != column or name in types else value)
    return exp.select(*exprs).from_(table.copy())


def load_extension(extension: str) -> str:
    """DuckDB's LOAD of a named extension; the name is quoted as an identifier, never pasted raw."""
    return exp.Command(this="LOAD", expression=exp.to_identifier(str(extension), quoted=True)).sql("duckdb")
