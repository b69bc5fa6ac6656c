"""The runner of snapshot nodes: adapter.snapshot() with the plan's decision (what stands there, its columns)."""

from __future__ import annotations

from typing import Any

from pds_core.errors import ProjectError
from pds_core.nodes import Node
from pds_core.results import NodeResult
from pds_core.runners.base import RunContext, Runner
from pds_core.snapshots.config import spec_of


class SnapshotRunner(Runner):
    """Records the changes of a snapshot's query since its last run (the first run creates the table)."""

    def __init__(self, ctx: RunContext, decisions: dict[str, Any], compiled: dict[str, Any],
                 catalog: Any = None, render_at_run: Any = None) -> None:
        super().__init__(ctx)
        self.decisions, self.compiled, self.catalog = decisions, compiled, catalog
        self.render_at_run = render_at_run  # (node, adapter): plan.runtime.render, for a block that asks the warehouse

    def location(self, node: Node) -> tuple[str | None, int | None]:
        return node.path, node.patch_line

    def run(self, node: Node, result: NodeResult) -> None:
        decision = self.decisions.get(node.unique_id)
        relation, adapter = node.relation, self.ctx.adapter
        assert relation is not None
        if decision is not None and decision.render_at_run and self.render_at_run is not None:
            self.render_at_run(node, adapter)  # its Jinja asks the warehouse: rendered now, connected
        existing = decision.existing if decision is not None else adapter.relation_kind(relation)
        if existing == "view":
            raise ProjectError(f"{relation} is a view; a snapshot is a table", node.path,
                               hint="drop the view, or give the snapshot another name or schema")
        columns = None
        if existing == "table":
            known = decision.existing_columns if decision is not None else None
            columns = known if known is not None else adapter.column_types(relation)
        outcome = adapter.snapshot(relation, self.compiled[node.unique_id].ast, spec_of(node.config), columns,
                                   node.path)
        result.rows_affected = outcome.inserted + outcome.closed
        if outcome.created:
            result.message = f"created snapshot {relation}"
        else:
            result.message = f"snapshotted {relation} ({outcome.inserted} new, {outcome.closed} closed)"
        if self.catalog is not None:
            self.catalog.set(relation.key(), "table")
