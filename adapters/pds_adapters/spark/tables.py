"""Views, tables and incremental changes on Spark, atomic for readers on every file format.

Delta and Iceberg: `CREATE OR REPLACE TABLE ... AS` is one commit; a reader sees the old
snapshot or the new one, and a failing query leaves the old table as it was. merge and
delete+insert are one MERGE statement each (one commit).

Parquet has neither transactions nor REPLACE. dbt-spark drops the table and re-creates it, so a
reader in between finds no table, and a failed build leaves none. Here a parquet model is a VIEW
over a physical table `<name>__pdsv<8 hex>`: a build writes a new physical table beside the
current one, then re-points the view (`ALTER VIEW ... AS`, one metastore update; Spark's CREATE OR
REPLACE VIEW is a drop and a create) and drops older versions, keeping the one it replaced, so a
query that started on it finishes. A failing build drops only its own new version. The view's
text names its current version; list_relations reports the view as the model's table and hides
the versions. The view lists the query's columns in order (Spark moves partition columns last).
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from pds_adapters import statements as st
from pds_adapters.relation import Relation
from pds_adapters.spark import ddl
from pds_adapters.spark.ddl import TableOptions

if TYPE_CHECKING:
    from pds_adapters.spark.adapter import SparkAdapter

VERSION = re.compile(r"^(?P<base>.+)__pdsv(?P<version>[0-9a-f]{8})$", re.IGNORECASE)
LOCK_TABLE = "pds_build_lock"
MANAGED = "managed"  # a parquet model's view with its physical versions


def list_schema(adapter: SparkAdapter, schema: str, pattern: str | None = None) -> dict[str, str]:
    """name -> 'table' or 'view' in one schema (empty if the schema does not exist)."""
    from pyspark.errors import AnalysisException

    name = exp.to_identifier(schema, quoted=True).sql("spark")
    adapter.count_statement()
    try:
        found = adapter.session().catalog.listTables(dbName=name, pattern=pattern)
    except AnalysisException:
        return {}
    return {t.name: "view" if (t.tableType or "").upper() == "VIEW" else "table"
            for t in found if not t.isTemporary}


def visible(listing: dict[str, str]) -> dict[str, str]:
    """What the project sees: versions and the lock table hidden, a view with versions shown as a table."""
    versioned = {m.group("base").lower() for n in listing if (m := VERSION.match(n))}
    return {name: "table" if name.lower() in versioned and kind == "view" else kind
            for name, kind in listing.items() if not VERSION.match(name) and name.lower() != LOCK_TABLE}


def state(adapter: SparkAdapter, relation: Relation) -> tuple[str | None, list[str]]:
    """('table' | 'view' | 'managed' | None, the physical versions of a parquet model), one catalog call."""
    ident = relation.identifier
    pattern = f"{ident}*" if re.fullmatch(r"[A-Za-z0-9_]+", ident) else None
    listing = list_schema(adapter, relation.schema, pattern)
    kind = next((k for n, k in listing.items() if n.lower() == ident.lower()), None)
    versions = [m.group("version") for n in listing
                if (m := VERSION.match(n)) and m.group("base").lower() == ident.lower()]
    return (MANAGED if kind == "view" and versions else kind), versions


def version_of(relation: Relation, version: str) -> Relation:
    return Relation(relation.schema, f"{relation.identifier}__pdsv{version}", relation.database)


def current_version(adapter: SparkAdapter, relation: Relation) -> str | None:
    """The version a parquet model's view reads, from the view's text (DESCRIBE EXTENDED)."""
    for row in adapter.fetch(ddl.describe_extended(adapter.table(relation)))[1]:
        if str(row[0]).strip().lower() == "view text":
            found = re.search(r"__pdsv([0-9a-f]{8})", str(row[1]), re.IGNORECASE)
            return found.group(1).lower() if found else None
    return None


def _details(adapter: SparkAdapter, relation: Relation) -> dict[str, str]:
    return {str(r[0]).strip().lower(): str(r[1]) for r in adapter.fetch(ddl.describe_extended(adapter.table(relation)))[1]}


def provider(adapter: SparkAdapter, relation: Relation) -> str:
    """A table's format ('parquet', 'delta', 'iceberg', 'hive', ...) from DESCRIBE EXTENDED."""
    return _details(adapter, relation).get("provider", "hive").strip().lower()


def physical(adapter: SparkAdapter, relation: Relation) -> tuple[Relation, str]:
    """The table that holds a model's rows, and its format (a parquet model's current version)."""
    kind, _versions = state(adapter, relation)
    if kind == MANAGED:
        version = current_version(adapter, relation)
        if version is None:
            raise RuntimeError(f"{relation} is a view on no pds version table: rebuild it with --full-refresh")
        return version_of(relation, version), "parquet"
    return relation, provider(adapter, relation)


def drop(adapter: SparkAdapter, relation: Relation) -> None:
    """Drop a relation, and a parquet model's physical versions with its view."""
    kind, versions = state(adapter, relation)
    if kind in ("view", MANAGED):
        adapter.execute(st.drop(adapter.table(relation), "VIEW"))
    elif kind == "table":
        adapter.execute(st.drop(adapter.table(relation), "TABLE"))
    for version in versions:
        adapter.execute(st.drop(adapter.table(version_of(relation, version)), "TABLE"))


