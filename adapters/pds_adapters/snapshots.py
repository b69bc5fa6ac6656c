"""The snapshot operation: dbt's snapshot materialization, atomic on every engine (mixed into Adapter).

The first run creates the table from the query with the meta columns (one CREATE TABLE AS, through
replace_table()). Later runs stage this run's changes (snapshot_sql.SnapshotSQL.staging: new versions,
versions to close, deletions) in a table beside the snapshot, then apply them:

- where DDL is transactional (DuckDB, Postgres), as dbt-duckdb and dbt-postgres do: ALTER TABLE for new
  source columns, UPDATE of the closed versions, INSERT of the new ones, all in one transaction;
- elsewhere (Snowflake, BigQuery, Spark), as dbt's default: one MERGE on dbt_scd_id (one statement); when
  the source gained columns, the snapshot is copied with them, merged into, and swapped in (swap_in()), so
  a failed run never leaves it half-changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pds_adapters import statements as st
from pds_adapters.errors import ProjectError
from pds_adapters.relation import Relation
from pds_adapters.schema_change import ColumnDiff, Columns
from pds_adapters.snapshot_sql import CHANGE_TYPE, SnapshotSpec, SnapshotSQL, is_helper

if TYPE_CHECKING:  # sqlglot loads when a statement is first built, not with the adapter class (lazy.py)
    import sqlglot
    from sqlglot import exp
else:
    from pds_adapters.lazy import exp, sqlglot


@dataclass
class SnapshotOutcome:
    """What one snapshot run did."""

    created: bool  # the first run: the table was created
    inserted: int  # new versions (and, for new_record, deletion records)
    closed: int  # versions given a dbt_valid_to (changed, or deleted with invalidate/new_record)


class Snapshots:
    """snapshot(): flag-driven like Materializations; an engine sets snapshot_time_sql and little else."""

    # dbt's snapshot_get_time() in the engine's own SQL (a constant of the engine, never user input)
    snapshot_time_sql: ClassVar[str] = "CURRENT_TIMESTAMP"

    def snapshot_time(self: Any) -> exp.Expression:
        return sqlglot.parse_one(self.snapshot_time_sql, read=self.dialect)

    def query_columns(self: Any, query: exp.Expression) -> list[str]:
        """The names of a query's columns, without reading its rows."""
        sub = exp.Subquery(this=query.copy(), alias=exp.TableAlias(this=exp.to_identifier("__pds_q")))
        names, _rows = self.fetch(exp.select(exp.Star()).from_(sub).limit(0))
        return names

    def snapshot(self: Any, relation: Relation, query: exp.Expression, spec: SnapshotSpec,
                 existing: Columns | None, node: str | None = None) -> SnapshotOutcome:
        """Record the query's rows in the snapshot table: `existing` is the table's columns as the plan read
        them, or None when there is no table yet."""
        sql = SnapshotSQL(spec, self.dialect, self.snapshot_time())
        if existing is None:
            rows = self.replace_table(relation, sql.first_build(query))
            return SnapshotOutcome(True, int(rows or 0), 0)
        names = [n for n, _ in existing]
        lowered = {n.lower(): n for n in names}
        missing = [m for m in spec.meta_names()[:4] if m.lower() not in lowered]
        if missing:
            raise ProjectError(f"{relation} exists but is not a snapshot table: it has no column "
                               f"{', '.join(missing)}", node,
                               hint="drop that table, or set snapshot_meta_column_names to the names it uses")
        query_columns = self.query_columns(query) if spec.hard_deletes == "new_record" or \
            spec.strategy == "check" else []
        check_cols, added = self._check_columns(spec, query_columns, lowered)
        staged = self.temp_relation(relation, "snap")
        with self.transaction():
            try:
                staging = sql.staging(query, self.table(relation), check_cols, added, query_columns, names)
                self.execute(st.create_table_as(self.table(staged), staging))
                staged_columns = self.column_types(staged)
                new = tuple((n, t) for n, t in staged_columns if not is_helper(n) and n.lower() not in lowered)
                insert_cols = [n for n, _ in staged_columns if not is_helper(n)]
                counts = self._change_counts(staged)
                with self.reshaped(relation, ColumnDiff(added=new), existing) as into:
                    target, source = self.table(into), self.table(staged)
                    if self.supports_transactional_ddl:
                        for statement in sql.close_and_insert(target, source, insert_cols):
                            self.execute(statement)
                    else:
                        self.execute(sql.merge(target, source, insert_cols))
            except BaseException:
                if not self.supports_transactional_ddl:
                    self._drop_quietly(staged)
                raise
            self.execute(st.drop(self.table(staged)))
        return SnapshotOutcome(False, counts.get("insert", 0), counts.get("update", 0) + counts.get("delete", 0))

    @staticmethod
    def _check_columns(spec: SnapshotSpec, query_columns: list[str],
                       existing: dict[str, str]) -> tuple[list[str] | None, bool]:
        """dbt's snapshot_check_all_get_existing_columns: the checked columns the table has (as it spells
        them), and whether the query has one it lacks (then every row counts as changed)."""
        if spec.strategy != "check":
            return None, False
        wanted = query_columns if spec.check_cols == "all" else list(spec.check_cols)
        present = [existing[c.lower()] for c in wanted if c.lower() in existing]
        return present, len(present) < len(wanted)

    def _change_counts(self: Any, staged: Relation) -> dict[str, int]:
        change = exp.column(exp.to_identifier(CHANGE_TYPE))
        query = exp.select(change, exp.Count(this=exp.Star())).from_(self.table(staged)).group_by(change)
        _cols, rows = self.fetch(query)
        return {str(kind).lower(): int(count) for kind, count in rows}
