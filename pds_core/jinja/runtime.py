"""Renders that know the whole project: after parsing (the manifest) and at run time (plus the warehouse).

Parsing renders each node knowing only what was parsed before it. A node that looked at where a
relation lives (`ref('x').schema`, `this.identifier`) or at `graph` is rendered once more when the
manifest is complete (`late`); one that asked the warehouse (`execute`, run_query, statement,
adapter look-ups) is rendered again just before it runs, connected (`deferred`), as dbt compiles
each node at its turn. `render_node_sql` serves hooks and snapshot blocks the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pds_core.errors import ProjectError
from pds_core.jinja.node_view import graph_view
from pds_core.jinja.relation_api import MARKER
from pds_core.jinja.statements import Live

Parts = tuple[str | None, str | None, str | None, str | None]


class ProjectView:
    """Where every ref()/source()/this points once the manifest is complete, and dbt's flat graph of it."""

    def __init__(self, manifest: Any, project_name: str, default_database: str | None,
                 relation_sql: Callable[[str, str, Any], str] | None = None, selected: list[str] | None = None) -> None:
        self.manifest = manifest
        self.project_name = project_name
        self.default_database = default_database
        self.relation_sql = relation_sql  # (kind, name, node) -> SQL name (the compiler's)
        self.selected = selected or []
        self._sources = {n.name: n for n in manifest.sources.values()}
        self._graph: dict[str, Any] | None = None

    def node_parts(self, node: Any) -> tuple[str | None, str | None, str | None] | None:
        rel = getattr(node, "relation", None)
        if rel is None:
            return None
        return rel.database or self.default_database, rel.schema, rel.identifier

    def parts(self, kind: str, name: str, this: Any = None) -> Parts | None:
        node = this if kind == "this" else self._sources.get(name) if kind == "source" else self.manifest.ref(name)
        if node is None:
            return None
        if node.materialized == "ephemeral":
            return None, None, f"__pds_ephemeral__{node.name}", "cte"
        found = self.node_parts(node)
        if found is None:
            return None
        kind_of = "view" if node.materialized == "view" else "table"
        return (*found, kind_of)

    @property
    def graph(self) -> dict[str, Any]:
        if self._graph is None:
            self._graph = graph_view(self.manifest, self.project_name, self.node_parts)
        return self._graph

    def live(self, node: Any, adapter: Any = None) -> Live:
        """The Live of one node's render: with the adapter at run time, without it after parsing."""

        def substitute(sql: str) -> str:
            if self.relation_sql is None:
                return sql
            return MARKER.sub(lambda m: self.relation_sql(m.group(1), m.group(2), node), sql)  # type: ignore[misc]

        return Live(adapter=adapter, substitute=substitute,
                    parts=lambda kind, name: self.parts(kind, name, node), graph=self.graph,
                    selected=list(self.selected))


class RunTimeRender:
    """The connected renders of one plan: models plan.decide marked `render_at_run`, hooks, snapshot blocks."""

    def __init__(self, parser: Any, compiler: Any, plan: Any) -> None:
        self.parser = parser
        self.compiler = compiler
        self.plan = plan
        self._view: ProjectView | None = None

    @property
    def view(self) -> ProjectView:
        if self._view is None:
            plan = self.plan
            self._view = ProjectView(plan.manifest, plan.project.name, self.parser.renderer.target.get("database"),
                                     self._marker_sql, sorted(plan.selected))
        return self._view

    def _marker_sql(self, kind: str, name: str, node: Any) -> str:
        if node is None:  # an on-run-start/end hook: no node of its own
            found = self.view.parts(kind, name) if kind != "this" else None
            if found is None:
                what = "`this` is only defined in the hooks of a node" if kind == "this" else \
                    f"a hook refers to {kind} {name!r}, which is not in the project"
                raise ProjectError(what, hint="name a model with ref() or a source with source()")
        return str(self.compiler.marker_sql(kind, name, node))

    def render(self, node: Any, adapter: Any) -> None:
        """Render and compile one model connected, just before it runs (its compiled SQL is replaced)."""
        decision = self.plan.decisions.get(node.unique_id)
        incremental = bool(decision is not None and decision.incremental and node.uses_is_incremental)
        node.rendered = self.parser.render_live(node, incremental, self.view.live(node, adapter))
        node.renders_with_warehouse = False  # its SQL is now known: compile it as any other
        try:
            self.plan.compiled[node.unique_id] = self.compiler.compile([node.unique_id])[node.unique_id]
        finally:
            node.renders_with_warehouse = True

    def sql(self, text: str, node: Any, adapter: Any, path: str | None = None,
            extra: dict[str, Any] | None = None) -> str:
        """Any template (a hook, a snapshot block) rendered for `node` (None: a project hook) with the full
        context, connected, its ref()/source()/this turned into relation names: the SQL to send."""
        self.parser.load_macros()
        view = self.view
        package = node.unique_id.split(".")[1] if node is not None else self.plan.project.name
        live = view.live(node, adapter)
        rendered, _state = self.parser.renderer.render(
            text, path or node.path, lambda _cfg: False, extra, live=live, package=package,
            node=_node_view(node, package, view) if node is not None else None)
        return live.substitute(rendered)


def _node_view(node: Any, package: str, view: ProjectView) -> Any:
    from pds_core.jinja.node_view import node_view

    return node_view(node, package, view.node_parts(node))
