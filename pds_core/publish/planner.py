"""The publish planner: exports, charts and served models as nodes of a command's plan.

In `pds build` each export (and chart, and served model's snapshot) of a model the run builds
becomes a node after the model and after every gating check of the model and its ancestors that
this run executes (gating.py); the scheduler skips it when any of them failed. xlsx exports to one
path become one workbook node, gated by the checks of every sheet's model (workbooks.py).
`pds publish` builds nothing: each node's gate is the latest recorded result of its gating checks
(gating.RecordedResults), and a node whose gate is closed is planned as blocked, with the reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pds_core.publish.exports import Export
from pds_core.publish.gating import RecordedResults, gating_nodes
from pds_core.publish.workbooks import group_workbooks, members_of

if TYPE_CHECKING:
    from pds_core.plan import Plan


def candidates(plan: Plan, models: set[str]) -> dict[str, Export]:
    """The exports of these models that run on this target (the others are left out, and said so)."""
    target = plan.project.target.name
    mine = {uid: e for uid, e in plan.manifest.exports.items() if e.node in models or uid in plan.retry_exports}
    elsewhere = sorted(f"{e.name} (targets: {', '.join(e.targets)})" for e in mine.values() if not e.runs_on(target))
    if elsewhere:
        plan.notes.append(f"Not exporting on target {target}: {'; '.join(elsewhere)}")
    return {uid: e for uid, e in mine.items() if e.runs_on(target)}


def publishing(plan: Plan, models: set[str]) -> dict[str, Any]:
    """Everything the run publishes from these models: exports (xlsx ones to one path as one workbook),
    charts and served models' snapshots."""
    target = plan.project.target.name
    exports = group_workbooks(candidates(plan, models),
                              [e for e in plan.manifest.exports.values() if e.runs_on(target)])
    others = {**getattr(plan.manifest, "charts", {}), **getattr(plan.manifest, "served", {})}
    return {**exports, **{uid: item for uid, item in others.items()
                          if item.node in models or uid in plan.retry_exports}}


def _gates(checks: list[Any], plan: Plan, item: Any) -> list[Any]:
    """The gating checks of every export a node writes (a workbook: of each sheet's model)."""
    found: dict[str, Any] = {}
    for member in members_of(item):
        found.update((n.unique_id, n) for n in gating_nodes(checks, plan.graph, member))
    return list(found.values())


def _checks(plan: Plan) -> list[Any]:
    suite = plan.manifest.quality
    return list(suite.runnable().values()) if suite is not None else []


def plan_exports(plan: Plan) -> dict[str, Export]:
    """`pds build`: each export after its model and the gating quality nodes that run in this plan."""
    exports = publishing(plan, set(plan.runnable))
    checks = _checks(plan)
    for uid, export in sorted(exports.items()):
        parents = list(dict.fromkeys(m.node for m in members_of(export)))
        parents += [n.unique_id for n in _gates(checks, plan, export) if n.unique_id in plan.added]
        plan.add(uid, export, parents)
    return exports


def plan_publish(plan: Plan, recorded: RecordedResults, relation_kind: Any) -> dict[str, Export]:
    """`pds publish`: the exports of the selected models alone, each blocked unless its recorded gate is open."""
    exports = publishing(plan, plan.selected)
    plan.runnable = set()
    checks = _checks(plan)
    nodes = plan.manifest.all_nodes()
    target = plan.project.target.name
    for uid, export in sorted(exports.items()):
        plan.add(uid, export, [])
        missing = [nodes[n] for n in dict.fromkeys(m.node for m in members_of(export))
                   if nodes[n].relation is None or relation_kind(nodes[n].relation) is None]
        if missing:
            plan.blocked[uid] = [f"{n.resource_type} {n.name} is not built in target {target!r}" for n in missing]
        else:
            plan.blocked[uid] = recorded.blockers(_gates(checks, plan, export))
    if not exports:
        plan.notes.append("Nothing to publish: the selected models have no exports, charts or served snapshots "
                          "on this target.")
    return exports
