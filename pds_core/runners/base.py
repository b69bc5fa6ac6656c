"""The one wrapper every node runs under, and the base class of the runners it wraps.

A runner knows how to run one kind of node (a model, a test, an export...) and fills in a
NodeResult. safe_run() does the rest the same way for all of them: timing, the status, turning an
exception into a message (a project error with its file and line, a warehouse error redacted and
with a hint when the connection was lost), the statements the node sent, and what an interrupted
run says. Shaped like dbt's BaseRunner.safe_run.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from pds_core.artifacts import now_iso
from pds_core.errors import ProjectError
from pds_core.results import ERROR, SKIPPED, SUCCESS, NodeResult

INTERRUPTED = "cancelled: the run was interrupted (Ctrl-C); what this node had started was rolled back"


class NodeFailed(Exception):
    """A runner's own verdict on a node: its message is final (already redacted), its status given."""

    def __init__(self, message: str, status: str = ERROR, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra


@dataclass
class RunContext:
    """What every runner of one run shares: the adapter, the debug flag and the interrupt signal."""

    adapter: Any = None
    debug: bool = False
    interrupted: threading.Event = field(default_factory=threading.Event)
    statements: Any = None  # a StatementLog (execute.py), or None when statements are not kept


class Runner:
    """Runs one kind of node. Subclasses implement run(); the rest has sensible defaults."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def result(self, node: Any, status: str = SUCCESS, message: str = "") -> NodeResult:
        relation = getattr(node, "relation", None)
        materialized = getattr(node, "materialized", None)
        return NodeResult(unique_id=node.unique_id, name=node.name, resource_type=node.resource_type,
                          status=status, message=message, relation=str(relation) if relation else None,
                          materialized=materialized, path=getattr(node, "path", None))

    def run(self, node: Any, result: NodeResult) -> None:
        raise NotImplementedError

    def skipped(self, node: Any, because: str, plan: Any, results: dict[str, NodeResult]) -> NodeResult:
        """The result of a node not run because `because` (a unique id) did not pass.

        A node held back by an error-severity check says which checked node failed its quality.
        """
        blocker = plan.node(because)
        result = self.result(node, SKIPPED, f"skipped because {plan.name_of(because)} failed")
        if blocker.resource_type in ("test", "metric"):
            held = blocker.attached_to or because
            result.message = f"skipped because {plan.name_of(held)} failed quality ({blocker.name})"
            result.extra["held_by"] = held
        return result

    def location(self, node: Any) -> tuple[str | None, int | None]:
        """Where a project error about this node points when it names no place of its own."""
        return getattr(node, "path", None), getattr(node, "line", None)

    def failure(self, node: Any, text: str) -> str:
        """The message of a warehouse (or other unexpected) error, already redacted."""
        return f"{node.path}: {text}"

    def redact(self, text: str) -> str:
        adapter = self.ctx.adapter
        return adapter.redact(text) if adapter is not None else text


def safe_run(runner: Runner, node: Any) -> NodeResult:
    """Run a node with its runner and always return its result; no exception escapes."""
    ctx = runner.ctx
    result = runner.result(node)
    result.started_at = now_iso()
    t0 = time.perf_counter()
    adapter = ctx.adapter
    before = adapter.thread_statements() if adapter is not None else 0
    if ctx.statements is not None:
        ctx.statements.start(node.unique_id)
    try:
        runner.run(node, result)
    except NodeFailed as exc:
        result.status, result.message = exc.status, exc.message
        result.extra.update(exc.extra)
    except ProjectError as exc:
        path, line = runner.location(node)
        exc.location.path = exc.location.path or path
        if exc.location.path == path:
            exc.location.line = exc.location.line or line
        result.status, result.message = ERROR, runner.redact(str(exc))
    except Exception as exc:  # the warehouse refused, or a bug: this node fails, the run goes on
        result.status, result.message = ERROR, runner.failure(node, _describe(exc, ctx))
    if ctx.interrupted.is_set() and result.status == ERROR:
        result.message = INTERRUPTED
        result.extra["interrupted"] = True
    result.execution_time = time.perf_counter() - t0
    result.completed_at = now_iso()
    if adapter is not None:
        result.extra["statements"] = adapter.thread_statements() - before
    if ctx.statements is not None:
        ctx.statements.stop(node.unique_id)
    return result


def _describe(exc: Exception, ctx: RunContext) -> str:
    text = str(exc).strip() or type(exc).__name__
    adapter = ctx.adapter
    if adapter is not None and adapter.connection_lost(exc):
        text = (f"lost the connection to target {adapter.target.name!r}: {text.splitlines()[0]}\n"
                f"  hint: the warehouse ended the session (restart, timeout or an administrator); "
                f"`pds retry` re-runs what failed or was skipped")
    if ctx.debug:
        text += "\n" + "".join(traceback.format_exception(exc))
    return adapter.redact(text) if adapter is not None else text
