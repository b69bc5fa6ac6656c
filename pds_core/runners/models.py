"""The runner of models and seeds: the node's materialization, as the plan decided it."""

from __future__ import annotations

import traceback
from typing import Any

from pds_core.materializations import BuildContext, materialization_for
from pds_core.nodes import Node
from pds_core.pymodels import PythonModelFailed
from pds_core.results import UNCHANGED, WARN, NodeResult
from pds_core.runners.base import NodeFailed, RunContext, Runner


class ModelRunner(Runner):
    """Builds a model or loads a seed; keeps the run's catalog current as relations appear."""

    def __init__(self, ctx: RunContext, build: BuildContext, catalog: Any = None) -> None:
        super().__init__(ctx)
        self.build = build
        self.catalog = catalog

    def location(self, node: Node) -> tuple[str | None, int | None]:
        return node.path, None

    def run(self, node: Node, result: NodeResult) -> None:
        decision = self.build.decisions.get(node.unique_id)
        if decision is not None and decision.unchanged:
            result.status, result.message = UNCHANGED, f"unchanged {node.materialized} {node.relation}"
            return
        adapter = self.build.adapter
        adapter.take_warnings()  # not this node's
        if decision is not None and decision.render_at_run and self.build.render_at_run is not None:
            self.build.render_at_run(node, adapter)  # its Jinja asks the warehouse: rendered now, connected
        try:
            outcome = materialization_for(node).build(node, self.build)
        except PythonModelFailed as exc:
            message = str(exc)
            if self.ctx.debug and exc.__cause__ is not None:
                message += "\n" + "".join(traceback.format_exception(exc.__cause__))
            elif exc.__cause__ is not None:
                message += "\n  hint: run with --debug to see the model's traceback"
            raise NodeFailed(message) from None
        result.rows_affected, result.message = outcome.rows, outcome.message
        if outcome.columns is not None:
            result.extra["columns"] = outcome.columns
        warnings = adapter.take_warnings()  # e.g. a dependent view the warehouse had to drop
        if warnings:
            result.status, result.message = WARN, "; ".join([outcome.message, *warnings])
        if node.relation is not None and self.catalog is not None:
            self.catalog.set(node.relation.key(), "view" if node.materialized in ("view", "external") else "table")
