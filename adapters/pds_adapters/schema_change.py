"""An existing table's columns against the columns of the rows about to go into it: dbt's on_schema_change.

dbt compares the columns of the staged rows with the target table's (check_for_schema_changes) and then,
per on_schema_change: `ignore` loads only the table's columns (a new column of the query is not loaded),
`fail` stops before anything changes, `append_new_columns` adds the new columns, `sync_all_columns` also
drops the columns the query no longer has and changes types. Here the comparison is diff_columns() and
the change is applied so that a failure never leaves the table half-changed:

- columns are only added: ALTER TABLE ... ADD COLUMN inside the build's transaction where DDL is
  transactional; elsewhere the table is copied with its new shape, the rows go into the copy, and the
  copy takes the table's place in one step (swap_in(): Snowflake's SWAP WITH, BigQuery's copy job);
- columns are dropped or change type: that copy-and-swap on every engine (on Postgres swap_in keeps the
  views that depend on the table, where dbt's DROP COLUMN ... CASCADE would drop them).

The final column order is dbt's: the kept columns, then the new ones, then the ones whose type changed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pds_adapters import statements as st
from pds_adapters.errors import ProjectError
from pds_adapters.relation import Relation

if TYPE_CHECKING:  # sqlglot loads when a statement is first built, not with the adapter class (lazy.py)
    from sqlglot import exp
else:
    from pds_adapters.lazy import exp

ON_SCHEMA_CHANGE = ("ignore", "fail", "append_new_columns", "sync_all_columns")
_TEXT_TYPES = ("char", "text", "string", "varchar", "character", "bpchar")
Columns = list[tuple[str, str]]  # (name, data type as the warehouse reports it), in table order


@dataclass(frozen=True)
class SchemaPolicy:
    """What the plan decided about an incremental node's columns: the mode, and the table's columns as
    read once before the run (None: read them when needed)."""

    mode: str = "ignore"
    existing: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class ColumnDiff:
    """How the query's columns differ from the table's (names compared case-insensitively)."""

    added: tuple[tuple[str, str], ...] = ()  # in the query, not in the table: (name, type)
    removed: tuple[str, ...] = ()  # in the table, not in the query
    retyped: tuple[tuple[str, str, str], ...] = ()  # (name, table's type, query's type)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.retyped)

    def describe(self) -> str:
        parts = []
        if self.added:
            parts.append("new in the query: " + ", ".join(f"{n} ({t})" for n, t in self.added))
        if self.removed:
            parts.append("no longer in the query: " + ", ".join(self.removed))
        if self.retyped:
            parts.append("type changed: " + ", ".join(f"{n} {a} -> {b}" for n, a, b in self.retyped))
        return "; ".join(parts)


def same_type(a: str, b: str) -> bool:
    """Equal types, or two text types (dbt widens a text column rather than calling it a change)."""
    norm_a, norm_b = " ".join(a.lower().split()), " ".join(b.lower().split())
    return norm_a == norm_b or (norm_a.startswith(_TEXT_TYPES) and norm_b.startswith(_TEXT_TYPES))


def diff_columns(source: Columns, target: Columns) -> ColumnDiff:
    """dbt's diff_columns and diff_column_data_types: source is the query's, target the table's."""
    in_target = {n.lower(): t for n, t in target}
    in_source = {n.lower() for n, _ in source}
    added = tuple((n, t) for n, t in source if n.lower() not in in_target)
    removed = tuple(n for n, _ in target if n.lower() not in in_source)
    retyped = tuple((n, in_target[n.lower()], t) for n, t in source
                    if n.lower() in in_target and t and in_target[n.lower()] and not same_type(in_target[n.lower()], t))
    return ColumnDiff(added, removed, retyped)


