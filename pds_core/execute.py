"""Execute: run a plan's nodes in DAG order, each with the runner of its type, under one wrapper.

    execute(plan, adapter, runners) -> RunResult

`runners` maps a node type to its runner (runners/registry.py builds the usual ones); the
scheduler (scheduler.py, pure) decides the order and the skips; runners.base.safe_run turns each
node into a NodeResult. On Ctrl-C the running statements are cancelled (adapter.cancel()), the
nodes that were running end as cancelled, those not started as not run, and the run is returned
as interrupted, so that it is recorded as such and `pds retry` finishes it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from pds_core.artifacts import now_iso
from pds_core.plan import Plan
from pds_core.results import ERROR, FAIL, SKIPPED, NodeResult, RunResult
from pds_core.runners.base import Runner, safe_run
from pds_core.scheduler import FailedFast, Interrupted, run_dag

NOT_RUN = "not run: the run was interrupted (Ctrl-C); `pds retry` runs it"


def execute(plan: Plan, adapter: Any, runners: dict[str, Runner], reporter: Any = None,
            hurry: Any = None, on_interrupt: Any = None) -> RunResult:
    """Run the plan's runnable nodes; returns every node's result (the run is not recorded here).

    hurry() true stops the waiting for cancelled nodes; on_interrupt() is called first on Ctrl-C.
    """
    project = plan.project
    run = RunResult(plan.command.name, plan.invocation_id, now_iso(), target=project.target.name)
    t0 = time.perf_counter()
    results: dict[str, NodeResult] = {}
    lock = threading.Lock()
    if reporter is not None:
        reporter.start(plan.command.name, len(plan.runnable), project.target.name)

    def run_node(uid: str) -> NodeResult:
        return safe_run(runners[plan.kind(uid)], plan.node(uid))

    def skipped(uid: str, because: str) -> NodeResult:
        with lock:
            known = dict(results)
        return runners[plan.kind(uid)].skipped(plan.node(uid), because, plan, known)

    def done(result: NodeResult) -> None:
        with lock:
            results[result.unique_id] = result
        if reporter is not None:
            reporter.node_done(result)

    def interrupt() -> None:
        if on_interrupt is not None:
            on_interrupt()
        for ctx in {id(r.ctx): r.ctx for r in runners.values()}.values():
            ctx.interrupted.set()
        cancel_statements(adapter)

    def stop_fast() -> None:
        for ctx in {id(r.ctx): r.ctx for r in runners.values()}.values():
            ctx.interrupted.set()
        cancel_statements(adapter)

    threads = plan.options.threads or project.target.threads
    fail_fast = (lambda r: r.status in (ERROR, FAIL)) if plan.options.fail_fast else None
    try:
        run.results = run_dag(plan.run_graph, plan.runnable, run_node, skipped, threads, on_done=done,
                              order_key=plan.name_of, on_interrupt=stop_fast if fail_fast else interrupt,
                              hurry=hurry or (lambda: False), stop_after=fail_fast)
    except FailedFast as exc:  # dbt's --fail-fast: the rest is skipped, the run is not interrupted
        run.results = list(exc.results)
        because = f"skipped: --fail-fast stopped the run when {plan.name_of(exc.cause)} failed"
        finished = {r.unique_id for r in run.results}
        for uid in sorted(plan.runnable - finished, key=plan.name_of):
            result = runners[plan.kind(uid)].result(plan.node(uid), SKIPPED, because)
            done(result)
            run.results.append(result)
    except Interrupted as exc:
        run.interrupted = True
        run.results = list(exc.results)
        finished = {r.unique_id for r in run.results}
        for uid in sorted(plan.runnable - finished, key=plan.name_of):
            result = runners[plan.kind(uid)].result(plan.node(uid), SKIPPED, NOT_RUN)
            if uid in exc.running:
                result.message = "interrupted while running; " + NOT_RUN.split("; ", 1)[1]
            result.extra["interrupted"] = True
            run.results.append(result)
    run.elapsed = time.perf_counter() - t0
    return run


def cancel_statements(adapter: Any) -> None:
    """Cancel whatever the adapter's connections are running (Adapter.cancel(): safe from another thread,
    quick); the statements fail in their threads and roll back. Never raises: Ctrl-C must go on."""
    if adapter is not None:
        with contextlib.suppress(Exception):
            adapter.cancel()


class StatementLog:
    """The statements each node sent, as the warehouse received them (kept in target/run/ by record.py).

    Listens to the adapter's SQL rendering; each thread runs one node at a time, so statements are
    attributed to the node its thread runs.
    """

    def __init__(self, adapter: Any) -> None:
        self._local = threading.local()
        self.statements: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._adapter = adapter
        listen = getattr(adapter, "add_statement_listener", None)
        if listen is not None:
            listen(self._heard)
        elif adapter is not None:  # shim until the adapters offer a listener: wrap this instance's sql()
            render = adapter.sql

            def sql(statement: Any) -> str:
                text = render(statement)
                self._heard(text)
                return text

            adapter.sql = sql

    def _heard(self, text: str) -> None:
        uid = getattr(self._local, "uid", None)
        if uid is not None and _is_statement(text):
            with self._lock:
                self.statements.setdefault(uid, []).append(text)

    def close(self) -> None:
        """Stop listening (the shim's wrapper is removed from the adapter instance)."""
        if self._adapter is not None and "sql" in vars(self._adapter):
            del self._adapter.sql

    def start(self, uid: str) -> None:
        self._local.uid = uid

    def stop(self, uid: str) -> None:
        self._local.uid = None


_VERBS = ("select", "with", "create", "insert", "merge", "delete", "update", "drop", "alter", "begin", "commit",
          "rollback", "truncate", "copy", "set", "call", "grant", "comment", "load", "install", "describe",
          "revoke", "show")


def _is_statement(text: str) -> bool:
    head = text.lstrip().split(None, 1)
    return bool(head) and head[0].lower().rstrip(";(") in _VERBS
