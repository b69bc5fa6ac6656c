"""on_schema_change on Spark: an incremental model whose query's columns changed, on Delta (and Iceberg).

dbt-spark adds columns with `ALTER TABLE ... ADD COLUMNS` and then runs the strategy (two commits), and
drops columns with `ALTER TABLE ... DROP COLUMNS` (which Delta refuses without column mapping). Here:

- columns only added (`append_new_columns`, or `sync_all_columns` when nothing went or changed type): the
  strategy's one statement runs WITH SCHEMA EVOLUTION (Spark 4 and Delta 4: `INSERT WITH SCHEMA EVOLUTION
  INTO`, `MERGE WITH SCHEMA EVOLUTION INTO`), so the new columns and the rows land in ONE commit;
- columns dropped or retyped (`sync_all_columns`): the table is rewritten in its new shape by
  `CREATE OR REPLACE TABLE ... AS SELECT` over itself (one commit: readers see the old table or the
  reshaped one, every row kept, retyped columns cast), then the strategy's statement runs (a second
  commit). If that one fails, the table keeps its new shape without this run's rows, as if the run had
  not happened yet; the version before is in the table's history (`RESTORE TABLE ... TO VERSION AS OF`);
- a parquet table cannot change its columns in one step: a clear error naming the format.

Snapshots that gain a column get `ALTER TABLE ... ADD COLUMNS` (a metadata-only commit) before their MERGE,
as in dbt-spark: add_columns().
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from sqlglot import exp

from pds_adapters import statements as st
from pds_adapters.errors import ProjectError
from pds_adapters.schema_change import ColumnDiff, SchemaPolicy, _reshape_query
from pds_adapters.spark import ddl, tables
from pds_adapters.spark.ddl import TableOptions

if TYPE_CHECKING:
    from pds_adapters.relation import Relation
    from pds_adapters.spark.adapter import SparkAdapter

ROW_LEVEL = ("delta", "iceberg")


def incremental(adapter: SparkAdapter, relation: Relation, query: exp.Expression, strategy: str, keys: list[str],
                options: TableOptions, policy: SchemaPolicy | None) -> int | None:
    """The strategy's rows into the model's table, its columns first changed as on_schema_change says."""
    mode = policy.mode if policy is not None else "ignore"
    if mode == "ignore":
        return tables.incremental(adapter, relation, query, strategy, keys, options)
    target, fmt = tables.physical(adapter, relation)
    if fmt not in ROW_LEVEL:
        raise ProjectError(f"on_schema_change: {mode} needs a table format that can change its columns "
                           f"(delta or iceberg); {relation} is a {fmt} table", None,
                           hint="set file_format: delta on the model or the target (then build once with "
                                "--full-refresh), or remove on_schema_change (ignore loads the table's columns)")
    existing = list(policy.existing) if policy is not None and policy.existing is not None \
        else adapter.column_types(target)
    source = adapter.query_column_types(target, query)  # from Spark's analysis alone: no job runs
    _columns, diff = adapter.reconcile_columns(relation, mode, source, existing)  # `fail` raises here
    if diff.removed or diff.retyped:
        reshaped = _reshape_query(adapter, target, diff, existing)
        adapter.execute(ddl.create_table_as(adapter.table(target), reshaped,
                                            dataclasses.replace(options, file_format=fmt), replace=True))
        return tables.incremental(adapter, relation, query, strategy, keys, options)
    if not diff:
        return tables.incremental(adapter, relation, query, strategy, keys, options)
    return _evolving(adapter, target, query, strategy, keys, existing, diff)


def _evolving(adapter: SparkAdapter, target: Relation, query: exp.Expression, strategy: str, keys: list[str],
              existing: list[tuple[str, str]], diff: ColumnDiff) -> int | None:
    """One statement WITH SCHEMA EVOLUTION: the table's columns, then the new ones (Delta appends them)."""
    present = {n.lower() for n, _ in adapter.query_column_types(target, query)}
    added = [n for n, _ in diff.added]
    table = adapter.table(target)
    if strategy in ("append", "insert_overwrite"):
        # by position: the table's columns in its order (a typed NULL where the query lacks one), then the new
        values = [st.col(n) if n.lower() in present else
                  exp.cast(exp.Null(), adapter.data_type(t)).as_(exp.to_identifier(n, quoted=True))
                  for n, t in existing] + [st.col(n) for n in added]
        rows = exp.select(*values).from_(exp.Subquery(this=query.copy(),
                                                      alias=exp.TableAlias(this=exp.to_identifier("__pds_rows"))))
        return adapter.execute(with_schema_evolution(
            adapter, exp.Insert(this=table.copy(), expression=rows, overwrite=strategy == "insert_overwrite")))
    missing = [k for k in keys if k.lower() not in present]
    if missing:
        raise ProjectError(f"unique_key {', '.join(missing)} is not a column of the model's query",
                           hint=f"the query's columns: {', '.join(sorted(present))}")
    used = [n for n, _ in existing if n.lower() in present] + added
    statement = ddl.merge if strategy == "merge" else ddl.delete_insert
    return adapter.execute(with_schema_evolution(adapter, statement(table, query, keys, used)))


def with_schema_evolution(adapter: SparkAdapter, statement: exp.Insert | exp.Merge) -> str:
    """`INSERT|MERGE WITH SCHEMA EVOLUTION ...`: Spark 4's clause, which sqlglot does not generate; added
    after the statement's first keyword, which is all that changes."""
    text = adapter.sql(statement)
    head = re.match(r"(INSERT|MERGE)\s+", text)
    if head is None:  # never: both render with their keyword first
        raise ValueError(f"not an INSERT or MERGE: {text[:40]}")
    return f"{head.group(1)} WITH SCHEMA EVOLUTION {text[head.end():]}"


def add_columns(adapter: SparkAdapter, relation: Relation, diff: ColumnDiff) -> None:
    """A snapshot's new source columns: ALTER TABLE ... ADD COLUMNS (metadata only, one commit)."""
    if diff.removed or diff.retyped:  # never from a snapshot: it only ever adds columns
        raise ProjectError(f"{relation}: Spark changes a table's columns this way only by adding them "
                           f"({diff.describe()})")
    if not diff.added:
        return
    target, fmt = tables.physical(adapter, relation)
    if fmt not in ROW_LEVEL:
        raise ProjectError(f"{relation} is a {fmt} table; adding columns needs delta or iceberg",
                           hint="set file_format: delta on the target and rebuild with --full-refresh")
    columns = [exp.ColumnDef(this=exp.to_identifier(n, quoted=True), kind=adapter.data_type(t)) for n, t in diff.added]
    adapter.execute(exp.Alter(this=adapter.table(target), kind="TABLE", actions=[exp.Schema(expressions=columns)]))

