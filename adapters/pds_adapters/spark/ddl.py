"""Spark SQL statements as sqlglot expressions: table options, inserts, MERGE, the versioned-view swap.

Why beside pds_adapters.statements rather than in it: these carry Spark's own clauses (USING,
PARTITIONED BY, CLUSTERED BY ... INTO n BUCKETS, LOCATION, TBLPROPERTIES) and the one-statement
delete+insert that Spark's row-level formats make possible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from pds_adapters import statements as st


@dataclass(frozen=True)
class TableOptions:
    """How one model's table is stored (dbt-spark's config names)."""

    file_format: str = "parquet"
    partition_by: tuple[str, ...] = ()
    clustered_by: tuple[str, ...] = ()
    buckets: int | None = None
    location_root: str | None = None
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def row_level(self) -> bool:
        """Delta and Iceberg have MERGE, DELETE and atomic CREATE OR REPLACE TABLE; Parquet has none."""
        return self.file_format in ("delta", "iceberg")


def properties(options: TableOptions, identifier: str, provider: bool = True) -> exp.Properties:
    """USING, PARTITIONED BY, CLUSTERED BY, LOCATION and TBLPROPERTIES of a new table."""
    props: list[exp.Expression] = []
    if provider:
        props.append(exp.FileFormatProperty(this=exp.Var(this=options.file_format)))
    if options.partition_by:
        props.append(exp.PartitionedByProperty(this=exp.Schema(
            expressions=[exp.to_identifier(c, quoted=True) for c in options.partition_by])))
    if options.clustered_by:
        props.append(exp.ClusteredByProperty(expressions=[st.col(c) for c in options.clustered_by],
                                             buckets=exp.Literal.number(options.buckets or 1)))
    if options.location_root:
        props.append(exp.LocationProperty(this=exp.Literal.string(f"{options.location_root.rstrip('/')}/{identifier}")))
    props += [exp.Property(this=exp.Literal.string(k), value=exp.Literal.string(v))
              for k, v in sorted(options.properties.items())]
    return exp.Properties(expressions=props)


def create_table_as(table: exp.Table, query: exp.Expression, options: TableOptions, replace: bool) -> exp.Create:
    """CREATE [OR REPLACE] TABLE ... USING <format> ... AS query."""
    return exp.Create(this=table, kind="TABLE", expression=query, replace=replace,
                      properties=properties(options, table.name))


def alter_view_as(table: exp.Table, query: exp.Expression) -> exp.Alter:
    """ALTER VIEW ... AS: one metastore alter_table call, so readers resolve the old query or the new one.

    (Spark's CREATE OR REPLACE VIEW drops the view and creates it again: a reader in between fails.)
    """
    return exp.Alter(this=table.copy(), kind="VIEW", actions=[query.copy()])


def temp_view(name: str, query: exp.Expression) -> exp.Create:
    """A session-scoped view: nothing in the catalog, nothing left behind if the process dies."""
    return exp.Create(this=exp.Table(this=exp.to_identifier(name, quoted=True)), kind="VIEW", expression=query,
                      replace=True, properties=exp.Properties(expressions=[exp.TemporaryProperty()]))


def describe_extended(table: exp.Table) -> exp.Describe:
    return exp.Describe(this=table.copy(), style="EXTENDED")


def reorder(query: exp.Expression, columns: list[str]) -> exp.Select:
    """SELECT the target's columns, in its order, from the query: Spark inserts by position."""
    return exp.select(*[st.col(c) for c in columns]).from_(exp.Subquery(
        this=query.copy(), alias=exp.TableAlias(this=exp.to_identifier("__pds_rows"))))


def insert(table: exp.Table, query: exp.Expression, columns: list[str], overwrite: bool = False) -> exp.Insert:
    """INSERT INTO / INSERT OVERWRITE TABLE (dynamic partitions: only the partitions in the rows)."""
    return exp.Insert(this=table.copy(), expression=reorder(query, columns), overwrite=overwrite)


def _source(query: exp.Expression, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query.copy(), alias=exp.TableAlias(this=exp.to_identifier(alias)))


def merge(table: exp.Table, query: exp.Expression, keys: list[str], columns: list[str]) -> exp.Merge:
    """MERGE INTO table USING (query) ON keys: update every other column, insert new rows."""
    tgt, src = "__pds_target", "__pds_source"
    target = table.copy()
    target.set("alias", exp.TableAlias(this=exp.to_identifier(tgt)))
    on = exp.and_(*[exp.EQ(this=st.col(k, tgt), expression=st.col(k, src)) for k in keys])
    updates = [exp.EQ(this=st.col(c), expression=st.col(c, src)) for c in columns if c not in keys]
    whens = []
    if updates:
        whens.append(exp.When(matched=True, source=False, then=exp.Update(expressions=updates)))
    whens.append(exp.When(matched=False, source=False, then=_insert_values(columns, src)))
    return exp.Merge(this=target, using=_source(query, src), on=on, whens=exp.Whens(expressions=whens))


def delete_insert(table: exp.Table, query: exp.Expression, keys: list[str], columns: list[str]) -> exp.Merge:
    """delete+insert as ONE MERGE, so readers never see the deleted rows missing (one commit, not two).

    The source is the new rows (flag false) plus one marker row per distinct key (flag true). A
    target row matches only the marker of its key and is deleted; new rows never match and are
    inserted, duplicates and all; markers of new keys match nothing and are skipped. Exactly what
    DELETE WHERE key IN (new keys) followed by INSERT does, NULL keys included (neither deletes them).
    """
    tgt, src, flag = "__pds_target", "__pds_source", "__pds_delete"
    rows = exp.select(*[st.col(c) for c in columns], exp.false().as_(flag)).from_(_source(query, "__pds_new"))
    # first() keeps each column's type (a typed NULL would need the types); GROUP BY: one marker per key
    markers = exp.select(*[st.col(c) if c in keys else exp.func("first", st.col(c)).as_(c, quoted=True)
                           for c in columns], exp.true().as_(flag)).from_(_source(query, "__pds_keys")) \
        .group_by(*[st.col(k) for k in keys])
    source = exp.union(rows, markers, distinct=False)
    target = table.copy()
    target.set("alias", exp.TableAlias(this=exp.to_identifier(tgt)))
    on = exp.and_(*[exp.EQ(this=st.col(k, tgt), expression=st.col(k, src)) for k in keys], st.col(flag, src))
    whens = [exp.When(matched=True, source=False, then=exp.var("DELETE")),
             exp.When(matched=False, source=False, condition=exp.not_(st.col(flag, src)),
                      then=_insert_values(columns, src))]
    return exp.Merge(this=target, using=_source(source, src), on=on, whens=exp.Whens(expressions=whens))


def _insert_values(columns: list[str], src: str) -> exp.Insert:
    return exp.Insert(this=exp.Tuple(expressions=[st.col(c) for c in columns]),
                      expression=exp.Tuple(expressions=[st.col(c, src) for c in columns]))
