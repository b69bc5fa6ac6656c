"""The runner registry: one runner per node type, like dbt's RUNNER_MAP.

A new kind of node (snapshot, hook...) adds its runner here; execute.py needs no change.
"""

from __future__ import annotations

import functools
from typing import Any

from pds_core.history import ResultsHistory, timestamp, utcnow
from pds_core.hooks import HookedRunner
from pds_core.materializations import BuildContext
from pds_core.plan import Plan
from pds_core.publish.chart_runner import ChartRunner
from pds_core.publish.destinations import PublishContext
from pds_core.publish.runner import ExportRunner
from pds_core.publish.serve_runner import ServeRunner
from pds_core.publish.targets import TargetPool
from pds_core.quality.connected import connected_test_sql
from pds_core.quality.pyexec import PythonFiles
from pds_core.quality.runner import QualityContext, QualityRunner
from pds_core.quality.unit_runner import UnitTestRunner, unit_env
from pds_core.runners.base import RunContext, Runner
from pds_core.runners.models import ModelRunner
from pds_core.snapshots.runner import SnapshotRunner

RUNNERS: dict[str, type[Runner]] = {"model": ModelRunner, "seed": ModelRunner, "snapshot": SnapshotRunner,
                                    "test": QualityRunner, "metric": QualityRunner, "export": ExportRunner,
                                    "chart": ChartRunner, "serve": ServeRunner, "unit_test": UnitTestRunner}


def make_runners(plan: Plan, ctx: RunContext, catalog: Any, history: ResultsHistory, targets: TargetPool,
                 on_retry: Any = None, started: str | None = None) -> dict[str, Runner]:
    """The runners of one run, sharing its context; each gets the plain data it needs from the plan."""
    project, adapter = plan.project, ctx.adapter
    build = BuildContext(adapter=adapter, project_root=project.root, vars=project.vars, decisions=plan.decisions,
                         compiled=plan.compiled, resolve=plan.resolve, manifest=plan.manifest,
                         render_at_run=plan.runtime.render if plan.runtime is not None else None)
    model = ModelRunner(ctx, build, catalog)
    quality = QualityRunner(ctx, QualityContext(
        adapter=adapter, nodes=plan.manifest.all_nodes(), compiled=plan.compiled, dialect=plan.target_dialect,
        source_dialect=project.config.dialect, results_schema=history.schema, target=project.target.name,
        files=PythonFiles(project.root), history=history, store_failures=plan.options.store_failures,
        is_built=(lambda n: catalog.get(n.relation.key()) is not None) if catalog is not None else None,
        render_test=functools.partial(connected_test_sql, plan.runtime) if plan.runtime is not None else None))
    publish = PublishContext(project, adapter, plan.invocation_id, timestamp(started) if started else _now(), targets,
                             on_retry=on_retry)
    snapshot = SnapshotRunner(ctx, plan.decisions, plan.compiled, catalog, build.render_at_run)
    unit = UnitTestRunner(ctx, unit_env(plan, adapter, catalog))
    made: dict[type[Runner], Runner] = {ModelRunner: HookedRunner(model, plan), SnapshotRunner: HookedRunner(snapshot, plan),
                                        QualityRunner: quality, UnitTestRunner: unit,
                                        **{cls: cls(ctx, publish, plan) for cls in (ExportRunner, ChartRunner,
                                                                                    ServeRunner)}}
    return {kind: made[cls] for kind, cls in RUNNERS.items()}


def _now() -> Any:
    return utcnow()
