"""What the docs site reads from the warehouse, through the target's adapter: the last runs of the
results tables (runs, node results, test results, metric values) and the column types of the
project's relations (information_schema, like dbt's catalog).

Queries are sqlglot expressions with placeholders, so they work on any adapter's dialect.
Nothing here writes: a warehouse that cannot be reached leaves the site without history,
with the reason shown on it, rather than failing `pds docs generate`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from pds_core.history import TABLES, ResultsHistory

RUN_COLUMNS = ["run_id", "command", "status", "started_at", "finished_at", "elapsed_seconds", "nodes", "failed"]
NODE_COLUMNS = ["run_id", "unique_id", "name", "resource_type", "status", "message", "rows_affected",
                "execution_time", "started_at", "quality_status"]
TEST_COLUMNS = ["run_id", "unique_id", "name", "test_type", "test_name", "node_id", "column_name", "group_key",
                "status", "severity", "failures", "message"]
METRIC_COLUMNS = ["run_id", "unique_id", "metric", "node_id", "group_key", "value", "status", "measured_at"]
EXPORT_COLUMNS = ["run_id", "unique_id", "node_id", "destination_type", "destination", "status", "rows", "message",
                  "execution_time"]


@dataclass
class WarehouseData:
    """The history and catalog read for one target; `problem` says why something is missing."""

    runs: list[dict[str, Any]] = field(default_factory=list)  # newest first
    node_results: list[dict[str, Any]] = field(default_factory=list)
    test_results: list[dict[str, Any]] = field(default_factory=list)
    metric_values: list[dict[str, Any]] = field(default_factory=list)
    export_results: list[dict[str, Any]] = field(default_factory=list)
    column_types: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # relation text -> columns
    problem: str | None = None


def read_warehouse(settings: Any, schema: str, project: str, relations: list[str], runs: int) -> WarehouseData:
    """Connect to the target (`settings`: its profiles.yml Target), read the last `runs` runs of this
    project and target, and the catalog."""
    from pds_adapters import connect

    data = WarehouseData()
    target = settings.name
    try:
        with connect(settings) as adapter:
            history = ResultsHistory(adapter, schema)
            if history.exists():
                read_history(history, project, target, runs, data)
            else:
                data.problem = (f"no results tables in schema {schema!r} of target {target!r} yet: "
                                "run `pds build` to record runs")
            data.column_types = read_catalog(adapter, relations)
    except Exception as exc:  # an unreachable or locked warehouse: generate the site without it
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        text = settings.redact(text)
        data.problem = f"could not read the warehouse of target {target!r}: {text}"
    return data


def read_history(history: ResultsHistory, project: str, target: str, limit: int, data: WarehouseData) -> None:
    runs = _select(history, "pds_runs", RUN_COLUMNS,
                   exp.and_(_eq("project"), _eq("target")), [project, target],
                   order=exp.Ordered(this=exp.column("started_at"), desc=True), limit=limit)
    data.runs = runs
    ids = [r["run_id"] for r in runs]
    if not ids:
        data.problem = f"no runs of project {project!r} on target {target!r} in the results tables yet"
        return
    within = exp.column("run_id").isin(*[exp.Placeholder() for _ in ids])
    data.node_results = _select(history, "pds_node_results", NODE_COLUMNS, within, ids)
    data.test_results = _select(history, "pds_test_results", TEST_COLUMNS, within, ids)
    data.metric_values = _select(history, "pds_metric_values", METRIC_COLUMNS, within, ids,
                                 order=exp.Ordered(this=exp.column("measured_at")))
    if "pds_export_results" in TABLES:
        try:  # results tables written before exports existed have no such table until the next build
            data.export_results = _select(history, "pds_export_results", EXPORT_COLUMNS, within, ids)
        except Exception:
            data.export_results = []


def _eq(column: str) -> exp.Expression:
    return exp.EQ(this=exp.column(column), expression=exp.Placeholder())


def _select(history: ResultsHistory, table: str, columns: list[str], where: exp.Expression, params: list[Any],
            order: exp.Ordered | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    known = {c for c, _ in TABLES[table]}
    wanted = [c for c in columns if c in known]
    query = exp.select(*wanted).from_(history.table(table)).where(where)
    if order is not None:
        query = query.order_by(order)
    if limit is not None:
        query = query.limit(limit)
    _cols, rows = history.adapter.fetch(query, params)
    return [{c: _plain(v) for c, v in zip(wanted, row, strict=True)} for row in rows]


def _plain(value: Any) -> Any:
    """Warehouse values -> JSON-friendly ones (timestamps as ISO text, numbers as floats)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep="T", timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is not None and not isinstance(value, str | int | float | bool):
        try:
            return float(value)  # Decimal and friends
        except (TypeError, ValueError):
            return str(value)
    return value


def read_catalog(adapter: Any, relations: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Column names and warehouse types of the given relations, from information_schema.columns.

    One query per schema. A warehouse without a readable information_schema leaves the types
    unknown (the site then shows the types declared in YAML).
    """
    wanted: dict[tuple[str, str], str] = {}
    for text in relations:
        table = exp.to_table(text, dialect=adapter.dialect)
        if table.db:
            wanted[(table.db.lower(), table.name.lower())] = text
    found: dict[str, list[tuple[str, str]]] = {}
    own = getattr(adapter, "schema_columns", None)  # an engine without information_schema (Spark)
    for schema in sorted({s for s, _ in wanted}):
        if own is not None:
            for table_name, columns in own(schema).items():
                if (schema, table_name.lower()) in wanted:
                    found[wanted[(schema, table_name.lower())]] = columns
            continue
        info = _information_schema(adapter, schema)
        query = (exp.select("table_name", "column_name", "data_type").from_(info)
                 .where(exp.func("lower", exp.column("table_schema")).eq(exp.Placeholder()))
                 .order_by("table_name", "ordinal_position"))
        try:
            _cols, rows = adapter.fetch(query, [schema])
        except Exception:  # no information_schema, or no access to it
            continue
        for table_name, column, kind in rows:
            text = wanted.get((schema, str(table_name).lower()))
            if text is not None:
                found.setdefault(text, []).append((str(column), str(kind)))
    return found


def _information_schema(adapter: Any, schema: str) -> exp.Table:
    """BigQuery keeps one information_schema per dataset; the others one per database."""
    if adapter.dialect == "bigquery":
        return exp.table_("COLUMNS", db="INFORMATION_SCHEMA", catalog=schema)
    return exp.table_("columns", db="information_schema")
