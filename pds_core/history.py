"""The results tables: every run's runs, node results, test results and metric values, kept in the
warehouse in pds's own schema (`results-schema`, default `pds_results`). Append-only and versioned.

Tables are created through the adapter with sqlglot-built DDL; rows are written with
parameters in bulk (the adapter's insert_rows: one statement of column lists on DuckDB, multi-row
INSERTs elsewhere), never with values in SQL text.
A table from an older pds gains the columns added since (additive migrations only); a
table from a newer pds is refused rather than written wrongly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from sqlglot import exp

from pds_core.errors import ProjectError
from pds_core.nodes import Relation

SCHEMA_VERSION = 1  # raise it with any change to TABLES: older tables are then upgraded (columns added)
VARCHAR, BIGINT, DOUBLE, TIMESTAMP, INT = "VARCHAR", "BIGINT", "DOUBLE", "TIMESTAMP", "INT"
TABLES: dict[str, list[tuple[str, str]]] = {
    "pds_runs": [
        ("run_id", VARCHAR), ("project", VARCHAR), ("command", VARCHAR), ("target", VARCHAR),
        ("target_type", VARCHAR), ("status", VARCHAR), ("started_at", TIMESTAMP), ("finished_at", TIMESTAMP),
        ("elapsed_seconds", DOUBLE), ("pds_version", VARCHAR), ("schema_version", INT), ("args", VARCHAR),
        ("nodes", INT), ("failed", INT)],
    "pds_node_results": [
        ("run_id", VARCHAR), ("unique_id", VARCHAR), ("name", VARCHAR), ("resource_type", VARCHAR),
        ("status", VARCHAR), ("message", VARCHAR), ("rows_affected", BIGINT), ("execution_time", DOUBLE),
        ("started_at", TIMESTAMP), ("completed_at", TIMESTAMP), ("relation", VARCHAR), ("materialized", VARCHAR),
        ("quality_status", VARCHAR)],
    "pds_test_results": [
        ("run_id", VARCHAR), ("unique_id", VARCHAR), ("name", VARCHAR), ("test_type", VARCHAR),
        ("test_name", VARCHAR), ("node_id", VARCHAR), ("column_name", VARCHAR), ("group_key", VARCHAR),
        ("status", VARCHAR), ("severity", VARCHAR), ("failures", BIGINT), ("message", VARCHAR),
        ("failures_relation", VARCHAR), ("target", VARCHAR), ("executed_at", TIMESTAMP)],
    "pds_metric_values": [
        ("run_id", VARCHAR), ("unique_id", VARCHAR), ("metric", VARCHAR), ("node_id", VARCHAR), ("model", VARCHAR),
        ("group_key", VARCHAR), ("value", DOUBLE), ("status", VARCHAR), ("target", VARCHAR),
        ("measured_at", TIMESTAMP)],
    "pds_export_results": [  # one row per export a run ran or held back (pds_core/publish)
        ("run_id", VARCHAR), ("unique_id", VARCHAR), ("name", VARCHAR), ("node_id", VARCHAR), ("model", VARCHAR),
        ("destination_type", VARCHAR), ("destination", VARCHAR), ("status", VARCHAR), ("rows", BIGINT),
        ("batches", INT), ("message", VARCHAR), ("started_at", TIMESTAMP), ("completed_at", TIMESTAMP),
        ("execution_time", DOUBLE), ("target", VARCHAR)],
    "pds_drift_profiles": [  # what a drift metric with reference last_run compares the next run with
        ("run_id", VARCHAR), ("unique_id", VARCHAR), ("metric", VARCHAR), ("node_id", VARCHAR), ("group_key", VARCHAR),
        ("value_kind", VARCHAR), ("row_count", BIGINT), ("null_count", BIGINT), ("profile", VARCHAR),
        ("target", VARCHAR), ("measured_at", TIMESTAMP)],
    "pds_schema_versions": [("table_name", VARCHAR), ("version", INT), ("applied_at", TIMESTAMP)],
}


def timestamp(value: str | dt.datetime | None) -> dt.datetime | None:
    """ISO text (as in run_results.json) -> a naive UTC datetime, the form every warehouse accepts."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class ResultsHistory:
    """Reads and appends the results tables of one warehouse, through its adapter."""

    def __init__(self, adapter: Any, schema: str) -> None:
        self.adapter = adapter
        self.schema = schema

    def relation(self, table: str) -> Relation:
        return Relation(self.schema, table)

    def table(self, table: str) -> exp.Table:
        return self.adapter.table(self.relation(table))

    def exists(self) -> bool:
        return self.relation("pds_metric_values").key() in self.adapter.list_relations([self.schema])

    def ensure(self) -> None:
        """Create the schema and any missing table; upgrade tables of an older pds; refuse a newer one's."""
        try:
            self._ensure()
        except ProjectError:
            raise
        except Exception as exc:  # no privilege to create tables there, most likely
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ProjectError(f"cannot create or read the results tables in schema {self.schema!r}: "
                               f"{self.adapter.redact(text)}",
                               hint="pds records every run there: the target's user needs to create tables in "
                                    "that schema, or set results-schema: in pds_project.yml to one it can") from None

    def _ensure(self) -> None:
        existing = self.adapter.list_relations([self.schema])
        missing = [name for name in TABLES if self.relation(name).key() not in existing]
        if missing:
            self.adapter.ensure_schema(self.schema)
        for name in missing:
            defs = [exp.ColumnDef(this=exp.to_identifier(c), kind=exp.DataType.build(t)) for c, t in TABLES[name]]
            self.adapter.execute(exp.Create(this=exp.Schema(this=self.table(name), expressions=defs),
                                            kind="TABLE", exists=True))
        newest = self._newest_version()
        if newest is not None and newest > SCHEMA_VERSION:
            raise ProjectError(f"the results tables in schema {self.schema!r} were written by a newer pds "
                               f"(schema version {newest}; this pds writes {SCHEMA_VERSION})",
                               hint="upgrade pds, or set results-schema: in pds_project.yml to another schema")
        if newest is not None and newest < SCHEMA_VERSION:  # an older pds's tables: add the columns since
            for name in TABLES:
                if name not in missing:
                    self._add_columns(name, TABLES[name])
        if missing or newest is None or newest < SCHEMA_VERSION:
            upgraded = list(TABLES) if newest is None or newest < SCHEMA_VERSION else missing
            now = utcnow()
            self.insert("pds_schema_versions", [{"table_name": n, "version": SCHEMA_VERSION, "applied_at": now}
                                                for n in upgraded])

    def _add_columns(self, name: str, columns: list[tuple[str, str]]) -> None:
        have = {c.lower() for c in self.adapter.columns(self.relation(name))}
        for column, kind in columns:
            if column not in have:
                action = exp.ColumnDef(this=exp.to_identifier(column), kind=exp.DataType.build(kind))
                self.adapter.execute(exp.Alter(this=self.table(name), kind="TABLE", actions=[action]))

    def _newest_version(self) -> int | None:
        _cols, rows = self.adapter.fetch(exp.select(exp.Max(this=exp.column("version")))
                                         .from_(self.table("pds_schema_versions")))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    # ---- writing -----------------------------------------------------------------------------
    def insert(self, name: str, rows: list[dict[str, Any]]) -> None:
        """The rows in bulk through the adapter (every value a parameter; one statement on DuckDB)."""
        columns = [c for c, _ in TABLES[name]]
        self.adapter.insert_rows(self.relation(name), TABLES[name],
                                 [tuple(_param(row.get(c)) for c in columns) for row in rows])

    def append(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        """Append one run's rows to every table in one transaction: all of the run, or none of it."""
        with self.adapter.transaction():
            for name in ("pds_node_results", "pds_test_results", "pds_metric_values", "pds_export_results",
                         "pds_drift_profiles", "pds_runs"):
                if rows.get(name):
                    self.insert(name, rows[name])

    # ---- reading -----------------------------------------------------------------------------
    def previous_values(self, metric_id: str, group_key: str, target: str, limit: int) -> list[float]:
        """The metric's latest accepted values (status pass or warn) for this group and target, newest first."""
        query = (exp.select("value").from_(self.table("pds_metric_values"))
                 .where(exp.and_(*[exp.EQ(this=exp.column(c), expression=exp.Placeholder())
                                   for c in ("unique_id", "group_key", "target")],
                                 exp.column("status").isin(exp.Literal.string("pass"), exp.Literal.string("warn")),
                                 exp.Not(this=exp.Is(this=exp.column("value"), expression=exp.Null()))))
                 .order_by(exp.Ordered(this=exp.column("measured_at"), desc=True)).limit(limit))
        _cols, rows = self.adapter.fetch(query, [metric_id, group_key, target])
        return [float(r[0]) for r in rows]

    def metric_rows(self, target: str, name: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Metric values, oldest first, for `pds metrics`: all metrics, or those named NAME or MODEL.NAME."""
        where: list[exp.Expression] = [exp.EQ(this=exp.column("target"), expression=exp.Placeholder())]
        params: list[Any] = [target]
        if name:
            where.append(exp.or_(exp.EQ(this=exp.column("metric"), expression=exp.Placeholder()),
                                 exp.EQ(this=exp.column("unique_id"), expression=exp.Placeholder()),
                                 exp.EQ(this=exp.func("concat", exp.column("model"), exp.Literal.string("."),
                                                      exp.column("metric")), expression=exp.Placeholder())))
            params += [name, name, name]
        columns = ["measured_at", "run_id", "unique_id", "model", "metric", "group_key", "value", "status"]
        query = (exp.select(*columns).from_(self.table("pds_metric_values")).where(exp.and_(*where))
                 .order_by(exp.Ordered(this=exp.column("measured_at"), desc=True)))
        _cols, rows = self.adapter.fetch(query, params)
        records = [dict(zip(columns, r, strict=True)) for r in rows]
        if limit is not None:  # the last `limit` values of each series (rows are newest first)
            seen: Counter[tuple[str, str]] = Counter()
            kept = []
            for record in records:
                key = (record["unique_id"], record["group_key"])
                if seen[key] < limit:
                    kept.append(record)
                seen[key] += 1
            records = kept
        return list(reversed(records))


def _param(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, sort_keys=True)
    return value