def create_view(adapter: SparkAdapter, relation: Relation, query: exp.Expression) -> None:
    """ALTER VIEW ... AS over a view (atomic), CREATE VIEW where none is; a table there is dropped first."""
    kind, _versions = state(adapter, relation)
    if kind in ("table", MANAGED):
        drop(adapter, relation)
    if kind == "view":
        adapter.execute(ddl.alter_view_as(adapter.table(relation), query))
    else:
        adapter.execute(st.create_view_as(adapter.table(relation), query, replace=False))


def replace_table(adapter: SparkAdapter, relation: Relation, query: exp.Expression, options: TableOptions) -> int:
    """Put the query's rows where relation was, so that a reader never finds it missing or half written."""
    kind, versions = state(adapter, relation)
    if options.row_level:
        replace = kind == "table" and provider(adapter, relation) == options.file_format
        if kind is not None and not replace:  # a view, or a table of another format: a one-off change of kind
            adapter.warn(f"{relation} was a {_described(adapter, relation, kind)}; it was dropped and re-created as a "
                         f"{options.file_format} table (atomic from the next build on)")
            drop(adapter, relation)
        adapter.execute(ddl.create_table_as(adapter.table(relation), query, options, replace=replace))
        return adapter.count(relation)
    if kind == "table":
        adapter.warn(f"{relation} was a {provider(adapter, relation)} table; it was dropped and re-created as a "
                     f"versioned parquet view (atomic from the next build on)")
        adapter.execute(st.drop(adapter.table(relation), "TABLE"))
    current = current_version(adapter, relation) if kind == MANAGED else None
    new = uuid.uuid4().hex[:8]
    staged = version_of(relation, new)
    try:
        adapter.execute(ddl.create_table_as(adapter.table(staged), query, options, replace=False))
        # the query's column order (a partitioned parquet table keeps its partition columns last)
        columns = [st.col(c) for c in adapter.query_names(query)]
        shown = exp.select(*columns).from_(adapter.table(staged))
        adapter.execute(ddl.alter_view_as(adapter.table(relation), shown) if kind in ("view", MANAGED)
                        else st.create_view_as(adapter.table(relation), shown, replace=False))
    except BaseException:
        _drop_quietly(adapter, staged)  # the view still shows the old version: only the new one goes
        raise
    for version in versions:  # keep the version just replaced: a query that started on it can finish
        if version not in (new, current):
            adapter.execute(st.drop(adapter.table(version_of(relation, version)), "TABLE"))
    return adapter.count(staged)


def incremental(adapter: SparkAdapter, relation: Relation, query: exp.Expression, strategy: str,
                keys: list[str], options: TableOptions) -> int | None:
    """Add the query's rows to an existing model table with the strategy, in one statement."""
    target, fmt = physical(adapter, relation)
    adapter.check_strategy(strategy, TableOptions(file_format=fmt if fmt in ("delta", "iceberg") else "parquet"))
    table = adapter.table(target)
    columns = _target_columns(adapter, target)
    if strategy == "append":
        return adapter.execute(ddl.insert(table, query, columns))
    if strategy == "insert_overwrite":
        partitioned = any(c.isPartition for c in _catalog_columns(adapter, target))
        if not partitioned and fmt not in ("delta", "iceberg"):
            # Spark cannot overwrite an unpartitioned parquet table it reads; a new version is the same result
            return replace_table(adapter, relation, query, options)
        return adapter.execute(ddl.insert(table, query, columns, overwrite=True))
    present = {c.lower() for c in adapter.query_names(query)}
    used = [c for c in columns if c.lower() in present]
    missing = [k for k in keys if k.lower() not in present]
    if missing:
        from pds_adapters.errors import ProjectError

        raise ProjectError(f"unique_key {', '.join(missing)} is not a column of the model's query",
                           hint=f"the query's columns: {', '.join(sorted(present))}")
    statement = ddl.merge if strategy == "merge" else ddl.delete_insert
    return adapter.execute(statement(table, query, keys, used))


def _target_columns(adapter: SparkAdapter, relation: Relation) -> list[str]:
    return [c.name for c in _catalog_columns(adapter, relation)]


def _catalog_columns(adapter: SparkAdapter, relation: Relation) -> list[Any]:
    adapter.count_statement()
    return list(adapter.session().catalog.listColumns(adapter.table(relation).sql("spark")))


def _described(adapter: SparkAdapter, relation: Relation, kind: str) -> str:
    if kind == MANAGED:
        return "versioned parquet view"
    return "view" if kind == "view" else f"{provider(adapter, relation)} table"


def _drop_quietly(adapter: SparkAdapter, relation: Relation) -> None:
    """Drop a half-made version; if even that fails (the session is gone), the next build drops it."""
    try:
        adapter.execute(st.drop(adapter.table(relation), "TABLE"))
    except Exception as exc:
        adapter.warn(f"could not drop {relation} after a failure ({str(exc).splitlines()[0] if str(exc) else exc}); "
                     "the next build of the model drops it")
