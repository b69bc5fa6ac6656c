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
from pds_core.nodes import Node, Relation
from pds_core.render import MARKER
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
    renderer.env.globals.update(before_begin=outside, after_commit=outside)


class RelationName(str):
    """What `{{ this }}` renders as in a hook: the relation's name in the target's SQL, with dbt's parts."""

    def __new__(cls, relation: Relation, sql: str) -> RelationName:
        obj = super().__new__(cls, sql)
        obj.database, obj.schema, obj.identifier = relation.database, relation.schema, relation.identifier
        obj.name, obj.table = relation.identifier, relation.identifier
        return obj


def render_hook(plan: Any, sql: str, where: str | None, extra: dict[str, Any] | None = None) -> str:
    """A hook's SQL after Jinja: the one place hooks are rendered (the dbt Jinja context plugs in here)."""
    context = {"invocation_id": plan.invocation_id, "execute": True, **(extra or {})}
    rendered, _state = plan.renderer.render(sql, where or "pds_project.yml", lambda _cfg: False, context)
    return MARKER.sub(lambda m: _relation_sql(plan, m.group(1), m.group(2), context.get("this")), rendered)


def relation_name(plan: Any, relation: Relation) -> RelationName:
    return RelationName(relation, plan.namer(relation).sql(dialect=plan.target_dialect))


def _relation_sql(plan: Any, kind: str, name: str, this: Any) -> str:
    manifest = plan.manifest
    if kind == "this":
        if this is None:
            raise ProjectError("`this` is only defined in the hooks of a node", hint="name the relation instead")
        return str(this)
    if kind == "source":
        node = next((n for n in manifest.sources.values() if n.name == name), None)
    else:
        node = manifest.ref(name)
    if node is None or node.relation is None:
        raise ProjectError(f"a hook refers to {kind} {name!r}, which is not in the project")
    return str(relation_name(plan, node.relation))


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
        adapter = self.ctx.adapter
        this = relation_name(self.plan, node.relation) if node.relation is not None else None
        self._run(node, "pre-hook", [(i, h) for i, h in enumerate(pre, 1) if not h.transaction], this)
        with adapter.transaction():
            self._run(node, "pre-hook", [(i, h) for i, h in enumerate(pre, 1) if h.transaction], this)
            self.inner.run(node, result)
            self._run(node, "post-hook", [(i, h) for i, h in enumerate(post, 1) if h.transaction], this)
        self._run(node, "post-hook", [(i, h) for i, h in enumerate(post, 1) if not h.transaction], this)
        result.extra["hooks"] = len(pre) + len(post)

    def _run(self, node: Node, kind: str, hooks: list[tuple[int, Hook]], this: Any) -> None:
        for index, hook in hooks:
            sql = render_hook(self.plan, hook.sql, node.path, {"this": this, "model": _model_context(node)})
            if not sql.strip():
                continue
            try:
                self.ctx.adapter.execute(sql)
            except Exception as exc:
                raise HookFailed(f"{kind} {index} of {node.name} failed: {str(exc).strip()}") from exc


def _model_context(node: Node) -> dict[str, Any]:
    """`model` in a hook: the node's main fields, as dbt's context has them."""
    relation = node.relation
    return {"unique_id": node.unique_id, "name": node.name, "resource_type": node.resource_type,
            "config": node.config, "schema": relation.schema if relation else None,
            "database": relation.database if relation else None, "alias": relation.identifier if relation else None,
            "path": node.path, "tags": node.tags}
