"""Hooks: SQL a project runs around a node (pre_hook / post_hook), as dbt-core 1.11 runs them.

A node's hooks come from every level of its config and add up, outer levels first: the project file's
`+pre-hook` at the project, then each folder, then schema YAML, then config() in the file (config.py's
merge_config). Each hook is a string or `{sql: ..., transaction: false}` (what before_begin() and
after_commit() make). Around the node's build they run in dbt's order:

    pre-hooks with transaction: false -> BEGIN -> pre-hooks -> the build -> post-hooks -> COMMIT
    -> post-hooks with transaction: false

BEGIN/COMMIT is the adapter's transaction() where the engine has transactional DDL (DuckDB, Postgres):
a failing hook there rolls the build back. Elsewhere each statement commits on its own, as in dbt.
A hook that fails fails its node, naming the hook. The project's on-run-start / on-run-end hooks are
run_hooks.py's; both render through render_hook(), the one place hook SQL meets Jinja.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pds_core.errors import ProjectError
from pds_core.nodes import Node
from pds_core.results import NodeResult
from pds_core.runners.base import Runner

HOOK_KEYS = ("pre_hook", "post_hook")


@dataclass(frozen=True)
class Hook:
    sql: str
    transaction: bool = True  # inside the node's transaction (dbt's default); false: before BEGIN / after COMMIT


class HookFailed(Exception):
    """A hook's statement failed: the message names the hook; the warehouse's error follows."""


def hooks_of(config: Mapping[str, Any], key: str, where: str | None = None) -> list[Hook]:
    """The node's hooks of one kind (pre_hook or post_hook), as written at every level, outer first."""
    value = config.get(key)
    items = value if isinstance(value, list) else [] if value is None else [value]
    hooks = []
    for item in items:
        if isinstance(item, str):
            if item.strip():
                hooks.append(Hook(item))
        elif isinstance(item, Mapping) and isinstance(item.get("sql"), str):
            hooks.append(Hook(item["sql"], bool(item.get("transaction", True))))
        else:
            raise ProjectError(f"{key.replace('_', '-')}: a hook is SQL text or {{sql: ..., transaction: ...}}, "
                               f"not {item!r}", where, hint="e.g. post-hook: \"grant select on {{ this }} to reporter\"")
    return hooks


def install(renderer: Any) -> None:
    """before_begin() and after_commit(), as dbt has them: a hook that runs outside the node's transaction."""
    outside = lambda sql: {"sql": sql, "transaction": False}  # noqa: E731
    renderer.base.update(before_begin=outside, after_commit=outside)


def render_hook(plan: Any, sql: str, node: Any, adapter: Any, where: str | None,
                extra: dict[str, Any] | None = None) -> str:
    """A hook's SQL after Jinja: the one place hooks are rendered. dbt's full context, connected (execute
    true, run_query, adapter), `this` and `model` the node's (None: an on-run-start/end hook, which has
    neither); ref()/source()/this come out as the relations' names in the target's SQL."""
    return plan.runtime.sql(sql, node, adapter, where or "pds_project.yml", extra)


class HookedRunner(Runner):
    """Runs a node's pre- and post-hooks around its own runner (models, seeds, snapshots)."""

    def __init__(self, inner: Runner, plan: Any) -> None:
        super().__init__(inner.ctx)
        self.inner, self.plan = inner, plan

    def result(self, node: Any, status: str = "success", message: str = "") -> NodeResult:
        return self.inner.result(node, status, message)

    def skipped(self, node: Any, because: str, plan: Any, results: dict[str, NodeResult]) -> NodeResult:
        return self.inner.skipped(node, because, plan, results)

    def location(self, node: Any) -> tuple[str | None, int | None]:
        return self.inner.location(node)

    def failure(self, node: Any, text: str) -> str:
        return self.inner.failure(node, text)

    def run(self, node: Node, result: NodeResult) -> None:
        pre, post = hooks_of(node.config, "pre_hook", node.path), hooks_of(node.config, "post_hook", node.path)
        decision = self.plan.decisions.get(node.unique_id)
        if not (pre or post) or (decision is not None and decision.unchanged):
            self.inner.run(node, result)
            return
        self._run(node, "pre-hook", [(i, h) for i, h in enumerate(pre, 1) if not h.transaction])
        with self.ctx.adapter.transaction():
            self._run(node, "pre-hook", [(i, h) for i, h in enumerate(pre, 1) if h.transaction])
            self.inner.run(node, result)
            self._run(node, "post-hook", [(i, h) for i, h in enumerate(post, 1) if h.transaction])
        self._run(node, "post-hook", [(i, h) for i, h in enumerate(post, 1) if not h.transaction])
        result.extra["hooks"] = len(pre) + len(post)

    def _run(self, node: Node, kind: str, hooks: list[tuple[int, Hook]]) -> None:
        for index, hook in hooks:
            sql = render_hook(self.plan, hook.sql, node, self.ctx.adapter, node.path)
            if not sql.strip():
                continue
            try:
                self.ctx.adapter.execute(sql)
            except Exception as exc:
                raise HookFailed(f"{kind} {index} of {node.name} failed: {str(exc).strip()}") from exc

