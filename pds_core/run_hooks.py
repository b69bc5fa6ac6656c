"""on-run-start and on-run-end: the project's hooks around a whole run, as dbt-core 1.11 runs them.

They run in the order written, outside any transaction, before the first node and after the last one
(for build, run, seed, snapshot and test). Each is a result of the run, recorded in run_results.json
as dbt records it: `operation.<project>.<project>-on-run-start-<n>`, message `<project>.on-run-start.<n>
passed` (or `failed: ...`). When one fails, the ones after it are skipped and the run fails; the nodes
still run, as in dbt 1.11 (whose flag skip_nodes_if_on_run_start_fails is off by default).

on-run-end hooks see dbt's context: `results` (each node's result: .node, .status, .message,
.execution_time, ...), `schemas` and `database_schemas` (where nodes were built successfully).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from pds_core.errors import ProjectError
from pds_core.hooks import HookFailed, render_hook
from pds_core.results import ERROR, FAIL, SKIPPED, NodeResult
from pds_core.runners.base import RunContext, Runner, safe_run

KINDS = ("on-run-start", "on-run-end")


@dataclass
class RunHook:
    """One on-run-start / on-run-end hook: a node of the run with dbt's operation id."""

    unique_id: str
    name: str
    sql: str
    label: str  # <project>.on-run-start.<n>, as dbt names it in messages
    resource_type: str = "operation"
    path: str = "pds_project.yml"
    context: dict[str, Any] = field(default_factory=dict)


def project_hooks(project: Any, kind: str) -> list[RunHook]:
    """The hooks of one kind in the project file, checked: each is SQL text."""
    value = project.config.raw.get(kind)
    items = value if isinstance(value, list) else [] if value is None else [value]
    hooks = []
    for index, sql in enumerate(items):
        if not isinstance(sql, str):
            raise ProjectError(f"{kind}: each hook is SQL text, not {sql!r}", "pds_project.yml",
                               getattr(project.config.raw, "line_of", lambda _k: None)(kind),
                               hint=f"e.g. {kind}: [\"create schema if not exists {{{{ target.schema }}}}_audit\"]")
        name = f"{project.name}-{kind}-{index}"
        hooks.append(RunHook(f"operation.{project.name}.{name}", name, sql, f"{project.name}.{kind}.{index}"))
    return hooks


class RunHookRunner(Runner):
    """Renders and runs one run hook."""

    def __init__(self, ctx: RunContext, plan: Any) -> None:
        super().__init__(ctx)
        self.plan = plan

    def location(self, node: RunHook) -> tuple[str | None, int | None]:
        return node.path, None

    def failure(self, node: RunHook, text: str) -> str:
        return text

    def run(self, node: RunHook, result: NodeResult) -> None:
        sql = render_hook(self.plan, node.sql, None, self.ctx.adapter, node.path, node.context)
        result.extra["compiled_code"] = sql
        if sql.strip():
            try:
                self.ctx.adapter.execute(sql)
            except Exception as exc:
                raise HookFailed(f"{node.label} failed: {str(exc).strip()}") from exc
        result.message = f"{node.label} passed"


def run_hooks(plan: Any, ctx: RunContext, kind: str, results: list[NodeResult] | None = None,
              on_done: Any = None) -> list[NodeResult]:
    """Run the project's hooks of one kind in order; after a failure the rest are skipped."""
    hooks = project_hooks(plan.project, kind)
    runner = RunHookRunner(ctx, plan)
    context = end_context(plan, results or []) if kind == "on-run-end" else {}
    done: list[NodeResult] = []
    failed = False
    for hook in hooks:
        hook.context = context
        if failed:
            result = runner.result(hook, SKIPPED, f"{hook.label} skipped")
        else:
            result = safe_run(runner, hook)
            failed = result.status == ERROR
        result.failures = 1 if result.status != "success" else 0
        done.append(result)
        if on_done is not None:
            on_done(result)
    return done


def end_context(plan: Any, results: list[NodeResult]) -> dict[str, Any]:
    """dbt's on-run-end context: results, schemas, database_schemas."""
    nodes = plan.manifest.all_nodes()
    view = []
    built: set[tuple[str | None, str]] = set()
    for r in results:
        node = nodes.get(r.unique_id) or plan.added.get(r.unique_id)
        relation = getattr(node, "relation", None)
        info = SimpleNamespace(
            unique_id=r.unique_id, name=r.name, resource_type=r.resource_type, path=r.path,
            schema=relation.schema if relation else None, database=relation.database if relation else None,
            alias=relation.identifier if relation else None, config=getattr(node, "config", {}) or {},
            tags=getattr(node, "tags", []) if node is not None else [])
        view.append(SimpleNamespace(node=info, status=r.status, message=r.message, failures=r.failures,
                                    execution_time=r.execution_time, adapter_response={},
                                    rows_affected=r.rows_affected, thread_id="Thread-1", timing=[]))
        if relation is not None and r.resource_type in ("model", "seed", "snapshot") and \
                r.status not in (ERROR, FAIL, SKIPPED):
            built.add((relation.database, relation.schema))
    return {"results": view, "schemas": sorted({s for _, s in built}),
            "database_schemas": sorted(built, key=lambda p: (str(p[0]), p[1]))}
