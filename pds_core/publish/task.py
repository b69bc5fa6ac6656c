"""`pds publish`: run the exports of the selected models from what is already built.

Nothing is built or re-checked: each export's gate is the latest recorded result of its gating
checks in the results tables of this target (gating.RecordedResults). An export that is held
back makes the command fail (exit 1), since what was asked for was not published.
"""

from __future__ import annotations

import time

import networkx as nx

from pds_core.artifacts import now_iso
from pds_core.publish.gating import RecordedResults, gating_nodes
from pds_core.publish.stage import PublishStage
from pds_core.quality.stage import QualityStage
from pds_core.results import SKIPPED, RunResult
from pds_core.scheduler import run_dag
from pds_core.tasks import Task


class PublishResult(RunResult):
    """A publish fails when an export failed or was held back by its checks."""

    @property
    def success(self) -> bool:
        return super().success and not any(r.status == SKIPPED and r.resource_type == "export" for r in self.results)


class PublishTask(Task):
    command = "publish"
    resource_types = ("model", "seed")

    def execute(self) -> RunResult:
        assert self.manifest is not None and self.graph is not None
        started, t0 = now_iso(), time.perf_counter()
        run = PublishResult(self.command, self.invocation_id, started, target=self.project.target.name)
        quality = QualityStage(self)
        quality.plan(set())  # creates or upgrades the results tables
        stage = PublishStage(self, quality, started=started)
        stage.exports = stage.candidates(self.selected)
        recorded = RecordedResults(quality.history, self.project.target.name)
        nodes = self.manifest.all_nodes()
        for uid, export in stage.exports.items():
            node = nodes[export.node]
            if node.relation is None or self.adapter.relation_kind(node.relation) is None:
                stage.blocked[uid] = [f"{node.resource_type} {node.name} is not built in target "
                                      f"{self.project.target.name!r}"]
            else:
                stage.blocked[uid] = recorded.blockers(gating_nodes(self.manifest.quality, self.graph, export))
        if not stage.exports:
            self.reporter.info("Nothing to publish: the selected models have no exports on this target.")
        graph = nx.DiGraph()
        graph.add_nodes_from(stage.exports)
        self.reporter.start(self.command, len(stage.exports), self.project.target.name)
        try:
            run.results = run_dag(graph, set(stage.exports), stage.run_node, stage.skipped,
                                  self.options.threads or self.project.target.threads,
                                  on_done=self.reporter.node_done)
        finally:
            self.close_run(run, t0, stage)
        self.reporter.finish(run)
        stage.notify(run)
        return run
