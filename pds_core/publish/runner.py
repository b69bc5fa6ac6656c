"""Run one export: read the model's rows from the warehouse in chunks and hand them to its
destination; describe the outcome as a NodeResult and as a row of pds_export_results.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from sqlglot import exp

from pds_core.artifacts import now_iso
from pds_core.errors import ProjectError
from pds_core.nodes import Node
from pds_core.publish.destinations import ExportFailed, PublishContext, destination_for
from pds_core.publish.exports import Export
from pds_core.quality.generic import parse_sql_expression
from pds_core.quality.history import timestamp, utcnow
from pds_core.results import ERROR, SKIPPED, SUCCESS, NodeResult, RunResult

CHUNK_ROWS = 50_000  # rows read from the warehouse at a time: a large export never sits whole in memory


def export_result(export: Export, status: str = SUCCESS, message: str = "") -> NodeResult:
    """A NodeResult for an export, carrying what pds_export_results needs in `extra`."""
    return NodeResult(unique_id=export.unique_id, name=export.name, resource_type="export", status=status,
                      message=message, path=export.path,
                      extra={"attached_to": export.node, "model": export.model, "destination_type": export.kind})


class ExportRunner:
    def __init__(self, ctx: PublishContext, nodes: dict[str, Node], source_dialect: str) -> None:
        self.ctx = ctx
        self.nodes = nodes
        self.source_dialect = source_dialect

    def run(self, export: Export) -> NodeResult:
        result = export_result(export)
        result.started_at = now_iso()
        t0 = time.perf_counter()
        destination: Any = None
        try:
            destination = destination_for(export, self.ctx)
            result.extra["destination"] = destination.describe()
            destination.prepare()
            result.extra["destination"] = destination.describe()
            written = destination.write(self._chunks(export))
            result.rows_affected = written.rows
            result.extra["batches"] = written.batches
            result.message = f"export {export.name} to {result.extra['destination']}" + \
                (f" ({', '.join(written.notes)})" if written.notes else "")
        except ExportFailed as exc:
            result.status, result.message = ERROR, f"export {export.name}: {exc}"
            result.rows_affected, result.extra["batches"] = exc.rows, exc.batches
        except ProjectError as exc:
            exc.location.path = exc.location.path or export.path
            exc.location.line = exc.location.line or export.line
            text = str(exc)
            result.status, result.message = ERROR, destination.redact(text) if destination is not None else text
        except Exception as exc:  # the destination or the warehouse refused: this export fails, the run goes on
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            text = self.ctx.adapter.redact(destination.redact(text) if destination is not None else text)
            result.status, result.message = ERROR, f"{export.path}: export {export.name} failed: {text}"
        result.execution_time = time.perf_counter() - t0
        result.completed_at = now_iso()
        return result

    def query(self, export: Export) -> exp.Select:
        node = self.nodes[export.node]
        assert node.relation is not None
        columns = [exp.column(exp.to_identifier(c)) for c in export.columns] or [exp.Star()]
        query = exp.select(*columns).from_(self.ctx.adapter.table(node.relation))
        if export.where:
            query = query.where(parse_sql_expression(export.where, self.source_dialect, "where"))
        return query

    def _chunks(self, export: Export) -> Iterator[Any]:
        """The export's rows as DataFrames; at least one (an empty frame still carries the columns)."""
        query = self.query(export)
        adapter = self.ctx.adapter
        try:
            stream = iter(adapter.read_chunks(query, CHUNK_ROWS))
            first = next(stream, None)
        except (AttributeError, NotImplementedError):  # an engine without a streaming DB-API cursor (BigQuery)
            yield adapter.query_dataframe(query)
            return
        if first is None:
            yield adapter.query_dataframe(query.limit(0))
            return
        yield first
        yield from stream


def skipped_result(export: Export, reasons: list[str]) -> NodeResult:
    result = export_result(export, SKIPPED, "skipped: " + "; ".join(reasons))
    result.started_at = result.completed_at = now_iso()
    result.extra["blocked_by"] = reasons
    return result


def export_rows(run: RunResult) -> list[dict[str, Any]]:
    """This run's rows of pds_export_results: one per export, whatever its status."""
    rows = []
    for r in run.results:
        if r.resource_type != "export":
            continue
        rows.append({
            "run_id": run.invocation_id, "unique_id": r.unique_id, "name": r.name,
            "node_id": r.extra.get("attached_to"), "model": r.extra.get("model"),
            "destination_type": r.extra.get("destination_type"), "destination": r.extra.get("destination"),
            "status": r.status, "rows": r.rows_affected, "batches": r.extra.get("batches"),
            "message": r.message[:4000], "started_at": timestamp(r.started_at),
            "completed_at": timestamp(r.completed_at) or utcnow(), "execution_time": r.execution_time,
            "target": run.target})
    return rows
