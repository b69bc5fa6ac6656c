"""The publish planner: exports as nodes of a command's plan.

In `pds build` each export of a model the run builds becomes a node after the model and after
every gating check of the model and its ancestors that this run executes (gating.py); the
scheduler skips it when any of them failed. `pds publish` builds nothing: each export's gate is
the latest recorded result of its gating checks (gating.RecordedResults), and an export whose
gate is closed is planned as blocked, with the reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pds_core.publish.exports import Export
from pds_core.publish.gating import RecordedResults, gating_nodes

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


def _checks(plan: Plan) -> list[Any]:
    suite = plan.manifest.quality
    return list(suite.runnable().values()) if suite is not None else []


def plan_exports(plan: Plan) -> dict[str, Export]:
    """`pds build`: each export after its model and the gating quality nodes that run in this plan."""
    exports = candidates(plan, set(plan.runnable))
    checks = _checks(plan)
    for uid, export in sorted(exports.items()):
        parents = [export.node]
        parents += [n.unique_id for n in gating_nodes(checks, plan.graph, export) if n.unique_id in plan.added]
        plan.add(uid, export, parents)
    return exports


def plan_publish(plan: Plan, recorded: RecordedResults, relation_kind: Any) -> dict[str, Export]:
    """`pds publish`: the exports of the selected models alone, each blocked unless its recorded gate is open."""
    exports = candidates(plan, plan.selected)
    plan.runnable = set()
    checks = _checks(plan)
    nodes = plan.manifest.all_nodes()
    target = plan.project.target.name
    for uid, export in sorted(exports.items()):
        plan.add(uid, export, [])
        node = nodes[export.node]
        if node.relation is None or relation_kind(node.relation) is None:
            plan.blocked[uid] = [f"{node.resource_type} {node.name} is not built in target {target!r}"]
        else:
            plan.blocked[uid] = recorded.blockers(gating_nodes(checks, plan.graph, export))
    if not exports:
        plan.notes.append("Nothing to publish: the selected models have no exports on this target.")
    return exports
