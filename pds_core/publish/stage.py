"""The publish side of one run: exports as nodes of the run's DAG, their results in the results
tables, and the run's notifications.

In `pds build` each export of a selected model becomes a node after the model and after every
gating check of the model and its ancestors that this run executes (see gating.py); the
scheduler skips it when any of them failed, and skipped() says which. `pds publish` (task.py)
uses the same stage with recorded results as the gate instead.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import networkx as nx

from pds_core.publish.destinations import PublishContext, TargetPool
from pds_core.publish.exports import Export
from pds_core.publish.gating import describe, gating_nodes, only_causes
from pds_core.publish.notify import notify, webhooks
from pds_core.publish.runner import ExportRunner, export_rows, skipped_result
from pds_core.quality.history import timestamp, utcnow
from pds_core.results import OK_STATUSES, SKIPPED, NodeResult, RunResult

if TYPE_CHECKING:
    from pds_core.quality.stage import QualityStage
    from pds_core.tasks import Task


class PublishStage:
    def __init__(self, task: Task, quality: QualityStage, run_id: str | None = None,
                 started: str | None = None) -> None:
        assert task.manifest is not None and task.graph is not None
        self.task = task
        self.quality = quality
        self.manifest = task.manifest
        self.exports: dict[str, Export] = {}
        self.gates: dict[str, list[str]] = {}  # export -> the gating nodes (and its model) it waits for
        self.blocked: dict[str, list[str]] = {}  # export -> why it must not run (publish: recorded results)
        self.results: dict[str, NodeResult] = {}
        self._lock = threading.Lock()
        self.hooks = webhooks(task.project)  # a bad hook is a project error before anything runs
        self.pool = TargetPool(task.project, task.adapter)
        ctx = PublishContext(task.project, task.adapter, run_id or task.invocation_id,
                             timestamp(started) if started else utcnow(), self.pool, on_retry=self._retrying)
        self.runner = ExportRunner(ctx, self.manifest.all_nodes(), task.project.config.dialect)

    def candidates(self, models: set[str]) -> dict[str, Export]:
        """The exports of these models that run on this target (the others are left out, and said so)."""
        target = self.task.project.target.name
        mine = {uid: e for uid, e in (getattr(self.manifest, "exports", None) or {}).items() if e.node in models}
        elsewhere = sorted(f"{e.name} (targets: {', '.join(e.targets)})" for e in mine.values()
                           if not e.runs_on(target))
        if elsewhere:
            self.task.reporter.info(f"Not exporting on target {target}: {'; '.join(elsewhere)}")
        return {uid: e for uid, e in mine.items() if e.runs_on(target)}

    # ---- pds build: exports in the DAG ---------------------------------------------------------
    def plan(self, graph: nx.DiGraph, runnable: set[str]) -> tuple[nx.DiGraph, set[str]]:
        """Add each export after its model and after the gating quality nodes that run in this run."""
        self.exports = self.candidates(runnable)
        if not self.exports:
            return graph, runnable
        graph = graph.copy()
        quality_nodes = set(self.quality.nodes)
        for uid, export in self.exports.items():
            graph.add_node(uid)
            graph.add_edge(export.node, uid)
            gates = [export.node]
            for node in gating_nodes(self.manifest.quality, self.task.graph, export):  # type: ignore[arg-type]
                if node.unique_id in quality_nodes:
                    graph.add_edge(node.unique_id, uid)
                    gates.append(node.unique_id)
            self.gates[uid] = gates
        return graph, runnable | set(self.exports)

    def run_node(self, uid: str) -> NodeResult:
        export = self.exports.get(uid)
        if export is None:
            result = self.quality.run_node(uid)
        elif self.blocked.get(uid):
            result = skipped_result(export, self.blocked[uid])
        else:
            result = self.runner.run(export)
        with self._lock:
            self.results[uid] = result
        return result

    def skipped(self, uid: str, because: str) -> NodeResult:
        export = self.exports.get(uid)
        if export is None:
            result = self.quality.skipped(uid, because)
            with self._lock:
                self.results[uid] = result
            return result
        return skipped_result(export, self.reasons(uid, because))

    def reasons(self, uid: str, because: str) -> list[str]:
        """Every gate of the export that did not pass (the scheduler names only the first)."""
        with self._lock:
            results = dict(self.results)
        quality = self.quality.nodes
        failed, skipped = [], []
        for gate in self.gates.get(uid, []):
            result = results.get(gate)
            if result is None or result.status in OK_STATUSES:
                continue
            reason = describe(quality.get(gate), f"{result.resource_type} {result.name}",  # type: ignore[arg-type]
                              result.status, result.message)
            (skipped if result.status == SKIPPED else failed).append(reason)
        return only_causes(failed, skipped) or [f"{self.quality.name_of(because)} did not pass"]

    # ---- after the run ---------------------------------------------------------------------------
    def record(self, run: RunResult) -> None:
        """Append the run, with one pds_export_results row per export, to the results tables."""
        self.pool.close()
        self.quality.record(run, {"pds_export_results": export_rows(run)})

    def notify(self, run: RunResult) -> None:
        if self.hooks:
            notify(self.task.project, run, self.task.reporter, self.task.adapter.redact)

    def _retrying(self, export: Export, attempt: int, reason: str, delay: float) -> None:
        self.task.reporter.notice("export_retry", f"export {export.name}: attempt {attempt} failed ({reason}); "
                                  f"retrying in {delay:.1f}s", export=export.name, attempt=attempt, reason=reason,
                                  delay=delay)

