"""Run one export: read the model's rows from the warehouse in chunks and hand them to its
destination; describe the outcome as a NodeResult and as a row of pds_export_results.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlglot import exp

from pds_core.artifacts import now_iso
from pds_core.errors import ProjectError
from pds_core.publish.destinations import DESTINATIONS, Destination, ExportFailed, PublishContext
from pds_core.publish.exports import Export
from pds_core.publish.gating import describe, only_causes
from pds_core.publish.sheets_destination import SheetsDestination
from pds_core.publish.workbooks import Workbook, write_workbook
from pds_core.results import OK_STATUSES, SKIPPED, SUCCESS, NodeResult
from pds_core.runners.base import NodeFailed, RunContext, Runner
from pds_core.sqlexpr import parse_sql_expression

CHUNK_ROWS = 50_000  # rows read from the warehouse at a time: a large export never sits whole in memory


def destination_for(export: Export, ctx: PublishContext) -> Destination:
    return {**DESTINATIONS, "sheets": SheetsDestination}[export.kind](export, ctx)


def export_result(export: Export, status: str = SUCCESS, message: str = "") -> NodeResult:
    """A NodeResult for an export, carrying what pds_export_results needs in `extra` (a workbook: one
    entry per member export under "members", each recorded as its own row)."""
    extra: dict[str, Any] = {"attached_to": export.node, "model": export.model, "destination_type": export.kind}
    if isinstance(export, Workbook):
        extra["members"] = [{"unique_id": m.unique_id, "name": m.name, "node": m.node, "model": m.model,
                             "sheet": sheet, "rows": None} for m, sheet in zip(export.members, export.sheets,
                                                                             strict=True)]
    return NodeResult(unique_id=export.unique_id, name=export.name, resource_type="export", status=status,
                      message=message, path=export.path, extra=extra)


class ExportRunner(Runner):
    """Runs exports (the "export" entry of the runner registry); a blocked one is skipped with its reasons."""

    def __init__(self, run: RunContext, ctx: PublishContext, plan: Any) -> None:
        super().__init__(run)
        self.publish = ctx
        self.plan = plan
        self.nodes = plan.manifest.all_nodes()
        self.source_dialect = plan.project.config.dialect

    def result(self, export: Export, status: str = SUCCESS, message: str = "") -> NodeResult:
        return export_result(export, status, message)

    def skipped(self, export: Export, because: str, plan: Any, results: dict[str, NodeResult]) -> NodeResult:
        """Every gate of the export that did not pass (the scheduler names only the first)."""
        failed, skipped = [], []
        for gate in plan.run_graph.predecessors(export.unique_id):
            result = results.get(gate)
            if result is None or result.status in OK_STATUSES:
                continue
            node = plan.added.get(gate)
            reason = describe(node, f"{result.resource_type} {result.name}", result.status, result.message)
            (skipped if result.status == SKIPPED else failed).append(reason)
        reasons = only_causes(failed, skipped) or [f"{plan.name_of(because)} did not pass"]
        result = self.result(export, SKIPPED, "skipped: " + "; ".join(reasons))
        result.started_at = result.completed_at = now_iso()
        result.extra["blocked_by"] = reasons
        return result

    def held_back(self, node: Any, result: NodeResult) -> bool:
        """`pds publish`: a node whose recorded gate is closed is skipped with its reasons."""
        blocked = self.plan.blocked.get(node.unique_id)
        if blocked:
            result.status, result.message = SKIPPED, "skipped: " + "; ".join(blocked)
            result.extra["blocked_by"] = blocked
        return bool(blocked)

    def run(self, export: Export, result: NodeResult) -> None:
        if self.held_back(export, result):
            return
        destination: Any = None
        try:
            destination = destination_for(export, self.publish)
            result.extra["destination"] = destination.describe()
            destination.prepare()
            result.extra["destination"] = destination.describe()
            if isinstance(export, Workbook):
                self._workbook(export, destination, result)
                return
            written = destination.write(self._chunks(export))
            result.rows_affected = written.rows
            result.extra["batches"] = written.batches
            result.message = f"export {export.name} to {result.extra['destination']}" + \
                (f" ({', '.join(written.notes)})" if written.notes else "")
        except ExportFailed as exc:
            result.rows_affected, result.extra["batches"] = exc.rows, exc.batches
            raise NodeFailed(f"export {export.name}: {exc}") from None
        except ProjectError as exc:
            exc.location.path = exc.location.path or export.path
            exc.location.line = exc.location.line or export.line
            text = str(exc)
            raise NodeFailed(destination.redact(text) if destination is not None else text) from None
        except Exception as exc:  # the destination or the warehouse refused: this export fails, the run goes on
            if self.ctx.interrupted.is_set():
                raise
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            text = self.redact(destination.redact(text) if destination is not None else text)
            raise NodeFailed(f"{export.path}: export {export.name} failed: {text}") from None

    def _workbook(self, workbook: Workbook, destination: Any, result: NodeResult) -> None:
        sheets = write_workbook(destination, workbook, self._chunks)
        for entry, (_member, rows, _notes) in zip(result.extra["members"], sheets, strict=True):
            entry["rows"] = rows
        notes = [n for _m, _r, member_notes in sheets for n in member_notes]
        result.rows_affected = sum(rows for _m, rows, _n in sheets)
        result.extra["batches"] = 1
        shown = ", ".join(f"{m.name} as {entry['sheet']!r}" for m, entry in zip(workbook.members,
                                                                                result.extra["members"], strict=True))
        result.message = f"export {shown} to {result.extra['destination']}" + (f" ({'; '.join(notes)})" if notes else "")

    def query(self, export: Export) -> exp.Select:
        node = self.nodes[export.node]
        assert node.relation is not None
        columns = [exp.column(exp.to_identifier(c)) for c in export.columns] or [exp.Star()]
        query = exp.select(*columns).from_(self.publish.adapter.table(node.relation))
        if export.where:
            query = query.where(parse_sql_expression(export.where, self.source_dialect, "where"))
        return query

    def _chunks(self, export: Export) -> Iterator[Any]:
        """The export's rows as DataFrames; at least one (an empty frame still carries the columns)."""
        query = self.query(export)
        adapter = self.publish.adapter
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

