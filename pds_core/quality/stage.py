"""The quality side of one run: which tests, checks and metrics run, where they sit in the DAG,
and the run's history appended to the results tables.

Each quality node runs right after the node it checks (edges parent -> test). An
error-severity one also gets edges test -> the checked node's children, in this run's
execution graph only, so the scheduler holds those children back until it passes and skips
them (and everything below) when it fails. dbt's rule decides which children wait: those
that depend on every node the test reads.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import networkx as nx

from pds_core import __version__
from pds_core.compiler import Compiler
from pds_core.quality.history import SCHEMA_VERSION, ResultsHistory, timestamp, utcnow
from pds_core.quality.pyexec import PythonFiles
from pds_core.quality.runner import QualityContext, QualityRunner, base_result
from pds_core.quality.spec import MetricNode, TestNode
from pds_core.results import FAIL, SKIPPED, SUCCESS, WARN, NodeResult, RunResult

if TYPE_CHECKING:
    from pds_core.tasks import Task


class QualityStage:
    def __init__(self, task: Task) -> None:
        assert task.manifest is not None and task.graph is not None
        self.task = task
        self.manifest = task.manifest
        self.graph = task.graph
        self.kinds: tuple[str, ...] = getattr(task, "quality_kinds", ())
        self.nodes: dict[str, TestNode | MetricNode] = {}
        self.history = ResultsHistory(task.adapter, task.project.config.results_schema)
        self.runner: QualityRunner | None = None
        self.held: dict[str, int] = {}  # checked node -> nodes skipped because its quality failed

    # ---- planning ------------------------------------------------------------------------------
    def plan(self, runnable: set[str]) -> tuple[nx.DiGraph, set[str]]:
        """The execution graph and node set of this run: the task's nodes plus their quality nodes."""
        self.history.ensure()
        self.nodes = self._selected()
        if not self.nodes:
            self.runner = None
            return self.graph, runnable
        graph = self.graph.copy()
        ancestors: dict[str, set[str]] = {}
        for uid, node in self.nodes.items():
            graph.add_node(uid)
            for dep in node.depends_on:
                graph.add_edge(dep, uid)
            if not node.blocking:
                continue
            for parent in node.depends_on:
                for child in self.graph.successors(parent):
                    above = ancestors.setdefault(child, nx.ancestors(self.graph, child))
                    if all(dep in above for dep in node.depends_on):
                        graph.add_edge(uid, child)
        self.runner = QualityRunner(self._context())
        return graph, runnable | set(self.nodes)

    def _selected(self) -> dict[str, TestNode | MetricNode]:
        """dbt's eager rule: a test runs when any node it reads is selected (with no selection: all)."""
        suite = self.manifest.quality
        if suite is None:
            return {}
        pool: dict[str, TestNode | MetricNode] = {}
        if "test" in self.kinds:
            pool.update(suite.tests)
        if "metric" in self.kinds:
            pool.update(suite.metrics)
        chosen = getattr(self.task, "chosen", None) or self.task.selected
        everything = not self.task.options.select and not self.task.options.exclude
        return {uid: node for uid, node in pool.items()
                if any(dep in chosen for dep in node.depends_on) or (everything and not node.depends_on)}

    def _context(self) -> QualityContext:
        task = self.task
        sql_tests = {uid: n for uid, n in self.nodes.items() if isinstance(n, TestNode) and n.rendered is not None}
        compiled = dict(task.compiled)
        if sql_tests:
            view = dataclasses.replace(self.manifest, nodes={**self.manifest.nodes, **sql_tests})
            compiled.update(Compiler(view, self.graph, task.project.config.dialect, task.target_dialect())
                            .compile(list(sql_tests)))
        relations = task.relations
        return QualityContext(
            adapter=task.adapter, nodes=self.manifest.all_nodes(), compiled=compiled, dialect=task.target_dialect(),
            source_dialect=task.project.config.dialect, results_schema=self.history.schema,
            target=task.project.target.name, files=PythonFiles(task.project.root), history=self.history,
            store_failures=bool(getattr(task.options, "store_failures", False)),
            is_built=(lambda n: relations.get(n.relation.key()) is not None) if relations is not None else None)

    # ---- what the scheduler calls --------------------------------------------------------------
    def run_node(self, uid: str) -> NodeResult:
        node = self.nodes.get(uid)
        if node is None:
            return self.task.run_node(uid)
        assert self.runner is not None
        return self.runner.run(node)

    def skipped(self, uid: str, because: str) -> NodeResult:
        blocker = self.nodes.get(because)
        node = self.nodes.get(uid)
        if node is not None:
            name = self.name_of(because)
            result = base_result(node, SKIPPED, f"skipped because {name} failed")
            result.extra["test_status"] = "skipped"
            return result
        result = self.task.skipped(uid, because)
        if blocker is not None:
            held = blocker.attached_to or because
            self.held[held] = self.held.get(held, 0) + 1
            result.message = f"skipped because {self.name_of(held)} failed quality ({blocker.name})"
        return result

    def name_of(self, uid: str) -> str:
        node = self.nodes.get(uid) or self.manifest.all_nodes().get(uid)
        return node.name if node is not None else uid

    def order_key(self, uid: str) -> str:
        return self.name_of(uid)

    # ---- after the run ---------------------------------------------------------------------------
    def finish(self, run: RunResult) -> None:
        """Mark each checked node passed, warned or failed-quality from its tests' and metrics' results."""
        by_id = run.by_id()
        rank = {"passed": 0, "warned": 1, "failed": 2}
        for result in run.results:
            node = self.nodes.get(result.unique_id)
            target = by_id.get(node.attached_to or "") if node is not None else None
            if target is None or result.status == SKIPPED:
                continue
            verdict = {FAIL: "failed", WARN: "warned", SUCCESS: "passed"}.get(result.status, "failed")
            if rank[verdict] >= rank.get(target.extra.get("quality", "passed"), 0):
                target.extra["quality"] = verdict
            if verdict != "passed":
                key = "quality_failures" if verdict == "failed" else "quality_warnings"
                target.extra.setdefault(key, []).append(result.name)
        for uid, count in self.held.items():
            if uid in by_id:
                by_id[uid].extra["skipped_downstream"] = count

    def record(self, run: RunResult, extra: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """Append this run to the results tables (one transaction); a failure is reported, not fatal.
        `extra`: rows of other tables written with the run (pds_export_results, from the publish stage)."""
        try:
            self.history.append({**self.rows(run), **(extra or {})})
        except Exception as exc:
            text = self.task.adapter.redact(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
            self.task.reporter.error(f"could not append this run to the results tables in schema "
                                     f"{self.history.schema!r}: {text}")

    def rows(self, run: RunResult) -> dict[str, list[dict[str, Any]]]:
        project, target = self.task.project, self.task.project.target
        finished = utcnow()
        counts = run.counts()
        out: dict[str, list[dict[str, Any]]] = {name: [] for name in
                                                ("pds_runs", "pds_node_results", "pds_test_results", "pds_metric_values")}
        out["pds_runs"].append({
            "run_id": run.invocation_id, "project": project.name, "command": run.command, "target": target.name,
            "target_type": target.type, "status": "success" if run.success else "error",
            "started_at": timestamp(run.started_at), "finished_at": finished, "elapsed_seconds": run.elapsed,
            "pds_version": __version__, "schema_version": SCHEMA_VERSION, "nodes": len(run.results),
            "failed": counts.get("error", 0) + counts.get("fail", 0),
            "args": json.dumps({"select": self.task.options.select, "exclude": self.task.options.exclude})})
        for r in run.results:
            out["pds_node_results"].append({
                "run_id": run.invocation_id, "unique_id": r.unique_id, "name": r.name,
                "resource_type": r.resource_type, "status": r.status, "message": r.message[:4000],
                "rows_affected": r.rows_affected, "execution_time": r.execution_time,
                "started_at": timestamp(r.started_at), "completed_at": timestamp(r.completed_at),
                "relation": r.relation, "materialized": r.materialized, "quality_status": r.extra.get("quality")})
            executed = timestamp(r.completed_at) or finished
            common = {"run_id": run.invocation_id, "unique_id": r.unique_id, "name": r.name,
                      "node_id": r.extra.get("attached_to"), "target": target.name, "executed_at": executed}
            if r.resource_type == "test":
                out["pds_test_results"].append({
                    **common, "test_type": r.extra.get("test_type"), "test_name": r.extra.get("test_name"),
                    "column_name": r.extra.get("column"), "group_key": "",
                    "status": r.extra.get("test_status") or ("skipped" if r.status == SKIPPED else r.status),
                    "severity": r.extra.get("severity"), "failures": r.failures, "message": r.message[:4000],
                    "failures_relation": r.extra.get("failures_relation")})
            if r.resource_type == "metric":
                for bound in r.extra.get("bounds", []):
                    out["pds_test_results"].append({
                        **common, "name": f"{r.name}:{bound['bound']}", "test_type": "metric_bound",
                        "test_name": bound["bound"], "group_key": bound["group"], "status": bound["status"],
                        "severity": bound["severity"], "failures": int(bound["status"] != "pass"),
                        "message": bound["message"]})
                for value in r.extra.get("values", []):
                    out["pds_metric_values"].append({
                        "run_id": run.invocation_id, "unique_id": r.unique_id, "metric": r.name,
                        "node_id": r.extra.get("attached_to"), "model": r.extra.get("model"),
                        "group_key": value["group"], "value": value["value"], "status": value["status"],
                        "target": target.name, "measured_at": timestamp(value["measured_at"])})
        return out