class SchemaChanges:
    """Reading a table's columns with their types, and reshaping it (mixed into Adapter)."""

    def column_types(self: Any, relation: Relation) -> Columns:
        """(name, type) of each column of a table, in order, from information_schema.columns."""
        info = self.information_schema("columns")
        relation = self.qualify(relation)
        by_name = self.qualify_database and relation.database
        catalog = exp.Placeholder() if by_name else exp.func("lower", exp.func("current_database"))
        where = exp.and_(exp.func("lower", exp.column("table_schema")).eq(exp.Placeholder()),
                         exp.func("lower", exp.column("table_name")).eq(exp.Placeholder()),
                         exp.func("lower", exp.column("table_catalog")).eq(catalog))
        query = exp.select("column_name", "data_type", "numeric_precision", "numeric_scale").from_(info) \
            .where(where).order_by("ordinal_position")
        params = [relation.schema.lower(), relation.identifier.lower()]
        if by_name:
            params.append(str(relation.database).lower())
        _cols, rows = self.fetch(query, params)
        return [(str(n), _with_precision(str(t), p, s)) for n, t, p, s in rows]

    def information_schema(self: Any, view: str) -> exp.Table:
        """information_schema.<view> as this engine reaches the target database's (Snowflake: qualified)."""
        return exp.Table(this=exp.to_identifier(view), db=exp.to_identifier("information_schema"))

    def data_type(self: Any, text: str) -> exp.DataType:
        """A type as the warehouse reported it, as a sqlglot type of this dialect."""
        try:
            return exp.DataType.build(text, dialect=self.dialect)
        except Exception:  # a type sqlglot does not know: passed on as the warehouse spelt it
            return exp.DataType.build(text, dialect=self.dialect, udt=True)

    def reconcile_columns(self: Any, relation: Relation, mode: str, source: Columns, target: Columns,
                          node: str | None = None) -> tuple[list[str], ColumnDiff]:
        """The columns the new rows are written to, and the change the table needs (empty unless
        append_new_columns or sync_all_columns). `fail` raises here, before anything changed."""
        diff = diff_columns(source, target)
        source_names = [n for n, _ in source]
        if mode == "ignore" or not diff:
            missing = [n for n, _ in target if n.lower() not in {s.lower() for s in source_names}]
            if missing and mode == "ignore":
                raise ProjectError(
                    f"the query of {relation} no longer has column(s) {', '.join(missing)} of the existing table "
                    "(on_schema_change: ignore loads the table's columns only)", node,
                    hint="set on_schema_change: append_new_columns or sync_all_columns, or rebuild the table "
                         f"with `pds build --full-refresh --select {relation.identifier}`")
            return [n for n, _ in target], ColumnDiff()
        if mode == "fail":
            raise ProjectError(f"the columns of the incremental model's query and of {relation} are out of sync "
                               f"(on_schema_change: fail): {diff.describe()}", node,
                               hint=f"rebuild it with `pds build --full-refresh --select {relation.identifier}`, or "
                                    "set on_schema_change: append_new_columns or sync_all_columns")
        if mode == "append_new_columns":
            diff = ColumnDiff(added=diff.added)
        return source_names, diff

    @contextlib.contextmanager
    def reshaped(self: Any, relation: Relation, diff: ColumnDiff, target: Columns) -> Iterator[Relation]:
        """Yields where the rows go: the table itself (changed by ALTER where that is transactional and only
        adds columns), or a copy of it in its new shape that then takes its place in one step."""
        if not diff:
            yield relation
            return
        if self.supports_transactional_ddl and not diff.removed and not diff.retyped:
            for name, kind in diff.added:
                column = exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=self.data_type(kind))
                self.execute(exp.Alter(this=self.table(relation), kind="TABLE", actions=[column]))
            yield relation
            return
        copy = self.temp_relation(relation, "sync")
        try:
            self.execute(st.create_table_as(self.table(copy), _reshape_query(self, relation, diff, target)))
            yield copy
            self.swap_in(copy, relation, "table")
        finally:
            if not self.supports_transactional_ddl:
                self._drop_quietly(copy)


def _reshape_query(adapter: Any, relation: Relation, diff: ColumnDiff, target: Columns) -> exp.Select:
    """The table's rows in their new shape, columns in dbt's order: kept, added, retyped."""
    gone = {n.lower() for n in diff.removed} | {n.lower() for n, _, _ in diff.retyped}
    exprs: list[exp.Expression] = [st.col(n) for n, _ in target if n.lower() not in gone]
    exprs += [exp.cast(exp.Null(), adapter.data_type(t)).as_(exp.to_identifier(n, quoted=True)) for n, t in diff.added]
    exprs += [exp.cast(st.col(n), adapter.data_type(t)).as_(exp.to_identifier(n, quoted=True))
              for n, _, t in diff.retyped]
    return exp.select(*exprs).from_(adapter.table(relation))


def _with_precision(kind: str, precision: Any, scale: Any) -> str:
    """NUMERIC/DECIMAL/NUMBER with their precision and scale, as information_schema gives them apart."""
    if kind.lower() in ("numeric", "decimal", "number") and precision is not None:
        return f"{kind}({int(precision)},{int(scale or 0)})"
    return kind
